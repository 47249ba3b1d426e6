"""Canonical Tariff: the union of OCPI 2.1.1, 2.2.1 and 2.3.0.

* ``tax_included`` (2.3.0, required there) says whether ``PriceComponent.price`` includes taxes.
  A 2.1.1 or 2.2.1 Tariff is read as ``TaxIncluded.NO``: in those versions prices are excl. VAT.
* ``min_price`` / ``max_price`` are canonical :class:`~evroam.model.common.Price` values: 2.2.1
  ``Price{excl_vat, incl_vat?}`` and 2.3.0 ``PriceLimit{before_taxes, after_taxes?}`` both map to
  ``before_taxes`` / ``after_taxes``.
* ``preauthorize_amount`` is 2.3.0 (payments package) only.
"""

from __future__ import annotations

from decimal import Decimal

from evroam.core.types import CiString, DateTime
from evroam.model.common import CanonicalModel, DisplayText, EnergyMix, Price
from evroam.model.enums import (
    DayOfWeek,
    ReservationRestrictionType,
    TariffDimensionType,
    TariffType,
    TaxIncluded,
)

__all__ = ["PriceComponent", "Tariff", "TariffElement", "TariffRestrictions"]


class PriceComponent(CanonicalModel, frozen=True):
    type: TariffDimensionType
    price: Decimal
    step_size: int
    vat: Decimal | None = None


class TariffRestrictions(CanonicalModel, frozen=True):
    start_time: str | None = None
    end_time: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: tuple[DayOfWeek, ...] | None = None
    reservation: ReservationRestrictionType | None = None


class TariffElement(CanonicalModel, frozen=True):
    price_components: tuple[PriceComponent, ...]
    restrictions: TariffRestrictions | None = None


class Tariff(CanonicalModel, frozen=True):
    country_code: CiString
    party_id: CiString
    id: CiString
    currency: str
    elements: tuple[TariffElement, ...]
    last_updated: DateTime
    tax_included: TaxIncluded = TaxIncluded.NO
    type: TariffType | None = None
    tariff_alt_text: tuple[DisplayText, ...] | None = None
    tariff_alt_url: str | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    preauthorize_amount: Decimal | None = None
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
