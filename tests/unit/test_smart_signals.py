"""The site manager's signals beyond the static limit: prices from the location's OCPI tariff (priced
per period by the tariff engine, read through the locations and tariffs modules), a capacity forecast
fetched from a URL (a real HTTP server on 127.0.0.1), and a carbon-intensity file for GREEN sessions.

The tariff is a hand-written OCPI 2.2.1 time-of-use tariff in Europe/Amsterdam (UTC+1 in January):
0.40 EUR/kWh on weekdays 12:00-18:00 local, 0.15 at weekends, 0.20 otherwise, plus a flat fee and a
time price that must not leak into the energy price; the expected curves are worked out by hand.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from evroam.core.clock import SequentialIds
from evroam.core.types import DateTime
from evroam.http.client import create_http_client
from evroam.http.outbound import OutboundPolicy
from evroam.modules.locations.repository import save_location
from evroam.modules.locations.validation import parse_locations
from evroam.modules.tariffs.repository import save_tariff
from evroam.modules.tariffs.validation import parse_tariffs
from evroam.node.smart import (
    SiteConfig,
    SiteManager,
    connector_tariff_ids,
    location_tariffs,
    stations_of,
)
from evroam.sim import ManualTime, Simulator
from evroam.sim.site import LOCATION_ID, demo_locations
from evroam.smart import Preference, SessionState, solve
from evroam.testing import MemoryStore

CPO = ("NL", "CPO")
WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]


def _tou_tariff(tariff_id: str = "TOU") -> dict[str, Any]:
    return {
        "country_code": "NL",
        "party_id": "CPO",
        "id": tariff_id,
        "currency": "EUR",
        "elements": [
            {
                "price_components": [{"type": "ENERGY", "price": 0.40, "vat": 21.0, "step_size": 1}],
                "restrictions": {"start_time": "12:00", "end_time": "18:00", "day_of_week": WEEKDAYS},
            },
            {
                "price_components": [{"type": "ENERGY", "price": 0.15, "vat": 21.0, "step_size": 1}],
                "restrictions": {"day_of_week": ["SATURDAY", "SUNDAY"]},
            },
            {
                "price_components": [
                    {"type": "ENERGY", "price": 0.20, "vat": 21.0, "step_size": 1},
                    {"type": "FLAT", "price": 0.50, "vat": 21.0, "step_size": 1},
                    {"type": "TIME", "price": 2.00, "vat": 21.0, "step_size": 60},
                ]
            },
        ],
        "last_updated": "2026-01-01T00:00:00Z",
    }


async def _stored_site(tariff_ids: dict[str, list[str]] | None = None) -> tuple[MemoryStore, Any]:
    """The demo location (Europe/Amsterdam) with every connector on the TOU tariff (or as given per EVSE),
    and a flat tariff FLAT besides, both stored as our own."""
    store = MemoryStore()
    await store.migrate()
    at = DateTime.parse("2026-01-01T00:00:00Z")
    raw = demo_locations(*CPO, at)
    for evse in raw[0]["evses"]:
        for connector in evse["connectors"]:
            connector["tariff_ids"] = (tariff_ids or {}).get(evse["uid"], ["TOU"])
    flat = {
        **_tou_tariff("FLAT"),
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.3, "step_size": 1}]}],
    }
    (location,) = [
        loc for loc in parse_locations(json.dumps(raw).encode(), "2.2.1") if str(loc.id) == LOCATION_ID
    ]
    await save_location(store, location, check_stale=False)
    for tariff in parse_tariffs(json.dumps([_tou_tariff(), flat]).encode(), "2.2.1"):
        await save_tariff(store, tariff, check_stale=False)
    return store, location


def _manager(location: Any, now: str, config: SiteConfig, **kw: Any) -> SiteManager:
    time = ManualTime(now)
    sim = Simulator([location], time=time, ids=SequentialIds())
    return SiteManager(config, sim, time, stations_of(location), time_zone=location.time_zone, **kw)


async def _tariff_prices(now: str, period_seconds: int, hours: float) -> tuple[float, ...]:
    store, location = await _stored_site()
    tariffs = await location_tariffs(store, *CPO, LOCATION_ID)
    assert [t.id for t in tariffs] == ["TOU"]
    config = SiteConfig(
        location_id=LOCATION_ID,
        limit_kw=11.0,
        prices_from_tariff=True,
        period_seconds=period_seconds,
        horizon_hours=hours,
    )
    manager = _manager(location, now, config)
    manager.set_tariffs(tariffs)
    return tuple(round(p, 6) for p in manager.problem(manager.time.now()).prices)


async def test_tariff_prices_follow_the_local_peak_on_a_weekday() -> None:
    # Monday 5 January 2026, 09:00Z = 10:00 local: the peak is 11:00Z-17:00Z
    prices = await _tariff_prices("2026-01-05T09:00:00Z", 3600, 10)
    assert prices == (0.20, 0.20, 0.40, 0.40, 0.40, 0.40, 0.40, 0.40, 0.20, 0.20)


async def test_tariff_prices_a_period_across_the_peak_start_is_the_average() -> None:
    # 10:45Z-11:15Z is half off-peak (0.20) and half peak (0.40); the next half hour is all peak
    prices = await _tariff_prices("2026-01-05T10:45:00Z", 1800, 1.5)
    assert prices == (0.30, 0.40, 0.40)


async def test_tariff_prices_follow_the_day_of_week_at_local_midnight() -> None:
    # Friday 9 January, 15:00Z = 16:00 local: peak until 17:00Z, then 0.20, and from 23:00Z (Saturday
    # 00:00 local) the weekend price
    prices = await _tariff_prices("2026-01-09T15:00:00Z", 3600, 10)
    assert prices == (0.40, 0.40, 0.20, 0.20, 0.20, 0.20, 0.20, 0.20, 0.15, 0.15)


async def test_a_regular_session_charges_off_peak_under_the_tariff() -> None:
    store, location = await _stored_site()
    config = SiteConfig(
        location_id=LOCATION_ID, limit_kw=11.0, prices_from_tariff=True, period_seconds=3600, horizon_hours=8
    )

    async def loader() -> list[Any]:
        return await location_tariffs(store, *CPO, LOCATION_ID)

    manager = _manager(location, "2026-01-05T11:00:00Z", config, tariff_loader=loader)
    await manager.resolve()  # loads the tariffs on its first solve
    assert [t.id for t in manager.tariffs] == ["TOU"]
    problem = manager.problem(manager.time.now())
    station = manager.stations[0]
    session = SessionState(id="S", station_id=station.id, departure=8, energy_kwh=10.0)
    plan = solve(replace(problem, sessions=(session,)))
    rates = plan.sessions[0].rates_kw
    # 11:00Z-17:00Z is the peak: the 10 kWh go in 17:00Z-19:00Z
    assert sum(rates[:6]) == pytest.approx(0.0, abs=1e-6)
    assert sum(rates[6:8]) == pytest.approx(10.0, abs=1e-3)


async def test_the_site_follows_the_tariff_most_of_its_connectors_name() -> None:
    _, location = await _stored_site()
    uids = _evse_uids(location)
    assert len(uids) >= 3
    store, location = await _stored_site(tariff_ids={uids[0]: ["FLAT"]})  # one EVSE on FLAT, the rest TOU
    assert connector_tariff_ids(location) == ("TOU",)
    assert [t.id for t in await location_tariffs(store, *CPO, LOCATION_ID)] == ["TOU"]
    assert connector_tariff_ids(location, [uids[0]]) == ("FLAT",)
    store, _ = await _stored_site(tariff_ids={uid: ["FLAT"] for uid in uids[1:]})
    assert [t.id for t in await location_tariffs(store, *CPO, LOCATION_ID)] == ["FLAT"]
    assert await location_tariffs(store, *CPO, "NO-SUCH-LOCATION") == []


def _evse_uids(location: Any) -> list[str]:
    return [str(e.uid) for e in location.evses]


async def test_no_tariff_means_price_zero() -> None:
    _, location = await _stored_site()
    config = SiteConfig(location_id=LOCATION_ID, limit_kw=11.0, prices_from_tariff=True, horizon_hours=1)
    manager = _manager(location, "2026-01-05T12:00:00Z", config)
    assert set(manager.problem(manager.time.now()).prices) == {0.0}


def test_carbon_file_steers_green(tmp_path: Path) -> None:
    path = tmp_path / "carbon.json"
    path.write_text(
        json.dumps(
            [
                {"start": "2026-01-05T00:00:00Z", "g_per_kwh": 400},
                {"start": "2026-01-05T02:00:00Z", "g_per_kwh": 100},
            ]
        )
    )
    at = DateTime.parse("2026-01-01T00:00:00Z")
    (location,) = [
        loc
        for loc in parse_locations(json.dumps(demo_locations(*CPO, at)).encode(), "2.2.1")
        if str(loc.id) == LOCATION_ID
    ]
    config = SiteConfig(
        location_id=LOCATION_ID,
        limit_kw=11.0,
        prices=[0.10] * 2 + [0.30] * 22,
        carbon_file=str(path),
        period_seconds=3600,
        horizon_hours=4,
    )
    manager = _manager(location, "2026-01-05T00:00:00Z", config)
    problem = manager.problem(manager.time.now())
    assert problem.carbon == (400.0, 400.0, 100.0, 100.0)
    station = manager.stations[0].id
    green = SessionState(id="G", station_id=station, departure=4, energy_kwh=5.0, preference=Preference.GREEN)
    plan = solve(replace(problem, sessions=(green,)))
    rates = plan.sessions[0].rates_kw
    assert sum(rates[2:4]) == pytest.approx(5.0, abs=1e-3)  # low carbon, though the price is higher


# -- the capacity forecast from a URL ----------------------------------------------------------------


class _Forecast:
    """A real HTTP server on 127.0.0.1 answering GET /forecast.json with ``body`` and ``status``."""

    def __init__(self) -> None:
        self.body = b"[]"
        self.status = 200
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/forecast.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def set(self, rows: list[tuple[str, float]]) -> None:
        self.body = json.dumps([{"start": s, "limit_kw": kw} for s, kw in rows]).encode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def forecast() -> Iterator[_Forecast]:
    server = _Forecast()
    yield server
    server.close()


def _url_manager(
    url: str, refresh: float = 300.0, policy: OutboundPolicy | None = None, capacity_file: str | None = None
) -> SiteManager:
    at = DateTime.parse("2026-01-01T00:00:00Z")
    (location,) = [
        loc
        for loc in parse_locations(json.dumps(demo_locations(*CPO, at)).encode(), "2.2.1")
        if str(loc.id) == LOCATION_ID
    ]
    config = SiteConfig(
        location_id=LOCATION_ID,
        limit_kw=11.0,
        capacity_url=url,
        capacity_refresh_seconds=refresh,
        capacity_file=capacity_file,
    )
    return _manager(location, "2026-01-05T08:00:00Z", config, http=create_http_client(outbound=policy))


async def test_capacity_forecast_from_a_url(forecast: _Forecast, caplog: pytest.LogCaptureFixture) -> None:
    forecast.set([("2026-01-05T09:00:00Z", 8.0), ("2026-01-05T10:00:00Z", 20.0)])
    manager = _url_manager(forecast.url)
    now = manager.time.now()
    assert await manager.fetch_capacity() is True
    assert [manager.limit_at(now + timedelta(hours=h)) for h in (0, 1, 1.5, 2)] == [11.0, 8.0, 8.0, 11.0]

    caplog.set_level(logging.WARNING, logger="evroam.node.smart")
    forecast.status = 500  # a failed fetch keeps the last good forecast and logs one line
    assert await manager.fetch_capacity() is False
    forecast.status = 200
    forecast.body = b"not json"
    assert await manager.fetch_capacity() is False
    assert manager.limit_at(now + timedelta(hours=1)) == 8.0
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "HTTP 500" in lines[0] and forecast.url in lines[1]
    assert all("\n" not in line for line in lines) and not any(r.exc_info for r in caplog.records)

    forecast.set([("2026-01-05T09:00:00Z", 5.0)])
    assert await manager.fetch_capacity() is True
    assert manager.limit_at(now + timedelta(hours=3)) == 5.0
    problem = manager.problem(now)
    assert problem.site.limit_kw[:12] == (11.0,) * 12 and problem.site.limit_kw[12] == 5.0  # 5-min periods
    await manager.http.aclose()  # type: ignore[union-attr]


async def test_capacity_forecast_is_fetched_again_while_running(forecast: _Forecast) -> None:
    forecast.set([("2026-01-05T08:00:00Z", 9.0)])
    manager = _url_manager(forecast.url, refresh=0.05)
    manager.start()
    try:
        for _ in range(400):
            if manager.plan is not None and manager.plan.limit_kw[0] == 9.0:
                break
            await asyncio.sleep(0.02)
        assert manager.plan is not None and manager.plan.limit_kw[0] == 9.0  # re-solved on the new forecast
        forecast.set([("2026-01-05T08:00:00Z", 6.0)])
        for _ in range(400):
            if manager.plan.limit_kw[0] == 6.0:
                break
            await asyncio.sleep(0.02)
        assert manager.plan.limit_kw[0] == 6.0 and forecast.hits >= 2
    finally:
        await manager.close()
        await manager.http.aclose()  # type: ignore[union-attr]


async def test_capacity_url_obeys_the_outbound_policy(
    forecast: _Forecast, caplog: pytest.LogCaptureFixture
) -> None:
    forecast.set([("2026-01-05T08:00:00Z", 4.0)])
    manager = _url_manager(forecast.url, policy=OutboundPolicy(deny_private=True, setting="deny"))
    caplog.set_level(logging.WARNING, logger="evroam.node.smart")
    assert await manager.fetch_capacity() is False
    assert manager.limit_at(manager.time.now()) == 11.0 and forecast.hits == 0
    (record,) = caplog.records
    assert "DestinationRefused" in record.getMessage()
    await manager.http.aclose()  # type: ignore[union-attr]


async def test_capacity_from_a_file_and_a_url_the_lower_holds(forecast: _Forecast, tmp_path: Path) -> None:
    path = tmp_path / "capacity.json"
    path.write_text(json.dumps([{"start": "2026-01-05T08:00:00Z", "limit_kw": 10.0}]))
    forecast.set([("2026-01-05T09:00:00Z", 8.0), ("2026-01-05T10:00:00Z", 20.0)])
    manager = _url_manager(forecast.url, capacity_file=str(path))
    now = manager.time.now()
    assert await manager.fetch_capacity() is True
    assert [manager.limit_at(now + timedelta(hours=h)) for h in (0, 1, 2)] == [10.0, 8.0, 10.0]
    await manager.http.aclose()  # type: ignore[union-attr]
