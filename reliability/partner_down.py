"""A partner down for 10 minutes while 1,000 changes happen: all delivered after it returns, in order.

Simulated time, real code: a CPO node is wired in-process (``build_node``) on a SQLite file, with a
:class:`~evroam.testing.FixedClock` as its clock and :class:`~evroam.testing.FakePartner` (an eMSP's
Receiver behind ``httpx.MockTransport``) as its only partner. Its real :class:`~evroam.push.PushWorker`
runs pass after pass (``run_once``, as the node's poll loop does) with the node's default retry policy
(backoff 2 s x 2^n up to 15 min, full jitter, park after 20 attempts). The clock moves 0.6 s per change,
so the 1,000 EVSE status changes (over 10 locations x 5 EVSEs) span the 10 minutes the partner refuses
every connection. Then the partner is back and the clock goes on in 0.5 s steps until the outbox is empty.

The receiver records what arrives. Per EVSE, the states delivered (a PATCH of the EVSE, or a PUT of its
location) must follow the order in which they were made (each one the state the CPO had at that
``last_updated``, never an older one after a newer one), and the last must be the latest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from evroam.core.types import DateTime
from evroam.model.enums import Status
from evroam.modules.locations import LocationAdmin, parse_locations
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import build_node, cpo_parties
from evroam.registration import StorePartnerRepository
from evroam.registration.directory import RegisteredPartners
from evroam.testing import FakePartner, FixedClock, SequentialIds
from reliability._crashkit import make_locations
from reliability.result import Result

NAME = "partner_down"
TITLE = "A partner down for 10 minutes while 1,000 changes happen"

US = PartyConfig(country_code="NL", party_id="CPO", role="CPO", name="Us")
STATUSES = ("AVAILABLE", "CHARGING", "BLOCKED", "RESERVED", "OUTOFORDER", "INOPERATIVE")
T0 = "2026-03-01T12:00:00Z"


async def _scenario(
    tmp: Path, events: int, down_seconds: float, locations: int, evses: int
) -> dict[str, Any]:
    clock = FixedClock(T0)
    emsp = FakePartner("https://emsp.test/ocpi", role="EMSP", clock=clock)
    node = build_node(
        Settings(data_dir=tmp),
        config=NodeConfig(url="http://cpo.test", parties=[US]),
        transport=emsp.transport(),
        clock=clock,
        ids=SequentialIds("pd"),
    )
    await node.start()
    try:
        await StorePartnerRepository(node.store, clock).commit(
            save=[emsp.record(clock, receives=("locations",))]
        )
        admin = LocationAdmin(node.store, clock, RegisteredPartners(), cpo_parties(node.config))
        data = make_locations(locations, evses)
        await admin.import_locations(parse_locations(json.dumps(data).encode(), "2.2.1"))
        worker = node.push_worker()
        worker._rng = random.Random(7)  # a seeded jitter: the same run every time
        await worker.drain()
        emsp.seen.clear()

        uids = [e["uid"] for loc in data for e in loc["evses"]]
        home = {e["uid"]: loc["id"] for loc in data for e in loc["evses"]}
        history: dict[str, list[tuple[datetime, str]]] = {u: [] for u in uids}
        rng = random.Random(11)
        step = down_seconds / events
        emsp.receiver.down = True
        down_at = clock.now()
        failed_attempts = 0
        for _ in range(events):
            clock.advance(step)
            uid = rng.choice(uids)
            current = history[uid][-1][1] if history[uid] else "AVAILABLE"
            status = rng.choice([s for s in STATUSES if s != current])
            location = await admin.set_status(uid, Status(status))
            evse = location.evse(uid)
            assert evse is not None
            history[uid].append((evse.last_updated, status))
            failed_attempts += (await worker.run_once()).failed
        pending_at_return = await _undelivered(node)
        emsp.receiver.down = False
        back_at = clock.now()
        started = time.monotonic()
        passes = 0
        while await _undelivered(node) and passes < 100_000:
            clock.advance(0.5)
            await worker.run_once()
            passes += 1
        drained_after = (clock.now() - back_at).total_seconds()
        wall = time.monotonic() - started
        from evroam.store.port import OutboxStatus

        parked = await node.store.outbox_count(status=OutboxStatus.PARKED)
        left = await _undelivered(node)
        own = {str(e.uid): e for loc in await admin.list_locations() for e in loc.evses or ()}
        return {
            "history": history,
            "home": home,
            "seen": [(r.method, r.path, r.body) for r in emsp.seen],
            "own": {u: (e.last_updated, e.status.value) for u, e in own.items()},
            "parked": parked,
            "left": left,
            "failed_attempts": failed_attempts,
            "pending_at_return": pending_at_return,
            "down_for": (back_at - down_at).total_seconds(),
            "drained_after": drained_after,
            "passes": passes,
            "wall": wall,
        }
    finally:
        await node.close()


async def _undelivered(node: Any) -> int:
    from evroam.store.port import OutboxStatus

    return sum(
        [await node.store.outbox_count(status=s) for s in (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)]
    )


def _delivered_states(seen: list[tuple[str, str, Any]]) -> dict[str, list[tuple[datetime, str]]]:
    """Per EVSE uid, the (last_updated, status) states the receiver got, in arrival order."""
    out: dict[str, list[tuple[datetime, str]]] = {}
    for method, path, body in seen:
        parts = path.rstrip("/").split("/")
        if not isinstance(body, dict):
            continue
        if method == "PATCH" and len(parts) >= 2 and "status" in body and parts[-2].startswith("LOC"):
            out.setdefault(parts[-1], []).append((DateTime.parse(body["last_updated"]), body["status"]))
        elif method == "PUT" and "evses" in body:
            for evse in body["evses"]:
                out.setdefault(evse["uid"], []).append((DateTime.parse(evse["last_updated"]), evse["status"]))
        elif method == "PUT" and "status" in body and "uid" in body:
            out.setdefault(body["uid"], []).append((DateTime.parse(body["last_updated"]), body["status"]))
    return out


def run(quick: bool) -> Result:
    result = Result(NAME, TITLE)
    events, down = (200, 120.0) if quick else (1000, 600.0)
    locations, evses = 10, 5
    quiet = logging.getLogger("evroam")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # a warning per failed attempt, by design: not for this report
    try:
        with tempfile.TemporaryDirectory(prefix="evroam-rel-pd-") as tmp:
            out = asyncio.run(_scenario(Path(tmp), events, down, locations, evses))
    finally:
        quiet.setLevel(level)
    history: dict[str, list[tuple[datetime, str]]] = out["history"]
    delivered = _delivered_states(out["seen"])
    out_of_order, wrong_state, not_latest = [], [], []
    for uid, states in history.items():
        if not states:
            continue
        index = {moment: (n, status) for n, (moment, status) in enumerate(states)}
        got = [
            s for s in delivered.get(uid, []) if s[0] >= states[0][0]
        ]  # the changes made during the outage
        positions = []
        for moment, status in got:
            known = index.get(moment)
            if known is None or known[1] != status:
                wrong_state.append(uid)
                break
            positions.append(known[0])
        if positions != sorted(positions):
            out_of_order.append(uid)
        if not got or got[-1] != states[-1] or out["own"][uid] != (states[-1][0], states[-1][1]):
            not_latest.append(uid)
    changed = [u for u, s in history.items() if s]
    requests = len(out["seen"])
    result.check(
        "every object ends at its latest state",
        not not_latest,
        f"{len(not_latest)} of {len(changed)} EVSEs not",
    )
    result.check(
        "delivered in order per object",
        not out_of_order and not wrong_state,
        f"{len(out_of_order)} EVSEs out of order, {len(wrong_state)} with a state never made",
    )
    result.check(
        "nothing parked, outbox empty",
        out["parked"] == 0 and out["left"] == 0,
        f"{out['parked']} parked, {out['left']} pending",
    )
    result.check(
        "the outage lasted",
        out["down_for"] >= down * 0.99 and out["failed_attempts"] > 0,
        f"{out['down_for']:.0f} s simulated, {out['failed_attempts']} failed attempts meanwhile",
    )
    result.figures = {
        "events": events,
        "objects": len(history),
        "evses_changed": len(changed),
        "simulated_outage_s": round(out["down_for"], 1),
        "failed_attempts_during_outage": out["failed_attempts"],
        "undelivered_rows_at_return": out["pending_at_return"],
        "requests_after_return": requests,
        "simulated_s_to_deliver_all_after_return": round(out["drained_after"], 1),
        "worker_passes_after_return": out["passes"],
        "wall_s_after_return": round(out["wall"], 2),
        "states_delivered_per_evse_max": max((len(v) for v in delivered.values()), default=0),
    }
    result.notes = (
        f"In-process with a simulated clock: a CPO node's real push worker on a SQLite file, its partner "
        f"`evroam.testing.FakePartner` refusing every connection for {down:g} simulated seconds while "
        f"{events} EVSE status changes happen ({locations} locations x {evses} EVSEs, 0.6 s apart at full "
        "size), default retry policy (2 s x 2^n backoff, full jitter, 15 min cap, park after 20 attempts), "
        "one worker pass per change and then every 0.5 simulated seconds. The per-object claim keeps one "
        "object's changes in order and coalesces them: a later change never overtakes an earlier one, so the "
        "time to deliver all is set by the backoff the last failed attempt chose (up to its cap), not by "
        "the number of changes."
    )
    return result
