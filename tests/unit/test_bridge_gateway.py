"""The gateway's parts on their own (:mod:`evroam.bridge.gateway`): the mirror of what an OICP EMP pulled
into the node's own OCPI locations and tariffs, and the charge point port over the hub (a fake EMP service
stands for the hub: it answers remote starts as told and records the calls)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from evroam import model as m
from evroam.bridge.gateway import OicpChargePoint, mirror, mirror_id
from evroam.chargepoint.port import (
    Answer,
    ChargePointEvent,
    ChargeState,
    MeterValues,
    StartRequest,
    StopReason,
    StopRequest,
    TransactionStarted,
    TransactionStopped,
)
from evroam.core.codec import decode
from evroam.core.types import DateTime
from evroam.modules.locations import LOCATIONS
from evroam.modules.locations.repository import load_location_record
from evroam.modules.oicp import HUB_PARTNER_ID, PricingData
from evroam.modules.oicp.records import Connection, save_pricing
from evroam.modules.tariffs.repository import load_tariff_record
from evroam.modules.tokens.decision import AuthorizationDecision, Outcome
from evroam.oicp import codec
from evroam.oicp import messages as om
from evroam.oicp.convert import zone_of_offset
from evroam.store.outbox import ObjectChange
from evroam.testing import FixedClock, MemoryStore
from tests.unit.push_support import emsp_partner, register

T0 = DateTime.parse("2026-03-01T12:00:00Z")
PARTY = ("DE", "GWY")
PROVIDER = "DE-GWY"


def received(status: m.Status = m.Status.AVAILABLE, *, at: datetime = T0) -> m.Location:
    """A location as the EMP stores what it pulled: owned by the OICP operator's party."""
    connector = m.Connector(
        id="1",
        standard="IEC_62196_T2",
        format=m.ConnectorFormat.SOCKET,
        power_type=m.PowerType.AC_3_PHASE,
        max_voltage=230,
        max_amperage=16,
        last_updated=at,
    )
    return m.Location(
        country_code="DE",
        party_id="ABC",
        id="STATION-1",
        address="Hauptstrasse 5",
        city="Berlin",
        country="DEU",
        coordinates=m.GeoLocation(latitude="52.520000", longitude="13.405000"),
        operator=m.BusinessDetails(name="ABC Charging"),
        time_zone=zone_of_offset("UTC+01:00"),
        last_updated=at,
        evses=tuple(
            m.EVSE(
                uid=f"DE*ABC*E{i}",
                evse_id=f"DE*ABC*E{i}",
                status=status if i == 1 else m.Status.AVAILABLE,
                capabilities=("REMOTE_START_STOP_CAPABLE",),
                connectors=(connector,),
                last_updated=at,
            )
            for i in (1, 2)
        ),
    )


def pricing() -> PricingData:
    product = om.PricingProductDataRecord(
        ProductID="AC-STANDARD",
        ReferenceUnit="KILOWATT_HOUR",
        ProductPriceCurrency="EUR",
        PricePerReferenceUnit=Decimal("0.30"),
        MaximumProductChargingPower=Decimal(22),
        IsValid24hours=True,
        ProductAvailabilityTimes=[],
        AdditionalReferences=[
            om.AdditionalReference(
                AdditionalReference=om.AdditionalReferenceType.START_FEE,
                AdditionalReferenceUnit="KILOWATT_HOUR",
                PricePerAdditionalReferenceUnit=Decimal("1.00"),
            )
        ],
    )
    return PricingData(
        products=[
            om.PricingProductData(
                OperatorID="DE*ABC",
                ProviderID="*",
                PricingDefaultPrice=Decimal("0.30"),
                PricingDefaultPriceCurrency="EUR",
                PricingDefaultReferenceUnit="KILOWATT_HOUR",
                PricingProductDataRecords=[product],
            )
        ],
        evse_pricing=[
            om.OperatorEvsePricing(
                OperatorID="DE*ABC",
                EVSEPricing=[
                    om.EvsePricing(EvseID="DE*ABC*E1", ProviderID="*", EvseIDProductList=["AC-STANDARD"])
                ],
            )
        ],
    )


async def _receive(store: MemoryStore, location: m.Location) -> None:
    assert LOCATIONS.pull is not None
    await LOCATIONS.pull.save(store, location, HUB_PARTNER_ID)


def test_offsets_become_etc_zones_only_for_whole_hours() -> None:
    assert zone_of_offset("UTC+01:00") == "Etc/GMT-1"  # the IANA sign is the other way round
    assert zone_of_offset("UTC-05:00") == "Etc/GMT+5"
    assert zone_of_offset("UTC+00:00") == "Etc/UTC"
    assert zone_of_offset("UTC+05:30") is None
    assert zone_of_offset(None) is None


def test_mirror_ids_stay_within_36_characters() -> None:
    assert mirror_id("DEABC", "STATION-1") == "DEABC-STATION-1"
    long = mirror_id("DEABC", "X" * 50)
    assert len(long) == 36 and long.startswith("DEABC-XXXX")
    assert long != mirror_id("DEABC", "X" * 49)


async def test_mirror_republishes_once_then_patches_statuses_only() -> None:
    store, clock = MemoryStore(), FixedClock(T0)
    await store.migrate()
    await register(store, clock, emsp_partner(clock))
    await _receive(store, received())
    await save_pricing(store, codec.encode(pricing()), clock.now())

    first = await mirror(store, clock, PARTY, PROVIDER)
    assert first.locations_put == ["DEABC-STATION-1"] and first.tariffs_put == ["DEABC-AC-STANDARD"]
    record = await load_location_record(store, "DE", "GWY", "DEABC-STATION-1")
    assert record is not None and record.partner_id is None  # ours now
    own = record.location
    assert own.operator == m.BusinessDetails(name="ABC Charging") and own.time_zone == "Etc/GMT-1"
    e1, e2 = own.evses or ()
    assert (e1.evse_id, e1.uid) == ("DE*ABC*E1", "DE*ABC*E1")  # the eMI3 id is kept
    assert e1.connectors[0].tariff_ids == ("DEABC-AC-STANDARD",)
    assert e2.connectors[0].tariff_ids is None  # the hub assigns E2 no product
    tariff = await load_tariff_record(store, "DE", "GWY", "DEABC-AC-STANDARD")
    assert tariff is not None
    components = {c.type: c.price for e in tariff.tariff.elements for c in e.price_components}
    assert components == {
        m.TariffDimensionType.ENERGY: Decimal("0.30"),
        m.TariffDimensionType.FLAT: Decimal("1.00"),
    }
    rows = await store.outbox_list()
    assert sorted(r.kind for r in rows) == ["locations", "tariffs"]

    # the next pull stamps everything anew but changes nothing: nothing is written
    clock.advance(timedelta(minutes=1))
    await _receive(store, received(at=DateTime.from_datetime(clock.now())))
    again = await mirror(store, clock, PARTY, PROVIDER)
    assert (again.locations_put, again.tariffs_put, again.statuses_patched, again.unchanged) == ([], [], 0, 1)
    assert len(await store.outbox_list()) == 2

    # a status change: one status PATCH, not a PUT of the location
    clock.advance(timedelta(minutes=1))
    await _receive(store, received(m.Status.CHARGING, at=DateTime.from_datetime(clock.now())))
    patched = await mirror(store, clock, PARTY, PROVIDER)
    assert (patched.locations_put, patched.statuses_patched) == ([], 1)
    rows = await store.outbox_list()
    assert len(rows) == 3
    newest = max(rows, key=lambda r: r.id)
    change = decode(newest.payload, ObjectChange)
    assert (newest.kind, change.method, change.evse_uid) == ("locations", "PATCH", "DE*ABC*E1")
    record = await load_location_record(store, "DE", "GWY", "DEABC-STATION-1")
    assert record is not None and record.location.evses is not None
    assert record.location.evses[0].status is m.Status.CHARGING


class FakeEmp:
    """The EMP service as the gateway uses it: remote start / stop answered as told, calls recorded."""

    def __init__(self, store: MemoryStore, clock: FixedClock) -> None:
        self.store, self.clock = store, clock
        self.calls: list[tuple[str, Any]] = []
        self.start_answer = om.Acknowledgement(
            Result=True,
            StatusCode=om.StatusCode(Code="000"),
            SessionID="b2f0c3d4-0000-4000-8000-000000000001",
        )
        self.before_answer: list[object] = []  # what the hub delivers while the start is under way
        self.gateway: OicpChargePoint | None = None

    async def remote_start(
        self, evse_id: str, contract_id: str, product: str | None = None
    ) -> om.Acknowledgement:
        self.calls.append(("start", (evse_id, contract_id)))
        assert self.gateway is not None
        for body in self.before_answer:
            await self.gateway.on_emp_event(body)
        return self.start_answer

    async def remote_stop(self, session_id: str) -> om.Acknowledgement:
        self.calls.append(("stop", session_id))
        return om.Acknowledgement(Result=True, StatusCode=om.StatusCode(Code="000"), SessionID=session_id)


def token(contract: str = "DE-MSP-C12345678-1") -> m.Token:
    return m.Token(
        country_code="DE",
        party_id="MSP",
        uid="APP1",
        type="APP_USER",
        contract_id=contract,
        issuer="MSP",
        valid=True,
        whitelist=m.WhitelistType.ALLOWED,
        last_updated=T0,
    )


async def _gateway(
    store: MemoryStore, clock: FixedClock
) -> tuple[OicpChargePoint, FakeEmp, list[ChargePointEvent]]:
    emp = FakeEmp(store, clock)
    gateway = OicpChargePoint(store, clock, emp, [PARTY])  # type: ignore[arg-type]
    emp.gateway = gateway
    events: list[ChargePointEvent] = []

    async def collect(event: ChargePointEvent) -> None:
        events.append(event)

    gateway.subscribe(collect)
    return gateway, emp, events


async def _mirrored_store() -> tuple[MemoryStore, FixedClock]:
    store, clock = MemoryStore(), FixedClock(T0)
    await store.migrate()
    await _receive(store, received())
    await mirror(store, clock, PARTY, PROVIDER)
    return store, clock


def start_request(contract: str = "DE-MSP-C12345678-1", evse: str | None = "DE*ABC*E1") -> StartRequest:
    return StartRequest(
        location_id="DEABC-STATION-1",
        evse_uid=evse,
        connector_id=None,
        token=token(contract),
        authorization_reference="ref-1",
    )


@pytest.mark.parametrize(
    ("code", "answer"),
    [
        ("602", Answer.OCCUPIED),
        ("700", Answer.INOPERATIVE),
        ("603", Answer.UNKNOWN),
        ("501", Answer.FAILED),
        ("017", Answer.REJECTED),
    ],
)
async def test_a_refused_remote_start_is_the_commands_answer(code: str, answer: Answer) -> None:
    store, clock = await _mirrored_store()
    gateway, emp, events = await _gateway(store, clock)
    emp.start_answer = om.Acknowledgement(Result=False, StatusCode=om.StatusCode(Code=code))
    assert await gateway.start(start_request()) is answer
    assert events == [] and await store.find("bridge_tx") is not None
    assert (await store.find("bridge_tx")).items == []


async def test_a_token_without_an_evco_id_is_rejected_before_the_hub() -> None:
    store, clock = await _mirrored_store()
    gateway, emp, _ = await _gateway(store, clock)
    assert await gateway.start(start_request(contract="NOT-AN-EVCO")) is Answer.REJECTED
    assert emp.calls == []
    assert await gateway.start(start_request(evse="DE*ABC*E9")) is Answer.UNKNOWN
    assert emp.calls == []


async def test_notifications_and_the_cdr_become_charger_events_in_order() -> None:
    store, clock = await _mirrored_store()
    gateway, emp, events = await _gateway(store, clock)
    sid = emp.start_answer.SessionID
    assert sid is not None
    t = T0 + timedelta(minutes=1)
    start = om.ChargingNotificationStart(
        SessionID=sid, EvseID="DE*ABC*E1", OperatorID="DE*ABC", ChargingStart=t, SessionStart=t
    )
    emp.before_answer = [start]  # the Start arrives before the remote start's answer: held, then used
    assert await gateway.start(start_request()) is Answer.ACCEPTED
    assert emp.calls == [("start", ("DE*ABC*E1", "DE-MSP-C12345678-1"))]
    assert [type(e) for e in events] == [TransactionStarted, MeterValues]
    started = events[0]
    assert isinstance(started, TransactionStarted)
    assert (started.transaction_id, started.location_id, started.evse_uid) == (
        sid,
        "DEABC-STATION-1",
        "DE*ABC*E1",
    )
    assert started.authorization_reference == "ref-1" and started.token.uid == "APP1"
    assert gateway.transaction(sid) is not None

    progress = om.ChargingNotificationProgress(
        SessionID=sid,
        EvseID="DE*ABC*E1",
        OperatorID="DE*ABC",
        ChargingStart=t,
        EventOccurred=t + timedelta(minutes=30),
        ConsumedEnergyProgress=Decimal("5.5"),
    )
    await gateway.on_emp_event(progress)
    await gateway.on_emp_event(progress)  # a repeat changes nothing
    reading = events[-1]
    assert isinstance(reading, MeterValues) and len(events) == 3
    assert (reading.energy, reading.power) == (Decimal("5.5"), Decimal("11.000"))  # 5.5 kWh in half an hour

    assert await gateway.stop(StopRequest(transaction_id=sid)) is Answer.ACCEPTED
    cdr = om.ChargeDetailRecord(
        SessionID=sid,
        EvseID="DE*ABC*E1",
        Identification=om.Identification(
            RemoteIdentification=om.RemoteIdentification(EvcoID="DE-MSP-C12345678-1")
        ),
        ChargingStart=t,
        ChargingEnd=t + timedelta(minutes=60),
        SessionStart=t,
        SessionEnd=t + timedelta(minutes=75),
        ConsumedEnergy=Decimal("10.0"),
    )
    await gateway.on_emp_event(cdr)
    await gateway.on_emp_event(cdr)  # once closed, a second CDR changes nothing
    end_reading, stopped = events[-2:]
    assert isinstance(end_reading, MeterValues) and isinstance(stopped, TransactionStopped)
    assert end_reading.at == t + timedelta(minutes=60) and end_reading.energy == Decimal("10.0")
    assert end_reading.state is ChargeState.SUSPENDED_EV  # parked from ChargingEnd to SessionEnd
    assert stopped.at == t + timedelta(minutes=75) and stopped.meter_stop == Decimal("10.0")
    assert stopped.reason is StopReason.REMOTE
    assert len(events) == 5 and gateway.transaction(sid) is None


async def test_a_cdr_alone_starts_and_closes_and_a_restart_takes_up_open_sessions() -> None:
    store, clock = await _mirrored_store()
    gateway, emp, events = await _gateway(store, clock)
    assert await gateway.start(start_request()) is Answer.ACCEPTED
    sid = emp.start_answer.SessionID
    assert sid is not None and events == []  # nothing from the CPO yet
    t = T0 + timedelta(minutes=1)
    await gateway.on_emp_event(
        om.ChargingNotificationStart(SessionID=sid, EvseID="DE*ABC*E1", OperatorID="DE*ABC", ChargingStart=t)
    )

    # a new process over the same store: the open transaction is known again, its readings replayed
    again, _, events2 = await _gateway(store, clock)
    resumed: list[tuple[TransactionStarted, list[MeterValues]]] = []

    async def resume(started: TransactionStarted, readings: Any) -> bool:
        resumed.append((started, list(readings)))
        return True

    assert await again.load(resume) == 1
    assert resumed[0][0].transaction_id == sid and [r.energy for r in resumed[0][1]] == [Decimal(0)]
    running = again.transaction(sid)
    assert running is not None and running.evse_uid == "DE*ABC*E1"

    # the CDR closes it
    cdr = om.ChargeDetailRecord(
        SessionID=sid,
        EvseID="DE*ABC*E1",
        Identification=om.Identification(
            RemoteIdentification=om.RemoteIdentification(EvcoID="DE-MSP-C12345678-1")
        ),
        ChargingStart=t,
        ChargingEnd=t + timedelta(minutes=40),
        SessionStart=t,
        SessionEnd=t + timedelta(minutes=40),
        ConsumedEnergy=Decimal("7.25"),
    )
    await again.on_emp_event(cdr)
    stopped = events2[-1]
    assert isinstance(stopped, TransactionStopped) and stopped.meter_stop == Decimal("7.25")
    assert stopped.reason is StopReason.LOCAL  # nobody asked the gateway to stop it
    assert again.transaction(sid) is None


async def test_a_cdr_of_a_session_started_elsewhere_is_not_ours() -> None:
    store, clock = await _mirrored_store()
    gateway, _, events = await _gateway(store, clock)
    cdr = om.ChargeDetailRecord(
        SessionID="b2f0c3d4-0000-4000-8000-00000000ffff",
        EvseID="DE*ABC*E1",
        Identification=om.Identification(
            RemoteIdentification=om.RemoteIdentification(EvcoID="DE-XYZ-C12345678-1")
        ),
        ChargingStart=T0,
        ChargingEnd=T0 + timedelta(minutes=10),
        SessionStart=T0,
        SessionEnd=T0 + timedelta(minutes=10),
        ConsumedEnergy=Decimal("1"),
    )
    await gateway.on_emp_event(cdr)
    assert events == []


class Cards:
    """The tokens module's decision as the gateway asks it: the answer given, the questions kept."""

    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.asked: list[tuple[str, str, Any]] = []

    async def authorize(self, uid: str, token_type: str, where: Any) -> AuthorizationDecision:
        self.asked.append((uid, token_type, where))
        return AuthorizationDecision(
            outcome=self.outcome,
            route=None,
            source="eMSP",
            reason="asked",
            token=msgspec.structs.replace(token(), uid="AABBCCDD", type="RFID"),
            authorization_reference="REF-9",
        )


def swipe(evse_id: str = "DE*ABC*E2", sid: str = "b2f0c3d4-0000-4000-8000-0000000000c1") -> om.AuthorizeStart:
    card = om.Identification(RFIDMifareFamilyIdentification=om.RFIDMifareFamilyIdentification(UID="AABBCCDD"))
    return om.AuthorizeStart(OperatorID="DE*ABC", EvseID=evse_id, Identification=card, SessionID=sid)


class Connected(FakeEmp):
    async def connection(self) -> Any:
        return msgspec.structs.replace(CONNECTION)


CONNECTION = Connection(role="EMP", hub_url="https://hub", id=PROVIDER, name="GWY", cert="c", key="k", ca="a")


async def test_a_card_at_a_republished_charger_is_decided_by_the_tokens_module() -> None:
    store, clock = await _mirrored_store()
    cards = Cards(Outcome.ALLOWED)
    emp = Connected(store, clock)
    gateway = OicpChargePoint(store, clock, emp, [PARTY], authorizer=cards)  # type: ignore[arg-type]
    events: list[ChargePointEvent] = []

    async def collect(event: ChargePointEvent) -> None:
        events.append(event)

    gateway.subscribe(collect)
    sid = "b2f0c3d4-0000-4000-8000-0000000000c1"
    # the Start may reach us before the authorization's answer went out: held until the session is ours
    await gateway.on_emp_event(
        om.ChargingNotificationStart(SessionID=sid, EvseID="DE*ABC*E2", OperatorID="DE*ABC", ChargingStart=T0)
    )
    assert events == []
    answer = await gateway.authorize_start(swipe())
    assert answer is not None and answer.AuthorizationStatus is om.AuthorizationStatus.AUTHORIZED
    assert (answer.ProviderID, answer.SessionID, answer.StatusCode.Code) == (PROVIDER, sid, "000")
    (uid, kind, where) = cards.asked[0]
    assert (uid, kind, where.location_id, where.evse_uids) == (
        "AABBCCDD",
        "RFID",
        "DEABC-STATION-1",
        ("DE*ABC*E2",),
    )
    started = events[0]
    assert isinstance(started, TransactionStarted)
    assert (started.transaction_id, started.evse_uid, started.auth_method) == (
        sid,
        "DE*ABC*E2",
        m.AuthMethod.AUTH_REQUEST,
    )
    assert (started.token.uid, started.authorization_reference) == ("AABBCCDD", "REF-9")

    # not ours to decide: a charger we do not republish
    assert await gateway.authorize_start(swipe(evse_id="DE*XYZ*E1")) is None
    # refused by the eMSP: not authorized, nothing kept
    gateway.authorizer = Cards(Outcome.BLOCKED)
    refused = await gateway.authorize_start(swipe(sid="b2f0c3d4-0000-4000-8000-0000000000c2"))
    assert refused is not None and refused.AuthorizationStatus is om.AuthorizationStatus.NOT_AUTHORIZED
    assert refused.StatusCode.Code == "102"
    assert len((await store.find("bridge_tx")).items) == 1
