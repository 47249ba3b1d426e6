"""Tariffs module (OCPI 2.1.1): Tariff, its elements, price components and restrictions.

2.1.1 prices are plain numbers excluding VAT; there is no ``type``, no min/max price and no validity
period. Tariffs are the one module whose 2.1.1 Receiver interface has PATCH (removed in 2.2), hence
:class:`TariffPatch`.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import DateTime, Number, String3, String36, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_1_1.common import DisplayText, EnergyMix
from evroam.ocpi.v2_1_1.enums import DayOfWeek, TariffDimensionType
from evroam.ocpi.v2_1_1.locations import HourMinute

__all__ = [
    "LocalDate",
    "PriceComponent",
    "StepSize",
    "Tariff",
    "TariffElement",
    "TariffPatch",
    "TariffRestrictions",
]

#: A local calendar date, ``YYYY-MM-DD``.
LocalDate = Annotated[str, msgspec.Meta(max_length=10, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
#: Billing block size: Wh for ENERGY, seconds for TIME / PARKING_TIME (0 and 1 mean no rounding).
StepSize = Annotated[int, msgspec.Meta(ge=0)]


class PriceComponent(WireModel, kw_only=True):
    type: TariffDimensionType
    price: Number  # per unit, excluding VAT
    step_size: StepSize


class TariffRestrictions(WireModel, kw_only=True):
    """Conditions under which a TariffElement applies; times and dates are the location's local time."""

    start_time: HourMinute | None = None
    end_time: HourMinute | None = None
    start_date: LocalDate | None = None
    end_date: LocalDate | None = None  # exclusive
    min_kwh: Number | None = None
    max_kwh: Number | None = None
    min_power: Number | None = None  # kW
    max_power: Number | None = None  # kW
    min_duration: int | None = None  # seconds
    max_duration: int | None = None  # seconds
    day_of_week: list[DayOfWeek] | None = None


class TariffElement(WireModel, kw_only=True):
    price_components: Annotated[list[PriceComponent], msgspec.Meta(min_length=1)]
    restrictions: TariffRestrictions | None = None


class Tariff(WireModel, kw_only=True):
    id: String36
    currency: String3  # ISO 4217
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: Url | None = None
    elements: Annotated[list[TariffElement], msgspec.Meta(min_length=1)]
    energy_mix: EnergyMix | None = None
    last_updated: DateTime


class TariffPatch(WireModel, kw_only=True):
    """PATCH body for a Tariff (2.1.1 only): every field optional; absent fields stay unchanged."""

    id: String36 | None = None
    currency: String3 | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: Url | None = None
    elements: Annotated[list[TariffElement], msgspec.Meta(min_length=1)] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime | None = None
