"""The composite of several senders' charging profiles, and the charger's active limit as OCPI: pure.

Each sender (an eMSP, an SCSP) may have one profile in force on a session. The charger gets one limit:
at every moment, **the lowest** of the limits in force then (profiles are maxima, not targets; a
sender's limit is never raised by another's). A moment no profile covers is unlimited.

Units: ``W`` is the total power, ``A`` the current per phase. Profiles of one unit give a composite of
that unit; mixed units are compared in W, an A limit counting ``A x phases x volts`` of the connector.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

from evroam.chargepoint.port import ActiveLimit, ChargingLimit, LimitPeriod, LimitUnit
from evroam.core.types import DateTime
from evroam.model.chargingprofiles import ActiveChargingProfile, ChargingProfile, ChargingProfilePeriod
from evroam.model.enums import ChargingRateUnit

__all__ = ["Segment", "active_profile_of", "composite", "segments", "to_watts"]

_TENTH = Decimal("0.1")

Segment = tuple[DateTime, DateTime | None, Decimal]
"""``(start, end or None: open, limit)`` in the profile's unit."""


def _at(base: DateTime, seconds: int) -> DateTime:
    return DateTime.from_datetime(base + timedelta(seconds=seconds))


def segments(profile: ChargingProfile, set_at: DateTime) -> list[Segment]:
    """The profile's periods on the time line: it starts at its ``start_date_time`` (else when it was
    set), each period lasts until the next one's ``start_period``, the last one until ``duration``
    ends (else for good)."""
    start = profile.start_date_time or set_at
    end = None if profile.duration is None else _at(start, profile.duration)
    periods = sorted(profile.charging_profile_period or (), key=lambda p: p.start_period)
    out: list[Segment] = []
    for index, period in enumerate(periods):
        begin = _at(start, period.start_period)
        until = _at(start, periods[index + 1].start_period) if index + 1 < len(periods) else end
        if end is not None:
            until = end if until is None else min(until, end)
        if until is not None and until <= begin:
            continue
        out.append((begin, until, period.limit))
    return out


def to_watts(unit: ChargingRateUnit | LimitUnit, value: Decimal, *, phases: int, volts: Decimal) -> Decimal:
    """A limit in W (an A limit is per phase)."""
    if unit.value == "W":
        return value
    return value * phases * volts


def composite(
    profiles: Sequence[tuple[ChargingProfile, DateTime]], *, phases: int = 3, volts: Decimal = Decimal(230)
) -> ChargingLimit | None:
    """The lowest of ``profiles`` (each with when it was set) at every moment, or ``None`` when none
    limits anything."""
    if not profiles:
        return None
    units = {p.charging_rate_unit for p, _ in profiles}
    unit = LimitUnit.A if units == {ChargingRateUnit.A} else LimitUnit.W
    all_segments: list[Segment] = []
    for profile, set_at in profiles:
        for begin, until, amount in segments(profile, set_at):
            value = (
                amount
                if unit is LimitUnit.A
                else to_watts(profile.charging_rate_unit, amount, phases=phases, volts=volts)
            )
            all_segments.append((begin, until, value))
    if not all_segments:
        return None
    boundaries = sorted({s[0] for s in all_segments} | {s[1] for s in all_segments if s[1] is not None})
    periods: list[LimitPeriod] = []
    for moment in boundaries:
        covering = [v for b, e, v in all_segments if b <= moment and (e is None or moment < e)]
        limit: Decimal | None = min(covering) if covering else None
        if periods and periods[-1].limit == limit:
            continue
        if not periods and limit is None:
            continue
        periods.append(LimitPeriod(start=moment, limit=limit))
    return ChargingLimit(unit=unit, periods=tuple(periods)) if periods else None


def _tenth(value: Decimal) -> Decimal:
    """OCPI limits have at most one decimal; a maximum is rounded down."""
    return value.quantize(_TENTH, rounding=ROUND_FLOOR)


def active_profile_of(active: ActiveLimit) -> ActiveChargingProfile:
    """The charger's active limit as OCPI's ActiveChargingProfile (periods relative to its start)."""
    periods = tuple(
        ChargingProfilePeriod(
            start_period=max(0, int((p.start - active.start).total_seconds())),
            limit=_tenth(p.limit if p.limit is not None else Decimal(0)),
        )
        for p in active.periods
    )
    return ActiveChargingProfile(
        start_date_time=active.start,
        charging_profile=ChargingProfile(
            charging_rate_unit=ChargingRateUnit(active.unit.value),
            start_date_time=active.start,
            duration=active.duration,
            charging_profile_period=periods,
        ),
    )
