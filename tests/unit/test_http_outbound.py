"""The outbound HTTP client's safety: which redirects it follows, and which destinations it refuses."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from evroam.core.clock import FixedClock, SequentialIds
from evroam.core.errors import ClientApiUnreachable, DestinationRefused, PartnerError, RedirectRefused
from evroam.http import outbound as outbound_module
from evroam.http.client import MAX_REDIRECTS, OcpiClient, create_http_client
from evroam.http.outbound import OutboundPolicy, is_public_address, outbound_policy
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import build_node
from evroam.ocpi.table import VersionSpec
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.store.memory import MemoryStore

V211 = VersionSpec(
    number="2.1.1", modules={}, token_base64=False, routing_headers=False, endpoint_roles=False
)
STAMP = "2026-03-01T12:00:00Z"
CREDENTIALS = "https://partner.example.com/ocpi/2.1.1/credentials"
OK = json.dumps({"status_code": 1000, "timestamp": STAMP, "data": {"ok": True}}).encode()


class Recorder:
    def __init__(self, answer: Callable[[httpx.Request, int], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[tuple[str, str, bytes, str | None]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(
            (request.method, str(request.url), request.read(), request.headers.get("authorization"))
        )
        return self.answer(request, len(self.requests))


def redirect(status: int, location: str) -> httpx.Response:
    return httpx.Response(status, headers={"Location": location})


@pytest.fixture
async def opened() -> AsyncIterator[list[httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []
    yield clients
    for client in clients:
        await client.aclose()


def ocpi(http: httpx.AsyncClient) -> OcpiClient:
    return OcpiClient(
        http,
        spec=V211,
        token="our-token",
        token_encoding=TokenEncoding.RAW,
        us=PartyRef.of("NL", "EMP"),
        them=None,
        ids=SequentialIds("t"),
        clock=FixedClock(STAMP),
    )


def client_for(recorder: Recorder, opened: list[httpx.AsyncClient], **kwargs: Any) -> OcpiClient:
    http = create_http_client(transport=httpx.MockTransport(recorder), **kwargs)
    opened.append(http)
    return ocpi(http)


# -- redirects ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [307, 308])
async def test_a_307_or_308_to_the_same_host_is_followed_with_method_and_body(
    status: int, opened: list[httpx.AsyncClient]
) -> None:
    def answer(request: httpx.Request, n: int) -> httpx.Response:
        return redirect(status, "/ocpi/2.1.1/credentials/") if n == 1 else httpx.Response(200, content=OK)

    partner = Recorder(answer)
    got = await client_for(partner, opened).post(CREDENTIALS, {"token": "x"}, dict, module="credentials")
    assert got == {"ok": True}
    assert [(m, u) for m, u, _, _ in partner.requests] == [
        ("POST", CREDENTIALS),
        ("POST", CREDENTIALS + "/"),
    ]
    assert partner.requests[0][2] == partner.requests[1][2] == b'{"token":"x"}'
    assert partner.requests[1][3] == "Token our-token"


@pytest.mark.parametrize(
    "location",
    [
        "https://elsewhere.example.net/ocpi/2.1.1/credentials/",
        "http://partner.example.com/ocpi/2.1.1/credentials/",  # https -> http
        "https://partner.example.com:8443/ocpi/2.1.1/credentials/",
    ],
)
async def test_a_redirect_to_another_origin_is_refused(
    location: str, opened: list[httpx.AsyncClient]
) -> None:
    partner = Recorder(
        lambda request, n: redirect(307, location) if n == 1 else httpx.Response(200, content=OK)
    )
    with pytest.raises(RedirectRefused, match="same scheme, host and port"):
        await client_for(partner, opened).post(CREDENTIALS, {"token": "x"}, dict, module="credentials")
    assert len(partner.requests) == 1  # our token never went there


async def test_at_most_three_redirects_are_followed(opened: list[httpx.AsyncClient]) -> None:
    partner = Recorder(lambda request, n: redirect(308, f"/ocpi/2.1.1/credentials/{n}"))
    with pytest.raises(RedirectRefused, match=f"more than {MAX_REDIRECTS} redirects"):
        await client_for(partner, opened).put(CREDENTIALS, {"token": "x"}, dict, module="credentials")
    assert len(partner.requests) == 1 + MAX_REDIRECTS


@pytest.mark.parametrize("status", [301, 302, 303])
async def test_301_302_303_are_not_followed_for_a_post(status: int, opened: list[httpx.AsyncClient]) -> None:
    partner = Recorder(lambda request, n: redirect(status, "/ocpi/2.1.1/credentials/"))
    with pytest.raises(PartnerError) as caught:
        await client_for(partner, opened).post(CREDENTIALS, {"token": "x"}, dict, module="credentials")
    assert caught.value.http_status == status and len(partner.requests) == 1


async def test_a_301_on_a_get_is_followed(opened: list[httpx.AsyncClient]) -> None:
    partner = Recorder(
        lambda request, n: redirect(301, CREDENTIALS + "/") if n == 1 else httpx.Response(200, content=OK)
    )
    assert await client_for(partner, opened).get(CREDENTIALS, dict, module="credentials") == {"ok": True}
    assert [m for m, _, _, _ in partner.requests] == ["GET", "GET"]


# -- the outbound policy --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("own_url", "denies"),
    [
        ("https://ocpi.acme-roaming.com", True),
        ("http://8.8.8.8:8100", True),
        ("http://127.0.0.1:8100", False),
        ("http://[::1]:8100", False),
        ("http://10.1.2.3", False),
        ("http://192.168.1.20:8100", False),
        ("http://localhost:8100", False),
        ("http://node.test", False),
        ("http://cpo", False),
    ],
)
def test_auto_denies_private_destinations_only_when_the_node_is_public(own_url: str, denies: bool) -> None:
    assert outbound_policy("auto", own_url).deny_private is denies
    assert outbound_policy("deny", own_url).deny_private is True
    assert outbound_policy("allow", own_url).deny_private is False


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="allow, deny, auto"):
        outbound_policy("sometimes", "http://127.0.0.1")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("127.0.0.1", False),
        ("10.0.0.5", False),
        ("172.16.3.4", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def resolver(table: dict[str, list[str]], seen: list[str]) -> Callable[[str, int], Any]:
    async def resolve(host: str, port: int) -> list[str]:
        seen.append(host)
        if host not in table:
            raise OSError("Name or service not known")
        return table[host]

    return resolve


DENY = OutboundPolicy(deny_private=True, setting="deny")


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://metadata.evil.example.com/latest", ["169.254.169.254"]),
        ("http://db.evil.example.com:5432/", ["93.184.216.34", "127.0.0.1"]),  # every address counts
        ("http://127.0.0.1:8100/ocpi/versions", ["127.0.0.1"]),
        ("http://[::1]:8100/ocpi/versions", ["::1"]),
    ],
)
async def test_deny_refuses_any_non_public_address_before_connecting(
    url: str, addresses: list[str], opened: list[httpx.AsyncClient]
) -> None:
    partner = Recorder(lambda request, n: httpx.Response(200, content=OK))
    host = httpx.URL(url).host
    client = client_for(partner, opened, outbound=DENY, resolve=resolver({host: addresses}, []))
    with pytest.raises(DestinationRefused, match="not a public address"):
        await client.get(url, dict, module="versions")
    assert partner.requests == []


async def test_deny_lets_public_destinations_through_and_checks_every_hop(
    opened: list[httpx.AsyncClient],
) -> None:
    partner = Recorder(
        lambda request, n: redirect(307, CREDENTIALS + "/") if n == 1 else httpx.Response(200, content=OK)
    )
    looked_up: list[str] = []
    table = {"partner.example.com": ["93.184.216.34"]}
    client = client_for(partner, opened, outbound=DENY, resolve=resolver(table, looked_up))
    assert await client.post(CREDENTIALS, {"token": "x"}, dict, module="credentials") == {"ok": True}
    assert looked_up == ["partner.example.com", "partner.example.com"]


async def test_a_name_that_does_not_resolve_is_unreachable(opened: list[httpx.AsyncClient]) -> None:
    partner = Recorder(lambda request, n: httpx.Response(200, content=OK))
    client = client_for(partner, opened, outbound=DENY, resolve=resolver({}, []))
    with pytest.raises(ClientApiUnreachable, match="cannot resolve"):
        await client.get("http://nowhere.example.com/x", dict, module="versions")


async def test_the_request_goes_to_the_address_that_was_checked(
    opened: list[httpx.AsyncClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over a real socket: the name is resolved once, checked, and the connection made to that address
    with the name kept in ``Host`` (a second lookup cannot point elsewhere)."""
    heads: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(OK), OK))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # treat loopback as public here, so that the checked address can be a local test server
    monkeypatch.setattr(outbound_module, "is_public_address", lambda address: True)
    http = create_http_client(outbound=DENY, resolve=resolver({"partner.example.com": ["127.0.0.1"]}, []))
    opened.append(http)
    try:
        got = await ocpi(http).get(
            f"http://partner.example.com:{port}/ocpi/versions", dict, module="versions"
        )
    finally:
        server.close()
        await server.wait_closed()
    assert got == {"ok": True}
    assert f"host: partner.example.com:{port}".encode() in heads[0].lower()


async def test_a_public_node_refuses_to_register_with_a_loopback_partner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVROAM_OUTBOUND_PRIVATE", raising=False)
    config = NodeConfig(
        url="https://ocpi.acme-roaming.com",
        parties=[PartyConfig(country_code="NL", party_id="CPO", role="CPO", name="NL CPO")],
    )
    node = build_node(Settings(data_dir=tmp_path), config=config, store=MemoryStore())
    try:
        await node.start()
        with pytest.raises(
            ClientApiUnreachable, match=r"127\.0\.0\.1, which is not a public address"
        ) as caught:
            await node.registration.register("http://127.0.0.1:9/ocpi/versions", "token-a", name="evil")
        assert isinstance(caught.value.__cause__, DestinationRefused)
    finally:
        await node.close()
