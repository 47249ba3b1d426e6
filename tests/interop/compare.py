"""Comparing what evroam sent with what the peer stored, through the peer's documented normalisations.

The peer (pydantic v1 models) rewrites what it receives in ways the OCPI text allows a receiver to
store: case-insensitive strings in lower case, timestamps to the second, numbers as floats, absent
optional fields as ``null`` / ``[]``. :func:`differences` compares modulo exactly those, and nothing
else: every field we sent must be there with the same value.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = ["differences"]


def _timestamp(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(microsecond=0)
    except ValueError:
        return None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return None
    return None


def _same_scalar(ours: Any, theirs: Any) -> bool:
    if ours == theirs:
        return True
    if isinstance(ours, str) and isinstance(theirs, str):
        if ours.casefold() == theirs.casefold():
            return True
        a, b = _timestamp(ours), _timestamp(theirs)
        if a is not None and a == b:
            return True
    a_num, b_num = _number(ours), _number(theirs)
    return a_num is not None and a_num == b_num


def differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where ``theirs`` (stored by the peer) does not hold what ``ours`` (sent) said."""
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return [f"{path or '.'}: sent an object, peer has {theirs!r}"]
        out: list[str] = []
        for key, value in ours.items():
            if key not in theirs:
                out.append(f"{path}.{key}: missing at the peer")
            else:
                out.extend(differences(value, theirs[key], f"{path}.{key}"))
        return out
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(ours) != len(theirs):
            return [f"{path}: sent {ours!r}, peer has {theirs!r}"]
        return [
            d
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if _same_scalar(ours, theirs) else [f"{path}: sent {ours!r}, peer has {theirs!r}"]
