"""A fast smoke of each part of the reliability suite (``make reliability`` runs the full versions)."""

from __future__ import annotations

import pytest

from reliability.__main__ import PARTS, run_part

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("part", PARTS)
def test_the_quick_version_of_each_part_passes(part: str) -> None:
    result = run_part(part, quick=True)
    failed = [f"{c.name}: {c.figure}" for c in result.checks if not c.ok]
    assert result.checks, f"{part} checked nothing"
    assert not failed, f"{part}: " + "; ".join(failed)
