"""evroam.tariffs: the OCPI tariff engine (pure functions, no I/O).

    from evroam.tariffs import price, Session, Period, State
    result = price(tariff, session, "Europe/Amsterdam")
    result.total_cost.excl_vat, result.total_cost.incl_vat, print(result.explain())

Inputs are the engine's own version-independent types (:mod:`evroam.tariffs.model`); convert OCPI
objects with :mod:`evroam.tariffs.adapt`. See ``docs/tariffs.md`` for how the spec is interpreted.
"""

from evroam.tariffs.engine import CompiledTariff, TariffError, compile_tariff, estimate, price, select_tariff
from evroam.tariffs.model import (
    DayOfWeek,
    Dimension,
    Element,
    MeterValue,
    Period,
    PriceComponent,
    PriceLimit,
    ReservationRestriction,
    Restrictions,
    Session,
    State,
    Tariff,
    TaxIncluded,
    TaxRate,
)
from evroam.tariffs.result import CdrDimension, ChargingPeriod, ExplainLine, Price, PricingResult, TaxAmount

__all__ = [
    "CdrDimension",
    "ChargingPeriod",
    "CompiledTariff",
    "DayOfWeek",
    "Dimension",
    "Element",
    "ExplainLine",
    "MeterValue",
    "Period",
    "Price",
    "PriceComponent",
    "PriceLimit",
    "PricingResult",
    "ReservationRestriction",
    "Restrictions",
    "Session",
    "State",
    "Tariff",
    "TariffError",
    "TaxAmount",
    "TaxIncluded",
    "TaxRate",
    "compile_tariff",
    "estimate",
    "price",
    "select_tariff",
]
