"""Start-up of the CLI: ``evroam version`` and ``evroam locations list --json`` against ``python -c pass``.

    python bench/cli.py [--runs 15] [--out bench/results/cli.json]

All three run in the same loop, interleaved (so that machine load hits them alike), each in a fresh
interpreter of this Python, in a scratch folder with a node made by ``evroam init`` (an empty store: the
cost measured is start-up, not reading data). The commands run with Python's byte-code cache on (the
environment's ``PYTHONDONTWRITEBYTECODE`` is dropped for them), as for an installed package, whose
``.pyc`` files pip writes at install time: otherwise each run would compile every module of an editable
checkout from source again (about 90 ms of the listing on the reference machine).

Prints and writes the median and p90 wall time of each,
the medians' differences to ``python -c pass`` against the targets (0.15 s and 0.3 s above it), and
the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"version": 0.15, "locations list --json": 0.30}


#: The environment of the timed commands: this one, with the byte-code cache allowed.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "cli.json")
    args = parser.parse_args()
    evroam = [sys.executable, "-m", "evroam", "--data-dir", "node"]
    with tempfile.TemporaryDirectory(prefix="evroam-bench-cli-") as scratch:
        cwd = Path(scratch)
        subprocess.run(
            [*evroam, "init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO",
             "--url", "http://127.0.0.1:9"],
            cwd=cwd, check=True, stdout=subprocess.DEVNULL, env=ENV,
        )  # fmt: skip
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "version": [*evroam, "version"],
            "locations list --json": [*evroam, "locations", "list", "--json"],
        }
        for command in commands.values():  # warm the file cache and the byte-code
            timed(command, cwd)
        load_before = os.getloadavg()
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(timed(command, cwd))
        load_after = os.getloadavg()
    base = statistics.median(times["python -c pass"])
    result: dict[str, object] = {
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "seconds": {
            name: {
                "median": round(statistics.median(ts), 3),
                "p90": round(sorted(ts)[int(0.9 * (len(ts) - 1))], 3),
            }
            for name, ts in times.items()
        },
        "above_python": {
            name: {
                "median": round(statistics.median(times[name]) - base, 3),
                "target": target,
                "met": statistics.median(times[name]) - base <= target,
            }
            for name, target in TARGETS.items()
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
