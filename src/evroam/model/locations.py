"""Canonical Location, EVSE, Connector and their parts: the union of OCPI 2.1.1, 2.2.1 and 2.3.0.

Canonical names (one per concept, whatever the version calls it):

* ``Location.parking_type`` — 2.2+ ``parking_type``; 2.1.1 ``type`` (LocationType). 2.1.1 ``UNKNOWN``
  is stored as ``None`` (absent), 2.1.1 ``OTHER`` as ``"OTHER"``.
* ``Connector.max_voltage`` / ``max_amperage`` — 2.1.1 ``voltage`` / ``amperage``.
* ``Connector.tariff_ids`` — 2.1.1 single ``tariff_id`` becomes a one-element tuple.
* ``EnvironmentalImpact.category`` — 2.1.1 ``source``.

Identity: ``(country_code, party_id, id)``; a 2.1.1 Location carries no owner, so the converter takes
the owner's ``country_code`` / ``party_id`` as arguments. ``publish`` defaults to ``True`` (a 2.1.1
Location is always published).
"""

from __future__ import annotations

from decimal import Decimal

from evroam.core.types import CiString, DateTime
from evroam.model.common import (
    AdditionalGeoLocation,
    BusinessDetails,
    CanonicalModel,
    DisplayText,
    EnergyMix,
    GeoLocation,
    Image,
)
from evroam.model.enums import (
    CapabilityName,
    ConnectorCapabilityName,
    ConnectorFormat,
    ConnectorTypeName,
    EVSEPosition,
    FacilityName,
    ParkingDirection,
    ParkingRestrictionName,
    ParkingTypeName,
    PowerType,
    Status,
    TokenTypeName,
    VehicleTypeName,
)

__all__ = [
    "EVSE",
    "Connector",
    "EVSEParking",
    "ExceptionalPeriod",
    "Hours",
    "Location",
    "Parking",
    "PublishTokenType",
    "RegularHours",
    "StatusSchedule",
]


class Connector(CanonicalModel, frozen=True):
    id: CiString
    standard: ConnectorTypeName
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    last_updated: DateTime
    max_electric_power: int | None = None
    tariff_ids: tuple[CiString, ...] | None = None
    terms_and_conditions: str | None = None
    capabilities: tuple[ConnectorCapabilityName, ...] | None = None


class StatusSchedule(CanonicalModel, frozen=True):
    period_begin: DateTime
    status: Status
    period_end: DateTime | None = None


class EVSEParking(CanonicalModel, frozen=True):
    """2.3.0: the parking place of an EVSE (``Parking.id`` of the Location) and where the EVSE stands."""

    parking_id: CiString
    evse_position: EVSEPosition | None = None


class EVSE(CanonicalModel, frozen=True):
    uid: CiString
    status: Status
    connectors: tuple[Connector, ...]
    last_updated: DateTime
    evse_id: CiString | None = None
    status_schedule: tuple[StatusSchedule, ...] | None = None
    capabilities: tuple[CapabilityName, ...] | None = None
    floor_level: str | None = None
    coordinates: GeoLocation | None = None
    physical_reference: str | None = None
    directions: tuple[DisplayText, ...] | None = None
    parking_restrictions: tuple[ParkingRestrictionName, ...] | None = None
    images: tuple[Image, ...] | None = None
    parking: tuple[EVSEParking, ...] | None = None
    accepted_service_providers: tuple[str, ...] | None = None


class RegularHours(CanonicalModel, frozen=True):
    weekday: int
    period_begin: str
    period_end: str


class ExceptionalPeriod(CanonicalModel, frozen=True):
    period_begin: DateTime
    period_end: DateTime


class Hours(CanonicalModel, frozen=True):
    """Opening hours. ``twentyfourseven`` is ``None`` only for a 2.1.1 object that left it out.

    Written to 2.2+ (where it is required), ``None`` becomes ``False`` when ``regular_hours`` are
    given and ``True`` otherwise.
    """

    twentyfourseven: bool | None = None
    regular_hours: tuple[RegularHours, ...] | None = None
    exceptional_openings: tuple[ExceptionalPeriod, ...] | None = None
    exceptional_closings: tuple[ExceptionalPeriod, ...] | None = None


class PublishTokenType(CanonicalModel, frozen=True):
    """2.2+: who may see an unpublished Location."""

    uid: CiString | None = None
    type: TokenTypeName | None = None
    visual_number: str | None = None
    issuer: str | None = None
    group_id: CiString | None = None


class Parking(CanonicalModel, frozen=True):
    """2.3.0: a parking place of a Location."""

    id: CiString
    vehicle_types: tuple[VehicleTypeName, ...]
    restricted_to_type: bool
    reservation_required: bool
    physical_reference: str | None = None
    max_vehicle_weight: Decimal | None = None
    max_vehicle_height: Decimal | None = None
    max_vehicle_length: Decimal | None = None
    max_vehicle_width: Decimal | None = None
    parking_space_length: Decimal | None = None
    parking_space_width: Decimal | None = None
    dangerous_goods_allowed: bool | None = None
    direction: ParkingDirection | None = None
    drive_through: bool | None = None
    time_limit: Decimal | None = None
    roofed: bool | None = None
    images: tuple[Image, ...] | None = None
    lighting: bool | None = None
    refrigeration_outlet: bool | None = None
    standards: tuple[CiString, ...] | None = None
    apds_reference: str | None = None


class Location(CanonicalModel, frozen=True):
    country_code: CiString
    party_id: CiString
    id: CiString
    address: str
    city: str
    country: str
    coordinates: GeoLocation
    last_updated: DateTime
    publish: bool = True
    publish_allowed_to: tuple[PublishTokenType, ...] | None = None
    name: str | None = None
    postal_code: str | None = None
    state: str | None = None
    related_locations: tuple[AdditionalGeoLocation, ...] | None = None
    parking_type: ParkingTypeName | None = None
    evses: tuple[EVSE, ...] | None = None
    parking_places: tuple[Parking, ...] | None = None
    directions: tuple[DisplayText, ...] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: tuple[FacilityName, ...] | None = None
    time_zone: str | None = None
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: tuple[Image, ...] | None = None
    energy_mix: EnergyMix | None = None
    help_phone: str | None = None

    def evse(self, uid: str) -> EVSE | None:
        """The EVSE with this uid (case-insensitive), or ``None``."""
        for evse in self.evses or ():
            if evse.uid == uid:
                return evse
        return None
