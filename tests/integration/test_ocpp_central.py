"""The central system in one process, over real WebSockets (TLS, HTTP Basic) with the ``ocpp`` library's
chargers: repeated messages make one session and one CDR, a restart takes open transactions up again
from the store, commands come back as the port's answers (CALLERROR, no answer, not connected,
unknown EVSE), a connector outside the evse map is refused with a CALLERROR."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import trustme
from ocpp.exceptions import NotSupportedError
from ocpp.routing import on
from ocpp.v16 import call
from ocpp.v16.enums import Action

from evroam import model as m
from evroam.chargepoint import Answer, StartRequest, StopRequest, UnlockRequest
from evroam.chargepoint.ocpp import (
    CentralSystem,
    ChargerRegistry,
    Decision,
    Journal,
    OcppServer,
    parse_evse_map,
    tls_context,
)
from evroam.chargepoint.records import LoggedRecords
from evroam.chargepoint.sink import OcpiSink
from evroam.core.clock import FixedClock
from evroam.core.types import DateTime
from evroam.model.tokens import LocationReferences
from evroam.modules.locations import iter_locations
from evroam.modules.locations.repository import save_location
from evroam.modules.locations.validation import parse_locations
from evroam.modules.tariffs.repository import save_tariff
from evroam.modules.tariffs.validation import parse_tariffs
from evroam.node.charging import StoredCatalogue
from evroam.node.sites import SmartSites
from evroam.node.smart import SiteConfig
from evroam.sim.clock import ScaledTime
from evroam.sim.site import AC_EVSES, LOCATION_ID, demo_locations, demo_tariffs
from evroam.testing import MemoryStore
from tests.integration.ocpp_chargers import Charger16, open_charger

T0 = "2026-03-02T08:00:00Z"
CPO = ("NL", "CPO")
PASSWORD = "a-long-charger-password"


def token(uid: str) -> m.Token:
    return m.Token(
        country_code="DE",
        party_id="MSP",
        uid=uid,
        type="RFID",
        contract_id=f"DE-MSP-{uid}",
        issuer="MSP",
        valid=True,
        whitelist=m.WhitelistType.ALLOWED,
        last_updated=DateTime.parse(T0),
    )


class Statuses:
    def __init__(self) -> None:
        self.seen: list[tuple[str, m.Status]] = []

    async def set_status(
        self, evse_uid: str, status: m.Status, *, party: tuple[str, str] | None = None
    ) -> m.Location:
        self.seen.append((evse_uid, status))
        return None  # type: ignore[return-value]


class Node:
    """A store with the demo site, a central system on it and its WebSocket endpoint (TLS)."""

    def __init__(self, store: MemoryStore, tls: ssl.SSLContext) -> None:
        self.store = store
        self.tls = tls
        self.clock = FixedClock(T0)
        self.records = LoggedRecords()
        self.statuses = Statuses()
        self.asked: list[str] = []

    async def authorize(self, uid: str, token_type: str, where: LocationReferences | None) -> Decision:
        self.asked.append(uid)
        return Decision(outcome="ALLOWED" if uid.startswith("GOOD") else "BLOCKED", token=token(uid))

    async def start(self, *, answer_within: float = 5.0) -> None:
        sink = OcpiSink(StoredCatalogue(self.store, [CPO]), statuses=self.statuses, records=self.records)
        self.central = CentralSystem(
            ChargerRegistry(self.store, self.clock),
            Journal(self.store, self.clock),
            self.clock,
            authorizer=self.authorize,
            resume=sink.resume,
        )
        self.central.subscribe(sink)
        await self.central.load()
        self.server = OcppServer(self.central, tls=self.tls, timeout=answer_within)
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()

    @property
    def url(self) -> str:
        return f"wss://localhost:{self.server.port}/ocpp/"


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def store() -> MemoryStore:
    store = MemoryStore()
    await store.migrate()
    now = DateTime.parse(T0)
    for location in parse_locations(json.dumps(demo_locations(*CPO, now)).encode(), "2.2.1"):
        await save_location(store, location, check_stale=False)
    for tariff in parse_tariffs(json.dumps(demo_tariffs(*CPO, now)).encode(), "2.2.1"):
        await save_tariff(store, tariff, check_stale=False)
    registry = ChargerRegistry(store, FixedClock(T0))
    mapping = parse_evse_map([f"1={AC_EVSES[0]}/1", f"2={AC_EVSES[1]}/1"])
    await registry.add("CP1", location_id=LOCATION_ID, evse_map=mapping, password=PASSWORD)
    return store


@pytest.fixture
async def node(store: MemoryStore, ca: trustme.CA, tmp_path: Any) -> AsyncIterator[Node]:
    issued = ca.issue_cert("localhost")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    server = Node(store, tls_context(cert, key))  # what --ocpp-tls-cert / --ocpp-tls-key make
    await server.start()
    yield server
    await server.stop()


def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def mv(stamp: str, wh: int) -> list[dict[str, Any]]:
    return [{"timestamp": stamp, "sampled_value": [{"value": str(wh)}]}]


async def test_repeated_messages_make_one_session_and_one_cdr(node: Node, ca: trustme.CA) -> None:
    async with open_charger(node.url, "CP1", PASSWORD, ssl=client_tls(ca)) as cp:
        boot = await cp.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
        assert boot.status == "Accepted" and boot.interval == 300
        await cp.call(call.StatusNotification(connector_id=0, error_code="OtherError", status="Faulted"))
        assert node.statuses.seen == [(AC_EVSES[0], m.Status.OUTOFORDER), (AC_EVSES[1], m.Status.OUTOFORDER)]
        start = call.StartTransaction(connector_id=1, id_tag="GOOD-1", meter_start=500, timestamp=T0)
        first = await cp.call(start)
        second = await cp.call(start)
        assert first.transaction_id == second.transaction_id and first.id_tag_info["status"] == "Accepted"
        blocked = await cp.call(
            call.StartTransaction(connector_id=2, id_tag="BAD-1", meter_start=0, timestamp=T0)
        )
        assert blocked.id_tag_info["status"] == "Blocked"  # told to stop; the transaction is still kept
        tx = first.transaction_id
        for _ in range(2):
            await cp.call(
                call.MeterValues(
                    connector_id=1, transaction_id=tx, meter_value=mv("2026-03-02T08:30:00Z", 5500)
                )
            )
        stop = call.StopTransaction(meter_stop=10500, timestamp="2026-03-02T09:00:00Z", transaction_id=tx)
        await cp.call(stop)
        await cp.call(stop)
    assert node.asked == ["GOOD-1", "BAD-1"]  # the repeated start was not decided again
    (cdr,) = node.records.cdrs
    assert cdr.id == str(tx) and cdr.total_energy == Decimal(10)
    # AC-STANDARD by hand: 0.50 + 10 kWh x 0.35 + 1 h x 1.00
    assert cdr.total_cost.before_taxes == Decimal("5.00")
    session = node.records.sessions[str(tx)]
    assert session.status is m.SessionStatus.COMPLETED and len(session.charging_periods or ()) == 2


async def test_a_restart_takes_open_transactions_up_from_the_store(node: Node, ca: trustme.CA) -> None:
    async with open_charger(node.url, "CP1", PASSWORD, ssl=client_tls(ca)) as cp:
        start = await cp.call(
            call.StartTransaction(connector_id=1, id_tag="GOOD-2", meter_start=0, timestamp=T0)
        )
        await cp.call(
            call.MeterValues(
                connector_id=1,
                transaction_id=start.transaction_id,
                meter_value=mv("2026-03-02T08:20:00Z", 4000),
            )
        )
    await node.stop()
    again = Node(node.store, node.tls)  # a new process: nothing in memory, the same store
    await again.start()
    try:
        assert again.central.transaction(str(start.transaction_id)) is not None
        async with open_charger(again.url, "CP1", PASSWORD, ssl=client_tls(ca)) as cp:
            await cp.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=start.transaction_id,
                    meter_value=mv("2026-03-02T08:40:00Z", 8000),
                )
            )
            await cp.call(
                call.StopTransaction(
                    meter_stop=9000, timestamp="2026-03-02T09:00:00Z", transaction_id=start.transaction_id
                )
            )
    finally:
        await again.stop()
    (cdr,) = again.records.cdrs
    assert cdr.total_energy == Decimal(9)
    assert [str(p.start_date_time) for p in cdr.charging_periods][:1] == [str(DateTime.parse(T0))]
    assert cdr.total_cost.before_taxes == Decimal("0.50") + Decimal("3.15") + Decimal("1.00")
    # the new process only updated the session: it was not created a second time
    assert again.records.sessions[str(start.transaction_id)].status is m.SessionStatus.COMPLETED


class Reluctant(Charger16):
    """A charger that does not support unlocking and never answers a remote stop."""

    @on(Action.unlock_connector)
    async def on_unlock(self, **payload: Any) -> Any:
        raise NotSupportedError("no unlocking here")

    @on(Action.remote_stop_transaction)
    async def on_remote_stop(self, **payload: Any) -> Any:
        await asyncio.sleep(3600)


async def test_commands_come_back_as_answers(store: MemoryStore, ca: trustme.CA) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    node = Node(store, context)
    await node.start(answer_within=0.5)
    try:
        request = StartRequest(
            location_id=LOCATION_ID, evse_uid=AC_EVSES[0], connector_id=None, token=token("GOOD-3")
        )
        assert await node.central.start(request) is Answer.INOPERATIVE  # not connected
        async with open_charger(node.url, "CP1", PASSWORD, ssl=client_tls(ca), cls=Reluctant) as cp:
            await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
            assert await node.central.start(request) is Answer.ACCEPTED
            assert (await cp.wait_for("RemoteStartTransaction"))["id_tag"] == "GOOD-3"
            started = await cp.call(
                call.StartTransaction(connector_id=1, id_tag="GOOD-3", meter_start=0, timestamp=T0)
            )
            assert node.asked == []  # the remote start's token: no decision needed
            assert node.records.sessions[str(started.transaction_id)].auth_method is m.AuthMethod.COMMAND
            unlock = UnlockRequest(location_id=LOCATION_ID, evse_uid=AC_EVSES[0], connector_id="1")
            assert await node.central.unlock(unlock) is Answer.NOT_SUPPORTED  # a CALLERROR
            unknown = UnlockRequest(location_id=LOCATION_ID, evse_uid="NO-SUCH-EVSE", connector_id="1")
            assert await node.central.unlock(unknown) is Answer.UNKNOWN
            with pytest.raises(Exception, match="evse map"):  # connector 7 is not mapped: CALLERROR
                await cp.call(
                    call.StartTransaction(connector_id=7, id_tag="GOOD-4", meter_start=0, timestamp=T0),
                    suppress=False,
                )
            with pytest.raises(TimeoutError):  # no answer in time (last: it blocks that charger)
                await node.central.stop(StopRequest(transaction_id=str(started.transaction_id)))
    finally:
        await node.stop()


async def test_a_201_transaction_begun_before_its_id_token_waits_for_it(
    store: MemoryStore, ca: trustme.CA
) -> None:
    from ocpp.v201 import call as call201

    registry = ChargerRegistry(store, FixedClock(T0))
    mapping = parse_evse_map([f"1={AC_EVSES[1]}/1"])
    await registry.add("CS1", location_id=LOCATION_ID, evse_map=mapping, password=PASSWORD)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    node = Node(store, context)
    await node.start()
    meter = [{"timestamp": T0, "sampled_value": [{"value": 1000}]}]
    try:
        async with open_charger(node.url, "CS1", PASSWORD, ssl=client_tls(ca), version="2.0.1") as cs:
            beat = await cs.call(call201.Heartbeat())
            assert beat.current_time == "2026-03-02T08:00:00.000Z"
            plugged = call201.TransactionEvent(
                event_type="Started",
                timestamp=T0,
                trigger_reason="CablePluggedIn",
                seq_no=0,
                transaction_info={"transaction_id": "T-1", "charging_state": "EVConnected"},
                evse={"id": 1, "connector_id": 1},
                meter_value=meter,
            )
            await cs.call(plugged)
            assert node.records.sessions == {} and node.asked == []
            authorized = call201.TransactionEvent(
                event_type="Updated",
                timestamp="2026-03-02T08:01:00Z",
                trigger_reason="Authorized",
                seq_no=1,
                transaction_info={"transaction_id": "T-1", "charging_state": "Charging"},
                id_token={"id_token": "GOOD-9", "type": "ISO14443"},
                meter_value=[{"timestamp": "2026-03-02T08:01:00Z", "sampled_value": [{"value": 1000}]}],
            )
            answer = await cs.call(authorized)
            assert answer.id_token_info["status"] == "Accepted" and node.asked == ["GOOD-9"]
            (session,) = node.records.sessions.values()
            assert str(session.start_date_time) == str(DateTime.parse("2026-03-02T08:01:00Z"))
            assert session.evse_uid == AC_EVSES[1]
        await node.stop()  # waits for the connection's handler to finish
        record = await registry.get("CS1")
        assert record is not None and record.last_seen == DateTime.parse(T0)  # kept in the store
        assert record.protocol == "ocpp2.0.1" and record.disconnected_at == DateTime.parse(T0)
    finally:
        await node.stop()


async def test_a_start_kept_but_not_yet_announced_gets_its_session_at_the_next_start(
    store: MemoryStore, ca: trustme.CA
) -> None:
    """The process stopped after writing the journal and before the session was made."""
    from evroam.chargepoint import MeterValues, TransactionStarted
    from evroam.chargepoint.ocpp import TransactionRecord

    started = TransactionStarted(
        transaction_id="77",
        location_id=LOCATION_ID,
        evse_uid=AC_EVSES[0],
        connector_id="1",
        token=token("GOOD-77"),
        auth_method=m.AuthMethod.WHITELIST,
        meter_start=Decimal(0),
        at=DateTime.parse(T0),
    )
    first = MeterValues(transaction_id="77", at=started.at, energy=Decimal(0), power=Decimal(0))
    record = TransactionRecord(
        session_id="77",
        charger_id="CP1",
        ocpp_id="77",
        number=1,
        id_tag="GOOD-77",
        started=started,
        readings=[first],
    )
    journal = Journal(store, FixedClock(T0))
    async with store.transaction() as ops:
        await journal.save(record, ops)
        await journal.index(record, ops)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost").configure_cert(context)
    node = Node(store, context)
    await node.start()
    try:
        assert node.records.sessions["77"].status is m.SessionStatus.ACTIVE  # made now, once
        async with open_charger(node.url, "CP1", PASSWORD, ssl=client_tls(ca)) as cp:
            await cp.call(
                call.StopTransaction(meter_stop=2000, timestamp="2026-03-02T08:30:00Z", transaction_id=77)
            )
    finally:
        await node.stop()
    (cdr,) = node.records.cdrs
    assert cdr.total_energy == Decimal(2)
    assert (await journal.get("77")).announced is True  # type: ignore[union-attr]
    again = Node(store, context)  # and a further start does not make it again
    await again.start()
    await again.stop()
    assert again.records.sessions == {}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_simultaneous_starts_get_distinct_session_numbers(
    backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    """Chargers starting at the same moment: one session number each (the counter is read and written
    under the central system's lock; on PostgreSQL two transactions would otherwise read the same value)."""
    from evroam.store.factory import create_store
    from evroam.store.sql import SqlStore
    from tests.integration.test_store import postgres_schema

    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        async with postgres_schema(url) as schema:
            store = SqlStore.from_url(url, schema=schema)
            await store.migrate()
            await _simultaneous_starts(store)
    else:
        store = create_store(None, tmp_path)
        await store.migrate()
        await _simultaneous_starts(store)


async def _simultaneous_starts(store: Any) -> None:
    try:
        clock = FixedClock(T0)
        registry = ChargerRegistry(store, clock)
        ids = [f"CP{n}" for n in range(6)]
        for charger_id in ids:
            await registry.add(
                charger_id,
                location_id=LOCATION_ID,
                evse_map=parse_evse_map([f"1={AC_EVSES[0]}/1"]),
                password=None,
            )

        async def allow(uid: str, token_type: str, where: LocationReferences | None) -> Decision:
            return Decision(outcome="ALLOWED", token=token(uid))

        central = CentralSystem(registry, Journal(store, clock), clock, authorizer=allow)
        await central.load()
        for charger_id in ids:
            await central.known(charger_id)
        started = await asyncio.gather(
            *(
                central.transaction_started(
                    charger_id,
                    number=1,
                    connector=None,
                    id_tag="GOOD",
                    token_type="RFID",
                    meter_start=Decimal(0),
                    at=DateTime.parse(T0),
                    start_key=f"1|{T0}|0|good",
                )
                for charger_id in ids
            )
        )
        numbers = sorted(int(tx.session_id) for tx, _ in started)
        assert numbers == [1, 2, 3, 4, 5, 6]
    finally:
        await store.close()


async def test_reservations_unlock_and_limits_reach_the_charger(node: Node, ca: trustme.CA) -> None:
    from evroam.chargepoint import (
        ActiveLimit,
        ActiveLimitRequest,
        CancelRequest,
        ChargingLimit,
        ClearLimitRequest,
        LimitPeriod,
        LimitRequest,
        LimitUnit,
        ReserveRequest,
    )
    from evroam.chargepoint.ocpp.mapping import reservation_number

    async with open_charger(node.url, "CP1", PASSWORD, ssl=client_tls(ca)) as cp:
        reserve = ReserveRequest(
            reservation_id="emsp:R-1",
            location_id=LOCATION_ID,
            evse_uid=AC_EVSES[1],
            token=token("GOOD-5"),
            expiry_date=DateTime.parse("2026-03-02T09:00:00Z"),
        )
        assert await node.central.reserve(reserve) is Answer.ACCEPTED
        reserved = await cp.wait_for("ReserveNow")
        assert reserved == {
            "connector_id": 2,
            "expiry_date": "2026-03-02T09:00:00.000Z",
            "id_tag": "GOOD-5",
            "reservation_id": reservation_number("emsp:R-1"),
        }
        assert (
            await node.central.cancel_reservation(CancelRequest(reservation_id="emsp:R-1")) is Answer.ACCEPTED
        )
        assert (await cp.wait_for("CancelReservation"))["reservation_id"] == reservation_number("emsp:R-1")
        unlock = UnlockRequest(location_id=LOCATION_ID, evse_uid=AC_EVSES[1], connector_id="1")
        assert await node.central.unlock(unlock) is Answer.ACCEPTED
        assert (await cp.wait_for("UnlockConnector"))["connector_id"] == 2

        start = await cp.call(
            call.StartTransaction(connector_id=1, id_tag="GOOD-6", meter_start=0, timestamp=T0)
        )
        session_id = str(start.transaction_id)
        limit = ChargingLimit(
            unit=LimitUnit.A, periods=(LimitPeriod(start=DateTime.parse(T0), limit=Decimal(16)),)
        )
        assert (
            await node.central.set_limit(LimitRequest(limit=limit, transaction_id=session_id))
            is Answer.ACCEPTED
        )
        sent = (await cp.wait_for("SetChargingProfile"))["cs_charging_profiles"]
        assert sent["transaction_id"] == start.transaction_id
        assert sent["charging_schedule"]["charging_schedule_period"] == [{"start_period": 0, "limit": 16.0}]
        cleared = await node.central.clear_limit(ClearLimitRequest(transaction_id=session_id))
        assert cleared is Answer.ACCEPTED
        assert (await cp.wait_for("ClearChargingProfile"))["id"] == sent["charging_profile_id"]
        # the charger of this test does not answer GetCompositeSchedule: a CALLERROR NotImplemented
        active = await node.central.active_limit(ActiveLimitRequest(transaction_id=session_id, duration=600))
        assert active is Answer.NOT_SUPPORTED and not isinstance(active, ActiveLimit)


async def test_a_smart_site_keeps_ocpp_chargers_under_its_limit(
    node: Node, store: MemoryStore, ca: trustme.CA
) -> None:
    """The energy manager of `evroam serve --ocpp-port` (node/sites.py) over the central system: two
        transactions on a 7 kW site: both connectors get a profile (1.6: a connector's TxDefaultProfile holds
    for its running transaction too), and the limits sent add up to at most 7 kW (the
    site's DC EVSE has no charger in the evse map: its limits are refused, logged, and change nothing)."""
    locations = [location async for location in iter_locations(store, partners=[None])]
    sites = SmartSites()
    await sites.start(
        [SiteConfig(location_id=LOCATION_ID, limit_kw=7.0)],
        locations,
        node.central,
        ScaledTime(DateTime.parse(T0), speed=1.0),
        store=store,
        http=None,
        plan_path=None,
    )
    try:
        async with open_charger(node.url, "CP1", PASSWORD, ssl=client_tls(ca)) as cp:
            await cp.call(call.BootNotification(charge_point_model="M", charge_point_vendor="V"))
            started = []
            for connector, tag in ((1, "GOOD-S1"), (2, "GOOD-S2")):
                await cp.call(
                    call.StatusNotification(connector_id=connector, error_code="NoError", status="Charging")
                )
                answer = await cp.call(
                    call.StartTransaction(connector_id=connector, id_tag=tag, meter_start=0, timestamp=T0)
                )
                started.append(answer.transaction_id)
            latest: dict[int, dict[str, Any]] = {}
            count = 0
            # until the latest profile of each connector comes from a plan of both sessions (an earlier
            # plan, made when only the first had started, may give it the whole 7 kW)
            while set(latest) != {1, 2} or _watts(latest.values()) > 7000 * 1.001:
                count += 1
                request = await cp.wait_for("SetChargingProfile", count)
                latest[request["connector_id"]] = request["cs_charging_profiles"]
    finally:
        await sites.close()
    assert len(started) == 2
    for profile in latest.values():
        assert profile["charging_profile_purpose"] in ("TxProfile", "TxDefaultProfile")
        assert profile["charging_schedule"]["charging_schedule_period"][0]["start_period"] == 0
    assert _watts(latest.values()) > 0


def _watts(profiles: Any) -> float:
    """The sum of the profiles' first limits in W (A per phase on a 3-phase 230 V connector)."""
    total = 0.0
    for profile in profiles:
        schedule = profile["charging_schedule"]
        first = schedule["charging_schedule_period"][0]
        factor = 230 * first.get("number_phases", 3) if schedule["charging_rate_unit"] == "A" else 1
        total += float(first["limit"]) * factor
    return total
