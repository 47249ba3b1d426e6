"""Render time of the dashboard's heaviest pages with 10,000 received locations and 1,000 sessions.

    .venv/bin/python bench/dashboard.py [--locations 10000] [--sessions 1000] [--rounds 40]

One node in-process on embedded SQLite (a temporary folder): a registered CPO partner that sent
``--locations`` locations (the demo site's, spread over the Netherlands, statuses varied) and
``--sessions`` sessions of 12 charging periods each. Each page is asked ``--rounds`` times through the
node's ASGI app (routing, the admin session check, the store reads and the HTML or JSON included; no
sockets), after two warm-up requests. Prints and writes ``bench/results/dashboard.json``: p50, p95 and
max per page, and the machine's load average before and after. Target: p95 under 100 ms each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from litestar.testing import AsyncTestClient

from evroam.core.types import CiString, DateTime
from evroam.http.dashboard import set_admin_password
from evroam.model.cdrs import CdrDimension, CdrToken, ChargingPeriod
from evroam.model.enums import AuthMethod, CdrDimensionType, SessionStatus
from evroam.model.sessions import Session
from evroam.modules.locations import parse_locations, save_location
from evroam.modules.sessions import save_session
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import build_node
from evroam.registration.repository import StorePartnerRepository
from evroam.sim.site import demo_locations
from evroam.testing import FakePartner, FixedClock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.integration.dashboard_data import variants

RESULTS = Path(__file__).resolve().parent / "results" / "dashboard.json"
PAGES = ("/dashboard/partners", "/dashboard/api/map", "/dashboard/map", "/dashboard/sessions")
PASSWORD = "bench-password"


def _session(i: int, start: DateTime, location_id: str) -> Session:
    periods = tuple(
        ChargingPeriod(
            start_date_time=DateTime.from_datetime(start + timedelta(minutes=5 * k)),
            dimensions=(
                CdrDimension(type=CdrDimensionType.ENERGY, volume=Decimal("0.917")),
                CdrDimension(type=CdrDimensionType.POWER, volume=Decimal("11.0")),
            ),
        )
        for k in range(12)
    )
    return Session(
        country_code=CiString("NL"),
        party_id=CiString("CPO"),
        id=CiString(f"S-{i:05d}"),
        start_date_time=start,
        kwh=Decimal("11.004"),
        cdr_token=CdrToken(contract_id=CiString("DE-MSP-C00001"), uid=CiString(f"U{i:05d}")),
        auth_method=AuthMethod.WHITELIST,
        location_id=CiString(location_id),
        currency="EUR",
        status=SessionStatus.ACTIVE if i % 10 == 0 else SessionStatus.COMPLETED,
        last_updated=DateTime.from_datetime(start + timedelta(hours=1)),
        evse_uid=CiString("DEMO-AC-1"),
        connector_id=CiString("1"),
        charging_periods=periods,
    )


async def run(locations: int, sessions: int, rounds: int) -> dict[str, object]:
    clock = FixedClock("2026-03-01T12:00:00Z")
    with tempfile.TemporaryDirectory() as tmp:
        node = build_node(
            Settings(data_dir=Path(tmp)),
            config=NodeConfig(
                url="http://node.test",
                parties=[PartyConfig(country_code="DE", party_id="MSP", role="EMSP", name="Bench eMSP")],
            ),
            clock=clock,
        )
        await node.start()
        cpo = FakePartner("https://cpo.test/ocpi", role="CPO", country_code="NL", party_id="CPO", clock=clock)
        record = cpo.record(clock, partner_id="p-cpo", name="cpo", receives=("tokens",))
        await StorePartnerRepository(node.store, clock).commit(save=[record])
        template = parse_locations(json.dumps(demo_locations("NL", "CPO", clock.now())).encode(), "2.2.1")[0]
        filled = time.perf_counter()
        async with node.store.transaction() as tx:
            for location in variants(template, locations):
                await save_location(tx, location, partner_id="p-cpo", check_stale=False)
            for i in range(sessions):
                start = DateTime.from_datetime(clock.now() - timedelta(hours=i))
                await save_session(tx, _session(i, start, f"GEN-{i % locations:05d}"), partner_id="p-cpo")
        filled = time.perf_counter() - filled
        await set_admin_password(node.store, PASSWORD)
        load_before = os.getloadavg()
        out: dict[str, dict[str, float | int]] = {}
        async with AsyncTestClient(app=node.app(worker=False), base_url="http://node.test") as client:
            login = await client.post(
                "/dashboard/login",
                data={"password": PASSWORD},
                headers={"Origin": "http://node.test"},
                follow_redirects=False,
            )
            assert login.status_code == 303, login.text
            for path in PAGES:
                sizes = set()
                for _ in range(2):
                    warm = await client.get(path)
                    assert warm.status_code == 200, (path, warm.status_code, warm.text[:300])
                times = []
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    answer = await client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                    sizes.add(len(answer.content))
                times.sort()
                out[path] = {
                    "p50_ms": round(statistics.median(times), 1),
                    "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
                    "max_ms": round(times[-1], 1),
                    "bytes": max(sizes),
                }
                print(
                    f"{path:<24} p50 {out[path]['p50_ms']:>7} ms  p95 {out[path]['p95_ms']:>7} ms  "
                    f"max {out[path]['max_ms']:>7} ms  {out[path]['bytes']:>9} bytes"
                )
        load_after = os.getloadavg()
        await node.close()
    return {
        "locations": locations,
        "sessions": sessions,
        "rounds": rounds,
        "fill_seconds": round(filled, 1),
        "cpus": os.cpu_count(),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "pages": out,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    result = asyncio.run(run(args.locations, args.sessions, args.rounds))
    print(f"load average before {result['loadavg_before']}, after {result['loadavg_after']}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
