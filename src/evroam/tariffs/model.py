"""The tariff engine's own input types, independent of any OCPI version.

The wire models of each OCPI version are converted into these by :mod:`evroam.tariffs.adapt`; the
engine never looks at a wire model. Everything is a frozen msgspec Struct: cheap to build (a tenth of a
frozen dataclass), hashable, and safe to share between sessions; change one with
``msgspec.structs.replace``.

Units follow the OCPI tariff module: energy in kWh, power in kW, current in A (sum over phases),
durations of restrictions in seconds, prices per kWh / per hour / per session. Every number is a
:class:`~decimal.Decimal`. Timestamps are timezone-aware ``datetime`` values (UTC or any offset).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

import msgspec

__all__ = [
    "DayOfWeek",
    "Dimension",
    "Element",
    "MeterValue",
    "Period",
    "PriceComponent",
    "PriceLimit",
    "ReservationRestriction",
    "Restrictions",
    "Session",
    "State",
    "Tariff",
    "TaxIncluded",
    "TaxRate",
]

ZERO = Decimal(0)


class Dimension(StrEnum):
    """TariffDimensionType: what a price component prices."""

    ENERGY = "ENERGY"
    FLAT = "FLAT"
    PARKING_TIME = "PARKING_TIME"
    TIME = "TIME"


class DayOfWeek(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"

    @property
    def weekday(self) -> int:
        """0 for Monday ... 6 for Sunday (as ``date.weekday()``)."""
        return _DAY_INDEX[self]


_DAY_INDEX = {day: i for i, day in enumerate(DayOfWeek)}


class ReservationRestriction(StrEnum):
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


class TaxIncluded(StrEnum):
    """OCPI 2.3.0 ``Tariff.tax_included``."""

    YES = "YES"
    NO = "NO"
    NOT_APPLICABLE = "N/A"


class State(StrEnum):
    """What the session was doing during a period."""

    CHARGING = "CHARGING"
    PARKING = "PARKING"  # connected, not charging (2.2.1-d2: the vehicle does not request power)
    RESERVATION = "RESERVATION"  # reserved, before charging starts (or until the reservation expires)


class PriceComponent(msgspec.Struct, frozen=True):
    """One dimension's price. ``step_size`` in Wh (ENERGY) or seconds (TIME, PARKING_TIME).

    ``vat`` is a percentage; ``None`` means "no VAT applicable" (2.2.1), which is not 0 %.
    """

    type: Dimension
    price: Decimal
    step_size: int = 1
    vat: Decimal | None = None


class Restrictions(msgspec.Struct, frozen=True):
    """TariffRestrictions, already parsed. Times and dates are local to the location's time zone.

    ``end_time`` before ``start_time`` wraps past midnight; ``end_time`` 00:00 means end of day.
    ``end_date`` is exclusive. Energy in kWh, power in kW, current in A, durations in seconds.
    """

    start_time: time | None = None
    end_time: time | None = None
    start_date: date | None = None
    end_date: date | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: frozenset[DayOfWeek] | None = None
    reservation: ReservationRestriction | None = None

    @property
    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__struct_fields__)


class Element(msgspec.Struct, frozen=True):
    """TariffElement: price components that share one set of restrictions."""

    price_components: tuple[PriceComponent, ...]
    restrictions: Restrictions | None = None


class PriceLimit(msgspec.Struct, frozen=True):
    """``min_price`` / ``max_price``: 2.2.1 ``Price{excl_vat, incl_vat?}``, 2.3.0 ``PriceLimit{before_taxes,
    after_taxes?}``. Each side is clamped independently."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None


class TaxRate(msgspec.Struct, frozen=True):
    """A tax the caller knows applies to components that carry no ``vat`` (2.3.0 North-American style:
    e.g. ``TaxRate("GST", Decimal(5))``)."""

    name: str
    percentage: Decimal


class Tariff(msgspec.Struct, frozen=True):
    """A tariff as the engine needs it.

    ``version`` selects the tax semantics: ``"2.1.1"`` (prices excl. VAT, no VAT information at all),
    ``"2.2.1"`` (prices excl. VAT, ``vat`` per component) or ``"2.3.0"`` (``tax_included`` tells whether
    prices include taxes).
    """

    id: str
    currency: str
    elements: tuple[Element, ...]
    version: str = "2.2.1"
    tax_included: TaxIncluded | None = None
    min_price: PriceLimit | None = None
    max_price: PriceLimit | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None
    type: str | None = None

    def __post_init__(self) -> None:
        if self.version not in ("2.1.1", "2.2.1", "2.3.0"):
            raise ValueError(f"unsupported tariff version {self.version!r}")
        if not self.elements:
            raise ValueError("a tariff needs at least one element")


class Period(msgspec.Struct, frozen=True):
    """One stretch of a session, from ``start`` until the next period's start (or the session end).

    ``energy`` is the energy delivered during this period in kWh. Power (kW) and current (A) are
    the instantaneous values seen during the period: give ``min_*``/``max_*`` (equal when there is a
    single value). When no power is given it is derived from energy and duration.
    ``tariff_id`` names the tariff that applies when several are given (a CDR's ``tariff_id``).
    """

    start: datetime
    state: State = State.CHARGING
    energy: Decimal = ZERO
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    tariff_id: str | None = None


class MeterValue(msgspec.Struct, frozen=True):
    """A meter reading: the energy register (kWh, cumulative) and the instantaneous power / current
    at ``time``, and the state from this reading until the next one."""

    time: datetime
    energy: Decimal
    state: State = State.CHARGING
    power: Decimal | None = None
    current: Decimal | None = None


class Session(msgspec.Struct, frozen=True):
    """The facts of one session: its periods, its end, and (for reservations) whether it expired.

    ``reservation_expired=None`` infers it: a reservation expired when the session has nothing but
    reservation periods.
    """

    start: datetime
    end: datetime
    periods: tuple[Period, ...] = ()
    reservation_expired: bool | None = None

    @classmethod
    def of(
        cls,
        periods: Iterable[Period],
        end: datetime,
        *,
        start: datetime | None = None,
        reservation_expired: bool | None = None,
    ) -> Session:
        """A session from its periods (in any order); ``start`` defaults to the first period's."""
        ordered = tuple(sorted(periods, key=lambda p: p.start))
        if start is None:
            if not ordered:
                raise ValueError("a session without periods needs a start")
            start = ordered[0].start
        return cls(start=start, end=end, periods=ordered, reservation_expired=reservation_expired)

    @classmethod
    def from_meter_values(
        cls,
        values: Sequence[MeterValue],
        end: datetime | None = None,
        *,
        reservation_expired: bool | None = None,
    ) -> Session:
        """A session from a timeline of meter readings.

        Each reading opens a period that lasts until the next reading; its energy is the register
        difference, its power/current the reading's instantaneous values (held until the next reading).
        ``end`` defaults to the last reading's time.
        """
        if not values:
            raise ValueError("no meter values")
        ordered = sorted(values, key=lambda v: v.time)
        periods = []
        for current, following in itertools.pairwise(ordered):
            periods.append(
                Period(
                    start=current.time,
                    state=current.state,
                    energy=following.energy - current.energy,
                    min_power=current.power,
                    max_power=current.power,
                    min_current=current.current,
                    max_current=current.current,
                )
            )
        last = ordered[-1]
        if end is None or end <= last.time:
            end = last.time
        else:
            periods.append(
                Period(
                    start=last.time,
                    state=last.state,
                    min_power=last.power,
                    max_power=last.power,
                    min_current=last.current,
                    max_current=last.current,
                )
            )
        if not periods:
            periods.append(Period(start=last.time, state=last.state))
        return cls(
            start=ordered[0].time, end=end, periods=tuple(periods), reservation_expired=reservation_expired
        )
