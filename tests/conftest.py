"""Shared fixtures: the read-only spec material beside the project, and the PostgreSQL URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("EVROAM_SHARED_DIR", ROOT.parent / "shared"))
OCPI_EXAMPLES = SHARED / "spec" / "ocpi" / "examples"


def shared_path(*parts: str) -> Path:
    """A path under ``../shared``; skips the test (or fails it in CI) when the folder is absent.

    A user's clone has no ``../shared``: the tests that need the official examples then skip with a
    clear message. CI sets ``EVROAM_REQUIRE_SHARED=1`` so that a missing folder fails loudly instead.
    """
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"spec material not found at {path} (set EVROAM_SHARED_DIR to the shared/ folder)"
        if os.environ.get("EVROAM_REQUIRE_SHARED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def ocpi_examples(version: str) -> list[Path]:
    """The official example JSON files of one OCPI version, sorted by name."""
    return sorted(shared_path("spec", "ocpi", "examples", version).glob("*.json"))


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL URL for store tests; skips when unset (CI always sets it)."""
    url = os.environ.get("EVROAM_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("EVROAM_TEST_POSTGRES_URL is not set in CI")
        pytest.skip("EVROAM_TEST_POSTGRES_URL not set: PostgreSQL store tests skipped")
    return url
