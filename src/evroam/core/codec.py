"""JSON encoding and decoding for every wire model, with errors in the house style.

* :func:`encode` writes compact JSON: ``CiString`` as its original spelling, ``DateTime`` as UTC with
  ``Z``, ``Decimal`` as a JSON number (never a float on the way).
* :func:`decode` / :func:`convert` read JSON bytes / already-parsed Python values into a type.
  Malformed JSON raises :class:`~evroam.core.errors.InvalidJson` (HTTP 400); JSON that does not fit
  the type raises one :class:`~evroam.core.errors.ValidationFailed` (OCPI 2001) listing *every*
  violation with its JSON path, not only the first one msgspec stops at.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar, get_args, get_origin

import msgspec

from evroam.core.errors import InvalidJson, ValidationFailed, Violation
from evroam.core.types import CiString, DateTime, Number, parse_number

__all__ = ["collect_violations", "convert", "dec_hook", "decode", "decoder_for", "enc_hook", "encode"]

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


def decode(data: bytes | str, tp: type[T] | Any) -> T:
    """Decode JSON into ``tp``; raises InvalidJson or ValidationFailed (every violation listed)."""
    try:
        return typing.cast(T, decoder_for(tp).decode(data))
    except msgspec.ValidationError as first:
        try:
            raw = _generic.decode(data)
        except msgspec.DecodeError:  # pragma: no cover - valid JSON for one decoder is valid for the other
            raise InvalidJson() from None
        except UnicodeDecodeError as exc:  # a string that is not UTF-8 fails only when it is read
            raise InvalidJson(f"The body is not valid JSON: {exc}") from None
        raise _failure(raw, tp, first) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise InvalidJson(f"The body is not valid JSON: {exc}") from None


def convert(obj: Any, tp: type[T] | Any) -> T:
    """Validate already-parsed JSON values (dicts, lists, str ...) into ``tp``."""
    try:
        return typing.cast(T, msgspec.convert(obj, tp, dec_hook=dec_hook))
    except msgspec.ValidationError as first:
        raise _failure(obj, tp, first) from None


def _failure(raw: Any, tp: Any, first: msgspec.ValidationError) -> ValidationFailed:
    violations = collect_violations(raw, tp)
    if not violations:  # pragma: no cover - defensive: never lose msgspec's own finding
        violations = [_violation_from(first, "$")]
    return ValidationFailed(violations)


_AT = re.compile(r" - at `(\$[^`]*)`$")


def _violation_from(exc: msgspec.ValidationError, base: str) -> Violation:
    text = str(exc)
    m = _AT.search(text)
    if m:
        inner = m.group(1)[1:]  # drop the leading "$"
        return Violation(base + inner, text[: m.start()])
    return Violation(base, text)


def collect_violations(raw: Any, tp: Any) -> list[Violation]:
    """Every place where ``raw`` (parsed JSON) does not fit ``tp``, with JSON paths."""
    out: list[Violation] = []
    _walk(raw, tp, "$", out)
    return out


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


def _walk(raw: Any, tp: Any, path: str, out: list[Violation]) -> None:
    error = _check(raw, tp)
    if error is None:
        return
    base = _strip_annotated(tp)
    origin = get_origin(base)
    before = len(out)
    if isinstance(base, type) and issubclass(base, msgspec.Struct) and isinstance(raw, dict):
        for field in msgspec.structs.fields(base):
            name = field.encode_name
            if name not in raw:
                if field.required:
                    out.append(Violation(f"{path}.{name}", "Object missing required field"))
                continue
            _walk(raw[name], field.type, f"{path}.{name}", out)
    elif origin in (list, set, frozenset) and isinstance(raw, list):
        if base is not tp:  # the list itself is constrained (e.g. "+" cardinality: min_length=1)
            length_error = _check(raw, _with_items_as_any(tp))
            if length_error is not None:
                out.append(_violation_from(length_error, path))
        (item_tp,) = get_args(base) or (Any,)
        for i, item in enumerate(raw):
            _walk(item, item_tp, f"{path}[{i}]", out)
    elif origin is dict and isinstance(raw, dict):
        _, value_tp = get_args(base) or (Any, Any)
        for key, item in raw.items():
            _walk(item, value_tp, f"{path}.{key}", out)
    elif origin in (typing.Union, types.UnionType):
        members = [m for m in get_args(base) if m is not type(None)]
        if raw is not None and len(members) == 1:
            _walk(raw, members[0], path, out)
            return
    if len(out) == before:
        out.append(_violation_from(error, path))
