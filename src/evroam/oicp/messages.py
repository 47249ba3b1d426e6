"""OICP 2.3 wire models: every request and answer of the CPO (C1-C12) and EMP (E1-E16) operations.

Field names are the JSON keys on the wire (OICP's own spelling, PascalCase with its irregularities),
so a model reads like Hubject's documents. Where Hubject's documents disagree on a key
(``DIGEST.md`` §5.4) the model uses one spelling and :mod:`evroam.oicp.codec` accepts the others on
input; ``tests/unit/test_oicp_openapi.py`` checks every model against Hubject's OpenAPI files and
holds the table of those deviations (also in ``docs/oicp.md``).

What the schemas cannot say and the models enforce: exactly one member of an ``Identification``,
exactly one format of ``GeoCoordinates``, string lengths (Hubject wrote ``maximum`` for them), time
stamps with a UTC offset.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from evroam.core.types import Number
from evroam.oicp.ids import (
    ChargingPoolId,
    EvcoId,
    EvseId,
    HashValue,
    LanguageCode,
    OperatorId,
    PhoneNumber,
    ProductId,
    ProviderId,
    ProviderIdAsterisk,
    SessionId,
    TimeZoneOffset,
    Uid,
)

__all__ = [
    "Accessibility",
    "AccessibilityLocation",
    "Acknowledgement",
    "ActionType",
    "AdditionalReference",
    "AdditionalReferenceType",
    "Address",
    "AuthenticationDataRecord",
    "AuthenticationMode",
    "AuthorizationStart",
    "AuthorizationStatus",
    "AuthorizationStop",
    "AuthorizeRemoteReservationStart",
    "AuthorizeRemoteReservationStop",
    "AuthorizeRemoteStart",
    "AuthorizeRemoteStop",
    "AuthorizeStart",
    "AuthorizeStop",
    "CalibrationLawDataAvailability",
    "CalibrationLawVerificationInfo",
    "CdrPage",
    "ChargeDetailRecord",
    "ChargingFacility",
    "ChargingMode",
    "ChargingNotification",
    "ChargingNotificationEnd",
    "ChargingNotificationError",
    "ChargingNotificationProgress",
    "ChargingNotificationStart",
    "DeltaType",
    "DynamicInfoAvailable",
    "EnergySource",
    "EnergySourceType",
    "EnvironmentalImpact",
    "ErrorType",
    "EvseDataPage",
    "EvseDataRecord",
    "EvsePricing",
    "EvsePricingResponse",
    "EvseStatus",
    "EvseStatusByIdResponse",
    "EvseStatusRecord",
    "EvseStatusRecords",
    "EvseStatusResponse",
    "EvseStatuses",
    "GeoCoordinates",
    "GeoCoordinatesResponseFormat",
    "GetChargeDetailRecords",
    "Google",
    "HashedPin",
    "Identification",
    "InfoText",
    "LatLon",
    "LegacyHashData",
    "MeterValues",
    "OpeningTimes",
    "OperatorEvseData",
    "OperatorEvsePricing",
    "OperatorEvseStatus",
    "Pageable",
    "Period",
    "Plug",
    "PlugAndChargeIdentification",
    "PowerType",
    "PricingProductData",
    "PricingProductDataRecord",
    "PricingProductDataResponse",
    "ProductAvailabilityTimes",
    "ProviderAuthenticationData",
    "PullEvseData",
    "PullEvseDataRecord",
    "PullEvsePricing",
    "PullEvseStatus",
    "PullEvseStatusById",
    "PullEvseStatusByOperatorId",
    "PullPricingProductData",
    "PushAuthenticationData",
    "PushEvseData",
    "PushEvsePricing",
    "PushEvseStatus",
    "PushPricingProductData",
    "QRCodeIdentification",
    "RFIDIdentification",
    "RFIDMifareFamilyIdentification",
    "RemoteIdentification",
    "SearchCenter",
    "SignedMeteringValue",
    "Sort",
    "StatusCode",
    "Timestamp",
    "ValueAddedService",
    "Weekday",
    "Wire",
]

#: A date-time with its UTC offset (OICP requires one; a bare local time is refused).
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]


def _s(n: int, least: int = 0) -> object:
    return msgspec.Meta(max_length=n, min_length=least)


S20 = Annotated[str, _s(20)]
S50 = Annotated[str, _s(50)]
S100 = Annotated[str, _s(100)]
S150 = Annotated[str, _s(150)]
S200 = Annotated[str, _s(200)]
S250 = Annotated[str, _s(250)]
S1000 = Annotated[str, _s(1000)]
HourMinute = Annotated[str, msgspec.Meta(pattern=r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")]


class Wire(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of every OICP wire model: absent optionals are left out (never ``null``)."""


# -- enums -----------------------------------------------------------------------------------------------


class ActionType(StrEnum):
    FULL_LOAD = "fullLoad"
    UPDATE = "update"
    INSERT = "insert"
    DELETE = "delete"


class DeltaType(StrEnum):
    UPDATE = "update"
    INSERT = "insert"
    DELETE = "delete"


class EvseStatus(StrEnum):
    AVAILABLE = "Available"
    RESERVED = "Reserved"
    OCCUPIED = "Occupied"
    OUT_OF_SERVICE = "OutOfService"
    EVSE_NOT_FOUND = "EvseNotFound"
    UNKNOWN = "Unknown"


class AuthorizationStatus(StrEnum):
    AUTHORIZED = "Authorized"
    NOT_AUTHORIZED = "NotAuthorized"


class Plug(StrEnum):
    SMALL_PADDLE_INDUCTIVE = "Small Paddle Inductive"
    LARGE_PADDLE_INDUCTIVE = "Large Paddle Inductive"
    AVCON = "AVCON Connector"
    TESLA = "Tesla Connector"
    NEMA_5_20 = "NEMA 5-20"
    TYPE_E = "Type E French Standard"
    TYPE_F = "Type F Schuko"
    TYPE_G = "Type G British Standard"
    TYPE_J = "Type J Swiss Standard"
    TYPE_1_CABLE = "Type 1 Connector (Cable Attached)"
    TYPE_2_OUTLET = "Type 2 Outlet"
    TYPE_2_CABLE = "Type 2 Connector (Cable Attached)"
    TYPE_3_OUTLET = "Type 3 Outlet"
    IEC_60309_SINGLE = "IEC 60309 Single Phase"
    IEC_60309_THREE = "IEC 60309 Three Phase"
    CCS_2 = "CCS Combo 2 Plug (Cable Attached)"
    CCS_1 = "CCS Combo 1 Plug (Cable Attached)"
    CHADEMO = "CHAdeMO"


class PowerType(StrEnum):
    AC_1_PHASE = "AC_1_PHASE"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class ChargingMode(StrEnum):
    MODE_1 = "Mode_1"
    MODE_2 = "Mode_2"
    MODE_3 = "Mode_3"
    MODE_4 = "Mode_4"
    CHADEMO = "CHAdeMO"


class EnergySourceType(StrEnum):
    SOLAR = "Solar"
    WIND = "Wind"
    HYDRO_POWER = "HydroPower"
    GEOTHERMAL = "GeothermalEnergy"
    BIOMASS = "Biomass"
    COAL = "Coal"
    NUCLEAR = "NuclearEnergy"
    PETROLEUM = "Petroleum"
    NATURAL_GAS = "NaturalGas"


class CalibrationLawDataAvailability(StrEnum):
    LOCAL = "Local"
    EXTERNAL = "External"
    NOT_AVAILABLE = "Not Available"


class AuthenticationMode(StrEnum):
    NFC_RFID_CLASSIC = "NFC RFID Classic"
    NFC_RFID_DESFIRE = "NFC RFID DESFire"
    PNC = "PnC"
    REMOTE = "REMOTE"
    DIRECT_PAYMENT = "Direct Payment"
    NO_AUTHENTICATION = "No Authentication Required"


class PaymentOption(StrEnum):
    NO_PAYMENT = "No Payment"
    DIRECT = "Direct"
    CONTRACT = "Contract"


class ValueAddedService(StrEnum):
    RESERVATION = "Reservation"
    DYNAMIC_PRICING = "DynamicPricing"
    PARKING_SENSORS = "ParkingSensors"
    MAXIMUM_POWER_CHARGING = "MaximumPowerCharging"
    PREDICTIVE_USAGE = "PredictiveChargePointUsage"
    CHARGING_PLANS = "ChargingPlans"
    ROOF_PROVIDED = "RoofProvided"
    NONE = "None"


class Accessibility(StrEnum):
    FREE_PUBLIC = "Free publicly accessible"
    RESTRICTED = "Restricted access"
    PAYING_PUBLIC = "Paying publicly accessible"
    TEST_STATION = "Test Station"


class AccessibilityLocation(StrEnum):
    ON_STREET = "OnStreet"
    PARKING_LOT = "ParkingLot"
    PARKING_GARAGE = "ParkingGarage"
    UNDERGROUND_PARKING_GARAGE = "UndergroundParkingGarage"


class DynamicInfoAvailable(StrEnum):
    """Strings on the wire, not booleans."""

    TRUE = "true"
    FALSE = "false"
    AUTO = "auto"


class Weekday(StrEnum):
    EVERYDAY = "Everyday"
    WORKDAYS = "Workdays"
    WEEKEND = "Weekend"
    MONDAY = "Monday"
    TUESDAY = "Tuesday"
    WEDNESDAY = "Wednesday"
    THURSDAY = "Thursday"
    FRIDAY = "Friday"
    SATURDAY = "Saturday"
    SUNDAY = "Sunday"


class GeoCoordinatesResponseFormat(StrEnum):
    GOOGLE = "Google"
    DEGREE_MINUTE_SECONDS = "DegreeMinuteSeconds"
    DECIMAL_DEGREE = "DecimalDegree"


class ErrorType(StrEnum):
    """The OpenAPI spelling (no space); deviation 8 of the DIGEST."""

    CONNECTOR_ERROR = "ConnectorError"
    CRITICAL_ERROR = "CriticalError"


class AdditionalReferenceType(StrEnum):
    START_FEE = "START FEE"
    FIXED_FEE = "FIXED FEE"
    PARKING_FEE = "PARKING FEE"
    MINIMUM_FEE = "MINIMUM FEE"
    MAXIMUM_FEE = "MAXIMUM FEE"


# -- envelopes -------------------------------------------------------------------------------------------


class StatusCode(Wire):
    Code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{3}$")]
    Description: S200 | None = None
    AdditionalInfo: S1000 | None = None


class Acknowledgement(Wire):
    """``eRoamingAcknowledgement`` (the OpenAPI file is named ``eRoamingAcknowledgment``)."""

    Result: bool
    StatusCode: StatusCode
    SessionID: SessionId | None = None
    CPOPartnerSessionID: S250 | None = None
    EMPPartnerSessionID: S250 | None = None


# -- identification --------------------------------------------------------------------------------------


class RFIDMifareFamilyIdentification(Wire):
    UID: Uid


class RFIDIdentification(Wire):
    UID: Uid
    RFID: Literal["mifareCls", "mifareDes", "calypso", "nfc", "mifareFamily"]
    EvcoID: EvcoId | None = None
    PrintedNumber: S150 | None = None
    ExpiryDate: Timestamp | None = None


class LegacyHashData(Wire):
    Function: Literal["MD5", "SHA-1"]
    Salt: S100 | None = None
    Value: S100 | None = None


class HashedPin(Wire):
    Value: HashValue
    Function: Literal["Bcrypt"]
    LegacyHashData: LegacyHashData | None = None


class QRCodeIdentification(Wire):
    EvcoID: EvcoId
    HashedPIN: HashedPin | None = None
    PIN: S20 | None = None

    def __post_init__(self) -> None:
        if self.HashedPIN is not None and self.PIN is not None:
            raise ValueError("QRCodeIdentification takes either PIN or HashedPIN, not both")


class PlugAndChargeIdentification(Wire):
    EvcoID: EvcoId


class RemoteIdentification(Wire):
    EvcoID: EvcoId


class Identification(Wire):
    """``IdentificationType``: exactly one member is set (the schema cannot say it; this model does)."""

    RFIDMifareFamilyIdentification: RFIDMifareFamilyIdentification | None = None
    RFIDIdentification: RFIDIdentification | None = None
    QRCodeIdentification: QRCodeIdentification | None = None
    PlugAndChargeIdentification: PlugAndChargeIdentification | None = None
    RemoteIdentification: RemoteIdentification | None = None

    def __post_init__(self) -> None:
        present = sum(
            m is not None
            for m in (
                self.RFIDMifareFamilyIdentification,
                self.RFIDIdentification,
                self.QRCodeIdentification,
                self.PlugAndChargeIdentification,
                self.RemoteIdentification,
            )
        )
        if present != 1:
            raise ValueError(f"an Identification has exactly one member, got {present}")

    def evco_id(self) -> str | None:
        """The contract ID it carries, if any."""
        for member in (
            self.RemoteIdentification,
            self.PlugAndChargeIdentification,
            self.QRCodeIdentification,
            self.RFIDIdentification,
        ):
            if member is not None:
                return member.EvcoID
        return None

    def uid(self) -> str | None:
        """The RFID UID it carries, if any."""
        if self.RFIDMifareFamilyIdentification is not None:
            return self.RFIDMifareFamilyIdentification.UID
        if self.RFIDIdentification is not None:
            return self.RFIDIdentification.UID
        return None


# -- geo, address, texts ---------------------------------------------------------------------------------

_LAT_LON = r"^-?1?\d{1,2}\.\d{1,6}$"
_DMS = r"^-?1?\d{1,2}°[ ]?\d{1,2}'[ ]?\d{1,2}\.\d+''$"


class Google(Wire):
    Coordinates: Annotated[str, msgspec.Meta(pattern=r"^-?1?\d{1,2}\.\d{1,6}\s*\,?\s*-?1?\d{1,2}\.\d{1,6}$")]


class LatLon(Wire):
    Longitude: Annotated[str, msgspec.Meta(pattern=_LAT_LON)]
    Latitude: Annotated[str, msgspec.Meta(pattern=_LAT_LON)]


class DegreeMinuteSeconds(Wire):
    Longitude: Annotated[str, msgspec.Meta(pattern=_DMS)]
    Latitude: Annotated[str, msgspec.Meta(pattern=_DMS)]


class GeoCoordinates(Wire):
    """Exactly one of the three formats."""

    Google: Google | None = None
    DecimalDegree: LatLon | None = None
    DegreeMinuteSeconds: DegreeMinuteSeconds | None = None

    def __post_init__(self) -> None:
        present = sum(m is not None for m in (self.Google, self.DecimalDegree, self.DegreeMinuteSeconds))
        if present != 1:
            raise ValueError(f"GeoCoordinates has exactly one format, got {present}")


_Geo = GeoCoordinates  # for fields declared after a field named ``GeoCoordinates``


class Address(Wire):
    """``AddressIso19773``."""

    Country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    City: Annotated[str, _s(50, 1)]
    Street: Annotated[str, _s(100, 2)]
    PostalCode: Annotated[str, _s(10)]
    HouseNum: Annotated[str, _s(10)]
    Floor: Annotated[str, _s(5)] | None = None
    Region: S50 | None = None
    ParkingFacility: bool | None = None
    ParkingSpot: Annotated[str, _s(5)] | None = None
    TimeZone: TimeZoneOffset | None = None


class InfoText(Wire):
    """``InfoTextType``."""

    lang: LanguageCode
    value: S150


class Period(Wire):
    begin: HourMinute
    end: HourMinute


class OpeningTimes(Wire):
    Period: list[Period]
    on: Weekday


class ChargingFacility(Wire):
    PowerType: PowerType
    Power: Annotated[int, msgspec.Meta(ge=0, le=999)]
    """kW, an integer (the CPO schema; the EMP schema says ``number``: deviation 3)."""
    Voltage: Annotated[int, msgspec.Meta(ge=0, le=999)] | None = None
    Amperage: Annotated[int, msgspec.Meta(ge=0, le=99)] | None = None
    ChargingModes: list[ChargingMode] | None = None


class EnergySource(Wire):
    Energy: EnergySourceType | None = None
    Percentage: Annotated[int, msgspec.Meta(ge=0, le=99)] | None = None


class EnvironmentalImpact(Wire):
    CO2Emission: Number | None = None
    NuclearWaste: Number | None = None


# -- EVSE data (C1, E1) ----------------------------------------------------------------------------------


class EvseDataRecord(Wire):
    """One EVSE as a CPO pushes it; a pull answer adds ``OperatorID``/``OperatorName`` and Hubject's
    ``deltaType``/``lastUpdate``. ``ChargingStationId`` is the schema's spelling; ``ChargingStationID``
    (every example's) is accepted on input (deviation 2)."""

    EvseID: EvseId
    ChargingStationNames: list[InfoText]
    Address: Address
    GeoCoordinates: GeoCoordinates
    Plugs: list[Plug]
    ChargingFacilities: list[ChargingFacility]
    RenewableEnergy: bool
    CalibrationLawDataAvailability: CalibrationLawDataAvailability
    AuthenticationModes: list[AuthenticationMode]
    PaymentOptions: list[PaymentOption]
    ValueAddedServices: list[ValueAddedService]
    Accessibility: Accessibility
    HotlinePhoneNumber: PhoneNumber
    IsOpen24Hours: bool
    IsHubjectCompatible: bool
    DynamicInfoAvailable: DynamicInfoAvailable
    deltaType: DeltaType | None = None
    lastUpdate: Timestamp | None = None
    ChargingPoolID: ChargingPoolId | None = None
    ChargingStationId: S50 | None = None
    HardwareManufacturer: S50 | None = None
    ChargingStationImage: S200 | None = None
    SubOperatorName: S100 | None = None
    DynamicPowerLevel: bool | None = None
    EnergySource: list[EnergySource] | None = None
    EnvironmentalImpact: EnvironmentalImpact | None = None
    MaxCapacity: int | None = None
    AccessibilityLocation: AccessibilityLocation | None = None
    AdditionalInfo: list[InfoText] | None = None
    ChargingStationLocationReference: list[InfoText] | None = None
    GeoChargingPointEntrance: _Geo | None = None
    OpeningTimes: list[OpeningTimes] | None = None
    HubOperatorID: OperatorId | None = None
    ClearinghouseID: S20 | None = None

    def __post_init__(self) -> None:
        if not self.IsOpen24Hours and not self.OpeningTimes:
            raise ValueError("OpeningTimes is required when IsOpen24Hours is false")


class PullEvseDataRecord(EvseDataRecord, kw_only=True):
    """A record of a pull answer (E1): the push record plus its operator."""

    OperatorID: OperatorId
    OperatorName: S100


class OperatorEvseData(Wire):
    OperatorID: OperatorId
    OperatorName: S100
    EvseDataRecord: list[EvseDataRecord]


class PushEvseData(Wire):
    """C1 ``eRoamingPushEvseData`` (2.3)."""

    ActionType: ActionType
    OperatorEvseData: OperatorEvseData


class SearchCenter(Wire):
    GeoCoordinates: GeoCoordinates
    Radius: Number
    """km."""


class PullEvseData(Wire):
    """E1 ``eRoamingPullEvseData`` (2.3)."""

    ProviderID: ProviderId
    GeoCoordinatesResponseFormat: GeoCoordinatesResponseFormat
    SearchCenter: SearchCenter | None = None
    LastCall: Timestamp | None = None
    CountryCodes: list[str] | None = None
    OperatorIds: list[OperatorId] | None = None
    AuthenticationModes: list[AuthenticationMode] | None = None
    Accessibility: list[Accessibility] | None = None
    CalibrationLawDataAvailability: list[CalibrationLawDataAvailability] | None = None
    RenewableEnergy: bool | None = None
    IsHubjectCompatible: bool | None = None
    IsOpen24Hours: bool | None = None

    def __post_init__(self) -> None:
        if self.LastCall is not None and (self.SearchCenter or self.CountryCodes or self.OperatorIds):
            raise ValueError("LastCall cannot be combined with SearchCenter, CountryCodes or OperatorIds")


class EvseDataPage(Wire):
    """E1's answer ``eRoamingEvseData``: a Spring-Data page of pull records."""

    content: list[PullEvseDataRecord]
    number: int
    size: int
    totalElements: int
    last: bool
    totalPages: int
    first: bool
    numberOfElements: int
    StatusCode: StatusCode


# -- EVSE status (C2, E2-E4) -----------------------------------------------------------------------------


class EvseStatusRecord(Wire):
    EvseID: EvseId
    EvseStatus: EvseStatus


class OperatorEvseStatus(Wire):
    OperatorID: OperatorId
    EvseStatusRecord: list[EvseStatusRecord]
    OperatorName: S100 | None = None


class PushEvseStatus(Wire):
    """C2 ``eRoamingPushEvseStatus`` (2.1)."""

    ActionType: ActionType
    OperatorEvseStatus: OperatorEvseStatus


class PullEvseStatus(Wire):
    """E2 ``eRoamingPullEvseStatus``."""

    ProviderID: ProviderId
    SearchCenter: SearchCenter | None = None
    EVSEStatus: EvseStatus | None = None


class PullEvseStatusById(Wire):
    """E3 ``eRoamingPullEvseStatusByID``: at most 100 EvseIDs."""

    ProviderID: ProviderId
    EvseID: Annotated[list[EvseId], msgspec.Meta(min_length=1, max_length=100)]


class PullEvseStatusByOperatorId(Wire):
    """E4 ``eRoamingPullEvseStatusByOperatorID``."""

    ProviderID: ProviderId
    OperatorID: Annotated[list[OperatorId], msgspec.Meta(min_length=1)]


class EvseStatuses(Wire):
    OperatorEvseStatus: list[OperatorEvseStatus]


class EvseStatusResponse(Wire):
    """E2/E4's answer ``eRoamingEvseStatus``."""

    EvseStatuses: EvseStatuses
    StatusCode: StatusCode | None = None


class EvseStatusRecords(Wire):
    EvseStatusRecord: list[EvseStatusRecord]


class EvseStatusByIdResponse(Wire):
    """E3's answer ``eRoamingEvseStatusById`` (another envelope than E2's)."""

    EVSEStatusRecords: EvseStatusRecords
    StatusCode: StatusCode | None = None


# -- authorization (C3, C4, C9, C10, E5, E6, E13, E14) ----------------------------------------------------


class AuthorizeStart(Wire):
    """C3/E13 ``eRoamingAuthorizeStart`` (2.1)."""

    OperatorID: OperatorId
    Identification: Identification
    EvseID: EvseId | None = None
    PartnerProductID: ProductId | None = None
    SessionID: SessionId | None = None
    CPOPartnerSessionID: S250 | None = None
    EMPPartnerSessionID: S250 | None = None


class AuthorizationStart(Wire):
    """C3/E13's answer ``eRoamingAuthorizationStart``."""

    AuthorizationStatus: AuthorizationStatus
    StatusCode: StatusCode
    SessionID: SessionId | None = None
    CPOPartnerSessionID: S250 | None = None
    EMPPartnerSessionID: S250 | None = None
    ProviderID: ProviderId | None = None
    AuthorizationStopIdentifications: list[Identification] | None = None


class AuthorizeStop(Wire):
    """C4/E14 ``eRoamingAuthorizeStop`` (2.1)."""

    SessionID: SessionId
    OperatorID: OperatorId
    Identification: Identification
    EvseID: EvseId | None = None
    CPOPartnerSessionID: S250 | None = None
    EMPPartnerSessionID: S250 | None = None


class AuthorizationStop(Wire):
    """C4/E14's answer ``eRoamingAuthorizationStop``."""

    AuthorizationStatus: AuthorizationStatus
    StatusCode: StatusCode
    SessionID: SessionId | None = None
    CPOPartnerSessionID: S250 | None = None
    EMPPartnerSessionID: S250 | None = None
    ProviderID: ProviderId | None = None


class AuthorizeRemoteStart(Wire):
    """E5/C9 ``eRoamingAuthorizeRemoteStart`` (2.1). ``SessionID`` is required by both OpenAPIs but the
    EMP leaves it out and Hubject fills it in towards the CPO (deviation 17): optional here."""

    ProviderID: ProviderId
    EvseID: EvseId
    Identification: Identification
    SessionID: SessionId | None = None
    PartnerProductID: ProductId | None = None
    CPOPartnerSessionID: S250 | None = None
    EMPPartnerSessionID: S250 | None = None


class AuthorizeRemoteStop(Wire):
    """E6/C10 ``eRoamingAuthorizeRemoteStop`` (2.1)."""

    SessionID: SessionId
    ProviderID: ProviderId
    EvseID: EvseId
    CPOPartnerSessionID: S250 | None = None
    EMPPartnerSessionID: S250 | None = None


class AuthorizeRemoteReservationStart(Wire):
    """E7/C11 ``eRoamingAuthorizeRemoteReservationStart`` (1.1). ``EMPPartnerSessionID`` is the
    AsciiDoc spelling; the OpenAPI's ``EMPPartnerSessionId`` is accepted on input (deviation 5)."""

    ProviderID: ProviderId
    EvseID: EvseId
    Identification: Identification
    SessionID: SessionId | None = None
    PartnerProductID: ProductId | None = None
    Duration: Annotated[int, msgspec.Meta(ge=1, le=99)] | None = None
    CPOPartnerSessionID: S250 | None = None
    EMPPartnerSessionID: S250 | None = None


class AuthorizeRemoteReservationStop(Wire):
    """E8/C12 ``eRoamingAuthorizeRemoteReservationStop`` (1.1)."""

    SessionID: SessionId
    ProviderID: ProviderId
    EvseID: EvseId
    CPOPartnerSessionID: S250 | None = None
    EMPPartnerSessionID: S250 | None = None


# -- charge detail records (C5, E10, E15) ----------------------------------------------------------------


class MeterValues(Wire):
    """``MeterValueInBetween`` is an object on the wire, a list in the AsciiDoc (deviation 10)."""

    meterValues: list[Number] | None = None


class SignedMeteringValue(Wire):
    SignedMeteringValue: Annotated[str, _s(3000)] | None = None
    MeteringStatus: Literal["Start", "Progress", "End"] | None = None


class CalibrationLawVerificationInfo(Wire):
    CalibrationLawCertificateID: S100 | None = None
    PublicKey: S1000 | None = None
    MeteringSignatureUrl: S200 | None = None
    MeteringSignatureEncodingFormat: S50 | None = None
    SignedMeteringValuesVerificationInstruction: Annotated[str, _s(400)] | None = None


class ChargeDetailRecord(Wire):
    """C5/E15 ``eRoamingChargeDetailRecord`` (2.2). ``HubProviderID`` is the AsciiDoc's (and the fixed
    CPO OpenAPI's) spelling; the EMP OpenAPI's ``HubProviderId`` is accepted on input (deviation 1)."""

    SessionID: SessionId
    EvseID: EvseId
    Identification: Identification
    ChargingStart: Timestamp
    ChargingEnd: Timestamp
    SessionStart: Timestamp
    SessionEnd: Timestamp
    ConsumedEnergy: Number
    CPOPartnerSessionID: S250 | None = None
    EMPPartnerSessionID: S250 | None = None
    PartnerProductID: ProductId | None = None
    MeterValueStart: Number | None = None
    MeterValueEnd: Number | None = None
    MeterValueInBetween: MeterValues | None = None
    SignedMeteringValues: Annotated[list[SignedMeteringValue], msgspec.Meta(max_length=10)] | None = None
    CalibrationLawVerificationInfo: CalibrationLawVerificationInfo | None = None
    HubOperatorID: OperatorId | None = None
    HubProviderID: ProviderId | None = None


class GetChargeDetailRecords(Wire):
    """E10 ``eRoamingGetChargeDetailRecords`` (2.2). ``CDRForwarded`` is the AsciiDoc's name; the
    OpenAPI's ``CDRForwarder`` is accepted on input (deviation 4)."""

    ProviderID: ProviderId
    From: Timestamp
    To: Timestamp
    SessionID: list[SessionId] | None = None
    OperatorID: OperatorId | None = None
    CDRForwarded: bool | None = None


class Sort(Wire):
    sorted: bool | None = None
    empty: bool | None = None
    unsorted: bool | None = None


class Pageable(Wire):
    """Spring Data's page request, echoed in the CDR page."""

    sort: Sort | None = None
    pageSize: int | None = None
    pageNumber: int | None = None
    offset: int | None = None
    paged: bool | None = None
    unpaged: bool | None = None


class CdrPage(Wire):
    """E10's answer ``eRoamingChargeDetailRecords``: a page of CDRs."""

    content: list[ChargeDetailRecord]
    number: int
    size: int
    totalElements: int
    last: bool
    totalPages: int
    first: bool
    numberOfElements: int
    StatusCode: StatusCode
    pageable: Pageable | None = None
    empty: bool | None = None


# -- charging notifications (C6, E16) --------------------------------------------------------------------


class _Notification(Wire, tag_field="Type"):
    SessionID: SessionId
    EvseID: EvseId
    OperatorID: OperatorId
    CPOPartnerSessionID: S250 | None = None
    EMPPartnerSessionID: S250 | None = None
    Identification: Identification | None = None


class ChargingNotificationStart(_Notification, tag="Start", kw_only=True):
    ChargingStart: Timestamp
    SessionStart: Timestamp | None = None
    MeterValueStart: Number | None = None
    PartnerProductID: ProductId | None = None


class ChargingNotificationProgress(_Notification, tag="Progress", kw_only=True):
    """``ChargingDuration`` (ms) and/or ``ConsumedEnergyProgress`` (kWh) are required."""

    ChargingStart: Timestamp
    EventOccurred: Timestamp
    ChargingDuration: int | None = None
    SessionStart: Timestamp | None = None
    ConsumedEnergyProgress: Number | None = None
    MeterValueStart: Number | None = None
    MeterValueInBetween: MeterValues | None = None
    PartnerProductID: ProductId | None = None

    def __post_init__(self) -> None:
        if self.ChargingDuration is None and self.ConsumedEnergyProgress is None:
            raise ValueError("a Progress notification carries ChargingDuration or ConsumedEnergyProgress")


class ChargingNotificationEnd(_Notification, tag="End", kw_only=True):
    ChargingEnd: Timestamp
    ChargingStart: Timestamp | None = None
    SessionStart: Timestamp | None = None
    SessionEnd: Timestamp | None = None
    ConsumedEnergy: Number | None = None
    MeterValueStart: Number | None = None
    MeterValueEnd: Number | None = None
    MeterValueInBetween: MeterValues | None = None
    PartnerProductID: ProductId | None = None
    PenaltyTimeStart: Timestamp | None = None


class ChargingNotificationError(_Notification, tag="Error", kw_only=True):
    ErrorType: ErrorType
    ErrorAdditionalInfo: S250 | None = None


ChargingNotification = (
    ChargingNotificationStart
    | ChargingNotificationProgress
    | ChargingNotificationEnd
    | ChargingNotificationError
)
"""C6/E16 ``eRoamingChargingNotifications`` (1.1): one of four bodies, told apart by ``Type``."""


# -- authentication data (E9) ----------------------------------------------------------------------------


class AuthenticationDataRecord(Wire):
    Identification: Identification


class ProviderAuthenticationData(Wire):
    ProviderID: ProviderId
    AuthenticationDataRecord: list[AuthenticationDataRecord]


class PushAuthenticationData(Wire):
    """E9 ``eRoamingPushAuthenticationData`` (2.1)."""

    ActionType: ActionType
    ProviderAuthenticationData: ProviderAuthenticationData


# -- dynamic pricing (C7, C8, E11, E12) ------------------------------------------------------------------


class ProductAvailabilityTimes(Wire):
    """``Periods`` (plural) on the wire; the AsciiDoc says ``Period`` (deviation 9)."""

    Periods: list[Period]
    on: Weekday


class AdditionalReference(Wire):
    AdditionalReference: AdditionalReferenceType
    AdditionalReferenceUnit: Literal["HOUR", "KILOWATT_HOUR", "MINUTE"]
    PricePerAdditionalReferenceUnit: Number


class PricingProductDataRecord(Wire):
    ProductID: ProductId
    ReferenceUnit: Literal["HOUR", "KILOWATT_HOUR", "MINUTE"]
    ProductPriceCurrency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    PricePerReferenceUnit: Number
    MaximumProductChargingPower: Number
    IsValid24hours: bool
    ProductAvailabilityTimes: list[ProductAvailabilityTimes]
    AdditionalReferences: list[AdditionalReference] | None = None


class PricingProductData(Wire):
    OperatorID: OperatorId
    ProviderID: ProviderIdAsterisk
    PricingDefaultPrice: Number
    PricingDefaultPriceCurrency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
    PricingDefaultReferenceUnit: Literal["HOUR", "KILOWATT_HOUR", "MINUTE"]
    PricingProductDataRecords: list[PricingProductDataRecord]
    OperatorName: S100 | None = None


class PushPricingProductData(Wire):
    """C7 ``eRoamingPushPricingProductData`` (1.0)."""

    ActionType: ActionType
    PricingProductData: PricingProductData


class EvsePricing(Wire):
    EvseID: EvseId
    ProviderID: ProviderIdAsterisk
    EvseIDProductList: list[ProductId]


class PushEvsePricing(Wire):
    """C8 ``eRoamingPushEVSEPricing`` (1.0)."""

    ActionType: ActionType
    EVSEPricing: list[EvsePricing]


class PullPricingProductData(Wire):
    """E11 ``eRoamingPullPricingProductData`` (1.0): no ProviderID in the body."""

    OperatorIDs: list[OperatorId]
    LastCall: Timestamp | None = None


class PricingProductDataResponse(Wire):
    """E11's answer ``eRoamingPricingProductData`` (an Acknowledgement in one code snippet: deviation 15)."""

    PricingProductData: list[PricingProductData]
    StatusCode: StatusCode | None = None


class PullEvsePricing(Wire):
    """E12 ``eRoamingPullEVSEPricing`` (1.0)."""

    ProviderID: ProviderId
    OperatorIDs: list[OperatorId]
    LastCall: Timestamp | None = None


class OperatorEvsePricing(Wire):
    OperatorID: OperatorId
    EVSEPricing: list[EvsePricing]
    OperatorName: S100 | None = None


class EvsePricingResponse(Wire):
    """E12's answer ``eRoamingEVSEPricing``."""

    EVSEPricing: list[OperatorEvsePricing]
    StatusCode: StatusCode | None = None
