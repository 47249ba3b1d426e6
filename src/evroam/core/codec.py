"""JSON encoding and decoding for every wire model, with errors in the house style.

* :func:`encode` writes compact JSON: ``CiString`` as its original spelling, ``DateTime`` as UTC with
  ``Z``, ``Decimal`` as a JSON number (never a float on the way).
* :func:`decode` / :func:`convert` read JSON bytes / already-parsed Python values into a type.
  Malformed JSON raises :class:`~evroam.core.errors.InvalidJson` (HTTP 400); JSON that does not fit
  the type raises one :class:`~evroam.core.errors.ValidationFailed` (OCPI 2001) listing *every*
  violation with its JSON path, not only the first one msgspec stops at.

Limits that keep one hostile body from costing more than a well-formed one:

* JSON nested deeper than :data:`MAX_DEPTH` levels is :class:`~evroam.core.errors.InvalidJson` (HTTP 400),
  checked before anything walks the body (no OCPI object is nested more than about ten levels);
* the list of violations stops growing at :data:`~evroam.core.errors.MAX_VIOLATIONS`: after that, each
  further invalid value is counted with one msgspec check and not walked into, and the walk stops
  altogether after :data:`VALIDATION_BUDGET` seconds. The error then says how many were left out.
"""

from __future__ import annotations

import re
import time
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar, get_args, get_origin

import msgspec

from evroam.core.errors import MAX_VIOLATIONS, InvalidJson, ValidationFailed, Violation
from evroam.core.types import CiString, DateTime, Number, parse_number

__all__ = [
    "MAX_DEPTH",
    "VALIDATION_BUDGET",
    "check_depth",
    "collect_violations",
    "convert",
    "dec_hook",
    "decode",
    "decoder_for",
    "enc_hook",
    "encode",
]

#: The deepest nesting of arrays and objects a body may have.
MAX_DEPTH = 64
#: Seconds one body's violations may be looked for; what is left is counted as one more.
VALIDATION_BUDGET = 1.0

T = TypeVar("T")


def _encoder_of(tp: type) -> Callable[[Any], Any]:
    if issubclass(tp, DateTime):
        return DateTime.to_json
    if issubclass(tp, CiString):
        return str.__str__
    if issubclass(tp, Decimal):  # Number, the marker subclass
        return Decimal
    raise NotImplementedError(f"cannot encode objects of type {tp.__name__}")


def _decoder_of(tp: Any) -> Callable[[Any], Any]:
    if isinstance(tp, type):
        if issubclass(tp, CiString):
            return tp.parse
        if issubclass(tp, DateTime):
            return DateTime.parse
        if tp is Number:
            return parse_number
    raise NotImplementedError(f"cannot decode objects of type {tp!r}")


# the hooks run once per field value of those types: their function is looked up by exact type
_ENCODERS: dict[type, Callable[[Any], Any]] = {}
_DECODERS: dict[Any, Callable[[Any], Any]] = {}


def enc_hook(obj: Any) -> Any:
    fn = _ENCODERS.get(type(obj))
    if fn is None:
        fn = _ENCODERS[type(obj)] = _encoder_of(type(obj))
    return fn(obj)


def dec_hook(tp: type, obj: Any) -> Any:
    fn = _DECODERS.get(tp)
    if fn is None:
        fn = _DECODERS[tp] = _decoder_of(tp)
    return fn(obj)


_encoder = msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number")
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}
_generic = msgspec.json.Decoder(float_hook=Decimal)


def encode(obj: Any) -> bytes:
    """Compact JSON bytes of a wire model (or any structure of them)."""
    return _encoder.encode(obj)


def decoder_for(tp: Any) -> msgspec.json.Decoder[Any]:
    """A cached msgspec decoder for ``tp`` that knows evroam's scalar types."""
    dec = _decoders.get(tp)
    if dec is None:
        dec = msgspec.json.Decoder(tp, dec_hook=dec_hook, float_hook=Decimal)
        _decoders[tp] = dec
    return dec


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def _too_deep() -> InvalidJson:
    return InvalidJson(f"The body is not valid JSON: nested deeper than {MAX_DEPTH} levels")


def check_depth(data: bytes | str, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`InvalidJson` when arrays and objects in ``data`` nest deeper than ``limit``.

    Linear in the size of ``data`` and done in C (a regular expression drops the strings, then each
    round removes the innermost ``[]`` / ``{}`` pairs, one level): no Python recursion, whatever the input.
    Unbalanced brackets are left to the parser to report.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return
        size = len(brackets)
        brackets = _INNERMOST.sub(b"", brackets)  # one level: pairs this round uncovers stay
        if len(brackets) == size:
            return
    if brackets:
        raise _too_deep()


def decode(data: bytes | str, tp: type[T] | Any) -> T:
    """Decode JSON into ``tp``; raises InvalidJson or ValidationFailed (every violation listed).

    A body that fits ``tp`` is decoded in one pass (the wire models nest a few levels, so it cannot
    be deep); one that does not is checked with :func:`check_depth` before it is parsed as plain
    JSON and walked for its violations.
    """
    try:
        return typing.cast(T, decoder_for(tp).decode(data))
    except msgspec.ValidationError as first:
        check_depth(data)
        try:
            raw = _generic.decode(data)
        except msgspec.DecodeError:  # pragma: no cover - valid JSON for one decoder is valid for the other
            raise InvalidJson() from None
        except UnicodeDecodeError as exc:  # a string that is not UTF-8 fails only when it is read
            raise InvalidJson(f"The body is not valid JSON: {exc}") from None
        raise _failure(raw, tp, first) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidJson(f"The body is not valid JSON: {exc}") from None
    except RecursionError:  # a target that takes any JSON (``Any``, ``msgspec.Raw``) met a deep body
        raise _too_deep() from None


def convert(obj: Any, tp: type[T] | Any) -> T:
    """Validate already-parsed JSON values (dicts, lists, str ...) into ``tp``."""
    try:
        return typing.cast(T, msgspec.convert(obj, tp, dec_hook=dec_hook))
    except msgspec.ValidationError as first:
        raise _failure(obj, tp, first) from None
    except RecursionError:
        raise _too_deep() from None


def _failure(raw: Any, tp: Any, first: msgspec.ValidationError) -> ValidationFailed:
    walk = _Walk(MAX_VIOLATIONS, time.monotonic() + VALIDATION_BUDGET)
    try:
        walk.visit(raw, tp, "$")
    except RecursionError:
        raise _too_deep() from None
    if not walk.found:  # the time budget ran out at once; never lose msgspec's own finding
        walk.found.append(_violation_from(first, "$"))
    return ValidationFailed(walk.found, omitted=walk.omitted)


_AT = re.compile(r" - at `(\$[^`]*)`$")


def _violation_from(exc: msgspec.ValidationError, base: str) -> Violation:
    text = str(exc)
    m = _AT.search(text)
    if m:
        inner = m.group(1)[1:]  # drop the leading "$"
        return Violation(base + inner, text[: m.start()])
    return Violation(base, text)


def collect_violations(raw: Any, tp: Any) -> list[Violation]:
    """Every place where ``raw`` (parsed JSON) does not fit ``tp``, with JSON paths (no limit)."""
    walk = _Walk(None, None)
    walk.visit(raw, tp, "$")
    return walk.found


def _check(raw: Any, tp: Any) -> msgspec.ValidationError | None:
    try:
        msgspec.convert(raw, tp, dec_hook=dec_hook)
    except msgspec.ValidationError as exc:
        return exc
    return None


def _strip_annotated(tp: Any) -> Any:
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    return tp


def _with_items_as_any(tp: Any) -> Any:
    """``Annotated[list[X], Meta]`` as ``Annotated[list[Any], Meta]``: only the list's own constraints."""
    args = get_args(tp)
    container = get_origin(_strip_annotated(tp))
    return typing.Annotated[(container[Any], *args[1:])] if container is not None else tp


class _Walk:
    """One search for violations, bounded: ``limit`` violations at most (then each further invalid
    value is counted in ``omitted`` without being walked into) and a ``deadline`` (``time.monotonic``)
    after which the search stops, counting what it did not look at as one more."""

    __slots__ = ("deadline", "found", "limit", "omitted", "stopped")

    def __init__(self, limit: int | None, deadline: float | None) -> None:
        self.limit = limit
        self.deadline = deadline
        self.found: list[Violation] = []
        self.omitted = 0
        self.stopped = False

    def _full(self) -> bool:
        return self.limit is not None and len(self.found) >= self.limit

    def add(self, violation: Violation) -> None:
        if self._full():
            self.omitted += 1
        else:
            self.found.append(violation)

    def visit(self, raw: Any, tp: Any, path: str) -> None:
        if self.stopped:
            return
        error = _check(raw, tp)
        if error is None:
            return
        if self._full():  # counted, not walked: the work stays bounded, not only the message
            self.omitted += 1
            return
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.stopped = True
            self.omitted += 1
            return
        base = _strip_annotated(tp)
        origin = get_origin(base)
        before = (len(self.found), self.omitted)
        if isinstance(base, type) and issubclass(base, msgspec.Struct) and isinstance(raw, dict):
            for field in msgspec.structs.fields(base):
                name = field.encode_name
                if name not in raw:
                    if field.required:
                        self.add(Violation(f"{path}.{name}", "Object missing required field"))
                    continue
                self.visit(raw[name], field.type, f"{path}.{name}")
        elif origin in (list, set, frozenset) and isinstance(raw, list):
            if base is not tp:  # the list itself is constrained (e.g. "+" cardinality: min_length=1)
                length_error = _check(raw, _with_items_as_any(tp))
                if length_error is not None:
                    self.add(_violation_from(length_error, path))
            (item_tp,) = get_args(base) or (Any,)
            for i, item in enumerate(raw):
                self.visit(item, item_tp, f"{path}[{i}]")
        elif origin is dict and isinstance(raw, dict):
            _, value_tp = get_args(base) or (Any, Any)
            for key, item in raw.items():
                self.visit(item, value_tp, f"{path}.{key}")
        elif origin in (typing.Union, types.UnionType):
            members = [m for m in get_args(base) if m is not type(None)]
            if raw is not None and len(members) == 1:
                self.visit(raw, members[0], path)
                return
        if (len(self.found), self.omitted) == before and not self.stopped:
            self.add(_violation_from(error, path))
