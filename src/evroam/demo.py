"""``make demo``: what a newcomer sees first. It grows with the project (see README)."""

from __future__ import annotations

import subprocess
import sys

__all__ = ["run"]


def run() -> int:
    for args in (["--help"], ["version"]):
        print(f"$ evroam {' '.join(args)}", flush=True)  # noqa: T201 - the demo prints for a person
        done = subprocess.run([sys.executable, "-m", "evroam", *args], check=False)
        if done.returncode != 0:
            return done.returncode
        print(flush=True)  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
