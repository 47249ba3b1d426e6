"""PostgreSQL restarted under load: no acknowledged write lost, clear errors, recovery without a restart.

An eMSP node (``evroam serve``) keeps its store on a private PostgreSQL cluster (:class:`PrivatePostgres`).
A CPO partner is stored in its database (as a handshake would leave it); then this part, as that CPO,
PATCHes EVSE statuses to the eMSP's Locations Receiver at a steady rate (each PATCH a new
``last_updated``, round-robin over the EVSEs). In the middle PostgreSQL is stopped with
``pg_ctl stop -m immediate`` (a crash: no shutdown checkpoint, the WAL is replayed at start) and started
again after an outage. The node is never restarted.

Afterwards, for every EVSE, the stored state must be at least as new as the last PATCH the node
acknowledged (HTTP 2xx, OCPI 1000): an older one is a lost write. A PATCH answered with an error may
still have been committed (the connection died after the COMMIT), so a newer stored state is allowed.
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from evroam.modules.locations.repository import decode_location
from evroam.testing import free_port
from reliability._crashkit import Node, PrivatePostgres, admit_partner, make_locations, percentile
from reliability.result import Result

NAME = "pg_restart"
TITLE = "PostgreSQL restarted under load"

STATUSES = ("AVAILABLE", "CHARGING", "BLOCKED", "RESERVED", "OUTOFORDER", "INOPERATIVE")
BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HANG = 15.0  # seconds: an answer slower than this counts as a hang


@dataclass
class Sent:
    n: int
    evse: tuple[str, str]  # (location id, evse uid)
    status: str
    last_updated: datetime
    at: float  # seconds since the load started
    seconds: float = 0.0
    http: int | None = None
    ocpi: int | None = None
    message: str = ""
    envelope: bool = False
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.http is not None and 200 <= self.http < 300 and self.ocpi == 1000


@dataclass
class Plan:
    rate: float  # PATCHes per second
    before: float  # seconds of load before the crash
    outage: float  # seconds PostgreSQL stays down
    after: float  # seconds of load after it is back
    locations: int = 10
    evses: int = 5
    events: dict[str, float] = field(default_factory=dict)


async def _load(node: Node, token: str, plan: Plan, pg: PrivatePostgres) -> list[Sent]:
    headers = {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}
    base = f"{node.url}/ocpi/2.2.1/receiver/locations/NL/CPO"
    evses = [(f"LOC{n:03d}", f"L{n:03d}-E{k}") for n in range(plan.locations) for k in range(plan.evses)]
    sent: list[Sent] = []
    started = time.monotonic()

    async def one(client: httpx.AsyncClient, item: Sent) -> None:
        t = time.monotonic()
        try:
            answer = await client.patch(
                f"{base}/{item.evse[0]}/{item.evse[1]}",
                json={"status": item.status, "last_updated": stamp(item.last_updated)},
                headers=headers,
                timeout=HANG,
            )
            item.http = answer.status_code
            try:
                body = answer.json()
                item.envelope = isinstance(body, dict) and "status_code" in body and "timestamp" in body
                item.ocpi = body.get("status_code") if isinstance(body, dict) else None
                item.message = str(body.get("status_message", ""))[:200] if isinstance(body, dict) else ""
            except ValueError:
                item.message = answer.text[:200]
        except httpx.HTTPError as exc:
            item.error = f"{type(exc).__name__}: {exc}"[:200]
        item.seconds = time.monotonic() - t

    async def crash() -> None:
        await asyncio.sleep(plan.before)
        plan.events["stopped"] = time.monotonic() - started
        await asyncio.to_thread(pg.stop, "immediate")
        plan.events["down"] = time.monotonic() - started
        await asyncio.sleep(plan.outage)
        plan.events["starting"] = time.monotonic() - started
        await asyncio.to_thread(pg.start)
        plan.events["back"] = time.monotonic() - started

    total = plan.before + plan.outage + plan.after
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
    async with httpx.AsyncClient(limits=limits) as client:
        crasher = asyncio.create_task(crash())
        tasks = []
        n = 0
        while True:
            due = started + n / plan.rate
            now = time.monotonic()
            if due - started > total and crasher.done():
                break
            if due > now:
                await asyncio.sleep(due - now)
            item = Sent(
                n=n,
                evse=evses[n % len(evses)],
                status=STATUSES[(n // len(evses)) % len(STATUSES)],
                last_updated=BASE + timedelta(milliseconds=n + 1),
                at=time.monotonic() - started,
            )
            sent.append(item)
            tasks.append(asyncio.create_task(one(client, item)))
            n += 1
        await crasher
        await asyncio.gather(*tasks)
    return sent


def run(quick: bool) -> Result:
    result = Result(NAME, TITLE)
    if quick:
        plan = Plan(rate=40, before=1, outage=1.5, after=1.5)
    else:
        plan = Plan(rate=50, before=10, outage=15, after=20)
    with tempfile.TemporaryDirectory(prefix="evroam-rel-pgr-") as tmp, PrivatePostgres() as pg:
        pg.start()
        url = pg.create_database("emsp")
        emsp = Node("emsp", Path(tmp) / "emsp", free_port(), database_url=url)
        try:
            emsp.init("DE", "MSP", "EMSP")
            token = "pg-restart-partner-token"
            admit_partner(emsp, token)
            emsp.start()
            emsp.wait_ready()
            headers = {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}
            for loc in make_locations(plan.locations, plan.evses):
                answer = httpx.put(
                    f"{emsp.url}/ocpi/2.2.1/receiver/locations/NL/CPO/{loc['id']}",
                    json=loc,
                    headers=headers,
                    timeout=10,
                )
                answer.raise_for_status()
            pid = emsp.process.pid if emsp.process else None
            sent = asyncio.run(_load(emsp, token, plan, pg))
            alive = emsp.running and emsp.process is not None and emsp.process.pid == pid
            stored = {
                (str(loc.id), str(e.uid)): e
                for loc in (
                    decode_location(bytes(p))
                    for (p,) in emsp.query("SELECT payload FROM evroam_objects WHERE kind = 'location'")
                )
                for e in loc.evses or ()
            }
            log = emsp.serve_log.read_text(errors="replace")
        finally:
            emsp.stop()
        _judge(result, plan, sent, stored, alive, log)
    return result


def _judge(
    result: Result, plan: Plan, sent: list[Sent], stored: dict[tuple[str, str], Any], alive: bool, log: str
) -> None:
    acked = [s for s in sent if s.acknowledged]
    failed = [s for s in sent if not s.acknowledged]
    last_ack: dict[tuple[str, str], Sent] = {}
    for s in acked:
        if s.evse not in last_ack or s.last_updated > last_ack[s.evse].last_updated:
            last_ack[s.evse] = s
    lost = [
        s.n
        for evse, s in last_ack.items()
        if (have := stored.get(evse)) is None
        or have.last_updated < s.last_updated
        or (have.last_updated == s.last_updated and have.status.value != s.status)
    ]
    back = plan.events.get("back", 0.0)
    down = plan.events.get("stopped", 0.0)
    during = [s for s in sent if down <= s.at < back]
    errors = [s for s in failed if s.http is not None]
    unclear = [s for s in failed if not (s.http == 503 and s.envelope and "database" in s.message)]
    hangs = [s for s in sent if s.error or s.seconds >= HANG]
    after_back = [s for s in sent if s.at >= back]
    first_ok = next((s for s in after_back if s.acknowledged), None)
    last_fail = max((s.at for s in after_back if not s.acknowledged), default=None)
    recovery = None if first_ok is None else round(first_ok.at + first_ok.seconds - back, 2)
    settled = None if last_fail is None else round(last_fail - back, 2)
    tail = after_back[-int(plan.rate * 2) :] if after_back else []

    lost_figure = f"{len(lost)} of {len(acked)} acknowledged"
    result.check("acknowledged PATCHes lost", not lost and bool(acked), lost_figure)
    result.check(
        "errors are 503 OCPI envelopes naming the database",
        not unclear and bool(errors),
        f"{len(errors)} errors, {len(unclear)} otherwise; answers "
        + ", ".join(f"{k}: {v}" for k, v in sorted(_histogram(failed).items())),
    )
    result.check("no request hung or was cut", not hangs, f"{len(hangs)} (answer within {HANG:g} s)")
    result.check(
        "recovers without a restart",
        alive and first_ok is not None and bool(tail) and all(s.acknowledged for s in tail),
        f"same process: {alive}; first success {recovery} s after PostgreSQL was back, "
        f"last failure {settled} s after",
    )
    named = log.count("the database is unavailable")
    tracebacks = log.count("Traceback")
    result.check(
        "the log says what failed, without tracebacks",
        named > 0 and tracebacks == 0,
        f"{named} lines 'the database is unavailable (...)', {tracebacks} tracebacks",
    )
    result.figures = {
        "rate_per_s": plan.rate,
        "requests": len(sent),
        "acknowledged": len(acked),
        "failed": len(failed),
        "during_outage": len(during),
        "outage_s": round(back - down, 2),
        "events_s": {k: round(v, 2) for k, v in plan.events.items()},
        "recovery_s": recovery,
        "last_failure_after_back_s": settled,
        "error_latency_p50_ms": round(percentile([s.seconds for s in errors], 0.5) * 1000, 1),
        "error_latency_max_ms": round(max((s.seconds for s in errors), default=0) * 1000, 1),
        "ok_latency_p50_ms": round(percentile([s.seconds for s in acked], 0.5) * 1000, 1),
        "answers": _histogram(sent),
        "messages": sorted({s.message for s in failed})[:5],
    }
    result.notes = (
        f"{plan.rate:g} PATCH/s of EVSE statuses ({plan.locations * plan.evses} EVSEs, each PATCH a newer "
        "last_updated) to an eMSP node whose store is a private PostgreSQL; after "
        f"{plan.before:g} s PostgreSQL is stopped with `pg_ctl stop -m immediate` (a crash: WAL replay at "
        f"start) and started {plan.outage:g} s later; the node keeps running. Lost = an EVSE whose stored "
        "state is older than the last PATCH the node answered 2xx/1000. Recovery = from `pg_ctl start` "
        "returning to the end of the first successful PATCH."
    )


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _histogram(items: list[Sent]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in items:
        key = f"{s.http}/{s.ocpi}" if s.http is not None else "no answer"
        out[key] = out.get(key, 0) + 1
    return out
