"""Locations module (OCPI 2.3.0).

New: Parking (``Location.parking_places``), EVSEParking (``EVSE.parking``),
``EVSE.accepted_service_providers``, ``Connector.capabilities``, ``Location.help_phone``; OpenEnum
fields. Hours, RegularHours, ExceptionalPeriod, StatusSchedule and AdditionalGeoLocation are the 2.2.1
classes.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import (
    CiString,
    CiString2,
    CiString3,
    CiString25,
    CiString36,
    CiString48,
    DateTime,
    Number,
    String3,
    String4,
    String10,
    String12,
    String16,
    String45,
    String50,
    String64,
    String255,
    Url,
)
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.locations import (
    AdditionalGeoLocation,
    ExceptionalPeriod,
    Hours,
    RegularHours,
    StatusSchedule,
    check_publish_token,
)
from evroam.ocpi.v2_3_0.common import BusinessDetails, DisplayText, EnergyMix, GeoLocation, Image
from evroam.ocpi.v2_3_0.enums import (
    ConnectorFormat,
    EVSEPosition,
    OpenCapability,
    OpenConnectorCapability,
    OpenConnectorType,
    OpenFacility,
    OpenParkingRestriction,
    OpenParkingType,
    OpenTokenType,
    OpenVehicleType,
    ParkingDirection,
    PowerType,
    Status,
)

__all__ = [
    "EVSE",
    "AdditionalGeoLocation",
    "Connector",
    "ConnectorPatch",
    "EVSEParking",
    "EVSEPatch",
    "ExceptionalPeriod",
    "Hours",
    "Location",
    "LocationPatch",
    "Parking",
    "PublishTokenType",
    "RegularHours",
    "StatusSchedule",
]


class PublishTokenType(WireModel, kw_only=True):
    uid: CiString36 | None = None
    type: OpenTokenType | None = None
    visual_number: String64 | None = None
    issuer: String64 | None = None
    group_id: CiString36 | None = None

    def __post_init__(self) -> None:
        check_publish_token(self)


class Parking(WireModel, kw_only=True):
    """A parking space (or group of equal ones) at a Location; sizes in cm, weight in kg, time in minutes."""

    id: CiString36
    physical_reference: String12 | None = None
    vehicle_types: Annotated[list[OpenVehicleType], msgspec.Meta(min_length=1)]
    max_vehicle_weight: Number | None = None
    max_vehicle_height: Number | None = None
    max_vehicle_length: Number | None = None
    max_vehicle_width: Number | None = None
    parking_space_length: Number | None = None
    parking_space_width: Number | None = None
    dangerous_goods_allowed: bool | None = None
    direction: ParkingDirection | None = None
    drive_through: bool | None = None
    restricted_to_type: bool
    reservation_required: bool
    time_limit: Number | None = None
    roofed: bool | None = None
    images: list[Image] | None = None
    lighting: bool | None = None
    refrigeration_outlet: bool | None = None
    standards: list[CiString36] | None = None
    apds_reference: CiString | None = None


class EVSEParking(WireModel, kw_only=True):
    parking_id: CiString36  # a Parking.id of the containing Location
    evse_position: EVSEPosition | None = None


class Connector(WireModel, kw_only=True):
    id: CiString36
    standard: OpenConnectorType
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: list[CiString36] | None = None
    terms_and_conditions: Url | None = None
    capabilities: list[OpenConnectorCapability] | None = None
    last_updated: DateTime


class EVSE(WireModel, kw_only=True):
    uid: CiString36
    evse_id: CiString48 | None = None
    status: Status
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[OpenCapability] | None = None
    connectors: Annotated[list[Connector], msgspec.Meta(min_length=1)]
    floor_level: String4 | None = None
    coordinates: GeoLocation | None = None
    physical_reference: String16 | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[OpenParkingRestriction] | None = None
    parking: list[EVSEParking] | None = None
    images: list[Image] | None = None
    accepted_service_providers: list[String50] | None = None
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
    parking_type: OpenParkingType | None = None
    evses: list[EVSE] | None = None
    parking_places: list[Parking] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[OpenFacility] | None = None
    time_zone: String255
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    help_phone: CiString25 | None = None
    last_updated: DateTime


# --- PATCH bodies: every field optional except last_updated ---------------------------------------


class ConnectorPatch(WireModel, kw_only=True):
    id: CiString36 | None = None
    standard: OpenConnectorType | None = None
    format: ConnectorFormat | None = None
    power_type: PowerType | None = None
    max_voltage: int | None = None
    max_amperage: int | None = None
    max_electric_power: int | None = None
    tariff_ids: list[CiString36] | None = None
    terms_and_conditions: Url | None = None
    capabilities: list[OpenConnectorCapability] | None = None
    last_updated: DateTime


class EVSEPatch(WireModel, kw_only=True):
    uid: CiString36 | None = None
    evse_id: CiString48 | None = None
    status: Status | None = None
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[OpenCapability] | None = None
    connectors: Annotated[list[Connector], msgspec.Meta(min_length=1)] | None = None
    floor_level: String4 | None = None
    coordinates: GeoLocation | None = None
    physical_reference: String16 | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[OpenParkingRestriction] | None = None
    parking: list[EVSEParking] | None = None
    images: list[Image] | None = None
    accepted_service_providers: list[String50] | None = None
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
    parking_type: OpenParkingType | None = None
    evses: list[EVSE] | None = None
    parking_places: list[Parking] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[OpenFacility] | None = None
    time_zone: String255 | None = None
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    help_phone: CiString25 | None = None
    last_updated: DateTime
