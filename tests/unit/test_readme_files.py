"""The README names only files and folders that exist in the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Paths under these roots are checked; others (``../shared``, data dirs a command creates) are not ours.
ROOTS = ("docs/", "src/", "tests/", "bench/", "reliability/", "Makefile", "pyproject.toml")
#: Created by a command the README tells the reader to run, not shipped.
CREATED = {"tests/interop/.venv-peer"}


def named_paths(text: str) -> list[str]:
    """Every `backticked` path under :data:`ROOTS` (a path inside a table cell or a sentence)."""
    found = []
    for quoted in re.findall(r"`([^`\s]+)`", text):
        if quoted.startswith(ROOTS) and quoted not in CREATED:
            found.append(quoted.replace("<name>", "*").replace("{version}", "*"))
    return found


def test_the_readme_names_only_files_that_exist() -> None:
    paths = named_paths((ROOT / "README.md").read_text())
    assert len(paths) > 20  # the README's map of the code is read
    missing = [p for p in paths if not any(ROOT.glob(p.rstrip("/")))]
    assert missing == []


def test_a_missing_file_is_seen() -> None:
    assert named_paths("see `docs/nothing-here.md` and `../shared/x`") == ["docs/nothing-here.md"]
    assert not any(ROOT.glob("docs/nothing-here.md"))
