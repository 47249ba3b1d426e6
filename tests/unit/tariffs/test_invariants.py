"""Properties of the engine over random tariffs and sessions (hypothesis).

Sessions are built so that splitting a period is exact: a charging period delivers ``k`` mWh per second
(``k`` an integer), so any whole-second part of it has an exactly representable energy.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from evroam.tariffs import (
    DayOfWeek,
    Dimension,
    Element,
    Period,
    PriceComponent,
    PriceLimit,
    PricingResult,
    ReservationRestriction,
    Restrictions,
    Session,
    State,
    Tariff,
    engine,
    price,
)
from tests.unit.tariffs._support import same_amount

# EVROAM_TARIFF_EXAMPLES=5000 for a longer hunt; CI keeps the suite in seconds.
SETTINGS = settings(
    max_examples=int(os.environ.get("EVROAM_TARIFF_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ZONES = ["UTC", "Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe"]
DIMS = [Dimension.ENERGY, Dimension.TIME, Dimension.PARKING_TIME, Dimension.FLAT]
STEPS = {
    Dimension.ENERGY: [0, 1, 100, 500, 1000],
    Dimension.TIME: [1, 60, 300, 900],
    Dimension.PARKING_TIME: [1, 60, 300, 900],
    Dimension.FLAT: [0, 1],
}

prices = st.decimals(min_value=0, max_value=10, places=2)
vats = st.sampled_from([None, Decimal(0), Decimal(10), Decimal("20.5")])


def opt(strategy: st.SearchStrategy) -> st.SearchStrategy:  # type: ignore[type-arg]
    return st.one_of(st.none(), strategy)


clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))
amounts = st.decimals(min_value=0, max_value=60, places=1)

restrictions = st.builds(
    Restrictions,
    start_time=opt(clock_times),
    end_time=opt(clock_times),
    min_kwh=opt(amounts),
    max_kwh=opt(amounts),
    min_power=opt(amounts),
    max_power=opt(amounts),
    min_current=opt(amounts),
    max_current=opt(amounts),
    min_duration=opt(st.integers(0, 4 * 3600)),
    max_duration=opt(st.integers(0, 4 * 3600)),
    day_of_week=opt(st.frozensets(st.sampled_from(list(DayOfWeek)), min_size=1)),
)


@st.composite
def elements(draw: st.DrawFn, restricted: bool) -> Element:
    dims = draw(st.lists(st.sampled_from(DIMS), min_size=1, max_size=3, unique=True))
    components = tuple(
        PriceComponent(d, draw(prices), draw(st.sampled_from(STEPS[d])), draw(vats)) for d in dims
    )
    r = draw(opt(restrictions)) if restricted else None
    return Element(components, r)


@st.composite
def tariffs(draw: st.DrawFn, restricted: bool = True, limits: bool = True) -> Tariff:
    items = draw(st.lists(elements(restricted), min_size=1, max_size=6))
    if restricted and draw(st.booleans()):
        reservation = Element(
            (PriceComponent(Dimension.TIME, draw(prices), draw(st.sampled_from([1, 60, 600])), draw(vats)),),
            Restrictions(reservation=ReservationRestriction.RESERVATION),
        )
        items.insert(draw(st.integers(0, len(items))), reservation)
    min_price = max_price = None
    if limits:
        low = draw(opt(st.decimals(min_value=0, max_value=20, places=2)))
        high = draw(opt(st.decimals(min_value=0, max_value=40, places=2)))
        if low is not None and high is not None and high < low:
            low, high = high, low
        if low is not None:
            min_price = PriceLimit(low, draw(opt(st.just(low * Decimal("1.1")))))
        if high is not None:
            max_price = PriceLimit(high, draw(opt(st.just(high * Decimal("1.2")))))
    return Tariff(id="R", currency="EUR", elements=tuple(items), min_price=min_price, max_price=max_price)


near_dst = st.sampled_from(
    [
        datetime(2024, 3, 31, 0, 0, tzinfo=UTC),
        datetime(2024, 10, 27, 0, 0, tzinfo=UTC),
        datetime(2024, 3, 10, 6, tzinfo=UTC),
    ]
)


@st.composite
def sessions(draw: st.DrawFn, reservation: bool = True) -> Session:
    base = draw(
        st.one_of(
            st.builds(
                lambda m: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=m),
                st.integers(0, 366 * 24 * 60),
            ),
            st.builds(lambda b, m: b + timedelta(minutes=m), near_dst, st.integers(-360, 360)),
        )
    )
    at = base
    periods = []
    if reservation and draw(st.booleans()):
        seconds = draw(st.integers(60, 3600))
        periods.append(Period(at, State.RESERVATION))
        at += timedelta(seconds=seconds)
    for _ in range(draw(st.integers(1, 6))):
        seconds = draw(st.integers(1, 3 * 3600))
        state = draw(st.sampled_from([State.CHARGING, State.CHARGING, State.PARKING]))
        k = draw(st.integers(0, 15_000)) if state == State.CHARGING else 0
        power = draw(opt(st.decimals(min_value=0, max_value=60, places=1)))
        current = draw(opt(st.decimals(min_value=0, max_value=100, places=0)))
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


def totals(result: PricingResult) -> tuple[object, ...]:
    return (
        result.total_cost,
        result.total_fixed_cost,
        result.total_energy_cost,
        result.total_time_cost,
        result.total_parking_cost,
        result.total_reservation_cost,
        result.total_energy,
        result.total_time,
        result.total_parking_time,
        result.total_reservation_time,
    )


def _excl(result: PricingResult) -> Decimal:
    assert result.total_cost.excl_vat is not None
    return result.total_cost.excl_vat


def assert_not_lower(before: PricingResult, after: PricingResult, tariff: Tariff) -> None:
    assert _excl(after) >= _excl(before)
    assert after.total_cost.incl_vat is not None and before.total_cost.incl_vat is not None
    excl_only_limit = any(
        limit is not None and limit.incl_vat is None for limit in (tariff.min_price, tariff.max_price)
    ) and any(r.min_price_applied or r.max_price_applied for r in (before, after))
    if not excl_only_limit:
        # A limit without its incl. side moves the incl. total by the session's effective VAT rate, which
        # may fall when more untaxed quantity is added (docs/tariffs.md); every other incl. total is monotone.
        assert after.total_cost.incl_vat >= before.total_cost.incl_vat


@SETTINGS
@given(tariffs(), sessions(), st.sampled_from(ZONES))
def test_cost_is_never_negative(tariff: Tariff, session: Session, tz: str) -> None:
    result = price(tariff, session, tz)
    for amount in totals(result)[:6]:
        assert amount.excl_vat is not None and amount.excl_vat >= 0  # type: ignore[attr-defined]
        assert amount.incl_vat is not None and amount.incl_vat >= 0  # type: ignore[attr-defined]
        assert all(t.amount >= 0 for t in amount.taxes)  # type: ignore[attr-defined]


@SETTINGS
@given(tariffs(), sessions(), st.sampled_from(ZONES))
def test_min_and_max_price_are_respected(tariff: Tariff, session: Session, tz: str) -> None:
    result = price(tariff, session, tz)
    total = result.total_cost
    assert total.excl_vat is not None and total.incl_vat is not None
    if tariff.min_price is not None:
        assert total.excl_vat >= tariff.min_price.excl_vat
        if tariff.min_price.incl_vat is not None:
            assert total.incl_vat >= tariff.min_price.incl_vat
    if tariff.max_price is not None:
        assert total.excl_vat <= tariff.max_price.excl_vat
        if tariff.max_price.incl_vat is not None:
            assert total.incl_vat <= tariff.max_price.incl_vat
    # the taxes still make up the difference after a clamp
    assert same_amount(total.excl_vat + sum((t.amount for t in total.taxes), Decimal(0)), total.incl_vat)


@SETTINGS
@given(tariffs(), sessions(), st.sampled_from(ZONES), st.data())
def test_splitting_a_period_in_two_changes_no_total(
    tariff: Tariff, session: Session, tz: str, data: st.DataObject
) -> None:
    ends = [p.start for p in session.periods[1:]] + [session.end]
    candidates = [
        i
        for i, p in enumerate(session.periods)
        if (ends[i] - p.start).total_seconds() >= 2 and p.state != State.RESERVATION
    ]
    if not candidates:
        return
    i = data.draw(st.sampled_from(candidates))
    whole = session.periods[i]
    seconds = int((ends[i] - whole.start).total_seconds())
    cut = data.draw(st.integers(1, seconds - 1))
    first = replace(whole, energy=whole.energy * cut / seconds)
    second = replace(whole, start=whole.start + timedelta(seconds=cut), energy=whole.energy - first.energy)
    assert first.energy + second.energy == whole.energy
    split = replace(session, periods=(*session.periods[:i], first, second, *session.periods[i + 1 :]))
    assert totals(price(tariff, split, tz)) == totals(price(tariff, session, tz))


@SETTINGS
@given(tariffs(restricted=False), sessions(reservation=False), st.sampled_from(ZONES), st.data())
def test_more_energy_never_lowers_the_cost(
    tariff: Tariff, session: Session, tz: str, data: st.DataObject
) -> None:
    charging = [i for i, p in enumerate(session.periods) if p.state == State.CHARGING]
    if not charging:
        return
    i = data.draw(st.sampled_from(charging))
    extra = data.draw(st.decimals(min_value=Decimal("0.001"), max_value=50, places=3))
    more = replace(session.periods[i], energy=session.periods[i].energy + extra)
    bigger = replace(session, periods=(*session.periods[:i], more, *session.periods[i + 1 :]))
    before, after = price(tariff, session, tz), price(tariff, bigger, tz)
    assert_not_lower(before, after, tariff)


@SETTINGS
@given(tariffs(restricted=False), sessions(reservation=False), st.sampled_from(ZONES), st.integers(1, 7200))
def test_more_time_never_lowers_the_cost(tariff: Tariff, session: Session, tz: str, seconds: int) -> None:
    longer = replace(session, end=session.end + timedelta(seconds=seconds))
    before, after = price(tariff, session, tz), price(tariff, longer, tz)
    assert_not_lower(before, after, tariff)


@SETTINGS
@given(tariffs(), sessions(), st.sampled_from(ZONES), st.randoms(use_true_random=False))
def test_order_of_equivalent_inputs_does_not_matter(
    tariff: Tariff, session: Session, tz: str, rnd: random.Random
) -> None:
    shuffled_periods = list(session.periods)
    rnd.shuffle(shuffled_periods)
    shuffled_session = replace(session, periods=tuple(shuffled_periods))
    # components of different dimensions within an element: their order is not significant
    shuffled_elements = []
    for element in tariff.elements:
        components = list(element.price_components)
        rnd.shuffle(components)
        shuffled_elements.append(replace(element, price_components=tuple(components)))
    shuffled_tariff = replace(tariff, elements=tuple(shuffled_elements))
    a = price(tariff, session, tz)
    b = price(shuffled_tariff, shuffled_session, tz)
    assert totals(a) == totals(b)
    assert [(p.start, p.end, p.state, p.dimensions) for p in a.charging_periods] == [
        (p.start, p.end, p.state, p.dimensions) for p in b.charging_periods
    ]


@SETTINGS
@given(tariffs(), sessions(), st.sampled_from(ZONES))
def test_carrying_element_outcomes_across_pieces_changes_nothing(
    tariff: Tariff, session: Session, tz: str
) -> None:
    """The engine re-uses an element's outcome until a cut, a kWh threshold or a change of facts; the
    result must be the one of evaluating every element afresh for every piece."""
    carried = price(tariff, session, tz)
    engine._CARRY_MEMO = False
    try:
        fresh = price(tariff, session, tz)
    finally:
        engine._CARRY_MEMO = True
    assert totals(carried) == totals(fresh)
    assert carried.charging_periods == fresh.charging_periods
    assert carried.lines == fresh.lines
