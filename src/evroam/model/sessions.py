"""Canonical Session and ChargingPreferences.

Canonical names: ``start_date_time`` / ``end_date_time`` (2.1.1 ``start_datetime`` /
``end_datetime``), ``cdr_token`` (2.1.1 ``auth_id`` = ``cdr_token.contract_id``).

A 2.1.1 Session embeds a Location (with only the EVSE and connector in use). The canonical Session
keeps ``location_id`` / ``evse_uid`` / ``connector_id`` (2.2+ fields; for 2.1.1 taken from the
embedded Location, its first EVSE and that EVSE's first connector, ``None`` when absent) and the
embedded Location itself as ``location``, a canonical snapshot (owner = the Session's owner), so the
Session can be written back to 2.1.1 unchanged. 2.2+ Sessions leave ``location`` ``None``.
"""

from __future__ import annotations

from decimal import Decimal

from evroam.core.types import CiString, DateTime
from evroam.model.cdrs import CdrToken, ChargingPeriod
from evroam.model.common import CanonicalModel, Price
from evroam.model.enums import AuthMethod, ProfileType, SessionStatus
from evroam.model.locations import Location

__all__ = ["ChargingPreferences", "Session"]


class Session(CanonicalModel, frozen=True):
    country_code: CiString
    party_id: CiString
    id: CiString
    start_date_time: DateTime
    kwh: Decimal
    cdr_token: CdrToken
    auth_method: AuthMethod
    location_id: CiString
    currency: str
    status: SessionStatus
    last_updated: DateTime
    end_date_time: DateTime | None = None
    authorization_reference: CiString | None = None
    evse_uid: CiString | None = None
    connector_id: CiString | None = None
    location: Location | None = None
    meter_id: str | None = None
    charging_periods: tuple[ChargingPeriod, ...] | None = None
    total_cost: Price | None = None


class ChargingPreferences(CanonicalModel, frozen=True):
    """2.2+: what the driver wants (PUT ``{sessions}/{session_id}/charging_preferences``)."""

    profile_type: ProfileType
    departure_time: DateTime | None = None
    energy_need: Decimal | None = None
    discharge_allowed: bool | None = None
