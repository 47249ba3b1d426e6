"""The hub's routing, in-process: the hub node's app over httpx, its platforms played by a mock transport.

Platforms: ``cpo1`` (NL*CP1), ``cpo2`` (NL*CP2), ``emsp1`` (DE*MS1), ``emsp2`` (DE*MS2), all REGISTERED
with the hub ``NL*HUB`` (OCPI 2.2.1)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from evroam.hub import load_state
from evroam.model.enums import ConnectionStatus
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import Node, build_node
from evroam.registration.model import (
    IssuedToken,
    Partner,
    PartnerEndpoint,
    PartnerStatus,
    PartyRole,
    TokenUse,
    token_digest,
)
from evroam.registration.repository import StorePartnerRepository
from evroam.store.factory import create_store
from evroam.store.port import Store
from evroam.testing import FixedClock, MemoryStore, SequentialIds

HUB = "http://hub.test"
T = "2026-03-01T12:00:00Z"

PLATFORMS = {
    "cpo1": ("NL", "CP1", "CPO"),
    "cpo2": ("NL", "CP2", "CPO"),
    "emsp1": ("DE", "MS1", "EMSP"),
    "emsp2": ("DE", "MS2", "EMSP"),
}
CPO_ENDPOINTS = (
    ("locations", "SENDER"),
    ("tokens", "RECEIVER"),
    ("commands", "RECEIVER"),
    ("hubclientinfo", "RECEIVER"),
)
EMSP_ENDPOINTS = (
    ("locations", "RECEIVER"),
    ("sessions", "RECEIVER"),
    ("tokens", "SENDER"),
    ("commands", "SENDER"),
    ("hubclientinfo", "RECEIVER"),
)


def envelope(data: Any = None, status: int = 1000) -> dict[str, Any]:
    out: dict[str, Any] = {"status_code": status, "timestamp": T}
    if data is not None:
        out["data"] = data
    return out


def platform(name: str, now: Any) -> Partner:
    cc, pid, role = PLATFORMS[name]
    endpoints = CPO_ENDPOINTS if role == "CPO" else EMSP_ENDPOINTS
    return Partner(
        id=f"p-{name}",
        name=name,
        status=PartnerStatus.REGISTERED,
        initiated_by="them",
        created=now,
        updated=now,
        version="2.2.1",
        versions_url=f"http://{name}.test/versions",
        token=f"hub-token-at-{name}",
        roles=(PartyRole(role=role, country_code=cc, party_id=pid, name=name),),
        endpoints=tuple(
            PartnerEndpoint(module=m, role=r, url=f"http://{name}.test/{r.lower()}/{m}") for m, r in endpoints
        ),
        issued=(token_digest(f"{name}-token-at-hub"),),
    )


@dataclass
class Network:
    """The hub node, a client of its app, and what the platforms received."""

    node: Node
    client: httpx.AsyncClient
    seen: list[httpx.Request] = field(default_factory=list)
    answer: dict[str, Callable[[httpx.Request], httpx.Response]] = field(default_factory=dict)

    async def call(
        self,
        method: str,
        path: str,
        who: str,
        *,
        to: tuple[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        cc, pid, _ = PLATFORMS[who]
        sent = {
            "Authorization": "Token " + base64.b64encode(f"{who}-token-at-hub".encode()).decode(),
            "OCPI-from-country-code": cc,
            "OCPI-from-party-id": pid,
            "X-Request-ID": "req-1",
            "X-Correlation-ID": "corr-1",
        }
        if to is not None:
            sent.update({"OCPI-to-country-code": to[0], "OCPI-to-party-id": to[1]})
        sent.update(headers or {})
        content = None if body is None else json.dumps(body).encode()
        if content is not None:
            sent["Content-Type"] = "application/json"
        return await self.client.request(method, f"/ocpi/2.2.1/{path}", headers=sent, content=content)

    def received(self, host: str) -> list[httpx.Request]:
        return [r for r in self.seen if r.url.host == host]


@pytest.fixture
async def net() -> AsyncIterator[Network]:
    async with hub_network() as network:
        yield network


async def seeded(store: Store) -> Store:
    """``store`` migrated, with the four platforms registered."""
    clock = FixedClock(T)
    await store.migrate()
    now = clock.now()
    partners = [platform(name, now) for name in PLATFORMS]
    await StorePartnerRepository(store, clock).commit(
        save=partners,
        issue=[
            IssuedToken(digest=p.issued[0], partner_id=p.id, use=TokenUse.PEER, issued_at=now)
            for p in partners
        ],
    )
    return store


@asynccontextmanager
async def hub_network(store: Store | None = None) -> AsyncIterator[Network]:
    """The hub node with its four platforms (also used by profiling scripts); on ``store`` when given
    (a store :func:`seeded`, or the store of an earlier hub process: a restart)."""
    clock = FixedClock(T)
    if store is None:
        store = await seeded(MemoryStore())
    holder: list[Network] = []

    def handler(request: httpx.Request) -> httpx.Response:
        network = holder[0]
        network.seen.append(request)
        for prefix, answer in network.answer.items():
            if str(request.url).startswith(prefix):
                return answer(request)
        return httpx.Response(200, json=envelope())

    config = NodeConfig(
        url=HUB,
        parties=[PartyConfig(country_code="NL", party_id="HUB", role="HUB", name="The hub")],
        versions=["2.2.1"],
    )
    node = build_node(
        Settings(data_dir=Path("unused")),
        config=config,
        store=store,
        clock=clock,
        ids=SequentialIds("h"),
        transport=httpx.MockTransport(handler),
    )
    app = node.app(worker=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=HUB) as client:
        network = Network(node, client)
        holder.append(network)
        await node.hub().parties.refresh()
        try:
            yield network
        finally:
            await node.http.aclose()


async def test_a_request_is_forwarded_by_its_to_headers_with_a_new_request_id(net: Network) -> None:
    answer = envelope({"id": "LOC1", "country_code": "NL", "party_id": "CP1"})
    raw = json.dumps(answer).encode()
    net.answer["http://cpo1.test/sender/locations/LOC1"] = lambda r: httpx.Response(200, content=raw)
    response = await net.call("GET", "sender/locations/LOC1", "emsp1", to=("NL", "CP1"))

    assert response.status_code == 200 and response.content == raw  # the partner's envelope, untouched
    [sent] = net.received("cpo1.test")
    assert sent.url.path == "/sender/locations/LOC1"
    assert sent.headers["Authorization"] == "Token " + base64.b64encode(b"hub-token-at-cpo1").decode()
    assert sent.headers["X-Correlation-ID"] == "corr-1" and sent.headers["X-Request-ID"] != "req-1"
    assert (sent.headers["OCPI-from-country-code"], sent.headers["OCPI-from-party-id"]) == ("DE", "MS1")
    assert (sent.headers["OCPI-to-country-code"], sent.headers["OCPI-to-party-id"]) == ("NL", "CP1")
    # the caller's ids echoed, routing swapped
    assert response.headers["X-Request-ID"] == "req-1" and response.headers["X-Correlation-ID"] == "corr-1"
    assert response.headers["OCPI-from-party-id"] == "CP1" and response.headers["OCPI-to-party-id"] == "MS1"


async def test_the_receivers_error_answer_comes_back_as_it_is(net: Network) -> None:
    net.answer["http://cpo1.test/"] = lambda r: httpx.Response(404, json=envelope(status=2003))
    response = await net.call("GET", "sender/locations/NOPE", "emsp1", to=("NL", "CP1"))
    assert (response.status_code, response.json()["status_code"]) == (404, 2003)


async def test_unknown_receiver_is_4001(net: Network) -> None:
    response = await net.call("GET", "sender/locations/LOC1", "emsp1", to=("FR", "XYZ"))
    assert response.json()["status_code"] == 4001
    assert net.seen == []


async def test_a_receiver_that_is_not_connected_is_4003_and_nothing_is_sent(net: Network) -> None:
    net.node.hub().parties.platforms["p-cpo1"].status = ConnectionStatus.OFFLINE
    response = await net.call("GET", "sender/locations/LOC1", "emsp1", to=("NL", "CP1"))
    assert response.json()["status_code"] == 4003
    assert net.seen == []


async def test_a_timeout_is_4002_and_a_connection_failure_4003(net: Network) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("too slow", request=request)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    net.answer["http://cpo1.test/"] = slow
    net.answer["http://cpo2.test/"] = down
    timed_out = await net.call("GET", "sender/locations/LOC1", "emsp1", to=("NL", "CP1"))
    refused = await net.call("GET", "sender/locations/LOC1", "emsp1", to=("NL", "CP2"))
    assert timed_out.json()["status_code"] == 4002 and refused.json()["status_code"] == 4003


async def test_a_push_to_the_hub_is_broadcast_to_every_party_of_the_opposite_role(net: Network) -> None:
    body = {"status": "CHARGING", "last_updated": T}
    response = await net.call(
        "PATCH", "receiver/locations/NL/CP1/LOC1/E1", "cpo1", to=("NL", "HUB"), body=body
    )
    assert response.json()["status_code"] == 1000
    sent = {r.url.host: r for r in net.seen}
    assert sorted(sent) == ["emsp1.test", "emsp2.test"]  # not the other CPO, not the sender
    for host, party in (("emsp1.test", "MS1"), ("emsp2.test", "MS2")):
        request = sent[host]
        assert (
            request.url.path == "/receiver/locations/NL/CP1/LOC1/E1" and json.loads(request.content) == body
        )
        assert request.headers["OCPI-from-party-id"] == "HUB" and request.headers["OCPI-to-party-id"] == party


async def test_a_broadcast_that_fails_somewhere_says_where(net: Network) -> None:
    net.answer["http://emsp2.test/"] = lambda r: httpx.Response(400, json=envelope(status=2001))
    response = await net.call("PUT", "receiver/locations/NL/CP1/LOC1", "cpo1", to=("NL", "HUB"), body={})
    assert response.json()["status_code"] == 4000 and "DE*MS2" in response.json()["status_message"]


async def test_get_all_through_the_hub_merges_every_party_and_paginates(net: Network) -> None:
    def pages(cpo: str, stamps: list[str]) -> Callable[[httpx.Request], httpx.Response]:
        def answer(request: httpx.Request) -> httpx.Response:
            offset = int(request.url.params.get("offset", "0"))
            data = [{"id": f"{cpo}-{offset}", "last_updated": stamps[offset]}]
            headers = {"X-Total-Count": str(len(stamps))}
            if offset + 1 < len(stamps):
                headers["Link"] = (
                    f'<http://{cpo}.test/sender/locations?offset={offset + 1}&limit=1>; rel="next"'
                )
            return httpx.Response(200, json=envelope(data), headers=headers)

        return answer

    net.answer["http://cpo1.test/"] = pages("cpo1", ["2026-01-01T00:00:00Z", "2026-01-03T00:00:00Z"])
    net.answer["http://cpo2.test/"] = pages("cpo2", ["2026-01-02T00:00:00Z", "2026-01-04T00:00:00Z"])
    first = await net.call("GET", "sender/locations?limit=3", "emsp1", to=("NL", "HUB"))
    assert first.headers["X-Total-Count"] == "4"
    assert [o["id"] for o in first.json()["data"]] == ["cpo1-0", "cpo2-0", "cpo1-1"]
    link = first.headers["Link"]
    assert link.startswith(f"<{HUB}/ocpi/2.2.1/sender/locations?") and "offset=3" in link
    second = await net.call("GET", "sender/locations?offset=3&limit=3", "emsp1", to=("NL", "HUB"))
    assert [o["id"] for o in second.json()["data"]] == ["cpo2-1"] and "Link" not in second.headers
    assert len(net.seen) == 4  # the second page came from the merged list, not from the CPOs again


async def test_a_commands_result_comes_back_through_the_hub(net: Network) -> None:
    command = {"response_url": "http://emsp1.test/results/42", "token": {}, "location_id": "LOC1"}
    net.answer["http://cpo1.test/"] = lambda r: httpx.Response(
        200, json=envelope({"result": "ACCEPTED", "timeout": 30})
    )
    response = await net.call(
        "POST", "receiver/commands/START_SESSION", "emsp1", to=("NL", "CP1"), body=command
    )
    assert response.json()["data"]["result"] == "ACCEPTED"
    [forwarded] = net.received("cpo1.test")
    ours = json.loads(forwarded.content)["response_url"]
    assert ours.startswith(f"{HUB}/ocpi/2.2.1/sender/commands/") and ours != command["response_url"]

    result = {"result": "ACCEPTED"}
    posted = await net.call(
        "POST", ours[len(HUB) + len("/ocpi/2.2.1/") :], "cpo1", to=("DE", "MS1"), body=result
    )
    assert posted.json()["status_code"] == 1000
    [relayed] = net.received("emsp1.test")
    assert str(relayed.url) == "http://emsp1.test/results/42" and json.loads(relayed.content) == result
    assert relayed.headers["OCPI-to-party-id"] == "MS1"


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_commands_result_after_a_restart_of_the_hub_still_reaches_the_emsp(
    kind: str, tmp_path: Path
) -> None:
    store = await seeded(MemoryStore() if kind == "memory" else create_store(data_dir=tmp_path))
    command = {"response_url": "http://emsp1.test/results/7", "token": {}, "location_id": "LOC1"}
    async with hub_network(store) as net:
        net.answer["http://cpo1.test/"] = lambda r: httpx.Response(
            200, json=envelope({"result": "ACCEPTED", "timeout": 30})
        )
        await net.call("POST", "receiver/commands/START_SESSION", "emsp1", to=("NL", "CP1"), body=command)
        [forwarded] = net.received("cpo1.test")
        ours = json.loads(forwarded.content)["response_url"]
        first_hub = net.node.hub()

    try:
        async with hub_network(store) as restarted:  # a new hub node on the same store
            assert restarted.node.hub() is not first_hub
            result = {"result": "ACCEPTED"}
            posted = await restarted.call(
                "POST", ours[len(HUB) + len("/ocpi/2.2.1/") :], "cpo1", to=("DE", "MS1"), body=result
            )
            assert posted.json()["status_code"] == 1000
            [relayed] = restarted.received("emsp1.test")
            assert str(relayed.url) == "http://emsp1.test/results/7"
            assert json.loads(relayed.content) == result
            assert (relayed.headers["OCPI-to-country-code"], relayed.headers["OCPI-to-party-id"]) == (
                "DE",
                "MS1",
            )

            # kept a day, then forgotten at a liveness round
            clock = restarted.node.clock
            assert isinstance(clock, FixedClock)
            clock.advance(86_401)
            assert await restarted.node.hub().router.forget_relays() == 1
            again = await restarted.call(
                "POST", ours[len(HUB) + len("/ocpi/2.2.1/") :], "cpo1", to=("DE", "MS1"), body=result
            )
            assert again.json()["status_code"] == 4001
    finally:
        await store.close()


async def test_client_info_is_pushed_when_a_platform_goes_offline_and_listed_on_get(net: Network) -> None:
    hub = net.node.hub()
    hub.settings = type(hub.settings)(silence=300.0, tick=30.0, timeout=1.0)
    clock = net.node.clock
    assert isinstance(clock, FixedClock)
    down = {"emsp2.test"}

    def versions(request: httpx.Request) -> httpx.Response:
        if request.url.host in down:
            raise httpx.ConnectError("down", request=request)
        return httpx.Response(200, json=envelope([]))

    def probes() -> list[str]:
        return sorted(r.url.host for r in net.seen if r.url.path == "/versions")

    for name in PLATFORMS:
        net.answer[f"http://{name}.test/versions"] = versions
    # not silent long enough: nobody is probed
    clock.advance(299)
    await hub.tick()
    assert probes() == [] and hub.parties.platforms["p-emsp2"].status is ConnectionStatus.CONNECTED
    # eMSP 1 calls the hub meanwhile: it is not silent, the three others are probed
    await net.call("GET", "hubclientinfo", "emsp1")
    clock.advance(1)
    await hub.tick()
    assert probes() == ["cpo1.test", "cpo2.test", "emsp2.test"]
    assert hub.parties.platforms["p-emsp2"].status is ConnectionStatus.OFFLINE
    pushed = [r for r in net.seen if r.method == "PUT" and "hubclientinfo" in r.url.path]
    assert sorted({r.url.host for r in pushed}) == ["cpo1.test", "cpo2.test", "emsp1.test"]
    assert all(
        r.url.path.endswith("/DE/MS2") and json.loads(r.content)["status"] == "OFFLINE" for r in pushed
    )
    listing = await net.call("GET", "hubclientinfo", "cpo1")
    rows = {(i["country_code"], i["party_id"]): i["status"] for i in listing.json()["data"]}
    assert rows[("DE", "MS2")] == "OFFLINE" and rows[("DE", "MS1")] == "CONNECTED"
    state = await load_state(net.node.store)
    assert state is not None
    contact = {p.partner_id: p.last_contact for p in state.platforms}
    assert contact["p-cpo1"] == "2026-03-01T12:05:00Z"  # the probe's answer, by the hub's clock

    # back: probed again at the next round (a failed probe leaves it silent), CONNECTED, pushed
    down.clear()
    net.seen.clear()
    clock.advance(30)
    await hub.tick()
    assert probes() == ["emsp2.test"]
    assert hub.parties.platforms["p-emsp2"].status is ConnectionStatus.CONNECTED
    pushed = [r for r in net.seen if r.method == "PUT" and "hubclientinfo" in r.url.path]
    assert pushed and all(json.loads(r.content)["status"] == "CONNECTED" for r in pushed)


async def test_a_session_pushed_without_to_goes_to_its_tokens_emsp_only(net: Network) -> None:
    session = {"id": "S1", "cdr_token": {"country_code": "DE", "party_id": "MS2", "uid": "T"}}
    response = await net.call("PUT", "receiver/sessions/NL/CP1/S1", "cpo1", body=session)
    assert response.json()["status_code"] == 1000
    [sent] = net.seen
    assert sent.url.host == "emsp2.test" and sent.headers["OCPI-to-party-id"] == "MS2"


async def test_get_all_asks_each_party_of_a_platform_hosting_several(net: Network) -> None:
    hub = net.node.hub()
    cpo1 = hub.parties.platforms["p-cpo1"].partner
    two = PartyRole(role="CPO", country_code="NL", party_id="CP3", name="white label")
    await StorePartnerRepository(net.node.store, net.node.clock).commit(
        save=[msgspec.structs.replace(cpo1, roles=(*cpo1.roles, two))]
    )
    await hub.parties.refresh()

    def everything(request: httpx.Request) -> httpx.Response:
        # a platform that answers for all its parties, whichever OCPI-to names
        data = [
            {"country_code": "NL", "party_id": "CP3", "id": "L3", "last_updated": "2026-01-02T00:00:00Z"},
            {"country_code": "NL", "party_id": "CP1", "id": "L1", "last_updated": "2026-01-01T00:00:00Z"},
        ]
        return httpx.Response(200, json=envelope(data))

    net.answer["http://cpo1.test/"] = everything
    net.answer["http://cpo2.test/"] = lambda r: httpx.Response(200, json=envelope([]))
    merged = await net.call("GET", "sender/locations", "emsp1", to=("NL", "HUB"))
    assert [(o["party_id"], o["id"]) for o in merged.json()["data"]] == [("CP1", "L1"), ("CP3", "L3")]
    assert merged.headers["X-Total-Count"] == "2"
    asked = sorted(r.headers["OCPI-to-party-id"] for r in net.received("cpo1.test"))
    assert asked == ["CP1", "CP3"]


async def test_a_platforms_new_token_is_used_from_the_next_request_on(net: Network) -> None:
    await net.call("GET", "sender/locations/LOC1", "emsp1", to=("NL", "CP1"))
    hub = net.node.hub()
    cpo1 = hub.parties.platforms["p-cpo1"].partner
    renewed = msgspec.structs.replace(cpo1, token="hub-token-at-cpo1-renewed")
    await StorePartnerRepository(net.node.store, net.node.clock).commit(save=[renewed])
    await hub.parties.refresh()
    await net.call("GET", "sender/locations/LOC1", "emsp1", to=("NL", "CP1"))
    sent = [r.headers["Authorization"] for r in net.received("cpo1.test")]
    assert sent == [
        "Token " + base64.b64encode(b"hub-token-at-cpo1").decode(),
        "Token " + base64.b64encode(b"hub-token-at-cpo1-renewed").decode(),
    ]
