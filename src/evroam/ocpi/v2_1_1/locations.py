"""Locations module (OCPI 2.1.1): Location > EVSE > Connector, opening hours, and the PATCH bodies.

2.1.1 specifics: ids are case-sensitive ``string`` (Location.id and EVSE.uid up to 39 characters), a
Location has a required ``type`` (LocationType) and no owner fields, Connectors carry ``voltage`` /
``amperage`` and a single optional ``tariff_id``, and PATCH bodies need no ``last_updated``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import (
    DateTime,
    String3,
    String4,
    String10,
    String16,
    String36,
    String39,
    String45,
    String48,
    String255,
    Url,
)
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_1_1.common import (
    AdditionalGeoLocation,
    BusinessDetails,
    DisplayText,
    EnergyMix,
    GeoLocation,
    Image,
)
from evroam.ocpi.v2_1_1.enums import (
    Capability,
    ConnectorFormat,
    ConnectorType,
    Facility,
    LocationType,
    ParkingRestriction,
    PowerType,
    Status,
)

__all__ = [
    "EVSE",
    "Connector",
    "ConnectorPatch",
    "EVSEPatch",
    "ExceptionalPeriod",
    "HourMinute",
    "Hours",
    "Location",
    "LocationPatch",
    "RegularHours",
    "StatusSchedule",
    "Weekday",
]

#: Local time of day, ``HH:MM`` in 24h format with leading zeros.
HourMinute = Annotated[str, msgspec.Meta(pattern=r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")]
#: ISO day number: 1 = Monday ... 7 = Sunday.
Weekday = Annotated[int, msgspec.Meta(ge=1, le=7)]


class RegularHours(WireModel, kw_only=True):
    """One weekly opening period, in the location's local time."""

    weekday: Weekday
    period_begin: HourMinute
    period_end: HourMinute


class ExceptionalPeriod(WireModel, kw_only=True):
    """A calendar period (UTC) when the location is exceptionally open or closed."""

    period_begin: DateTime
    period_end: DateTime


class Hours(WireModel, kw_only=True):
    """Opening times. The spec makes ``regular_hours`` and ``twentyfourseven`` a choice: one must be given."""

    regular_hours: list[RegularHours] | None = None
    twentyfourseven: bool | None = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None

    def __post_init__(self) -> None:
        if self.regular_hours is None and self.twentyfourseven is None:
            raise ValueError("Hours needs either `regular_hours` or `twentyfourseven`")


class StatusSchedule(WireModel, kw_only=True):
    """A planned EVSE status (informational)."""

    period_begin: DateTime
    period_end: DateTime | None = None
    status: Status


class Connector(WireModel, kw_only=True):
    id: String36  # unique within its EVSE only
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType
    voltage: int  # V, line to neutral for AC_3_PHASE
    amperage: int  # A
    tariff_id: String36 | None = None
    terms_and_conditions: Url | None = None
    last_updated: DateTime


class EVSE(WireModel, kw_only=True):
    uid: String39
    evse_id: String48 | None = None
    status: Status
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[Capability] | None = None
    connectors: Annotated[list[Connector], msgspec.Meta(min_length=1)]
    floor_level: String4 | None = None
    coordinates: GeoLocation | None = None
    physical_reference: String16 | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[ParkingRestriction] | None = None
    images: list[Image] | None = None
    last_updated: DateTime


class Location(WireModel, kw_only=True):
    id: String39
    type: LocationType
    name: String255 | None = None
    address: String45
    city: String45
    postal_code: String10
    country: String3  # ISO 3166-1 alpha-3
    coordinates: GeoLocation
    related_locations: list[AdditionalGeoLocation] | None = None
    evses: list[EVSE] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[Facility] | None = None
    time_zone: String255 | None = None  # IANA tz name; optional in 2.1.1
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None  # absent means true
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


# --- PATCH bodies: every field optional; an absent field stays unchanged ------------------------------


class ConnectorPatch(WireModel, kw_only=True):
    id: String36 | None = None
    standard: ConnectorType | None = None
    format: ConnectorFormat | None = None
    power_type: PowerType | None = None
    voltage: int | None = None
    amperage: int | None = None
    tariff_id: String36 | None = None
    terms_and_conditions: Url | None = None
    last_updated: DateTime | None = None


class EVSEPatch(WireModel, kw_only=True):
    uid: String39 | None = None
    evse_id: String48 | None = None
    status: Status | None = None
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[Capability] | None = None
    connectors: Annotated[list[Connector], msgspec.Meta(min_length=1)] | None = None
    floor_level: String4 | None = None
    coordinates: GeoLocation | None = None
    physical_reference: String16 | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[ParkingRestriction] | None = None
    images: list[Image] | None = None
    last_updated: DateTime | None = None


class LocationPatch(WireModel, kw_only=True):
    id: String39 | None = None
    type: LocationType | None = None
    name: String255 | None = None
    address: String45 | None = None
    city: String45 | None = None
    postal_code: String10 | None = None
    country: String3 | None = None
    coordinates: GeoLocation | None = None
    related_locations: list[AdditionalGeoLocation] | None = None
    evses: list[EVSE] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[Facility] | None = None
    time_zone: String255 | None = None
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime | None = None
