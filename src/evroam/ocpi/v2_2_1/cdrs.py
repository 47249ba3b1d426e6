"""CDRs module (OCPI 2.2.1), with the classes Sessions share (CdrToken, ChargingPeriod, CdrDimension)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import (
    CiString2,
    CiString3,
    CiString32,
    CiString36,
    CiString39,
    CiString48,
    DateTime,
    Number,
    String3,
    String10,
    String20,
    String45,
    String255,
    String512,
    String5000,
)
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.common import GeoLocation, Price
from evroam.ocpi.v2_2_1.enums import (
    AuthMethod,
    CdrDimensionType,
    ConnectorFormat,
    ConnectorType,
    PowerType,
    TokenType,
)
from evroam.ocpi.v2_2_1.tariffs import Tariff

__all__ = [
    "CDR",
    "CdrDimension",
    "CdrLocation",
    "CdrToken",
    "ChargingPeriod",
    "SignedData",
    "SignedValue",
]


class CdrToken(WireModel, kw_only=True):
    country_code: CiString2
    party_id: CiString3
    uid: CiString36
    type: TokenType
    contract_id: CiString36


class CdrDimension(WireModel, kw_only=True):
    type: CdrDimensionType
    volume: Number


class ChargingPeriod(WireModel, kw_only=True):
    start_date_time: DateTime
    dimensions: Annotated[list[CdrDimension], msgspec.Meta(min_length=1)]
    tariff_id: CiString36 | None = None


class CdrLocation(WireModel, kw_only=True):
    id: CiString36
    name: String255 | None = None
    address: String45
    city: String45
    postal_code: String10 | None = None
    state: String20 | None = None
    country: String3
    coordinates: GeoLocation
    evse_uid: CiString36
    evse_id: CiString48
    connector_id: CiString36
    connector_standard: ConnectorType
    connector_format: ConnectorFormat
    connector_power_type: PowerType


class SignedValue(WireModel, kw_only=True):
    nature: CiString32
    plain_data: String5000
    signed_data: String5000


class SignedData(WireModel, kw_only=True):
    encoding_method: CiString36
    encoding_method_version: int | None = None
    public_key: String512 | None = None
    signed_values: Annotated[list[SignedValue], msgspec.Meta(min_length=1)]
    url: String512 | None = None


class CDR(WireModel, kw_only=True):
    country_code: CiString2
    party_id: CiString3
    id: CiString39
    start_date_time: DateTime
    end_date_time: DateTime
    session_id: CiString36 | None = None
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiString36 | None = None
    cdr_location: CdrLocation
    meter_id: String255 | None = None
    currency: String3
    tariffs: list[Tariff] | None = None
    charging_periods: Annotated[list[ChargingPeriod], msgspec.Meta(min_length=1)]
    signed_data: SignedData | None = None
    total_cost: Price
    total_fixed_cost: Price | None = None
    total_energy: Number
    total_energy_cost: Price | None = None
    total_time: Number
    total_time_cost: Price | None = None
    total_parking_time: Number | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    remark: String255 | None = None
    invoice_reference_id: CiString39 | None = None
    credit: bool | None = None
    credit_reference_id: CiString39 | None = None
    home_charging_compensation: bool | None = None
    last_updated: DateTime

    def __post_init__(self) -> None:
        if self.credit and self.credit_reference_id is None:
            raise ValueError("a Credit CDR (`credit` true) needs `credit_reference_id`")
