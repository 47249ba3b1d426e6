"""Benchmark of the hub's forwarding: EVSE status PATCHes CPO -> hub -> eMSP against CPO -> eMSP direct.

    .venv/bin/python bench/hub.py [--seconds 8] [--rounds 2] [--connections 16] [--locations 200] [--json]

Sets up, in a temporary directory, four evroam nodes served by ``evroam serve`` (uvicorn, SQLite) on
127.0.0.1: an eMSP ``DE*MSP``, a CPO ``NL*CPA`` registered with it directly, a hub ``NL*HUB`` and a CPO
``NL*CPB`` registered only with the hub (the eMSP is registered with the hub too). Each CPO imports
``--locations`` generated locations, which the eMSP pulls (``evroam sync locations``: from ``CPA``
directly, from ``CPB`` through the hub). The load generator plays the two CPOs (their real tokens and
routing headers) from a separate process (asyncio, raw sockets, keep-alive connections):

* **direct**: ``PATCH /ocpi/2.2.1/receiver/locations/NL/CPA/{location}/{evse}`` on the eMSP,
  ``OCPI-from NL*CPA``, ``OCPI-to DE*MSP``;
* **hub**: the same PATCH on the hub with ``NL*CPB`` / ``DE*MSP``: the hub authenticates the CPO, routes
  by ``OCPI-to``, forwards the body untouched over its pooled connection to the eMSP with a new
  ``X-Request-ID``, and returns the eMSP's answer as it came.

Every PATCH carries ``{"status", "last_updated": now}`` (a newer change each time, statuses alternating).

1. **throughput**: ``--connections`` closed-loop connections for ``--seconds``, direct and hub taking
   turns for ``--rounds`` rounds (other load on the machine weighs on both alike);
2. **latency**: both at the same fixed offered loads, ``--latency-loads`` fractions of the lower measured
   maximum (the hub's; 25 %, 50 % and 70 % by default), open loop (latency counted from the moment a
   request was due, so queueing shows), p50/p90/p99, and each second's p99 (a stall shows in one second, a
   busy machine in all); ``--latency-rounds`` runs of each side per load, taking turns (direct first in
   even rounds, the hub first in odd ones); a side's p99 is the median of its runs' p99s, the hub's
   addition the difference of the two medians. Each run also records how long each server's event loop
   waited for a CPU (``/proc/PID/schedstat``).

Targets: the hub keeps >= 70 % of the direct throughput and adds <= 5 ms to the p99, read at
``--p99-target-load`` (50 % of the hub's maximum). The other loads are reported beside it: on this 2-core
machine the hub side runs three busy processes (load generator, hub, eMSP) where the direct side runs
two, and the higher the load the more of the hub side's tail is time spent waiting for a CPU rather than
the cost of the hop (the run-queue figures show it). Results (with the load average and each server's
CPU) go to ``bench/results/hub.json``.

``bench/hub.py load ...`` is the load generator alone (used by the benchmark as a subprocess).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "hub.json"
THROUGHPUT_TARGET = 0.70
P99_TARGET_MS = 5.0
STATUSES = ("CHARGING", "AVAILABLE")

sys.path.insert(0, str(HERE))
from _load import Connection, build_request  # noqa: E402

# -- the load generator (a process of its own) ------------------------------------------------------


def _body(n: int) -> bytes:
    stamp = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return json.dumps({"status": STATUSES[n % 2], "last_updated": stamp}).encode()


def _ok(status: int, body: bytes) -> bool:
    return status == 200 and b'"status_code":1000' in body


async def _connect(port: int, count: int) -> list[Connection]:
    loop = asyncio.get_running_loop()
    out = []
    for _ in range(count):
        _, conn = await loop.create_connection(Connection, "127.0.0.1", port)
        out.append(conn)
    return out


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        if not ordered:
            return float("nan")
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 3)

    return {"p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1.0)}


async def closed_loop(
    port: int, paths: list[str], headers: list[str], connections: int, seconds: float, warmup: float
) -> dict[str, Any]:
    conns = await _connect(port, connections)
    counter = iter(range(10**12))
    measuring = False
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + warmup + seconds

    async def drive(conn: Connection) -> None:
        nonlocal errors
        while time.monotonic() < stop_at:
            n = next(counter)
            request = build_request("PATCH", port, paths[n % len(paths)], headers, _body(n // len(paths)))
            began = time.monotonic()
            status, answer = await conn.request(request)
            if not _ok(status, answer):
                errors += 1
                if errors <= 3:
                    print(f"failed: HTTP {status} {answer[:300]!r}", file=sys.stderr)
                if conn.transport is None or conn.transport.is_closing():
                    conn = (await _connect(port, 1))[0]
                continue
            if measuring:
                latencies.append(time.monotonic() - began)

    tasks = [asyncio.create_task(drive(c)) for c in conns]
    await asyncio.sleep(warmup)
    measuring = True
    began = time.monotonic()
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - began
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    return {"requests": len(latencies), "errors": errors, "rps": round(len(latencies) / elapsed, 1)}


async def open_loop(
    port: int, paths: list[str], headers: list[str], rate: float, seconds: float, connections: int
) -> dict[str, Any]:
    conns = await _connect(port, connections)
    free: asyncio.Queue[Connection] = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)
    latencies: list[float] = []
    by_second: dict[int, list[float]] = {}  # by when the requests were due
    errors = 0
    total = int(rate * seconds)
    start = time.monotonic() + 0.2

    async def one(n: int, due: float) -> None:
        nonlocal errors
        conn = await free.get()
        try:
            request = build_request("PATCH", port, paths[n % len(paths)], headers, _body(n // len(paths)))
            status, answer = await conn.request(request)
        finally:
            free.put_nowait(conn)
        latencies.append(time.monotonic() - due)
        by_second.setdefault(int(max(0.0, due - start)), []).append(latencies[-1])
        if not _ok(status, answer):
            errors += 1

    tasks = []
    for n in range(total):
        due = start + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    achieved = total / (time.monotonic() - start)
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    return {
        "offered_rps": round(rate, 1),
        "achieved_rps": round(achieved, 1),
        "requests": total,
        "errors": errors,
        **_percentiles(latencies),
        # each second of the run: [second, requests, p99 ms, max ms] (a stall shows in one or two)
        "per_second": [
            [second, len(values), _percentiles(values)["p99_ms"], _percentiles(values)["max_ms"]]
            for second, values in sorted(by_second.items())
        ],
    }


def load_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/hub.py load")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--targets", type=Path, required=True)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rate", type=float, default=None, help="open loop at this many requests/s")
    args = parser.parse_args(argv)
    paths = json.loads(args.targets.read_text())
    if args.rate is None:
        result = asyncio.run(
            closed_loop(args.port, paths, args.header, args.connections, args.seconds, args.warmup)
        )
    else:
        result = asyncio.run(
            open_loop(args.port, paths, args.header, args.rate, args.seconds, args.connections)
        )
    print(json.dumps(result))
    return 0


# -- the benchmark --------------------------------------------------------------------------------


def _nodes(root: Path) -> dict[str, Any]:
    from locations import Node  # bench/locations.py: an evroam node run through its command line

    return {name: Node(name, root) for name in ("emsp", "cpoa", "hub", "cpob")}


def _init(node: Any, country: str, party: str, role: str) -> None:
    node.cli("init", "--country-code", country, "--party-id", party, "--role", role, "--url", node.url)


def _load(args: argparse.Namespace, side: dict[str, Any], *, rate: float | None = None) -> dict[str, Any]:
    import subprocess

    command = [sys.executable, str(Path(__file__).resolve()), "load", "--port", str(side["port"])]
    command += ["--targets", str(side["targets"]), "--connections", str(args.connections)]
    command += ["--seconds", str(args.seconds)]
    for header in side["headers"]:
        command += ["--header", header]
    if rate is not None:
        command += ["--rate", str(rate), "--connections", "32"]
    before = {name: _cpu(pid) for name, pid in side["pids"].items()}
    waited = {name: _run_queue_wait(pid) for name, pid in side["pids"].items()}
    load_avg = os.getloadavg()[0]
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, cwd=REPO, timeout=3 * args.seconds + 60
    )
    if done.returncode != 0:
        raise SystemExit(f"load generator failed: {done.stderr[-2000:]}")
    if done.stderr.strip():
        print(done.stderr.strip()[-1500:], file=sys.stderr)
    result: dict[str, Any] = json.loads(done.stdout)
    result["server_cpu_s"] = {name: round(_cpu(pid) - before[name], 2) for name, pid in side["pids"].items()}
    # how long each server's event loop was ready to run but waited for a CPU (the run queue)
    result["server_run_queue_wait_s"] = {
        name: round(_run_queue_wait(pid) - waited[name], 3) for name, pid in side["pids"].items()
    }
    result["load_avg_1m_before"] = round(load_avg, 2)
    return result


def _try_cli(node: Any, *args: str) -> dict[str, Any]:
    """``evroam ARGS --json`` on the node: what it printed, also when it failed."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "evroam", "--data-dir", str(node.data_dir), *args, "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    try:
        out: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        out = {"error": done.stderr[-500:]}
    return out


def _preflight(port: int, path: str, headers: list[str], name: str) -> None:
    """One PATCH before the load: it must succeed, else the benchmark would measure errors."""
    import httpx

    sent = dict(h.split(": ", 1) for h in headers)
    answer = httpx.patch(f"http://127.0.0.1:{port}{path}", headers=sent, content=_body(0), timeout=10)
    if not _ok(answer.status_code, answer.content.replace(b'": ', b'":')):
        raise SystemExit(f"{name}: the first PATCH failed: HTTP {answer.status_code} {answer.text[:500]}")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_queue_wait(pid: int) -> float:
    """Seconds the main thread of ``pid`` (a server's event loop) has spent runnable but waiting for a
    CPU (``/proc/PID/schedstat``, second field; 0 where the kernel does not keep it)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def bench(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from tests.integration.locations_data import generate_locations

    root = Path(tempfile.mkdtemp(prefix="evroam-bench-hub-"))
    nodes = _nodes(root)
    emsp, cpoa, hub, cpob = nodes["emsp"], nodes["cpoa"], nodes["hub"], nodes["cpob"]
    os.environ["EVROAM_HUB_TICK"] = "5"  # liveness rounds stay out of the way
    os.environ["EVROAM_INIT_OCPI_VERSION"] = "2.2.1"  # the hub role as OCPI 2.2.1 defines it
    # every client here is 127.0.0.1 (the load generator, the hub's pool towards the eMSP): no
    # per-address cap, as behind a reverse proxy
    os.environ["EVROAM_MAX_CONNECTIONS_PER_CLIENT"] = "0"
    try:
        _init(emsp, "DE", "MSP", "EMSP")
        _init(cpoa, "NL", "CPA", "CPO")
        _init(hub, "NL", "HUB", "HUB")
        _init(cpob, "NL", "CPB", "CPO")
        targets: dict[str, list[str]] = {}
        for node, party in ((cpoa, "CPA"), (cpob, "CPB")):
            locations = generate_locations(args.locations, seed=7, country_code="NL", party_id=party)
            for location in locations:
                location["publish"] = True
                location.pop("publish_allowed_to", None)
            path = root / f"{party}.json"
            path.write_text(json.dumps(locations))
            node.cli("locations", "import", str(path))
            targets[party] = [
                f"/ocpi/2.2.1/receiver/locations/NL/{party}/{loc['id']}/{loc['evses'][0]['uid']}"
                for loc in locations
                if loc["evses"]
            ]
        for node in nodes.values():
            node.serve()
        invitation = cpoa.cli("partners", "invite", "emsp")
        url = f"{cpoa.url}/ocpi/versions"
        emsp.cli(
            "partners", "register", "--versions-url", url, "--token", invitation["token"], "--name", "cpoa"
        )
        for name, node in (("emsp", emsp), ("cpob", cpob)):
            invitation = hub.cli("partners", "invite", name)
            url = f"{hub.url}/ocpi/versions"
            node.cli(
                "partners", "register", "--versions-url", url, "--token", invitation["token"], "--name", "hub"
            )
        deadline = time.monotonic() + 90
        while True:  # the hub's ClientInfo tells the eMSP that NL*CPB is behind it
            pulled = _try_cli(emsp, "sync", "locations", "--partner", "hub", "--full")
            if pulled.get("created", 0) + pulled.get("updated", 0) + pulled.get("unchanged", 0) >= len(
                targets["CPB"]
            ):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"the eMSP could not pull CPB's locations through the hub: {pulled}")
            # a party may have registered before the hub listed the other one as connected: both pull
            # the hub's list again
            for party_node in (emsp, cpob):
                _try_cli(party_node, "sync", "hubclientinfo", "--partner", "hub")
            time.sleep(1)
        direct_pulled = emsp.cli("sync", "locations", "--partner", "cpoa")
        assert direct_pulled["refused"] == 0, direct_pulled
        sides: dict[str, dict[str, Any]] = {}
        for name, node, party, port, token_of in (
            ("direct", cpoa, "CPA", emsp.port, "emsp"),
            ("hub", cpob, "CPB", hub.port, "hub"),
        ):
            path = root / f"targets-{name}.json"
            path.write_text(json.dumps(targets[party]))
            headers = [
                f"Authorization: {node.authorization(token_of)}",
                "OCPI-from-country-code: NL",
                f"OCPI-from-party-id: {party}",
                "OCPI-to-country-code: DE",
                "OCPI-to-party-id: MSP",
                "X-Request-ID: bench-request",
                "X-Correlation-ID: bench-correlation",
            ]
            pids = {"emsp": emsp.process.pid}
            if name == "hub":
                pids["hub"] = hub.process.pid
            sides[name] = {"port": port, "targets": path, "headers": headers, "pids": pids}
            _preflight(port, targets[party][0], headers, name)

        throughput: dict[str, list[dict[str, Any]]] = {"direct": [], "hub": []}
        for _ in range(args.rounds):
            for name in ("direct", "hub"):
                throughput[name].append(_load(args, sides[name]))
        best = {name: max(r["rps"] for r in runs) for name, runs in throughput.items()}
        latency: dict[str, dict[str, Any]] = {}
        for fraction in args.latency_loads:
            rate = round(fraction * min(best.values()), 1)
            runs: dict[str, list[dict[str, Any]]] = {"direct": [], "hub": []}
            for n in range(args.latency_rounds):
                for name in ("direct", "hub") if n % 2 == 0 else ("hub", "direct"):
                    runs[name].append(_load(args, sides[name], rate=rate))
            medians = {name: statistics.median(r["p99_ms"] for r in runs[name]) for name in runs}
            latency[f"{fraction:g}"] = {
                "offered_rps": rate,
                "runs": runs,
                "p99_median_ms": medians,
                "hub_added_p99_ms": round(medians["hub"] - medians["direct"], 3),
            }
        ratio = best["hub"] / best["direct"]
        target_load = f"{args.p99_target_load:g}"
        added = latency[target_load]["hub_added_p99_ms"]
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_avg_1m_5m_15m_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            "settings": {
                "seconds": args.seconds,
                "rounds": args.rounds,
                "connections": args.connections,
                "locations_per_cpo": args.locations,
                "open_loop_connections": 32,
            },
            "throughput": throughput,
            "max_rps": best,
            "hub_to_direct_throughput": round(ratio, 3),
            "latency_at_fixed_loads": latency,
            "p99_target_load": float(target_load),
            "latency_rounds": args.latency_rounds,
            "hub_added_p99_ms": round(added, 3),
            "targets": {"throughput_ratio": THROUGHPUT_TARGET, "added_p99_ms": P99_TARGET_MS},
            "met": {"throughput": ratio >= THROUGHPUT_TARGET, "p99": added <= P99_TARGET_MS},
        }
    finally:
        from locations import stop

        for node in nodes.values():
            stop(node.process)
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def report(result: dict[str, Any]) -> str:
    lines = [
        f"max throughput   direct {result['max_rps']['direct']:>8.1f} PATCH/s   "
        f"hub {result['max_rps']['hub']:>8.1f} PATCH/s   ratio {result['hub_to_direct_throughput']:.2f} "
        f"(target >= {THROUGHPUT_TARGET:.2f}: {'met' if result['met']['throughput'] else 'MISSED'})",
    ]
    for fraction, lat in result["latency_at_fixed_loads"].items():
        lines.append(
            f"at {lat['offered_rps']} PATCH/s offered ({float(fraction) * 100:.0f} % of the hub's max), "
            f"{result['latency_rounds']} run(s) each:"
        )
        for name in ("direct", "hub"):
            p99s = ", ".join(f"{r['p99_ms']:.2f}" for r in lat["runs"][name])
            last = lat["runs"][name][-1]
            waits = ", ".join(f"{who} {s:.2f}" for who, s in last["server_run_queue_wait_s"].items())
            lines.append(
                f"  {name:<7} p99 median {lat['p99_median_ms'][name]:>7.2f} ms (runs {p99s})  "
                f"last run p50 {last['p50_ms']:.2f} p90 {last['p90_ms']:.2f}, run queue s: {waits}; errors "
                f"{sum(r['errors'] for r in lat['runs'][name])}"
            )
        lines.append(f"  hub adds {lat['hub_added_p99_ms']:.2f} ms to the p99")
    lines.append(
        f"hub adds {result['hub_added_p99_ms']:.2f} ms to the p99 at "
        f"{result['p99_target_load'] * 100:.0f} % of its max (target <= {P99_TARGET_MS} ms: "
        f"{'met' if result['met']['p99'] else 'MISSED'})"
    )
    lines.append(f"load average at the end: {result['machine']['load_avg_1m_5m_15m_at_end']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "load":
        return load_main(argv[1:])
    parser = argparse.ArgumentParser(prog="bench/hub.py", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--locations", type=int, default=200)
    parser.add_argument(
        "--latency-loads",
        type=lambda text: [float(x) for x in text.split(",")],
        default=[0.25, 0.5, 0.7],
        help="fractions of the hub's max at which p99 is measured",
    )
    parser.add_argument(
        "--p99-target-load",
        type=float,
        default=0.5,
        help="the one of --latency-loads at which the p99 target is read",
    )
    parser.add_argument("--latency-rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.p99_target_load not in args.latency_loads:
        args.latency_loads.append(args.p99_target_load)
    result = bench(args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
