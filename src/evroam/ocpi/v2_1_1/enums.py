"""Every enumeration of OCPI 2.1.1. Member values are the wire spelling; all enums are closed.

Two wire fields deliberately do not use their enum as the field type (see ``versions.py``):
``Version.version`` and ``Endpoint.identifier`` are plain strings, because a version list is read
before any version is agreed and the spec allows custom module identifiers. :class:`VersionNumber`
and :class:`ModuleID` hold the known values as constants.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "Allowed",
    "AllowedType",
    "AuthMethod",
    "Capability",
    "CdrDimensionType",
    "CommandResponseType",
    "CommandType",
    "ConnectorFormat",
    "ConnectorType",
    "DayOfWeek",
    "EnergySourceCategory",
    "EnvironmentalImpactCategory",
    "Facility",
    "ImageCategory",
    "LocationType",
    "ModuleID",
    "ParkingRestriction",
    "PowerType",
    "SessionStatus",
    "Status",
    "TariffDimensionType",
    "TokenType",
    "VersionNumber",
    "WhitelistType",
]


# --- versions -------------------------------------------------------------------------------------


class VersionNumber(StrEnum):
    V2_0 = "2.0"
    V2_1 = "2.1"  # deprecated by the spec: use 2.1.1
    V2_1_1 = "2.1.1"


class ModuleID(StrEnum):
    CDRS = "cdrs"
    COMMANDS = "commands"
    CREDENTIALS = "credentials"
    LOCATIONS = "locations"
    SESSIONS = "sessions"
    TARIFFS = "tariffs"
    TOKENS = "tokens"


# --- locations ------------------------------------------------------------------------------------


class LocationType(StrEnum):
    """General type of a charge location (2.1.1 only; 2.2 replaced it with ParkingType)."""

    ON_STREET = "ON_STREET"
    PARKING_GARAGE = "PARKING_GARAGE"
    UNDERGROUND_GARAGE = "UNDERGROUND_GARAGE"
    PARKING_LOT = "PARKING_LOT"
    OTHER = "OTHER"
    UNKNOWN = "UNKNOWN"


class Status(StrEnum):
    """Status of an EVSE."""

    AVAILABLE = "AVAILABLE"
    BLOCKED = "BLOCKED"
    CHARGING = "CHARGING"
    INOPERATIVE = "INOPERATIVE"
    OUTOFORDER = "OUTOFORDER"
    PLANNED = "PLANNED"
    REMOVED = "REMOVED"
    RESERVED = "RESERVED"
    UNKNOWN = "UNKNOWN"


class Capability(StrEnum):
    CHARGING_PROFILE_CAPABLE = "CHARGING_PROFILE_CAPABLE"
    CREDIT_CARD_PAYABLE = "CREDIT_CARD_PAYABLE"
    REMOTE_START_STOP_CAPABLE = "REMOTE_START_STOP_CAPABLE"
    RESERVABLE = "RESERVABLE"
    RFID_READER = "RFID_READER"
    UNLOCK_CAPABLE = "UNLOCK_CAPABLE"


class ConnectorFormat(StrEnum):
    SOCKET = "SOCKET"
    CABLE = "CABLE"


class ConnectorType(StrEnum):
    CHADEMO = "CHADEMO"
    DOMESTIC_A = "DOMESTIC_A"
    DOMESTIC_B = "DOMESTIC_B"
    DOMESTIC_C = "DOMESTIC_C"
    DOMESTIC_D = "DOMESTIC_D"
    DOMESTIC_E = "DOMESTIC_E"
    DOMESTIC_F = "DOMESTIC_F"
    DOMESTIC_G = "DOMESTIC_G"
    DOMESTIC_H = "DOMESTIC_H"
    DOMESTIC_I = "DOMESTIC_I"
    DOMESTIC_J = "DOMESTIC_J"
    DOMESTIC_K = "DOMESTIC_K"
    DOMESTIC_L = "DOMESTIC_L"
    IEC_60309_2_SINGLE_16 = "IEC_60309_2_single_16"
    IEC_60309_2_THREE_16 = "IEC_60309_2_three_16"
    IEC_60309_2_THREE_32 = "IEC_60309_2_three_32"
    IEC_60309_2_THREE_64 = "IEC_60309_2_three_64"
    IEC_62196_T1 = "IEC_62196_T1"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO"
    IEC_62196_T2 = "IEC_62196_T2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO"
    IEC_62196_T3A = "IEC_62196_T3A"
    IEC_62196_T3C = "IEC_62196_T3C"
    TESLA_R = "TESLA_R"
    TESLA_S = "TESLA_S"


class PowerType(StrEnum):
    AC_1_PHASE = "AC_1_PHASE"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class Facility(StrEnum):
    HOTEL = "HOTEL"
    RESTAURANT = "RESTAURANT"
    CAFE = "CAFE"
    MALL = "MALL"
    SUPERMARKET = "SUPERMARKET"
    SPORT = "SPORT"
    RECREATION_AREA = "RECREATION_AREA"
    NATURE = "NATURE"
    MUSEUM = "MUSEUM"
    BUS_STOP = "BUS_STOP"
    TAXI_STAND = "TAXI_STAND"
    TRAIN_STATION = "TRAIN_STATION"
    AIRPORT = "AIRPORT"
    CARPOOL_PARKING = "CARPOOL_PARKING"
    FUEL_STATION = "FUEL_STATION"
    WIFI = "WIFI"


class ImageCategory(StrEnum):
    CHARGER = "CHARGER"
    ENTRANCE = "ENTRANCE"
    LOCATION = "LOCATION"
    NETWORK = "NETWORK"
    OPERATOR = "OPERATOR"
    OTHER = "OTHER"
    OWNER = "OWNER"


class ParkingRestriction(StrEnum):
    EV_ONLY = "EV_ONLY"
    PLUGGED = "PLUGGED"
    DISABLED = "DISABLED"
    CUSTOMERS = "CUSTOMERS"
    MOTORCYCLES = "MOTORCYCLES"


class EnergySourceCategory(StrEnum):
    NUCLEAR = "NUCLEAR"
    GENERAL_FOSSIL = "GENERAL_FOSSIL"
    COAL = "COAL"
    GAS = "GAS"
    GENERAL_GREEN = "GENERAL_GREEN"
    SOLAR = "SOLAR"
    WIND = "WIND"
    WATER = "WATER"


class EnvironmentalImpactCategory(StrEnum):
    NUCLEAR_WASTE = "NUCLEAR_WASTE"
    CARBON_DIOXIDE = "CARBON_DIOXIDE"


# --- sessions and CDRs ----------------------------------------------------------------------------


class SessionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    INVALID = "INVALID"
    PENDING = "PENDING"


class AuthMethod(StrEnum):
    AUTH_REQUEST = "AUTH_REQUEST"
    WHITELIST = "WHITELIST"


class CdrDimensionType(StrEnum):
    """What a CdrDimension measures. FLAT exists only in 2.1.1."""

    ENERGY = "ENERGY"  # kWh
    FLAT = "FLAT"  # flat fee, no unit
    MAX_CURRENT = "MAX_CURRENT"  # A
    MIN_CURRENT = "MIN_CURRENT"  # A
    PARKING_TIME = "PARKING_TIME"  # hours, not charging
    TIME = "TIME"  # hours, charging


# --- tariffs --------------------------------------------------------------------------------------


class TariffDimensionType(StrEnum):
    ENERGY = "ENERGY"  # price per kWh, step_size in Wh
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"  # price per hour, step_size in seconds
    TIME = "TIME"  # price per hour, step_size in seconds


class DayOfWeek(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


# --- tokens ---------------------------------------------------------------------------------------


class TokenType(StrEnum):
    OTHER = "OTHER"
    RFID = "RFID"


class WhitelistType(StrEnum):
    ALWAYS = "ALWAYS"
    ALLOWED = "ALLOWED"
    ALLOWED_OFFLINE = "ALLOWED_OFFLINE"
    NEVER = "NEVER"


class Allowed(StrEnum):
    """Outcome of a real-time authorization (2.1.1 calls it ``Allowed``; 2.2+ ``AllowedType``)."""

    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    EXPIRED = "EXPIRED"
    NO_CREDIT = "NO_CREDIT"
    NOT_ALLOWED = "NOT_ALLOWED"


#: The 2.2+ name of :class:`Allowed`, so code can use one name across versions.
AllowedType = Allowed


# --- commands -------------------------------------------------------------------------------------


class CommandType(StrEnum):
    RESERVE_NOW = "RESERVE_NOW"
    START_SESSION = "START_SESSION"
    STOP_SESSION = "STOP_SESSION"
    UNLOCK_CONNECTOR = "UNLOCK_CONNECTOR"


class CommandResponseType(StrEnum):
    """Result in a CommandResponse: both the CPO's synchronous answer and the charge point's callback."""

    NOT_SUPPORTED = "NOT_SUPPORTED"
    REJECTED = "REJECTED"
    ACCEPTED = "ACCEPTED"
    TIMEOUT = "TIMEOUT"
    UNKNOWN_SESSION = "UNKNOWN_SESSION"
