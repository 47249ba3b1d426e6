"""ChargingProfiles module (OCPI 2.2.1)."""

from __future__ import annotations

from evroam.core.types import DateTime, Number, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.enums import ChargingProfileResponseType, ChargingProfileResultType, ChargingRateUnit

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


class ChargingProfilePeriod(WireModel, kw_only=True):
    start_period: int  # seconds from the start of the profile
    limit: Number  # in the profile's charging_rate_unit


class ChargingProfile(WireModel, kw_only=True):
    start_date_time: DateTime | None = None
    duration: int | None = None  # seconds
    charging_rate_unit: ChargingRateUnit
    min_charging_rate: Number | None = None
    charging_profile_period: list[ChargingProfilePeriod] | None = None


class ActiveChargingProfile(WireModel, kw_only=True):
    start_date_time: DateTime
    charging_profile: ChargingProfile


class SetChargingProfile(WireModel, kw_only=True):
    charging_profile: ChargingProfile
    response_url: Url


class ChargingProfileResponse(WireModel, kw_only=True):
    """Synchronous answer of the CPO to GET, PUT or DELETE on a session's profile."""

    result: ChargingProfileResponseType
    timeout: int  # seconds


class ActiveChargingProfileResult(WireModel, kw_only=True):
    result: ChargingProfileResultType
    profile: ActiveChargingProfile | None = None


class ChargingProfileResult(WireModel, kw_only=True):
    result: ChargingProfileResultType


class ClearProfileResult(WireModel, kw_only=True):
    result: ChargingProfileResultType
