"""Every module route is served in front of the framework (``_Server.direct``), and gives the same
answers as when Litestar routes it. Versions, a configuration module (credentials: Litestar routes it,
then the same steps serve it) and a method a route does not serve go through Litestar."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.routes.http import HTTPRoute

from evroam.core.codec import encode
from evroam.http import server
from evroam.modules.locations.cli import admin_for
from evroam.modules.locations.validation import parse_locations

from .locations_harness import CPO_TOKEN, EMSP_TOKEN, Harness, location_json, running


class Seen:
    def __init__(self) -> None:
        self.steps: list[str] = []  # the requests the module steps (_Server._direct) served
        self.routed: list[str] = []  # the requests Litestar routed


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Seen:
    out = Seen()
    steps, routed = server._Server._direct, HTTPRoute.handle

    async def spy_steps(self: server._Server, scope: dict[str, object], *args: object) -> None:
        out.steps.append(f"{scope['method']} {scope['path']}")
        await steps(self, scope, *args)  # type: ignore[arg-type]

    async def spy_routed(self: HTTPRoute, scope: Any, receive: Any, send: Any) -> None:
        out.routed.append(f"{scope['method']} {scope['path']}")
        await routed(self, scope, receive, send)

    monkeypatch.setattr(server._Server, "_direct", spy_steps)
    monkeypatch.setattr(HTTPRoute, "handle", spy_routed)
    return out


@pytest.fixture
async def node() -> AsyncIterator[Harness]:
    async with running() as harness:
        yield harness


def theirs(location_id: str) -> dict[str, Any]:
    return location_json(location_id, country_code="BE", party_id="BEC")


async def exchange(h: Harness) -> list[tuple[int, Any]]:
    """A Receiver PUT, a bad PATCH, a GET of it, a Sender page, an unknown token: (status, body)."""
    ours = [location_json(f"O{n}", country_code="NL", party_id="CPO", evses=(f"O{n}-E1",)) for n in range(8)]
    await admin_for(h.node).import_locations(parse_locations(encode(ours), "2.2.1"))
    out = []
    for method, path, token, body in (
        ("PUT", "receiver/locations/BE/BEC/L1", CPO_TOKEN, theirs("L1")),
        ("PATCH", "receiver/locations/BE/BEC/L1/L1-E1", CPO_TOKEN, {"status": "NOPE"}),
        ("GET", "receiver/locations/BE/BEC/L1", CPO_TOKEN, None),
        ("GET", "receiver/locations/BE/BEC/L1/", CPO_TOKEN, None),
        ("GET", "sender/locations?offset=2&limit=3", EMSP_TOKEN, None),
        ("GET", "sender/locations/NOWHERE", EMSP_TOKEN, None),
        ("GET", "sender/locations", "not-a-token", None),
    ):
        response = await h.call(method, path, token=token, body=body)
        payload = response.json()
        payload.pop("timestamp", None)
        out.append((response.status_code, payload))
    return out


async def test_module_routes_go_the_direct_way_and_answer_as_the_framework_route(
    seen: Seen, node: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = await exchange(node)
    assert [line.split(" ", 1)[0] for line in seen.steps] == [
        "PUT",
        "PATCH",
        "GET",
        "GET",
        "GET",
        "GET",
        "GET",
    ]
    assert seen.routed == []
    assert [status for status, _ in served] == [201, 400, 200, 200, 200, 404, 401]
    assert served[2][1]["data"]["id"] == "L1" and served[3][1] == served[2][1]
    assert served[1][1]["status_code"] == 2001
    assert [item["id"] for item in served[4][1]["data"]] == ["O2", "O3", "O4"]

    # the same requests to a node whose module routes Litestar routes: the same answers
    monkeypatch.setattr(server._Server, "direct", lambda self, inner: inner)
    seen.routed.clear()
    async with running() as framework_only:
        assert await exchange(framework_only) == served
    assert len(seen.routed) == len(served)


async def test_versions_credentials_and_other_methods_go_through_the_framework(
    seen: Seen, node: Harness
) -> None:
    versions = await node.client.get("/ocpi/versions", headers=node.auth(EMSP_TOKEN, "2.2.1"))
    credentials = await node.call("GET", "credentials", token=EMSP_TOKEN)
    not_allowed = await node.call("POST", "sender/locations", token=EMSP_TOKEN, body={})
    assert versions.status_code == 200 and credentials.status_code == 200
    assert credentials.json()["data"]["token"]
    assert not_allowed.status_code == 405 and "GET" in not_allowed.headers["allow"]
    assert not_allowed.json()["status_code"] == 2000
    assert seen.routed == ["GET /ocpi/versions", "GET /ocpi/2.2.1/credentials"]  # the 405: Litestar's router
    assert seen.steps == ["GET /ocpi/2.2.1/credentials"]  # Litestar routed it, the module steps served it
