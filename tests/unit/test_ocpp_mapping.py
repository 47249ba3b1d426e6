"""The OCPP <-> charge point port mapping, OCPP 1.6J and 2.0.1: statuses, meter values, authorization,
answers, stop reasons, charging profiles and composite schedules; and the registry's evse map and
password hashing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from evroam.chargepoint import Answer, ChargeState, ChargingLimit, LimitPeriod, LimitUnit, StopReason
from evroam.chargepoint.ocpp import EvseTarget, RegistryError, hash_password, parse_evse_map, verify_password
from evroam.chargepoint.ocpp.mapping import (
    OCPP16,
    OCPP201,
    active_limit_of,
    answer_of,
    authorization_status,
    charge_state_16,
    charge_state_201,
    ocpp_time,
    parse_time,
    profile_16,
    profile_201,
    reading_of,
    reservation_number,
    status_16,
    status_201,
    stop_reason_16,
    stop_reason_201,
)
from evroam.chargepoint.ocpp.registry import ChargerRecord
from evroam.core.types import DateTime
from evroam.model.enums import Status

T0 = DateTime.parse("2026-03-01T10:00:00Z")


@pytest.mark.parametrize(
    ("ocpp", "ocpi"),
    [
        ("Available", Status.AVAILABLE),
        ("Preparing", Status.CHARGING),
        ("Charging", Status.CHARGING),
        ("SuspendedEV", Status.CHARGING),
        ("SuspendedEVSE", Status.CHARGING),
        ("Finishing", Status.CHARGING),
        ("Reserved", Status.RESERVED),
        ("Unavailable", Status.INOPERATIVE),
        ("Faulted", Status.OUTOFORDER),
        ("Exploded", Status.UNKNOWN),
    ],
)
def test_ocpp16_statuses(ocpp: str, ocpi: Status) -> None:
    assert status_16(ocpp) is ocpi


@pytest.mark.parametrize(
    ("ocpp", "ocpi"),
    [
        ("Available", Status.AVAILABLE),
        ("Occupied", Status.CHARGING),
        ("Reserved", Status.RESERVED),
        ("Unavailable", Status.INOPERATIVE),
        ("Faulted", Status.OUTOFORDER),
    ],
)
def test_ocpp201_statuses(ocpp: str, ocpi: Status) -> None:
    assert status_201(ocpp) is ocpi


def test_charge_states_of_both_versions() -> None:
    assert charge_state_16("Charging") is ChargeState.CHARGING
    assert charge_state_16("SuspendedEV") is ChargeState.SUSPENDED_EV
    assert charge_state_16("Available") is None and charge_state_16(None) is None
    assert charge_state_201("Charging") is ChargeState.CHARGING
    assert charge_state_201("EVConnected") is ChargeState.SUSPENDED_EV
    assert charge_state_201(None) is None


def test_times_in_and_out() -> None:
    assert parse_time("2026-03-01T11:00:00+01:00") == T0
    assert parse_time("2026-03-01T10:00:00") == T0  # naive: UTC
    assert parse_time("2026-03-01T10:00:00.000Z") == T0
    assert ocpp_time(T0) == "2026-03-01T10:00:00.000Z"


def test_a_16_meter_value_in_wh_and_w_per_phase() -> None:
    reading = reading_of(
        {
            "timestamp": "2026-03-01T10:05:00Z",
            "sampled_value": [
                {"value": "12345"},  # no measurand: the energy register, Wh
                {"value": "3680", "measurand": "Power.Active.Import", "unit": "W", "phase": "L1"},
                {"value": "3680", "measurand": "Power.Active.Import", "unit": "W", "phase": "L2"},
                {"value": "3680", "measurand": "Power.Active.Import", "unit": "W", "phase": "L3"},
                {"value": "16", "measurand": "Current.Import", "unit": "A", "phase": "L1"},
                {"value": "15.5", "measurand": "Current.Import", "unit": "A", "phase": "L2"},
                {"value": "49.9", "measurand": "Frequency"},
            ],
        },
        version=OCPP16,
    )
    assert reading.at == parse_time("2026-03-01T10:05:00Z")
    assert (reading.energy, reading.power, reading.current) == (
        Decimal("12.345"),
        Decimal("11.04"),
        Decimal(16),
    )


def test_a_16_meter_value_in_kwh_and_kw_total() -> None:
    reading = reading_of(
        {
            "timestamp": "2026-03-01T10:05:00Z",
            "sampled_value": [
                {"value": "3.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh", "phase": "L1"},
                {"value": "10.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
                {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"},
                {"value": "not a number", "measurand": "Power.Active.Import", "unit": "kW"},
            ],
        },
        version=OCPP16,
    )
    assert (reading.energy, reading.power) == (Decimal("10.5"), Decimal("7.2"))


def test_a_201_meter_value_with_units_of_measure_and_multipliers() -> None:
    reading = reading_of(
        {
            "timestamp": "2026-03-01T10:05:00Z",
            "sampled_value": [
                {"value": 42.5, "unit_of_measure": {"unit": "kWh"}},
                {
                    "value": 11,
                    "measurand": "Power.Active.Import",
                    "unit_of_measure": {"unit": "W", "multiplier": 3},
                },
            ],
        },
        version=OCPP201,
    )
    assert (reading.energy, reading.power, reading.current) == (Decimal("42.5"), Decimal(11), None)
    default = reading_of(
        {"timestamp": "2026-03-01T10:05:00Z", "sampled_value": [{"value": 1500}]}, version=OCPP201
    )
    assert default.energy == Decimal("1.5")  # Wh by default


@pytest.mark.parametrize(
    ("outcome", "v16", "v201"),
    [
        ("ALLOWED", "Accepted", "Accepted"),
        ("BLOCKED", "Blocked", "Blocked"),
        ("EXPIRED", "Expired", "Expired"),
        ("NO_CREDIT", "Invalid", "NoCredit"),
        ("NOT_ALLOWED", "Invalid", "NotAtThisLocation"),
        ("UNKNOWN_TOKEN", "Invalid", "Unknown"),
        ("EMSP_UNREACHABLE", "Invalid", "Invalid"),
    ],
)
def test_authorization_statuses(outcome: str, v16: str, v201: str) -> None:
    assert authorization_status(outcome, version=OCPP16) == v16
    assert authorization_status(outcome, version=OCPP201) == v201


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        ("Accepted", Answer.ACCEPTED),
        ("Rejected", Answer.REJECTED),
        ("Unlocked", Answer.ACCEPTED),
        ("UnlockFailed", Answer.FAILED),
        ("NotSupported", Answer.NOT_SUPPORTED),
        ("Occupied", Answer.OCCUPIED),
        ("OngoingAuthorizedTransaction", Answer.OCCUPIED),
        ("Faulted", Answer.INOPERATIVE),
        ("Unavailable", Answer.INOPERATIVE),
        ("UnknownConnector", Answer.UNKNOWN),
        ("Whatever", Answer.REJECTED),
        (None, Answer.REJECTED),
    ],
)
def test_answers(status: str | None, answer: Answer) -> None:
    assert answer_of(status) is answer


def test_stop_reasons() -> None:
    assert stop_reason_16(None) is StopReason.LOCAL
    assert stop_reason_16("Remote") is StopReason.REMOTE
    assert stop_reason_16("EVDisconnected") is StopReason.EV_DISCONNECTED
    assert stop_reason_16("UnlockCommand") is StopReason.UNLOCK_COMMAND
    assert stop_reason_16("PowerLoss") is StopReason.FAULT
    assert stop_reason_201("Remote") is StopReason.REMOTE
    assert stop_reason_201("GroundFault") is StopReason.FAULT
    assert stop_reason_201(None) is StopReason.LOCAL


def test_reservation_numbers_are_stable_31_bit_and_case_insensitive() -> None:
    number = reservation_number("emsp-1:R-77")
    assert number == reservation_number("EMSP-1:r-77")
    assert 0 <= number < 2**31
    assert number != reservation_number("emsp-1:R-78")


LIMIT = ChargingLimit(
    unit=LimitUnit.W,
    periods=(
        LimitPeriod(start=T0, limit=Decimal(11000)),
        LimitPeriod(start=parse_time("2026-03-01T10:30:00Z"), limit=None),
        LimitPeriod(start=parse_time("2026-03-01T11:00:00Z"), limit=Decimal(7400)),
    ),
    min_rate=Decimal(1400),
)


def test_a_limit_as_a_16_tx_profile() -> None:
    profile = profile_16(LIMIT, profile_id=7, transaction_id=42, now=T0)
    assert profile == {
        "charging_profile_id": 7,
        "stack_level": 1,
        "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Absolute",
        "transaction_id": 42,
        "charging_schedule": {
            "charging_rate_unit": "W",
            "start_schedule": "2026-03-01T10:00:00.000Z",
            "min_charging_rate": 1400.0,
            "charging_schedule_period": [
                {"start_period": 0, "limit": 11000.0},
                {"start_period": 1800, "limit": 1_000_000.0},  # no limit: a very high one
                {"start_period": 3600, "limit": 7400.0},
            ],
        },
    }
    evse = profile_16(LIMIT, profile_id=8, transaction_id=None, now=T0)
    assert evse["charging_profile_purpose"] == "TxDefaultProfile" and "transaction_id" not in evse


def test_a_limit_as_a_201_tx_profile() -> None:
    amps = ChargingLimit(
        unit=LimitUnit.A, periods=(LimitPeriod(start=parse_time("2026-03-01T10:10:00Z"), limit=Decimal(16)),)
    )
    profile = profile_201(amps, profile_id=9, transaction_id="TX-1", now=T0)
    assert profile == {
        "id": 9,
        "stack_level": 1,
        "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Absolute",
        "transaction_id": "TX-1",
        "charging_schedule": [
            {
                "id": 9,
                "charging_rate_unit": "A",
                "start_schedule": "2026-03-01T10:10:00.000Z",
                "charging_schedule_period": [{"start_period": 0, "limit": 16.0}],
            }
        ],
    }


def test_composite_schedules_of_both_versions_as_active_limits() -> None:
    v16 = {
        "start_schedule": "2026-03-01T10:00:00Z",
        "duration": 900,
        "charging_rate_unit": "W",
        "charging_schedule_period": [
            {"start_period": 0, "limit": 11000},
            {"start_period": 600, "limit": 7400},
        ],
    }
    active = active_limit_of(v16, transaction_id="3", duration=1800, now=T0)
    assert active is not None
    assert (active.transaction_id, active.start, active.duration, active.unit) == ("3", T0, 900, LimitUnit.W)
    assert [(p.start, p.limit) for p in active.periods] == [
        (T0, Decimal(11000)),
        (parse_time("2026-03-01T10:10:00Z"), Decimal(7400)),
    ]
    v201 = {
        "evse_id": 1,
        "duration": 600,
        "schedule_start": "2026-03-01T10:00:00Z",
        "charging_rate_unit": "A",
        "charging_schedule_period": [{"start_period": 0, "limit": 16.0}],
    }
    active = active_limit_of(v201, transaction_id="4", duration=600, now=T0)
    assert active is not None and active.unit is LimitUnit.A and active.periods[0].limit == Decimal(16)
    assert active_limit_of(None, transaction_id="5", duration=60, now=T0) is None
    assert active_limit_of({"charging_schedule_period": []}, transaction_id="5", duration=60, now=T0) is None


def test_the_evse_map_of_both_versions() -> None:
    mapping = parse_evse_map(["1=EVSE-A/1", "2=EVSE-B/1", "3.2=EVSE-C/2"])
    record = ChargerRecord(id="CP", location_id="L", evse_map=mapping, created=T0)
    assert record.target(1) == EvseTarget("EVSE-A", "1")
    assert record.target(3, 2) == EvseTarget("EVSE-C", "2")
    assert record.target(2, 1) == EvseTarget("EVSE-B", "1")  # no 2.1 entry: the EVSE's
    assert record.target(4) is None
    assert record.number_of("evse-b") == (2, None)
    assert record.number_of("EVSE-C", "2") == (3, 2)
    assert record.number_of("EVSE-C", "1") is None
    assert record.evse_uids() == ["EVSE-A", "EVSE-B", "EVSE-C"]


@pytest.mark.parametrize(
    "items",
    [["1=EVSE-A"], ["EVSE-A/1"], ["0=EVSE-A/1"], ["x=EVSE-A/1"], ["1=/1"], ["1=A/1", "1=B/1"], []],
)
def test_bad_evse_maps_are_refused(items: list[str]) -> None:
    with pytest.raises(RegistryError):
        parse_evse_map(items)


def test_passwords_are_hashed_with_scrypt_and_checked() -> None:
    stored = hash_password("a-charger-password")
    assert stored.startswith("scrypt$16384$8$1$") and "a-charger-password" not in stored
    assert verify_password("a-charger-password", stored)
    assert not verify_password("another-password", stored)
    assert not verify_password("a-charger-password", "plain$text")
    with pytest.raises(RegistryError):
        hash_password("short")
