"""CDRs module (OCPI 2.3.0): Price with taxes, open TokenType and ConnectorType.

CdrDimension, ChargingPeriod, SignedData and SignedValue are the 2.2.1 classes.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import (
    CiString2,
    CiString3,
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
)
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.cdrs import CdrDimension, ChargingPeriod, SignedData, SignedValue
from evroam.ocpi.v2_3_0.common import GeoLocation, Price
from evroam.ocpi.v2_3_0.enums import AuthMethod, ConnectorFormat, OpenConnectorType, OpenTokenType, PowerType
from evroam.ocpi.v2_3_0.tariffs import Tariff

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
    type: OpenTokenType
    contract_id: CiString36


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
    connector_standard: OpenConnectorType
    connector_format: ConnectorFormat
    connector_power_type: PowerType


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
