"""Canonical CDR and the classes Sessions share with it (CdrToken, ChargingPeriod, CdrDimension).

Canonical names: ``end_date_time`` (2.1.1 ``stop_date_time``), ``cdr_token`` (2.1.1 ``auth_id``, kept
as ``cdr_token.contract_id``), ``cdr_location`` (2.1.1 ``location``).

A 2.1.1 CDR embeds a whole Location (with only the EVSE and connector used). The canonical CDR keeps:

* ``cdr_location`` — the 2.2+ flat summary, derived from the embedded Location's first EVSE and its
  first connector (its EVSE/connector fields are ``None`` when the 2.1.1 Location has none);
* ``location`` — the embedded Location itself as a canonical snapshot (owner = the CDR's owner),
  so that the CDR can be written back to 2.1.1 unchanged. 2.2+ CDRs leave it ``None``.

Totals are canonical :class:`~evroam.model.common.Price` values (2.1.1 numbers are ``before_taxes``).
"""

from __future__ import annotations

from decimal import Decimal

from evroam.core.types import CiString, DateTime
from evroam.model.common import CanonicalModel, GeoLocation, Price
from evroam.model.enums import (
    AuthMethod,
    CdrDimensionType,
    ConnectorFormat,
    ConnectorTypeName,
    PowerType,
    TokenTypeName,
)
from evroam.model.locations import Location
from evroam.model.tariffs import Tariff

__all__ = [
    "CDR",
    "CdrDimension",
    "CdrLocation",
    "CdrToken",
    "ChargingPeriod",
    "SignedData",
    "SignedValue",
]


class CdrToken(CanonicalModel, frozen=True):
    """The token a Session/CDR was authorised with.

    2.1.1 only gives the contract id (``auth_id``): then ``uid`` and ``type`` are ``None``.
    ``country_code``/``party_id`` (the token owner) exist from 2.2.1 on.
    """

    contract_id: CiString
    uid: CiString | None = None
    type: TokenTypeName | None = None
    country_code: CiString | None = None
    party_id: CiString | None = None


class CdrDimension(CanonicalModel, frozen=True):
    type: CdrDimensionType
    volume: Decimal


class ChargingPeriod(CanonicalModel, frozen=True):
    start_date_time: DateTime
    dimensions: tuple[CdrDimension, ...]
    tariff_id: CiString | None = None


class CdrLocation(CanonicalModel, frozen=True):
    id: CiString
    address: str
    city: str
    country: str
    coordinates: GeoLocation
    name: str | None = None
    postal_code: str | None = None
    state: str | None = None
    evse_uid: CiString | None = None
    evse_id: CiString | None = None
    connector_id: CiString | None = None
    connector_standard: ConnectorTypeName | None = None
    connector_format: ConnectorFormat | None = None
    connector_power_type: PowerType | None = None


class SignedValue(CanonicalModel, frozen=True):
    nature: CiString
    plain_data: str
    signed_data: str


class SignedData(CanonicalModel, frozen=True):
    encoding_method: CiString
    signed_values: tuple[SignedValue, ...]
    encoding_method_version: int | None = None
    public_key: str | None = None
    url: str | None = None


class CDR(CanonicalModel, frozen=True):
    country_code: CiString
    party_id: CiString
    id: CiString
    start_date_time: DateTime
    end_date_time: DateTime
    cdr_token: CdrToken
    auth_method: AuthMethod
    cdr_location: CdrLocation
    currency: str
    charging_periods: tuple[ChargingPeriod, ...]
    total_cost: Price
    total_energy: Decimal
    total_time: Decimal
    last_updated: DateTime
    session_id: CiString | None = None
    authorization_reference: CiString | None = None
    location: Location | None = None
    meter_id: str | None = None
    tariffs: tuple[Tariff, ...] | None = None
    signed_data: SignedData | None = None
    total_fixed_cost: Price | None = None
    total_energy_cost: Price | None = None
    total_time_cost: Price | None = None
    total_parking_time: Decimal | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    remark: str | None = None
    invoice_reference_id: CiString | None = None
    credit: bool | None = None
    credit_reference_id: CiString | None = None
    home_charging_compensation: bool | None = None
