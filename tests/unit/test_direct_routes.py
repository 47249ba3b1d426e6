"""Every module route is served in front of the framework (``_Server.direct``); the framework's own route
for it gives the same answers. Versions, credentials and a method a route does not serve still go
through Litestar."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from evroam.core.codec import encode
from evroam.http import server
from evroam.modules.locations.cli import admin_for
from evroam.modules.locations.validation import parse_locations

from .locations_harness import CPO_TOKEN, EMSP_TOKEN, Harness, location_json, running


@pytest.fixture
def direct(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the direct path served."""
    served: list[str] = []
    inner = server._Server._direct

    async def spy(self: server._Server, scope: dict[str, object], *args: object) -> None:
        served.append(f"{scope['method']} {scope['path']}")
        await inner(self, scope, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(server._Server, "_direct", spy)
    return served


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
    node: Harness, direct: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    served = await exchange(node)
    assert [line.split(" ", 1)[0] for line in direct] == ["PUT", "PATCH", "GET", "GET", "GET", "GET", "GET"]
    assert [status for status, _ in served] == [201, 400, 200, 200, 200, 404, 401]
    assert served[2][1]["data"]["id"] == "L1" and served[3][1] == served[2][1]
    assert served[1][1]["status_code"] == 2001
    assert [item["id"] for item in served[4][1]["data"]] == ["O2", "O3", "O4"]

    # the same requests to a node served by Litestar alone: the same answers
    direct.clear()
    monkeypatch.setattr(server._Server, "direct", lambda self, inner: inner)
    async with running() as framework_only:
        assert await exchange(framework_only) == served
    assert direct == []


async def test_versions_credentials_and_other_methods_go_through_the_framework(
    node: Harness, direct: list[str]
) -> None:
    versions = await node.client.get("/ocpi/versions", headers=node.auth(EMSP_TOKEN, "2.2.1"))
    credentials = await node.call("GET", "credentials", token=EMSP_TOKEN)
    not_allowed = await node.call("POST", "sender/locations", token=EMSP_TOKEN, body={})
    assert versions.status_code == 200 and credentials.status_code == 200
    assert not_allowed.status_code == 405 and "GET" in not_allowed.headers["allow"]
    assert direct == []
