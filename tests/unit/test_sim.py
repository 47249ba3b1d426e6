"""The charge point simulator on hand-moved time: commands, drivers, meter readings, reservations, faults."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest

from evroam import model as m
from evroam.chargepoint import (
    Answer,
    CancelRequest,
    ChargePointEvent,
    ChargeState,
    MeterValues,
    ReserveRequest,
    StartRequest,
    StatusChanged,
    StopReason,
    StopRequest,
    TransactionStarted,
    TransactionStopped,
    UnlockRequest,
)
from evroam.core.clock import SequentialIds
from evroam.core.types import DateTime
from evroam.sim import CarProfile, ManualTime, ScaledTime, SimOptions, Simulator

T0 = "2026-01-05T08:00:00Z"


def _connector(power_type: m.PowerType, watts: int) -> m.Connector:
    return m.Connector(
        id="1",
        standard="IEC_62196_T2",
        format=m.ConnectorFormat.SOCKET,
        power_type=power_type,
        max_voltage=230 if power_type != m.PowerType.DC else 500,
        max_amperage=32,
        max_electric_power=watts,
        last_updated=DateTime.parse(T0),
    )


def _location(status_of_ac2: m.Status = m.Status.AVAILABLE) -> m.Location:
    at = DateTime.parse(T0)
    return m.Location(
        country_code="NL",
        party_id="CPO",
        id="LOC1",
        address="Main street 1",
        city="Utrecht",
        country="NLD",
        coordinates=m.GeoLocation(latitude="52.09074", longitude="5.12142"),
        last_updated=at,
        evses=(
            m.EVSE(
                uid="AC1",
                status=m.Status.CHARGING,
                connectors=(_connector(m.PowerType.AC_3_PHASE, 22080),),
                last_updated=at,
            ),
            m.EVSE(
                uid="AC2",
                status=status_of_ac2,
                connectors=(_connector(m.PowerType.AC_3_PHASE, 22080),),
                last_updated=at,
            ),
            m.EVSE(
                uid="DC1",
                status=m.Status.AVAILABLE,
                connectors=(_connector(m.PowerType.DC, 50000),),
                last_updated=at,
            ),
        ),
    )


def _token(uid: str = "TOKEN1", party: tuple[str, str] = ("DE", "EMS")) -> m.Token:
    return m.Token(
        country_code=party[0],
        party_id=party[1],
        uid=uid,
        type="APP_USER",
        contract_id=f"DE-EMS-C{uid}",
        issuer="eMSP",
        valid=True,
        whitelist=m.WhitelistType.ALLOWED,
        last_updated=DateTime.parse(T0),
    )


class Rig:
    def __init__(self, **options: object) -> None:
        self.time = ManualTime(T0)
        self.events: list[ChargePointEvent] = []
        defaults: dict[str, object] = {"plug_delay": 30.0, "unplug_delay": 60.0, "meter_interval": 300.0}
        defaults.update(options)
        self.sim = Simulator(
            [_location()], time=self.time, ids=SequentialIds("tx"), options=SimOptions(**defaults)
        )  # type: ignore[arg-type]

        async def record(event: ChargePointEvent) -> None:
            self.events.append(event)

        self.sim.subscribe(record)

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]

    async def start(self, evse: str | None = "AC2", token: m.Token | None = None) -> Answer:
        return await self.sim.start(
            StartRequest(
                location_id="LOC1",
                evse_uid=evse,
                connector_id=None,
                token=token or _token(),
                authorization_reference="REF1",
            )
        )


async def test_power_on_reports_the_real_state_of_stale_statuses() -> None:
    rig = Rig()
    await rig.sim.power_on()
    # AC1 was stored CHARGING without any transaction: the charger says AVAILABLE
    assert [(e.evse_uid, e.status) for e in rig.of(StatusChanged)] == [("AC1", m.Status.AVAILABLE)]


async def test_remote_start_plug_in_meter_readings_and_remote_stop() -> None:
    rig = Rig()
    await rig.sim.power_on()
    rig.events.clear()
    assert await rig.start() is Answer.ACCEPTED
    assert rig.events == []  # the driver has not plugged in yet
    await rig.time.advance(30)
    started = rig.of(TransactionStarted)
    assert len(started) == 1
    tx = started[0]
    assert (tx.evse_uid, tx.connector_id, tx.authorization_reference) == ("AC2", "1", "REF1")
    assert tx.auth_method is m.AuthMethod.COMMAND
    assert tx.at == DateTime.parse("2026-01-05T08:00:30Z")
    assert [(e.evse_uid, e.status) for e in rig.of(StatusChanged)] == [("AC2", m.Status.CHARGING)]
    assert rig.sim.transaction(tx.transaction_id) is not None
    # one hour of charging: the car takes 11 kW (its AC limit) from the 22 kW connector
    await rig.time.advance(3600)
    readings = rig.of(MeterValues)
    assert len(readings) == 13  # one at the start, then every 300 s
    assert readings[-1].energy - tx.meter_start == Decimal("11.000")
    assert all(r.power == Decimal("11.00") and r.state is ChargeState.CHARGING for r in readings)
    assert [r.at - readings[0].at for r in readings[:3]] == [
        timedelta(0),
        timedelta(seconds=300),
        timedelta(seconds=600),
    ]
    # remote stop half-way through an interval: the last reading is taken at the stop
    await rig.time.advance(150)
    assert await rig.sim.stop(StopRequest(transaction_id=tx.transaction_id)) is Answer.ACCEPTED
    stopped = rig.of(TransactionStopped)
    assert len(stopped) == 1 and stopped[0].reason is StopReason.REMOTE
    assert stopped[0].meter_stop - tx.meter_start == Decimal("11.458")  # 11 kW for 3750 s
    assert rig.of(MeterValues)[-1].energy == stopped[0].meter_stop
    assert rig.sim.transaction(tx.transaction_id) is None
    assert rig.sim.status("AC2") is m.Status.CHARGING  # still plugged in
    await rig.time.advance(60)
    assert rig.sim.status("AC2") is m.Status.AVAILABLE
    assert await rig.sim.stop(StopRequest(transaction_id=tx.transaction_id)) is Answer.UNKNOWN


async def test_start_answers_unknown_occupied_and_inoperative() -> None:
    rig = Rig()
    await rig.sim.power_on()
    assert (
        await rig.sim.start(
            StartRequest(location_id="NOPE", evse_uid=None, connector_id=None, token=_token())
        )
        is Answer.UNKNOWN
    )
    assert await rig.start("NOPE") is Answer.UNKNOWN
    assert (
        await rig.sim.start(
            StartRequest(location_id="LOC1", evse_uid="AC2", connector_id="9", token=_token())
        )
        is Answer.UNKNOWN
    )
    assert await rig.start("AC2") is Answer.ACCEPTED
    assert await rig.start("AC2", _token("OTHER")) is Answer.OCCUPIED  # waiting for its driver
    await rig.sim.fault("DC1")
    assert rig.sim.status("DC1") is m.Status.OUTOFORDER
    assert await rig.start("DC1") is Answer.INOPERATIVE
    await rig.sim.repair("DC1")
    assert rig.sim.status("DC1") is m.Status.AVAILABLE


async def test_a_start_without_evse_picks_a_free_one_and_lapses_without_a_driver() -> None:
    rig = Rig(auto_plug=False, connection_timeout=120.0)
    await rig.sim.power_on()
    assert await rig.start(None) is Answer.ACCEPTED
    assert await rig.start(None, _token("B")) is Answer.ACCEPTED
    assert await rig.start(None, _token("C")) is Answer.ACCEPTED
    assert await rig.start(None, _token("D")) is Answer.OCCUPIED  # all three wait for a driver
    await rig.time.advance(121)
    assert rig.of(TransactionStarted) == []
    assert await rig.start(None, _token("D")) is Answer.ACCEPTED  # the starts lapsed
    info = await rig.sim.plug_in("AC1")
    assert info is not None and info.token.uid == "D"


async def test_fault_stops_a_running_transaction() -> None:
    rig = Rig()
    await rig.sim.power_on()
    await rig.start("DC1")
    await rig.time.advance(30)
    await rig.sim.fault("DC1")
    (stopped,) = rig.of(TransactionStopped)
    assert stopped.reason is StopReason.FAULT
    assert rig.sim.status("DC1") is m.Status.OUTOFORDER


async def test_dc_charging_tapers_and_a_full_car_draws_nothing() -> None:
    rig = Rig(car=CarProfile(battery_kwh=40.0, start_soc=0.5, max_dc_kw=100.0))
    await rig.sim.power_on()
    await rig.start("DC1")
    await rig.time.advance(30 + 2 * 3600)
    readings = rig.of(MeterValues)
    assert readings[0].power == Decimal("50.00")  # the connector's 50 kW, below the car's 100 kW
    assert any(Decimal(0) < r.power < Decimal(50) for r in readings)  # tapering above 80 %
    assert readings[-1].state is ChargeState.SUSPENDED_EV and readings[-1].power == 0
    assert readings[-1].energy - readings[0].energy == Decimal("20.000")  # 50 % of 40 kWh, then full


async def test_reservations_hold_an_evse_for_their_token_until_cancelled_or_expired() -> None:
    rig = Rig()
    await rig.sim.power_on()
    rig.events.clear()
    expiry = DateTime.parse("2026-01-05T08:30:00Z")

    def reserve(rid: str, evse: str | None, token: m.Token) -> ReserveRequest:
        return ReserveRequest(
            reservation_id=rid, location_id="LOC1", evse_uid=evse, token=token, expiry_date=expiry
        )

    assert await rig.sim.reserve(reserve("R1", "AC2", _token())) is Answer.ACCEPTED
    assert rig.sim.status("AC2") is m.Status.RESERVED
    assert await rig.sim.reserve(reserve("R2", "AC2", _token("B"))) is Answer.OCCUPIED
    assert await rig.start("AC2", _token("B")) is Answer.OCCUPIED
    assert await rig.sim.cancel_reservation(CancelRequest(reservation_id="R9")) is Answer.UNKNOWN
    assert await rig.sim.cancel_reservation(CancelRequest(reservation_id="R1")) is Answer.ACCEPTED
    assert rig.sim.status("AC2") is m.Status.AVAILABLE
    # expiry
    assert await rig.sim.reserve(reserve("R3", "AC2", _token())) is Answer.ACCEPTED
    await rig.time.advance(1799)
    assert rig.sim.status("AC2") is m.Status.RESERVED
    await rig.time.advance(2)
    assert rig.sim.status("AC2") is m.Status.AVAILABLE
    assert await rig.sim.cancel_reservation(CancelRequest(reservation_id="R3")) is Answer.UNKNOWN
    # the reserving token starts on its reserved EVSE, which the reservation then no longer holds
    expiry = DateTime.parse("2026-01-05T10:00:00Z")
    assert await rig.sim.reserve(reserve("R4", None, _token())) is Answer.ACCEPTED
    reserved = [e.evse_uid for e in rig.of(StatusChanged) if e.status is m.Status.RESERVED][-1]
    assert await rig.start(None) is Answer.ACCEPTED
    await rig.time.advance(30)
    assert rig.of(TransactionStarted)[-1].evse_uid == reserved
    assert await rig.sim.cancel_reservation(CancelRequest(reservation_id="R4")) is Answer.UNKNOWN


async def test_unlock_stops_the_transaction_on_that_connector() -> None:
    rig = Rig()
    await rig.sim.power_on()
    await rig.start("AC2")
    await rig.time.advance(30)
    unknown = UnlockRequest(location_id="LOC1", evse_uid="AC2", connector_id="7")
    assert await rig.sim.unlock(unknown) is Answer.UNKNOWN
    assert (
        await rig.sim.unlock(UnlockRequest(location_id="LOC1", evse_uid="AC2", connector_id="1"))
        is Answer.ACCEPTED
    )
    (stopped,) = rig.of(TransactionStopped)
    assert stopped.reason is StopReason.UNLOCK_COMMAND
    assert rig.sim.status("AC2") is m.Status.AVAILABLE  # unplugged at once
    rig.sim.configure(unlock_fails=True)
    assert (
        await rig.sim.unlock(UnlockRequest(location_id="LOC1", evse_uid="AC2", connector_id="1"))
        is Answer.FAILED
    )


async def test_a_charger_told_to_never_answer_never_does() -> None:
    rig = Rig(never_answer=frozenset({"start"}))
    await rig.sim.power_on()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(rig.start(), 0.05)
    assert rig.sim.transactions == []
    assert (
        await rig.sim.cancel_reservation(CancelRequest(reservation_id="X")) is Answer.UNKNOWN
    )  # others answer
    rig.sim.configure(never_answer=frozenset({"all"}))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(rig.sim.cancel_reservation(CancelRequest(reservation_id="X")), 0.05)


def test_options_refuse_unknown_command_kinds() -> None:
    with pytest.raises(ValueError, match="unknown command kinds"):
        SimOptions(never_answer=frozenset({"reboot"}))


async def test_unavailable_evses_stay_unavailable_until_repaired() -> None:
    time = ManualTime(T0)
    sim = Simulator([_location(m.Status.INOPERATIVE)], time=time, ids=SequentialIds("tx"))
    await sim.power_on()
    assert sim.status("AC2") is m.Status.INOPERATIVE
    answer = await sim.start(
        StartRequest(location_id="LOC1", evse_uid="AC2", connector_id=None, token=_token())
    )
    assert answer is Answer.INOPERATIVE


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 100.0

    def __call__(self) -> float:
        return self.value


def test_scaled_time_runs_fast_only_while_busy() -> None:
    real = FakeMonotonic()
    clock = ScaledTime(DateTime.parse(T0), speed=3600, idle_speed=1, monotonic=real)
    real.value += 10
    assert clock.now() == DateTime.parse("2026-01-05T08:00:10Z")
    clock.set_busy(True)
    real.value += 1
    assert clock.now() == DateTime.parse("2026-01-05T09:00:10Z")
    clock.set_busy(False)
    real.value += 5
    assert clock.now() == DateTime.parse("2026-01-05T09:00:15Z")
    with pytest.raises(ValueError):
        ScaledTime(DateTime.parse(T0), speed=0)


async def test_scaled_time_sleeps_in_simulated_seconds() -> None:
    clock = ScaledTime(DateTime.parse(T0), speed=1000)
    clock.set_busy(True)
    before = clock.now()
    # 50 simulated seconds are 0.05 s of real time; at real speed they would outlast the bound
    await asyncio.wait_for(clock.sleep(50), timeout=20)
    assert clock.now() - before >= timedelta(seconds=50)


async def test_an_offline_evse_never_answers_while_the_others_do() -> None:
    rig = Rig(offline_evses=frozenset({"ac2"}))
    await rig.sim.power_on()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(rig.start("AC2"), 0.05)
    unlock = UnlockRequest(location_id="LOC1", evse_uid="AC2", connector_id="1")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(rig.sim.unlock(unlock), 0.05)
    assert await rig.start("DC1") is Answer.ACCEPTED
