"""The CPO's authorization decision: the whitelist table with a fake eMSP (httpx MockTransport)
reachable and unreachable, unknown tokens, the eMSP's error answers, the request on the wire, and the
whole path against a real eMSP node app."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from evroam import model as m
from evroam.core.types import CiString
from evroam.http.client import create_http_client
from evroam.modules.tokens.decision import AuthorizationService, OcpiRealTime, Outcome
from evroam.modules.tokens.repository import load_token_record, save_token
from evroam.modules.tokens.rules import AuthorizationRules, LocationRule, Route
from evroam.registration.model import Partner, PartnerEndpoint, PartnerStatus, PartyRole
from evroam.registration.repository import StorePartnerRepository
from evroam.store import Store
from evroam.testing import FixedClock, MemoryStore, SequentialIds

from .locations_harness import CPO_TOKEN, running
from .test_tokens_support import own_token, token

EMSP_URL = "http://emsp.test/ocpi/2.2.1/tokens"
W = m.WhitelistType
T0 = "2026-03-01T12:00:00Z"


def emsp_partner(
    clock: FixedClock,
    *,
    url: str = EMSP_URL,
    party: tuple[str, str] = ("DE", "EMS"),
    token: str = "tok-at-emsp",
) -> Partner:
    return Partner(
        id="p-emsp",
        name="emsp",
        status=PartnerStatus.REGISTERED,
        initiated_by="us",
        created=clock.now(),
        updated=clock.now(),
        version="2.2.1",
        token=token,
        roles=(PartyRole(role="EMSP", country_code=party[0], party_id=party[1], name="Drive GmbH"),),
        endpoints=(PartnerEndpoint(module="tokens", role="SENDER", url=url),),
    )


@dataclass
class FakeEmsp:
    """An eMSP tokens Sender behind MockTransport: ``mode`` says how it answers."""

    mode: str = "BLOCKED"
    calls: list[httpx.Request] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if self.mode == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if self.mode == "slow":
            await asyncio.sleep(5)
        if self.mode == "unknown":
            return httpx.Response(404, json={"status_code": 2004, "timestamp": T0})
        if self.mode == "need-location":
            return httpx.Response(400, json={"status_code": 2002, "timestamp": T0})
        if self.mode == "broken":
            return httpx.Response(500, json={"status_code": 3000, "timestamp": T0})
        if self.mode == "bad-request":
            return httpx.Response(400, json={"status_code": 2001, "timestamp": T0})
        uid = request.url.path.split("/")[-2]
        data: dict[str, Any] = {
            "allowed": self.mode,
            "token": {
                "country_code": "DE",
                "party_id": "EMS",
                "uid": uid,
                "type": request.url.params.get("type", "RFID"),
                "contract_id": "DE-EMS-C1",
                "issuer": "Drive GmbH",
                "valid": self.mode == "ALLOWED",
                "whitelist": "NEVER",
                "last_updated": "2026-02-20T00:00:00Z",
            },
        }
        if self.mode == "ALLOWED":
            data["authorization_reference"] = "REF-1"
            body = json.loads(request.content) if request.content else None
            if body is not None:
                data["location"] = {"location_id": body["location_id"], "evse_uids": ["E1"]}
        return httpx.Response(200, json={"data": data, "status_code": 1000, "timestamp": T0})


@dataclass
class Setup:
    store: Store
    emsp: FakeEmsp
    clock: FixedClock
    http: httpx.AsyncClient

    def service(self, *, allowed_real_time: bool = False, timeout: float = 5.0) -> AuthorizationService:
        return AuthorizationService(
            self.store,
            StorePartnerRepository(self.store, self.clock),
            OcpiRealTime(self.http, clock=self.clock, ids=SequentialIds("rt")),
            parties=[("NL", "CPO")],
            allowed_real_time=allowed_real_time,
            timeout=timeout,
        )

    async def received(self, t: m.Token) -> None:
        await save_token(self.store, t, partner_id="p-emsp", check_stale=False)


@pytest.fixture
async def s() -> AsyncIterator[Setup]:
    clock = FixedClock(T0)
    store = MemoryStore()
    await store.migrate()
    await StorePartnerRepository(store, clock).commit(save=[emsp_partner(clock)])
    emsp = FakeEmsp()
    http = create_http_client(transport=emsp.transport())
    try:
        yield Setup(store, emsp, clock, http)
    finally:
        await http.aclose()


def theirs(uid: str = "T1", **kw: Any) -> m.Token:
    return token(uid, owner=("DE", "EMS"), **kw)


HERE = m.LocationReferences(location_id=CiString("L1"), evse_uids=(CiString("E1"), CiString("E2")))


@pytest.mark.parametrize(
    ("whitelist", "valid", "real_time_allowed", "emsp_mode", "outcome", "source", "calls"),
    [
        # ALWAYS: never asks, the stored token decides
        (W.ALWAYS, True, False, "BLOCKED", Outcome.ALLOWED, "local", 0),
        (W.ALWAYS, True, True, "down", Outcome.ALLOWED, "local", 0),
        (W.ALWAYS, False, False, "ALLOWED", Outcome.BLOCKED, "local", 0),
        # ALLOWED: local by default; when the CPO chooses real-time, local only if unreachable
        (W.ALLOWED, True, False, "BLOCKED", Outcome.ALLOWED, "local", 0),
        (W.ALLOWED, True, True, "BLOCKED", Outcome.BLOCKED, "eMSP", 1),
        (W.ALLOWED, True, True, "down", Outcome.ALLOWED, "local, eMSP unreachable", 1),
        # ALLOWED_OFFLINE: the eMSP decides; the stored token only when the eMSP cannot be reached
        (W.ALLOWED_OFFLINE, True, False, "BLOCKED", Outcome.BLOCKED, "eMSP", 1),
        (W.ALLOWED_OFFLINE, True, False, "down", Outcome.ALLOWED, "local, eMSP unreachable", 1),
        (W.ALLOWED_OFFLINE, True, False, "broken", Outcome.ALLOWED, "local, eMSP unreachable", 1),
        (W.ALLOWED_OFFLINE, False, False, "down", Outcome.BLOCKED, "local, eMSP unreachable", 1),
        # NEVER: always real-time, never a silent allow
        (W.NEVER, True, False, "ALLOWED", Outcome.ALLOWED, "eMSP", 1),
        (W.NEVER, False, False, "ALLOWED", Outcome.ALLOWED, "eMSP", 1),  # valid=false does not override
        (W.NEVER, True, False, "NO_CREDIT", Outcome.NO_CREDIT, "eMSP", 1),
        (W.NEVER, True, False, "down", Outcome.EMSP_UNREACHABLE, "none", 1),
        (W.NEVER, True, False, "broken", Outcome.EMSP_UNREACHABLE, "none", 1),
    ],
)
async def test_the_decision_table(
    s: Setup,
    whitelist: m.WhitelistType,
    valid: bool,
    real_time_allowed: bool,
    emsp_mode: str,
    outcome: Outcome,
    source: str,
    calls: int,
) -> None:
    await s.received(theirs(whitelist=whitelist, valid=valid))
    s.emsp.mode = emsp_mode
    decision = await s.service(allowed_real_time=real_time_allowed).authorize("T1", "RFID", HERE)
    assert (decision.outcome, decision.source, len(s.emsp.calls)) == (outcome, source, calls)
    assert decision.allowed is (outcome is Outcome.ALLOWED)
    if outcome is Outcome.EMSP_UNREACHABLE:
        assert decision.reason.startswith("cannot authorize: eMSP emsp unreachable")
    if source == "eMSP" and outcome is Outcome.ALLOWED:
        assert decision.authorization_reference == "REF-1"
        assert decision.location == m.LocationReferences(
            location_id=CiString("L1"), evse_uids=(CiString("E1"),)
        )
    else:
        assert decision.authorization_reference is None


async def test_the_real_time_request_on_the_wire(s: Setup) -> None:
    await s.received(theirs("T 1/x", whitelist=W.NEVER, token_type="APP_USER"))
    s.emsp.mode = "ALLOWED"
    decision = await s.service().authorize("T 1/x", "APP_USER", HERE)
    assert decision.outcome is Outcome.ALLOWED and decision.route is Route.REAL_TIME
    (request,) = s.emsp.calls
    assert request.method == "POST"
    assert request.url.raw_path.decode() == "/ocpi/2.2.1/tokens/T%201%2Fx/authorize?type=APP_USER"
    assert json.loads(request.content) == {"location_id": "L1", "evse_uids": ["E1", "E2"]}
    assert request.headers["Authorization"] == "Token " + base64.b64encode(b"tok-at-emsp").decode()
    assert (request.headers["OCPI-to-country-code"], request.headers["OCPI-to-party-id"]) == ("DE", "EMS")
    assert (request.headers["OCPI-from-country-code"], request.headers["OCPI-from-party-id"]) == ("NL", "CPO")
    assert request.headers["X-Request-ID"] and request.headers["X-Correlation-ID"]


async def test_no_location_means_no_body(s: Setup) -> None:
    await s.received(theirs(whitelist=W.NEVER))
    s.emsp.mode = "ALLOWED"
    decision = await s.service().authorize("T1")
    assert decision.allowed and decision.location is None
    assert s.emsp.calls[0].content == b""


async def test_an_emsp_that_does_not_answer_in_time_is_unreachable(s: Setup) -> None:
    await s.received(theirs(whitelist=W.NEVER))
    s.emsp.mode = "slow"
    decision = await s.service(timeout=0.2).authorize("T1")
    assert decision.outcome is Outcome.EMSP_UNREACHABLE and not decision.allowed


@pytest.mark.parametrize(
    ("mode", "outcome"),
    [
        ("unknown", Outcome.UNKNOWN_TOKEN),
        ("need-location", Outcome.LOCATION_REQUIRED),
        ("bad-request", Outcome.EMSP_ERROR),
    ],
)
async def test_error_answers_of_the_emsp_are_refusals_without_fallback(
    s: Setup, mode: str, outcome: Outcome
) -> None:
    await s.received(theirs(whitelist=W.ALLOWED_OFFLINE))
    s.emsp.mode = mode
    decision = await s.service().authorize("T1")
    assert (decision.outcome, decision.source, decision.allowed) == (outcome, "eMSP", False)


async def test_an_unknown_token_is_asked_to_its_issuer_and_learned(s: Setup) -> None:
    s.emsp.mode = "ALLOWED"
    decision = await s.service().authorize("NEW1", "RFID", issuer=("de", "ems"))
    assert decision.outcome is Outcome.ALLOWED and decision.source == "eMSP"
    assert len(s.emsp.calls) == 1
    learned = await load_token_record(s.store, "DE", "EMS", "NEW1", "RFID")
    assert learned is not None and learned.partner_id == "p-emsp" and learned.token.whitelist is W.NEVER
    # an eMAID-shaped uid names its issuer
    decision = await s.service().authorize("DE-EMS-C12345678-X")
    assert decision.outcome is Outcome.ALLOWED and len(s.emsp.calls) == 2


async def test_an_unknown_token_of_an_unknown_issuer_is_not_asked_about(s: Setup) -> None:
    decision = await s.service().authorize("04A1B2C3")
    assert (decision.outcome, decision.allowed, len(s.emsp.calls)) == (Outcome.UNKNOWN_TOKEN, False, 0)
    decision = await s.service().authorize("04A1B2C3", issuer=("FR", "XYZ"))
    assert decision.outcome is Outcome.UNKNOWN_TOKEN and len(s.emsp.calls) == 0
    s.emsp.mode = "unknown"
    decision = await s.service().authorize("04A1B2C3", issuer=("DE", "EMS"))
    assert (decision.outcome, len(s.emsp.calls)) == (Outcome.UNKNOWN_TOKEN, 1)
    assert await load_token_record(s.store, "DE", "EMS", "04A1B2C3") is None


async def test_an_unknown_token_whose_emsp_is_down_cannot_be_authorized(s: Setup) -> None:
    s.emsp.mode = "down"
    decision = await s.service().authorize("NEW1", issuer=("DE", "EMS"))
    assert decision.outcome is Outcome.EMSP_UNREACHABLE and not decision.allowed


async def test_against_a_real_emsp_node(tmp_path: Any) -> None:
    """The decision service of a CPO asking this repository's own eMSP node (its ASGI app)."""
    async with running() as emsp_node:
        only = LocationRule(location_id=CiString("L1"), evse_uids=(CiString("E2"),))
        await own_token(
            emsp_node.store, token("T1", whitelist=W.NEVER), AuthorizationRules(locations=(only,))
        )
        clock = FixedClock(T0)
        store = MemoryStore()
        await store.migrate()
        # the eMSP node knows us as its partner "cpo" (BE*BEC), calling with CPO_TOKEN
        emsp = emsp_partner(
            clock, url="http://node.test/ocpi/2.2.1/sender/tokens", party=("NL", "MSP"), token=CPO_TOKEN
        )
        await StorePartnerRepository(store, clock).commit(save=[emsp])
        await save_token(store, token("T1", whitelist=W.NEVER), partner_id="p-emsp", check_stale=False)
        http = create_http_client(transport=httpx.ASGITransport(app=emsp_node.node.app()))
        try:
            service = AuthorizationService(
                store,
                StorePartnerRepository(store, clock),
                OcpiRealTime(http, clock=clock, ids=SequentialIds("cpo")),
                parties=[("BE", "BEC")],
            )
            decision = await service.authorize("T1", "RFID", HERE)
            assert decision.outcome is Outcome.ALLOWED and decision.source == "eMSP"
            assert decision.location == m.LocationReferences(
                location_id=CiString("L1"), evse_uids=(CiString("E2"),)
            )
            assert decision.authorization_reference and decision.authorization_reference.startswith("t-")
            decision = await service.authorize("T1", "RFID", None)
            assert decision.outcome is Outcome.LOCATION_REQUIRED
            decision = await service.authorize("NL-MSP-NOPE01")
            assert decision.outcome is Outcome.UNKNOWN_TOKEN and decision.source == "eMSP"
        finally:
            await http.aclose()
