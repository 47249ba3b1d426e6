"""Shared classes of OCPI 2.3.0.

New: money with taxes (Price = before_taxes + taxes[], TaxAmount, PriceLimit). Changed because a field
became an OpenEnum: Image, BusinessDetails (its logo), EnvironmentalImpact, EnergyMix. DisplayText,
GeoLocation and EnergySource are the 2.2.1 classes.
"""

from __future__ import annotations

from evroam.core.types import CiString4, Number, String64, String100, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.common import (
    DisplayText,
    EnergySource,
    GeoLocation,
    ImageSize,
    Latitude,
    LocalDate,
    LocalTime,
    Longitude,
)
from evroam.ocpi.v2_3_0.enums import OpenEnvironmentalImpactCategory, OpenImageCategory

__all__ = [
    "BusinessDetails",
    "DisplayText",
    "EnergyMix",
    "EnergySource",
    "EnvironmentalImpact",
    "GeoLocation",
    "Image",
    "ImageSize",
    "Latitude",
    "LocalDate",
    "LocalTime",
    "Longitude",
    "Price",
    "PriceLimit",
    "TaxAmount",
]


class TaxAmount(WireModel, kw_only=True):
    """One tax applied to a price, e.g. VAT or a Canadian provincial sales tax."""

    name: str
    account_number: str | None = None
    percentage: Number | None = None
    amount: Number


class Price(WireModel, kw_only=True):
    """An amount before taxes and the taxes that apply to it."""

    before_taxes: Number
    taxes: list[TaxAmount] | None = None


class PriceLimit(WireModel, kw_only=True):
    """Minimum or maximum cost of a Tariff."""

    before_taxes: Number
    after_taxes: Number | None = None


class Image(WireModel, kw_only=True):
    url: Url
    thumbnail: Url | None = None
    category: OpenImageCategory
    type: CiString4
    width: ImageSize | None = None
    height: ImageSize | None = None


class BusinessDetails(WireModel, kw_only=True):
    name: String100
    website: Url | None = None
    logo: Image | None = None


class EnvironmentalImpact(WireModel, kw_only=True):
    category: OpenEnvironmentalImpactCategory
    amount: Number


class EnergyMix(WireModel, kw_only=True):
    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: String64 | None = None
    energy_product_name: String64 | None = None
