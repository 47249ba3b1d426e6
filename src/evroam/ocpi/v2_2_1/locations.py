"""Locations module (OCPI 2.2.1): Location, EVSE, Connector, their PATCH bodies and helper classes."""

from __future__ import annotations

from typing import Annotated, Protocol

import msgspec

from evroam.core.types import (
    CiString2,
    CiString3,
    CiString36,
    CiString48,
    DateTime,
    String3,
    String4,
    String10,
    String16,
    String45,
    String64,
    String255,
    Url,
)
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.common import (
    BusinessDetails,
    DisplayText,
    EnergyMix,
    GeoLocation,
    Image,
    Latitude,
    LocalTime,
    Longitude,
)
from evroam.ocpi.v2_2_1.enums import (
    Capability,
    ConnectorFormat,
    ConnectorType,
    Facility,
    ParkingRestriction,
    ParkingType,
    PowerType,
    Status,
    TokenType,
)

__all__ = [
    "EVSE",
    "AdditionalGeoLocation",
    "Connector",
    "ConnectorPatch",
    "EVSEPatch",
    "ExceptionalPeriod",
    "Hours",
    "Location",
    "LocationPatch",
    "PublishTokenType",
    "RegularHours",
    "StatusSchedule",
    "check_publish_token",
]

#: ISO 8601 weekday: 1 = Monday ... 7 = Sunday.
Weekday = Annotated[int, msgspec.Meta(ge=1, le=7)]


class AdditionalGeoLocation(WireModel, kw_only=True):
    latitude: Latitude
    longitude: Longitude
    name: DisplayText | None = None


class _PublishTokenFields(Protocol):
    @property
    def uid(self) -> str | None: ...
    @property
    def type(self) -> str | None: ...
    @property
    def visual_number(self) -> str | None: ...
    @property
    def issuer(self) -> str | None: ...
    @property
    def group_id(self) -> str | None: ...


def check_publish_token(token: _PublishTokenFields) -> None:
    """The spec's rules on which PublishTokenType fields go together (raises ValueError)."""
    if token.uid is None and token.visual_number is None and token.group_id is None:
        raise ValueError("one of `uid`, `visual_number` or `group_id` is required")
    if token.uid is not None and token.type is None:
        raise ValueError("`type` is required when `uid` is set")
    if token.visual_number is not None and token.issuer is None:
        raise ValueError("`issuer` is required when `visual_number` is set")


class PublishTokenType(WireModel, kw_only=True):
    """A token (or group of tokens) to which an unpublished Location may be shown."""

    uid: CiString36 | None = None
    type: TokenType | None = None
    visual_number: String64 | None = None
    issuer: String64 | None = None
    group_id: CiString36 | None = None

    def __post_init__(self) -> None:
        check_publish_token(self)


class RegularHours(WireModel, kw_only=True):
    weekday: Weekday
    period_begin: LocalTime
    period_end: LocalTime


class ExceptionalPeriod(WireModel, kw_only=True):
    period_begin: DateTime
    period_end: DateTime


class Hours(WireModel, kw_only=True):
    twentyfourseven: bool
    regular_hours: list[RegularHours] | None = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None

    def __post_init__(self) -> None:
        if not self.twentyfourseven and not self.regular_hours:
            raise ValueError("`regular_hours` needs at least one entry when `twentyfourseven` is false")


class StatusSchedule(WireModel, kw_only=True):
    period_begin: DateTime
    period_end: DateTime | None = None
    status: Status


class Connector(WireModel, kw_only=True):
    id: CiString36
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: list[CiString36] | None = None
    terms_and_conditions: Url | None = None
    last_updated: DateTime


class EVSE(WireModel, kw_only=True):
    uid: CiString36
    evse_id: CiString48 | None = None
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
    country_code: CiString2
    party_id: CiString3
    id: CiString36
    publish: bool
    publish_allowed_to: list[PublishTokenType] | None = None
    name: String255 | None = None
    address: String255
    city: String45
    postal_code: String10 | None = None
    state: String45 | None = None
    country: String3
    coordinates: GeoLocation
    related_locations: list[AdditionalGeoLocation] | None = None
    parking_type: ParkingType | None = None
    evses: list[EVSE] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[Facility] | None = None
    time_zone: String255
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


# --- PATCH bodies: every field optional except last_updated ---------------------------------------


class ConnectorPatch(WireModel, kw_only=True):
    id: CiString36 | None = None
    standard: ConnectorType | None = None
    format: ConnectorFormat | None = None
    power_type: PowerType | None = None
    max_voltage: int | None = None
    max_amperage: int | None = None
    max_electric_power: int | None = None
    tariff_ids: list[CiString36] | None = None
    terms_and_conditions: Url | None = None
    last_updated: DateTime


class EVSEPatch(WireModel, kw_only=True):
    uid: CiString36 | None = None
    evse_id: CiString48 | None = None
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
    last_updated: DateTime


class LocationPatch(WireModel, kw_only=True):
    country_code: CiString2 | None = None
    party_id: CiString3 | None = None
    id: CiString36 | None = None
    publish: bool | None = None
    publish_allowed_to: list[PublishTokenType] | None = None
    name: String255 | None = None
    address: String255 | None = None
    city: String45 | None = None
    postal_code: String10 | None = None
    state: String45 | None = None
    country: String3 | None = None
    coordinates: GeoLocation | None = None
    related_locations: list[AdditionalGeoLocation] | None = None
    parking_type: ParkingType | None = None
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
    last_updated: DateTime
