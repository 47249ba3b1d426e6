"""Benchmark of scale-out: several worker processes on PostgreSQL, a soak, and a CPO with 100,000 locations.

    .venv/bin/python bench/scale.py [--quick] [--seconds 10] [--locations 2000] [--soak-seconds 600]
                                    [--soak-rate 300] [--big 100000] [--skip-big] [--keep] [--json]

Everything runs over real sockets, with the load from a separate process (``bench/_load.py``: asyncio,
raw sockets, keep-alive connections), on this machine (2 cores: the load generator, the node's workers
and PostgreSQL share them). Both databases in one run:

1. **throughput**: for SQLite with one worker, then PostgreSQL with one and with two worker processes
   (``evroam serve --workers N``), a CPO node holding ``--locations`` generated locations and an eMSP
   node that pulled them (``evroam sync locations``): the CPO's middle Sender page
   (``GET /ocpi/2.2.1/sender/locations?offset=..&limit=100``, the eMSP's real token) and the eMSP's
   Receiver PATCH of EVSE statuses (a different EVSE each time, the CPO's real token), each for
   ``--seconds`` after a warm-up, the configurations taking turns in ``--rounds`` slices so that the
   machine's other load weighs on all alike. Each acknowledged PATCH is checked in the database
   afterwards. Targets: two workers >= 1.5x one on the page; PostgreSQL PATCH >= 60 % of SQLite's.
2. **soak**: PATCH at ``--soak-rate`` per second, open loop (latency counted from when each request was
   due), for ``--soak-seconds`` on PostgreSQL with two workers; the RSS of the node's processes sampled
   every few seconds. Targets: p99 < 50 ms, RSS growth (last sample against the first after the first
   tenth of the run) < 10 %.
3. **big**: ``--big`` generated locations (about 250,000 EVSEs) imported into a CPO (SQLite) with
   ``evroam locations import`` (its peak RSS and time), served, and pulled whole by a partner
   (``limit=500`` pages following ``Link``); then the serving process's RSS. Target: < 150 MB.

``--quick``: 3 s per throughput run, a 20 s soak, 10,000 locations for the big part (a smoke test).
The load average before each run is recorded with it (other work on the machine lowers the rates).
Writes ``bench/results/scale.json``.
"""

from __future__ import annotations

import argparse
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

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench import (  # noqa: E402  (bench/_bench.py, beside this file)
    EMSP_NAME,
    LIST_PATH,
    REPO,
    ROUTING,
    Node,
    generate,
    init_pair,
    load,
    machine_load,
    merge,
    persisted,
    register_pair,
    status_kb,
    tree_cpu,
    tree_rss_mb,
)

RESULTS = HERE / "results" / "scale.json"
WORKERS_TARGET = 1.5
PG_PATCH_TARGET = 0.60
SOAK_P99_MS = 50.0
SOAK_RSS_GROWTH = 0.10
BIG_RSS_MB = 150.0
METRICS_TOKEN = "bench-scale-metrics"


class Pair:
    """A CPO holding the generated locations and an eMSP that pulled them, on one kind of database."""

    def __init__(self, kind: str, root: Path, locations_file: Path, count: int, run_id: str) -> None:
        self.kind = kind
        pg = kind == "postgresql"
        self.cpo = Node(f"{kind}-cpo", root, f"evroam_scale_{run_id}_cpo" if pg else None)
        self.emsp = Node(
            f"{kind}-emsp",
            root,
            f"evroam_scale_{run_id}_emsp" if pg else None,
            env={"EVROAM_METRICS_TOKEN": METRICS_TOKEN},
        )
        cpo, emsp = self.cpo, self.emsp
        init_pair(cpo, emsp)
        imported = cpo.cli("locations", "import", str(locations_file))
        assert len(imported["created"]) == count, imported
        cpo.serve()
        emsp.serve()
        register_pair(cpo, emsp)
        synced = emsp.cli("sync", "locations", "--partner", "cpo")
        self.synced = synced["fetched"]
        self.page_auth = emsp.authorization("cpo")
        self.patch_auth = cpo.authorization("emsp")
        self.receiver_path = cpo.receiver_path("emsp")
        cpo.stop()
        emsp.stop()

    def serve(self, workers: int) -> None:
        self.cpo.serve(workers)
        self.emsp.serve(workers)

    def stop(self) -> None:
        self.cpo.stop()
        self.emsp.stop()


def throughput(args: argparse.Namespace, root: Path, run_id: str) -> dict[str, Any]:
    locations_file = root / "locations.json"
    locations = generate(args.locations, locations_file)
    shared = [loc for loc in locations if loc["publish"] or loc.get("publish_allowed_to")]
    pairs = {
        kind: Pair(kind, root, locations_file, args.locations, run_id) for kind in ("sqlite", "postgresql")
    }
    configs = [("sqlite", 1), ("postgresql", 1), ("postgresql", 2)]
    page_path = f"{LIST_PATH}?offset={args.locations // 2}&limit=100"
    expect = ["--expect", '"status_code":1000']
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        f"{k}-{w}": {"page": [], "patch": []} for k, w in configs
    }
    persisted_counts: dict[str, list[int]] = {name: [] for name in runs}
    try:
        for round_number in range(args.rounds):
            for kind, workers in configs:
                name = f"{kind}-{workers}"
                pair = pairs[kind]
                pair.serve(workers)
                try:
                    assert pair.cpo.process is not None and pair.emsp.process is not None
                    auth = pair.page_auth
                    answer = httpx.get(
                        pair.cpo.url + page_path,
                        headers={"Authorization": auth, "X-Request-ID": "b", "X-Correlation-ID": "b"},
                        timeout=30,
                    )
                    assert answer.status_code == 200 and len(answer.json()["data"]) == 100, answer.text[:300]
                    headers = [f"Authorization: {auth}", "X-Request-ID: bench", "X-Correlation-ID: bench"]
                    runs[name]["page"].append(
                        load(
                            "get",
                            pair.cpo.port,
                            "--path",
                            page_path,
                            *[a for h in headers for a in ("--header", h)],
                            *expect,
                            server=pair.cpo.process.pid,
                            seconds=args.seconds,
                            warmup=args.warmup,
                            connections=args.connections,
                        )
                    )
                    # each round PATCHes a newer timestamp, so every PATCH is a change
                    targets = [
                        f"{pair.receiver_path}/NL/CPO/{loc['id']}/{evse['uid']}"
                        for loc in shared
                        for evse in loc["evses"]
                    ]
                    (root / "targets.json").write_text(json.dumps(targets))
                    acked_file = root / f"acked-{name}-{round_number}.json"
                    patch_headers = [f"Authorization: {pair.patch_auth}", *ROUTING]
                    runs[name]["patch"].append(
                        load(
                            "patch-status",
                            pair.emsp.port,
                            "--targets",
                            str(root / "targets.json"),
                            "--acked",
                            str(acked_file),
                            *[a for h in patch_headers for a in ("--header", h)],
                            *expect,
                            server=pair.emsp.process.pid,
                            seconds=args.seconds,
                            warmup=args.warmup,
                            connections=args.connections,
                        )
                    )
                finally:
                    pair.stop()
                acked = json.loads(acked_file.read_text())
                good = persisted(pair.emsp, acked, pair.receiver_path)
                persisted_counts[name].append(good)
                if good != len(acked):
                    raise SystemExit(f"{name}: {len(acked) - good} acknowledged PATCHes not persisted")
        stale = {
            kind: pair.emsp.cli("locations", "stats")["stale_updates_ignored"]["total"]
            for kind, pair in pairs.items()
        }
        if any(stale.values()):
            raise SystemExit(f"PATCHes ignored as stale: {stale}")
    finally:
        for pair in pairs.values():
            pair.stop()
    merged = {name: {part: merge(r) for part, r in parts.items()} for name, parts in runs.items()}
    for name, counts in persisted_counts.items():
        merged[name]["patch"]["persisted_evses_checked"] = sum(counts)
    page_ratio = (
        merged["postgresql-2"]["page"]["requests_per_s"] / merged["postgresql-1"]["page"]["requests_per_s"]
    )
    patch_1 = (
        merged["postgresql-1"]["patch"]["requests_per_s"] / merged["sqlite-1"]["patch"]["requests_per_s"]
    )
    patch_2 = (
        merged["postgresql-2"]["patch"]["requests_per_s"] / merged["sqlite-1"]["patch"]["requests_per_s"]
    )
    return {
        "locations": args.locations,
        "evses_patched": sum(len(loc["evses"]) for loc in shared),
        "configs": merged,
        "page_2_workers_over_1": round(page_ratio, 3),
        "pg_patch_1_worker_over_sqlite": round(patch_1, 3),
        "pg_patch_2_workers_over_sqlite": round(patch_2, 3),
        "targets": {
            "page_2_workers_over_1": WORKERS_TARGET,
            "pg_patch_over_sqlite": PG_PATCH_TARGET,
            "page_met": page_ratio >= WORKERS_TARGET,
            "pg_patch_1_worker_met": patch_1 >= PG_PATCH_TARGET,
            "pg_patch_2_workers_met": patch_2 >= PG_PATCH_TARGET,
        },
        "_pairs": pairs,
    }


# -- 2. soak ------------------------------------------------------------------------------------------


def soak(args: argparse.Namespace, root: Path, pair: Pair, locations: list[dict[str, Any]]) -> dict[str, Any]:
    shared = [loc for loc in locations if loc["publish"] or loc.get("publish_allowed_to")]
    targets = [
        f"{pair.receiver_path}/NL/CPO/{loc['id']}/{evse['uid']}" for loc in shared for evse in loc["evses"]
    ]
    (root / "soak-targets.json").write_text(json.dumps(targets))
    headers = [f"Authorization: {pair.patch_auth}", *ROUTING]
    pair.emsp.serve(2)
    assert pair.emsp.process is not None
    pid = pair.emsp.process.pid
    samples: list[tuple[float, float]] = []
    try:
        command = [
            sys.executable, str(HERE / "_load.py"), "patch-status", "--port", str(pair.emsp.port),
            "--seconds", str(args.soak_seconds), "--warmup", "2", "--connections", "32",
            "--rate", str(args.soak_rate), "--targets", str(root / "soak-targets.json"),
            *[a for h in headers for a in ("--header", h)], "--expect", '"status_code":1000',
        ]  # fmt: skip
        before = machine_load()
        metrics_before = scrape(pair.emsp)
        started = time.monotonic()
        cpu0 = tree_cpu(pid)
        loader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        every = max(1.0, args.soak_seconds / 120)
        loads: list[float] = []
        while loader.poll() is None:
            time.sleep(every)
            samples.append((round(time.monotonic() - started, 1), tree_rss_mb(pid)))
            loads.append(round(os.getloadavg()[0], 2))
        out, err = loader.communicate()
        cpu = tree_cpu(pid) - cpu0
        if loader.returncode != 0:
            raise SystemExit(f"soak load failed: {err[-2000:]}")
        result: dict[str, Any] = json.loads(out)
        metrics = delta(scrape(pair.emsp), metrics_before)
    finally:
        pair.emsp.stop()
    warm = [rss for at, rss in samples if at >= 2 + args.soak_seconds / 10]
    first, last = (warm[0], warm[-1]) if warm else (samples[0][1], samples[-1][1])
    growth = last / first - 1
    return {
        "database": "postgresql",
        "workers": 2,
        "rate": args.soak_rate,
        "seconds": result["seconds"],
        "requests": result["requests"],
        "achieved_per_s": result["requests_per_s"],
        "errors": result["errors"],
        "latency_ms": result["latency_ms"],
        "server_cpu_percent": round(100 * cpu / (time.monotonic() - started), 1),
        "rss_mb_first_after_warmup": first,
        "rss_mb_last": last,
        "rss_growth": round(growth, 4),
        "rss_samples": samples,
        "loadavg_samples": loads,
        "machine_before": before,
        "tail": explain_tail(result.get("per_second", []), metrics, loads, every),
        "per_second": result.get("per_second", []),
        "targets": {
            "p99_ms": SOAK_P99_MS,
            "rss_growth": SOAK_RSS_GROWTH,
            "p99_met": result["latency_ms"]["p99"] < SOAK_P99_MS and result["errors"] == 0,
            "rss_met": growth < SOAK_RSS_GROWTH,
        },
    }


def scrape(node: Node) -> dict[str, float]:
    """The node's ``/metrics`` (any worker answers for all of them) as ``{"name{labels}": value}``."""
    answer = httpx.get(
        f"{node.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
    )
    answer.raise_for_status()
    values: dict[str, float] = {}
    for line in answer.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = values.get(name, 0.0) + float(value)
    return values


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {name: value - before.get(name, 0.0) for name, value in after.items()}


def quantile(metrics: dict[str, float], metric: str, q: float, where: str = "") -> float | None:
    """The upper bound of the histogram bucket holding quantile ``q`` (of the samples labelled ``where``)."""
    buckets: dict[float, float] = {}
    for name, value in metrics.items():
        if name.startswith(metric + "_bucket{") and where in name:
            bound = name.split('le="', 1)[1].split('"', 1)[0]
            le = float("inf") if bound == "+Inf" else float(bound)
            buckets[le] = buckets.get(le, 0.0) + value
    total = buckets.get(float("inf"), 0.0)
    if not total:
        return None
    for le in sorted(buckets):
        if buckets[le] >= q * total:
            return le
    return None


def explain_tail(
    per_second: list[list[float]], metrics: dict[str, float], loads: list[float], every: float
) -> dict[str, Any]:
    """What the soak's tail came from: when (the loader's seconds over the target: a stall is a few,
    a backlog many in a row), whether the node itself was slow (its own PATCH durations) or the
    requests waited before it, and its PostgreSQL groups (size, time held, units that left them)."""
    over = [row for row in per_second if row[3] >= SOAK_P99_MS]
    longest = run = 0
    previous = None
    for row in over:
        run = run + 1 if previous is not None and row[0] == previous + 1 else 1
        longest, previous = max(longest, run), row[0]
    where = 'module="locations"'
    groups = sum(v for n, v in metrics.items() if n.startswith("evroam_pg_group_units_count"))
    units = sum(v for n, v in metrics.items() if n.startswith("evroam_pg_group_units_sum"))
    first_over = over[0][0] if over else None
    return {
        "seconds_over_p99_target": len(over),
        "longest_run_of_seconds_over": longest,
        "first_second_over": first_over,
        "loadavg_then": loads[min(len(loads) - 1, int(first_over / every))] if over and loads else None,
        "worst_seconds": sorted(per_second, key=lambda row: -row[3])[:5],
        "server_patch_ms": {
            q: None
            if (b := quantile(metrics, "evroam_http_request_duration_seconds", p, where)) is None
            else b * 1000
            for q, p in (("p50_le", 0.5), ("p99_le", 0.99))
        },
        "pg_groups": int(groups),
        "pg_units_per_group": round(units / groups, 2) if groups else None,
        "pg_group_units_p99_le": quantile(metrics, "evroam_pg_group_units", 0.99),
        "pg_group_ms_p99_le": None
        if (b := quantile(metrics, "evroam_pg_group_seconds", 0.99)) is None
        else b * 1000,
        "pg_units_left": int(
            sum(v for n, v in metrics.items() if n.startswith("evroam_pg_units_left_total"))
        ),
    }


# -- 3. big -------------------------------------------------------------------------------------------


def peak_rss_of(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``command`` in a fresh wrapper; its peak RSS (MB, ``ru_maxrss`` of the child), its time (s)
    and its output."""
    wrapper = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.monotonic()\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "elapsed = time.monotonic() - t\n"
        "sys.stderr.write(done.stderr)\n"
        "print(json.dumps([resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, elapsed, done.returncode,"
        " done.stdout[-2000:]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, *command],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
    )
    peak_kb, elapsed, code, out = json.loads(done.stdout)
    if code != 0:
        raise SystemExit(f"{' '.join(command[-4:])} failed: {done.stderr[-2000:]}")
    return round(peak_kb / 1024, 1), round(elapsed, 2), out


def big(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from tests.integration.locations_data import generate_locations

    path = root / "big.json"
    t0 = time.monotonic()
    with path.open("w") as out:  # written in slices: this process need not hold the whole file
        out.write("[")
        step = 5000
        evses = 0
        for first in range(0, args.big, step):
            chunk = generate_locations(
                min(step, args.big - first), seed=10_000 + first, allowed_issuer=EMSP_NAME
            )
            for n, loc in enumerate(chunk):
                loc["id"] = f"B{first + n:07d}"
                for evse in loc["evses"]:
                    evse["uid"] = f"B{first + n:07d}-{evse['uid']}"
                evses += len(loc["evses"])
            if first:
                out.write(",")
            out.write(json.dumps(chunk)[1:-1])
        out.write("]")
    generated_s = round(time.monotonic() - t0, 1)
    size_mb = round(path.stat().st_size / 1e6, 1)
    cpo = Node("big-cpo", root, None)
    emsp = Node("big-emsp", root, None)
    init_pair(cpo, emsp)
    before_import = machine_load()
    peak, import_s, out = peak_rss_of([*cpo.command("locations", "import", str(path))], cpo.env)
    created = int(out.strip().split(" created")[0].split()[-1])  # "N created, ..."
    if created != args.big:
        raise SystemExit(f"the import created {created} locations, not {args.big}")
    try:
        cpo.serve()
        emsp.serve()
        register_pair(cpo, emsp)
        emsp.stop()
        auth = emsp.authorization("cpo")
        assert cpo.process is not None
        rss_before = status_kb(cpo.process.pid, "VmRSS") / 1024
        before_pull = machine_load()
        t1 = time.monotonic()
        url: str | None = f"{cpo.url}{LIST_PATH}?limit=500"
        pulled = pages = 0
        total = None
        with httpx.Client(timeout=60, headers={"Authorization": auth}) as client:
            while url:
                answer = client.get(url, headers={"X-Request-ID": f"p{pages}", "X-Correlation-ID": "pull"})
                assert answer.status_code == 200, answer.text[:300]
                pulled += len(answer.json()["data"])
                total = int(answer.headers["X-Total-Count"])
                pages += 1
                link = answer.headers.get("Link")
                url = link.split(">")[0].lstrip("<") if link and 'rel="next"' in link else None
        pull_s = round(time.monotonic() - t1, 1)
        rss_after = status_kb(cpo.process.pid, "VmRSS") / 1024
        hwm = status_kb(cpo.process.pid, "VmHWM") / 1024
    finally:
        cpo.stop()
        emsp.stop()
    return {
        "locations": args.big,
        "evses": evses,
        "file_mb": size_mb,
        "generated_s": generated_s,
        "import_peak_rss_mb": peak,
        "import_s": import_s,
        "import_machine_before": before_import,
        "created": created,
        "pulled": pulled,
        "total_count_header": total,
        "pages": pages,
        "pull_s": pull_s,
        "pull_machine_before": before_pull,
        "serve_rss_mb_before_pull": round(rss_before, 1),
        "serve_rss_mb_after_full_pull": round(rss_after, 1),
        "serve_peak_rss_mb": round(hwm, 1),
        "targets": {"serve_rss_mb": BIG_RSS_MB, "serve_rss_met": rss_after < BIG_RSS_MB and hwm < BIG_RSS_MB},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/scale.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (~2 min)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--locations", type=int, default=2000)
    parser.add_argument("--soak-seconds", type=float, default=600.0)
    parser.add_argument("--soak-rate", type=float, default=300.0)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--skip-soak", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.soak_seconds, args.big = 3.0, 1, 20.0, 10_000
    root = Path(tempfile.mkdtemp(prefix="evroam-bench-scale-"))
    run_id = str(os.getpid())
    result: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "keep")},
        "machine_at_start": machine_load(),
    }
    pairs: dict[str, Pair] = {}
    try:
        if not (args.skip_throughput and args.skip_soak):
            part = throughput(args, root, run_id) if not args.skip_throughput else None
            if part is not None:
                pairs = part.pop("_pairs")
                result["throughput"] = part
            if not args.skip_soak:
                if not pairs:
                    generate(args.locations, root / "locations.json")
                    pairs = {
                        "postgresql": Pair(
                            "postgresql", root, root / "locations.json", args.locations, run_id
                        )
                    }
                locations = json.loads((root / "locations.json").read_text())
                result["soak"] = soak(args, root, pairs["postgresql"], locations)
        if not args.skip_big:
            result["big"] = big(args, root)
    finally:
        for pair in pairs.values():
            pair.stop()
            for node in (pair.cpo, pair.emsp):
                if node.database is not None and not args.keep:
                    subprocess.run(
                        ["dropdb", "-h", "127.0.0.1", "-U", "root", "--if-exists", node.database], check=False
                    )
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    result["machine_at_end"] = machine_load()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    name = RESULTS if not args.quick else RESULTS.with_name("scale-quick.json")
    name.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


def report(result: dict[str, Any]) -> str:
    lines = [
        f"bench/scale.py on {result['machine']['cpus']} cores, "
        f"load at start {result['machine_at_start']['loadavg']}"
    ]
    t = result.get("throughput")
    if t:
        for name, parts in t["configs"].items():
            for part in ("page", "patch"):
                r = parts[part]
                lines.append(
                    f"  {name:<13} {part:<5} {r['requests_per_s']:>8.1f}/s  "
                    f"p50 {r['latency_ms']['p50']:.2f} ms  p99 {r['latency_ms']['p99']:.2f} ms  "
                    f"server CPU {r['server_cpu_percent_by_round']} %  "
                    f"load before {r['loadavg_before']}"
                )
        lines.append(
            f"  page 2 workers / 1: {t['page_2_workers_over_1']}x (target {WORKERS_TARGET}); "
            f"PostgreSQL PATCH / SQLite: 1 worker {t['pg_patch_1_worker_over_sqlite']}, "
            f"2 workers {t['pg_patch_2_workers_over_sqlite']} (target {PG_PATCH_TARGET})"
        )
    s = result.get("soak")
    if s:
        lines.append(
            f"  soak {s['rate']}/s x {s['seconds']} s on PostgreSQL, 2 workers: {s['requests']} PATCHes, "
            f"{s['errors']} errors, p50 {s['latency_ms']['p50']} ms p99 {s['latency_ms']['p99']} ms; RSS "
            f"{s['rss_mb_first_after_warmup']} -> {s['rss_mb_last']} MB ({100 * s['rss_growth']:+.1f} %)"
        )
        tail = s["tail"]
        lines.append(
            f"    tail: {tail['seconds_over_p99_target']} s with p99 >= {SOAK_P99_MS:g} ms (longest run "
            f"{tail['longest_run_of_seconds_over']} s, first at {tail['first_second_over']} s, load "
            f"{tail['loadavg_then']}); node's own PATCH time p50 <= {tail['server_patch_ms']['p50_le']} ms, "
            f"p99 <= {tail['server_patch_ms']['p99_le']} ms; {tail['pg_groups']} PostgreSQL groups of "
            f"{tail['pg_units_per_group']} units on average (p99 <= {tail['pg_group_units_p99_le']}), held "
            f"p99 <= {tail['pg_group_ms_p99_le']} ms; {tail['pg_units_left']} units left their group"
        )
        lines.append(f"    worst seconds [second, requests, p50, p99, max ms]: {tail['worst_seconds']}")
    b = result.get("big")
    if b:
        lines.append(
            f"  big: {b['locations']} locations / {b['evses']} EVSEs ({b['file_mb']} MB): "
            f"import {b['import_s']} s, peak RSS {b['import_peak_rss_mb']} MB; "
            f"full pull of {b['pulled']} in {b['pages']} pages {b['pull_s']} s; "
            f"serving RSS {b['serve_rss_mb_before_pull']} -> {b['serve_rss_mb_after_full_pull']} MB "
            f"(peak {b['serve_peak_rss_mb']} MB)"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
