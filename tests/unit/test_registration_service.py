"""The credentials handshake in process: two nodes (a CPO and an eMSP) on an in-memory network.

Each node is the real wiring (service, store, OcpiClient over httpx, the generated Litestar app); only
the sockets are replaced: every node's httpx client talks to the other nodes' ASGI apps through a
routing transport. Fake partners (for the 3002 / 3003 cases) are ``httpx.MockTransport`` handlers.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from evroam.core.errors import ClientApiUnreachable, NoMatchingEndpoints, UnsupportedVersion
from evroam.http.server import AppConfig, create_app
from evroam.modules.kit import ModuleBinding, OcpiAnswer, OcpiCall
from evroam.node.bindings import credentials_binding
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import Node, build_node
from evroam.ocpi.table import InterfaceRole
from evroam.registration.model import PartnerStatus
from evroam.registration.service import RegistrationError
from evroam.store.port import Store
from evroam.testing import FixedClock, MemoryStore, SequentialIds

# -- the in-memory network ------------------------------------------------------------------------


class Network(httpx.AsyncBaseTransport):
    """Routes each request to the transport registered for its host; unknown hosts refuse to connect."""

    def __init__(self) -> None:
        self.hosts: dict[str, httpx.AsyncBaseTransport] = {}
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        transport = self.hosts.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"connection refused by {request.url.host}", request=request)
        return await transport.handle_async_request(request)


class RecordingIds(SequentialIds):
    """Sequential ids that remember every token handed out (the log test looks for them)."""

    def __init__(self, prefix: str) -> None:
        super().__init__(prefix)
        self.tokens: list[str] = []

    def new_token(self) -> str:
        token = super().new_token()
        self.tokens.append(token)
        return token


def locations_probe() -> ModuleBinding:
    """A functional endpoint (Locations Sender, GET one location) to check who may call such modules."""

    async def get_location(call: OcpiCall) -> OcpiAnswer:
        return OcpiAnswer(data=None, status_message=f"caller {call.caller.partner.name}")

    return ModuleBinding(
        module="locations", interface=InterfaceRole.SENDER, handlers={"get_location": get_location}
    )


@dataclass
class NodeUnderTest:
    name: str
    host: str
    node: Node
    ids: RecordingIds
    client: httpx.AsyncClient = field(repr=False)

    @property
    def base(self) -> str:
        return f"http://{self.host}"

    @property
    def versions_url(self) -> str:
        return f"{self.base}/ocpi/versions"

    @property
    def service(self) -> Any:
        return self.node.registration

    async def call(self, method: str, path: str, token: str | None, body: Any = None) -> httpx.Response:
        """A raw request to this node, as a partner would send it."""
        headers = {}
        if token is not None:
            headers["Authorization"] = "Token " + base64.b64encode(token.encode()).decode()
        content = json.dumps(body).encode() if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        return await self.client.request(method, self.base + path, headers=headers, content=content)


def make_node(
    network: Network,
    tmp: Path,
    name: str,
    host: str,
    role: str,
    party: str,
    store: Store | None = None,
    versions: tuple[str, ...] = ("2.2.1",),
) -> NodeUnderTest:
    config = NodeConfig(
        url=f"http://{host}",
        parties=[PartyConfig(country_code="NL", party_id=party, role=role, name=f"{name} B.V.")],
        versions=list(versions),
    )
    ids = RecordingIds(name)
    node = build_node(
        Settings(data_dir=tmp / name),
        config=config,
        store=store if store is not None else MemoryStore(),
        transport=network,
        clock=FixedClock("2026-03-01T12:00:00Z"),
        ids=ids,
    )
    app = create_app(
        AppConfig(
            base_url=config.url,
            versions=config.versions,
            registration=node.registration,
            clock=node.clock,
            ids=node.ids,
            bindings=(credentials_binding(node.registration), locations_probe()),
        )
    )
    network.hosts[host] = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=network)
    return NodeUnderTest(name=name, host=host, node=node, ids=ids, client=client)


@dataclass
class Pair:
    network: Network
    cpo: NodeUnderTest
    emsp: NodeUnderTest


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    network = Network()
    cpo = make_node(network, tmp_path, "cpo", "cpo.test", "CPO", "CPO")
    emsp = make_node(network, tmp_path, "emsp", "emsp.test", "EMSP", "MSP")
    for n in (cpo, emsp):
        await n.node.start()
    try:
        yield Pair(network, cpo, emsp)
    finally:
        for n in (cpo, emsp):
            await n.client.aclose()
            await n.node.close()


def fake_partner(
    versions: list[dict[str, str]] | None = None,
    endpoints: list[dict[str, str]] | None = None,
    on_credentials: Callable[[httpx.Request], httpx.Response] | None = None,
) -> httpx.MockTransport:
    """A partner at http://fake.test answering versions / details / credentials as told."""
    stamp = "2026-03-01T12:00:00Z"
    if versions is None:
        versions = [{"version": "2.2.1", "url": "http://fake.test/ocpi/2.2.1"}]
    if endpoints is None:
        endpoints = [
            {"identifier": "credentials", "role": "SENDER", "url": "http://fake.test/ocpi/2.2.1/credentials"}
        ]

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ocpi/versions":
            data: Any = versions
        elif request.url.path == "/ocpi/2.2.1":
            data = {"version": "2.2.1", "endpoints": endpoints}
        elif request.url.path.endswith("/credentials") and on_credentials is not None:
            return on_credentials(request)
        else:
            return httpx.Response(404, json={"status_code": 2000, "timestamp": stamp})
        return httpx.Response(200, json={"data": data, "status_code": 1000, "timestamp": stamp})

    return httpx.MockTransport(handle)


def their_credentials(
    url: str = "http://fake.test/ocpi/versions", token: str = "fake-token-b"
) -> dict[str, Any]:
    return {
        "token": token,
        "url": url,
        "roles": [
            {
                "role": "EMSP",
                "party_id": "FAK",
                "country_code": "DE",
                "business_details": {"name": "Fake GmbH"},
            }
        ],
    }


async def register_emsp_with_cpo(pair: Pair) -> tuple[str, Any]:
    """The CPO invites, the eMSP registers with token A. Returns token A and the eMSP's partner record."""
    invitation = await pair.cpo.service.invite("emsp")
    partner = await pair.emsp.service.register(invitation.versions_url, invitation.token, "cpo")
    return invitation.token, partner


# -- version endpoints ----------------------------------------------------------------------------


async def test_versions_endpoint_needs_a_known_token(pair: Pair) -> None:
    missing = await pair.cpo.call("GET", "/ocpi/versions", None)
    assert missing.status_code == 401
    assert missing.json()["status_code"] == 2000
    assert missing.headers["www-authenticate"] == "Token"
    unknown = await pair.cpo.call("GET", "/ocpi/versions", "not-a-token-we-issued")
    assert unknown.status_code == 401


async def test_versions_and_details_list_what_the_node_serves(pair: Pair) -> None:
    invitation = await pair.cpo.service.invite("emsp")
    versions = await pair.cpo.call("GET", "/ocpi/versions", invitation.token)
    assert versions.status_code == 200
    body = versions.json()
    assert body["status_code"] == 1000
    assert body["timestamp"] == "2026-03-01T12:00:00Z"
    assert body["data"] == [{"version": "2.2.1", "url": "http://cpo.test/ocpi/2.2.1/details"}]
    assert versions.headers["x-request-id"]
    details = await pair.cpo.call("GET", "/ocpi/2.2.1/details", invitation.token)
    assert details.status_code == 200
    assert details.json()["data"] == {
        "version": "2.2.1",
        "endpoints": [
            {"identifier": "credentials", "role": "SENDER", "url": "http://cpo.test/ocpi/2.2.1/credentials"},
            {
                "identifier": "locations",
                "role": "SENDER",
                "url": "http://cpo.test/ocpi/2.2.1/sender/locations",
            },
        ],
    }


async def test_token_in_raw_form_is_accepted_too(pair: Pair) -> None:
    invitation = await pair.cpo.service.invite("emsp")
    response = await pair.cpo.client.get(
        pair.cpo.versions_url, headers={"Authorization": f"Token {invitation.token}"}
    )
    assert response.status_code == 200


async def test_unknown_path_answers_an_envelope(pair: Pair) -> None:
    invitation = await pair.cpo.service.invite("emsp")
    response = await pair.cpo.call("GET", "/ocpi/9.9/details", invitation.token)
    assert response.status_code == 404
    assert response.json()["status_code"] == 2000


# -- the handshake, both directions -------------------------------------------------------------


@pytest.mark.parametrize("inviter", ["cpo", "emsp"])
async def test_handshake_leaves_both_sides_with_endpoints_and_a_working_token(
    pair: Pair, inviter: str
) -> None:
    receiver, sender = (pair.cpo, pair.emsp) if inviter == "cpo" else (pair.emsp, pair.cpo)
    invitation = await receiver.service.invite("peer")
    assert (await receiver.service.get("peer")).status is PartnerStatus.INVITED

    at_sender = await sender.service.register(invitation.versions_url, invitation.token, "peer")

    at_receiver = await receiver.service.get("peer")
    for record, other in ((at_sender, receiver), (at_receiver, sender)):
        assert record.status is PartnerStatus.REGISTERED
        assert record.version == "2.2.1"
        assert record.versions_url == other.versions_url
        assert [(e.module, e.url) for e in record.endpoints] == [
            ("credentials", f"{other.base}/ocpi/2.2.1/credentials"),
            ("locations", f"{other.base}/ocpi/2.2.1/sender/locations"),
        ]
        assert [(r.country_code, r.party_id, r.role, r.name) for r in record.roles] == [
            (
                other.node.config.parties[0].country_code,
                other.node.config.parties[0].party_id,
                other.node.config.parties[0].role,
                f"{other.name} B.V.",
            )
        ]
    assert at_sender.initiated_by == "us"
    assert at_receiver.initiated_by == "them"
    # token A is retired; B (issued by the sender) and C (issued by the receiver) work
    assert (await receiver.call("GET", "/ocpi/versions", invitation.token)).status_code == 401
    assert at_sender.token is not None and at_receiver.token is not None
    assert at_sender.token != invitation.token
    assert (await receiver.call("GET", "/ocpi/versions", at_sender.token)).status_code == 200
    assert (await sender.call("GET", "/ocpi/versions", at_receiver.token)).status_code == 200
    assert (await receiver.call("GET", "/ocpi/2.2.1/sender/locations/L1", at_sender.token)).status_code == 200
    assert (await sender.call("GET", "/ocpi/2.2.1/sender/locations/L1", at_receiver.token)).status_code == 200


async def test_the_answer_to_post_carries_token_c_and_the_receivers_credentials(pair: Pair) -> None:
    pair.network.hosts["fake.test"] = fake_partner()
    invitation = await pair.cpo.service.invite("fake")
    response = await pair.cpo.call("POST", "/ocpi/2.2.1/credentials", invitation.token, their_credentials())
    assert response.status_code == 200
    data = response.json()["data"]
    assert response.json()["status_code"] == 1000
    assert data["token"] not in (invitation.token, "fake-token-b")
    assert data["url"] == "http://cpo.test/ocpi/versions"
    assert data["roles"] == [
        {"role": "CPO", "business_details": {"name": "cpo B.V."}, "party_id": "CPO", "country_code": "NL"}
    ]
    # the callback used the token the partner sent (Base64, as 2.2.1 says)
    callbacks = [r for r in pair.network.requests if r.url.host == "fake.test"]
    assert [r.url.path for r in callbacks] == ["/ocpi/versions", "/ocpi/2.2.1"]
    expected = "Token " + base64.b64encode(b"fake-token-b").decode()
    assert all(r.headers["authorization"] == expected for r in callbacks)
    # GET credentials with token C returns the same object
    got = await pair.cpo.call("GET", "/ocpi/2.2.1/credentials", data["token"])
    assert got.json()["data"] == data
    partner = await pair.cpo.service.get("fake")
    assert partner.token == "fake-token-b"
    assert [str(r) for r in partner.roles] == ["DE*FAK (EMSP)"]


# -- authentication on functional modules -------------------------------------------------------


async def test_functional_modules_refuse_token_a_and_unknown_tokens(pair: Pair) -> None:
    invitation = await pair.cpo.service.invite("emsp")
    path = "/ocpi/2.2.1/sender/locations/L1"
    assert (await pair.cpo.call("GET", path, invitation.token)).status_code == 401
    assert (await pair.cpo.call("GET", path, "unknown-token")).status_code == 401
    assert (await pair.cpo.call("GET", path, None)).status_code == 401
    # token A still works where it should, so the refusal above was about the module
    assert (await pair.cpo.call("GET", "/ocpi/versions", invitation.token)).status_code == 200


# -- 405 -----------------------------------------------------------------------------------------


async def test_post_when_registered_is_405(pair: Pair) -> None:
    _, partner = await register_emsp_with_cpo(pair)
    response = await pair.cpo.call(
        "POST",
        "/ocpi/2.2.1/credentials",
        partner.token,
        their_credentials(pair.emsp.versions_url, "x-token-b"),
    )
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000
    assert "already registered" in response.json()["status_message"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_put_and_delete_before_registration_are_405(pair: Pair, method: str) -> None:
    invitation = await pair.cpo.service.invite("emsp")
    body = their_credentials(pair.emsp.versions_url) if method == "PUT" else None
    response = await pair.cpo.call(method, "/ocpi/2.2.1/credentials", invitation.token, body)
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000
    # nothing changed: token A still registers
    assert (await pair.cpo.service.get("emsp")).status is PartnerStatus.INVITED


async def test_invalid_credentials_body_is_2001(pair: Pair) -> None:
    invitation = await pair.cpo.service.invite("emsp")
    response = await pair.cpo.call("POST", "/ocpi/2.2.1/credentials", invitation.token, {"token": "x"})
    assert response.status_code == 400
    assert response.json()["status_code"] == 2001
    assert "$.url" in response.json()["status_message"]


# -- 3001 / 3002 / 3003 as the receiving side ----------------------------------------------------


async def test_receiver_answers_3001_when_the_partner_versions_cannot_be_reached(pair: Pair) -> None:
    invitation = await pair.cpo.service.invite("ghost")
    body = their_credentials("http://nowhere.test/ocpi/versions")
    response = await pair.cpo.call("POST", "/ocpi/2.2.1/credentials", invitation.token, body)
    assert response.json()["status_code"] == 3001
    assert "nowhere.test" in response.json()["status_message"]
    # the invitation survives a failed attempt
    assert (await pair.cpo.service.get("ghost")).status is PartnerStatus.INVITED
    assert (await pair.cpo.call("GET", "/ocpi/versions", invitation.token)).status_code == 200


async def test_receiver_answers_3001_when_the_partner_refuses_its_own_token(pair: Pair) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"status_code": 2000, "timestamp": "2026-03-01T12:00:00Z"})

    pair.network.hosts["fake.test"] = httpx.MockTransport(refuse)
    invitation = await pair.cpo.service.invite("fake")
    response = await pair.cpo.call("POST", "/ocpi/2.2.1/credentials", invitation.token, their_credentials())
    assert response.json()["status_code"] == 3001


async def test_receiver_answers_3002_without_a_mutual_version(pair: Pair) -> None:
    pair.network.hosts["fake.test"] = fake_partner(
        versions=[
            {"version": "2.1.1", "url": "http://fake.test/ocpi/2.1.1"},
            {"version": "2.3.0", "url": "http://fake.test/ocpi/2.3.0"},
        ]
    )
    invitation = await pair.cpo.service.invite("fake")
    response = await pair.cpo.call("POST", "/ocpi/2.2.1/credentials", invitation.token, their_credentials())
    assert response.json()["status_code"] == 3002
    assert "2.1.1, 2.3.0" in response.json()["status_message"]
    assert (await pair.cpo.service.get("fake")).status is PartnerStatus.INVITED


async def test_receiver_answers_3003_when_required_endpoints_are_missing(pair: Pair) -> None:
    pair.network.hosts["fake.test"] = fake_partner(
        endpoints=[
            {"identifier": "locations", "role": "RECEIVER", "url": "http://fake.test/ocpi/2.2.1/locations"}
        ]
    )
    invitation = await pair.cpo.service.invite("fake")
    response = await pair.cpo.call("POST", "/ocpi/2.2.1/credentials", invitation.token, their_credentials())
    assert response.json()["status_code"] == 3003
    assert "credentials" in response.json()["status_message"]
    assert (await pair.cpo.service.get("fake")).status is PartnerStatus.INVITED


# -- 3001 / 3002 / 3003 as the initiating side ---------------------------------------------------


async def test_register_reports_an_unreachable_versions_url(pair: Pair) -> None:
    with pytest.raises(ClientApiUnreachable) as caught:
        await pair.emsp.service.register("http://nowhere.test/ocpi/versions", "some-token-a", "x")
    assert caught.value.ocpi_status == 3001
    assert "cannot reach the partner's versions URL http://nowhere.test/ocpi/versions" in caught.value.message
    assert await pair.emsp.service.partners() == []


async def test_register_reports_no_mutual_version(pair: Pair) -> None:
    pair.network.hosts["fake.test"] = fake_partner(
        versions=[{"version": "2.1.1", "url": "http://fake.test/ocpi/2.1.1"}, {"version": "3.0", "url": "x"}]
    )
    with pytest.raises(UnsupportedVersion) as caught:
        await pair.emsp.service.register("http://fake.test/ocpi/versions", "some-token-a", "x")
    assert caught.value.ocpi_status == 3002
    assert "the partner offers 2.1.1, 3.0, this node serves 2.2.1" in caught.value.message
    assert await pair.emsp.service.partners() == []


async def test_versions_are_read_with_the_raw_token_when_base64_is_refused(pair: Pair) -> None:
    seen: list[str] = []

    def strict_211(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        stamp = "2026-03-01T12:00:00Z"
        if request.headers["authorization"] != "Token raw-only-token":
            return httpx.Response(401, json={"status_code": 2000, "timestamp": stamp})
        data = [{"version": "2.1.1", "url": "http://fake.test/ocpi/2.1.1"}]
        return httpx.Response(200, json={"data": data, "status_code": 1000, "timestamp": stamp})

    pair.network.hosts["fake.test"] = httpx.MockTransport(strict_211)
    with pytest.raises(UnsupportedVersion):  # got past the 401: the version list was read
        await pair.emsp.service.register("http://fake.test/ocpi/versions", "raw-only-token", "x")
    assert seen == ["Token " + base64.b64encode(b"raw-only-token").decode(), "Token raw-only-token"]


async def test_register_reports_missing_endpoints_and_does_not_post(pair: Pair) -> None:
    posted: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(500)

    pair.network.hosts["fake.test"] = fake_partner(
        endpoints=[{"identifier": "tokens", "role": "RECEIVER", "url": "http://fake.test/ocpi/2.2.1/tokens"}],
        on_credentials=record,
    )
    with pytest.raises(NoMatchingEndpoints) as caught:
        await pair.emsp.service.register("http://fake.test/ocpi/versions", "some-token-a", "x")
    assert caught.value.ocpi_status == 3003
    assert "lack required endpoint(s): credentials" in caught.value.message
    assert posted == []


async def test_register_explains_a_partner_that_cannot_call_back(pair: Pair) -> None:
    invitation = await pair.cpo.service.invite("emsp")
    del pair.network.hosts["emsp.test"]  # the eMSP's `serve` is not running
    with pytest.raises(RegistrationError) as caught:
        await pair.emsp.service.register(invitation.versions_url, invitation.token, "cpo")
    message = caught.value.message
    assert "could not call this node back at http://emsp.test/ocpi/versions" in message
    assert "evroam serve" in message
    assert "\n" not in message
    # both sides are as before: the eMSP has no partner and no valid token B, token A still works
    assert await pair.emsp.service.partners() == []
    assert (await pair.cpo.service.get("emsp")).status is PartnerStatus.INVITED
    assert (await pair.cpo.call("GET", "/ocpi/versions", invitation.token)).status_code == 200


async def test_register_with_a_used_token_a_is_refused(pair: Pair) -> None:
    token_a, _ = await register_emsp_with_cpo(pair)
    with pytest.raises(RegistrationError) as caught:
        await pair.emsp.service.register(pair.cpo.versions_url, token_a, "again")
    assert "does not accept our token" in caught.value.message


async def test_a_new_invitation_replaces_the_previous_token_a(pair: Pair) -> None:
    first = await pair.cpo.service.invite("emsp")
    second = await pair.cpo.service.invite("emsp")
    assert (await pair.cpo.call("GET", "/ocpi/versions", first.token)).status_code == 401
    assert (await pair.cpo.call("GET", "/ocpi/versions", second.token)).status_code == 200
    assert len(await pair.cpo.service.partners()) == 1


async def test_default_partner_name_comes_from_its_roles(pair: Pair) -> None:
    invitation = await pair.cpo.service.invite("emsp")
    partner = await pair.emsp.service.register(invitation.versions_url, invitation.token)
    assert partner.name == "NL-CPO"
    assert (await pair.emsp.service.get("nl-cpo")).id == partner.id


# -- rotation and unregistration ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["emsp", "cpo"])
async def test_rotation_renews_both_tokens_and_the_old_ones_stop_working(pair: Pair, who: str) -> None:
    await register_emsp_with_cpo(pair)
    before_at_emsp = await pair.emsp.service.get("cpo")
    before_at_cpo = await pair.cpo.service.get("emsp")
    rotating, name = (pair.emsp, "cpo") if who == "emsp" else (pair.cpo, "emsp")

    await rotating.service.rotate(name)

    after_at_emsp = await pair.emsp.service.get("cpo")
    after_at_cpo = await pair.cpo.service.get("emsp")
    assert after_at_emsp.token != before_at_emsp.token
    assert after_at_cpo.token != before_at_cpo.token
    assert after_at_emsp.status is after_at_cpo.status is PartnerStatus.REGISTERED
    path = "/ocpi/2.2.1/sender/locations/L1"
    # old tokens: 401 on both sides
    assert (await pair.cpo.call("GET", path, before_at_emsp.token)).status_code == 401
    assert (await pair.emsp.call("GET", path, before_at_cpo.token)).status_code == 401
    # new tokens work
    assert (await pair.cpo.call("GET", path, after_at_emsp.token)).status_code == 200
    assert (await pair.emsp.call("GET", path, after_at_cpo.token)).status_code == 200


async def test_a_failed_rotation_keeps_the_old_tokens(pair: Pair) -> None:
    await register_emsp_with_cpo(pair)
    before = await pair.emsp.service.get("cpo")
    transport = pair.network.hosts.pop("cpo.test")
    with pytest.raises(ClientApiUnreachable):
        await pair.emsp.service.rotate("cpo")
    pair.network.hosts["cpo.test"] = transport
    after = await pair.emsp.service.get("cpo")
    assert after.token == before.token
    assert after.issued == before.issued
    assert (await pair.cpo.call("GET", "/ocpi/versions", before.token)).status_code == 200


@pytest.mark.parametrize("who", ["emsp", "cpo"])
async def test_unregister_stops_traffic_both_ways(pair: Pair, who: str) -> None:
    await register_emsp_with_cpo(pair)
    token_for_cpo = (await pair.emsp.service.get("cpo")).token
    token_for_emsp = (await pair.cpo.service.get("emsp")).token
    leaving, name = (pair.emsp, "cpo") if who == "emsp" else (pair.cpo, "emsp")

    ended = await leaving.service.unregister(name)

    assert ended.status is PartnerStatus.UNREGISTERED
    assert (await pair.emsp.service.get("cpo")).status is PartnerStatus.UNREGISTERED
    assert (await pair.cpo.service.get("emsp")).status is PartnerStatus.UNREGISTERED
    assert (await pair.emsp.service.get("cpo")).token is None
    assert (await pair.cpo.service.get("emsp")).token is None
    for node, token in ((pair.cpo, token_for_cpo), (pair.emsp, token_for_emsp)):
        assert (await node.call("GET", "/ocpi/versions", token)).status_code == 401
        assert (await node.call("GET", "/ocpi/2.2.1/sender/locations/L1", token)).status_code == 401


async def test_unregister_needs_force_when_the_partner_is_unreachable(pair: Pair) -> None:
    await register_emsp_with_cpo(pair)
    del pair.network.hosts["cpo.test"]
    with pytest.raises(RegistrationError) as caught:
        await pair.emsp.service.unregister("cpo")
    assert "--force" in caught.value.message
    assert (await pair.emsp.service.get("cpo")).status is PartnerStatus.REGISTERED
    ended = await pair.emsp.service.unregister("cpo", force=True)
    assert ended.status is PartnerStatus.UNREGISTERED


async def test_a_partner_can_register_again_after_unregistering(pair: Pair) -> None:
    await register_emsp_with_cpo(pair)
    await pair.emsp.service.unregister("cpo")
    invitation = await pair.cpo.service.invite("emsp")
    again = await pair.emsp.service.register(invitation.versions_url, invitation.token, "cpo")
    assert again.status is PartnerStatus.REGISTERED
    assert len(await pair.emsp.service.partners()) == 1


# -- other OCPI versions, from their version tables alone ----------------------------------------


@pytest.mark.parametrize(
    ("cpo_versions", "emsp_versions", "agreed", "raw_token"),
    [
        (("2.1.1",), ("2.1.1",), "2.1.1", True),
        (("2.3.0",), ("2.2.1", "2.3.0"), "2.3.0", False),
        (("2.1.1", "2.2.1", "2.3.0"), ("2.1.1", "2.2.1"), "2.2.1", False),
    ],
)
async def test_the_highest_mutual_version_is_used_with_its_token_encoding(
    tmp_path: Path,
    cpo_versions: tuple[str, ...],
    emsp_versions: tuple[str, ...],
    agreed: str,
    raw_token: bool,
) -> None:
    network = Network()
    cpo = make_node(network, tmp_path, "cpo", "cpo.test", "CPO", "CPO", versions=cpo_versions)
    emsp = make_node(network, tmp_path, "emsp", "emsp.test", "EMSP", "MSP", versions=emsp_versions)
    try:
        invitation = await cpo.service.invite("emsp")
        at_emsp = await emsp.service.register(invitation.versions_url, invitation.token, "cpo")
        at_cpo = await cpo.service.get("emsp")
        assert at_emsp.version == at_cpo.version == agreed
        assert at_emsp.endpoint("credentials") is not None
        assert at_emsp.endpoint("credentials").url == f"http://cpo.test/ocpi/{agreed}/credentials"  # type: ignore[union-attr]
        post = next(r for r in network.requests if r.method == "POST")
        assert post.url.path == f"/ocpi/{agreed}/credentials"
        token_b = json.loads(post.content)["token"]
        callback = next(r for r in network.requests if r.url.host == "emsp.test")
        expected = token_b if raw_token else base64.b64encode(token_b.encode()).decode()
        assert callback.headers["authorization"] == f"Token {expected}"
        await emsp.service.rotate("cpo")
        assert (await cpo.call("GET", "/ocpi/versions", at_emsp.token)).status_code == 401
    finally:
        for n in (cpo, emsp):
            await n.client.aclose()
            await n.node.close()
