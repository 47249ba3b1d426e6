"""CiString and DateTime behave as OCPI means them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from evroam.core.clock import FixedClock, SequentialIds, SystemClock, UuidIds
from evroam.core.codec import decode, encode
from evroam.core.errors import InvalidJson, ValidationFailed
from evroam.core.types import CiString, CiString3, CiString36, DateTime


class Probe(msgspec.Struct, kw_only=True, omit_defaults=True):
    party_id: CiString3
    id: CiString36
    at: DateTime
    ids: list[CiString3] | None = None


def test_cistring_compares_case_insensitively_and_keeps_spelling() -> None:
    value = CiString("NlAbC")
    assert value == "nlabc" and value == "NLABC" and value != "NLABD"
    assert hash(value) == hash(CiString("nlabc"))
    assert {value: 1}[CiString("NLABC")] == 1
    assert str.__str__(value) == "NlAbC"
    assert value.key == "nlabc"


def test_cistring_survives_a_round_trip_with_its_spelling() -> None:
    probe = decode(b'{"party_id":"TnM","id":"Loc-1","at":"2020-01-01T00:00:00Z"}', Probe)
    assert probe.party_id == "tnm"
    assert encode(probe) == b'{"party_id":"TnM","id":"Loc-1","at":"2020-01-01T00:00:00Z"}'


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b'{"party_id":"ABCD","id":"x","at":"2020-01-01T00:00:00Z"}', "$.party_id"),
        (b'{"party_id":"AB","id":"' + b"x" * 37 + b'","at":"2020-01-01T00:00:00Z"}', "$.id"),
        (b'{"party_id":"A\\u00e9","id":"x","at":"2020-01-01T00:00:00Z"}', "$.party_id"),
        (b'{"party_id":"AB","id":"x","at":"2020-01-01T00:00:00Z","ids":["ok","toolong"]}', "$.ids[1]"),
        (b'{"party_id":"AB","id":"x","at":"yesterday"}', "$.at"),
        (b'{"party_id":"AB","id":"x"}', "$.at"),
    ],
)
def test_cistring_and_datetime_violations_name_the_field(body: bytes, path: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode(body, Probe)
    assert caught.value.paths == [path]
    assert caught.value.ocpi_status == 2001


def test_every_violation_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode(b'{"party_id":"ABCD","id":5,"ids":[1]}', Probe)
    assert sorted(caught.value.paths) == ["$.at", "$.id", "$.ids[0]", "$.party_id"]


def test_malformed_json_is_invalid_json_not_validation() -> None:
    with pytest.raises(InvalidJson) as caught:
        decode(b'{"party_id":', Probe)
    assert caught.value.http_status == 400


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-06-29T20:39:09Z", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2015-06-29T20:39:09", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),  # no designator = UTC
        ("2015-06-29T20:39:09.2Z", datetime(2015, 6, 29, 20, 39, 9, 200000, tzinfo=UTC)),
        ("2015-06-29T20:39:09.123", datetime(2015, 6, 29, 20, 39, 9, 123000, tzinfo=UTC)),
        ("2015-06-29T22:39:09+02:00", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2015-06-29T18:09:09-0230", datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC)),
        ("2015-06-30T00:30:00+04:00", datetime(2015, 6, 29, 20, 30, 0, tzinfo=UTC)),
    ],
)
def test_datetime_accepts_the_shapes_ocpi_allows(text: str, expected: datetime) -> None:
    parsed = DateTime.parse(text)
    assert parsed == expected
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("2015-06-29T20:39:09Z", "2015-06-29T20:39:09Z"),
        ("2015-06-29T20:39:09", "2015-06-29T20:39:09Z"),
        ("2015-06-29T20:39:09.120Z", "2015-06-29T20:39:09.12Z"),
        ("2015-06-29T22:39:09+02:00", "2015-06-29T20:39:09Z"),
    ],
)
def test_datetime_always_goes_out_as_utc_with_z(text: str, out: str) -> None:
    assert DateTime.parse(text).to_json() == out


@pytest.mark.parametrize(
    "text", ["2015-13-01T00:00:00Z", "2015-06-29", "20150629T203909Z", "2015-06-29T20:39:09+25:00"]
)
def test_datetime_rejects_what_is_not_a_timestamp(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid"):
        DateTime.parse(text)


_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=1)


@given(
    st.tuples(*([_DIGITS] * 14)),
    st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=1, max_size=9).map(".".__add__)),
)
def test_the_fast_path_for_our_own_shape_agrees_with_the_general_parser(
    digits: tuple[str, ...], fraction: str
) -> None:
    # any digits, so impossible dates and times (month 13, 30 February, hour 24 ...) are tried too
    d = "".join(digits)
    text = f"{d[:4]}-{d[4:6]}-{d[6:8]}T{d[8:10]}:{d[10:12]}:{d[12:14]}{fraction}Z"
    try:
        expected: DateTime | str = DateTime._parse_any(text)
    except ValueError:
        expected = "refused"
    try:
        got: DateTime | str = DateTime.parse(text)
    except ValueError:
        got = "refused"
    assert got == expected
    if isinstance(got, DateTime):
        assert type(got) is DateTime
        assert got.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-01T24:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-01-01T23:59:60Z",
        "0000-01-01T00:00:00Z",
        "2024-13-01T00:00:00Z",
    ],
)
def test_impossible_timestamps_of_our_own_shape_are_refused_with_the_reason(text: str) -> None:
    with pytest.raises(ValueError, match=r"Invalid datetime: .* (range|must be)"):
        DateTime.parse(text)


@pytest.mark.parametrize(
    ("value", "out"),
    [
        (datetime(2015, 6, 29, 20, 39, 9, tzinfo=UTC), "2015-06-29T20:39:09Z"),
        (datetime(2015, 6, 29, 20, 39, 9, 1, tzinfo=UTC), "2015-06-29T20:39:09.000001Z"),
        (datetime(2015, 6, 29, 20, 39, 9, 500000, tzinfo=UTC), "2015-06-29T20:39:09.5Z"),
        (datetime(2015, 6, 29, 20, 39, 9, 123450, tzinfo=UTC), "2015-06-29T20:39:09.12345Z"),
        (datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC), "0999-01-02T03:04:05Z"),
    ],
)
def test_datetime_text_keeps_only_the_fractional_digits_it_needs(value: datetime, out: str) -> None:
    assert DateTime.from_datetime(value).to_json() == out


@given(st.datetimes(timezones=st.just(UTC), min_value=datetime(1970, 1, 2), max_value=datetime(9998, 1, 1)))
def test_datetime_text_round_trip(value: datetime) -> None:
    dt = DateTime.from_datetime(value)
    assert DateTime.parse(dt.to_json()) == value


@given(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 1, 1)),
    st.integers(min_value=-23 * 60, max_value=23 * 60),
)
def test_offsets_convert_to_the_same_instant(value: datetime, minutes: int) -> None:
    zone = timezone(timedelta(minutes=minutes))
    aware = value.replace(tzinfo=zone)
    assert DateTime.from_datetime(aware) == aware
    assert DateTime.parse(aware.isoformat()) == aware.replace(microsecond=aware.microsecond)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock("2026-01-01T00:00:00Z")
    assert clock.now().to_json() == "2026-01-01T00:00:00Z"
    assert clock.advance(90).to_json() == "2026-01-01T00:01:30Z"
    clock.set("2026-02-01T10:00:00+01:00")
    assert clock.now().to_json() == "2026-02-01T09:00:00Z"


def test_system_clock_is_utc_and_ids_are_unique() -> None:
    assert SystemClock().now().tzinfo is UTC
    ids = UuidIds()
    assert len({ids.new_id() for _ in range(100)}) == 100
    token = ids.new_token()
    assert token.isascii() and token.isprintable() and len(token) <= 64
    seq = SequentialIds("t")
    assert [seq.new_id(), seq.new_id()] == ["t-000001", "t-000002"]


class Holder(msgspec.Struct, kw_only=True):
    probes: Annotated[list[Probe], msgspec.Meta(min_length=1)]


def test_violations_inside_a_required_list_are_each_reported() -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode(b'{"probes":[{"party_id":"ABCD","id":"x"},{"id":5}]}', Holder)
    assert sorted(caught.value.paths) == [
        "$.probes[0].at",
        "$.probes[0].party_id",
        "$.probes[1].at",
        "$.probes[1].id",
        "$.probes[1].party_id",
    ]


def test_an_empty_required_list_is_reported_at_the_list() -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode(b'{"probes":[]}', Holder)
    assert caught.value.paths == ["$.probes"]
