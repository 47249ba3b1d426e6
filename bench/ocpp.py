"""Benchmark of the OCPP central system: many OCPP 1.6J chargers connected at once, sending status
notifications and meter values to a CPO node served by ``evroam serve --ocpp-port`` (SQLite).

    .venv/bin/python bench/ocpp.py [--chargers 500] [--baseline 50] [--seconds 15] [--gap 30] [--json]

In a temporary directory: a CPO node with ``--chargers`` generated EVSEs (10 locations, each EVSE with
one connector and the demo AC tariff) and one registered charger per EVSE (HTTP Basic, scrypt-hashed
password), served on 127.0.0.1. The chargers are the ``ocpp`` library's ``v16.ChargePoint`` over real
WebSockets, all in this process (asyncio). Each connects, boots, reports its connector Available, starts
a transaction, then, for each size (``--baseline`` chargers, then ``--chargers``):

1. **throughput**: every charger sends MeterValues (energy register and power) and, every fifth message,
   a StatusNotification (Charging / SuspendedEV), each as soon as the previous one is answered
   (closed loop), for ``--seconds``: messages answered per second;
2. **latency**: the same messages at a fixed offered load, 70 % of the measured maximum, spread over
   the chargers (open loop: latency counted from the moment a message was due, so queueing shows):
   p50 / p90 / p99 / max; then again at half that load (35 %, ``latency_half``). Before each of these
   every charger stops its transaction (a CDR each) and starts a new one: a reading costs more the longer
   its transaction, so each phase begins with short transactions, as the throughput phase did;
3. the node's RSS (the serving process) after each phase, and the load average.

With ``--gap S`` (default 30), one charger then goes offline for S real seconds in the middle of its
transaction while the others go on, keeps taking readings, reconnects, sends them, and stops its
transaction: the node must hold every reading (the session's charging periods and the CDR are read
back from the node's database).

Every message is stored before it is answered (the journal, then the Session update and its outbox
row). Results go to ``bench/results/ocpp.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# This file is named like the ``ocpp`` library: run as a script, its folder must not shadow it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
RESULTS = HERE / "results" / "ocpp.json"
PASSWORD = "bench-charger-password"
PER_LOCATION = 50
OFFERED = 0.70


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine_load() -> dict[str, Any]:
    one, five, fifteen = os.getloadavg()
    return {"load_1m": round(one, 2), "load_5m": round(five, 2), "load_15m": round(fifteen, 2)}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def stamp(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the node ---------------------------------------------------------------------------------------


class CpoNode:
    def __init__(self, root: Path, chargers: int) -> None:
        self.root = root
        self.data = root / "cpo"
        self.port = _free_port()
        self.ocpp_port = _free_port()
        self.chargers = chargers
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {**os.environ, "EVROAM_LOG_LEVEL": "WARNING"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "evroam", "--data-dir", str(self.data), *args],
            check=True,
            capture_output=True,
            env=self.env,
            cwd=REPO,
        )

    def charger_ids(self) -> list[str]:
        return [f"CP{n:05d}" for n in range(self.chargers)]

    def setup(self) -> None:
        from evroam.sim import site

        now = datetime.now(UTC)
        self.cli("init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--url", self.url)
        template = site.demo_locations("NL", "CPO", now)[0]
        connector = template["evses"][0]["connectors"][0]
        locations = []
        for index in range((self.chargers + PER_LOCATION - 1) // PER_LOCATION):
            evses = []
            for n in range(index * PER_LOCATION, min(self.chargers, (index + 1) * PER_LOCATION)):
                evse = {**template["evses"][0], "uid": f"E{n:05d}", "evse_id": f"NL*CPO*E{n:05d}"}
                evse["connectors"] = [dict(connector)]
                evses.append(evse)
            locations.append({**template, "id": f"LOC-{index:03d}", "evses": evses})
        (self.root / "locations.json").write_text(json.dumps(locations))
        (self.root / "tariffs.json").write_text(json.dumps(site.demo_tariffs("NL", "CPO", now)))
        self.cli("tariffs", "import", str(self.root / "tariffs.json"))
        self.cli("locations", "import", str(self.root / "locations.json"))
        asyncio.run(self._register())

    async def _register(self) -> None:
        """The chargers written straight into the registry (one scrypt hash: the CLI takes ~0.5 s each)."""
        from evroam.chargepoint.ocpp import ChargerRecord, EvseTarget, hash_password
        from evroam.chargepoint.ocpp.registry import ChargerRegistry
        from evroam.core.clock import SystemClock
        from evroam.store.factory import create_store

        store = create_store(None, self.data)
        await store.migrate()
        clock = SystemClock()
        registry = ChargerRegistry(store, clock)
        hashed = hash_password(PASSWORD)
        for n, charger_id in enumerate(self.charger_ids()):
            await registry.save(
                ChargerRecord(
                    id=charger_id,
                    location_id=f"LOC-{n // PER_LOCATION:03d}",
                    evse_map={"1": EvseTarget(f"E{n:05d}", "1")},
                    password_hash=hashed,
                    created=clock.now(),
                )
            )
        await store.close()

    def start(self) -> None:
        log = (self.root / "cpo-serve.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evroam",
                "--data-dir",
                str(self.data),
                "--log-level",
                "WARNING",
                "serve",
                "--port",
                str(self.port),
                "--ocpp-port",
                str(self.ocpp_port),
                "--ocpp-heartbeat",
                "3600",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=self.env,
            cwd=REPO,
        )
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("the node did not start: " + (self.root / "cpo-serve.log").read_text()[-2000:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(f"file:{self.data / 'evroam.db'}?mode=ro", uri=True, timeout=30)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()


# -- the chargers -----------------------------------------------------------------------------------


class Charger:
    """One OCPP 1.6J charger (the ``ocpp`` library's ChargePoint) with its running transaction."""

    def __init__(self, charger_id: str, url: str) -> None:
        self.id = charger_id
        self.url = url
        self.cp: Any = None
        self.task: asyncio.Task[None] | None = None
        self.ws: Any = None
        self.transaction_id = 0
        self.wh = 0
        self.meter_start = 0
        """The register (Wh) when the running transaction began."""
        self.at = datetime.now(UTC) - timedelta(days=1)
        self.sent = 0

    async def connect(self) -> None:
        from ocpp.v16 import ChargePoint
        from websockets.asyncio.client import connect

        auth = "Basic " + base64.b64encode(f"{self.id}:{PASSWORD}".encode()).decode()
        self.ws = await connect(
            self.url + self.id,
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers={"Authorization": auth},
            open_timeout=120,
            ping_interval=None,
        )
        self.cp = ChargePoint(self.id, self.ws, response_timeout=120)
        self.task = asyncio.create_task(self.cp.start())

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        if self.ws is not None:
            await self.ws.close()

    async def call(self, payload: Any) -> Any:
        return await self.cp.call(payload, skip_schema_validation=True)

    async def begin(self) -> None:
        from ocpp.v16 import call

        await self.call(call.BootNotification(charge_point_model="Bench", charge_point_vendor="evroam"))
        await self.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        result = await self.call(
            call.StartTransaction(connector_id=1, id_tag="BENCH", meter_start=0, timestamp=stamp(self.at))
        )
        self.transaction_id = int(result.transaction_id)

    async def renew(self) -> None:
        """Stop the running transaction and start another (each phase begins with short sessions)."""
        from ocpp.v16 import call

        self.at += timedelta(seconds=60)
        await self.call(
            call.StopTransaction(
                meter_stop=self.wh, timestamp=stamp(self.at), transaction_id=self.transaction_id
            )
        )
        self.at += timedelta(seconds=60)
        result = await self.call(
            call.StartTransaction(
                connector_id=1, id_tag="BENCH", meter_start=self.wh, timestamp=stamp(self.at)
            )
        )
        self.transaction_id = int(result.transaction_id)
        self.meter_start = self.wh

    def next_message(self) -> Any:
        """The next message: MeterValues, every fifth a StatusNotification."""
        from ocpp.v16 import call

        self.sent += 1
        self.at += timedelta(seconds=60)
        if self.sent % 5 == 0:
            status = "Charging" if (self.sent // 5) % 2 else "SuspendedEV"
            return call.StatusNotification(connector_id=1, error_code="NoError", status=status)
        self.wh += 183
        return call.MeterValues(
            connector_id=1,
            transaction_id=self.transaction_id,
            meter_value=[self.reading()],
        )

    def reading(self) -> dict[str, Any]:
        return {
            "timestamp": stamp(self.at),
            "sampled_value": [
                {"value": str(self.wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
            ],
        }


async def connect_all(chargers: list[Charger]) -> float:
    begun = time.perf_counter()
    sem = asyncio.Semaphore(50)

    async def one(charger: Charger) -> None:
        async with sem:
            await charger.connect()
            await charger.begin()

    await asyncio.gather(*(one(c) for c in chargers))
    return time.perf_counter() - begun


async def renew_all(chargers: list[Charger]) -> None:
    sem = asyncio.Semaphore(50)

    async def one(charger: Charger) -> None:
        async with sem:
            await charger.renew()

    await asyncio.gather(*(one(c) for c in chargers))


async def closed_loop(chargers: list[Charger], seconds: float) -> dict[str, Any]:
    stop = time.perf_counter() + seconds
    counts = [0] * len(chargers)

    async def run(index: int, charger: Charger) -> None:
        while time.perf_counter() < stop:
            await charger.call(charger.next_message())
            counts[index] += 1

    begun = time.perf_counter()
    await asyncio.gather(*(run(i, c) for i, c in enumerate(chargers)))
    elapsed = time.perf_counter() - begun
    return {
        "messages": sum(counts),
        "seconds": round(elapsed, 2),
        "per_second": round(sum(counts) / elapsed, 1),
    }


async def open_loop(chargers: list[Charger], rate: float, seconds: float) -> dict[str, Any]:
    """``rate`` messages/s in all, each charger due every len/rate seconds (staggered); latency from due."""
    interval = len(chargers) / rate
    latencies: list[float] = []
    begun = time.perf_counter()
    stop = begun + seconds
    rng = random.Random(7)

    async def run(charger: Charger) -> None:
        due = begun + rng.random() * interval
        while due < stop:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await charger.call(charger.next_message())
            latencies.append(time.perf_counter() - due)
            due += interval

    await asyncio.gather(*(run(c) for c in chargers))
    elapsed = time.perf_counter() - begun
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    return {
        "offered_per_second": round(rate, 1),
        "answered": len(latencies),
        "answered_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1] * 1000, 1),
    }


async def gap(node: CpoNode, chargers: list[Charger], seconds: float) -> dict[str, Any]:
    """One charger offline for ``seconds`` mid-transaction while the others keep sending."""
    from ocpp.v16 import call

    lonely, others = chargers[0], chargers[1:]
    await lonely.close()
    queued: list[dict[str, Any]] = []
    stop = time.perf_counter() + seconds
    background = asyncio.create_task(open_loop(others, rate=max(1.0, len(others) / 10), seconds=seconds))
    while time.perf_counter() < stop:
        await asyncio.sleep(min(5.0, max(0.0, stop - time.perf_counter())))
        lonely.at += timedelta(seconds=60)
        lonely.wh += 183
        queued.append(lonely.reading())
    others_result = await background
    await lonely.connect()
    await lonely.call(call.BootNotification(charge_point_model="Bench", charge_point_vendor="evroam"))
    await lonely.call(
        call.MeterValues(connector_id=1, transaction_id=lonely.transaction_id, meter_value=queued)
    )
    lonely.at += timedelta(seconds=60)
    await lonely.call(
        call.StopTransaction(
            meter_stop=lonely.wh, timestamp=stamp(lonely.at), transaction_id=lonely.transaction_id
        )
    )
    session_id = str(lonely.transaction_id)
    await asyncio.sleep(1.0)
    query = "SELECT payload FROM evroam_objects WHERE kind = ? AND object_id = ?"
    (tx,) = node.query(query, "ocpp_transaction", session_id)
    journal = json.loads(tx[0])
    sessions = node.query(query, "session", session_id)
    cdrs = node.query(query, "cdr", session_id)
    session = json.loads(sessions[0][0])
    cdr = json.loads(cdrs[0][0]) if cdrs else {}
    cdr = cdr.get("cdr", cdr)
    expected_kwh = (lonely.wh - lonely.meter_start) / 1000
    return {
        "offline_seconds": seconds,
        "readings_taken_offline": len(queued),
        "readings_in_journal": len(journal["readings"]),
        "session_status": session.get("status"),
        "session_kwh": session.get("kwh"),
        "session_periods": len(session.get("charging_periods") or ()),
        "cdr_total_energy": cdr.get("total_energy"),
        "expected_kwh": expected_kwh,
        "nothing_lost": float(cdr.get("total_energy", -1)) == expected_kwh,
        "others_meanwhile": others_result,
    }


async def run_size(
    node: CpoNode, count: int, seconds: float, chargers_url: str
) -> tuple[list[Charger], dict[str, Any]]:
    every = node.charger_ids()
    spread = every[:: max(1, len(every) // count)][:count]  # a smaller run spans every location too
    chargers = [Charger(cid, chargers_url) for cid in spread]
    connect_seconds = await connect_all(chargers)
    assert node.process is not None
    result: dict[str, Any] = {"chargers": count, "connect_and_start_seconds": round(connect_seconds, 1)}
    result["rss_mb_connected"] = rss_mb(node.process.pid)
    result["throughput"] = await closed_loop(chargers, seconds)
    result["throughput"]["load"] = machine_load()
    result["rss_mb_after_throughput"] = rss_mb(node.process.pid)
    rate = result["throughput"]["per_second"] * OFFERED
    await renew_all(chargers)
    result["latency"] = await open_loop(chargers, rate, seconds)
    result["latency"]["load"] = machine_load()
    await renew_all(chargers)
    result["latency_half"] = await open_loop(chargers, rate / 2, seconds)
    result["latency_half"]["load"] = machine_load()
    result["rss_mb_after_latency"] = rss_mb(node.process.pid)
    return chargers, result


async def bench(args: argparse.Namespace, node: CpoNode) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{node.ocpp_port}/ocpp/"
    sizes = [n for n in (args.baseline, args.chargers) if n]
    runs = []
    chargers: list[Charger] = []
    for count in sizes:
        for charger in chargers:
            await charger.close()
        chargers, result = await run_size(node, count, args.seconds, url)
        runs.append(result)
        print(json.dumps(result), file=sys.stderr, flush=True)
    out: dict[str, Any] = {"runs": runs}
    if args.gap > 0:
        out["gap"] = await gap(node, chargers, args.gap)
        print(json.dumps(out["gap"]), file=sys.stderr, flush=True)
    for charger in chargers:
        await charger.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chargers", type=int, default=500)
    parser.add_argument("--baseline", type=int, default=50, help="a smaller run first (0: none)")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--gap", type=float, default=30.0, help="real seconds one charger is offline (0: none)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="evroam-bench-ocpp-"))
    node = CpoNode(root, max(args.chargers, args.baseline))
    try:
        node.setup()
        node.start()
        results = asyncio.run(bench(args, node))
    finally:
        node.stop()
    report = {
        "benchmark": "ocpp",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), **machine_load()},
        "settings": {"seconds": args.seconds, "offered_share": OFFERED, "store": "SQLite"},
        **results,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(report, indent=2) if args.json else f"results in {RESULTS}")


if __name__ == "__main__":
    main()
