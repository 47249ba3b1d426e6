"""Tariffs module (OCPI 2.2.1)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import CiString2, CiString3, CiString36, DateTime, Number, String3, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.common import DisplayText, EnergyMix, LocalDate, LocalTime, Price
from evroam.ocpi.v2_2_1.enums import DayOfWeek, ReservationRestrictionType, TariffDimensionType, TariffType

__all__ = ["PriceComponent", "Tariff", "TariffElement", "TariffRestrictions"]


class PriceComponent(WireModel, kw_only=True):
    type: TariffDimensionType
    price: Number  # per unit, excluding VAT
    vat: Number | None = None  # percentage; absent means no VAT applies (not 0 %)
    step_size: int


class TariffRestrictions(WireModel, kw_only=True):
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    start_date: LocalDate | None = None
    end_date: LocalDate | None = None
    min_kwh: Number | None = None
    max_kwh: Number | None = None
    min_current: Number | None = None
    max_current: Number | None = None
    min_power: Number | None = None
    max_power: Number | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[DayOfWeek] | None = None
    reservation: ReservationRestrictionType | None = None


class TariffElement(WireModel, kw_only=True):
    price_components: Annotated[list[PriceComponent], msgspec.Meta(min_length=1)]
    restrictions: TariffRestrictions | None = None


class Tariff(WireModel, kw_only=True):
    country_code: CiString2
    party_id: CiString3
    id: CiString36
    currency: String3
    type: TariffType | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: Url | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    elements: Annotated[list[TariffElement], msgspec.Meta(min_length=1)]
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime
