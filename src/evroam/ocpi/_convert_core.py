"""The engine behind every ``evroam.ocpi.vX_Y_Z.convert`` module: canonical <-> wire, written once.

A protocol version is data. Each version's ``convert`` module builds one :class:`Version` from

* its wire classes, found through the annotations of the pairs it converts (``w.Location`` <->
  ``m.Location``, field lists from :func:`msgspec.structs.fields`);
* a table of :class:`Spec` entries holding only what differs from the field-by-field default
  (renamed fields, fields computed another way, refusals, extra arguments);
* ``fallbacks``: the documented replacement of enum values the version lacks (``TokenType`` ->
  ``OTHER`` ...).

The default, field by field (the uniform rules of ``docs/versions.md``):

reading (wire -> canonical), for each canonical field, from the wire field of the same name
  nested objects and lists are read the same way (lists become tuples, ``None`` stays ``None``);
  enum values become the canonical member (closed enums) or the plain string (OpenEnums);
  identifiers stay ``CiString`` (a 2.1.1 plain ``str`` id is wrapped); canonical fields the version
  lacks keep their default.
writing (canonical -> wire), for each wire field, from the canonical field of the same name
  canonical fields the version lacks are dropped;
  ``CiStringNN`` fields are re-checked with :func:`~evroam.model._convert.fit`; a canonical
  ``CiString`` written to a plain ``str`` id (2.1.1) is checked against the field's ``max_length``;
  an enum value the version lacks becomes the version's fallback, else it is dropped from a list,
  becomes ``None`` in an optional field, or raises ``NotRepresentable`` in a required one (the
  field path is ``<WireClass>.<field>``);
  an object with a required enum value the version lacks (a Connector of standard ``MCS`` in 2.2.1)
  is dropped from its list, or becomes ``None`` in an optional field; an object left with an empty
  required non-empty list (an EVSE without connectors) is dropped the same way, and refused
  (``<WireClass>.<field>``) where it stands alone.
  Checks run first (in the order given), then the lists that may end up empty, then the fields in
  wire order.

A :class:`Spec` can rename fields (``names``), compute one (``read`` / ``write``: a callable taking
the object and the extra arguments, or a non-callable constant), take a wire field from another
canonical attribute or method (``write_from="after_taxes_total"``, converted as above), refuse
objects before anything else (``checks``: :func:`when_missing` or a callable that raises), declare
optional canonical fields that a caller has checked (``assume``), take extra arguments
(``read_params`` / ``write_params``: a parameter named like a target field sets it), or replace the
conversion of a pair by a function (``reader`` / ``writer``).

How: for each pair the engine writes the source of one plain function, the code one would write by
hand, and compiles it once at import (as :mod:`dataclasses` does), so a conversion costs no more
than hand-written code. :func:`source` shows that code; tracebacks show its lines.
"""

from __future__ import annotations

import functools
import linecache
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, TypeVar, Union, cast, get_args, get_origin, get_type_hints

import msgspec

from evroam.core.types import CiString
from evroam.model._convert import fit, limit, plain, require
from evroam.model.common import NotRepresentable

__all__ = ["Missing", "Spec", "Version", "source", "sources", "when_missing"]

M = TypeVar("M")
W = TypeVar("W")


@dataclass(frozen=True, slots=True)
class Missing:
    """A refusal: ``NotRepresentable(version, path, reason)`` when one of ``fields`` is ``None``."""

    path: str
    reason: str
    fields: tuple[str, ...]


def when_missing(path: str, reason: str, *fields: str) -> Missing:
    """Refuse the object (``path``, ``reason``) when any of ``fields`` (dotted paths allowed) is ``None``.

    The fields are then taken as present by the rest of the conversion.
    """
    return Missing(path, reason, fields)


@dataclass(frozen=True, slots=True)
class Spec:
    """How a version converts one canonical class differently from the field-by-field default.

    Keys of the version's table are the canonical class, or ``(canonical class, wire class)`` where
    one canonical class has several wire shapes (2.3.0 ``Price`` and ``PriceLimit``).
    """

    #: canonical field -> wire field, both ways.
    names: Mapping[str, str] = field(default_factory=dict)
    #: canonical field -> callable(wire object, *read_params) or constant.
    read: Mapping[str, object] = field(default_factory=dict)
    #: wire field -> callable(canonical object, *write_params) or constant.
    write: Mapping[str, object] = field(default_factory=dict)
    #: wire field -> canonical attribute path or method (``"cdr_token.contract_id"``,
    #: ``"after_taxes_total"``), converted by type like a field of the same name.
    write_from: Mapping[str, str] = field(default_factory=dict)
    #: writing: refusals run before anything else, in order.
    checks: tuple[Missing | Callable[..., None], ...] = ()
    #: writing: optional canonical fields that the callers of this conversion have checked.
    assume: tuple[str, ...] = ()
    #: extra arguments of the reader / writer (after the object), in order.
    read_params: tuple[str, ...] = ()
    write_params: tuple[str, ...] = ()
    #: writing: refusal paths of this object's fields start with the field holding it
    #: (``Session.cdr_token.uid``), not with its class (``CdrToken.uid``).
    holder_paths: bool = False
    #: a function replacing the generated reader / writer of the pair.
    reader: Callable[[Any], Any] | None = None
    writer: Callable[[Any], Any] | None = None


# --- annotations ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Type:
    """A field annotation reduced to what the conversion needs."""

    kind: str  # "struct" | "seq" | "enum" | "ci" | "str" | "scalar"
    cls: Any
    item: _Type | None = None
    optional: bool = False
    min_length: int | None = None
    max_length: int | None = None

    def required(self) -> _Type:
        return _Type(self.kind, self.cls, self.item, False, self.min_length, self.max_length)


def _resolve(tp: Any) -> _Type:
    optional = False
    min_length: int | None = None
    max_length: int | None = None
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp, *metas = get_args(tp)
            for meta in metas:
                if isinstance(meta, msgspec.Meta):
                    min_length = meta.min_length if meta.min_length is not None else min_length
                    max_length = meta.max_length if meta.max_length is not None else max_length
        elif origin is Union or origin is types.UnionType:
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                raise TypeError(f"unsupported union {tp!r}")
            optional = True
            tp = args[0]
        else:
            break
    if origin in (list, tuple):
        return _Type("seq", origin, _resolve(get_args(tp)[0]), optional, min_length, max_length)
    if not isinstance(tp, type):
        raise TypeError(f"unsupported annotation {tp!r}")
    if issubclass(tp, msgspec.Struct):
        kind = "struct"
    elif issubclass(tp, Enum):
        kind = "enum"
    elif issubclass(tp, CiString):
        kind = "ci"
    elif issubclass(tp, str):
        kind = "str"
    else:
        kind = "scalar"
    return _Type(kind, tp, None, optional, min_length, max_length)


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    type: _Type
    required: bool


@functools.cache
def _fields(cls: Any) -> Mapping[str, _Field]:
    """The fields of a Struct class, in order (resolving annotations is slow: once per class)."""
    return {f.name: _Field(f.name, _resolve(f.type), f.required) for f in msgspec.structs.fields(cls)}


# --- the engine -----------------------------------------------------------------------------------


class _Code:
    """The source of one generated function: fresh variable names and the refusals it holds."""

    def __init__(self) -> None:
        self.count = 0
        self.refusals: list[tuple[str, str]] = []  # (kind, path); kind "narrow", "empty" or "missing"
        self.calls: list[tuple[str, bool]] = []  # (writer called, only after its drop check)

    def var(self) -> str:
        self.count += 1
        return f"_v{self.count}"


class Version:
    """The converters of one OCPI version, generated from its table of :class:`Spec` entries."""

    def __init__(
        self,
        number: str,
        specs: Mapping[Any, Spec],
        *,
        fallbacks: Mapping[type[Enum], Enum] | None = None,
    ) -> None:
        self.number = number
        self._specs = dict(specs)
        self._fallbacks = dict(fallbacks or {})
        self._ns: dict[str, Any] = {
            "__builtins__": __builtins__,
            "V": number,
            "NotRepresentable": NotRepresentable,
            "fit": fit,
            "limit": limit,
            "plain": plain,
            "require": require,
        }
        self._refs: dict[int, str] = {}
        self._tables: dict[tuple[str, type[Enum]], str] = {}
        self._readers: dict[tuple[Any, Any], str] = {}
        self._writers: dict[tuple[Any, Any, str | None], str] = {}
        self._checks: dict[tuple[Any, Any], str | None] = {}
        self._refusals: dict[str, list[tuple[str, str]]] = {}
        self._calls: dict[str, list[tuple[str, bool]]] = {}
        self._roots: set[str] = set()

    # --- public ---------------------------------------------------------------------------------

    def reader(self, wire: type[W], model: type[M], doc: str | None = None) -> Callable[[W], M]:
        """The function reading a ``wire`` object into a canonical ``model`` object."""
        if self._spec(model, wire).read_params:
            raise TypeError(f"{model.__name__} takes parameters: use reader_with_params")
        return cast(Callable[[W], M], self._public(self._reader(wire, model), doc))

    def writer(self, model: type[M], wire: type[W], doc: str | None = None) -> Callable[[M], W]:
        """The function writing a canonical ``model`` object as a ``wire`` object."""
        if self._spec(model, wire).write_params:
            raise TypeError(f"{model.__name__} takes parameters: use writer_with_params")
        return cast(Callable[[M], W], self._public(self._writer(model, wire), doc))

    def reader_with_params(self, wire: type[W], model: type[M]) -> Callable[..., M]:
        """The reader of a pair whose :class:`Spec` declares ``read_params`` (called with them)."""
        return cast(Callable[..., M], self._public(self._reader(wire, model), None))

    def writer_with_params(self, model: type[M], wire: type[W]) -> Callable[..., W]:
        """The writer of a pair whose :class:`Spec` declares ``write_params`` (called with them)."""
        return cast(Callable[..., W], self._public(self._writer(model, wire), None))

    def refusals(self) -> set[str]:
        """The paths the writers obtained so far may refuse with, besides identifier lengths and
        the callables of checks and overrides: guards, enum values a required field lacks, and
        required lists left empty (not counting what is dropped before it could be refused)."""
        found: set[str] = set()
        seen: set[tuple[str, bool]] = set()

        def visit(name: str, dropped_first: bool) -> None:
            if (name, dropped_first) in seen:
                return
            seen.add((name, dropped_first))
            for kind, path in self._refusals.get(name, ()):
                if not (dropped_first and kind in ("narrow", "empty")):
                    found.add(path)
            for callee, checked in self._calls.get(name, ()):
                visit(callee, checked)

        for root in self._roots:
            visit(root, False)
        return found

    # --- lookup ---------------------------------------------------------------------------------

    def _public(self, name: str, doc: str | None) -> Callable[..., Any]:
        fn = self._ns[name]
        if name in self._calls:
            self._roots.add(name)
        if doc is not None:
            fn.__doc__ = doc
        return cast(Callable[..., Any], fn)

    def _spec(self, model: Any, wire: Any) -> Spec:
        found = self._specs.get((model, wire)) or self._specs.get(model)
        return found if found is not None else Spec()

    def _ref(self, obj: object, hint: str) -> str:
        """The name under which the generated code sees ``obj``."""
        if obj is None:
            return "None"
        name = self._refs.get(id(obj))
        if name is None:
            name = f"{hint}_{len(self._refs)}"
            self._refs[id(obj)] = name
            self._ns[name] = obj
        return name

    def _compile(self, name: str, text: str, code: _Code) -> None:
        filename = f"<evroam.ocpi {self.number} {name}>"
        exec(compile(text, filename, "exec"), self._ns)
        linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
        fn = self._ns[name]
        fn.__qualname__ = f"{name} ({self.number})"
        fn.__source__ = text
        self._refusals[name] = code.refusals
        self._calls[name] = code.calls

    # --- readers --------------------------------------------------------------------------------

    def _reader(self, wire: Any, model: Any) -> str:
        key = (wire, model)
        name = self._readers.get(key)
        if name is not None:
            return name
        spec = self._spec(model, wire)
        name = f"read_{wire.__name__}_{len(self._readers)}"
        self._readers[key] = name
        if spec.reader is not None:
            self._ns[name] = spec.reader
            return name
        code = _Code()
        params = spec.read_params
        wire_fields = _fields(wire)
        args: list[str] = []
        for f in _fields(model).values():
            target = f.name
            if target in spec.read:
                args.append(f"{target}={self._override(spec.read[target], params, target)}")
                continue
            if target in params:
                args.append(f"{target}={target}")
                continue
            source = spec.names.get(target, target)
            if source not in wire_fields:
                if f.required:
                    raise TypeError(
                        f"{self.number}: {model.__name__}.{target} has no source in {wire.__name__}"
                    )
                continue
            where = f"{wire.__name__}.{source} -> {model.__name__}.{target}"
            value = self._read_value(code, f"src.{source}", wire_fields[source].type, f.type, where)
            args.append(f"{target}={value}")
        head = ", ".join(("src", *params))
        body = "".join(f"        {a},\n" for a in args)
        text = f"def {name}({head}):\n    return {self._ref(model, model.__name__)}(\n{body}    )\n"
        self._compile(name, text, code)
        return name

    def _read_value(self, code: _Code, x: str, src: _Type, dst: _Type, where: str) -> str:
        if not src.optional:
            return self._read_one(code, x, src, dst, where)[0]
        if not dst.optional:
            raise TypeError(f"{self.number}: {where}: optional on the wire, required in the model")
        v = code.var()
        inner = self._read_one(code, v, src.required(), dst.required(), where)[0]
        return x if inner == v else f"None if ({v} := {x}) is None else {inner}"

    def _read_one(self, code: _Code, x: str, src: _Type, dst: _Type, where: str) -> tuple[str, str | None]:
        """(expression, name of the function it calls on ``x`` alone, if it is one)."""
        if dst.kind == "struct":
            fn = self._reader(src.cls, dst.cls)
            return f"{fn}({x})", fn
        if dst.kind == "seq" and src.kind == "seq" and src.item and dst.item:
            y = code.var()
            item, item_fn = self._read_one(code, y, src.item, dst.item, where)
            if item == y:
                return f"tuple({x})", None
            if item_fn is not None:
                return f"tuple(map({item_fn}, {x}))", None
            return f"tuple([{item} for {y} in {x}])", None
        if dst.kind == "enum" and src.kind in ("enum", "str"):
            values = self._members(dst.cls)
            return f"({values}.get({x}) or {self._ref(dst.cls, dst.cls.__name__)}({x}))", None
        if dst.kind == "ci" and src.kind == "ci":
            return x, None
        if dst.kind == "ci" and src.kind == "str":
            fn = self._ref(dst.cls, dst.cls.__name__)
            return f"{fn}({x})", fn
        if dst.kind == "str" and src.kind in ("enum", "ci"):
            return f"plain({x})", "plain"
        if (dst.kind, src.kind) in (("str", "str"), ("scalar", "scalar")) and issubclass(src.cls, dst.cls):
            return x, None
        raise TypeError(f"{self.number}: {where}: no default for {src.cls!r} -> {dst.cls!r}; add a Spec")

    # --- writers --------------------------------------------------------------------------------

    def _writer(self, model: Any, wire: Any, holder: str | None = None) -> str:
        """The writer of a pair; ``holder``: the path of the field holding it (``holder_paths``)."""
        key = (model, wire, holder)
        name = self._writers.get(key)
        if name is not None:
            return name
        spec = self._spec(model, wire)
        name = f"write_{wire.__name__}_{len(self._writers)}"
        self._writers[key] = name
        if spec.writer is not None:
            self._ns[name] = spec.writer
            return name
        code = _Code()
        params = spec.write_params
        sources = _sources(model, spec)
        present = _present(spec)
        lines: list[str] = []
        for check in spec.checks:
            if isinstance(check, Missing):
                condition = " or ".join(f"src.{f} is None" for f in check.fields)
                raising = f"NotRepresentable(V, {check.path!r}, {check.reason!r})"
                lines.append(f"    if {condition}:\n        raise {raising}\n")
                code.refusals.append(("missing", check.path))
            else:
                lines.append(f"    {self._override(check, params, 'check')}\n")
        args: list[str] = []
        for f in _fields(wire).values():
            target = f.name
            path = f"{holder or wire.__name__}.{target}"
            if target in spec.write:
                args.append(f"{target}={self._override(spec.write[target], params, target)}")
                continue
            if target in params:
                args.append(f"{target}={target}")
                continue
            if target not in sources:
                raise TypeError(f"{self.number}: {path} has no source in {model.__name__}; add a Spec")
            x, src = sources[target]
            if x in present:
                src = src.required()
            dst = f.type
            value = self._write_value(code, x, src, dst, path)
            if dst.kind == "seq" and dst.min_length and not src.optional and self._droppable_items(src, dst):
                lines.append(f"    _{target} = {value}\n")
                reason = f"none of its {target} can be written in {self.number}"
                lines.append(
                    f"    if not _{target}:\n        raise NotRepresentable(V, {path!r}, {reason!r})\n"
                )
                code.refusals.append(("empty", path))
                value = f"_{target}"
            args.append(f"{target}={value}")
        head = ", ".join(("src", *params))
        body = "".join(f"        {a},\n" for a in args)
        call = f"    return {self._ref(wire, wire.__name__)}(\n{body}    )\n"
        self._compile(name, f"def {name}({head}):\n{''.join(lines)}{call}", code)
        return name

    def _write_value(self, code: _Code, x: str, src: _Type, dst: _Type, path: str) -> str:
        if not src.optional:
            return self._write_one(code, x, src, dst, path, "required")
        if not dst.optional:
            raise TypeError(
                f"{self.number}: {path} is required but optional in the model: add a check or an override"
            )
        v = code.var()
        src = src.required()
        inner = self._write_one(code, v, src, dst, path, "optional")
        if inner == v:
            return x
        if dst.kind == "struct":
            check = self._check(src.cls, dst.cls)
            if check is not None:
                return f"None if ({v} := {x}) is None or not {check}({v}) else {inner}"
        return f"None if ({v} := {x}) is None else {inner}"

    def _write_one(self, code: _Code, x: str, src: _Type, dst: _Type, path: str, role: str) -> str:
        """``x`` (not ``None``) written as ``dst``; ``role`` is "required" or "optional" (for enums)."""
        if dst.kind == "struct":
            holder = path if self._spec(src.cls, dst.cls).holder_paths else None
            fn = self._writer(src.cls, dst.cls, holder)
            code.calls.append((fn, role == "optional" and self._check(src.cls, dst.cls) is not None))
            return f"{fn}({x})"
        if dst.kind == "seq" and src.kind == "seq" and src.item and dst.item:
            return self._write_list(code, x, src.item, dst.item, path)
        if dst.kind == "enum" and src.kind in ("enum", "str"):
            return self._write_enum(code, x, src, dst, path, role)
        if dst.kind == "ci":
            return f"fit({self._ref(dst.cls, dst.cls.__name__)}, {x}, V, {path!r})"
        if dst.kind == "str" and src.kind == "ci":
            return f"limit({x}, {dst.max_length}, V, {path!r})" if dst.max_length else f"plain({x})"
        if (dst.kind, src.kind) in (("str", "str"), ("str", "enum"), ("scalar", "scalar")):
            return x
        if dst.kind == "scalar" and src.kind == "struct":  # a version whose money is a plain number
            fn = self._writer(src.cls, dst.cls)
            code.calls.append((fn, False))
            return f"{fn}({x})"
        raise TypeError(f"{self.number}: {path}: no default for {src.cls!r} -> {dst.cls!r}; add a Spec")

    def _write_list(self, code: _Code, x: str, src: _Type, dst: _Type, path: str) -> str:
        y = code.var()
        if dst.kind == "enum" and self._narrowed(src, dst) and dst.cls not in self._fallbacks:
            values = self._members(dst.cls)
            e = code.var()
            return f"[{e} for {y} in {x} if ({e} := {values}.get({y})) is not None]"
        if dst.kind == "struct":
            fn = self._writer(src.cls, dst.cls)
            check = self._check(src.cls, dst.cls)
            code.calls.append((fn, check is not None))
            if check is not None:
                return f"[{fn}({y}) for {y} in {x} if {check}({y})]"
            return f"list(map({fn}, {x}))"
        item = self._write_one(code, y, src, dst, path, "required")
        if item == y:
            return f"list({x})"
        return f"[{item} for {y} in {x}]"

    def _write_enum(self, code: _Code, x: str, src: _Type, dst: _Type, path: str, role: str) -> str:
        values = self._members(dst.cls)
        fallback = self._fallbacks.get(dst.cls)
        if fallback is not None:
            return f"({values}.get({x}) or {self._ref(fallback, 'fallback')})"
        enum = self._ref(dst.cls, dst.cls.__name__)
        if not self._narrowed(src, dst):
            return f"({values}.get({x}) or {enum}({x}))"
        if role == "optional":
            return f"{values}.get({x})"
        code.refusals.append(("narrow", path))
        return f"({values}.get({x}) or require({enum}, {x}, V, {path!r}))"

    @staticmethod
    def _narrowed(src: _Type, dst: _Type) -> bool:
        """Whether some canonical value has no member in the wire enum ``dst``."""
        if src.kind != "enum":
            return True  # an OpenEnum of the canonical model: any string
        return not {e.value for e in src.cls} <= {e.value for e in dst.cls}

    def _droppable_items(self, src: _Type, dst: _Type) -> bool:
        item, target = src.item, dst.item
        if item is None or target is None:
            return False
        if target.kind == "enum":
            return self._narrowed(item, target) and target.cls not in self._fallbacks
        return target.kind == "struct" and self._check(item.cls, target.cls) is not None

    def _check(self, model: Any, wire: Any) -> str | None:
        """The name of the predicate "this object can be written" of a droppable pair, else ``None``.

        An object is droppable when a required field holds an enum value the version lacks (without
        fallback), or a required non-empty list would be left empty.
        """
        key = (model, wire)
        if key in self._checks:
            return self._checks[key]
        self._checks[key] = None  # while computing (no pair contains itself)
        spec = self._spec(model, wire)
        if spec.writer is not None or not isinstance(wire, type) or not issubclass(wire, msgspec.Struct):
            return None
        sources = _sources(model, spec)
        conditions: list[str] = []
        for f in _fields(wire).values():
            if f.name in spec.write or f.name in spec.write_params or f.name not in sources:
                continue
            x, src = sources[f.name]
            dst = f.type
            if src.optional or dst.optional:
                continue
            if dst.kind == "enum" and self._narrowed(src, dst) and dst.cls not in self._fallbacks:
                known = self._members(dst.cls, "values")
                conditions.append(f"{x} in {known}")
            elif dst.kind == "seq" and dst.min_length and src.item and dst.item and dst.item.kind == "struct":
                inner = self._check(src.item.cls, dst.item.cls)
                if inner is not None:
                    conditions.append(f"any(map({inner}, {x}))")
        if not conditions:
            return None
        name = f"ok_{wire.__name__}_{len(self._checks)}"
        text = f"def {name}(src):\n    return {' and '.join(conditions)}\n"
        self._compile(name, text, _Code())
        self._checks[key] = name
        return name

    def _members(self, enum: type[Enum], kind: str = "members") -> str:
        """The name of ``{value: member}`` (or, for ``"values"``, the set of values) of ``enum``."""
        key = (kind, enum)
        name = self._tables.get(key)
        if name is None:
            table: object = _members(enum) if kind == "members" else frozenset(e.value for e in enum)
            name = self._ref(table, f"{enum.__name__}_{kind}")
            self._tables[key] = name
        return name

    def _override(self, value: object, params: tuple[str, ...], hint: str) -> str:
        if not callable(value):
            return self._ref(value, f"const_{hint}")
        return f"{self._ref(value, f'fn_{hint}')}({', '.join(('src', *params))})"


def _members(enum: type[Enum]) -> dict[object, Enum]:
    return {e.value: e for e in enum}


def _present(spec: Spec) -> set[str]:
    """Canonical attributes (as ``src.<path>``) that the checks or ``assume`` guarantee."""
    names = set(spec.assume)
    for check in spec.checks:
        if isinstance(check, Missing):
            names.update(check.fields)
    return {f"src.{n}" for n in names}


def _sources(model: Any, spec: Spec) -> dict[str, tuple[str, _Type]]:
    """wire field -> (canonical expression, its type), by name, ``names`` and ``write_from``."""
    out: dict[str, tuple[str, _Type]] = {}
    if not isinstance(model, type) or not issubclass(model, msgspec.Struct):
        return out
    for f in _fields(model).values():
        out[spec.names.get(f.name, f.name)] = (f"src.{f.name}", f.type)
    for target, attribute in spec.write_from.items():
        out[target] = _attribute(model, attribute)
    return out


def _attribute(model: Any, dotted: str) -> tuple[str, _Type]:
    """``src.a.b`` (or ``src.method()``) and its type, for a canonical attribute path."""
    expr, cls, found = "src", model, None
    for part in dotted.split("."):
        if found is not None:
            cls = found.cls
        fields = _fields(cls)
        if part in fields:
            expr, found = f"{expr}.{part}", fields[part].type
        else:
            method = getattr(cls, part)
            expr, found = f"{expr}.{part}()", _resolve(get_type_hints(method)["return"])
    if found is None:
        raise TypeError(f"empty attribute path for {model!r}")
    return expr, found


def source(fn: Callable[..., Any]) -> str:
    """The generated source of a converter (for reading and debugging)."""
    text: str = getattr(fn, "__source__", "")
    return text


def sources(version: Version) -> Iterator[str]:
    """Every function generated so far for ``version``, in order."""
    for value in version._ns.values():
        if isinstance(value, types.FunctionType) and hasattr(value, "__source__"):
            yield source(value)
