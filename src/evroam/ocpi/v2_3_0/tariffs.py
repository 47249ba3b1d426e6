"""Tariffs module (OCPI 2.3.0): PriceLimit for min/max, required ``tax_included``, ``preauthorize_amount``.

TariffElement, PriceComponent and TariffRestrictions are the 2.2.1 classes; in 2.3.0
``PriceComponent.price`` includes taxes or not according to ``Tariff.tax_included``.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import CiString2, CiString3, CiString36, DateTime, Number, String3, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.tariffs import PriceComponent, TariffElement, TariffRestrictions
from evroam.ocpi.v2_3_0.common import DisplayText, EnergyMix, PriceLimit
from evroam.ocpi.v2_3_0.enums import TariffType, TaxIncluded

__all__ = ["PriceComponent", "Tariff", "TariffElement", "TariffRestrictions"]


class Tariff(WireModel, kw_only=True):
    country_code: CiString2
    party_id: CiString3
    id: CiString36
    currency: String3
    type: TariffType | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: Url | None = None
    min_price: PriceLimit | None = None
    max_price: PriceLimit | None = None
    preauthorize_amount: Number | None = None  # Payments: what a payment terminal should pre-authorise
    elements: Annotated[list[TariffElement], msgspec.Meta(min_length=1)]
    tax_included: TaxIncluded
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime
