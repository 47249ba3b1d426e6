"""A JSON string that is not UTF-8 is invalid JSON (2000), whatever the target type."""

from __future__ import annotations

from typing import Any

import pytest

from evroam.core.codec import decode
from evroam.core.errors import InvalidJson
from evroam.ocpi.v2_1_1.locations import Location


@pytest.mark.parametrize("tp", [str, dict, Location])
def test_a_string_that_is_not_utf8_is_invalid_json(tp: Any) -> None:
    with pytest.raises(InvalidJson, match="not valid JSON"):
        decode(b'"\x80"', tp)
