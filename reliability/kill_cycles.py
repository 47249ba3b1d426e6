"""SIGKILL cycles of the CPO and of the eMSP while pushes are in flight, on SQLite and on PostgreSQL.

Two real nodes (``evroam serve``, separate processes on 127.0.0.1, registered with each other). A load
helper (this module run as ``python -m reliability.kill_cycles load DATA_DIR``) makes changes on the CPO
through its services, against its database, while the CPO serves: EVSE status changes (PATCH), sessions
started (PUT), given charging periods and stopped (PATCH), and their CDRs (POST). It writes one line per
change to a file once it is committed: what the CPO acknowledged. Meanwhile each cycle kills the CPO
(SIGKILL) at a random moment when it has undelivered outbox rows, starts it again, lets it deliver for a
moment, then kills and restarts the eMSP (again with rows on their way to it).

Afterwards the load stops, and once the CPO's outbox is empty: every acknowledged change must be in the
eMSP's store (its EVSE statuses are the last ones set, every session and CDR is there), the eMSP's views
equal the CPO's (canonical Locations, Sessions, CDRs), each CDR is stored once at the eMSP (revision 1) and
acknowledged at most once to the CPO (a POST repeated after a crash is answered 409 and not stored again),
and nothing is pending, in flight or parked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

from evroam.core.codec import decode
from evroam.model.sessions import Session
from evroam.modules.cdrs.repository import CdrDocument
from evroam.modules.locations.repository import decode_location
from evroam.testing import NodePair
from reliability._crashkit import T0, Node, PrivatePostgres, Timer, make_locations, percentile, write_json
from reliability.result import Result

NAME = "kill_cycles"
TITLE = "SIGKILL cycles of the CPO and the eMSP while pushes are in flight"

PUSH_ENV = {
    "EVROAM_PUSH_BASE_DELAY": "0.2",
    "EVROAM_PUSH_MAX_DELAY": "1",
    "EVROAM_PUSH_MAX_ATTEMPTS": "50",  # parking is possible, and checked for
    "EVROAM_PUSH_LEASE": "2",  # rows claimed by a killed worker come back after 2 s
    "EVROAM_PUSH_POLL_INTERVAL": "0.05",
}
STATUSES = ("AVAILABLE", "CHARGING", "BLOCKED", "RESERVED", "OUTOFORDER", "INOPERATIVE")
LOCATIONS, EVSES = 6, 4
SETTLE_TIMEOUT = 240.0


# -- the load helper (a process of its own) -------------------------------------------------------------


def _session_json(session_id: str, location: str, evse: str) -> bytes:
    return json.dumps(
        {
            "country_code": "NL",
            "party_id": "CPO",
            "id": session_id,
            "start_date_time": T0,
            "kwh": 0,
            "cdr_token": {
                "country_code": "DE",
                "party_id": "MSP",
                "uid": "TOKEN1",
                "type": "RFID",
                "contract_id": "DE-MSP-C00001",
            },
            "auth_method": "WHITELIST",
            "location_id": location,
            "evse_uid": evse,
            "connector_id": "1",
            "currency": "EUR",
            "status": "ACTIVE",
            "last_updated": T0,
        }
    ).encode()


async def load(data_dir: Path, seed: int, pause: float, out: Path) -> None:
    from evroam.model.cdrs import ChargingPeriod
    from evroam.model.common import Price
    from evroam.model.enums import Status
    from evroam.modules.cdrs.cli import admin_for as cdr_admin
    from evroam.modules.locations import LocationAdmin
    from evroam.modules.sessions.cli import admin_for as session_admin
    from evroam.modules.sessions.convert import session_converters
    from evroam.node.settings import Settings
    from evroam.node.wiring import build_node, cpo_parties
    from evroam.registration.directory import RegisteredPartners

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    node = build_node(Settings(data_dir=data_dir, database_url=os.environ.get("EVROAM_DATABASE_URL") or None))
    await node.start()
    rng = random.Random(seed)
    wire = session_converters("2.2.1")
    locations = LocationAdmin(node.store, node.clock, RegisteredPartners(), cpo_parties(node.config))
    sessions, cdrs = session_admin(node), cdr_admin(node)
    homes = [(str(loc.id), str(e.uid)) for loc in await locations.list_locations() for e in loc.evses or ()]
    status = {uid: "AVAILABLE" for _, uid in homes}
    active: dict[str, int] = {}  # session id -> steps done
    made = 0

    sink = out.open("a", buffering=1)  # a file, not a pipe: nobody reads it before the end

    def say(line: dict[str, Any]) -> None:
        sink.write(json.dumps(line) + "\n")

    try:
        while not stop.is_set():
            try:
                if rng.random() < 0.6 or (not active and rng.random() < 0.5):
                    _, uid = rng.choice(homes)
                    new = rng.choice([s for s in STATUSES if s != status[uid]])
                    status[uid] = new  # tried: if it fails, the CPO may or may not hold it
                    await locations.set_status(uid, Status(new))
                    say({"a": "status", "uid": uid, "status": new})
                elif len(active) < 3 and (not active or rng.random() < 0.3):
                    made += 1
                    sid = f"S{seed}-{made:04d}"
                    location, evse = rng.choice(homes)
                    active[sid] = 0
                    raw = decode(_session_json(sid, location, evse), wire.models["Session"])
                    await sessions.start(wire.session_to_model(raw, country_code="NL", party_id="CPO"))
                    say({"a": "session", "id": sid, "step": 0})
                else:
                    sid = rng.choice(sorted(active))
                    step = active[sid] + 1
                    if step <= 3:
                        start = f"2026-03-01T12:{10 * step:02d}:00Z"
                        period = {"start_date_time": start, "dimensions": [{"type": "ENERGY", "volume": 1.5}]}
                        new_period = decode(json.dumps(period).encode(), ChargingPeriod)
                        await sessions.add_charging_periods(
                            sid, [new_period], kwh=Decimal(step) * Decimal("1.5")
                        )
                    elif step == 4:
                        await sessions.stop(sid, total_cost=Price(before_taxes=Decimal("2.25")))
                    else:
                        await cdrs.from_session(sid)
                    active[sid] = step
                    if step == 5:
                        del active[sid]
                        say({"a": "cdr", "id": sid})
                    else:
                        say({"a": "session", "id": sid, "step": step})
            except Exception as exc:
                say({"a": "error", "error": f"{type(exc).__name__}: {exc}"[:300]})
                await asyncio.sleep(0.2)
            await asyncio.sleep(pause)
    finally:
        await node.close()
        sink.write("done\n")
        sink.close()


# -- views --------------------------------------------------------------------------------------------


def _views(node: Node) -> dict[str, Any]:
    rows = node.query(
        "SELECT kind, partner_id, revision, payload FROM evroam_objects WHERE kind IN (?, ?, ?)",
        ("location", "session", "cdr"),
    )
    own: dict[str, dict[str, Any]] = {"location": {}, "session": {}, "cdr": {}}
    theirs: dict[str, dict[str, Any]] = {"location": {}, "session": {}, "cdr": {}}
    revisions: dict[str, int] = {}
    copies: dict[str, int] = {}
    for kind, partner_id, revision, payload in rows:
        mine = partner_id is None or str(partner_id).startswith("party:")
        if kind == "location":
            obj: Any = decode_location(bytes(payload))
        elif kind == "session":
            obj = decode(bytes(payload), Session)
        else:
            obj = decode(bytes(payload), CdrDocument)
        key = str(obj.cdr.id if kind == "cdr" else obj.id)
        (own if mine else theirs)[kind][key] = obj
        if kind == "cdr" and not mine:
            revisions[key] = revision
            copies[key] = copies.get(key, 0) + 1
    return {"own": own, "theirs": theirs, "revisions": revisions, "copies": copies}


def _outbox(node: Node) -> dict[str, int]:
    return {
        str(s): int(n) for s, n in node.query("SELECT status, count(*) FROM evroam_outbox GROUP BY status")
    }


def _undelivered_soon(cpo: Node, within: float = 2.0) -> int:
    """Wait (at most ``within`` seconds) for a moment when the CPO has rows not yet delivered, so that the
    kill lands while pushes are in flight; their number then (0 if none came)."""
    deadline = time.monotonic() + within
    while True:
        box = _outbox(cpo)
        busy = box.get("pending", 0) + box.get("in_flight", 0)
        if busy or time.monotonic() > deadline:
            return busy
        time.sleep(0.005)


def _differences(cpo: Node, emsp: Node, acked: dict[str, Any]) -> list[str]:
    ours, theirs = _views(cpo), _views(emsp)
    problems = []
    box = _outbox(cpo)
    if box.get("pending", 0) + box.get("in_flight", 0) + box.get("parked", 0):
        problems.append(f"CPO outbox not empty: {box}")
    for kind in ("location", "session"):
        a, b = ours["own"][kind], theirs["theirs"][kind]
        differing = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
        if differing:
            problems.append(f"{len(differing)} {kind}s differ, e.g. {differing[:3]}")
    a_cdr = {k: v.cdr for k, v in ours["own"]["cdr"].items()}
    b_cdr = {k: v.cdr for k, v in theirs["theirs"]["cdr"].items()}
    if a_cdr != b_cdr:
        problems.append(f"CDRs differ: {len(a_cdr)} at the CPO, {len(b_cdr)} at the eMSP")
    statuses = {
        str(e.uid): e.status.value for loc in theirs["theirs"]["location"].values() for e in loc.evses or ()
    }
    lost = [u for u, s in acked["status"].items() if statuses.get(u) != s]
    lost += [sid for sid in acked["session"] if sid not in theirs["theirs"]["session"]]
    lost += [
        sid
        for sid, step in acked["session"].items()
        if sid in theirs["theirs"]["session"]
        and len(theirs["theirs"]["session"][sid].charging_periods or ()) < min(step, 3)
    ]
    lost += [cid for cid in acked["cdr"] if cid not in b_cdr]
    if lost:
        problems.append(f"{len(lost)} acknowledged changes missing at the eMSP, e.g. {lost[:3]}")
    return problems


# -- one run ------------------------------------------------------------------------------------------


def _cycles(
    base: Path, cycles: int, seed: int, pg: PrivatePostgres | None, pace: float = 1.0
) -> dict[str, Any]:
    urls = {"cpo": None, "emsp": None}
    if pg is not None:
        urls = {"cpo": pg.create_database(f"cpo{seed}"), "emsp": pg.create_database(f"emsp{seed}")}
    pair = NodePair(
        base,
        env=PUSH_ENV,
        node_class=Node,
        cpo_env={"EVROAM_DATABASE_URL": urls["cpo"]} if urls["cpo"] else None,
        emsp_env={"EVROAM_DATABASE_URL": urls["emsp"]} if urls["emsp"] else None,
        log_level="WARNING",
    )
    cpo, emsp = pair.nodes
    cpo.database_url, emsp.database_url = urls["cpo"], urls["emsp"]
    helper: subprocess.Popen[str] | None = None
    rng = random.Random(seed)
    try:

        def cpo_init() -> None:
            cpo.init("NL", "CPO", "CPO")
            cpo.evroam(
                "locations", "import", write_json(base / "locations.json", make_locations(LOCATIONS, EVSES))
            )

        with ThreadPoolExecutor(2) as both:  # two interpreters start at once: 2 cores
            for done in [both.submit(cpo_init), both.submit(emsp.init, "DE", "MSP", "EMSP")]:
                done.result()
        pair.start()
        pair.register()
        changes = base / "changes.jsonl"
        helper = cpo.python(
            "reliability.kill_cycles", "load", str(cpo.data_dir), "--seed", str(seed), "--out", str(changes)
        )
        busy_at_kill = {"cpo": [], "emsp": []}
        restart_s: list[float] = []
        for _ in range(cycles):
            time.sleep(rng.uniform(0.3, 1.0) * pace)
            busy_at_kill["cpo"].append(_undelivered_soon(cpo))
            cpo.kill()
            timer = Timer()
            cpo.start()
            cpo.wait_ready(timeout=60)
            restart_s.append(timer())
            time.sleep(rng.uniform(0.2, 0.8) * pace)
            busy_at_kill["emsp"].append(_undelivered_soon(cpo))
            emsp.kill()
            timer = Timer()
            emsp.start()
            emsp.wait_ready(timeout=60)
            restart_s.append(timer())
        helper.send_signal(signal.SIGTERM)
        helper.communicate(timeout=60)
        lines = changes.read_text().splitlines()
        if lines[-1:] != ["done"]:
            raise RuntimeError(f"the load helper did not finish ({helper.returncode})")
        acked: dict[str, Any] = {"status": {}, "session": {}, "cdr": set()}
        errors = []
        for line in lines:
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            if event["a"] == "status":
                acked["status"][event["uid"]] = event["status"]
            elif event["a"] == "session":
                acked["session"][event["id"]] = event["step"]
            elif event["a"] == "cdr":
                acked["cdr"].add(event["id"])
                acked["session"][event["id"]] = 5
            else:
                errors.append(event["error"])
        settle = Timer()
        problems = _differences(cpo, emsp, acked)
        while problems and settle() < SETTLE_TIMEOUT:
            time.sleep(0.5)
            problems = _differences(cpo, emsp, acked)
        settled_s = settle()
        theirs = _views(emsp)
        ours = _views(cpo)
        repeated = cpo.query(
            "SELECT count(*) FROM evroam_outbox WHERE last_error LIKE ?", ("%already hold%",)
        )[0][0]
        acked_twice = [k for k, doc in ours["own"]["cdr"].items() if len(doc.deliveries) > 1]
        return {
            "problems": problems,
            "settled_s": settled_s,
            "changes": sum(1 for line in lines if line.startswith('{"a": "') and '"error"' not in line),
            "load_errors": errors,
            "status_changes": sum(1 for line in lines if '"a": "status"' in line),
            "sessions": len(acked["session"]),
            "cdrs": len(acked["cdr"]),
            "emsp_cdr_copies_max": max(theirs["copies"].values(), default=0),
            "emsp_cdr_revision_max": max(theirs["revisions"].values(), default=0),
            "cdr_posts_repeated_409": int(repeated),
            "cdrs_acknowledged_twice": len(acked_twice),
            "outbox": _outbox(cpo),
            "kills": {k: len(v) for k, v in busy_at_kill.items()},
            "kills_with_undelivered_rows": {k: sum(1 for n in v if n) for k, v in busy_at_kill.items()},
            "restart_p50_s": round(percentile(restart_s, 0.5), 2),
            "restart_max_s": round(max(restart_s, default=0), 2),
        }
    finally:
        if helper is not None and helper.poll() is None:
            helper.kill()
            helper.wait(timeout=10)
        pair.stop()


def run(quick: bool) -> Result:
    result = Result(NAME, TITLE)
    plans = [("sqlite", 2)] if quick else [("sqlite", 100), ("postgresql", 100)]
    for backend, cycles in plans:
        with tempfile.TemporaryDirectory(prefix=f"evroam-rel-kill-{backend}-") as tmp:
            timer = Timer()
            if backend == "postgresql":
                with PrivatePostgres() as pg:
                    pg.start()
                    got = _cycles(Path(tmp), cycles, 2 if quick else 3, pg)
            else:
                got = _cycles(Path(tmp), cycles, 1, None, pace=0.4 if quick else 1.0)
            got["seconds"] = round(timer(), 1)
        result.figures[backend] = {k: v for k, v in got.items() if k != "load_errors"}
        result.figures[backend]["load_errors"] = len(got["load_errors"])
        result.figures[backend]["load_error_examples"] = sorted(set(got["load_errors"]))[:3]
        result.figures[backend]["settled_s"] = round(got["settled_s"], 1)
        box = got["outbox"]
        result.check(
            f"{backend}: 0 lost, views equal after {cycles} kills of each",
            not got["problems"] and got["changes"] > 0,
            "; ".join(got["problems"])
            or f"{got['changes']} acknowledged changes ({got['status_changes']} EVSE statuses, "
            f"{got['sessions']} sessions, {got['cdrs']} CDRs) all at the eMSP, settled "
            f"{got['settled_s']:.1f} s after the load",
        )
        result.check(
            f"{backend}: 0 duplicate CDRs",
            got["emsp_cdr_copies_max"] <= 1
            and got["emsp_cdr_revision_max"] <= 1
            and not got["cdrs_acknowledged_twice"],
            f"each CDR stored once (revision 1) and acknowledged once; {got['cdr_posts_repeated_409']} POSTs "
            "repeated after a crash answered 409",
        )
        result.check(
            f"{backend}: outbox empty, nothing parked",
            box.get("pending", 0) + box.get("in_flight", 0) == 0 and box.get("parked", 0) == 0,
            f"{box}",
        )
        result.check(
            f"{backend}: kills landed while pushes were in flight",
            min(got["kills_with_undelivered_rows"].values()) * 2 >= cycles,  # at least half of them
            f"CPO killed {got['kills']['cpo']}x ({got['kills_with_undelivered_rows']['cpo']} with "
            f"undelivered rows), eMSP {got['kills']['emsp']}x ({got['kills_with_undelivered_rows']['emsp']})",
        )
    result.notes = (
        "Two `evroam serve` processes; a helper process makes changes on the CPO through its services "
        "(EVSE status PATCHes, sessions PUT/PATCHed/stopped, their CDRs POSTed), 20 ms apart, writing each "
        "one to a file once committed. Each cycle: a random 0.3-1 s, then (up to 2 s) until the CPO's outbox "
        "has undelivered rows, SIGKILL of the CPO, restart; 0.2-0.8 s of delivery, the same wait, SIGKILL of "
        "the eMSP, restart. Push settings: backoff 0.2-1 s, lease 2 s, park after 50 "
        "attempts (CDRs never park). PostgreSQL: both nodes on a private cluster, one fresh database each. "
        "'settled' counts from the end of the load to an empty outbox with equal views."
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.kill_cycles")
    commands = parser.add_subparsers(dest="command", required=True)
    run_load = commands.add_parser("load", help="make changes on a CPO node until SIGTERM")
    run_load.add_argument("data_dir", type=Path)
    run_load.add_argument("--seed", type=int, default=1)
    run_load.add_argument("--pause", type=float, default=0.02)
    run_load.add_argument("--out", type=Path, required=True, help="where to write one line per change")
    args = parser.parse_args(argv)
    asyncio.run(load(args.data_dir, args.seed, args.pause, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
