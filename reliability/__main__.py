"""``python -m reliability [PART ...] [--quick]``: run the parts, write their results and the docs page."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import sys
import time
from pathlib import Path

from reliability.result import Result, machine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "reliability"
DOC = ROOT / "docs" / "reliability.md"

#: The parts, in the order the page lists them (each a module of this package).
PARTS: tuple[str, ...] = (
    "schemathesis_run",
    "auth_matrix",
    "hostile",
    "kill_cycles",
    "pg_restart",
    "partner_down",
    "disk_full",
)


def run_part(name: str, quick: bool) -> Result:
    module = importlib.import_module(f"reliability.{name}")
    started = time.monotonic()
    info = machine()
    result: Result = module.run(quick=quick)
    result.seconds = round(time.monotonic() - started, 1)
    result.quick = quick
    result.machine = info
    return result


def write_doc() -> None:
    lines = [
        "# Reliability and security",
        "",
        "Written by `make reliability` (`python -m reliability`) from `bench/results/reliability/*.json`;",
        "do not edit by hand. Each part states the machine and its load when it ran.",
        "",
    ]
    for name in PARTS:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            lines += [f"## {name}", "", "Not run yet.", ""]
            continue
        data = json.loads(path.read_text())
        verdict = "PASS" if data["checks"] and all(c["ok"] for c in data["checks"]) else "FAIL"
        m = data["machine"]
        lines += [
            f"## {data['title']} — {verdict}",
            "",
            f"{'Quick run' if data['quick'] else 'Full run'} in {data['seconds']} s on {m['cores']} cores, "
            f"load before {', '.join(str(x) for x in m['load_before'])} (Python {m['python']}).",
            "",
            "| check | result | figure |",
            "|---|---|---|",
        ]
        for c in data["checks"]:
            lines.append(f"| {c['name']} | {'ok' if c['ok'] else 'FAILED'} | {c['figure']} |")
        if data["notes"]:
            lines += ["", data["notes"]]
        lines.append("")
    DOC.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__)
    parser.add_argument("parts", nargs="*", help=f"parts to run (default: all of {', '.join(PARTS)})")
    parser.add_argument("--quick", action="store_true", help="the small version (the smoke test's)")
    parser.add_argument("--doc-only", action="store_true", help="only rewrite docs/reliability.md")
    args = parser.parse_args(argv)
    if args.doc_only:
        write_doc()
        return 0
    unknown = [p for p in args.parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s): {', '.join(unknown)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed = []
    for name in args.parts or PARTS:
        print(f"reliability: {name} ...", file=sys.stderr, flush=True)
        result = run_part(name, args.quick)
        if not args.quick:  # the docs report full runs only
            (RESULTS / f"{name}.json").write_text(json.dumps(dataclasses.asdict(result), indent=2) + "\n")
        for c in result.checks:
            print(f"  {'ok    ' if c.ok else 'FAILED'} {c.name}: {c.figure}", file=sys.stderr)
        if not result.ok:
            failed.append(name)
    write_doc()
    if failed:
        print(f"reliability: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("reliability: all parts passed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
