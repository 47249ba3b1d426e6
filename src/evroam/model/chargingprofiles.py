"""Canonical smart-charging objects (2.2+; identical in 2.2.1 and 2.3.0)."""

from __future__ import annotations

from decimal import Decimal

from evroam.core.types import DateTime
from evroam.model.common import CanonicalModel
from evroam.model.enums import ChargingProfileResponseType, ChargingProfileResultType, ChargingRateUnit

__all__ = [
    "ActiveChargingProfile",
    "ActiveChargingProfileResult",
    "ChargingProfile",
    "ChargingProfilePeriod",
    "ChargingProfileResponse",
    "ChargingProfileResult",
    "ClearProfileResult",
    "SetChargingProfile",
]


class ChargingProfilePeriod(CanonicalModel, frozen=True):
    start_period: int
    limit: Decimal


class ChargingProfile(CanonicalModel, frozen=True):
    charging_rate_unit: ChargingRateUnit
    start_date_time: DateTime | None = None
    duration: int | None = None
    min_charging_rate: Decimal | None = None
    charging_profile_period: tuple[ChargingProfilePeriod, ...] | None = None


class ActiveChargingProfile(CanonicalModel, frozen=True):
    start_date_time: DateTime
    charging_profile: ChargingProfile


class SetChargingProfile(CanonicalModel, frozen=True):
    charging_profile: ChargingProfile
    response_url: str


class ChargingProfileResponse(CanonicalModel, frozen=True):
    result: ChargingProfileResponseType
    timeout: int


class ActiveChargingProfileResult(CanonicalModel, frozen=True):
    result: ChargingProfileResultType
    profile: ActiveChargingProfile | None = None


class ChargingProfileResult(CanonicalModel, frozen=True):
    result: ChargingProfileResultType


class ClearProfileResult(CanonicalModel, frozen=True):
    result: ChargingProfileResultType
