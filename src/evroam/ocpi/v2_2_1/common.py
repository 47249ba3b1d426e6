"""Classes OCPI 2.2.1 shares between modules: texts, coordinates, money, business details, energy mix."""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import CiString4, Number, String2, String64, String100, String512, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.enums import EnergySourceCategory, EnvironmentalImpactCategory, ImageCategory

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
]

#: Number degrees as a string, 5 to 7 decimals: the spec's regex, anchored. The spec also says
#: string(10) / string(11), which its own regex exceeds by one character for a negative value with
#: 7 decimals; the regex is the rule here.
Latitude = Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]{1,2}\.[0-9]{5,7}$")]
Longitude = Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]{1,3}\.[0-9]{5,7}$")]
#: ``int(5)``: a pixel size of at most five digits.
ImageSize = Annotated[int, msgspec.Meta(ge=0, le=99999)]


class DisplayText(WireModel, kw_only=True):
    language: String2
    text: String512


class GeoLocation(WireModel, kw_only=True):
    latitude: Latitude
    longitude: Longitude


class Price(WireModel, kw_only=True):
    """An amount of money without VAT and (optionally) with VAT."""

    excl_vat: Number
    incl_vat: Number | None = None


class Image(WireModel, kw_only=True):
    url: Url
    thumbnail: Url | None = None
    category: ImageCategory
    type: CiString4
    width: ImageSize | None = None
    height: ImageSize | None = None


class BusinessDetails(WireModel, kw_only=True):
    name: String100
    website: Url | None = None
    logo: Image | None = None


class EnergySource(WireModel, kw_only=True):
    source: EnergySourceCategory
    percentage: Number


class EnvironmentalImpact(WireModel, kw_only=True):
    category: EnvironmentalImpactCategory
    amount: Number


class EnergyMix(WireModel, kw_only=True):
    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: String64 | None = None
    energy_product_name: String64 | None = None


#: Local time of day ``HH:MM`` (24h, leading zeros), as in opening hours and tariff restrictions.
LocalTime = Annotated[str, msgspec.Meta(max_length=5, pattern=r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")]
#: Local calendar date ``YYYY-MM-DD``, as in tariff restrictions.
LocalDate = Annotated[
    str, msgspec.Meta(max_length=10, pattern=r"^([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
]
