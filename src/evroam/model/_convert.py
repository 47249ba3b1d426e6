"""Small helpers shared by the converters of every OCPI version (``evroam.ocpi.vX_Y_Z.convert``).

They implement the uniform loss rules of ``docs/versions.md`` (applied by the engine in
``evroam.ocpi._convert_core``):

* an enum value the target version does not know is dropped from a list, becomes ``None`` in an
  optional field (:func:`member`), or raises :class:`NotRepresentable` in a required one
  (:func:`require`), unless the converter documents a mapping;
* identifiers are re-checked against the target's ``CiStringNN`` length (:func:`fit`), or, where the
  target's identifiers are plain strings (2.1.1), against their ``max_length`` (:func:`limit`);
* ``None`` (absent) and an empty list stay different (:func:`tup`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TypeVar

from evroam.core.types import CiString
from evroam.model.common import NotRepresentable

__all__ = ["fit", "limit", "member", "plain", "require", "tup"]

A = TypeVar("A")
B = TypeVar("B")
E = TypeVar("E", bound=StrEnum)
C = TypeVar("C", bound=CiString)


def tup(values: Iterable[A] | None, fn: Callable[[A], B]) -> tuple[B, ...] | None:
    """``None`` stays ``None``; otherwise a tuple of ``fn`` applied to each value."""
    return None if values is None else tuple(fn(v) for v in values)


def plain(value: str) -> str:
    """The bare string value of an enum member or CiString (for open-enum canonical fields)."""
    return str.__str__(value)


def member(enum: type[E], value: str | None) -> E | None:
    """The member of ``enum`` with this value, or ``None`` when absent or unknown to ``enum``."""
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        return None


def require(enum: type[E], value: str, version: str, path: str) -> E:
    """The member of ``enum`` with this value; :class:`NotRepresentable` when the version lacks it."""
    try:
        return enum(value)
    except ValueError:
        raise NotRepresentable(version, path, f"the value {plain(value)!r} does not exist there") from None


def fit(cls: type[C], value: str, version: str, path: str) -> C:
    """``value`` as the target's CiString class; :class:`NotRepresentable` if too long or not ASCII."""
    try:
        return cls.parse(plain(value))
    except (TypeError, ValueError) as exc:
        raise NotRepresentable(version, path, str(exc)) from None


def limit(value: str, length: int, version: str, path: str) -> str:
    """``value`` as a plain string; :class:`NotRepresentable` if longer than ``length`` characters."""
    if len(value) > length:
        raise NotRepresentable(version, path, f"longer than the {length} characters {version} allows")
    return plain(value)
