"""Compare two JSON documents up to the normalisations a wire-model round trip is allowed to make.

The official OCPI examples are decoded into wire models and encoded again; the result must equal the
original except for exactly these documented normalisations:

* timestamps are compared as instants (``2015-06-29T20:39:09`` equals ``2015-06-29T20:39:09.000Z``;
  the encoder always writes UTC with ``Z``);
* numbers are compared as :class:`~decimal.Decimal` values (``4.00`` equals ``4``), never as floats;
* an object member that was explicitly ``null`` may be left out.

Anything else (a dropped or added member, a changed string, a reordered list) is a difference.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from evroam.core.types import DateTime

__all__ = ["assert_json_equivalent", "json_differences", "load_json"]


def load_json(data: bytes | str) -> Any:
    """Parse JSON keeping every number exact (as ``Decimal``)."""
    return json.loads(data, parse_float=Decimal, parse_int=Decimal)


def _same_instant(a: str, b: str) -> bool:
    try:
        return DateTime.parse(a) == DateTime.parse(b)
    except (TypeError, ValueError):
        return False


def json_differences(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Every place where ``actual`` differs from ``expected`` (both parsed with :func:`load_json`)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if expected is actual else [f"{path}: expected {expected!r}, got {actual!r}"]
    if isinstance(expected, Decimal) and isinstance(actual, Decimal):
        return [] if expected == actual else [f"{path}: expected {expected}, got {actual}"]
    if isinstance(expected, str) and isinstance(actual, str):
        if expected == actual or _same_instant(expected, actual):
            return []
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                if value is not None:
                    out.append(f"{path}.{key}: missing")
                continue
            out.extend(json_differences(value, actual[key], f"{path}.{key}"))
        out.extend(f"{path}.{key}: unexpected" for key in actual if key not in expected)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} items, got {len(actual)}"]
        out = []
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            out.extend(json_differences(a, b, f"{path}[{i}]"))
        return out
    if expected is None and actual is None:
        return []
    return [f"{path}: expected {expected!r}, got {actual!r}"]


def assert_json_equivalent(expected: bytes | str, actual: bytes | str) -> None:
    """Fail with every difference listed when two JSON documents are not equivalent."""
    differences = json_differences(load_json(expected), load_json(actual))
    assert not differences, "JSON differs:\n  " + "\n  ".join(differences)
