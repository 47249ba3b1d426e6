"""Wall time of ``make demo``'s scenario (the same function ``python -m evroam.demo`` runs).

    .venv/bin/python bench/demo.py [--runs 3] [--speed 600] [--minutes 60]

Runs the scenario ``--runs`` times in a temporary folder and prints one JSON object: each run's wall
time in seconds (the scenario's own figure: from starting the nodes to the CDR both hold), their median
and the machine's load average before the first run. The README promises "under a minute"; this is
where that figure is checked, not in ``make test`` (a loaded machine must not fail the test suite).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tempfile
from pathlib import Path

from evroam.demo import run_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--speed", type=float, default=600.0)
    parser.add_argument("--minutes", type=float, default=60.0)
    args = parser.parse_args()
    load = os.getloadavg()
    seconds: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):
            result = run_scenario(
                Path(tmp) / f"run{i}", out=io.StringIO(), speed=args.speed, minutes=args.minutes
            )
            seconds.append(round(result.seconds, 1))
    report = {
        "runs_s": seconds,
        "median_s": statistics.median(seconds),
        "load_average_before": [round(x, 2) for x in load],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
