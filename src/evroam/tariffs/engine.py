"""The pricing engine: a tariff (or the applicable tariffs) and a session's facts in, a CDR's periods and
totals out. Pure: no I/O, no clock.

How it works (DIGEST §6; ``docs/tariffs.md`` tells the same in prose):

1. The session's periods become intervals ``[start, next start)``; the last one ends at the session end.
2. Intervals are cut wherever a restriction may switch: at every local time of day named by a
   ``start_time``/``end_time``, at local midnight when days or dates matter, at DST changes, where the
   session duration reaches a ``min_duration``/``max_duration`` and where the session energy reaches a
   ``min_kwh``/``max_kwh`` (energy is taken as linear within a period). Within a piece nothing switches.
3. For each piece and each dimension (ENERGY, TIME or PARKING_TIME, FLAT) the active component is the one
   of the *first* element, in list order, that has a component of that dimension and whose restrictions
   all match. Reservation pieces only see elements restricted to ``RESERVATION`` (an expired reservation
   first those restricted to ``RESERVATION_EXPIRES``); other pieces only see elements without a
   reservation restriction. FLAT is charged once: the first FLAT component found active, once for the
   session and once for the reservation.
4. Quantities are summed per component. ``step_size`` rounds up once per group, on the group's total, with
   the step of the component that priced the group's last piece, and bills the surplus at that
   component's price: ENERGY once; TIME and PARKING_TIME together (only the dimension of the last priced
   time piece is rounded: charging followed by parking rounds the parking total only); reservation
   time once.
5. Each component's cost gets its taxes (2.2.1 ``vat``; 2.3.0 ``tax_included``), costs are summed per CDR
   field, and ``min_price``/``max_price`` clamp the total, each side independently.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Context, Decimal, localcontext

from evroam.tariffs.localtime import US_PER_DAY, US_PER_HOUR, US_PER_SECOND, LocalClock, from_us, to_us, zone
from evroam.tariffs.model import (
    Dimension,
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
from evroam.tariffs.result import (
    CdrDimension,
    ChargingPeriod,
    ExplainLine,
    Price,
    PricingResult,
    TaxAmount,
)

__all__ = [
    "CompiledTariff",
    "TariffError",
    "compile_tariff",
    "estimate",
    "price",
    "select_tariff",
]

ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)
THOUSAND = Decimal(1000)
_US_PER_HOUR = Decimal(US_PER_HOUR)
_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)

ENERGY = Dimension.ENERGY
FLAT = Dimension.FLAT
TIME = Dimension.TIME
PARKING = Dimension.PARKING_TIME
CHARGING = State.CHARGING
PARKED = State.PARKING
RESERVED = State.RESERVATION

_NONE: list[_Rule] = []
# per set of facts in an epoch: element outcomes, and the components picked per state with/without energy
_Pick = tuple["_Slot | None", "_Slot | None", "_Slot | None", bool]
_Memo = tuple[dict[int, bool], dict[State, _Pick], dict[State, _Pick]]
_CARRY_MEMO = True  # tests switch it off to check that carrying outcomes across pieces changes nothing
_EPOCH_DT = from_us(0)
_ONE_US = timedelta(microseconds=1)
_TIME_NAMES = {State.CHARGING: "TIME", State.PARKING: "PARKING_TIME", State.RESERVATION: "RESERVATION_TIME"}
_FREE_ENERGY = "no element prices ENERGY here: free"
_HOURS: dict[int, Decimal] = {}  # span in µs -> hours (a pure function, computed in _CONTEXT)

# CDR cost fields
FIXED_COST, ENERGY_COST, TIME_COST, PARKING_COST, RESERVATION_COST = (
    "fixed",
    "energy",
    "time",
    "parking",
    "reservation",
)


class TariffError(ValueError):
    """The tariff or session cannot be priced (e.g. no tariff given)."""


@dataclass(slots=True, eq=False)
class _Slot:
    """One price component of one element of one tariff, with where its cost goes."""

    tariff: Tariff
    element: int
    index: int
    component: PriceComponent
    category: str
    reservation: bool
    label: str = ""

    def __post_init__(self) -> None:
        self.label = f"elements[{self.element}].price_components[{self.index}]"


@dataclass(slots=True, eq=False)
class _Rule:
    """A compiled tariff element: restrictions as integers and Decimals, components per dimension."""

    element: int
    slots: dict[Dimension, _Slot]
    reservation: ReservationRestriction | None
    always: bool
    tod_start: int | None
    tod_end: int | None
    date_start: int | None
    date_end: int | None
    weekdays: int
    min_kwh: Decimal | None
    max_kwh: Decimal | None
    min_current: Decimal | None
    max_current: Decimal | None
    min_power: Decimal | None
    max_power: Decimal | None
    min_duration: int | None
    max_duration: int | None
    local: bool


class CompiledTariff:
    """A tariff prepared for pricing many sessions: rules per dimension, boundaries to cut at."""

    __slots__ = (
        "dur_normal",
        "dur_reserved",
        "expired",
        "kwh_thresholds",
        "needs_local",
        "normal",
        "reserved",
        "tariff",
        "tods",
        "uses_current",
        "uses_power",
    )

    def __init__(self, tariff: Tariff) -> None:
        self.tariff = tariff
        self.normal: dict[Dimension, list[_Rule]] = {}
        self.reserved: dict[Dimension, list[_Rule]] = {}
        expires: dict[Dimension, list[_Rule]] = {}
        tods: set[int] = set()
        kwh: set[Decimal] = set()
        self.dur_normal: set[int] = set()
        self.dur_reserved: set[int] = set()
        self.needs_local = False
        self.uses_power = False
        self.uses_current = False
        for e_index, element in enumerate(tariff.elements):
            r = element.restrictions or Restrictions()
            reservation = r.reservation
            only_parking = (
                bool(element.price_components)
                and all(c.type in (FLAT, PARKING) for c in element.price_components)
                and any(c.type == PARKING for c in element.price_components)
            )
            slots: dict[Dimension, _Slot] = {}
            for c_index, comp in enumerate(element.price_components):
                if comp.type in slots:
                    continue  # a second component of the same dimension in one element is never used
                if reservation is not None:
                    if comp.type not in (FLAT, TIME):
                        continue  # a reservation prices FLAT and TIME only
                    category = RESERVATION_COST
                elif comp.type == FLAT:
                    category = PARKING_COST if only_parking else FIXED_COST
                else:
                    category = {ENERGY: ENERGY_COST, TIME: TIME_COST, PARKING: PARKING_COST}[comp.type]
                slots[comp.type] = _Slot(tariff, e_index, c_index, comp, category, reservation is not None)
            local = False
            tod_start = tod_end = None
            if r.start_time is not None or r.end_time is not None:
                local = True
                tod_start = _tod(r.start_time) if r.start_time is not None else 0
                tod_end = _tod(r.end_time) if r.end_time is not None else US_PER_DAY
                if tod_end == 0:
                    tod_end = US_PER_DAY  # "00:00" as end means the end of the day
                tods.update((tod_start % US_PER_DAY, tod_end % US_PER_DAY))
            weekdays = 0
            if r.day_of_week:
                local = True
                for day in r.day_of_week:
                    weekdays |= 1 << day.weekday
                tods.add(0)
            date_start = _days(r.start_date) if r.start_date is not None else None
            date_end = _days(r.end_date) if r.end_date is not None else None
            if date_start is not None or date_end is not None:
                local = True
                tods.add(0)
            for limit in (r.min_kwh, r.max_kwh):
                if limit is not None:
                    kwh.add(limit)
            durations = self.dur_reserved if reservation is not None else self.dur_normal
            for seconds in (r.min_duration, r.max_duration):
                if seconds is not None:
                    durations.add(seconds * US_PER_SECOND)
            if r.min_power is not None or r.max_power is not None:
                self.uses_power = True
            if r.min_current is not None or r.max_current is not None:
                self.uses_current = True
            self.needs_local |= local
            always = (
                not local
                and r.min_kwh is None
                and r.max_kwh is None
                and r.min_current is None
                and r.max_current is None
                and r.min_power is None
                and r.max_power is None
                and r.min_duration is None
                and r.max_duration is None
            )
            rule = _Rule(
                element=e_index,
                slots=slots,
                reservation=reservation,
                always=always,
                tod_start=tod_start,
                tod_end=tod_end,
                date_start=date_start,
                date_end=date_end,
                weekdays=weekdays,
                min_kwh=r.min_kwh,
                max_kwh=r.max_kwh,
                min_current=r.min_current,
                max_current=r.max_current,
                min_power=r.min_power,
                max_power=r.max_power,
                min_duration=None if r.min_duration is None else r.min_duration * US_PER_SECOND,
                max_duration=None if r.max_duration is None else r.max_duration * US_PER_SECOND,
                local=local,
            )
            if reservation is None:
                target = self.normal
            elif reservation == ReservationRestriction.RESERVATION:
                target = self.reserved
            else:
                target = expires
            for dim in slots:
                target.setdefault(dim, []).append(rule)
        # An expired reservation is priced by RESERVATION_EXPIRES elements first, then RESERVATION ones.
        self.expired: dict[Dimension, list[_Rule]] = {
            dim: expires.get(dim, []) + self.reserved.get(dim, []) for dim in (FLAT, TIME)
        }
        self.tods = frozenset(tods)
        self.kwh_thresholds = sorted(kwh)


def _tod(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * US_PER_SECOND + value.microsecond


def _days(value: date) -> int:
    return value.toordinal() - 719_163  # days since 1970-01-01


_CACHE: dict[int, CompiledTariff] = {}


def compile_tariff(tariff: Tariff | CompiledTariff) -> CompiledTariff:
    """Prepare ``tariff`` for pricing (cached per tariff object)."""
    if isinstance(tariff, CompiledTariff):
        return tariff
    cached = _CACHE.get(id(tariff))
    if cached is not None and cached.tariff is tariff:
        return cached
    if len(_CACHE) >= 512:
        _CACHE.clear()
    compiled = CompiledTariff(tariff)
    _CACHE[id(tariff)] = compiled
    return compiled


def select_tariff(
    tariffs: Iterable[Tariff | CompiledTariff], at: datetime, tariff_type: str | None = None
) -> CompiledTariff | None:
    """The tariff to use for a session starting at ``at`` (DIGEST §6.1).

    Valid means ``start_date_time <= at <= end_date_time`` (each when given). Among the valid ones a
    tariff of ``tariff_type`` wins; without a type, an untyped or REGULAR one. An untyped tariff is
    valid for every session. ``None`` when no tariff is valid.
    """
    compiled = [compile_tariff(t) for t in tariffs]
    valid = [
        c
        for c in compiled
        if (c.tariff.start_date_time is None or c.tariff.start_date_time <= at)
        and (c.tariff.end_date_time is None or at <= c.tariff.end_date_time)
    ]
    wanted = (tariff_type or "REGULAR").upper()
    for c in valid:
        if (c.tariff.type or "").upper() == wanted:
            return c
    for c in valid:
        if c.tariff.type is None:
            return c
    return None


# --------------------------------------------------------------------------------------------------
# pricing


def price(
    tariffs: Tariff | CompiledTariff | Sequence[Tariff | CompiledTariff],
    session: Session,
    time_zone: str | tzinfo = "UTC",
    *,
    taxes: Sequence[TaxRate] = (),
    tariff_type: str | None = None,
    provisional: bool = False,
) -> PricingResult:
    """Price ``session`` with ``tariffs`` in the location's IANA ``time_zone``.

    With several tariffs, a period whose ``tariff_id`` names one of them is priced with it; every other
    period with the tariff valid at the session start (see :func:`select_tariff`), which also gives
    ``min_price``/``max_price``. ``taxes`` are applied to 2.3.0 components without ``vat``.
    """
    if isinstance(tariffs, (Tariff, CompiledTariff)):
        compiled = [compile_tariff(tariffs)]
    else:
        compiled = [compile_tariff(t) for t in tariffs]
    if not compiled:
        raise TariffError("no tariff given")
    tz = zone(time_zone) if isinstance(time_zone, str) else time_zone
    with localcontext(_CONTEXT):
        return _Pricer(compiled, session, tz, tuple(taxes), tariff_type, provisional).run()


def estimate(
    tariffs: Tariff | CompiledTariff | Sequence[Tariff | CompiledTariff],
    session: Session,
    now: datetime,
    time_zone: str | tzinfo = "UTC",
    *,
    taxes: Sequence[TaxRate] = (),
    tariff_type: str | None = None,
) -> PricingResult:
    """The running cost of an ongoing session: priced as if it ended ``now`` (step sizes and
    ``min_price`` included, as the final CDR would). The result is marked ``provisional``; its
    ``total_cost`` is what goes in ``Session.total_cost``."""
    periods = tuple(p for p in session.periods if p.start <= now)
    ongoing = Session(
        start=session.start,
        end=max(now, session.start),
        periods=periods,
        reservation_expired=session.reservation_expired,
    )
    return price(tariffs, ongoing, time_zone, taxes=taxes, tariff_type=tariff_type, provisional=True)


class _Pricer:
    __slots__ = (
        "_energy_qty",
        "_last",
        "_lines",
        "_out",
        "_prev_end",
        "_prev_end_dt",
        "_seg",
        "_seg_offsets",
        "_seg_starts",
        "_time_qty",
        "by_id",
        "compiled",
        "expired",
        "extra_taxes",
        "primary",
        "provisional",
        "session",
        "tz",
    )

    def __init__(
        self,
        compiled: list[CompiledTariff],
        session: Session,
        tz: tzinfo,
        extra_taxes: tuple[TaxRate, ...],
        tariff_type: str | None,
        provisional: bool,
    ) -> None:
        self.compiled = compiled
        self.session = session
        self.tz = tz
        self.extra_taxes = extra_taxes
        self.provisional = provisional
        if len(compiled) == 1:
            self.primary = compiled[0]
        else:
            self.primary = select_tariff(compiled, session.start, tariff_type) or compiled[0]
        self.by_id = {c.tariff.id.casefold(): c for c in compiled}
        self._seg_starts: list[int] = []
        self._seg_offsets: list[int] = [0]
        self._seg = 0
        self.expired = False
        # the output, built as the pieces are merged (see _emit)
        self._out: list[ChargingPeriod] = []
        self._lines: list[ExplainLine] = []
        self._energy_qty: dict[_Slot, Decimal] = {}
        self._time_qty: dict[_Slot, int] = {}
        self._last: list[_Slot | None] = [None, None, None]  # last energy, time, reservation time slot
        self._prev_end = -1
        self._prev_end_dt = _EPOCH_DT

    def run(self) -> PricingResult:
        session = self.session
        periods = list(session.periods)
        try:
            starts = [(p.start - _EPOCH_DT) // _ONE_US for p in periods]
        except TypeError:  # a naive timestamp: taken as UTC
            starts = [to_us(p.start) for p in periods]
        if starts != sorted(starts):
            order = sorted(range(len(periods)), key=starts.__getitem__)
            periods = [periods[i] for i in order]
            starts = [starts[i] for i in order]
        session_start = to_us(session.start)
        session_end = to_us(session.end)
        # ---- 1. intervals [start, next start); the last one ends at the session end
        n = len(periods)
        ends = [*starts[1:], session_end]
        for i in range(n):
            if ends[i] < starts[i]:
                ends[i] = starts[i]
        states = [p.state for p in periods]
        n_reserved = states.count(RESERVED)
        has_session = n_reserved < n
        expired = session.reservation_expired
        if expired is None:
            expired = n_reserved > 0 and not has_session
        if n_reserved:
            ses_ref = next((starts[i] for i in range(n) if states[i] != RESERVED), session_start)
            res_ref = next((starts[i] for i in range(n) if states[i] == RESERVED), session_start)
        else:
            ses_ref = starts[0] if n else session_start
            res_ref = session_start
        primary = self.primary
        if len(self.compiled) > 1:
            by_id = self.by_id
            period_tariffs = [
                primary if p.tariff_id is None else by_id.get(p.tariff_id.casefold(), primary)
                for p in periods
            ]
            used = list({id(c): c for c in period_tariffs}.values())
        else:
            period_tariffs = [primary] * n
            used = [primary]

        # ---- 2. where restrictions may switch
        lo = starts[0] if n else session_start
        hi = ends[-1] if n else lo
        cuts: set[int] = set()
        seg_starts: list[int] = []
        seg_offsets: list[int] = [0]
        if any(c.needs_local for c in used):
            clock = LocalClock.covering(self.tz, lo, hi)
            tods = used[0].tods if len(used) == 1 else frozenset().union(*(c.tods for c in used))
            cuts.update(clock.cuts(tods, lo, hi))
            seg_starts = [start for start, _ in clock.segments]
            seg_offsets = [offset for _, offset in clock.segments]
        for c in used:
            cuts.update(ses_ref + d for d in c.dur_normal)
            cuts.update(res_ref + d for d in c.dur_reserved)
        cut_list = sorted(t for t in cuts if lo < t < hi)
        kwh_thresholds = sorted({k for c in used for k in c.kwh_thresholds})

        # ---- 3. pieces and active components, merged on the fly into CDR charging periods
        kwh = kwh_thresholds
        n_kwh = len(kwh)
        energy_total = ZERO  # session energy so far (for min/max_kwh); reservations deliver none
        clamped = False  # a negative period energy was taken as zero
        total_us = parking_us = reserved_us = 0
        flat_normal: _Slot | None = None
        flat_reserved: _Slot | None = None
        flat_normal_at: int | None = None
        flat_reserved_at: int | None = None
        j = 0
        n_cuts = len(cut_list)
        self._seg_starts = seg_starts
        self._seg_offsets = seg_offsets
        self._seg = 0
        emit = self._emit
        carry = _CARRY_MEMO
        # Element outcomes only change at a cut, a kWh threshold, or with the facts (tariff, power,
        # current): within an *epoch* (no cut, no threshold) the outcomes are kept per set of facts, with
        # the components chosen from them per state, for pieces with and without energy.
        epoch: dict[tuple[object, ...], _Memo] = {}
        memo: dict[int, bool] = {}
        self.expired = expired
        chosen_pos: dict[State, _Pick] = {}
        chosen_zero: dict[State, _Pick] = {}
        memo_j = -1
        memo_bucket = -1
        memo_facts: tuple[object, ...] | None = None
        bucket = 0
        fast = False  # see the fast path below
        f_min_power: Decimal | None = None
        f_max_power: Decimal | None = None
        f_min_current: Decimal | None = None
        f_max_current: Decimal | None = None
        f_has_energy = False
        # the charging period being merged (m_compiled is None: none open)
        m_start = m_end = 0
        m_state: State = CHARGING
        m_energy = ZERO
        m_compiled: CompiledTariff | None = None
        m_e: _Slot | None = None
        m_t: _Slot | None = None
        pmin: Decimal | None = None
        pmax: Decimal | None = None
        cmin: Decimal | None = None
        cmax: Decimal | None = None
        for period, start, end, compiled, state in zip(
            periods, starts, ends, period_tariffs, states, strict=True
        ):
            reserved = state == RESERVED
            span = end - start
            if reserved:
                energy = ZERO
                reserved_us += span
            else:
                energy = period.energy
                if energy < ZERO:
                    energy = ZERO
                    clamped = True
                total_us += span
                if state == PARKED:
                    parking_us += span
            while j < n_cuts and cut_list[j] <= start:
                j += 1
            top = energy_total + energy
            while bucket < n_kwh and kwh[bucket] <= energy_total:
                bucket += 1  # = bisect_right(kwh, energy_total): the session energy never decreases
            p_min_power = period.min_power
            p_max_power = period.max_power
            p_min_current = period.min_current
            p_max_current = period.max_current
            # Fast path: the period continues the open charging period with the same facts in the same
            # epoch, without a cut or threshold inside: same outcomes, same components, merged.
            if (
                fast
                and start == m_end
                and state is m_state
                and compiled is m_compiled
                and j == memo_j
                and bucket == memo_bucket
                and not (j < n_cuts and cut_list[j] < end)
                and not (bucket < n_kwh and kwh[bucket] < top)
                and p_min_power == f_min_power
                and p_max_power == f_max_power
                and p_min_current == f_min_current
                and p_max_current == f_max_current
                and (
                    p_min_power is not None
                    or p_max_power is not None
                    or state != CHARGING
                    or not compiled.uses_power
                )
            ):
                piece_energy = top - energy_total
                if (piece_energy > ZERO) is f_has_energy:
                    m_end = end
                    m_energy += piece_energy
                    if p_min_power is not None and (pmin is None or p_min_power < pmin):
                        pmin = p_min_power
                    if p_max_power is not None and (pmax is None or p_max_power > pmax):
                        pmax = p_max_power
                    if p_min_current is not None and (cmin is None or p_min_current < cmin):
                        cmin = p_min_current
                    if p_max_current is not None and (cmax is None or p_max_current > cmax):
                        cmax = p_max_current
                    energy_total = top
                    continue
            pieces: Sequence[tuple[int, int, Decimal, Decimal]]
            if (j < n_cuts and cut_list[j] < end) or (
                bucket < n_kwh and kwh[bucket] < top and energy > ZERO and span > 0
            ):
                pieces = _split(cut_list, j, kwh, start, end, span, energy, energy_total, top)
            else:
                pieces = ((start, end, energy_total, top),)
            # facts of this period
            min_power = p_min_power
            max_power = p_max_power
            if min_power is None and max_power is None and compiled.uses_power:
                if state == CHARGING and span > 0:
                    min_power = max_power = energy * _US_PER_HOUR / span
                else:
                    min_power = max_power = ZERO
            min_current = p_min_current
            max_current = p_max_current
            if min_current is None and max_current is None and state != CHARGING:
                min_current = max_current = ZERO
            if j != memo_j or bucket != memo_bucket or not carry:
                epoch.clear()
                memo_j = j
                memo_bucket = bucket
                memo_facts = None
            facts = (compiled, reserved, min_power, max_power, min_current, max_current)
            if facts != memo_facts:
                kept = epoch.get(facts)
                if kept is None:
                    kept = epoch[facts] = ({}, {}, {})
                memo, chosen_pos, chosen_zero = kept
                memo_facts = facts
            for piece_start, point, e_before, e_at in pieces:
                piece_energy = e_at - e_before
                if piece_start != start:
                    # an inner cut or threshold: a new epoch, which ends with this period
                    epoch.clear()
                    memo, chosen_pos, chosen_zero = epoch[facts] = ({}, {}, {})
                    memo_facts = facts
                    memo_j = -1
                    if n_kwh:
                        memo_bucket = bisect_right(kwh, e_before)
                has_energy = piece_energy > ZERO
                cache = chosen_pos if has_energy else chosen_zero
                pick = cache.get(state)
                flat_missing = flat_reserved is None if reserved else flat_normal is None
                if pick is None or (flat_missing and not pick[3]):
                    pick = cache[state] = self._pick(
                        compiled,
                        state,
                        has_energy,
                        flat_missing,
                        memo,
                        piece_start,
                        e_before,
                        piece_start - (res_ref if reserved else ses_ref),
                        min_power,
                        max_power,
                        min_current,
                        max_current,
                    )
                e_slot, t_slot, flat, _ = pick
                if flat is not None and flat_missing:
                    if reserved:
                        flat_reserved, flat_reserved_at = flat, piece_start
                    else:
                        flat_normal, flat_normal_at = flat, piece_start
                # merge into the open charging period, or open a new one
                if (
                    m_compiled is compiled
                    and m_end == piece_start
                    and m_state is state
                    and m_e is e_slot
                    and m_t is t_slot
                ):
                    m_end = point
                    m_energy += piece_energy
                    if p_min_power is not None and (pmin is None or p_min_power < pmin):
                        pmin = p_min_power
                    if p_max_power is not None and (pmax is None or p_max_power > pmax):
                        pmax = p_max_power
                    if p_min_current is not None and (cmin is None or p_min_current < cmin):
                        cmin = p_min_current
                    if p_max_current is not None and (cmax is None or p_max_current > cmax):
                        cmax = p_max_current
                else:
                    if m_compiled is not None:
                        emit(m_start, m_end, m_state, m_energy, m_compiled, m_e, m_t, pmin, pmax, cmin, cmax)
                    m_start, m_end, m_state, m_energy, m_compiled, m_e, m_t = (
                        piece_start,
                        point,
                        state,
                        piece_energy,
                        compiled,
                        e_slot,
                        t_slot,
                    )
                    pmin, pmax, cmin, cmax = p_min_power, p_max_power, p_min_current, p_max_current
            if not reserved:
                energy_total = top  # = energy_total + energy
            # the next period may take the fast path when this one was one piece, not a reservation
            fast = carry and not reserved and len(pieces) == 1 and memo_j == j
            if fast:
                f_min_power, f_max_power = p_min_power, p_max_power
                f_min_current, f_max_current = p_min_current, p_max_current
                f_has_energy = has_energy
        if m_compiled is not None:
            emit(m_start, m_end, m_state, m_energy, m_compiled, m_e, m_t, pmin, pmax, cmin, cmax)
        if clamped:
            total_energy = ZERO
            for period in periods:
                if period.state != RESERVED:
                    total_energy += period.energy
        else:
            total_energy = energy_total  # the same additions in the same order
        return self._totals(
            (total_us, parking_us, reserved_us, total_energy),
            flat_normal,
            flat_normal_at,
            flat_reserved,
            flat_reserved_at,
        )

    def _pick(
        self,
        compiled: CompiledTariff,
        state: State,
        has_energy: bool,
        flat_missing: bool,
        memo: dict[int, bool],
        instant: int,
        energy: Decimal,
        elapsed: int,
        min_power: Decimal | None,
        max_power: Decimal | None,
        min_current: Decimal | None,
        max_current: Decimal | None,
    ) -> _Pick:
        """The components active for a piece: (ENERGY slot, time slot, FLAT slot, whether FLAT was
        looked for). Each dimension's is the one of the first element whose restrictions all hold."""
        if state == RESERVED:
            table = compiled.expired if self.expired else compiled.reserved
            e_rules: list[_Rule] = _NONE
            t_rules = table.get(TIME, _NONE)
        else:
            table = compiled.normal
            e_rules = table.get(ENERGY, _NONE)
            t_rules = table.get(TIME if state == CHARGING else PARKING, _NONE)
        f_rules = table.get(FLAT, _NONE)
        ctx = None  # what restrictions look at, computed once, when an outcome is not known yet
        e_slot = t_slot = flat = None
        for rules, dim in (
            (e_rules if has_energy else _NONE, ENERGY),
            (t_rules, TIME if state != PARKED else PARKING),
            (f_rules if flat_missing else _NONE, FLAT),
        ):
            for rule in rules:
                ok = memo.get(rule.element)
                if ok is None:
                    if rule.always:
                        ok = True
                    else:
                        if ctx is None:
                            ctx = self._context(
                                compiled.needs_local,
                                instant,
                                energy,
                                elapsed,
                                min_power,
                                max_power,
                                min_current,
                                max_current,
                            )
                        ok = _matches(rule, *ctx)
                    memo[rule.element] = ok
                if ok:
                    slot = rule.slots[dim]
                    if dim is ENERGY:
                        e_slot = slot
                    elif dim is FLAT:
                        flat = slot
                    else:
                        t_slot = slot
                    break
        return e_slot, t_slot, flat, flat_missing

    def _context(
        self,
        local: bool,
        instant: int,
        energy: Decimal,
        elapsed: int,
        min_power: Decimal | None,
        max_power: Decimal | None,
        min_current: Decimal | None,
        max_current: Decimal | None,
    ) -> tuple[int, int, int, Decimal, int, Decimal | None, Decimal | None, Decimal | None, Decimal | None]:
        """What restrictions look at, at ``instant``: local time of day, day, weekday, session energy,
        elapsed time, power, current. Instants come in increasing order."""
        if local:
            starts = self._seg_starts
            seg = self._seg
            while seg + 1 < len(starts) and instant >= starts[seg + 1]:
                seg += 1
            self._seg = seg
            day, sod = divmod(instant + self._seg_offsets[seg], US_PER_DAY)
            return sod, day, (day + 3) % 7, energy, elapsed, min_power, max_power, min_current, max_current
        return 0, 0, 0, energy, elapsed, min_power, max_power, min_current, max_current

    # ---- 4./5. step sizes, money, limits, output
    def _totals(
        self,
        quantities: tuple[int, int, int, Decimal],
        flat_normal: _Slot | None,
        flat_normal_at: int | None,
        flat_reserved: _Slot | None,
        flat_reserved_at: int | None,
    ) -> PricingResult:
        energy_qty: dict[_Slot, Decimal] = self._energy_qty
        time_qty: dict[_Slot, int] = self._time_qty
        lines: list[ExplainLine] = self._lines
        last_energy, last_time, last_reserved = self._last

        # step sizes
        energy_surplus: dict[_Slot, Decimal] = {}
        time_surplus: dict[_Slot, int] = {}
        if last_energy is not None:
            step = last_energy.component.step_size
            if step > 0:
                wh = sum(energy_qty.values(), ZERO) * THOUSAND
                billed = (wh / step).to_integral_value(ROUND_CEILING) * step
                if billed > wh:
                    surplus = (billed - wh) / THOUSAND
                    energy_surplus[last_energy] = surplus
        for last in (last_time, last_reserved):
            if last is None:
                continue
            step = last.component.step_size
            if step <= 0:
                continue
            dim = last.component.type
            total_us = sum(
                us
                for slot, us in time_qty.items()
                if slot.reservation == last.reservation and slot.component.type == dim
            )
            step_us = step * US_PER_SECOND
            billed_us = -(-total_us // step_us) * step_us
            if billed_us > total_us:
                time_surplus[last] = billed_us - total_us

        # money per component
        costs: list[tuple[_Slot, Decimal]] = []
        for slot, qty in energy_qty.items():
            surplus = energy_surplus.get(slot, ZERO)
            costs.append((slot, slot.component.price * (qty + surplus)))
        for slot, us in time_qty.items():
            extra = time_surplus.get(slot, 0)
            costs.append((slot, slot.component.price * Decimal(us + extra) / _US_PER_HOUR))
        for flat, at in ((flat_normal, flat_normal_at), (flat_reserved, flat_reserved_at)):
            if flat is not None:
                slot = flat
                costs.append((slot, slot.component.price))
                lines.append(
                    ExplainLine(
                        kind="flat",
                        start=None if at is None else from_us(at),
                        end=None,
                        dimension="FLAT",
                        quantity=ONE,
                        tariff_id=slot.tariff.id,
                        component=slot.label,
                        price=slot.component.price,
                        cost=slot.component.price,
                        note="reservation fee" if slot.reservation else f"charged once ({slot.category})",
                    )
                )
        for slot, surplus_kwh in energy_surplus.items():
            lines.append(
                ExplainLine(
                    kind="step_size",
                    start=None,
                    end=None,
                    dimension="ENERGY",
                    quantity=surplus_kwh,
                    tariff_id=slot.tariff.id,
                    component=slot.label,
                    price=slot.component.price,
                    cost=slot.component.price * surplus_kwh,
                    note=f"session total rounded up to a multiple of {slot.component.step_size} Wh",
                )
            )
        for slot, surplus_us in time_surplus.items():
            hours = Decimal(surplus_us) / _US_PER_HOUR
            dim_name = "RESERVATION_TIME" if slot.reservation else slot.component.type.value
            lines.append(
                ExplainLine(
                    kind="step_size",
                    start=None,
                    end=None,
                    dimension=dim_name,
                    quantity=hours,
                    tariff_id=slot.tariff.id,
                    component=slot.label,
                    price=slot.component.price,
                    cost=slot.component.price * hours,
                    note=f"{dim_name} total rounded up to a multiple of {slot.component.step_size} s",
                )
            )

        # taxes and CDR fields
        no_vat_info = self.primary.tariff.version == "2.1.1"
        fields: dict[str, _Sum] = {name: _Sum(no_vat_info) for name in _FIELDS}
        for slot, cost in costs:
            fields[slot.category].add(*self._taxed(slot, cost))
        total = _Sum(no_vat_info)
        for acc in fields.values():
            total.merge(acc)
        total_price = total.price()
        min_applied = max_applied = False
        tariff = self.primary.tariff
        excl, incl = total_price.excl_vat, total_price.incl_vat
        before = (excl, incl)
        if tariff.min_price is not None:
            excl, incl, min_applied = _clamp(excl, incl, tariff.min_price, lower=True)
        if tariff.max_price is not None:
            excl, incl, max_applied = _clamp(excl, incl, tariff.max_price, lower=False)
        # An incl. total moved along by a limit without incl. side may have crossed the other limit's
        # incl. side: that one holds (when the limits contradict each other, max_price wins).
        if incl is not None:
            low = tariff.min_price.incl_vat if tariff.min_price is not None else None
            high = tariff.max_price.incl_vat if tariff.max_price is not None else None
            if low is not None and incl < low:
                incl, min_applied = low, True
            if high is not None and incl > high:
                incl, max_applied = high, True
        if min_applied or max_applied:
            total_price = Price(excl, incl, _rescale(total_price.taxes, excl, incl))
            which = " and ".join(n for n, f in (("min_price", min_applied), ("max_price", max_applied)) if f)
            lines.append(
                ExplainLine(
                    kind="limit",
                    start=None,
                    end=None,
                    dimension="TOTAL",
                    quantity=ONE,
                    tariff_id=tariff.id,
                    component=None,
                    price=None,
                    cost=(excl or ZERO) - (before[0] or ZERO),
                    note=f"{which} of the tariff applied: total was {before[0]} excl. / {before[1]} incl.",
                )
            )

        total_us, parking_us, reserved_us, total_energy = quantities
        return PricingResult(
            version=tariff.version,
            currency=tariff.currency,
            start=self.session.start,
            end=self.session.end,
            charging_periods=tuple(self._out),
            total_cost=total_price,
            total_fixed_cost=fields[FIXED_COST].price(),
            total_energy_cost=fields[ENERGY_COST].price(),
            total_time_cost=fields[TIME_COST].price(),
            total_parking_cost=fields[PARKING_COST].price(),
            total_reservation_cost=fields[RESERVATION_COST].price(),
            total_energy=total_energy,
            total_time=Decimal(total_us) / _US_PER_HOUR,
            total_parking_time=Decimal(parking_us) / _US_PER_HOUR,
            total_reservation_time=Decimal(reserved_us) / _US_PER_HOUR,
            lines=tuple(lines),
            min_price_applied=min_applied,
            max_price_applied=max_applied,
            provisional=self.provisional,
            time_zone=self.tz,
        )

    def _emit(
        self,
        start: int,
        end: int,
        state: State,
        energy: Decimal,
        compiled: CompiledTariff,
        e_slot: _Slot | None,
        t_slot: _Slot | None,
        pmin: Decimal | None,
        pmax: Decimal | None,
        cmin: Decimal | None,
        cmax: Decimal | None,
    ) -> None:
        """Output one CDR charging period (consecutive pieces priced alike), with one explain line per
        priced dimension; sum the quantities per component; remember the components that priced the
        last energy, the last (charging or parking) time and the last reservation time."""
        if start == self._prev_end:
            start_dt = self._prev_end_dt
        else:
            seconds, micros = divmod(start, US_PER_SECOND)
            start_dt = _EPOCH_DT + timedelta(0, seconds, micros)
        seconds, micros = divmod(end, US_PER_SECOND)
        end_dt = _EPOCH_DT + timedelta(0, seconds, micros)  # as from_us(end), positional arguments are faster
        self._prev_end = end
        self._prev_end_dt = end_dt
        span = end - start
        hours = _HOURS.get(span)
        if hours is None:
            if len(_HOURS) >= 4096:
                _HOURS.clear()
            hours = _HOURS[span] = Decimal(span) / _US_PER_HOUR
        time_name = _TIME_NAMES[state]
        dims: list[CdrDimension] = []
        if state != RESERVED and (energy or state == CHARGING):
            dims.append(CdrDimension("ENERGY", energy))
        dims.append(CdrDimension(time_name, hours))
        if cmin is not None:
            dims.append(CdrDimension("MIN_CURRENT", cmin))
        if cmax is not None:
            dims.append(CdrDimension("MAX_CURRENT", cmax))
        if pmin is not None:
            dims.append(CdrDimension("MIN_POWER", pmin))
        if pmax is not None:
            dims.append(CdrDimension("MAX_POWER", pmax))
        components: list[tuple[str, str]] = []
        tariff_id = compiled.tariff.id
        lines = self._lines
        last = self._last
        if e_slot is not None:
            qty = self._energy_qty
            qty[e_slot] = qty.get(e_slot, ZERO) + energy
            last[0] = e_slot
            components.append(("ENERGY", e_slot.label))
            unit = e_slot.component.price
            lines.append(
                ExplainLine(
                    "period", start_dt, end_dt, "ENERGY", energy, tariff_id, e_slot.label, unit, unit * energy
                )
            )
        elif energy > ZERO:
            lines.append(
                ExplainLine(
                    "period", start_dt, end_dt, "ENERGY", energy, tariff_id, None, None, ZERO, _FREE_ENERGY
                )
            )
        if t_slot is not None:
            time_qty = self._time_qty
            time_qty[t_slot] = time_qty.get(t_slot, 0) + span
            if span > 0:
                last[2 if t_slot.reservation else 1] = t_slot
            components.append((time_name, t_slot.label))
            unit = t_slot.component.price
            lines.append(
                ExplainLine(
                    "period", start_dt, end_dt, time_name, hours, tariff_id, t_slot.label, unit, unit * hours
                )
            )
        elif span > 0:
            lines.append(
                ExplainLine(
                    "period",
                    start_dt,
                    end_dt,
                    time_name,
                    hours,
                    tariff_id,
                    None,
                    None,
                    ZERO,
                    f"no element prices {time_name} here: free",
                )
            )
        self._out.append(ChargingPeriod(start_dt, end_dt, state, tuple(dims), tariff_id, tuple(components)))

    def _taxed(self, slot: _Slot, cost: Decimal) -> tuple[Decimal | None, Decimal | None, list[TaxAmount]]:
        """(excl, incl, taxes) of one component's cost, per the tariff's version and tax fields."""
        tariff = slot.tariff
        vat = slot.component.vat
        if tariff.version == "2.1.1":
            return cost, None, []
        if tariff.version == "2.2.1":
            if vat is None:
                return cost, cost, []
            tax = cost * vat / HUNDRED
            return cost, cost + tax, [TaxAmount("VAT", tax, vat)]
        included = tariff.tax_included or TaxIncluded.NO
        if included == TaxIncluded.NOT_APPLICABLE:
            return cost, cost, []
        rates = (
            [TaxAmount("VAT", ZERO, vat)]
            if vat is not None
            else [TaxAmount(r.name, ZERO, r.percentage) for r in self.extra_taxes]
        )
        if included == TaxIncluded.NO:
            if not rates:
                return (cost, None, []) if cost else (cost, cost, [])
            amounts = [
                TaxAmount(r.name, cost * (r.percentage or ZERO) / HUNDRED, r.percentage) for r in rates
            ]
            return cost, cost + sum((a.amount for a in amounts), ZERO), amounts
        # prices include taxes
        if not rates:
            return (None, cost, []) if cost else (cost, cost, [])
        pct = sum((r.percentage or ZERO for r in rates), ZERO)
        excl = cost * HUNDRED / (HUNDRED + pct)
        amounts = [TaxAmount(r.name, excl * (r.percentage or ZERO) / HUNDRED, r.percentage) for r in rates]
        # the taxes make up exactly the difference
        rest = cost - excl - sum((a.amount for a in amounts[:-1]), ZERO)
        amounts[-1] = TaxAmount(amounts[-1].name, rest, amounts[-1].percentage)
        return excl, cost, amounts


_FIELDS = (FIXED_COST, ENERGY_COST, TIME_COST, PARKING_COST, RESERVATION_COST)


class _Sum:
    """Running Price sum; ``None`` (unknown) is contagious."""

    __slots__ = ("excl", "incl", "taxes")

    def __init__(self, no_vat_info: bool) -> None:
        self.excl: Decimal | None = ZERO
        self.incl: Decimal | None = None if no_vat_info else ZERO
        self.taxes: dict[tuple[str, Decimal | None], Decimal] = {}

    def add(self, excl: Decimal | None, incl: Decimal | None, taxes: list[TaxAmount]) -> None:
        self.excl = None if excl is None or self.excl is None else self.excl + excl
        self.incl = None if incl is None or self.incl is None else self.incl + incl
        for tax in taxes:
            key = (tax.name, tax.percentage)
            self.taxes[key] = self.taxes.get(key, ZERO) + tax.amount

    def merge(self, other: _Sum) -> None:
        """As ``add`` of the other's total and taxes (the same additions in the same order)."""
        excl, incl = other.excl, other.incl
        self.excl = None if excl is None or self.excl is None else self.excl + excl
        self.incl = None if incl is None or self.incl is None else self.incl + incl
        taxes = self.taxes
        for key, amount in other.taxes.items():
            taxes[key] = taxes.get(key, ZERO) + amount

    def price(self) -> Price:
        if not self.taxes:
            return Price(self.excl, self.incl, ())
        taxes = tuple(
            TaxAmount(name, amount, pct)
            for (name, pct), amount in sorted(self.taxes.items(), key=lambda kv: (kv[0][0], kv[0][1] or ZERO))
        )
        return Price(self.excl, self.incl, taxes)


def _clamp(
    excl: Decimal | None, incl: Decimal | None, limit: PriceLimit, *, lower: bool
) -> tuple[Decimal | None, Decimal | None, bool]:
    """Apply ``min_price`` (``lower``) or ``max_price`` to a total, each side independently.

    A limit without its incl. side moves the incl. total with the excl. one, keeping the session's
    effective tax rate (from zero, with no rate to keep, the incl. total becomes the excl. limit)."""
    new_excl = excl
    if excl is not None and (excl < limit.excl_vat if lower else excl > limit.excl_vat):
        new_excl = limit.excl_vat
    new_incl = incl
    if incl is not None:
        if limit.incl_vat is not None:
            if incl < limit.incl_vat if lower else incl > limit.incl_vat:
                new_incl = limit.incl_vat
        elif new_excl != excl and new_excl is not None:
            # the taxes scale with the excl. total (from zero there is no rate to keep)
            new_incl = new_excl + (incl - excl) * new_excl / excl if excl else new_excl
    return new_excl, new_incl, (new_excl != excl or new_incl != incl)


def _rescale(
    taxes: tuple[TaxAmount, ...], excl: Decimal | None, incl: Decimal | None
) -> tuple[TaxAmount, ...]:
    """Taxes of a clamped total: scaled so that they still make up ``incl - excl``."""
    if excl is None or incl is None:
        return taxes
    target = incl - excl
    current = sum((t.amount for t in taxes), ZERO)
    if current == target:
        return taxes
    if current == 0:
        return (TaxAmount("VAT", target, None),) if target else ()
    factor = target / current
    scaled = [TaxAmount(t.name, t.amount * factor, t.percentage) for t in taxes]
    rest = target - sum((t.amount for t in scaled[:-1]), ZERO)
    scaled[-1] = TaxAmount(scaled[-1].name, rest, scaled[-1].percentage)
    return tuple(scaled)


def _split(
    cut_list: list[int],
    j: int,
    kwh: list[Decimal],
    start: int,
    end: int,
    span: int,
    energy: Decimal,
    energy_total: Decimal,
    top: Decimal,
) -> list[tuple[int, int, Decimal, Decimal]]:
    """A period cut at the cuts inside it and where the session energy reaches a kWh threshold (energy
    taken as linear within the period): ``[(start, end, energy before, energy after)]``."""
    points: list[tuple[int, Decimal | None]] = []
    k = j
    n_cuts = len(cut_list)
    while k < n_cuts and cut_list[k] < end:
        points.append((cut_list[k], None))
        k += 1
    if kwh and energy > ZERO and span > 0:
        for threshold in kwh:
            if energy_total < threshold < top:
                at = start + int(((threshold - energy_total) * span / energy).to_integral_value())
                if start < at < end:
                    points.append((at, threshold))
        if len(points) > 1:
            # a threshold (exact energy) before a cut at the same instant
            points.sort(key=_point_order)
    points.append((end, top))
    pieces: list[tuple[int, int, Decimal, Decimal]] = []
    piece_start = start
    e_before = energy_total
    for point, e_at in points:
        if point < piece_start or (point == piece_start and point != end):
            continue
        if e_at is None:
            e_at = energy_total + energy * (point - start) / span
        if e_at < e_before:
            e_at = e_before
        pieces.append((piece_start, point, e_before, e_at))
        piece_start = point
        e_before = e_at
    return pieces


def _point_order(point: tuple[int, Decimal | None]) -> tuple[int, bool]:
    return point[0], point[1] is None


def _matches(
    rule: _Rule,
    sod: int,
    day: int,
    weekday: int,
    energy: Decimal,
    elapsed: int,
    min_power: Decimal | None,
    max_power: Decimal | None,
    min_current: Decimal | None,
    max_current: Decimal | None,
) -> bool:
    """Do all of the element's restrictions hold at the start of a piece?"""
    if rule.local:
        if rule.tod_start is not None and rule.tod_end is not None:
            s, e = rule.tod_start, rule.tod_end
            if s < e:
                if not s <= sod < e:
                    return False
            elif s > e and not (sod >= s or sod < e):
                return False
        if rule.weekdays and not (rule.weekdays >> weekday) & 1:
            return False
        if rule.date_start is not None and day < rule.date_start:
            return False
        if rule.date_end is not None and day >= rule.date_end:
            return False
    if rule.min_kwh is not None and energy < rule.min_kwh:
        return False
    if rule.max_kwh is not None and energy >= rule.max_kwh:
        return False
    if rule.min_duration is not None and elapsed < rule.min_duration:
        return False
    if rule.max_duration is not None and elapsed >= rule.max_duration:
        return False
    if rule.min_power is not None:
        value = min_power if min_power is not None else max_power
        if value is None or value < rule.min_power:
            return False
    if rule.max_power is not None:
        value = max_power if max_power is not None else min_power
        if value is None or value >= rule.max_power:
            return False
    if rule.min_current is not None:
        value = min_current if min_current is not None else max_current
        if value is None or value < rule.min_current:
            return False
    if rule.max_current is not None:
        value = max_current if max_current is not None else min_current
        if value is None or value >= rule.max_current:
            return False
    return True


def _lowest(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _highest(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
