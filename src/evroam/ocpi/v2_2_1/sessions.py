"""Sessions module (OCPI 2.2.1)."""

from __future__ import annotations

from evroam.core.types import CiString2, CiString3, CiString36, DateTime, Number, String3, String255
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.cdrs import CdrToken, ChargingPeriod
from evroam.ocpi.v2_2_1.common import Price
from evroam.ocpi.v2_2_1.enums import AuthMethod, ProfileType, SessionStatus

__all__ = ["ChargingPreferences", "Session", "SessionPatch"]


class Session(WireModel, kw_only=True):
    country_code: CiString2
    party_id: CiString3
    id: CiString36
    start_date_time: DateTime
    end_date_time: DateTime | None = None
    kwh: Number
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiString36 | None = None
    location_id: CiString36
    evse_uid: CiString36
    connector_id: CiString36
    meter_id: String255 | None = None
    currency: String3
    charging_periods: list[ChargingPeriod] | None = None
    total_cost: Price | None = None
    status: SessionStatus
    last_updated: DateTime


class SessionPatch(WireModel, kw_only=True):
    """PATCH body; ``charging_periods`` given here are appended to the stored ones."""

    country_code: CiString2 | None = None
    party_id: CiString3 | None = None
    id: CiString36 | None = None
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    kwh: Number | None = None
    cdr_token: CdrToken | None = None
    auth_method: AuthMethod | None = None
    authorization_reference: CiString36 | None = None
    location_id: CiString36 | None = None
    evse_uid: CiString36 | None = None
    connector_id: CiString36 | None = None
    meter_id: String255 | None = None
    currency: String3 | None = None
    charging_periods: list[ChargingPeriod] | None = None
    total_cost: Price | None = None
    status: SessionStatus | None = None
    last_updated: DateTime


class ChargingPreferences(WireModel, kw_only=True):
    profile_type: ProfileType
    departure_time: DateTime | None = None
    energy_need: Number | None = None
    discharge_allowed: bool | None = None
