"""Behaviour of the engine beyond the spec's worked examples: restrictions switching during a session,
local time and DST, tariff selection, taxes per version, limits, estimates and the explanation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from evroam.tariffs import (
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
    TariffError,
    TaxIncluded,
    compile_tariff,
    estimate,
    price,
    select_tariff,
)
from tests.unit.tariffs._support import AMSTERDAM, D, charging, parking, reserved, same_amount, timeline

ENERGY, TIME, PARKING, FLAT = Dimension.ENERGY, Dimension.TIME, Dimension.PARKING_TIME, Dimension.FLAT


def comp(dim: Dimension, amount: str, step: int = 1, vat: str | None = None) -> PriceComponent:
    return PriceComponent(dim, D(amount), step, None if vat is None else D(vat))


def tariff(*elements: Element, **kw: object) -> Tariff:
    return Tariff(id=str(kw.pop("id", "T")), currency="EUR", elements=elements, **kw)  # type: ignore[arg-type]


def el(*components: PriceComponent, **restrictions: object) -> Element:
    return Element(components, Restrictions(**restrictions) if restrictions else None)  # type: ignore[arg-type]


def cost(result_tariff: Tariff, session: Session, tz: str = AMSTERDAM) -> Decimal:
    total = price(result_tariff, session, tz).total_cost.excl_vat
    assert total is not None
    return total


# --- time of day, days, dates -------------------------------------------------------------------


NIGHT = tariff(
    el(comp(TIME, "1"), start_time=time(22, 0), end_time=time(6, 0)),
    el(comp(TIME, "4")),
)


def test_time_window_wraps_past_midnight() -> None:
    # 21:00-23:00: one hour at the day rate, one at the night rate
    assert cost(NIGHT, timeline("2024-01-15T21:00", charging(120, 5))) == D(5)
    # 05:00-07:00: night until 06:00, then day
    assert cost(NIGHT, timeline("2024-01-16T05:00", charging(120, 5))) == D(5)
    # entirely inside the night window, across midnight
    assert cost(NIGHT, timeline("2024-01-15T23:00", charging(240, 5))) == D(4)


def test_end_time_midnight_means_end_of_day() -> None:
    evening = tariff(el(comp(TIME, "3"), start_time=time(20, 0), end_time=time(0, 0)), el(comp(TIME, "1")))
    # 19:00-01:00: 1 h day, 4 h evening (20:00-24:00), 1 h day again
    assert cost(evening, timeline("2024-01-15T19:00", charging(360, 5))) == D(1 + 12 + 1)


def test_start_time_is_inclusive_and_end_time_exclusive() -> None:
    window = tariff(el(comp(TIME, "6"), start_time=time(10, 0), end_time=time(11, 0)), el(comp(TIME, "0")))
    assert cost(window, timeline("2024-01-15T10:00", charging(60, 1))) == D(6)
    assert cost(window, timeline("2024-01-15T11:00", charging(60, 1))) == D(0)


def test_day_of_week_switches_at_local_midnight() -> None:
    weekend = tariff(
        el(comp(TIME, "2"), day_of_week=frozenset({DayOfWeek.SATURDAY, DayOfWeek.SUNDAY})),
        el(comp(TIME, "1")),
    )
    # Sunday 23:00 -> Monday 01:00 (local): 1 h weekend, 1 h weekday
    assert cost(weekend, timeline("2024-01-21T23:00", charging(120, 5))) == D(3)
    # the same instants seen from New York are Sunday 17:00-19:00: all weekend
    session = timeline("2024-01-21T23:00", charging(120, 5))
    assert cost(weekend, session, "America/New_York") == D(4)


def test_dates_start_inclusive_end_exclusive() -> None:
    promo = tariff(
        el(comp(ENERGY, "0.10"), start_date=date(2024, 1, 16), end_date=date(2024, 1, 17)),
        el(comp(ENERGY, "0.30")),
    )
    # 2024-01-15 23:00 -> 2024-01-16 01:00, 10 kWh evenly: 5 kWh before midnight, 5 after
    assert cost(promo, timeline("2024-01-15T23:00", charging(120, 10))) == D("2.0")
    # 2024-01-16 23:00 -> 01:00: 5 kWh in the promo, 5 after its end date
    assert cost(promo, timeline("2024-01-16T23:00", charging(120, 10))) == D("2.0")
    assert cost(promo, timeline("2024-01-16T10:00", charging(120, 10))) == D("1.0")


# --- DST in the location's time zone -------------------------------------------------------------

PEAK = tariff(el(comp(TIME, "10"), start_time=time(2, 0), end_time=time(4, 0)), el(comp(TIME, "1")))


def test_spring_forward_the_skipped_hour_is_not_billed_as_peak() -> None:
    # Amsterdam 2024-03-31: 02:00 CET jumps to 03:00 CEST. 00:30 CET -> 04:30 CEST is 3 real hours:
    # 1.5 h before the jump (off-peak), 1 h 03:00-04:00 (peak), 0.5 h after.
    start = datetime(2024, 3, 30, 23, 30, tzinfo=UTC)
    session = Session.of([Period(start, State.CHARGING, D(10))], end=start + timedelta(hours=3))
    result = price(PEAK, session, AMSTERDAM)
    assert result.total_time == 3
    assert result.total_cost.excl_vat == D("1.5") + D(10) + D("0.5")


def test_fall_back_the_repeated_hour_is_peak_twice() -> None:
    # Amsterdam 2024-10-27: 03:00 CEST falls back to 02:00 CET; 02:00-03:00 local happens twice.
    # 01:30 CEST (23:30Z) -> 03:30 CET (02:30Z) is 3 real hours: 0.5 off-peak, 2 h peak, 0.5 off-peak.
    two_to_three = tariff(
        el(comp(TIME, "10"), start_time=time(2, 0), end_time=time(3, 0)), el(comp(TIME, "1"))
    )
    start = datetime(2024, 10, 26, 23, 30, tzinfo=UTC)
    session = Session.of([Period(start, State.CHARGING, D(10))], end=start + timedelta(hours=3))
    result = price(two_to_three, session, AMSTERDAM)
    assert result.total_cost.excl_vat == D("0.5") + D(20) + D("0.5")
    peak = [
        p
        for p in result.charging_periods
        if dict(p.components).get("TIME") == "elements[0].price_components[0]"
    ]
    assert [(p.start.astimezone(UTC).hour, p.end.astimezone(UTC).hour) for p in peak] == [(0, 2)]


def test_local_midnight_moves_with_dst() -> None:
    # A Saturday-only element, session over the night Sat->Sun on the DST weekend; midnight is 22:00Z
    # in summer time and 23:00Z in winter time.
    saturday = tariff(el(comp(TIME, "5"), day_of_week=frozenset({DayOfWeek.SATURDAY})), el(comp(TIME, "0")))
    start = datetime(2024, 3, 30, 21, 0, tzinfo=UTC)  # 22:00 CET Saturday
    session = Session.of([Period(start, State.CHARGING)], end=start + timedelta(hours=4))
    assert cost(saturday, session) == D(10)  # until 23:00Z (local midnight, CET)


# --- energy, power, current, duration ----------------------------------------------------------------


def test_kwh_thresholds_switch_inside_a_period() -> None:
    tiers = tariff(el(comp(ENERGY, "0.20"), max_kwh=D(10)), el(comp(ENERGY, "0.30"), min_kwh=D(10)))
    result = price(tiers, timeline("2024-01-15T10:00", charging(60, 20)), AMSTERDAM)
    assert result.total_cost.excl_vat == D(5)
    starts = [p.start.astimezone(UTC).strftime("%H:%M") for p in result.charging_periods]
    assert starts == ["09:00", "09:30"]  # the second tier starts when 10 kWh are reached


def test_kwh_counts_the_whole_session_not_the_period() -> None:
    tiers = tariff(el(comp(ENERGY, "0.20"), max_kwh=D(10)), el(comp(ENERGY, "0.30")))
    session = timeline("2024-01-15T10:00", charging(30, 8), charging(30, 8))
    assert cost(tiers, session) == D(8) * D("0.20") + D(2) * D("0.20") + D(6) * D("0.30")


def test_power_from_energy_when_not_given() -> None:
    by_power = tariff(el(comp(ENERGY, "0.20"), max_power=D(11)), el(comp(ENERGY, "0.50")))
    # 5 kWh in one hour = 5 kW; 50 kWh in one hour = 50 kW
    assert cost(by_power, timeline("2024-01-15T10:00", charging(60, 5))) == D(1)
    assert cost(by_power, timeline("2024-01-15T10:00", charging(60, 50))) == D(25)


def test_current_unknown_while_charging_does_not_match() -> None:
    by_current = tariff(el(comp(TIME, "1"), max_current=D(32)), el(comp(TIME, "3")))
    assert cost(by_current, timeline("2024-01-15T10:00", charging(60, 5))) == D(3)
    assert cost(by_current, timeline("2024-01-15T10:00", charging(60, 5, max_current="16"))) == D(1)


def test_min_duration_switches_at_the_exact_second() -> None:
    after_hour = tariff(el(comp(TIME, "5"), min_duration=3600), el(comp(TIME, "1")))
    result = price(after_hour, timeline("2024-01-15T10:00", charging(90, 5)), AMSTERDAM)
    assert result.total_cost.excl_vat == D(1) + D("2.5")


def test_duration_counts_from_the_charging_start_not_the_reservation() -> None:
    first_half_hour_free = tariff(
        el(comp(TIME, "5"), reservation=ReservationRestriction.RESERVATION),
        el(comp(TIME, "0"), max_duration=1800),
        el(comp(TIME, "2")),
    )
    session = timeline("2024-01-15T10:00", reserved(30), charging(60, 5))
    result = price(first_half_hour_free, session, AMSTERDAM)
    assert result.total_reservation_cost.excl_vat == D("2.5")
    assert result.total_time_cost.excl_vat == D(1)  # 30 free minutes, then 30 min at 2/h


# --- FLAT, parking, reservations --------------------------------------------------------------------


def test_flat_is_charged_once_even_when_its_element_switches() -> None:
    fees = tariff(
        el(comp(FLAT, "1"), start_time=time(8, 0), end_time=time(20, 0)),
        el(comp(FLAT, "2")),
        el(comp(TIME, "0")),
    )
    # 19:00-21:00 crosses 20:00; the fee is the one active when the session starts
    result = price(fees, timeline("2024-01-15T19:00", charging(120, 5)), AMSTERDAM)
    assert result.total_fixed_cost.excl_vat == D(1)
    assert [line.kind for line in result.lines].count("flat") == 1


def test_flat_with_only_parking_is_a_parking_cost() -> None:
    parking_fee = tariff(el(comp(ENERGY, "0.25")), el(comp(FLAT, "1.50"), comp(PARKING, "2")))
    result = price(parking_fee, timeline("2024-01-15T10:00", charging(60, 10), parking(30)), AMSTERDAM)
    assert result.total_parking_cost.excl_vat == D("1.50") + D(1)
    assert result.total_fixed_cost.excl_vat == 0


def test_reservation_elements_do_not_price_charging_and_vice_versa() -> None:
    t = tariff(el(comp(TIME, "5"), reservation=ReservationRestriction.RESERVATION), el(comp(ENERGY, "0.25")))
    only_reserved = price(t, timeline("2024-01-15T10:00", reserved(30)), AMSTERDAM)
    assert only_reserved.total_cost.excl_vat == D("2.5")  # an expired reservation falls back to RESERVATION
    only_charging = price(t, timeline("2024-01-15T10:00", charging(30, 4)), AMSTERDAM)
    assert only_charging.total_cost.excl_vat == D(1)


def test_reservation_expired_can_be_stated() -> None:
    t = tariff(
        el(comp(FLAT, "4"), reservation=ReservationRestriction.RESERVATION_EXPIRES),
        el(comp(TIME, "2"), reservation=ReservationRestriction.RESERVATION),
    )
    session = timeline("2024-01-15T10:00", reserved(60))
    assert price(t, session, AMSTERDAM).total_cost.excl_vat == D(6)
    not_expired = timeline("2024-01-15T10:00", reserved(60), reservation_expired=False)
    assert price(t, not_expired, AMSTERDAM).total_cost.excl_vat == D(2)


def test_negative_energy_is_not_priced() -> None:
    t = tariff(el(comp(ENERGY, "0.25")))
    result = price(t, timeline("2024-01-15T10:00", charging(60, 10), charging(60, -3)), AMSTERDAM)
    assert result.total_cost.excl_vat == D("2.5")
    assert result.total_energy == D(7)  # measured, net


# --- versions and taxes ---------------------------------------------------------------------------


def test_211_has_no_vat_information() -> None:
    t = tariff(el(comp(ENERGY, "0.25")), version="2.1.1")
    result = price(t, timeline("2024-01-15T10:00", charging(60, 10)), AMSTERDAM)
    assert result.total_cost.excl_vat == D("2.5")
    assert result.total_cost.incl_vat is None
    assert result.total_energy_cost.incl_vat is None


def test_missing_vat_is_not_zero_percent() -> None:
    absent = price(
        tariff(el(comp(ENERGY, "0.25"))), timeline("2024-01-15T10:00", charging(60, 10)), AMSTERDAM
    )
    zero = price(
        tariff(el(comp(ENERGY, "0.25", vat="0"))), timeline("2024-01-15T10:00", charging(60, 10)), AMSTERDAM
    )
    assert absent.total_cost.incl_vat == zero.total_cost.incl_vat == D("2.5")
    assert absent.total_cost.taxes == ()  # no VAT applicable
    assert [(t.name, t.percentage, t.amount) for t in zero.total_cost.taxes] == [("VAT", 0, 0)]


def test_230_tax_included_yes_with_vat_splits_the_price() -> None:
    t = tariff(el(comp(ENERGY, "0.30", vat="20")), version="2.3.0", tax_included=TaxIncluded.YES)
    result = price(t, timeline("2024-01-15T10:00", charging(60, 10)), AMSTERDAM)
    assert result.total_cost.incl_vat == D(3)
    assert result.total_cost.excl_vat == D("2.5")
    assert [(x.name, x.amount) for x in result.total_cost.taxes] == [("VAT", D("0.5"))]


def test_230_not_applicable_has_no_taxes() -> None:
    t = tariff(el(comp(ENERGY, "0.30", vat="20")), version="2.3.0", tax_included=TaxIncluded.NOT_APPLICABLE)
    result = price(t, timeline("2024-01-15T10:00", charging(60, 10)), AMSTERDAM)
    assert result.total_cost.excl_vat == result.total_cost.incl_vat == D(3)
    assert result.total_cost.taxes == ()


def test_limits_clamp_each_side_and_keep_taxes_consistent() -> None:
    # VAT 10 % on energy, 20 % on the fee: the incl. limit is reached before the excl. one
    t = tariff(
        el(comp(FLAT, "1", vat="20"), comp(ENERGY, "0.25", vat="10")),
        version="2.3.0",
        tax_included=TaxIncluded.NO,
        max_price=PriceLimit(D("10.00"), D("10.50")),
    )
    result = price(t, timeline("2024-01-15T10:00", charging(60, 35)), AMSTERDAM)
    # uncapped: excl 1 + 8.75 = 9.75; incl 1.2 + 9.625 = 10.825
    assert result.total_cost.excl_vat == D("9.75")
    assert result.total_cost.incl_vat == D("10.50")
    assert result.max_price_applied
    assert sum(x.amount for x in result.total_cost.taxes) == D("0.75")
    assert result.total_energy_cost.excl_vat == D("8.75")  # the parts are not clamped


# --- several tariffs ----------------------------------------------------------------------------------


def test_select_tariff_by_validity_and_type() -> None:
    old = tariff(el(comp(ENERGY, "0.20")), id="old", end_date_time=datetime(2024, 1, 1, tzinfo=UTC))
    new = tariff(el(comp(ENERGY, "0.30")), id="new", start_date_time=datetime(2024, 1, 1, tzinfo=UTC))
    adhoc = tariff(el(comp(ENERGY, "0.50")), id="adhoc", type="AD_HOC_PAYMENT")
    at = datetime(2024, 6, 1, tzinfo=UTC)
    assert select_tariff([old, new, adhoc], at) is compile_tariff(new)
    assert select_tariff([old, new, adhoc], datetime(2023, 6, 1, tzinfo=UTC)) is compile_tariff(old)
    assert select_tariff([old, new, adhoc], at, "AD_HOC_PAYMENT") is compile_tariff(adhoc)
    assert select_tariff([adhoc], at) is None
    session = timeline("2024-06-01T10:00", charging(60, 10))
    assert price([old, new, adhoc], session, AMSTERDAM).total_cost.excl_vat == D(3)


def test_period_tariff_id_switches_tariff_and_step_is_not_applied_at_the_switch() -> None:
    cheap = tariff(el(comp(TIME, "1", step=900)), id="cheap")
    fast = tariff(el(comp(TIME, "3", step=900)), id="fast")
    start = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
    session = Session.of(
        [
            Period(start, State.CHARGING, D(5), tariff_id="cheap"),
            Period(start + timedelta(minutes=10), State.CHARGING, D(5), tariff_id="FAST"),
        ],
        end=start + timedelta(minutes=20),
    )
    result = price([cheap, fast], session, AMSTERDAM)
    # 10 min cheap (not rounded), 10 min fast rounded with the total: 20 -> 30 min, surplus at 3/h
    assert same_amount(result.total_cost.excl_vat, D(10) / 60 + D(20) * 3 / 60)
    assert [p.tariff_id for p in result.charging_periods] == ["cheap", "fast"]


def test_no_tariff_is_an_error() -> None:
    with pytest.raises(TariffError):
        price([], timeline("2024-01-15T10:00", charging(60, 1)), AMSTERDAM)


def test_unknown_time_zone_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        price(NIGHT, timeline("2024-01-15T10:00", charging(60, 1)), "Europe/Atlantis")


# --- ongoing sessions, meter values, explanation ------------------------------------------------------


def test_estimate_prices_the_session_so_far() -> None:
    t = tariff(el(comp(FLAT, "0.50"), comp(TIME, "2", step=900)), min_price=PriceLimit(D("1.20"), None))
    start = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
    session = Session.of(
        [Period(start, State.CHARGING, D(3)), Period(start + timedelta(minutes=40), State.PARKING)],
        end=start + timedelta(hours=2),
    )
    early = estimate(t, session, start + timedelta(minutes=5), AMSTERDAM)
    assert early.provisional
    assert early.total_cost.excl_vat == D("1.20")  # 0.50 + 5 -> 15 min x 2/h = 1.00, raised to min_price
    assert early.min_price_applied
    later = estimate(t, session, start + timedelta(minutes=50), AMSTERDAM)
    # 40 min charging -> 45 min (parking is not priced, so TIME is the last priced time) + fee
    assert later.total_cost.excl_vat == D("0.50") + D("1.50")
    assert later.total_time * 60 == 50
    assert not later.min_price_applied
    final = price(t, session, AMSTERDAM)
    assert final.total_cost.excl_vat == D("2.00") and not final.provisional


def test_meter_values_become_periods() -> None:
    t = tariff(el(comp(ENERGY, "0.20"), max_power=D(11)), el(comp(ENERGY, "0.40")), el(comp(PARKING, "1")))
    start = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
    values = [
        MeterValue(start, D(100), power=D(7)),
        MeterValue(start + timedelta(minutes=30), D("103.5"), power=D(22)),
        MeterValue(start + timedelta(minutes=60), D("114.5"), State.PARKING, power=D(0)),
    ]
    session = Session.from_meter_values(values, end=start + timedelta(minutes=90))
    result = price(t, session, AMSTERDAM)
    assert result.total_energy == D("14.5")
    assert result.total_cost.excl_vat == D("3.5") * D("0.20") + D(11) * D("0.40") + D("0.5")
    assert result.total_parking_time == D("0.5")


def test_explain_names_element_and_component_per_interval() -> None:
    result = price(NIGHT, timeline("2024-01-15T21:00", charging(120, 5)), AMSTERDAM)
    text = result.explain()
    assert "2024-01-15T21:00:00+01:00 .. 2024-01-15T22:00:00+01:00" in text
    assert "T:elements[1].price_components[0]" in text
    assert "T:elements[0].price_components[0]" in text
    priced = [(line.component, line.cost) for line in result.lines if line.kind == "period"]
    assert priced == [
        (None, 0),  # ENERGY: no component
        ("elements[1].price_components[0]", D(4)),
        (None, 0),
        ("elements[0].price_components[0]", D(1)),
    ]


def test_rounded_rounds_each_amount_half_up() -> None:
    t = tariff(el(comp(TIME, "1.90", step=300, vat="5.2")))
    result = price(t, timeline("2024-01-15T10:00", charging(150, 5)), AMSTERDAM).rounded(2)
    assert result.total_cost.excl_vat == D("4.75")
    assert result.total_cost.incl_vat == D("5.00")  # 4.997
    assert result.total_cost.taxes[0].amount == D("0.25")  # 0.247
