"""From OCPI objects to the engine's inputs: plain JSON and the wire models of every version agree."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

import msgspec
import pytest

from evroam.core.codec import decode
from evroam.ocpi import v2_1_1, v2_2_1, v2_3_0
from evroam.tariffs import (
    DayOfWeek,
    Dimension,
    ReservationRestriction,
    State,
    TaxIncluded,
    price,
)
from evroam.tariffs.adapt import (
    AdaptError,
    detect_version,
    session_from_json,
    session_from_wire,
    tariff_from_json,
    tariff_from_wire,
    tariffs_of_wire_cdr,
    time_zone_of,
    wire_version,
)
from tests.conftest import shared_path
from tests.unit.tariffs._support import D, example_json

WIRE = {"2.1.1": v2_1_1, "2.2.1": v2_2_1, "2.3.0": v2_3_0}


def _raw(version: str, name: str) -> bytes:
    return shared_path("spec", "ocpi", "examples", version, f"{name}.json").read_bytes()


@pytest.mark.parametrize(
    ("version", "name"),
    [
        ("2.2.1", "tariff_4_complex"),
        ("2.2.1", "tariff_12_025kwh_min_price"),
        ("2.2.1", "tariff_17_reservation_with_expire_fee"),
        ("2.3.0", "tariff_6_025kwh_start_max_price"),
        ("2.3.0", "tariff_20_simple_north_american_inclusive"),
        ("2.1.1", "mod_tariffs__06__complex_tariff_example"),
    ],
)
def test_wire_tariff_and_json_tariff_are_the_same(version: str, name: str) -> None:
    wire = decode(_raw(version, name), WIRE[version].Tariff)
    assert wire_version(wire) == version
    assert tariff_from_wire(wire) == tariff_from_json(example_json(version, name), version)


def test_tariff_fields_are_read() -> None:
    complex_ = tariff_from_json(example_json("2.2.1", "tariff_4_complex"))
    assert complex_.version == "2.2.1"
    parking = complex_.elements[5]
    assert parking.price_components[0].type == Dimension.PARKING_TIME
    assert parking.price_components[0].vat == D(10)
    assert parking.restrictions is not None
    assert (parking.restrictions.start_time, parking.restrictions.end_time) == (time(10), time(17))
    assert parking.restrictions.day_of_week == frozenset({DayOfWeek.SATURDAY})
    assert complex_.elements[0].restrictions is None
    expires = tariff_from_json(example_json("2.2.1", "tariff_17_reservation_with_expire_fee"))
    assert expires.elements[0].restrictions is not None
    assert expires.elements[0].restrictions.reservation == ReservationRestriction.RESERVATION_EXPIRES
    limited = tariff_from_json(example_json("2.3.0", "tariff_12_025kwh_min_price"))
    assert limited.tax_included == TaxIncluded.NO
    assert limited.min_price is not None and (limited.min_price.excl_vat, limited.min_price.incl_vat) == (
        D("0.50"),
        D("0.55"),
    )
    ended = tariff_from_json(example_json("2.2.1", "tariff_6_025kwh_start_max_price"))
    assert ended.end_date_time == datetime(2019, 6, 30, 23, 59, 59, tzinfo=UTC)


def test_211_tariff_has_no_vat_even_if_present() -> None:
    t = tariff_from_json(example_json("2.1.1", "mod_tariffs__06__complex_tariff_example"))
    assert t.version == "2.1.1"
    assert all(c.vat is None for e in t.elements for c in e.price_components)


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_wire_cdr_prices_like_its_json(version: str) -> None:
    raw = example_json(version, "cdr_example")
    if version == "2.3.0":
        # the official 2.3.0 example's tariff lacks the required tax_included (DIGEST §8): the wire model
        # rejects it, the JSON adapter reads it as NO
        raw["tariffs"][0]["tax_included"] = "NO"
    wire = msgspec.convert(raw, WIRE[version].CDR, dec_hook=_dec_hook)
    session = session_from_wire(wire)
    assert session == session_from_json(raw, version)
    result = price(tariffs_of_wire_cdr(wire), session, "Europe/Brussels")
    assert (result.total_cost.excl_vat, result.total_cost.incl_vat) == (D("4.00"), D("4.40"))


def _dec_hook(tp: type, obj: object) -> object:
    from evroam.core.codec import dec_hook

    return dec_hook(tp, obj)


def test_wire_211_cdr_and_its_location_time_zone() -> None:
    raw = example_json("2.1.1", "mod_cdrs__01__example_of_a_cdr")
    wire = decode(_raw("2.1.1", "mod_cdrs__01__example_of_a_cdr"), v2_1_1.CDR)
    session = session_from_wire(wire)
    assert session == session_from_json(raw)
    assert detect_version(raw) == "2.1.1"
    assert time_zone_of(raw) is None  # the example's location gives none
    raw["location"]["time_zone"] = "Europe/Amsterdam"
    assert time_zone_of(raw) == "Europe/Amsterdam"
    assert time_zone_of(example_json("2.2.1", "cdr_example")) is None  # CdrLocation has no time zone


def test_session_periods_states_and_split() -> None:
    data = {
        "start_date_time": "2024-01-15T09:00:00Z",
        "end_date_time": "2024-01-15T12:00:00Z",
        "kwh": 10,
        "charging_periods": [
            {
                "start_date_time": "2024-01-15T09:00:00Z",
                "dimensions": [{"type": "RESERVATION_TIME", "volume": 0.5}],
            },
            {
                "start_date_time": "2024-01-15T09:30:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": 10},
                    {"type": "TIME", "volume": 1},
                    {"type": "PARKING_TIME", "volume": 0.5},
                    {"type": "POWER", "volume": 10},
                ],
            },
            {
                "start_date_time": "2024-01-15T11:00:00Z",
                "dimensions": [{"type": "PARKING_TIME", "volume": 1}],
            },
        ],
    }
    session = session_from_json(data, "2.2.1")
    assert [(p.start.hour, p.start.minute, p.state) for p in session.periods] == [
        (9, 0, State.RESERVATION),
        (9, 30, State.CHARGING),
        (10, 30, State.PARKING),  # TIME 1 h then PARKING_TIME within the same period
        (11, 0, State.PARKING),
    ]
    assert session.periods[1].energy == 10
    assert session.periods[1].min_power == session.periods[1].max_power == 10


def test_session_without_periods_uses_kwh_and_now_for_an_ongoing_session() -> None:
    data = {"start_date_time": "2024-01-15T09:00:00Z", "kwh": 7.5, "status": "ACTIVE"}
    now = datetime(2024, 1, 15, 10, 0, tzinfo=UTC)
    session = session_from_json(data, "2.2.1", now=now)
    assert session.end == now
    assert [(p.state, p.energy) for p in session.periods] == [(State.CHARGING, Decimal("7.5"))]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "1", "currency": "EUR"}, "missing field 'elements'"),
        ({"id": "1", "currency": "EUR", "elements": [{"price_components": []}]}, "at least one is required"),
        (
            {"id": "1", "currency": "EUR", "elements": [{"price_components": [{"type": "KWH", "price": 1}]}]},
            "unknown dimension",
        ),
        (
            {
                "id": "1",
                "currency": "EUR",
                "elements": [
                    {
                        "price_components": [{"type": "TIME", "price": 1, "step_size": 1}],
                        "restrictions": {"start_time": "9h"},
                    }
                ],
            },
            "expected HH:MM",
        ),
    ],
)
def test_bad_tariffs_say_where(data: dict[str, object], message: str) -> None:
    with pytest.raises(AdaptError, match=message):
        tariff_from_json(data, "2.2.1")


def test_unsupported_version_and_non_wire_objects() -> None:
    with pytest.raises(AdaptError, match="unsupported OCPI version"):
        tariff_from_json({"id": "1", "elements": []}, "3.0")
    with pytest.raises(AdaptError, match="not an evroam OCPI wire model"):
        wire_version(object())
