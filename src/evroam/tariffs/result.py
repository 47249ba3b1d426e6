"""What the engine computes: charging periods, every total, and an explanation of each amount.

Amounts are exact :class:`~decimal.Decimal` values (no rounding): the spec leaves rounding to law and
contract. :meth:`PricingResult.rounded` gives a copy rounded the way the spec's examples round
(2 decimals, half up) or however the caller asks.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal

import msgspec
from msgspec.structs import replace

from evroam.tariffs.model import State

__all__ = [
    "CdrDimension",
    "ChargingPeriod",
    "ExplainLine",
    "Price",
    "PricingResult",
    "TaxAmount",
]

ZERO = Decimal(0)


class TaxAmount(msgspec.Struct, frozen=True):
    """2.3.0 ``TaxAmount``: one tax on a price."""

    name: str
    amount: Decimal
    percentage: Decimal | None = None


class Price(msgspec.Struct, frozen=True):
    """An amount before and after taxes.

    ``excl_vat`` (= 2.3.0 ``before_taxes``) is ``None`` only for a 2.3.0 tariff whose prices include
    taxes without saying which (``tax_included=YES`` and no ``vat``). ``incl_vat`` is ``None`` when the
    taxes are unknown: every 2.1.1 tariff, and 2.3.0 ``tax_included=NO`` components without ``vat``
    unless the caller gave the tax rates. ``taxes`` is the 2.3.0 breakdown (VAT per percentage, or the
    caller's rates); ``incl_vat == excl_vat + sum(taxes)`` whenever both are known.
    """

    excl_vat: Decimal | None
    incl_vat: Decimal | None
    taxes: tuple[TaxAmount, ...] = ()

    @property
    def before_taxes(self) -> Decimal | None:
        return self.excl_vat

    @property
    def after_taxes(self) -> Decimal | None:
        return self.incl_vat

    def rounded(self, places: int = 2, rounding: str = ROUND_HALF_UP) -> Price:
        quantum = Decimal(1).scaleb(-places)
        return Price(
            excl_vat=None if self.excl_vat is None else self.excl_vat.quantize(quantum, rounding),
            incl_vat=None if self.incl_vat is None else self.incl_vat.quantize(quantum, rounding),
            taxes=tuple(replace(t, amount=t.amount.quantize(quantum, rounding)) for t in self.taxes),
        )

    def __str__(self) -> str:
        excl = "?" if self.excl_vat is None else str(self.excl_vat)
        incl = "?" if self.incl_vat is None else str(self.incl_vat)
        return f"{excl} excl. / {incl} incl."


ZERO_PRICE = Price(ZERO, ZERO)


class CdrDimension(msgspec.Struct, frozen=True):
    type: str
    volume: Decimal


class ChargingPeriod(msgspec.Struct, frozen=True):
    """A computed CDR charging period. A new one starts wherever another price component becomes
    active (and at every period boundary of the input). ``components`` maps each priced dimension to
    ``"elements[i].price_components[j]"`` of the tariff ``tariff_id``."""

    start: datetime
    end: datetime
    state: State
    dimensions: tuple[CdrDimension, ...]
    tariff_id: str | None
    components: tuple[tuple[str, str], ...] = ()


class ExplainLine(msgspec.Struct, frozen=True):
    """One priced amount: which component of which tariff priced what, at which price.

    ``kind`` is ``"period"`` (an interval of the session), ``"flat"`` (a fixed fee, charged once),
    ``"step_size"`` (the surplus of rounding a total up to the step size) or ``"limit"`` (a
    ``min_price``/``max_price`` clamp of the total). ``quantity`` is in kWh, hours or 1 for FLAT.
    """

    kind: str
    start: datetime | None
    end: datetime | None
    dimension: str
    quantity: Decimal
    tariff_id: str | None
    component: str | None
    price: Decimal | None
    cost: Decimal
    note: str = ""


class PricingResult(msgspec.Struct, frozen=True):
    """Everything the engine computed for one session, with the CDR's field names."""

    version: str
    currency: str
    start: datetime
    end: datetime
    charging_periods: tuple[ChargingPeriod, ...]
    total_cost: Price
    total_fixed_cost: Price
    total_energy_cost: Price
    total_time_cost: Price
    total_parking_cost: Price
    total_reservation_cost: Price
    total_energy: Decimal
    total_time: Decimal
    total_parking_time: Decimal
    total_reservation_time: Decimal
    lines: tuple[ExplainLine, ...]
    min_price_applied: bool = False
    max_price_applied: bool = False
    provisional: bool = False
    time_zone: tzinfo = UTC

    def rounded(self, places: int = 2, rounding: str = ROUND_HALF_UP) -> PricingResult:
        """A copy whose money amounts are rounded (each from its exact value, independently)."""
        return replace(
            self,
            total_cost=self.total_cost.rounded(places, rounding),
            total_fixed_cost=self.total_fixed_cost.rounded(places, rounding),
            total_energy_cost=self.total_energy_cost.rounded(places, rounding),
            total_time_cost=self.total_time_cost.rounded(places, rounding),
            total_parking_cost=self.total_parking_cost.rounded(places, rounding),
            total_reservation_cost=self.total_reservation_cost.rounded(places, rounding),
        )

    def explain(self, places: int = 4) -> str:
        """A plain-text account, for support staff, of which tariff element priced which interval.

        Times are local to the location (restrictions are evaluated in local time)."""
        quantum = Decimal(1).scaleb(-places)
        tz = self.time_zone
        out = [
            f"Session {_ts(self.start, tz)} .. {_ts(self.end, tz)} (OCPI {self.version}, {self.currency},"
            f" time zone {tz})" + (" - provisional estimate" if self.provisional else "")
        ]
        for line in self.lines:
            if line.start is not None and line.end is not None:
                when = f"{_ts(line.start, tz)} .. {_ts(line.end, tz)}"
            elif line.start is not None:
                when = f"from {_ts(line.start, tz)}"
            else:
                when = "whole session"
            unit = _UNITS.get(line.dimension, "")
            qty = f"{_num(line.quantity, quantum)}{unit}"
            where = f"{line.tariff_id}:{line.component}" if line.component else "-"
            price = "" if line.price is None else f" @ {_num(line.price, quantum)}"
            note = f"  ({line.note})" if line.note else ""
            out.append(
                f"  {line.kind:<9} {when:<52} {line.dimension:<16} {qty:>14}{price:<12} "
                f"= {_num(line.cost, quantum):>10}  by {where}{note}"
            )
        out.append(
            f"  total excl. {_money(self.total_cost.excl_vat, quantum)}"
            f", incl. {_money(self.total_cost.incl_vat, quantum)}"
        )
        return "\n".join(out)


_UNITS = {
    "ENERGY": " kWh",
    "TIME": " h",
    "PARKING_TIME": " h",
    "RESERVATION_TIME": " h",
    "FLAT": "",
    "TOTAL": "",
}


def _ts(value: datetime | None, tz: tzinfo) -> str:
    if value is None:
        return "-"
    return value.astimezone(tz).isoformat(timespec="seconds")


def _num(value: Decimal, quantum: Decimal) -> str:
    return format(value.quantize(quantum, ROUND_HALF_UP).normalize(), "f") if value else "0"


def _money(value: Decimal | None, quantum: Decimal) -> str:
    return "unknown" if value is None else _num(value, quantum)
