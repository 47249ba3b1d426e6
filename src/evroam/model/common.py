"""Classes shared by several canonical objects: money, texts, coordinates, images, energy mix.

Money: one canonical :class:`Price` carries the three wire shapes without loss.

=========  ===========================================  ==========================================
version    wire shape                                   canonical ``Price``
=========  ===========================================  ==========================================
2.1.1      a plain number (excl. VAT)                   ``before_taxes``
2.2.1      ``{excl_vat, incl_vat?}``                    ``before_taxes`` = excl_vat,
                                                        ``after_taxes`` = incl_vat
2.3.0      ``{before_taxes, taxes?: TaxAmount[]}``      ``before_taxes``, ``taxes``
2.3.0      ``PriceLimit{before_taxes, after_taxes?}``   ``before_taxes``, ``after_taxes``
=========  ===========================================  ==========================================

Writing a version that lacks what the canonical value holds (rules shared by every converter):

* to 2.1.1: ``before_taxes`` only; taxes and the after-tax total are dropped.
* to 2.2.1 ``incl_vat`` / 2.3.0 ``PriceLimit.after_taxes``: :meth:`Price.after_taxes_total` —
  ``after_taxes`` when set, otherwise ``before_taxes`` + the sum of ``taxes[].amount`` when ``taxes``
  is given (an explicit empty list means "no taxes": the total equals ``before_taxes``), otherwise absent.
* to 2.3.0 ``taxes``: :meth:`Price.taxes_or_derived` — ``taxes`` when set, otherwise, when only an
  after-tax total is known (a 2.2.1 ``incl_vat``), one ``TaxAmount(name="VAT", amount=after - before)``
  (2.2.1's only tax is VAT by definition), otherwise absent.

With these rules 2.2.1 -> canonical -> 2.3.0 -> canonical -> 2.2.1 gives the original ``Price`` back.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from evroam.core.types import CiString
from evroam.model.enums import EnergySourceCategory, EnvironmentalImpactCategoryName, ImageCategoryName

__all__ = [
    "AdditionalGeoLocation",
    "BusinessDetails",
    "CanonicalModel",
    "DisplayText",
    "EnergyMix",
    "EnergySource",
    "EnvironmentalImpact",
    "GeoLocation",
    "Image",
    "NotRepresentable",
    "Price",
    "TaxAmount",
]

#: The tax name used when a 2.2.1 ``incl_vat`` has to be written as 2.3.0 ``taxes``.
VAT = "VAT"


class NotRepresentable(ValueError):
    """A canonical value that the target OCPI version cannot carry and has no documented fallback.

    ``version`` is the target version, ``path`` the field (``"Session.cdr_token.uid"``), ``reason``
    a sentence. Every case is listed in ``docs/versions.md``.
    """

    def __init__(self, version: str, path: str, reason: str) -> None:
        self.version = version
        self.path = path
        self.reason = reason
        super().__init__(f"OCPI {version} cannot carry {path}: {reason}")


class CanonicalModel(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of every canonical object: immutable, keyword-only, ``None`` fields left out of JSON.

    Lists are tuples. ``None`` and ``()`` are different: ``None`` means the field was absent, ``()``
    that it was an explicit empty list; converters keep the difference.
    """


class DisplayText(CanonicalModel, frozen=True):
    language: str
    text: str


class TaxAmount(CanonicalModel, frozen=True):
    """One tax on an amount (2.3.0): e.g. ``{name: "VAT", percentage: 10, amount: 0.40}``."""

    name: str
    amount: Decimal
    account_number: str | None = None
    percentage: Decimal | None = None


class Price(CanonicalModel, frozen=True):
    """An amount of money before taxes, with its taxes and/or its after-tax total when known."""

    before_taxes: Decimal
    taxes: tuple[TaxAmount, ...] | None = None
    after_taxes: Decimal | None = None

    def after_taxes_total(self) -> Decimal | None:
        """``after_taxes``, else ``before_taxes`` + the taxes when they are given, else ``None``."""
        if self.after_taxes is not None:
            return self.after_taxes
        if self.taxes is not None:
            return self.before_taxes + sum((t.amount for t in self.taxes), Decimal(0))
        return None

    def taxes_or_derived(self) -> tuple[TaxAmount, ...] | None:
        """``taxes``, else one VAT entry derived from ``after_taxes``, else ``None``."""
        if self.taxes is not None:
            return self.taxes
        if self.after_taxes is not None:
            return (TaxAmount(name=VAT, amount=self.after_taxes - self.before_taxes),)
        return None


class GeoLocation(CanonicalModel, frozen=True):
    """WGS84 coordinates as the decimal strings OCPI sends (5 to 7 decimals; 2.1.1: 6)."""

    latitude: str
    longitude: str


class AdditionalGeoLocation(CanonicalModel, frozen=True):
    latitude: str
    longitude: str
    name: DisplayText | None = None


class Image(CanonicalModel, frozen=True):
    url: str
    category: ImageCategoryName
    type: CiString
    thumbnail: str | None = None
    width: int | None = None
    height: int | None = None


class BusinessDetails(CanonicalModel, frozen=True):
    name: str
    website: str | None = None
    logo: Image | None = None


class EnergySource(CanonicalModel, frozen=True):
    source: EnergySourceCategory
    percentage: Decimal


class EnvironmentalImpact(CanonicalModel, frozen=True):
    """2.2+ field name ``category``; 2.1.1 calls the same field ``source``."""

    category: EnvironmentalImpactCategoryName
    amount: Decimal


class EnergyMix(CanonicalModel, frozen=True):
    is_green_energy: bool
    energy_sources: tuple[EnergySource, ...] | None = None
    environ_impact: tuple[EnvironmentalImpact, ...] | None = None
    supplier_name: str | None = None
    energy_product_name: str | None = None
