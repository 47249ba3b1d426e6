"""Every enumeration of OCPI 2.3.0. Member values are the wire spelling.

2.3.0 makes several enumerations *OpenEnums*: a receiver must accept values it does not know. Fields
of those types are plain ``str`` (aliases ``Open<Name>`` below document which enum they hold), so an
unknown value decodes and survives a round trip; the ``StrEnum`` classes list the known values and
compare equal to the strings. Enums whose values did not change are the 2.2.1 classes, re-exported.
"""

from __future__ import annotations

from enum import StrEnum

from evroam.ocpi.v2_2_1.enums import (
    AllowedType,
    AuthMethod,
    Capability,
    CdrDimensionType,
    ChargingPreferencesResponse,
    ChargingProfileResponseType,
    ChargingProfileResultType,
    ChargingRateUnit,
    CommandResponseType,
    CommandResultType,
    CommandType,
    ConnectionStatus,
    ConnectorFormat,
    DayOfWeek,
    EnergySourceCategory,
    EnvironmentalImpactCategory,
    Facility,
    ImageCategory,
    InterfaceRole,
    ParkingType,
    PowerType,
    ProfileType,
    ReservationRestrictionType,
    SessionStatus,
    Status,
    TariffDimensionType,
    TariffType,
    WhitelistType,
)

__all__ = [
    "AllowedType",
    "AuthMethod",
    "Capability",
    "CaptureStatusCode",
    "CdrDimensionType",
    "ChargingPreferencesResponse",
    "ChargingProfileResponseType",
    "ChargingProfileResultType",
    "ChargingRateUnit",
    "CommandResponseType",
    "CommandResultType",
    "CommandType",
    "ConnectionStatus",
    "ConnectorCapability",
    "ConnectorFormat",
    "ConnectorType",
    "DayOfWeek",
    "EVSEPosition",
    "EnergySourceCategory",
    "EnvironmentalImpactCategory",
    "Facility",
    "ImageCategory",
    "InterfaceRole",
    "InvoiceCreator",
    "ModuleID",
    "OpenCapability",
    "OpenCommandType",
    "OpenConnectorCapability",
    "OpenConnectorType",
    "OpenEnvironmentalImpactCategory",
    "OpenFacility",
    "OpenImageCategory",
    "OpenModuleID",
    "OpenParkingRestriction",
    "OpenParkingType",
    "OpenTokenType",
    "OpenVehicleType",
    "OpenVersionNumber",
    "ParkingDirection",
    "ParkingRestriction",
    "ParkingType",
    "PowerType",
    "ProfileType",
    "ReservationRestrictionType",
    "Role",
    "SessionStatus",
    "Status",
    "TariffDimensionType",
    "TariffType",
    "TaxIncluded",
    "TokenType",
    "VehicleType",
    "VersionNumber",
    "WhitelistType",
]

# --- OpenEnum field types: any string; the known values are in the StrEnum of the same name -------

OpenModuleID = str  # ModuleID
OpenVersionNumber = str  # VersionNumber
OpenCapability = str  # Capability
OpenConnectorCapability = str  # ConnectorCapability
OpenConnectorType = str  # ConnectorType
OpenEnvironmentalImpactCategory = str  # EnvironmentalImpactCategory
OpenFacility = str  # Facility
OpenImageCategory = str  # ImageCategory
OpenParkingRestriction = str  # ParkingRestriction
OpenParkingType = str  # ParkingType
OpenVehicleType = str  # VehicleType
OpenTokenType = str  # TokenType
OpenCommandType = str  # CommandType


# --- changed or new in 2.3.0 ----------------------------------------------------------------------


class VersionNumber(StrEnum):
    V2_0 = "2.0"
    V2_1 = "2.1"  # deprecated
    V2_1_1 = "2.1.1"
    V2_2 = "2.2"  # deprecated
    V2_2_1 = "2.2.1"
    V2_3_0 = "2.3.0"


class ModuleID(StrEnum):
    CDRS = "cdrs"
    CHARGING_PROFILES = "chargingprofiles"
    COMMANDS = "commands"
    CREDENTIALS = "credentials"
    HUB_CLIENT_INFO = "hubclientinfo"
    LOCATIONS = "locations"
    PAYMENTS = "payments"  # identifier given by the Payments chapter, not in the ModuleID table
    SESSIONS = "sessions"
    TARIFFS = "tariffs"
    TOKENS = "tokens"


class Role(StrEnum):
    """2.3.0 drops HUB: a hub names itself in Credentials.hub_party_id instead."""

    CPO = "CPO"
    EMSP = "EMSP"
    NAP = "NAP"
    NSP = "NSP"
    OTHER = "OTHER"
    SCSP = "SCSP"


class ConnectorType(StrEnum):
    CHADEMO = "CHADEMO"
    CHAOJI = "CHAOJI"
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
    DOMESTIC_M = "DOMESTIC_M"
    DOMESTIC_N = "DOMESTIC_N"
    DOMESTIC_O = "DOMESTIC_O"
    GBT_AC = "GBT_AC"
    GBT_DC = "GBT_DC"
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
    MCS = "MCS"
    NEMA_5_20 = "NEMA_5_20"
    NEMA_6_30 = "NEMA_6_30"
    NEMA_6_50 = "NEMA_6_50"
    NEMA_10_30 = "NEMA_10_30"
    NEMA_10_50 = "NEMA_10_50"
    NEMA_14_30 = "NEMA_14_30"
    NEMA_14_50 = "NEMA_14_50"
    PANTOGRAPH_BOTTOM_UP = "PANTOGRAPH_BOTTOM_UP"
    PANTOGRAPH_TOP_DOWN = "PANTOGRAPH_TOP_DOWN"
    SAE_J3400 = "SAE_J3400"
    TESLA_R = "TESLA_R"
    TESLA_S = "TESLA_S"


class ConnectorCapability(StrEnum):
    ISO_15118_2_PLUG_AND_CHARGE = "ISO_15118_2_PLUG_AND_CHARGE"
    ISO_15118_20_PLUG_AND_CHARGE = "ISO_15118_20_PLUG_AND_CHARGE"


class ParkingRestriction(StrEnum):
    CUSTOMERS = "CUSTOMERS"
    DISABLED = "DISABLED"
    EMPLOYEES = "EMPLOYEES"
    EV_ONLY = "EV_ONLY"
    MOTORCYCLES = "MOTORCYCLES"
    PLUGGED = "PLUGGED"
    TAXIS = "TAXIS"
    TENANTS = "TENANTS"


class VehicleType(StrEnum):
    MOTORCYCLE = "MOTORCYCLE"
    PERSONAL_VEHICLE = "PERSONAL_VEHICLE"
    PERSONAL_VEHICLE_WITH_TRAILER = "PERSONAL_VEHICLE_WITH_TRAILER"
    VAN = "VAN"
    SEMI_TRACTOR = "SEMI_TRACTOR"
    RIGID = "RIGID"
    TRUCK_WITH_TRAILER = "TRUCK_WITH_TRAILER"
    BUS = "BUS"
    DISABLED = "DISABLED"


class ParkingDirection(StrEnum):
    PARALLEL = "PARALLEL"
    PERPENDICULAR = "PERPENDICULAR"
    ANGLE = "ANGLE"


class EVSEPosition(StrEnum):
    LEFT = "LEFT"
    RIGHT = "RIGHT"
    CENTER = "CENTER"


class TaxIncluded(StrEnum):
    YES = "YES"
    NO = "NO"
    NOT_APPLICABLE = "N/A"


class TokenType(StrEnum):
    AD_HOC_USER = "AD_HOC_USER"
    APP_USER = "APP_USER"
    EMAID = "EMAID"
    OTHER = "OTHER"
    RFID = "RFID"


# --- payments -------------------------------------------------------------------------------------


class InvoiceCreator(StrEnum):
    CPO = "CPO"
    PTP = "PTP"


class CaptureStatusCode(StrEnum):
    SUCCESS = "SUCCESS"
    PARTIAL_SUCCESS = "PARTIAL_SUCCESS"
    FAILED = "FAILED"
