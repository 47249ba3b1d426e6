"""Shared machinery of the official-example tests (tests/unit/test_examples_v*.py).

* :class:`Envelope` reads the ``transport_and_format_*`` examples, which are whole response envelopes.
* :func:`assert_round_trip` decodes an example into its model and checks that encoding gives the
  original back, up to the normalisations of :mod:`tests.support.jsoncompare`.
* :func:`assert_rejected` checks that a known-broken example fails with one 2001 whose violations
  name the given JSON paths.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

from evroam.core.codec import decode, encode
from evroam.core.errors import ValidationFailed
from evroam.core.types import DateTime
from evroam.ocpi.base import WireModel
from tests.support.jsoncompare import json_differences, load_json

__all__ = ["Envelope", "assert_rejected", "assert_round_trip", "named_paths"]

T = TypeVar("T")


class Envelope(WireModel, Generic[T], kw_only=True):
    """The OCPI response envelope around ``data`` (test-side reading of the envelope examples)."""

    data: T | None = None
    status_code: int
    status_message: str | None = None
    timestamp: DateTime


def assert_round_trip(path: Path, model: Any, dropped: tuple[str, ...] = ()) -> Any:
    """Decode ``path`` as ``model``, encode it again and compare; returns the decoded object.

    ``dropped`` lists members the example has but the model does not know (unknown fields are
    ignored on decoding, so they are missing after the round trip); nothing else may differ.
    """
    raw = path.read_bytes()
    obj = decode(raw, model)
    differences = json_differences(load_json(raw), load_json(encode(obj)))
    assert sorted(differences) == sorted(f"{p}: missing" for p in dropped), differences
    return obj


_MISSING = re.compile(r"missing required field `([^`]+)`")


def named_paths(exc: ValidationFailed) -> set[str]:
    """JSON paths the violations point at; a "missing required field `x`" at ``$.a`` names ``$.a.x``."""
    names = set()
    for violation in exc.violations:
        names.add(violation.path)
        names.update(f"{violation.path}.{field}" for field in _MISSING.findall(violation.message))
    return names


def assert_rejected(path: Path, model: Any, expected_paths: tuple[str, ...]) -> None:
    """The example fails to decode with one 2001 naming at least every path in ``expected_paths``."""
    with pytest.raises(ValidationFailed) as caught:
        decode(path.read_bytes(), model)
    assert caught.value.ocpi_status == 2001
    assert caught.value.http_status == 400
    names = named_paths(caught.value)
    missing = [p for p in expected_paths if p not in names]
    assert not missing, f"violations {list(caught.value.violations)} do not name {missing}"
