"""OCPI transport: envelope, Authorization codec, tracing/routing headers, pagination."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evroam.core.codec import encode
from evroam.core.errors import (
    EvroamError,
    HubTimeout,
    NotFound,
    PartnerError,
    Unauthorized,
    UnknownToken,
    UnsupportedVersion,
    ValidationFailed,
    Violation,
)
from evroam.core.types import CiString36, DateTime
from evroam.ocpi.base import WireModel
from evroam.ocpi.table import ModuleSpec, VersionSpec
from evroam.ocpi.transport import (
    Envelope,
    PageRequest,
    PartyRef,
    RequestIds,
    Routing,
    TokenEncoding,
    candidate_tokens,
    decode_envelope,
    encode_authorization,
    error_envelope,
    incoming_request_ids,
    next_link,
    outgoing_request_ids,
    page_headers,
    parse_link_header,
    parse_page_request,
    parse_routing,
    parse_total_count,
    read_request_headers,
    request_id_headers,
    require_data,
    response_headers,
    routing_headers,
    success_envelope,
    uses_request_ids,
    uses_routing,
)
from evroam.testing import FixedClock, SequentialIds

# Minimal version tables with the flags the transport reads (the real ones live in the version packages).
V211 = VersionSpec(
    number="2.1.1", modules={}, token_base64=False, routing_headers=False, endpoint_roles=False
)
V221 = VersionSpec(number="2.2.1", modules={}, token_base64=True, routing_headers=True, endpoint_roles=True)
V230 = VersionSpec(number="2.3.0", modules={}, token_base64=True, routing_headers=True, endpoint_roles=True)

NOW = "2026-03-01T12:00:00Z"


class Thing(WireModel, kw_only=True):
    id: CiString36
    last_updated: DateTime


# --------------------------------------------------------------------------------------------- envelope


def test_success_envelope_json_with_pinned_clock() -> None:
    clock = FixedClock(NOW)
    thing = Thing(id=CiString36("Loc-1"), last_updated=DateTime.parse("2026-02-28T10:00:00.500+01:00"))
    body = encode(success_envelope(thing, clock))
    assert body == (
        b'{"data":{"id":"Loc-1","last_updated":"2026-02-28T09:00:00.5Z"},'
        b'"status_code":1000,"timestamp":"2026-03-01T12:00:00Z"}'
    )


def test_success_envelope_without_data_omits_it_and_keeps_empty_lists() -> None:
    clock = FixedClock(NOW)
    assert encode(success_envelope(None, clock)) == b'{"status_code":1000,"timestamp":"2026-03-01T12:00:00Z"}'
    assert json.loads(encode(success_envelope([], clock)))["data"] == []


def test_success_envelope_takes_the_clock_at_call_time() -> None:
    clock = FixedClock(NOW)
    first = success_envelope(1, clock)
    clock.advance(90)
    second = success_envelope(1, clock)
    assert first.timestamp.to_json() == "2026-03-01T12:00:00Z"
    assert second.timestamp.to_json() == "2026-03-01T12:01:30Z"


def test_success_envelope_custom_code_and_message() -> None:
    env = success_envelope("x", FixedClock(NOW), status_code=1901, status_message="queued")
    assert json.loads(encode(env)) == {
        "data": "x",
        "status_code": 1901,
        "status_message": "queued",
        "timestamp": NOW,
    }
    with pytest.raises(ValueError, match="2000"):
        success_envelope("x", FixedClock(NOW), status_code=2000)


@pytest.mark.parametrize(
    ("error", "status_code", "message"),
    [
        (Unauthorized(), 2000, "Missing or unknown credentials token"),
        (UnknownToken("token 012345 unknown"), 2004, "token 012345 unknown"),
        (NotFound(), 2003, "Unknown object"),
        (UnsupportedVersion(), 3002, "Unsupported version"),
        (HubTimeout(), 4002, "Timeout on forwarded request"),
    ],
)
def test_error_envelope_carries_the_errors_ocpi_code_and_message(
    error: EvroamError, status_code: int, message: str
) -> None:
    body = json.loads(encode(error_envelope(error, FixedClock(NOW))))
    assert body == {"status_code": status_code, "status_message": message, "timestamp": NOW}


def test_error_envelope_of_validation_failure_lists_every_violation() -> None:
    error = ValidationFailed(
        [Violation("$.evses[0].uid", "Object missing required field"), Violation("$.id", "too long")]
    )
    body = json.loads(encode(error_envelope(error, FixedClock(NOW))))
    assert body["status_code"] == 2001
    assert body["status_message"] == "$.evses[0].uid: Object missing required field; $.id: too long"


def test_error_envelope_of_validation_failure_with_own_message_still_lists_violations() -> None:
    error = ValidationFailed(
        [Violation("date_from", "bad"), Violation("limit", "worse")], message="Bad query"
    )
    message = error_envelope(error, FixedClock(NOW)).status_message
    assert message == "Bad query: date_from: bad; limit: worse"


def test_decode_envelope_reads_data_into_the_wire_type() -> None:
    body = (
        b'{"data":[{"id":"A","last_updated":"2026-01-01T00:00:00Z"}],'
        b'"status_code":1000,"status_message":"ok","timestamp":"2026-01-02T00:00:00Z"}'
    )
    env = decode_envelope(body, list[Thing])
    assert env.status_code == 1000
    assert env.status_message == "ok"
    assert env.timestamp == DateTime.parse("2026-01-02T00:00:00Z")
    assert env.data == [Thing(id=CiString36("a"), last_updated=DateTime.parse("2026-01-01T00:00:00Z"))]


@pytest.mark.parametrize(
    "body",
    [
        b'{"status_code":1000,"timestamp":"2026-01-02T00:00:00Z"}',
        b'{"data":null,"status_code":1000,"timestamp":"2026-01-02T00:00:00Z"}',
        b'{"status_code":1900,"timestamp":"2026-01-02T00:00:00Z","data":null}',
    ],
)
def test_decode_envelope_tolerates_absent_or_null_data(body: bytes) -> None:
    env = decode_envelope(body, Thing)
    assert env.data is None
    assert env.status_code in (1000, 1900)


def test_require_data_on_absent_data_depends_on_the_wanted_type() -> None:
    env = decode_envelope(b'{"status_code":1000,"timestamp":"2026-01-02T00:00:00Z"}', list[Thing])
    assert require_data(env, list[Thing] | None) is None
    with pytest.raises(PartnerError) as caught:
        require_data(env, list[Thing], http_status=200, url="https://p/x")
    assert caught.value.ocpi_status == 1000
    assert "no data" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        (
            b'{"status_code":2001,"status_message":"missing last_updated",'
            b'"timestamp":"2026-01-02T00:00:00Z"}',
            2001,
            "missing last_updated",
        ),
        (
            b'{"data":{"debug":1},"status_code":3000,"timestamp":"2026-01-02T00:00:00Z"}',
            3000,
            "no status_message",
        ),
        (b'{"status_code":4001,"status_message":"who?","timestamp":"2026-01-02T00:00:00Z"}', 4001, "who?"),
    ],
)
def test_decode_envelope_turns_non_success_codes_into_partner_errors(
    body: bytes, code: int, text: str
) -> None:
    with pytest.raises(PartnerError) as caught:
        decode_envelope(body, Thing, http_status=200, url="https://partner/ocpi/x")
    assert caught.value.http_status == 200
    assert caught.value.ocpi_status == code
    assert caught.value.url == "https://partner/ocpi/x"
    assert text in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Bad gateway</html>",
        b'{"data":[]}',
        b'{"status_code":"1000","timestamp":"2026-01-02T00:00:00Z"}',
        b"[]",
    ],
)
def test_decode_envelope_rejects_bodies_that_are_not_envelopes(body: bytes) -> None:
    with pytest.raises(PartnerError) as caught:
        decode_envelope(body, Thing, http_status=200)
    assert "not an OCPI response envelope" in str(caught.value)


def test_decode_envelope_reports_data_that_does_not_fit() -> None:
    body = b'{"data":{"id":"A"},"status_code":1000,"timestamp":"2026-01-02T00:00:00Z"}'
    with pytest.raises(PartnerError) as caught:
        decode_envelope(body, Thing)
    assert "$.last_updated" in str(caught.value)
    assert isinstance(caught.value.__cause__, ValidationFailed)


def test_envelope_round_trip() -> None:
    env = success_envelope([1, 2], FixedClock("2026-01-01T00:00:00.25Z"), status_message="hi")
    back = decode_envelope(encode(env), list[int])
    assert back == Envelope(data=[1, 2], status_code=1000, status_message="hi", timestamp=env.timestamp)


# ------------------------------------------------------------------------------------------ Authorization


def test_token_encoding_follows_the_version_table() -> None:
    assert TokenEncoding.for_spec(V211) is TokenEncoding.RAW
    assert TokenEncoding.for_spec(V221) is TokenEncoding.BASE64
    assert TokenEncoding.for_spec(V230) is TokenEncoding.BASE64


@pytest.mark.parametrize(
    ("token", "encoding", "header"),
    [
        # Expected values computed outside the code (printf %s ... | base64),
        # not the spec's examples, which encode a trailing newline.
        ("example-token", TokenEncoding.BASE64, "Token ZXhhbXBsZS10b2tlbg=="),
        (
            "ebf3b399-779f-4497-9b9d-ac6ad3cc44d2",
            TokenEncoding.BASE64,
            "Token ZWJmM2IzOTktNzc5Zi00NDk3LTliOWQtYWM2YWQzY2M0NGQy",
        ),
        ("example-token", TokenEncoding.RAW, "Token example-token"),
        (
            "IpbJOXxkxOAuKR92z0nEcmVF3Qw09VG7I7d/WCg0koM=",
            TokenEncoding.RAW,
            "Token IpbJOXxkxOAuKR92z0nEcmVF3Qw09VG7I7d/WCg0koM=",
        ),
    ],
)
def test_encode_authorization(token: str, encoding: TokenEncoding, header: str) -> None:
    assert encode_authorization(token, encoding) == header


@pytest.mark.parametrize("token", ["", "has space", "tab\there", "tökén"])
def test_encode_authorization_rejects_tokens_that_are_not_printable_ascii(token: str) -> None:
    with pytest.raises(ValueError, match="printable"):
        encode_authorization(token, TokenEncoding.BASE64)


def test_candidates_of_a_base64_header_put_the_expected_reading_first() -> None:
    header = "Token ZXhhbXBsZS10b2tlbg=="
    assert candidate_tokens(header, expected=TokenEncoding.BASE64) == (
        "example-token",
        "ZXhhbXBsZS10b2tlbg==",
    )
    assert candidate_tokens(header, expected=TokenEncoding.RAW) == ("ZXhhbXBsZS10b2tlbg==", "example-token")


def test_candidates_of_a_raw_header_are_the_raw_token_whatever_the_version() -> None:
    header = "Token ebf3b399-779f-4497-9b9d-ac6ad3cc44d2"
    for expected in TokenEncoding:
        assert candidate_tokens(header, expected=expected) == ("ebf3b399-779f-4497-9b9d-ac6ad3cc44d2",)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("token ZXhhbXBsZS10b2tlbg==", ("example-token", "ZXhhbXBsZS10b2tlbg==")),  # scheme case
        ("  Token   ZXhhbXBsZS10b2tlbg==  ", ("example-token", "ZXhhbXBsZS10b2tlbg==")),  # blanks
        ("Token ZXhhbXBsZS10b2tlbg", ("example-token", "ZXhhbXBsZS10b2tlbg")),  # stripped padding
        # Base64 of non-ASCII text ("Ünïcode") and of "example-token\n" (the spec's example bug): raw only.
        ("Token w5xuw69jb2Rl", ("w5xuw69jb2Rl",)),
        ("Token ZXhhbXBsZS10b2tlbgo=", ("ZXhhbXBsZS10b2tlbgo=",)),
        ("Token abc!", ("abc!",)),
    ],
)
def test_candidate_tokens_tolerant_parsing(header: str, expected: tuple[str, ...]) -> None:
    assert candidate_tokens(header, expected=TokenEncoding.BASE64) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "Token",
        "Token ",
        "Bearer ZXhhbXBsZS10b2tlbg==",
        "Basic dXNlcjpwYXNz",
        "Token a b",
        "Token tökén",
        "ZXhhbXBsZS10b2tlbg==",
    ],
)
def test_candidate_tokens_missing_or_garbled_header_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized) as caught:
        candidate_tokens(header, expected=TokenEncoding.BASE64)
    assert caught.value.http_status == 401


@given(
    token=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=64),
    encoding=st.sampled_from(list(TokenEncoding)),
)
def test_candidate_tokens_finds_any_encoded_token_first(token: str, encoding: TokenEncoding) -> None:
    assert candidate_tokens(encode_authorization(token, encoding), expected=encoding)[0] == token


# ----------------------------------------------------------------------------- tracing and routing headers


def test_incoming_request_ids_are_read_case_insensitively() -> None:
    ids = SequentialIds("gen")
    got = incoming_request_ids({"x-request-id": "r-1", "X-CORRELATION-ID": "c-1"}, ids)
    assert got == RequestIds(request_id="r-1", correlation_id="c-1")
    assert ids.new_id() == "gen-000001"  # nothing was generated


def test_incoming_request_ids_are_generated_when_missing_or_blank() -> None:
    got = incoming_request_ids({"X-Request-ID": "  ", "Other": "x"}, SequentialIds("gen"))
    assert got == RequestIds(request_id="gen-000001", correlation_id="gen-000002")


def test_outgoing_request_ids_keep_the_chain() -> None:
    ids = SequentialIds("out")
    fresh = outgoing_request_ids(ids)
    forwarded = outgoing_request_ids(ids, correlation_id="chain-7")
    assert fresh == RequestIds(request_id="out-000001", correlation_id="out-000002")
    assert forwarded == RequestIds(request_id="out-000003", correlation_id="chain-7")
    assert request_id_headers(forwarded) == {"X-Request-ID": "out-000003", "X-Correlation-ID": "chain-7"}


ROUTED = {
    "OCPI-from-country-code": "nl",
    "OCPI-from-party-id": "Emp",
    "ocpi-to-country-code": "BE",
    "OCPI-TO-PARTY-ID": "CPO",
}


def test_parse_routing_and_emit_it_in_the_given_spelling() -> None:
    routing = parse_routing(ROUTED)
    assert routing.sender == PartyRef.of("NL", "EMP")
    assert routing.receiver == PartyRef.of("be", "cpo")
    assert routing_headers(routing) == {
        "OCPI-from-country-code": "nl",
        "OCPI-from-party-id": "Emp",
        "OCPI-to-country-code": "BE",
        "OCPI-to-party-id": "CPO",
    }


def test_response_routing_swaps_from_and_to() -> None:
    assert routing_headers(parse_routing(ROUTED).swapped()) == {
        "OCPI-from-country-code": "BE",
        "OCPI-from-party-id": "CPO",
        "OCPI-to-country-code": "nl",
        "OCPI-to-party-id": "Emp",
    }


def test_open_routing_request_has_no_receiver() -> None:
    routing = parse_routing({"OCPI-from-country-code": "NL", "OCPI-from-party-id": "EMP"})
    assert routing == Routing(sender=PartyRef.of("NL", "EMP"), receiver=None)
    assert parse_routing({}) == Routing()


def test_parse_routing_reports_every_bad_header_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_routing(
            {"OCPI-from-country-code": "NLD", "OCPI-from-party-id": "EM", "OCPI-to-party-id": "CPO"}
        )
    assert caught.value.paths == ["OCPI-from-country-code", "OCPI-from-party-id", "OCPI-to-country-code"]
    assert caught.value.ocpi_status == 2001


def test_party_ref_rejects_wrong_lengths() -> None:
    with pytest.raises(ValueError, match="2-letter"):
        PartyRef.of("N", "EMP")
    with pytest.raises(ValueError, match="3-character"):
        PartyRef.of("NL", "EMPX")


def test_which_versions_and_modules_carry_the_headers() -> None:
    assert not uses_request_ids(V211)
    assert uses_request_ids(V221) and uses_request_ids(V230)
    for module in ("locations", "sessions", "cdrs", "tariffs", "tokens", "commands", "chargingprofiles"):
        assert not uses_routing(V211, module)
        assert uses_routing(V221, module)
        assert uses_routing(V230, module)
    for module in ("credentials", "versions", "hubclientinfo", "Credentials"):
        assert not uses_routing(V221, module)
        assert not uses_routing(V230, module)
    assert not uses_routing(V221, ModuleSpec(id="custom", interfaces={}, configuration=True))
    assert uses_routing(V221, ModuleSpec(id="locations", interfaces={}))


def test_server_side_headers_for_a_functional_module_in_2_2_1() -> None:
    request = {"X-Request-ID": "r-9", "X-Correlation-ID": "c-9", **ROUTED}
    seen = read_request_headers(request, spec=V221, module="locations", ids=SequentialIds())
    assert response_headers(seen) == {
        "X-Request-ID": "r-9",
        "X-Correlation-ID": "c-9",
        "OCPI-from-country-code": "BE",
        "OCPI-from-party-id": "CPO",
        "OCPI-to-country-code": "nl",
        "OCPI-to-party-id": "Emp",
    }


def test_server_side_headers_for_a_configuration_module_have_no_routing() -> None:
    seen = read_request_headers(ROUTED, spec=V230, module="credentials", ids=SequentialIds("s"))
    assert seen.routing is None
    assert response_headers(seen) == {"X-Request-ID": "s-000001", "X-Correlation-ID": "s-000002"}


def test_server_side_headers_in_2_1_1_are_none() -> None:
    request = {"X-Request-ID": "r-9", **ROUTED}
    seen = read_request_headers(request, spec=V211, module="locations", ids=SequentialIds())
    assert seen.request_ids is None and seen.routing is None
    assert response_headers(seen) == {}


# ------------------------------------------------------------------------------------------- pagination

BASE = "https://cpo.example.com/ocpi/2.2.1/locations"


def test_page_request_defaults() -> None:
    assert parse_page_request({}, max_limit=100) == PageRequest(offset=0, limit=100)
    assert parse_page_request("", max_limit=100) == PageRequest(offset=0, limit=100)


@pytest.mark.parametrize(
    ("asked", "effective"), [("1", 1), ("50", 50), ("100", 100), ("101", 100), ("99999", 100)]
)
def test_limit_is_capped_by_the_server_maximum(asked: str, effective: int) -> None:
    assert parse_page_request({"limit": asked}, max_limit=100).limit == effective


@pytest.mark.parametrize(
    ("params", "paths"),
    [
        ({"limit": "0"}, ["limit"]),
        ({"limit": "-5"}, ["limit"]),
        ({"limit": "ten"}, ["limit"]),
        ({"limit": "1.5"}, ["limit"]),
        ({"offset": "-1"}, ["offset"]),
        ({"offset": "+3"}, ["offset"]),
        ({"date_from": "yesterday"}, ["date_from"]),
        ({"date_to": "2026-13-01T00:00:00Z"}, ["date_to"]),
        ({"offset": "x", "limit": "0", "date_from": "nope"}, ["offset", "limit", "date_from"]),
        ("offset=1&offset=2", ["offset"]),
    ],
)
def test_bad_paging_values_name_their_parameter(params: dict[str, str] | str, paths: list[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_page_request(params, max_limit=100)
    assert caught.value.paths == paths
    assert caught.value.ocpi_status == 2001


def test_server_maximum_must_be_positive() -> None:
    with pytest.raises(ValueError):
        parse_page_request({}, max_limit=0)


def test_page_request_reads_dates_and_keeps_other_filters_in_order() -> None:
    page = parse_page_request(
        "date_from=2026-01-01T10:00:00%2B01:00&country_code=NL&offset=20&date_to=2026-02-01T00:00:00&party_id=ABC&x=",
        max_limit=50,
    )
    assert page.offset == 20 and page.limit == 50
    assert page.date_from == DateTime.parse("2026-01-01T09:00:00Z")
    assert page.date_to == DateTime.parse("2026-02-01T00:00:00Z")
    assert page.filters == (("country_code", "NL"), ("party_id", "ABC"), ("x", ""))


def test_empty_paging_values_count_as_absent() -> None:
    assert parse_page_request({"offset": "", "limit": "", "date_from": ""}, max_limit=10) == PageRequest(
        limit=10
    )


def test_date_window_is_inclusive_from_and_exclusive_to() -> None:
    page = parse_page_request(
        {"date_from": "2026-01-01T00:00:00Z", "date_to": "2026-01-02T00:00:00Z"}, max_limit=10
    )
    assert page.matches(DateTime.parse("2026-01-01T00:00:00Z"))
    assert page.matches(DateTime.parse("2026-01-01T23:59:59.999Z"))
    assert not page.matches(DateTime.parse("2026-01-02T00:00:00Z"))
    assert not page.matches(DateTime.parse("2025-12-31T23:59:59Z"))


def test_first_page_headers_link_to_the_next_offset() -> None:
    page = parse_page_request({}, max_limit=100)
    assert page_headers(BASE, page, 250, max_limit=100) == {
        "X-Total-Count": "250",
        "X-Limit": "100",
        "Link": '<https://cpo.example.com/ocpi/2.2.1/locations?offset=100&limit=100>; rel="next"',
    }


def test_last_page_has_no_link() -> None:
    for offset in ("200", "150"):
        headers = page_headers(
            BASE, parse_page_request({"offset": offset}, max_limit=100), 250, max_limit=100
        )
        assert headers == {"X-Total-Count": "250", "X-Limit": "100"}
    exact = page_headers(BASE, parse_page_request({"offset": "100"}, max_limit=100), 200, max_limit=100)
    assert "Link" not in exact


def test_offset_beyond_total_is_an_empty_last_page() -> None:
    page = parse_page_request({"offset": "500"}, max_limit=100)
    assert list(page.window(250)) == []
    assert page_headers(BASE, page, 250, max_limit=100) == {"X-Total-Count": "250", "X-Limit": "100"}


def test_x_limit_is_the_servers_cap_not_the_asked_limit() -> None:
    page = parse_page_request({"limit": "10"}, max_limit=100)
    headers = page_headers(BASE, page, 25, max_limit=100)
    assert headers["X-Limit"] == "100"
    assert headers["Link"] == '<https://cpo.example.com/ocpi/2.2.1/locations?offset=10&limit=10>; rel="next"'


def test_link_repeats_every_filter_with_utc_dates_url_encoded() -> None:
    page = parse_page_request(
        [
            ("date_from", "2026-01-01T10:00:00+01:00"),
            ("date_to", "2026-02-01T00:00:00.5"),
            ("limit", "2"),
            ("offset", "4"),
            ("q", "a b&c"),
            ("tag", "x"),
            ("tag", "y"),
        ],
        max_limit=100,
    )
    headers = page_headers(BASE + "?stale=1#frag", page, 10, max_limit=100)
    assert headers["Link"] == (
        "<https://cpo.example.com/ocpi/2.2.1/locations?offset=6&limit=2"
        "&date_from=2026-01-01T09%3A00%3A00Z&date_to=2026-02-01T00%3A00%3A00.5Z"
        '&q=a%20b%26c&tag=x&tag=y>; rel="next"'
    )


def test_page_headers_reject_negative_totals() -> None:
    with pytest.raises(ValueError):
        page_headers(BASE, PageRequest(limit=1), -1, max_limit=1)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ('<https://a/x?offset=2>; rel="next"', "https://a/x?offset=2"),
        ("<https://a/x?offset=2>;rel=next", "https://a/x?offset=2"),
        ('  < https://a/x?offset=2 > ;  REL = "NEXT"  ', "https://a/x?offset=2"),
        ('<https://a/p>; rel="prev", <https://a/n>; rel="next"', "https://a/n"),
        ('<https://a/n?a=1,2>; title="x, y; z"; rel="prev next"', "https://a/n?a=1,2"),
        (['<https://a/first>; rel="first"', '<https://a/n>; rel="next"'], "https://a/n"),
        ('<https://a/l>; rel="last"', None),
        ("garbage", None),
        ("<unterminated; rel=next", None),
        ("", None),
        (None, None),
        ([], None),
    ],
)
def test_next_link_parsing_is_robust(values: str | list[str] | None, expected: str | None) -> None:
    assert next_link(values) == expected


def test_parse_link_header_reports_every_link() -> None:
    links = parse_link_header('<https://a/p>; rel="prev"; type="x", <https://a/n>; rel=next')
    assert [(link.url, link.rels) for link in links] == [
        ("https://a/p", ("prev",)),
        ("https://a/n", ("next",)),
    ]


@pytest.mark.parametrize(
    ("value", "expected"), [("250", 250), (" 7 ", 7), ("0", 0), ("-1", None), ("x", None), (None, None)]
)
def test_parse_total_count(value: str | None, expected: int | None) -> None:
    assert parse_total_count(value) == expected


@settings(max_examples=200, deadline=None)
@given(
    total=st.integers(min_value=0, max_value=400),
    offset=st.integers(min_value=0, max_value=450),
    limit=st.none() | st.integers(min_value=1, max_value=300),
    cap=st.integers(min_value=1, max_value=120),
)
def test_following_the_link_chain_visits_every_index_exactly_once(
    total: int, offset: int, limit: int | None, cap: int
) -> None:
    query: list[tuple[str, str]] = [
        ("offset", str(offset)),
        ("date_from", "2026-01-01T00:00:00+02:00"),
        ("f", "v w"),
    ]
    if limit is not None:
        query.append(("limit", str(limit)))
    visited: list[int] = []
    for _ in range(total + 2):
        page = parse_page_request(query, max_limit=cap)
        assert page.limit == min(limit or cap, cap)
        visited.extend(page.window(total))
        headers = page_headers(BASE, page, total, max_limit=cap)
        assert headers["X-Total-Count"] == str(total)
        link = next_link(headers.get("Link"))
        if link is None:
            break
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == BASE
        query = parse_qsl(parts.query, keep_blank_values=True)
        assert ("date_from", "2025-12-31T22:00:00Z") in query
        assert ("f", "v w") in query
    else:
        pytest.fail("the Link chain did not end")
    assert visited == list(range(min(offset, total), total))
