"""The engine's choice of components against a straightforward reference (hypothesis).

The engine carries element outcomes from piece to piece, keeps them per set of facts, re-uses the components
it picked and merges pieces into charging periods as it goes (``docs/tariffs.md``, Performance). The
reference here does none of that: for every computed charging period it evaluates every element's
restrictions afresh at the period's start, with ``datetime.astimezone`` for the local time, and takes the
first element (in list order) that matches and prices the dimension.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, localcontext
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from msgspec.structs import replace

from evroam.tariffs import (
    DayOfWeek,
    Dimension,
    Element,
    Period,
    PriceComponent,
    PricingResult,
    Restrictions,
    Session,
    State,
    Tariff,
    price,
)
from tests.unit.tariffs.test_invariants import (
    DIMS,
    SETTINGS,
    STEPS,
    ZONES,
    amounts,
    clock_times,
    near_dst,
    opt,
    prices,
    sessions,
    tariffs,
)

_US_PER_HOUR = Decimal(3_600_000_000)
_ONE_US = timedelta(microseconds=1)
_TIME_DIMENSION = {State.CHARGING: Dimension.TIME, State.PARKING: Dimension.PARKING_TIME}


def _seconds_of_day(value: time) -> float:
    return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6


def _holds(
    r: Restrictions,
    local: datetime,
    energy: Decimal,
    elapsed: float,
    power: tuple[Decimal | None, Decimal | None],
    current: tuple[Decimal | None, Decimal | None],
) -> bool:
    if r.start_time is not None or r.end_time is not None:
        start = _seconds_of_day(r.start_time) if r.start_time is not None else 0.0
        end = _seconds_of_day(r.end_time) if r.end_time is not None else 86400.0
        end = end or 86400.0  # 00:00 as end: the end of the day
        now = _seconds_of_day(local.time())
        if start < end and not start <= now < end:
            return False
        if start > end and not (now >= start or now < end):
            return False
    if r.day_of_week and local.weekday() not in {day.weekday for day in r.day_of_week}:
        return False
    if r.start_date is not None and local.date() < r.start_date:
        return False
    if r.end_date is not None and local.date() >= r.end_date:
        return False
    if r.min_kwh is not None and energy < r.min_kwh:
        return False
    if r.max_kwh is not None and energy >= r.max_kwh:
        return False
    if r.min_duration is not None and elapsed < r.min_duration:
        return False
    if r.max_duration is not None and elapsed >= r.max_duration:
        return False
    for (low, high), (min_limit, max_limit) in (
        (power, (r.min_power, r.max_power)),
        (current, (r.min_current, r.max_current)),
    ):
        if min_limit is not None:
            value = low if low is not None else high
            if value is None or value < min_limit:
                return False
        if max_limit is not None:
            value = high if high is not None else low
            if value is None or value >= max_limit:
                return False
    return True


def _first(elements: tuple[Element, ...], dimension: Dimension, *facts: object) -> str | None:
    for e_index, element in enumerate(elements):
        r = element.restrictions or Restrictions()
        if r.reservation is not None:
            continue
        kinds = [c.type for c in element.price_components]
        if dimension in kinds and _holds(r, *facts):  # type: ignore[arg-type]
            return f"elements[{e_index}].price_components[{kinds.index(dimension)}]"
    return None


def _reference_check(tariff: Tariff, session: Session, tz: str, result: PricingResult) -> int:
    """Asserts the components of every charging period at its start and at every input period's start
    inside it (where the engine merged, the fresh evaluation must agree); returns how many instants."""
    zone = ZoneInfo(tz)
    uses_power = any(
        e.restrictions is not None
        and (e.restrictions.min_power is not None or e.restrictions.max_power is not None)
        for e in tariff.elements
    )
    periods = sorted(session.periods, key=lambda p: p.start)
    ends = [p.start for p in periods[1:]] + [session.end]
    energy_at = [sum((p.energy for p in periods[:i]), Decimal(0)) for i in range(len(periods))]
    first_start = periods[0].start
    energy_before = Decimal(0)  # at the start of the charging period
    checked = 0
    for cp in result.charging_periods:
        chosen = dict(cp.components)
        dimension = _TIME_DIMENSION[cp.state]
        inside = [i for i, p in enumerate(periods) if cp.start < p.start < cp.end]
        containing = max(i for i, p in enumerate(periods) if p.start <= cp.start)
        for index, at, energy in [(containing, cp.start, energy_before)] + [
            (i, periods[i].start, energy_at[i]) for i in inside
        ]:
            period: Period = periods[index]
            span_us = (ends[index] - period.start) // _ONE_US
            power = (period.min_power, period.max_power)
            if power == (None, None) and uses_power:
                with localcontext() as ctx:
                    ctx.prec = 34
                    derived = (
                        period.energy * _US_PER_HOUR / span_us
                        if period.state == State.CHARGING and span_us > 0
                        else Decimal(0)
                    )
                power = (derived, derived)
            current = (period.min_current, period.max_current)
            if current == (None, None) and period.state != State.CHARGING:
                current = (Decimal(0), Decimal(0))
            facts = (at.astimezone(zone), energy, (at - first_start).total_seconds(), power, current)
            if period.energy > 0:
                assert chosen.get("ENERGY") == _first(tariff.elements, Dimension.ENERGY, *facts), (at, cp)
            assert chosen.get(dimension.value) == _first(tariff.elements, dimension, *facts), (at, cp)
            checked += 1
        energy_before += sum((d.volume for d in cp.dimensions if d.type == "ENERGY"), Decimal(0))
    return checked


@st.composite
def steady_sessions(draw: st.DrawFn) -> Session:
    """Many periods that share a few sets of facts (power, current), so that consecutive periods often
    continue one another (the engine's fast path) - unlike ``sessions()``, which draws them per period."""
    base = draw(
        st.one_of(
            st.builds(
                lambda m: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=m),
                st.integers(0, 366 * 24 * 60),
            ),
            st.builds(lambda b, m: b + timedelta(minutes=m), near_dst, st.integers(-360, 360)),
        )
    )
    pool = draw(
        st.lists(
            st.tuples(
                st.sampled_from([None, Decimal(0), Decimal("3.7"), Decimal(11), Decimal(22), Decimal(50)]),
                st.sampled_from([None, Decimal(16), Decimal(32)]),
            ),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    at = base
    periods = []
    for _ in range(draw(st.integers(1, 16))):
        seconds = draw(st.sampled_from([60, 300, 900, 1800]))
        state = draw(st.sampled_from([State.CHARGING, State.CHARGING, State.PARKING]))
        k = draw(st.sampled_from([0, 1000, 7000, 15_000])) if state == State.CHARGING else 0
        power, current = draw(st.sampled_from(pool))
        periods.append(
            Period(
                at,
                state,
                Decimal(k) * seconds / Decimal(1_000_000),
                min_power=power,
                max_power=power,
                min_current=current,
                max_current=current,
            )
        )
        at += timedelta(seconds=seconds)
    return Session(start=base, end=at, periods=tuple(periods))


_SPARSE = {
    "time": st.fixed_dictionaries({"start_time": opt(clock_times), "end_time": opt(clock_times)}),
    "day": st.fixed_dictionaries(
        {"day_of_week": st.frozensets(st.sampled_from(list(DayOfWeek)), min_size=1, max_size=6)}
    ),
    "kwh": st.fixed_dictionaries({"min_kwh": opt(amounts), "max_kwh": opt(amounts)}),
    "power": st.fixed_dictionaries({"min_power": opt(amounts), "max_power": opt(amounts)}),
    "current": st.fixed_dictionaries({"min_current": opt(amounts), "max_current": opt(amounts)}),
    "duration": st.fixed_dictionaries(
        {"min_duration": opt(st.integers(0, 4 * 3600)), "max_duration": opt(st.integers(0, 4 * 3600))}
    ),
}


@st.composite
def sparse_tariffs(draw: st.DrawFn) -> Tariff:
    """Elements with at most two kinds of restriction each, so that they often match and often switch."""
    items = []
    for _ in range(draw(st.integers(1, 5))):
        dims = draw(st.lists(st.sampled_from(DIMS), min_size=1, max_size=3, unique=True))
        components = tuple(PriceComponent(d, draw(prices), draw(st.sampled_from(STEPS[d]))) for d in dims)
        fields: dict[str, object] = {}
        for kind in draw(st.lists(st.sampled_from(sorted(_SPARSE)), max_size=2, unique=True)):
            fields.update(draw(_SPARSE[kind]))
        items.append(Element(components, Restrictions(**fields) if fields else None))  # type: ignore[arg-type]
    return Tariff(id="S", currency="EUR", elements=tuple(items))


@SETTINGS
@given(st.one_of(tariffs(), sparse_tariffs()), steady_sessions(), st.sampled_from(ZONES))
def test_components_of_steady_sessions_are_those_of_a_fresh_evaluation(
    tariff: Tariff, session: Session, tz: str
) -> None:
    result = price(tariff, session, tz)
    assert _reference_check(tariff, session, tz, result) >= len(result.charging_periods) > 0


@SETTINGS
@given(tariffs(), sessions(reservation=False), st.sampled_from(ZONES))
def test_components_are_those_of_a_fresh_evaluation_at_each_period_start(
    tariff: Tariff, session: Session, tz: str
) -> None:
    result = price(tariff, session, tz)
    assert _reference_check(tariff, session, tz, result) >= len(result.charging_periods) > 0


def test_the_reference_notices_a_wrong_component() -> None:
    """The reference is not vacuous: a result whose component was swapped fails it."""
    night = Restrictions(start_time=time(22, 0), end_time=time(6, 0))
    tariff = Tariff(
        id="N",
        currency="EUR",
        elements=(
            Element((PriceComponent(Dimension.TIME, Decimal(1)),), night),
            Element((PriceComponent(Dimension.TIME, Decimal(2)),)),
        ),
    )
    start = datetime.fromisoformat("2024-01-10T21:00:00+00:00")
    session = Session(
        start=start,
        end=datetime.fromisoformat("2024-01-10T23:00:00+00:00"),
        periods=(Period(start, State.CHARGING, Decimal(10)),),
    )
    result = price(tariff, session, "UTC")
    assert [dict(cp.components)["TIME"] for cp in result.charging_periods] == [
        "elements[1].price_components[0]",
        "elements[0].price_components[0]",
    ]
    assert _reference_check(tariff, session, "UTC", result) == 2
    swapped = replace(
        result,
        charging_periods=(
            replace(result.charging_periods[0], components=(("TIME", "elements[0].price_components[0]"),)),
            result.charging_periods[1],
        ),
    )
    with pytest.raises(AssertionError):
        _reference_check(tariff, session, "UTC", swapped)


_T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("restrictions", "second", "expected"),
    [
        # same current, power crosses min_power: the second hour is priced by element 0
        (
            Restrictions(min_power=Decimal(22)),
            {"min_power": Decimal(30), "max_power": Decimal(30)},
            ["elements[1].price_components[0]", "elements[0].price_components[0]"],
        ),
        # same power, a current appears that reaches min_current: the second hour is priced by element 0
        (
            Restrictions(min_current=Decimal(32)),
            {"min_power": Decimal(10), "max_power": Decimal(10), "min_current": Decimal(40)},
            ["elements[1].price_components[0]", "elements[0].price_components[0]"],
        ),
        # the same facts, the energy reaches min_kwh half-way through the second hour
        (
            Restrictions(min_kwh=Decimal(15)),
            {"min_power": Decimal(10), "max_power": Decimal(10)},
            ["elements[1].price_components[0]", "elements[0].price_components[0]"],
        ),
    ],
)
def test_a_change_of_facts_between_continuing_periods_switches_the_component(
    restrictions: Restrictions, second: dict[str, Decimal], expected: list[str]
) -> None:
    """Two charging hours without any cut between them: the second continues the first unless a fact
    that a restriction looks at changed."""
    tariff = Tariff(
        id="F",
        currency="EUR",
        elements=(
            Element((PriceComponent(Dimension.ENERGY, Decimal(1)),), restrictions),
            Element((PriceComponent(Dimension.ENERGY, Decimal(2)),)),
        ),
    )
    first = Period(_T0, State.CHARGING, Decimal(10), min_power=Decimal(10), max_power=Decimal(10))
    session = Session(
        start=_T0,
        end=_T0 + timedelta(hours=2),
        periods=(first, Period(_T0 + timedelta(hours=1), State.CHARGING, Decimal(10), **second)),  # type: ignore[arg-type]
    )
    result = price(tariff, session, "UTC")
    assert [dict(cp.components)["ENERGY"] for cp in result.charging_periods] == expected
    assert _reference_check(tariff, session, "UTC", result) >= 2
    # and with nothing changing, the two hours are one charging period
    same = replace(session, periods=(first, replace(first, start=_T0 + timedelta(hours=1))))
    if restrictions.min_kwh is None:
        assert len(price(tariff, same, "UTC").charging_periods) == 1
