"""What a part of the reliability suite reports."""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Check:
    """One claim of a part, e.g. "0 server errors", with the measured figure."""

    name: str
    ok: bool
    figure: str


@dataclass
class Result:
    """A part's outcome: its checks, its figures (JSON-able), and a paragraph of explanation."""

    part: str
    title: str
    checks: list[Check] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    seconds: float = 0.0
    quick: bool = False
    machine: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def check(self, name: str, ok: bool, figure: object) -> bool:
        self.checks.append(Check(name, bool(ok), str(figure)))
        return bool(ok)


def machine() -> dict[str, Any]:
    """The machine a run was made on (cores, load), to state with every figure."""
    import os

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "load_before": [round(x, 2) for x in load],
    }
