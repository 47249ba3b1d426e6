"""OCPP <-> charge point port, as pure functions: statuses, meter values, authorization, answers and
charging schedules, for OCPP 1.6J and 2.0.1. No I/O; the central system (:mod:`.central`) calls them.

Payloads are the ``ocpp`` library's: dictionaries and lists with snake_case keys (the library turns
camelCase into snake_case on the way in and back on the way out).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from evroam.core.types import DateTime
from evroam.model.enums import Status

from ..port import ActiveLimit, Answer, ChargeState, ChargingLimit, LimitPeriod, LimitUnit, StopReason

__all__ = [
    "OCPP16",
    "OCPP201",
    "Reading",
    "active_limit_of",
    "answer_of",
    "authorization_status",
    "charge_state_16",
    "charge_state_201",
    "ocpp_time",
    "parse_time",
    "profile_16",
    "profile_201",
    "reading_of",
    "reservation_number",
    "status_16",
    "status_201",
    "stop_reason_16",
    "stop_reason_201",
]

OCPP16 = "ocpp1.6"
OCPP201 = "ocpp2.0.1"

_KILO = Decimal(1000)
ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
_PHASES = frozenset({"L1", "L2", "L3", "L1-N", "L2-N", "L3-N"})
NO_LIMIT_W = Decimal(1_000_000)
"""What an OCPP schedule says for a port period without a limit (OCPP has no "unlimited")."""
NO_LIMIT_A = Decimal(1000)


def parse_time(text: str) -> DateTime:
    """An OCPP timestamp (RFC 3339; a naive one is taken as UTC) as a UTC :class:`DateTime`."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return DateTime.from_datetime(value.astimezone(UTC))


def ocpp_time(value: datetime) -> str:
    """A time as OCPP wants it: UTC with ``Z``, to the millisecond at most."""
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


# -- statuses -------------------------------------------------------------------------------------------

_STATUS_16: dict[str, Status] = {
    "Available": Status.AVAILABLE,
    "Preparing": Status.CHARGING,
    "Charging": Status.CHARGING,
    "SuspendedEV": Status.CHARGING,
    "SuspendedEVSE": Status.CHARGING,
    "Finishing": Status.CHARGING,
    "Reserved": Status.RESERVED,
    "Unavailable": Status.INOPERATIVE,
    "Faulted": Status.OUTOFORDER,
}

_STATUS_201: dict[str, Status] = {
    "Available": Status.AVAILABLE,
    "Occupied": Status.CHARGING,
    "Reserved": Status.RESERVED,
    "Unavailable": Status.INOPERATIVE,
    "Faulted": Status.OUTOFORDER,
}


def status_16(status: str) -> Status:
    """An OCPP 1.6 ChargePointStatus as the OCPI EVSE status (an EVSE in use is CHARGING in OCPI)."""
    return _STATUS_16.get(status, Status.UNKNOWN)


def status_201(status: str) -> Status:
    """An OCPP 2.0.1 ConnectorStatus as the OCPI EVSE status."""
    return _STATUS_201.get(status, Status.UNKNOWN)


def charge_state_16(status: str | None) -> ChargeState | None:
    """What a 1.6 connector status says of a running transaction (``None``: nothing)."""
    if status == "Charging":
        return ChargeState.CHARGING
    if status in ("SuspendedEV", "SuspendedEVSE"):
        return ChargeState.SUSPENDED_EV
    return None


def charge_state_201(state: str | None) -> ChargeState | None:
    """A 2.0.1 ChargingStateEnumType as the port's state (``None``: not said)."""
    if state == "Charging":
        return ChargeState.CHARGING
    if state in ("SuspendedEV", "SuspendedEVSE", "EVConnected", "Idle"):
        return ChargeState.SUSPENDED_EV
    return None


# -- meter values ---------------------------------------------------------------------------------------


class Reading(msgspec.Struct, frozen=True, kw_only=True):
    """What one OCPP MeterValue says: the energy register (kWh), power (kW), current (A), when read."""

    at: DateTime
    energy: Decimal | None = None
    power: Decimal | None = None
    current: Decimal | None = None


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _scaled(value: Decimal, unit: str, multiplier: int = 0) -> Decimal:
    """``value`` in ``unit`` (Wh, kWh, W, kW, A) as kWh, kW or A."""
    value = value.scaleb(multiplier) if multiplier else value
    if unit in ("Wh", "W", "VA", "var"):
        return value / _KILO
    return value


def reading_of(meter_value: Mapping[str, Any], *, version: str) -> Reading:
    """One OCPP MeterValue (``timestamp`` + ``sampled_value``) as a :class:`Reading`.

    The energy register is the sample without a measurand, or ``Energy.Active.Import.Register``
    (the first without a phase, else the sum over phases is not meaningful: the first one wins);
    power is ``Power.Active.Import`` (summed over phases when only per-phase samples come); current is
    the largest ``Current.Import`` of a phase. Units: 1.6 ``unit`` strings (Wh default), 2.0.1
    ``unit_of_measure`` with ``multiplier``."""
    energy: Decimal | None = None
    power_total: Decimal | None = None
    power_phases: Decimal | None = None
    current: Decimal | None = None
    for sample in meter_value.get("sampled_value") or ():
        measurand = sample.get("measurand") or ENERGY
        value = _number(sample.get("value"))
        if value is None:
            continue
        if version == OCPP16:
            unit = sample.get("unit") or ("Wh" if measurand == ENERGY else "W" if measurand == POWER else "A")
            multiplier = 0
        else:
            measure = sample.get("unit_of_measure") or {}
            unit = measure.get("unit") or (
                "Wh" if measurand == ENERGY else "W" if measurand == POWER else "A"
            )
            multiplier = int(measure.get("multiplier") or 0)
        scaled = _scaled(value, unit, multiplier)
        phase = sample.get("phase")
        if measurand == ENERGY:
            if phase is None or energy is None:
                energy = scaled
        elif measurand == POWER:
            if phase is None:
                power_total = scaled
            elif phase in _PHASES:
                power_phases = scaled + (power_phases or Decimal(0))
        elif measurand == CURRENT:
            current = scaled if current is None else max(current, scaled)
    return Reading(
        at=parse_time(str(meter_value["timestamp"])),
        energy=energy,
        power=power_total if power_total is not None else power_phases,
        current=current,
    )


# -- authorization --------------------------------------------------------------------------------------

_AUTH_16 = {
    "ALLOWED": "Accepted",
    "BLOCKED": "Blocked",
    "EXPIRED": "Expired",
}
_AUTH_201 = {
    "ALLOWED": "Accepted",
    "BLOCKED": "Blocked",
    "EXPIRED": "Expired",
    "NO_CREDIT": "NoCredit",
    "NOT_ALLOWED": "NotAtThisLocation",
    "UNKNOWN_TOKEN": "Unknown",
}


def authorization_status(outcome: str, *, version: str) -> str:
    """The OCPP AuthorizationStatus for the tokens module's outcome (OCPI AllowedType, or why not)."""
    table = _AUTH_16 if version == OCPP16 else _AUTH_201
    return table.get(outcome, "Invalid")


# -- answers --------------------------------------------------------------------------------------------

_ANSWERS: dict[str, Answer] = {
    "Accepted": Answer.ACCEPTED,
    "Rejected": Answer.REJECTED,
    "Unlocked": Answer.ACCEPTED,
    "UnlockFailed": Answer.FAILED,
    "NotSupported": Answer.NOT_SUPPORTED,
    "Occupied": Answer.OCCUPIED,
    "OngoingAuthorizedTransaction": Answer.OCCUPIED,
    "Faulted": Answer.INOPERATIVE,
    "Unavailable": Answer.INOPERATIVE,
    "UnknownConnector": Answer.UNKNOWN,
    "Unknown": Answer.UNKNOWN,
}


def answer_of(status: str | None) -> Answer:
    """A charger's answer status (any command) as the port's :class:`Answer` (unknown words: REJECTED)."""
    return _ANSWERS.get(status or "", Answer.REJECTED)


def reservation_number(reservation_id: str) -> int:
    """The integer an OCPP reservation needs for the port's reservation id (stable, 31 bits)."""
    return zlib.crc32(reservation_id.casefold().encode("utf-8")) & 0x7FFFFFFF


_STOP_16 = {
    "Remote": StopReason.REMOTE,
    "EVDisconnected": StopReason.EV_DISCONNECTED,
    "UnlockCommand": StopReason.UNLOCK_COMMAND,
    "EmergencyStop": StopReason.FAULT,
    "HardReset": StopReason.FAULT,
    "PowerLoss": StopReason.FAULT,
    "Reboot": StopReason.FAULT,
    "SoftReset": StopReason.FAULT,
}
_STOP_201 = {
    "Remote": StopReason.REMOTE,
    "EVDisconnected": StopReason.EV_DISCONNECTED,
    "EmergencyStop": StopReason.FAULT,
    "GroundFault": StopReason.FAULT,
    "ImmediateReset": StopReason.FAULT,
    "OvercurrentFault": StopReason.FAULT,
    "PowerLoss": StopReason.FAULT,
    "Reboot": StopReason.FAULT,
}


def stop_reason_16(reason: str | None) -> StopReason:
    """A 1.6 StopTransaction reason (``Local`` when absent, as OCPP says)."""
    return _STOP_16.get(reason or "Local", StopReason.LOCAL)


def stop_reason_201(reason: str | None) -> StopReason:
    """A 2.0.1 ``stopped_reason`` (``Local`` when absent)."""
    return _STOP_201.get(reason or "Local", StopReason.LOCAL)


# -- charging profiles ----------------------------------------------------------------------------------


def _periods(limit: ChargingLimit, start: DateTime) -> list[dict[str, Any]]:
    """The schedule periods of ``limit`` from ``start``: seconds from the start, a number each."""
    unbounded = NO_LIMIT_W if limit.unit is LimitUnit.W else NO_LIMIT_A
    out: list[dict[str, Any]] = []
    for period in limit.periods:
        offset = max(0, int((period.start - start).total_seconds()))
        value = unbounded if period.limit is None else period.limit
        entry = {"start_period": offset, "limit": float(value)}
        if out and out[-1]["start_period"] == offset:
            out[-1] = entry
        else:
            out.append(entry)
    if not out or out[0]["start_period"] != 0:
        out.insert(0, {"start_period": 0, "limit": float(unbounded)})
    return out


def profile_16(
    limit: ChargingLimit, *, profile_id: int, transaction_id: int | None, now: DateTime
) -> dict[str, Any]:
    """A 1.6 ``cs_charging_profiles`` for ``limit``: TxProfile of a transaction (else TxDefaultProfile),
    Absolute from its first period (or ``now``)."""
    start = min((p.start for p in limit.periods), default=now)
    schedule: dict[str, Any] = {
        "charging_rate_unit": limit.unit.value,
        "start_schedule": ocpp_time(start),
        "charging_schedule_period": _periods(limit, start),
    }
    if limit.min_rate is not None:
        schedule["min_charging_rate"] = float(limit.min_rate)
    profile: dict[str, Any] = {
        "charging_profile_id": profile_id,
        "stack_level": 1,
        "charging_profile_purpose": "TxProfile" if transaction_id is not None else "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": schedule,
    }
    if transaction_id is not None:
        profile["transaction_id"] = transaction_id
    return profile


def profile_201(
    limit: ChargingLimit, *, profile_id: int, transaction_id: str | None, now: DateTime
) -> dict[str, Any]:
    """A 2.0.1 ``charging_profile`` for ``limit`` (one schedule, id = the profile's)."""
    start = min((p.start for p in limit.periods), default=now)
    schedule: dict[str, Any] = {
        "id": profile_id,
        "charging_rate_unit": limit.unit.value,
        "start_schedule": ocpp_time(start),
        "charging_schedule_period": _periods(limit, start),
    }
    if limit.min_rate is not None:
        schedule["min_charging_rate"] = float(limit.min_rate)
    profile: dict[str, Any] = {
        "id": profile_id,
        "stack_level": 1,
        "charging_profile_purpose": "TxProfile" if transaction_id is not None else "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": [schedule],
    }
    if transaction_id is not None:
        profile["transaction_id"] = transaction_id
    return profile


def active_limit_of(
    schedule: Mapping[str, Any] | None, *, transaction_id: str, duration: int, now: DateTime
) -> ActiveLimit | None:
    """A GetCompositeSchedule answer's schedule (1.6 ``charging_schedule``, 2.0.1 ``schedule``) as the
    port's :class:`ActiveLimit` (``None``: the charger sent none)."""
    if not schedule:
        return None
    start_text = schedule.get("start_schedule") or schedule.get("schedule_start")
    start = parse_time(str(start_text)) if start_text else now
    unit = LimitUnit(str(schedule.get("charging_rate_unit", "W")))
    raw: Sequence[Mapping[str, Any]] = schedule.get("charging_schedule_period") or ()
    periods = tuple(
        LimitPeriod(
            start=DateTime.from_datetime(start + timedelta(seconds=int(p["start_period"]))),
            limit=Decimal(str(p["limit"])),
        )
        for p in raw
    )
    if not periods:
        return None
    return ActiveLimit(
        transaction_id=transaction_id,
        start=start,
        duration=int(schedule.get("duration") or duration),
        unit=unit,
        periods=periods,
    )
