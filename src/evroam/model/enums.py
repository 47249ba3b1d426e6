"""Enumerations of the canonical model.

Two kinds:

* **closed** enums (``StrEnum``): the *union* of the values of OCPI 2.1.1, 2.2.1 and 2.3.0, so that a
  value of any version can be stored. A converter that writes a version lacking a value applies the
  rule listed in ``docs/versions.md`` (map, drop or raise :class:`~evroam.model.NotRepresentable`).
* **open** enums: the enums that OCPI 2.3.0 declares as *OpenEnum* (unknown values are legal) are kept
  as plain ``str`` in the canonical model, so an unknown value survives a 2.3.0 round trip. The
  aliases below (``ConnectorTypeName`` ...) only document intent; the known values are the
  ``StrEnum`` of each version package.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AllowedType",
    "AuthMethod",
    "CapabilityName",
    "CaptureStatusCode",
    "CdrDimensionType",
    "ChargingPreferencesResponse",
    "ChargingProfileResponseType",
    "ChargingProfileResultType",
    "ChargingRateUnit",
    "CommandResponseType",
    "CommandResultType",
    "CommandTypeName",
    "ConnectionStatus",
    "ConnectorCapabilityName",
    "ConnectorFormat",
    "ConnectorTypeName",
    "DayOfWeek",
    "EVSEPosition",
    "EnergySourceCategory",
    "EnvironmentalImpactCategoryName",
    "FacilityName",
    "ImageCategoryName",
    "InvoiceCreator",
    "ParkingDirection",
    "ParkingRestrictionName",
    "ParkingTypeName",
    "PowerType",
    "ProfileType",
    "ReservationRestrictionType",
    "Role",
    "SessionStatus",
    "Status",
    "TariffDimensionType",
    "TariffType",
    "TaxIncluded",
    "TokenTypeName",
    "VehicleTypeName",
    "WhitelistType",
]

# --- open enums (OpenEnum in 2.3.0): plain strings ------------------------------------------------

#: EVSE Capability (2.1.1 set, extended in 2.2/2.2.1; OpenEnum in 2.3.0).
CapabilityName = str
#: ConnectorCapability (2.3.0 only): ISO_15118_2_PLUG_AND_CHARGE, ISO_15118_20_PLUG_AND_CHARGE.
ConnectorCapabilityName = str
#: ConnectorType (CHADEMO, IEC_62196_T2 ...; extended in every version).
ConnectorTypeName = str
#: EnvironmentalImpactCategory: NUCLEAR_WASTE, CARBON_DIOXIDE.
EnvironmentalImpactCategoryName = str
#: Facility (HOTEL, RESTAURANT ...).
FacilityName = str
#: ImageCategory (CHARGER, ENTRANCE, LOCATION, NETWORK, OPERATOR, OTHER, OWNER).
ImageCategoryName = str
#: ParkingRestriction (EV_ONLY, PLUGGED, DISABLED, CUSTOMERS, MOTORCYCLES; 2.3.0 + EMPLOYEES, TAXIS, TENANTS).
ParkingRestrictionName = str
#: 2.2+ ParkingType plus the 2.1.1 LocationType catch-all ``OTHER`` (see ``Location.parking_type``).
ParkingTypeName = str
#: TokenType: OTHER, RFID (2.1.1); AD_HOC_USER, APP_USER (2.2); EMAID (2.3.0).
TokenTypeName = str
#: VehicleType (2.3.0 Parking).
VehicleTypeName = str
#: CommandType: RESERVE_NOW, START_SESSION, STOP_SESSION, UNLOCK_CONNECTOR; 2.2+ CANCEL_RESERVATION.
CommandTypeName = str


# --- closed enums: union of all versions ----------------------------------------------------------


class Status(StrEnum):
    """EVSE status (same values in every version)."""

    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"
    CHARGING = "CHARGING"
    INOPERATIVE = "INOPERATIVE"
    OUTOFORDER = "OUTOFORDER"
    PLANNED = "PLANNED"
    REMOVED = "REMOVED"
    RESERVED = "RESERVED"
    UNKNOWN = "UNKNOWN"


class ConnectorFormat(StrEnum):
    SOCKET = "SOCKET"
    CABLE = "CABLE"


class PowerType(StrEnum):
    """AC_2_PHASE and AC_2_PHASE_SPLIT exist from 2.2.1 on."""

    AC_1_PHASE = "AC_1_PHASE"
    AC_2_PHASE = "AC_2_PHASE"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class EnergySourceCategory(StrEnum):
    NUCLEAR = "NUCLEAR"
    GENERAL_FOSSIL = "GENERAL_FOSSIL"
    COAL = "COAL"
    GAS = "GAS"
    GENERAL_GREEN = "GENERAL_GREEN"
    SOLAR = "SOLAR"
    WIND = "WIND"
    WATER = "WATER"


class ParkingDirection(StrEnum):
    """2.3.0 only."""

    PARALLEL = "PARALLEL"
    PERPENDICULAR = "PERPENDICULAR"
    ANGLE = "ANGLE"


class EVSEPosition(StrEnum):
    """2.3.0 only."""

    LEFT = "LEFT"
    RIGHT = "RIGHT"
    CENTER = "CENTER"


class SessionStatus(StrEnum):
    """RESERVATION exists from 2.2 on."""

    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    PENDING = "PENDING"
    RESERVATION = "RESERVATION"


class AuthMethod(StrEnum):
    """COMMAND exists from 2.2 on."""

    AUTH_REQUEST = "AUTH_REQUEST"
    COMMAND = "COMMAND"
    WHITELIST = "WHITELIST"


class CdrDimensionType(StrEnum):
    """FLAT is 2.1.1 only; CURRENT ... STATE_OF_CHARGE are 2.2+ only."""

    CURRENT = "CURRENT"
    ENERGY = "ENERGY"
    ENERGY_EXPORT = "ENERGY_EXPORT"
    ENERGY_IMPORT = "ENERGY_IMPORT"
    FLAT = "FLAT"
    MAX_CURRENT = "MAX_CURRENT"
    MIN_CURRENT = "MIN_CURRENT"
    MAX_POWER = "MAX_POWER"
    MIN_POWER = "MIN_POWER"
    PARKING_TIME = "PARKING_TIME"
    POWER = "POWER"
    RESERVATION_TIME = "RESERVATION_TIME"
    STATE_OF_CHARGE = "STATE_OF_CHARGE"
    TIME = "TIME"


class TariffDimensionType(StrEnum):
    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class TariffType(StrEnum):
    """2.2+."""

    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


class DayOfWeek(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


class ReservationRestrictionType(StrEnum):
    """2.2+."""

    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


class TaxIncluded(StrEnum):
    """Whether tariff prices include taxes (2.3.0 ``Tariff.tax_included``).

    2.1.1 and 2.2.1 prices are excl. VAT, i.e. ``NO``.
    """

    YES = "YES"
    NO = "NO"
    N_A = "N/A"


class WhitelistType(StrEnum):
    ALWAYS = "ALWAYS"
    ALLOWED = "ALLOWED"
    ALLOWED_OFFLINE = "ALLOWED_OFFLINE"
    NEVER = "NEVER"


class AllowedType(StrEnum):
    """2.1.1 calls it ``Allowed``; same values."""

    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    EXPIRED = "EXPIRED"
    NO_CREDIT = "NO_CREDIT"
    NOT_ALLOWED = "NOT_ALLOWED"


class ProfileType(StrEnum):
    """2.2+."""

    CHEAP = "CHEAP"
    FAST = "FAST"
    GREEN = "GREEN"
    REGULAR = "REGULAR"


class CommandResponseType(StrEnum):
    """Synchronous answer to a command. TIMEOUT is 2.1.1 only."""

    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    ACCEPTED = "ACCEPTED"
    TIMEOUT = "TIMEOUT"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class CommandResultType(StrEnum):
    """Asynchronous result of a command (2.2+ CommandResultType).

    ``UNKNOWN_SESSION`` is not a 2.2+ value: it exists because a 2.1.1 asynchronous result is a
    CommandResponse whose type may say UNKNOWN_SESSION.
    """

    ACCEPTED = "ACCEPTED"
    CANCELED_RESERVATION = "CANCELED_RESERVATION"
    EVSE_OCCUPIED = "EVSE_OCCUPIED"
    EVSE_INOPERATIVE = "EVSE_INOPERATIVE"
    FAILED = "FAILED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    TIMEOUT = "TIMEOUT"
    UNKNOWN_RESERVATION = "UNKNOWN_RESERVATION"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class Role(StrEnum):
    """Party roles. HUB exists in 2.2.1 only (2.3.0 uses ``hub_party_id``)."""

    CPO = "CPO"
    EMSP = "EMSP"
    HUB = "HUB"
    NAP = "NAP"
    NSP = "NSP"
    OTHER = "OTHER"
    SCSP = "SCSP"


class ConnectionStatus(StrEnum):
    CONNECTED = "CONNECTED"
    OFFLINE = "OFFLINE"
    PLANNED = "PLANNED"
    SUSPENDED = "SUSPENDED"


class ChargingRateUnit(StrEnum):
    W = "W"
    A = "A"


class ChargingProfileResponseType(StrEnum):
    ACCEPTED = "ACCEPTED"
    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    TOO_OFTEN = "TOO_OFTEN"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"


class ChargingProfileResultType(StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"


class ChargingPreferencesResponse(StrEnum):
    ACCEPTED = "ACCEPTED"
    DEPARTURE_REQUIRED = "DEPARTURE_REQUIRED"
    ENERGY_NEED_REQUIRED = "ENERGY_NEED_REQUIRED"
    NOT_POSSIBLE = "NOT_POSSIBLE"
    PROFILE_TYPE_NOT_SUPPORTED = "PROFILE_TYPE_NOT_SUPPORTED"


class InvoiceCreator(StrEnum):
    """2.3.0 Payments."""

    CPO = "CPO"
    PTP = "PTP"


class CaptureStatusCode(StrEnum):
    """2.3.0 Payments."""

    SUCCESS = "SUCCESS"
    PARTIAL_SUCCESS = "PARTIAL_SUCCESS"
    FAILED = "FAILED"
