"""Real evroam node processes for the integration tests: :mod:`evroam.testing`'s, run from the repository.

:class:`NodeProcess` is :class:`evroam.testing.NodeProcess` with the repository root as working
directory and on ``PYTHONPATH``, so that nodes can start the tests' helper modules
(``node.python("tests.integration...")``). Whoever starts a node must stop it in a fixture finalizer
(:func:`stop_all`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evroam import testing
from evroam.testing import free_port, stop_all, wait_until

__all__ = ["REPO_ROOT", "NodeProcess", "free_port", "stop_all", "wait_until"]

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class NodeProcess(testing.NodeProcess):
    """A node whose processes run in the repository (they can import ``tests``)."""

    cwd: Path | None = REPO_ROOT
    python_path: tuple[str, ...] = (str(REPO_ROOT),)
