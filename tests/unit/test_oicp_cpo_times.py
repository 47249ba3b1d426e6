"""The times a CPO's charging notifications carry: the charger's, as in the CDR.

Found by tests/integration/test_bridge_both.py: a Progress notification said ``EventOccurred`` = the
session's ``last_updated`` (when the node stored the change, the node's clock) while ``ChargingStart`` is
the charger's, so under the simulator (whose clock runs ahead) ``ChargingDuration`` came out negative
(-33 s); and the End notification said ``ChargingEnd`` = ``SessionEnd`` where the CDR of the same session
said charging ended an hour earlier, when the car was full.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from evroam.core.types import CiString, DateTime
from evroam.model.cdrs import CdrDimension, CdrToken, ChargingPeriod
from evroam.model.enums import AuthMethod, CdrDimensionType, SessionStatus
from evroam.model.sessions import Session
from evroam.modules.oicp.cpo import charging_end_of, progress_at_of

START = DateTime.parse("2026-03-02T10:00:00Z")


def _period(minutes: int, energy: str, kind: CdrDimensionType, hours: str) -> ChargingPeriod:
    return ChargingPeriod(
        start_date_time=DateTime.from_datetime(START + timedelta(minutes=minutes)),
        dimensions=(
            CdrDimension(type=CdrDimensionType.ENERGY, volume=Decimal(energy)),
            CdrDimension(type=kind, volume=Decimal(hours)),
        ),
    )


def _session(periods: tuple[ChargingPeriod, ...], last_updated: str) -> Session:
    return Session(
        country_code=CiString("DE"),
        party_id=CiString("ABC"),
        id=CiString("S1"),
        start_date_time=START,
        kwh=Decimal(10),
        cdr_token=CdrToken(uid=CiString("U"), type="APP_USER", contract_id=CiString("DE-XYZ-C1")),
        auth_method=AuthMethod.COMMAND,
        location_id=CiString("LOC1"),
        currency="EUR",
        status=SessionStatus.ACTIVE,
        last_updated=DateTime.parse(last_updated),
        charging_periods=periods,
    )


CHARGING, PARKED = CdrDimensionType.TIME, CdrDimensionType.PARKING_TIME


def test_progress_event_is_the_latest_reading_on_the_chargers_clock() -> None:
    # readings at 10:00, 10:30 and 11:15 (charger); the node stored the last one at 09:59:27 (its clock
    # 33 s and more behind): the event is 11:15, 75 minutes after the start
    periods = (_period(0, "5", CHARGING, "0.5"), _period(30, "5", CHARGING, "0.75"))
    at = progress_at_of(_session(periods, "2026-03-02T09:59:27Z"))
    assert at == DateTime.parse("2026-03-02T11:15:00Z")
    # the last period parked (the car full): its PARKING_TIME counts the same way, 11:00 + 0.25 h
    parked = (_period(0, "10", CHARGING, "1"), _period(60, "0", PARKED, "0.25"))
    assert progress_at_of(_session(parked, "2026-03-02T09:00:00Z")) == DateTime.parse("2026-03-02T11:15:00Z")


def test_progress_event_without_timed_periods_falls_back_but_never_before_the_start() -> None:
    assert progress_at_of(_session((), "2026-03-02T10:07:00Z")) == DateTime.parse("2026-03-02T10:07:00Z")
    assert progress_at_of(_session((), "2026-03-02T09:59:27Z")) == START  # ChargingDuration 0, not -33 s


def test_charging_end_is_where_the_last_energy_period_ends() -> None:
    end = DateTime.parse("2026-03-02T12:00:00Z")
    periods = (
        _period(0, "6", CHARGING, "1"),
        _period(60, "4", CHARGING, "0.5"),
        _period(90, "0", PARKED, "0.5"),  # full from 11:30
    )
    assert charging_end_of(periods, end) == DateTime.parse("2026-03-02T11:30:00Z")
    assert charging_end_of(periods[:2], end) == end  # charging until the session's end
    assert charging_end_of((_period(0, "0", PARKED, "2"),), end) == end  # no energy at all
    assert charging_end_of((), end) == end
