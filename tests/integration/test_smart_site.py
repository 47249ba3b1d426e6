"""The site energy manager with the charge point simulator on simulated time, and an OpenADR 2.0b VTN
(openleadr's OpenADRServer) over a real socket on 127.0.0.1.

4 EVSEs (22 kW connectors, cars taking 11 kW), 6 overlapping sessions over two simulated hours, an
11 kW site limit: the site's load (the sum of the power each transaction last reported) never exceeds
11 kW, every session gets energy, and a demand-response event lowering the limit to 7 kW for half an
hour is obeyed from its first second (the manager re-solves when the event arrives and when its
window opens).
"""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from evroam import model as m
from evroam.chargepoint import (
    ChargePointEvent,
    MeterValues,
    StartRequest,
    StopRequest,
    TransactionStarted,
    TransactionStopped,
)
from evroam.core.clock import SequentialIds
from evroam.core.types import DateTime
from evroam.node.openadr import Ven
from evroam.node.smart import SiteConfig, SiteManager, stations_of
from evroam.sim import ManualTime, SimOptions, Simulator

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

EVSES = ("E1", "E2", "E3", "E4")


def _location(at: DateTime) -> m.Location:
    connector = m.Connector(
        id="1",
        standard="IEC_62196_T2",
        format=m.ConnectorFormat.SOCKET,
        power_type=m.PowerType.AC_3_PHASE,
        max_voltage=230,
        max_amperage=32,
        max_electric_power=22080,
        last_updated=at,
    )
    return m.Location(
        country_code="NL",
        party_id="CPO",
        id="SITE1",
        address="Main street 1",
        city="Utrecht",
        country="NLD",
        coordinates=m.GeoLocation(latitude="52.09074", longitude="5.12142"),
        last_updated=at,
        evses=tuple(
            m.EVSE(uid=uid, status=m.Status.AVAILABLE, connectors=(connector,), last_updated=at)
            for uid in EVSES
        ),
    )


def _token(uid: str) -> m.Token:
    return m.Token(
        country_code="DE",
        party_id="EMS",
        uid=uid,
        type="APP_USER",
        contract_id=f"DE-EMS-C{uid}",
        issuer="eMSP",
        valid=True,
        whitelist=m.WhitelistType.ALLOWED,
        last_updated=DateTime.parse("2026-01-01T00:00:00Z"),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Load:
    """The site's load from the transactions' readings (each power holds until the next reading)."""

    def __init__(self) -> None:
        self.power: dict[str, Decimal] = {}
        self.started: dict[str, Decimal] = {}
        self.energy: dict[str, Decimal] = {}
        self.samples: list[tuple[DateTime, Decimal]] = []

    async def __call__(self, event: ChargePointEvent) -> None:
        if isinstance(event, TransactionStarted):
            self.started[event.transaction_id] = event.meter_start
        elif isinstance(event, MeterValues):
            self.power[event.transaction_id] = event.power
        elif isinstance(event, TransactionStopped):
            self.power.pop(event.transaction_id, None)
            self.energy[event.transaction_id] = event.meter_stop - self.started[event.transaction_id]
        else:
            return
        self.samples.append((event.at, sum(self.power.values(), Decimal(0))))

    def peak(self, start: datetime, end: datetime) -> Decimal:
        """The highest load in force at any moment of [start, end) (the last sample of each instant)."""
        last: dict[datetime, Decimal] = {start: Decimal(0)}
        for at, load in self.samples:
            if at < end:
                last[max(at, start)] = load  # what was in force at the start, then each instant's last
        return max(last.values())


async def test_site_limit_sessions_and_openadr_event() -> None:
    from openleadr import OpenADRServer

    t0 = datetime.now(UTC).replace(microsecond=0)
    time = ManualTime(t0)
    sim = Simulator(
        [_location(DateTime.from_datetime(t0))],
        time=time,
        ids=SequentialIds(),
        options=SimOptions(plug_delay=10),
    )
    load = Load()
    sim.subscribe(load)
    config = SiteConfig(location_id="SITE1", limit_kw=11.0, prices=[0.2] * 24, default_departure_hours=3.0)
    manager = SiteManager(config, sim, time, stations_of(_location(DateTime.from_datetime(t0))))
    sim.subscribe(manager)

    port = _free_port()
    server = OpenADRServer(vtn_id="test-vtn", http_host="127.0.0.1", http_port=port)

    async def on_create_party_registration(info: dict[str, object]) -> tuple[str, str]:
        return "ven-site1", "reg-site1"

    async def on_opt(ven_id: str, event_id: str, opt_type: str) -> None:
        opted.append(opt_type)

    opted: list[str] = []
    server.add_handler("on_create_party_registration", on_create_party_registration)
    window = (t0 + timedelta(minutes=90), t0 + timedelta(minutes=120))
    server.add_event(
        ven_id="ven-site1",
        signal_name="LOAD_CONTROL",
        signal_type="x-loadControlCapacity",
        intervals=[{"dtstart": window[0], "duration": window[1] - window[0], "signal_payload": 7.0}],
        callback=on_opt,
    )
    await server.run_async()
    ven = Ven(manager, f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b", "site-1")
    manager.start()
    try:
        await ven.start()
        for _ in range(400):  # the VEN registers and polls over the socket (real time)
            if manager.events:
                break
            await asyncio.sleep(0.05)
        assert [(e.start, e.end, e.limit_kw) for e in manager.events] == [(window[0], window[1], 7.0)]

        async def start(evse: str, token: str) -> str:
            await sim.start(
                StartRequest(location_id="SITE1", evse_uid=evse, connector_id="1", token=_token(token))
            )
            await time.advance(10)  # the driver plugs in
            tx = next(t for t in sim.transactions if t.evse_uid == evse)
            return tx.transaction_id

        txs = [await start(evse, f"T{i}") for i, evse in enumerate(EVSES)]
        await time.advance(40 * 60)
        # two sessions leave, two others come (6 sessions in all, overlapping)
        for tx in txs[:2]:
            await sim.stop(StopRequest(transaction_id=tx))
        await time.advance(120)  # the drivers unplug
        txs.append(await start("E1", "T5"))
        txs.append(await start("E2", "T6"))
        for _ in range(100):
            await time.advance(60)
        for tx in [t.transaction_id for t in sim.transactions]:
            await sim.stop(StopRequest(transaction_id=tx))
        await time.advance(120)
    finally:
        await manager.close()
        await ven.stop()
        await server.stop()
        await sim.close()

    end = time.now()
    assert load.peak(t0, end) <= Decimal("11.0")
    assert load.peak(*window) <= Decimal("7.0")
    assert load.peak(window[0] - timedelta(minutes=10), window[0]) > Decimal("7.0")  # the limit was 11 before
    assert len(load.energy) == 6
    assert all(kwh > 0 for kwh in load.energy.values()), load.energy
    assert opted == ["optIn"]
    assert manager.status()["sessions"] == [] and manager.solves > 10
