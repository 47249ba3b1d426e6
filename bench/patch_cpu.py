"""The node's CPU per EVSE status PATCH, on SQLite and on PostgreSQL in one run.

    .venv/bin/python bench/patch_cpu.py [--seconds 6] [--rounds 3] [--connections 16] [--rate R]
                                        [--locations 500] [--workers 1] [--profile] [--keep] [--json]

A figure that other load on the machine barely moves: the CPU time (user + system, from ``/proc``) the
eMSP node's processes used while serving, divided by the PATCHes it answered over the same window
(counted by the node itself: ``evroam_http_requests_total`` of the locations Receiver, read from its
``/metrics`` before and after). Throughput on a shared 2-core machine depends on what else runs; the CPU
a PATCH costs depends on that much less, and on a machine where the load generator and the database
share the node's cores it is what bounds the throughput (``bench/scale.py``).

The set-up is ``bench/scale.py``'s: a CPO holding ``--locations`` generated locations and an eMSP node
that pulled them, on each database; the load comes from a separate process (``bench/_load.py
patch-status``: a different EVSE each time, a newer ``last_updated`` each pass, the CPO's real token),
closed loop over ``--connections`` connections, or open loop at ``--rate`` PATCHes a second. The two
databases take turns in ``--rounds`` slices of ``--seconds``; every acknowledged PATCH is checked in the
database afterwards. Reported per database: CPU ms per PATCH (over all rounds), PATCHes/s and the
node's CPU share, and the ratio PostgreSQL / SQLite of the CPU per PATCH; for PostgreSQL also the CPU per
PATCH of the server processes serving the node's database (``pg_stat_activity``; its work is done inside
the node on SQLite) and the node's group commits (units per group, units that left their group).
``--workers N`` serves the PostgreSQL node with N worker processes (SQLite with one); the node's
environment passes on, e.g. ``EVROAM_PG_GROUPS``.

``--profile``: one more slice per database under ``py-spy record`` (``pip install py-spy``; needs ptrace,
i.e. root or ``kernel.yama.ptrace_scope=0``), its collapsed stacks written to
``bench/results/patch_cpu-<database>.folded`` and the functions with the most samples (own and
inclusive) printed. A profile slows the node: its slices are not counted in the figures.

Writes ``bench/results/patch_cpu.json``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench import ROUTING, generate, machine_load, persisted, tree, tree_cpu  # noqa: E402
from scale import Pair, scrape  # noqa: E402

RESULTS = HERE / "results" / "patch_cpu.json"
KINDS = ("sqlite", "postgresql")


def counters(pair: Pair) -> dict[str, float]:
    """From the eMSP node's ``/metrics``: the PATCHes its locations Receiver answered so far (any
    status), and its PostgreSQL group commits (groups, units committed in them, units that left)."""
    metrics = scrape(pair.emsp)

    def total(prefix: str, *where: str) -> float:
        return sum(v for n, v in metrics.items() if n.startswith(prefix) and all(w in n for w in where))

    return {
        "patches": total("evroam_http_requests_total{", 'module="locations"', 'method="PATCH"'),
        "pg_groups": total("evroam_pg_group_units_count"),
        "pg_units": total("evroam_pg_group_units_sum"),
        "pg_units_left": total("evroam_pg_units_left_total"),
    }


def backends_cpu(database: str | None) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL server process connected to ``database`` (the
    backends serving the node; ``{}`` for SQLite, whose work is done inside the node)."""
    if database is None:
        return {}
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "root", "-d", "postgres", "-Atc",
         f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = {}
    for pid in (int(line) for line in done.stdout.split()):
        cpu = process_cpu(pid)
        if cpu is not None:
            found[pid] = cpu
    return found


def process_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loader(args: argparse.Namespace, pair: Pair, targets: Path, acked: Path, seconds: float) -> list[str]:
    headers = [f"Authorization: {pair.patch_auth}", *ROUTING]
    command = [
        sys.executable, str(HERE / "_load.py"), "patch-status", "--port", str(pair.emsp.port),
        "--seconds", str(seconds), "--warmup", "0", "--connections", str(args.connections),
        "--targets", str(targets), "--acked", str(acked), "--expect", '"status_code":1000',
        *[a for h in headers for a in ("--header", h)],
    ]  # fmt: skip
    if args.rate:
        command += ["--rate", str(args.rate)]
    return command


def slice_(args: argparse.Namespace, pair: Pair, targets: Path, acked: Path) -> dict[str, Any]:
    """One slice: the node served, warmed up, then measured over ``--seconds`` of load."""
    assert pair.emsp.process is not None
    pid = pair.emsp.process.pid
    # warm-up: caches filled, connections pooled, code paths taken once (not measured)
    warm = subprocess.run(
        loader(args, pair, targets, acked, args.warmup), capture_output=True, text=True, check=False
    )
    if warm.returncode != 0:
        raise SystemExit(f"warm-up failed: {warm.stderr[-2000:]}")
    before_load = os.getloadavg()[0]
    counted0 = counters(pair)
    db0 = backends_cpu(pair.emsp.database)
    cpu0, t0 = tree_cpu(pid), time.monotonic()
    done = subprocess.run(
        loader(args, pair, targets, acked, args.seconds), capture_output=True, text=True, check=False
    )
    cpu, elapsed = tree_cpu(pid) - cpu0, time.monotonic() - t0
    # (a backend that ended meanwhile is missed: the node keeps its connections, so few do)
    db_cpu = sum(cpu - db0.get(p, 0.0) for p, cpu in backends_cpu(pair.emsp.database).items())
    counted = {name: value - counted0[name] for name, value in counters(pair).items()}
    count = counted["patches"]
    if done.returncode != 0:
        raise SystemExit(f"load failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    if result["errors"]:
        raise SystemExit(f"{pair.kind}: {result['errors']} errors, first: {result['first_error']}")
    return {
        "patches": int(count),
        "cpu_s": round(cpu, 4),
        "elapsed_s": round(elapsed, 3),
        "cpu_ms_per_patch": round(1000 * cpu / count, 4) if count else None,
        "patches_per_s": round(count / elapsed, 1),
        "cpu_percent": round(100 * cpu / elapsed, 1),
        "db_cpu_s": round(db_cpu, 4),
        "db_cpu_ms_per_patch": round(1000 * db_cpu / count, 4) if count else None,
        "latency_ms": result["latency_ms"],
        "loadavg_before": round(before_load, 2),
        "pg_groups": int(counted["pg_groups"]),
        "pg_units_per_group": round(counted["pg_units"] / counted["pg_groups"], 2)
        if counted["pg_groups"]
        else None,
        "pg_units_left": int(counted["pg_units_left"]),
    }


def profile(args: argparse.Namespace, pair: Pair, targets: Path, acked: Path) -> dict[str, Any]:
    """A slice under py-spy: the collapsed stacks of the node's processes, and the top functions."""
    assert pair.emsp.process is not None
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        raise SystemExit("--profile needs py-spy (.venv/bin/pip install py-spy)")
    out = RESULTS.with_name(f"patch_cpu-{pair.kind}.folded")
    pids = [p for p in tree(pair.emsp.process.pid) if b"resource_tracker" not in _cmdline(p)]
    worker = pids[-1]  # one worker: the serving process itself (more: the last worker started)
    record = subprocess.Popen(
        [spy, "record", "--pid", str(worker), "--format", "raw", "--output", str(out), "--rate", "250",
         "--duration", str(int(args.seconds)), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(0.5)
    done = subprocess.run(
        loader(args, pair, targets, acked, args.seconds), capture_output=True, text=True, check=False
    )
    _, err = record.communicate(timeout=args.seconds + 60)
    if done.returncode != 0 or record.returncode != 0 or not out.exists():
        raise SystemExit(f"profile failed: {err[-2000:]} {done.stderr[-2000:]}")
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():  # not a stack line
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    return {
        "file": out.name,
        "samples": total,
        "own": [(f, round(100 * n / total, 1)) for f, n in own.most_common(args.top)],
        "inclusive": [(f, round(100 * n / total, 1)) for f, n in inclusive.most_common(args.top)],
    }


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def run(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    run_id = f"cpu{os.getpid()}"
    locations = generate(args.locations, root / "locations.json")
    shared = [loc for loc in locations if loc["publish"] or loc.get("publish_allowed_to")]
    pairs: dict[str, Pair] = {}
    try:
        for kind in KINDS:
            pairs[kind] = Pair(kind, root, root / "locations.json", args.locations, run_id)
        slices: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
        profiles: dict[str, Any] = {}
        checked: dict[str, int] = dict.fromkeys(KINDS, 0)
        for round_number in range(args.rounds + (1 if args.profile else 0)):
            for kind in KINDS:
                pair = pairs[kind]
                targets = root / f"targets-{kind}.json"
                targets.write_text(
                    json.dumps(
                        [
                            f"{pair.receiver_path}/NL/CPO/{loc['id']}/{evse['uid']}"
                            for loc in shared
                            for evse in loc["evses"]
                        ]
                    )
                )
                acked = root / f"acked-{kind}-{round_number}.json"
                pair.emsp.serve(args.workers if kind == "postgresql" else 1)
                try:
                    if round_number < args.rounds:
                        slices[kind].append(slice_(args, pair, targets, acked))
                    else:
                        profiles[kind] = profile(args, pair, targets, acked)
                finally:
                    pair.emsp.stop()
                acknowledged = json.loads(acked.read_text())
                good = persisted(pair.emsp, acknowledged, pair.receiver_path)
                if good != len(acknowledged):
                    raise SystemExit(f"{kind}: {len(acknowledged) - good} acknowledged PATCHes not persisted")
                checked[kind] += good
        stale = {
            kind: pair.emsp.cli("locations", "stats")["stale_updates_ignored"]["total"]
            for kind, pair in pairs.items()
        }
        if any(stale.values()):
            raise SystemExit(f"PATCHes ignored as stale: {stale}")
    finally:
        for pair in pairs.values():
            pair.stop()
            for node in (pair.cpo, pair.emsp):
                if node.database is not None and not args.keep:
                    subprocess.run(
                        ["dropdb", "-h", "127.0.0.1", "-U", "root", "--if-exists", node.database], check=False
                    )
    summary: dict[str, Any] = {}
    for kind, runs in slices.items():
        patches = sum(r["patches"] for r in runs)
        cpu = sum(r["cpu_s"] for r in runs)
        elapsed = sum(r["elapsed_s"] for r in runs)
        db_cpu = sum(r["db_cpu_s"] for r in runs)
        summary[kind] = {
            "patches": patches,
            "cpu_ms_per_patch": round(1000 * cpu / patches, 4),
            "db_cpu_ms_per_patch": round(1000 * db_cpu / patches, 4),
            "cpu_ms_per_patch_by_round": [r["cpu_ms_per_patch"] for r in runs],
            "patches_per_s": round(patches / elapsed, 1),
            "cpu_percent": round(100 * cpu / elapsed, 1),
            "persisted_checked": checked[kind],
            "pg_units_per_group": round(patches / groups, 2)
            if (groups := sum(r["pg_groups"] for r in runs))
            else None,
            "pg_units_left": sum(r["pg_units_left"] for r in runs),
            "rounds": runs,
        }
    ratio = summary["postgresql"]["cpu_ms_per_patch"] / summary["sqlite"]["cpu_ms_per_patch"]
    return {"databases": summary, "pg_over_sqlite_cpu_per_patch": round(ratio, 3), "profiles": profiles}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/patch_cpu.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="open loop at this many PATCHes/s (0: closed)"
    )
    parser.add_argument("--locations", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="PostgreSQL's (SQLite serves with one)")
    parser.add_argument("--profile", action="store_true", help="one more slice per database under py-spy")
    parser.add_argument("--top", type=int, default=25, help="--profile: functions listed")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="evroam-bench-patch-cpu-"))
    started = machine_load()
    try:
        measured = run(args, root)
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "keep")},
        "machine_at_start": started,
        "machine_at_end": machine_load(),
        **measured,
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


def report(result: dict[str, Any]) -> str:
    lines = [
        f"bench/patch_cpu.py on {result['machine']['cpus']} cores, "
        f"load {result['machine_at_start']['loadavg']} -> {result['machine_at_end']['loadavg']}"
    ]
    for kind, figures in result["databases"].items():
        lines.append(
            f"  {kind:<10} {figures['cpu_ms_per_patch']:.3f} ms CPU/PATCH "
            f"(rounds {', '.join(f'{v:.3f}' for v in figures['cpu_ms_per_patch_by_round'])}); "
            f"{figures['patches_per_s']:,.0f} PATCH/s at {figures['cpu_percent']} % CPU; "
            f"{figures['patches']:,} PATCHes, {figures['persisted_checked']:,} acknowledged ones checked"
        )
        if figures["pg_units_per_group"] is not None:
            lines.append(
                f"  {'':<10} + {figures['db_cpu_ms_per_patch']:.3f} ms CPU/PATCH in the PostgreSQL server; "
                f"{figures['pg_units_per_group']} units per group commit, "
                f"{figures['pg_units_left']:,} units left their group"
            )
    lines.append(f"  PostgreSQL / SQLite CPU per PATCH: {result['pg_over_sqlite_cpu_per_patch']:.2f}")
    for kind, prof in result["profiles"].items():
        lines.append(f"  profile {kind} ({prof['samples']} samples, bench/results/{prof['file']}):")
        lines.append("    own time:")
        lines.extend(f"      {share:5.1f} %  {frame}" for frame, share in prof["own"])
        lines.append("    inclusive:")
        lines.extend(f"      {share:5.1f} %  {frame}" for frame, share in prof["inclusive"])
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
