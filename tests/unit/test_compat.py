"""The partner compatibility layer: each rewrite on its own, the per-partner switches, and the hooks
through the node's HTTP client (``httpx.MockTransport``), where a tolerance applies only to the partner
it is switched on for."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from evroam.compat import (
    PROFILES,
    PartnerCompat,
    PartnerSwitches,
    Quirk,
    load_switches,
    rewrite,
    save_switches,
)
from evroam.core.errors import PartnerError
from evroam.core.status import StatusCode
from evroam.core.types import DateTime
from evroam.http.client import OcpiClient, create_http_client
from evroam.ocpi.registry import spec_for
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.registration.model import Caller, Partner, PartnerEndpoint, PartnerStatus, TokenUse
from evroam.registration.repository import StorePartnerRepository
from evroam.testing import FixedClock, MemoryStore, SequentialIds

PEER = "http://peer.test/ocpi"
OTHER = "http://other.test/ocpi"


def _envelope(data: Any) -> bytes:
    return json.dumps({"data": data, "status_code": 1000, "timestamp": "2026-01-01T00:00:00Z"}).encode()


# -- rewrites -----------------------------------------------------------------------------------------


def test_unwrap_single_takes_the_object_out_of_a_one_element_list() -> None:
    out = rewrite.unwrap_single(_envelope([{"id": "L1"}]))
    assert out is not None and json.loads(out)["data"] == {"id": "L1"}
    assert rewrite.unwrap_single(_envelope([{"id": "L1"}, {"id": "L2"}])) is None
    assert rewrite.unwrap_single(_envelope({"id": "L1"})) is None
    assert rewrite.unwrap_single(b"not json") is None


def test_status_schedule_goes_out_as_its_first_entry_and_comes_back_as_a_list() -> None:
    first = {"period_begin": "2026-01-01T00:00:00Z", "status": "BLOCKED"}
    location = {
        "id": "L1",
        "evses": [{"uid": "E1", "status_schedule": [first, {"status": "X"}]}, {"uid": "E2"}],
    }
    sent = json.loads(rewrite.status_schedule_out(json.dumps(location).encode()) or b"null")
    assert sent["evses"][0]["status_schedule"] == first
    assert "status_schedule" not in sent["evses"][1]
    empty = {"uid": "E1", "status_schedule": []}  # an EVSE PUT with no schedule: the field goes
    assert json.loads(rewrite.status_schedule_out(json.dumps(empty).encode()) or b"null") == {"uid": "E1"}
    assert rewrite.status_schedule_out(json.dumps({"id": "L1", "evses": [{"uid": "E2"}]}).encode()) is None

    answer = rewrite.status_schedule_in(_envelope([{"evses": [{"uid": "E1", "status_schedule": first}]}]))
    assert json.loads(answer or b"null")["data"][0]["evses"][0]["status_schedule"] == [first]


def test_the_next_page_is_our_own_request_with_the_links_offset() -> None:
    link = '<https://wrong.host/ocpi/cpo/2.2.1/tokens/?date_from=None&offset=100&limit=50>; rel="next"'
    called = "http://peer.test/ocpi/emsp/2.2.1/tokens/?date_from=2026-01-01T00%3A00%3A00Z&offset=50&limit=50"
    fixed = rewrite.next_link_by_offset([link], called)
    assert fixed == (
        "<http://peer.test/ocpi/emsp/2.2.1/tokens/?date_from=2026-01-01T00%3A00%3A00Z&offset=100&limit=50>;"
        ' rel="next"'
    )
    assert rewrite.next_link_by_offset(['<http://x/?page=2>; rel="next"'], called) is None
    assert rewrite.next_link_by_offset(['<http://x/?offset=2>; rel="prev"'], called) is None


def test_urls_move_onto_the_origin_we_called() -> None:
    assert (
        rewrite.on_origin("https://example.com/a/b?c=1", "http://127.0.0.1:81/x")
        == "http://127.0.0.1:81/a/b?c=1"
    )
    assert rewrite.on_origin("/relative", "http://127.0.0.1:81/x") == "/relative"


@pytest.mark.parametrize(
    ("status", "module", "code"),
    [
        (404, "tokens", StatusCode.UNKNOWN_TOKEN),
        (404, "locations", StatusCode.UNKNOWN_LOCATION),
        (422, "sessions", StatusCode.INVALID_OR_MISSING_PARAMETERS),
        (403, None, StatusCode.CLIENT_ERROR),
        (500, "cdrs", StatusCode.SERVER_ERROR),
    ],
)
def test_an_error_without_envelope_gets_the_status_code_of_the_spec(
    status: int, module: str, code: int
) -> None:
    out = rewrite.envelope_for_error(
        b'{"detail": "Object not found."}', status, module, "2026-01-01T00:00:00Z"
    )
    assert out is not None
    assert json.loads(out) == {
        "status_code": code,
        "status_message": "Object not found.",
        "timestamp": "2026-01-01T00:00:00Z",
    }
    real = json.dumps({"status_code": 2003, "timestamp": "2026-01-01T00:00:00Z"}).encode()
    assert rewrite.envelope_for_error(real, 404, "locations", "2026-01-01T00:00:00Z") is None
    assert rewrite.envelope_for_error(b"{}", 200, "locations", "2026-01-01T00:00:00Z") is None


def test_an_unlisted_commands_endpoint_is_added_beside_locations() -> None:
    details = {
        "version": "2.2.1",
        "endpoints": [
            {"identifier": "credentials", "role": "RECEIVER", "url": "http://p/ocpi/cpo/2.2.1/credentials/"},
            {"identifier": "locations", "role": "SENDER", "url": "http://p/ocpi/cpo/2.2.1/locations/"},
        ],
    }
    out = json.loads(rewrite.commands_endpoint_added(_envelope(details)) or b"null")
    assert out["data"]["endpoints"][-1] == {
        "identifier": "commands",
        "role": "RECEIVER",
        "url": "http://p/ocpi/cpo/2.2.1/commands/",
    }
    assert rewrite.commands_endpoint_added(json.dumps(out).encode()) is None  # listed now: nothing to add


PROFILE = {"charging_rate_unit": "W", "charging_profile_period": [{"start_period": 0, "limit": 3700.0}]}


def test_a_charging_profile_of_one_period_goes_out_in_the_peers_model_and_comes_back() -> None:
    sent = {"charging_profile": PROFILE, "response_url": "http://us.test/r/1"}
    out = json.loads(rewrite.charging_profile_out(json.dumps(sent).encode()) or b"null")
    assert out["charging_profile"] == {
        "charging_rate_unit": "W",
        "charging_profile_period": {"start_period": 0, "limit": 3700.0},
        "min_charge_rate": 0,  # required by the peer; 0 = no minimum
    }
    assert out["response_url"] == "http://us.test/r/1"
    with_minimum = {
        "start_date_time": "2026-01-01T00:00:00Z",
        "charging_profile": {**PROFILE, "min_charging_rate": 6},
    }
    out = json.loads(rewrite.charging_profile_out(json.dumps(with_minimum).encode()) or b"null")
    assert out["charging_profile"]["min_charge_rate"] == 6  # an ActiveChargingProfile
    # several periods cannot be one object: left as they are (the partner refuses them)
    several = {
        "charging_profile": {**PROFILE, "charging_profile_period": [{"start_period": 0, "limit": 1}] * 2}
    }
    assert rewrite.charging_profile_out(json.dumps(several).encode()) is None
    assert rewrite.charging_profile_out(json.dumps({"result": "ACCEPTED"}).encode()) is None

    # what the peer sends: an ActiveChargingProfileResult whose profile has the period as an object
    received = {
        "result": "ACCEPTED",
        "profile": {
            "start_date_time": "2026-01-01T00:00:00Z",
            "charging_profile": {
                "charging_rate_unit": "W",
                "min_charge_rate": 0.0,
                "charging_profile_period": {"start_period": 0, "limit": 3700.0},
            },
        },
    }
    back = json.loads(rewrite.charging_profile_in(json.dumps(received).encode()) or b"null")
    assert back["profile"]["charging_profile"] == {
        "charging_rate_unit": "W",
        "min_charging_rate": 0.0,
        "charging_profile_period": [{"start_period": 0, "limit": 3700.0}],
    }
    assert rewrite.charging_profile_in(json.dumps({"charging_profile": PROFILE}).encode()) is None
    assert rewrite.charging_profile_in(b"not json") is None


# -- switches and hooks -------------------------------------------------------------------------------


def _partner(name: str, base: str, pid: str) -> Partner:
    stamp = DateTime.parse("2026-01-01T00:00:00Z")
    return Partner(
        id=pid,
        name=name,
        status=PartnerStatus.REGISTERED,
        initiated_by="us",
        created=stamp,
        updated=stamp,
        version="2.2.1",
        versions_url=f"{base}/versions",
        token="their-token",
        endpoints=(
            PartnerEndpoint(module="locations", role="SENDER", url=f"{base}/cpo/2.2.1/locations/"),
            PartnerEndpoint(module="tokens", role="SENDER", url=f"{base}/emsp/2.2.1/tokens/"),
            PartnerEndpoint(
                module="chargingprofiles", role="RECEIVER", url=f"{base}/cpo/2.2.1/chargingprofiles/"
            ),
        ),
    )


async def _compat(quirks: frozenset[Quirk]) -> tuple[MemoryStore, PartnerCompat]:
    store = MemoryStore()
    clock = FixedClock()
    repo = StorePartnerRepository(store, clock)
    await repo.commit(save=[_partner("peer", PEER, "p1"), _partner("other", OTHER, "p2")])
    async with store.transaction() as tx:
        await save_switches(tx, {"peer": PartnerSwitches(name="peer", quirks=tuple(sorted(quirks)))})
    return store, PartnerCompat(store, clock)


async def test_switches_round_trip_through_the_store() -> None:
    store = MemoryStore()
    async with store.transaction() as tx:
        await save_switches(tx, {"peer": PartnerSwitches(name="Peer", quirks=(Quirk.LIST_WRAPPED_OBJECTS,))})
    assert await load_switches(store) == {
        "peer": PartnerSwitches(name="Peer", quirks=(Quirk.LIST_WRAPPED_OBJECTS,))
    }
    async with store.transaction() as tx:
        await save_switches(tx, {"peer": PartnerSwitches(name="Peer")})  # nothing on: the setting goes
    assert await load_switches(store) == {}


async def test_urls_are_matched_to_the_partner_with_switches_only() -> None:
    _, compat = await _compat(PROFILES["extrawest-ocpi"])
    one = await compat.match(f"{PEER}/cpo/2.2.1/locations/L1?x=1")
    assert one is not None and (one.partner, one.module, one.below) == ("peer", "locations", True)
    listing = await compat.match(f"{PEER}/cpo/2.2.1/locations/?offset=0")
    assert listing is not None and (listing.module, listing.below) == ("locations", False)
    assert await compat.match(f"{OTHER}/cpo/2.2.1/locations/L1") is None


async def _get_one(compat: PartnerCompat, base: str) -> Any:
    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=_envelope([{"id": "L1", "name": "One"}]))

    async with create_http_client(transport=httpx.MockTransport(answer), hooks=compat) as http:
        client = OcpiClient(
            http,
            spec=spec_for("2.2.1"),
            token="their-token",
            token_encoding=TokenEncoding.BASE64,
            us=PartyRef.of("NL", "EVR"),
            them=None,
            ids=SequentialIds(),
            clock=FixedClock(),
        )
        return await client.get(f"{base}/cpo/2.2.1/locations/L1", dict, module="locations")


async def test_a_list_wrapped_object_is_read_only_from_the_partner_it_is_switched_on_for() -> None:
    _, compat = await _compat(frozenset({Quirk.LIST_WRAPPED_OBJECTS}))
    assert await _get_one(compat, PEER) == {"id": "L1", "name": "One"}
    with pytest.raises(PartnerError):  # the other partner is held to the text: a list is not an object
        await _get_one(compat, OTHER)


async def test_without_the_switch_the_peer_is_held_to_the_text_too() -> None:
    _, compat = await _compat(frozenset({Quirk.STATUS_SCHEDULE_OBJECT}))
    with pytest.raises(PartnerError):
        await _get_one(compat, PEER)


async def test_a_url_in_the_switches_identifies_a_partner_before_it_is_registered() -> None:
    store, compat = MemoryStore(), None
    async with store.transaction() as tx:
        switches = PartnerSwitches(name="new", quirks=(Quirk.LIST_WRAPPED_OBJECTS,), url="http://new.test/v")
        await save_switches(tx, {"new": switches})
    compat = PartnerCompat(store, FixedClock())
    found = await compat.match("http://new.test/ocpi/2.2.1/details")
    assert found is not None and found.partner == "new" and not found.below
    assert await compat.match("http://elsewhere.test/ocpi/2.2.1/details") is None


async def test_endpoint_urls_get_a_trailing_slash_for_that_partner_only() -> None:
    _, compat = await _compat(frozenset({Quirk.ENDPOINT_TRAILING_SLASH}))
    url = "http://us.test/ocpi/2.2.1/receiver/locations"
    peer = Caller(partner=_partner("peer", PEER, "p1"), use=TokenUse.PEER, digest="d", token="t")
    other = Caller(partner=_partner("other", OTHER, "p2"), use=TokenUse.PEER, digest="d", token="t")
    assert await compat.endpoint_url(peer, url) == url + "/"
    assert await compat.endpoint_url(other, url) == url


async def test_a_charging_profile_is_sent_in_the_peers_model_to_that_partner_only() -> None:
    _, compat = await _compat(frozenset({Quirk.CHARGING_PROFILE_PERIOD_OBJECT}))
    body = json.dumps({"charging_profile": PROFILE, "response_url": "http://us.test/r/1"}).encode()
    seen: dict[str, Any] = {}

    async def answer(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = json.loads(request.content)
        return httpx.Response(200, content=_envelope({"result": "ACCEPTED", "timeout": 30}))

    async with create_http_client(transport=httpx.MockTransport(answer), hooks=compat) as http:
        await http.put(f"{PEER}/cpo/2.2.1/chargingprofiles/S1", content=body)
        await http.put(f"{OTHER}/cpo/2.2.1/chargingprofiles/S1", content=body)
        await http.put(f"{PEER}/cpo/2.2.1/locations/L1", content=body)  # not a charging profile endpoint
    assert seen["peer.test"] == {"charging_profile": PROFILE, "response_url": "http://us.test/r/1"}
    async with create_http_client(transport=httpx.MockTransport(answer), hooks=compat) as http:
        await http.put(f"{PEER}/cpo/2.2.1/chargingprofiles/S1", content=body)
    assert seen["peer.test"]["charging_profile"]["charging_profile_period"] == {
        "start_period": 0,
        "limit": 3700.0,
    }
    assert seen["other.test"]["charging_profile"] == PROFILE


async def test_a_charging_profile_received_from_that_partner_is_read_as_the_text_has_it() -> None:
    _, compat = await _compat(frozenset({Quirk.CHARGING_PROFILE_PERIOD_OBJECT}))
    peer = Caller(partner=_partner("peer", PEER, "p1"), use=TokenUse.PEER, digest="d", token="t")
    other = Caller(partner=_partner("other", OTHER, "p2"), use=TokenUse.PEER, digest="d", token="t")
    theirs = {
        "charging_profile": {**PROFILE, "charging_profile_period": {"start_period": 0, "limit": 3700.0}}
    }
    body = json.dumps(theirs).encode()
    adapted = json.loads(await compat.request_body(peer, "chargingprofiles", "PUT", body))
    assert adapted["charging_profile"] == PROFILE
    assert await compat.request_body(other, "chargingprofiles", "PUT", body) == body
    assert await compat.request_body(peer, "locations", "PUT", body) == body


async def test_switches_are_read_again_after_the_ttl() -> None:
    store, compat = await _compat(frozenset({Quirk.LIST_WRAPPED_OBJECTS}))
    assert await compat.match(f"{PEER}/cpo/2.2.1/locations/L1") is not None
    async with store.transaction() as tx:
        await save_switches(tx, {})
    assert await compat.match(f"{PEER}/cpo/2.2.1/locations/L1") is not None  # cached
    compat.invalidate()
    assert await compat.match(f"{PEER}/cpo/2.2.1/locations/L1") is None
