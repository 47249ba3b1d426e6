"""Classes OCPI 2.1.1 shares between modules: texts, coordinates, images, business details, energy mix.

2.1.1 has no ``Price`` class: every amount is a plain number (excluding VAT).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import Number, String2, String4, String64, String100, String512, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_1_1.enums import EnergySourceCategory, EnvironmentalImpactCategory, ImageCategory

__all__ = [
    "AdditionalGeoLocation",
    "BusinessDetails",
    "DisplayText",
    "EnergyMix",
    "EnergySource",
    "EnvironmentalImpact",
    "GeoLocation",
    "Image",
    "ImageSize",
    "Latitude",
    "Longitude",
]

#: Decimal degrees as a string with exactly six decimals (2.1.1's regex, anchored; 2.2+ allows 5-7).
Latitude = Annotated[str, msgspec.Meta(max_length=10, pattern=r"^-?[0-9]{1,2}\.[0-9]{6}$")]
Longitude = Annotated[str, msgspec.Meta(max_length=11, pattern=r"^-?[0-9]{1,3}\.[0-9]{6}$")]
#: ``int(5)``: a pixel size of at most five digits.
ImageSize = Annotated[int, msgspec.Meta(ge=0, le=99999)]


class DisplayText(WireModel, kw_only=True):
    language: String2  # ISO 639-1
    text: String512  # no markup


class GeoLocation(WireModel, kw_only=True):
    latitude: Latitude
    longitude: Longitude


class AdditionalGeoLocation(WireModel, kw_only=True):
    """A point related to a location (an entrance, a parking lot ...), with an optional name."""

    latitude: Latitude
    longitude: Longitude
    name: DisplayText | None = None


class Image(WireModel, kw_only=True):
    url: Url
    thumbnail: Url | None = None
    category: ImageCategory
    type: String4  # gif, jpeg, png, svg
    width: ImageSize | None = None
    height: ImageSize | None = None


class BusinessDetails(WireModel, kw_only=True):
    name: String100
    website: Url | None = None
    logo: Image | None = None


class EnergySource(WireModel, kw_only=True):
    source: EnergySourceCategory
    percentage: Number  # 0 to 100

    def __post_init__(self) -> None:
        if not (self.percentage.is_finite() and 0 <= self.percentage <= 100):
            raise ValueError("`percentage` must be between 0 and 100")


class EnvironmentalImpact(WireModel, kw_only=True):
    """An amount in g/kWh. The category field is called ``source`` in 2.1.1 (``category`` in 2.2+)."""

    source: EnvironmentalImpactCategory
    amount: Number


class EnergyMix(WireModel, kw_only=True):
    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: String64 | None = None
    energy_product_name: String64 | None = None
