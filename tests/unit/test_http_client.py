"""The outbound OcpiClient against httpx.MockTransport partners."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from evroam.core.errors import ClientApiUnreachable, PartnerError
from evroam.core.types import CiString36, DateTime
from evroam.http.client import OcpiClient, ParamValue
from evroam.ocpi.base import WireModel
from evroam.ocpi.table import VersionSpec
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.testing import FixedClock, SequentialIds

V211 = VersionSpec(
    number="2.1.1", modules={}, token_base64=False, routing_headers=False, endpoint_roles=False
)
V221 = VersionSpec(number="2.2.1", modules={}, token_base64=True, routing_headers=True, endpoint_roles=True)

PARTNER = "https://partner.example.com/ocpi/2.2.1"
LOCATIONS = f"{PARTNER}/locations"
US = PartyRef.of("NL", "EMP")
THEM = PartyRef.of("BE", "CPO")
STAMP = "2026-03-01T12:00:00Z"


class Item(WireModel, kw_only=True):
    id: CiString36
    n: int


def envelope(
    data: Any = None, status_code: int = 1000, message: str | None = None, with_data: bool = True
) -> bytes:
    body: dict[str, Any] = {"status_code": status_code, "timestamp": STAMP}
    if with_data:
        body["data"] = data
    if message is not None:
        body["status_message"] = message
    return json.dumps(body).encode()


Handler = Callable[[httpx.Request], httpx.Response]


class Partner:
    """Records every request and answers with a handler."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)


@pytest.fixture
async def http_factory() -> AsyncIterator[Callable[[Handler], httpx.AsyncClient]]:
    opened: list[httpx.AsyncClient] = []

    def make(handler: Handler) -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


MakeHttp = Callable[[Handler], httpx.AsyncClient]


def client_for(http: httpx.AsyncClient, spec: VersionSpec = V221, **overrides: Any) -> OcpiClient:
    options: dict[str, Any] = {
        "spec": spec,
        "token": "example-token",
        "token_encoding": TokenEncoding.for_spec(spec),
        "us": US,
        "them": THEM,
        "ids": SequentialIds("req"),
        "clock": FixedClock(STAMP),
    }
    options.update(overrides)
    return OcpiClient(http, **options)


# ------------------------------------------------------------------------------------------ single calls


async def test_get_decodes_data_and_sends_2_2_1_headers(http_factory: MakeHttp) -> None:
    partner = Partner(lambda r: httpx.Response(200, content=envelope({"id": "Loc-1", "n": 3})))
    client = client_for(http_factory(partner))
    item = await client.get(f"{LOCATIONS}/Loc-1", Item, module="locations")
    assert item == Item(id=CiString36("Loc-1"), n=3)
    (request,) = partner.requests
    assert request.method == "GET"
    assert request.headers["Authorization"] == "Token ZXhhbXBsZS10b2tlbg=="
    assert request.headers["X-Request-ID"] == "req-000001"
    assert request.headers["X-Correlation-ID"] == "req-000002"
    assert request.headers["OCPI-from-country-code"] == "NL"
    assert request.headers["OCPI-from-party-id"] == "EMP"
    assert request.headers["OCPI-to-country-code"] == "BE"
    assert request.headers["OCPI-to-party-id"] == "CPO"
    assert "Content-Type" not in request.headers


async def test_2_1_1_sends_the_raw_token_and_no_tracing_or_routing(http_factory: MakeHttp) -> None:
    partner = Partner(lambda r: httpx.Response(200, content=envelope([])))
    client = client_for(http_factory(partner), V211, us=None, them=None)
    assert await client.get(LOCATIONS, list[Item], module="locations") == []
    headers = partner.requests[0].headers
    assert headers["Authorization"] == "Token example-token"
    assert not [name for name in headers if name.lower().startswith(("x-request", "x-correlation", "ocpi-"))]


async def test_token_encoding_can_differ_from_the_version(http_factory: MakeHttp) -> None:
    partner = Partner(lambda r: httpx.Response(200, content=envelope([])))
    client = client_for(http_factory(partner), token_encoding=TokenEncoding.RAW)
    await client.get(LOCATIONS, list[Item], module="locations")
    assert partner.requests[0].headers["Authorization"] == "Token example-token"


async def test_configuration_modules_get_tracing_ids_but_no_routing(http_factory: MakeHttp) -> None:
    partner = Partner(lambda r: httpx.Response(200, content=envelope([{"version": "2.2.1", "url": "u"}])))
    client = client_for(http_factory(partner), us=None, them=None)
    versions = await client.get(f"{PARTNER}/versions", list[dict[str, str]], module="versions")
    assert versions == [{"version": "2.2.1", "url": "u"}]
    headers = partner.requests[0].headers
    assert headers["X-Request-ID"] == "req-000001"
    assert not [name for name in headers if name.lower().startswith("ocpi-")]


async def test_functional_module_in_2_2_1_needs_our_party(http_factory: MakeHttp) -> None:
    client = client_for(http_factory(lambda r: httpx.Response(200, content=envelope([]))), us=None)
    with pytest.raises(ValueError, match="us="):
        await client.get(LOCATIONS, list[Item], module="locations")


async def test_to_and_correlation_id_per_call(http_factory: MakeHttp) -> None:
    partner = Partner(lambda r: httpx.Response(200, content=envelope(with_data=False)))
    client = client_for(http_factory(partner), them=None)
    await client.delete(
        f"{LOCATIONS}/1", module="locations", correlation_id="chain-1", to=PartyRef.of("DE", "HUB")
    )
    await client.delete(f"{LOCATIONS}/1", module="locations")
    first, second = (r.headers for r in partner.requests)
    assert first["X-Correlation-ID"] == "chain-1"
    assert (first["OCPI-to-country-code"], first["OCPI-to-party-id"]) == ("DE", "HUB")
    assert "OCPI-to-country-code" not in second  # open routing: no TO
    assert second["OCPI-from-party-id"] == "EMP"


async def test_put_patch_post_send_json_bodies(http_factory: MakeHttp) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(
                201, content=envelope({"id": "new", "n": 9}), headers={"Location": "https://x/1"}
            )
        return httpx.Response(200, content=envelope(with_data=False))

    partner = Partner(answer)
    client = client_for(http_factory(partner))
    item = Item(id=CiString36("Loc-1"), n=1)
    await client.put(f"{LOCATIONS}/NL/EMP/Loc-1", item, module="locations")
    await client.patch(f"{LOCATIONS}/NL/EMP/Loc-1", {"n": 2}, module="locations")
    created = await client.post(f"{PARTNER}/cdrs", item, Item, module="cdrs")
    assert created == Item(id=CiString36("new"), n=9)
    full = await client.request("POST", f"{PARTNER}/cdrs", module="cdrs", body=item, data_type=Item)
    assert full.http_status == 201
    assert full.headers["Location"] == "https://x/1"
    assert full.timestamp == DateTime.parse(STAMP)
    assert [r.method for r in partner.requests] == ["PUT", "PATCH", "POST", "POST"]
    assert partner.requests[0].content == b'{"id":"Loc-1","n":1}'
    assert partner.requests[1].content == b'{"n":2}'
    assert all(r.headers["Content-Type"] == "application/json" for r in partner.requests)


async def test_get_params_encode_timestamps_in_utc(http_factory: MakeHttp) -> None:
    partner = Partner(lambda r: httpx.Response(200, content=envelope([])))
    client = client_for(http_factory(partner))
    when = DateTime.parse("2026-01-01T10:00:00+01:00")
    await client.get(
        LOCATIONS, list[Item], module="locations", params={"date_from": when, "limit": 5, "tag": ["a", "b"]}
    )
    query = parse_qs(urlsplit(str(partner.requests[0].url)).query)
    assert query == {"date_from": ["2026-01-01T09:00:00Z"], "limit": ["5"], "tag": ["a", "b"]}


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("status", "body", "http_status", "ocpi_status", "text"),
    [
        (
            200,
            envelope(status_code=2001, message="missing last_updated", with_data=False),
            200,
            2001,
            "missing last_updated",
        ),
        (
            404,
            envelope(status_code=2003, message="Unknown location", with_data=False),
            404,
            2003,
            "Unknown location",
        ),
        (401, b"", 401, 3000, "Unauthorized"),
        (500, b"<html>Internal Server Error</html>", 500, 3000, "<html>Internal Server Error</html>"),
        (
            200,
            envelope(status_code=4001, message="unknown receiver", with_data=False),
            200,
            4001,
            "unknown receiver",
        ),
        (405, envelope(status_code=2000, with_data=False), 405, 2000, "Method Not Allowed"),
        (302, b"", 302, 3000, "Found"),
    ],
)
async def test_error_answers_raise_partner_error_with_both_codes(
    http_factory: MakeHttp, status: int, body: bytes, http_status: int, ocpi_status: int, text: str
) -> None:
    client = client_for(http_factory(lambda r: httpx.Response(status, content=body)))
    with pytest.raises(PartnerError) as caught:
        await client.get(f"{LOCATIONS}/x", Item, module="locations")
    assert caught.value.http_status == http_status
    assert caught.value.ocpi_status == ocpi_status
    assert caught.value.url == f"{LOCATIONS}/x"
    assert text in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [b"<html>ok</html>", envelope({"id": "x"}), envelope(with_data=False), envelope(None)],
)
async def test_success_answers_that_do_not_fit_raise_partner_error(
    http_factory: MakeHttp, body: bytes
) -> None:
    client = client_for(http_factory(lambda r: httpx.Response(200, content=body)))
    with pytest.raises(PartnerError):
        await client.get(f"{LOCATIONS}/x", Item, module="locations")


async def test_absent_data_is_fine_when_the_type_allows_none(http_factory: MakeHttp) -> None:
    client = client_for(http_factory(lambda r: httpx.Response(200, content=envelope(with_data=False))))
    answer = await client.request("GET", f"{LOCATIONS}/x", module="locations", data_type=Item | None)
    assert answer.data is None


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
)
async def test_connection_problems_raise_client_api_unreachable(
    http_factory: MakeHttp, error: Exception
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    client = client_for(http_factory(fail))
    with pytest.raises(ClientApiUnreachable) as caught:
        await client.get(LOCATIONS, list[Item], module="locations")
    assert caught.value.ocpi_status == 3001
    assert type(error).__name__ in str(caught.value)
    assert caught.value.__cause__ is error


async def test_unsupported_url_raises_client_api_unreachable() -> None:
    # The real transport refuses the scheme before opening any connection.
    async with httpx.AsyncClient() as http:
        client = client_for(http)
        with pytest.raises(ClientApiUnreachable, match="UnsupportedProtocol"):
            await client.get("ftp://partner.example.com/versions", list[Item], module="versions")


# -------------------------------------------------------------------------------------------- pagination

TOTAL = 250
CAP = 100


def paginated_partner(total: int = TOTAL, cap: int = CAP) -> Partner:
    """A CPO serving ``total`` items in index order, ``cap`` per page, Link headers written by hand."""

    def answer(request: httpx.Request) -> httpx.Response:
        query = parse_qs(urlsplit(str(request.url)).query)
        offset = int(query.get("offset", ["0"])[0])
        limit = min(int(query.get("limit", [str(cap)])[0]), cap)
        items = [{"id": f"item-{i}", "n": i} for i in range(offset, min(offset + limit, total))]
        headers = [("X-Total-Count", str(total)), ("X-Limit", str(cap))]
        if offset + limit < total:
            date_from = query["date_from"][0].replace(":", "%3A")
            # several links, odd spacing, unquoted and quoted rel: the client must still find "next"
            headers.append(("Link", f"<{LOCATIONS}?offset={max(offset - limit, 0)}&limit={limit}>;rel=prev"))
            headers.append(
                (
                    "Link",
                    f"<{LOCATIONS}?offset={offset + limit}&limit={limit}&date_from={date_from}"
                    f'&country_code={query["country_code"][0]}>;  rel="next" , '
                    f'<{LOCATIONS}?offset=0>; rel="first"',
                )
            )
        return httpx.Response(200, content=envelope(items), headers=headers)

    return Partner(answer)


async def test_iterate_follows_next_links_until_the_last_page(http_factory: MakeHttp) -> None:
    partner = paginated_partner()
    clock = FixedClock("2026-04-01T08:00:00Z")
    client = client_for(http_factory(partner), clock=clock)
    pages = client.iterate(
        LOCATIONS,
        {"date_from": DateTime.parse("2026-01-01T00:00:00Z"), "country_code": "BE"},
        Item,
        module="locations",
    )
    assert pages.total_count is None
    seen: list[int] = []
    totals: set[int | None] = set()
    async for item in pages:
        seen.append(item.n)
        totals.add(pages.total_count)
    assert seen == list(range(TOTAL))
    assert totals == {TOTAL}
    assert (pages.pages, pages.fetched, pages.limit) == (3, TOTAL, CAP)
    assert pages.started_at == DateTime.parse("2026-04-01T08:00:00Z")

    queries = [parse_qs(urlsplit(str(r.url)).query) for r in partner.requests]
    assert [q.get("offset", ["0"])[0] for q in queries] == ["0", "100", "200"]
    assert all(q["date_from"] == ["2026-01-01T00:00:00Z"] for q in queries)
    assert all(q["country_code"] == ["BE"] for q in queries)
    request_ids = [r.headers["X-Request-ID"] for r in partner.requests]
    assert len(set(request_ids)) == 3
    assert len({r.headers["X-Correlation-ID"] for r in partner.requests}) == 1
    assert all(r.headers["OCPI-to-party-id"] == "CPO" for r in partner.requests)


async def test_iterate_with_a_small_limit_and_an_empty_list(http_factory: MakeHttp) -> None:
    partner = paginated_partner(total=7)
    client = client_for(http_factory(partner))
    params: dict[str, ParamValue] = {"date_from": "2026-01-01T00:00:00Z", "country_code": "BE", "limit": 3}
    assert [i.n async for i in client.iterate(LOCATIONS, params, Item, module="locations")] == list(range(7))
    assert len(partner.requests) == 3

    empty = paginated_partner(total=0)
    pages = client_for(http_factory(empty)).iterate(LOCATIONS, None, Item, module="locations")
    assert [i async for i in pages] == []
    assert (pages.total_count, pages.pages) == (0, 1)


async def test_iterate_resolves_relative_links_and_tolerates_null_pages(http_factory: MakeHttp) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("page") == "2":
            return httpx.Response(200, content=envelope(None))
        return httpx.Response(
            200, content=envelope([{"id": "a", "n": 1}]), headers={"Link": '<locations?page=2>; rel="next"'}
        )

    partner = Partner(answer)
    client = client_for(http_factory(partner))
    assert [i.n async for i in client.iterate(f"{PARTNER}/locations", None, Item, module="locations")] == [1]
    assert str(partner.requests[1].url) == f"{PARTNER}/locations?page=2"


async def test_iterate_stops_on_a_link_loop(http_factory: MakeHttp) -> None:
    partner = Partner(
        lambda r: httpx.Response(
            200,
            content=envelope([{"id": "a", "n": 1}]),
            headers={"Link": f'<{LOCATIONS}?offset=0>; rel="next"'},
        )
    )
    client = client_for(http_factory(partner))
    got: list[int] = []
    with pytest.raises(PartnerError, match="loops"):
        async for item in client.iterate(LOCATIONS, {"offset": 0}, Item, module="locations"):
            got.append(item.n)
    assert len(partner.requests) == 1


async def test_iterate_raises_on_an_error_page(http_factory: MakeHttp) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "offset=1" in str(request.url):
            return httpx.Response(200, content=envelope(status_code=3000, message="db down", with_data=False))
        return httpx.Response(
            200,
            content=envelope([{"id": "a", "n": 0}]),
            headers={"Link": f'<{LOCATIONS}?offset=1>; rel="next"'},
        )

    client = client_for(http_factory(Partner(answer)))
    got: list[int] = []
    with pytest.raises(PartnerError) as caught:
        async for item in client.iterate(LOCATIONS, None, Item, module="locations"):
            got.append(item.n)
    assert got == [0]
    assert caught.value.ocpi_status == 3000
