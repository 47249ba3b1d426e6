"""Sessions module (OCPI 2.1.1): the Session object and its PATCH body.

A 2.1.1 Session embeds the Location (with only the relevant EVSE and Connector), names its times
``start_datetime`` / ``end_datetime`` and references the token by ``auth_id``.
"""

from __future__ import annotations

from evroam.core.types import DateTime, Number, String3, String36, String255
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_1_1.cdrs import ChargingPeriod
from evroam.ocpi.v2_1_1.enums import AuthMethod, SessionStatus
from evroam.ocpi.v2_1_1.locations import Location

__all__ = ["Session", "SessionPatch"]


class Session(WireModel, kw_only=True):
    id: String36
    start_datetime: DateTime
    end_datetime: DateTime | None = None
    kwh: Number
    auth_id: String36  # Token.auth_id
    auth_method: AuthMethod
    location: Location
    meter_id: String255 | None = None
    currency: String3  # ISO 4217
    charging_periods: list[ChargingPeriod] | None = None
    total_cost: Number | None = None  # excluding VAT; absent is not "free"
    status: SessionStatus
    last_updated: DateTime


class SessionPatch(WireModel, kw_only=True):
    """PATCH body for a Session: every field optional; absent fields stay unchanged."""

    id: String36 | None = None
    start_datetime: DateTime | None = None
    end_datetime: DateTime | None = None
    kwh: Number | None = None
    auth_id: String36 | None = None
    auth_method: AuthMethod | None = None
    location: Location | None = None
    meter_id: String255 | None = None
    currency: String3 | None = None
    charging_periods: list[ChargingPeriod] | None = None
    total_cost: Number | None = None
    status: SessionStatus | None = None
    last_updated: DateTime | None = None
