"""The hub's forwarding routes are served in front of the framework (``_Server.direct``): the same
checks, answers, errors, metrics and log line as every other route."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from evroam.http import server
from evroam.metrics import exposition

from .test_hub_routing import HUB, Network, envelope, hub_network


@pytest.fixture
async def net(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Network]:
    monkeypatch.setenv("EVROAM_MAX_BODY_BYTES", "4096")
    async with hub_network() as network:
        yield network


@pytest.fixture
def direct(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the direct path served (it must serve the forwarding routes, not the framework)."""
    served: list[str] = []
    inner = server._Server._direct

    async def spy(self: server._Server, scope: dict[str, object], *args: object) -> None:
        served.append(str(scope["path"]))
        await inner(self, scope, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(server._Server, "_direct", spy)
    return served


def auth(who: str) -> str:
    return "Token " + base64.b64encode(f"{who}-token-at-hub".encode()).decode()


async def test_a_forwarded_request_goes_the_direct_way_with_its_query_and_trailing_slash(
    net: Network, direct: list[str]
) -> None:
    net.answer["http://cpo1.test/"] = lambda r: httpx.Response(200, json=envelope({"id": "LOC1"}))
    response = await net.call("GET", "sender/locations/LOC1/?x=1&x=2&y=", "emsp1", to=("NL", "CP1"))
    assert response.json()["data"] == {"id": "LOC1"}
    assert direct == ["/ocpi/2.2.1/sender/locations/LOC1/"]
    [sent] = net.received("cpo1.test")
    assert sent.url.path == "/sender/locations/LOC1" and sent.url.params.multi_items() == [
        ("x", "1"),
        ("y", ""),
    ]
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)


async def test_a_body_over_the_limit_is_413_and_closes_the_connection_nothing_forwarded(
    net: Network, direct: list[str]
) -> None:
    body = {"status": "CHARGING", "padding": "x" * 5000}
    response = await net.call("PATCH", "receiver/locations/NL/CP1/L1/E1", "cpo1", to=("NL", "HUB"), body=body)
    assert (response.status_code, response.json()["status_code"]) == (413, 2000)
    assert response.headers["connection"] == "close"
    assert "EVROAM_MAX_BODY_BYTES" in response.json()["status_message"]
    assert net.seen == [] and direct == ["/ocpi/2.2.1/receiver/locations/NL/CP1/L1/E1"]


async def test_a_body_sent_in_chunks_past_the_limit_is_413_too(net: Network) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * 1000

    response = await net.client.request(
        "PATCH",
        "/ocpi/2.2.1/receiver/locations/NL/CP1/L1/E1",
        headers={"Authorization": auth("cpo1"), "Content-Type": "application/json"},
        content=chunks(),
    )
    assert (response.status_code, response.json()["status_code"]) == (413, 2000)
    assert net.seen == []


async def test_an_unknown_token_is_401_with_www_authenticate_and_echoed_ids(net: Network) -> None:
    response = await net.client.request(
        "PATCH",
        "/ocpi/2.2.1/receiver/locations/NL/CP1/L1/E1",
        headers={
            "Authorization": auth("nobody"),
            "X-Request-ID": "r-9",
            "X-Correlation-ID": "c-9",
            "Content-Type": "application/json",
        },
        content=b'{"status": "CHARGING"}',
    )
    assert (response.status_code, response.json()["status_code"]) == (401, 2000)
    assert response.headers["www-authenticate"] == "Token"
    assert (response.headers["x-request-id"], response.headers["x-correlation-id"]) == ("r-9", "c-9")
    assert response.headers["connection"] == "close"  # answered before its body was read
    assert net.seen == []


async def test_malformed_routing_headers_are_refused_before_anything_is_forwarded(net: Network) -> None:
    response = await net.call(
        "GET",
        "sender/locations/LOC1",
        "emsp1",
        headers={"OCPI-to-country-code": "NLD", "OCPI-to-party-id": "CP1"},
    )
    assert response.status_code == 400 and response.json()["status_code"] == 2001
    assert "OCPI-to-country-code" in response.json()["status_message"]
    assert net.seen == []


async def test_methods_the_route_does_not_serve_are_left_to_the_framework(
    net: Network, direct: list[str]
) -> None:
    response = await net.call("DELETE", "sender/locations/LOC1", "emsp1", to=("NL", "CP1"))
    assert (response.status_code, response.json()["status_code"]) == (405, 2000)
    assert "GET" in response.headers["allow"]
    assert direct == []
    versions = await net.client.get("/ocpi/versions", headers={"Authorization": auth("emsp1")})
    assert versions.json()["status_code"] == 1000 and direct == []


async def test_a_failure_inside_the_handler_is_500_3000_and_logged(
    net: Network, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(call: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(net.node.hub().router, "handle", broken)
    # the routes hold the bound method made when the app was built: rebuild the app around the patch
    app = net.node.app(worker=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=HUB) as client:
        with caplog.at_level(logging.ERROR, logger="evroam.http.server"):
            response = await client.get(
                "/ocpi/2.2.1/sender/locations/LOC1",
                headers={
                    "Authorization": auth("emsp1"),
                    "OCPI-to-country-code": "NL",
                    "OCPI-to-party-id": "CP1",
                },
            )
    assert (response.status_code, response.json()["status_code"]) == (500, 3000)
    assert any(
        "unexpected error on GET /ocpi/2.2.1/sender/locations/LOC1" in r.getMessage() for r in caplog.records
    )


async def test_the_direct_way_is_counted_and_logged_like_every_request(
    net: Network, caplog: pytest.LogCaptureFixture
) -> None:
    net.answer["http://cpo1.test/"] = lambda r: httpx.Response(200, json=envelope({"id": "LOC1"}))
    before = exposition().decode()
    with caplog.at_level(logging.INFO, logger="evroam.access"):
        await net.call("GET", "sender/locations/LOC1", "emsp1", to=("NL", "CP1"))
    [line] = [r for r in caplog.records if r.name == "evroam.access"]
    fields = line.access  # type: ignore[attr-defined]
    assert (fields["module"], fields["role"], fields["version"], fields["partner"]) == (
        "locations",
        "SENDER",
        "2.2.1",
        "emsp1",
    )
    assert (fields["status"], fields["request_id"], fields["correlation_id"]) == (200, "req-1", "corr-1")

    def count(text: str) -> float:
        wanted = 'module="locations",role="SENDER",version="2.2.1",method="GET",status="200"'
        for row in text.splitlines():
            if row.startswith("evroam_http_requests_total{") and all(p in row for p in wanted.split(",")):
                return float(row.rsplit(" ", 1)[1])
        return 0.0

    assert count(exposition().decode()) == count(before) + 1
    assert json.loads((await net.call("GET", "hubclientinfo", "emsp1")).content)["status_code"] == 1000
