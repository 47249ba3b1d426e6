"""The generated Litestar app: routes from the version table, errors as envelopes, tracing headers."""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from evroam.core.errors import (
    ClientApiUnreachable,
    EvroamError,
    HubTimeout,
    NotFound,
    UnknownToken,
    UnsupportedVersion,
    ValidationFailed,
)
from evroam.http.server import AppConfig, create_app
from evroam.modules.kit import ModuleBinding, OcpiAnswer, OcpiCall, module_path
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import InterfaceRole
from evroam.registration.model import Caller, IssuedToken, Partner, PartnerStatus, TokenUse, token_digest
from evroam.registration.repository import StorePartnerRepository
from evroam.registration.service import OwnPlatform, RegistrationService
from evroam.testing import FixedClock, MemoryStore, SequentialIds

PEER_TOKEN = "peer-token-for-server-tests"


class NoNetwork:
    """The service never calls out in these tests."""

    async def versions(self, *args: object, **kwargs: object) -> list[tuple[str, str]]:
        raise AssertionError("no outbound call expected")

    endpoints = credentials = versions


@dataclass
class Harness:
    client: httpx.AsyncClient
    seen: list[OcpiCall]
    raise_next: list[BaseException]

    async def get(self, path: str, token: str | None = PEER_TOKEN, **headers: str) -> httpx.Response:
        if token is not None:
            headers["Authorization"] = "Token " + base64.b64encode(token.encode()).decode()
        return await self.client.get(path, headers=headers)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    async with _harness() as made:
        yield made


@contextlib.asynccontextmanager
async def _harness(
    request_body: Callable[[Caller, str, str, bytes], Awaitable[bytes]] | None = None,
    *,
    profiles: bool = False,
) -> AsyncIterator[Harness]:
    """The app with a locations SENDER and RECEIVER (and, with ``profiles``, a chargingprofiles
    RECEIVER) binding, partner ``bob`` registered."""
    clock = FixedClock("2026-05-05T10:00:00Z")
    store = MemoryStore()
    repo = StorePartnerRepository(store, clock)
    digest = token_digest(PEER_TOKEN)
    now = clock.now()
    await repo.commit(
        save=[
            Partner(
                id="p1",
                name="bob",
                status=PartnerStatus.REGISTERED,
                initiated_by="them",
                created=now,
                updated=now,
                version="2.2.1",
                issued=(digest,),
            )
        ],
        issue=[IssuedToken(digest=digest, partner_id="p1", use=TokenUse.PEER, issued_at=now)],
    )
    platform = OwnPlatform(versions_url="http://node.test/ocpi/versions", roles=(), versions=("2.2.1",))
    ids = SequentialIds("srv")
    service = RegistrationService(platform, repo, NoNetwork(), clock, ids)  # type: ignore[arg-type]
    seen: list[OcpiCall] = []
    raise_next: list[BaseException] = []

    async def get_location(call: OcpiCall) -> OcpiAnswer:
        seen.append(call)
        if raise_next:
            raise raise_next.pop()
        return OcpiAnswer(data={"id": call.path_params["location_id"]})

    async def put_location(call: OcpiCall) -> OcpiAnswer:
        seen.append(call)
        return OcpiAnswer(http_status=201)

    async def set_profile(call: OcpiCall) -> OcpiAnswer:
        seen.append(call)
        return OcpiAnswer(data={"result": "ACCEPTED", "timeout": 30})

    app = create_app(
        AppConfig(
            base_url="http://node.test",
            versions=("2.2.1",),
            registration=service,
            clock=clock,
            ids=ids,
            bindings=(
                ModuleBinding("locations", InterfaceRole.SENDER, {"get_location": get_location}),
                ModuleBinding("locations", InterfaceRole.RECEIVER, {"put_location": put_location}),
                *(
                    [ModuleBinding("chargingprofiles", InterfaceRole.RECEIVER, {"set_profile": set_profile})]
                    if profiles
                    else []
                ),
            ),
            request_body=request_body,
        )
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://node.test"
    ) as client:
        yield Harness(client, seen, raise_next)


def test_module_paths_follow_the_documented_layout() -> None:
    spec = spec_for("2.2.1")
    assert module_path(spec, spec.modules["credentials"], InterfaceRole.SENDER) == "/ocpi/2.2.1/credentials"
    assert (
        module_path(spec, spec.modules["locations"], InterfaceRole.RECEIVER)
        == "/ocpi/2.2.1/receiver/locations"
    )


async def test_details_list_each_bound_interface(harness: Harness) -> None:
    response = await harness.get("/ocpi/2.2.1/details")
    assert response.json()["data"]["endpoints"] == [
        {"identifier": "locations", "role": "SENDER", "url": "http://node.test/ocpi/2.2.1/sender/locations"},
        {
            "identifier": "locations",
            "role": "RECEIVER",
            "url": "http://node.test/ocpi/2.2.1/receiver/locations",
        },
    ]


async def test_a_bound_endpoint_gets_path_parameters_and_the_caller(harness: Harness) -> None:
    response = await harness.get("/ocpi/2.2.1/sender/locations/LOC-7")
    assert response.status_code == 200
    body = response.json()
    assert body == {"data": {"id": "LOC-7"}, "status_code": 1000, "timestamp": "2026-05-05T10:00:00Z"}
    (call,) = harness.seen
    assert call.caller.partner.name == "bob"
    assert call.endpoint.name == "get_location"
    assert call.spec.number == "2.2.1"


async def test_tracing_ids_are_echoed_and_routing_headers_swapped(harness: Harness) -> None:
    response = await harness.get(
        "/ocpi/2.2.1/sender/locations/L1",
        **{
            "X-Request-ID": "req-1",
            "X-Correlation-ID": "corr-1",
            "OCPI-from-country-code": "DE",
            "OCPI-from-party-id": "MSP",
            "OCPI-to-country-code": "NL",
            "OCPI-to-party-id": "CPO",
        },
    )
    assert response.headers["x-request-id"] == "req-1"
    assert response.headers["x-correlation-id"] == "corr-1"
    assert response.headers["ocpi-from-country-code"] == "NL"
    assert response.headers["ocpi-from-party-id"] == "CPO"
    assert response.headers["ocpi-to-country-code"] == "DE"
    assert response.headers["ocpi-to-party-id"] == "MSP"


async def test_a_half_routing_header_pair_is_2001(harness: Harness) -> None:
    response = await harness.get("/ocpi/2.2.1/sender/locations/L1", **{"OCPI-from-country-code": "DE"})
    assert response.status_code == 400
    assert response.json()["status_code"] == 2001
    assert harness.seen == []


async def test_missing_tracing_ids_are_generated(harness: Harness) -> None:
    response = await harness.get("/ocpi/2.2.1/sender/locations/L1")
    assert response.headers["x-request-id"].startswith("srv-")
    assert response.headers["x-correlation-id"].startswith("srv-")


@pytest.mark.parametrize(
    ("error", "http_status", "ocpi_status"),
    [
        (ValidationFailed("bad"), 400, 2001),
        (NotFound(), 404, 2003),
        (UnknownToken(), 404, 2004),
        (ClientApiUnreachable(), 502, 3001),
        (UnsupportedVersion(), 400, 3002),
        (HubTimeout(), 504, 4002),
    ],
)
async def test_errors_become_envelopes_with_both_statuses(
    harness: Harness, error: EvroamError, http_status: int, ocpi_status: int
) -> None:
    harness.raise_next.append(error)
    response = await harness.get("/ocpi/2.2.1/sender/locations/L1", **{"X-Request-ID": "req-9"})
    assert response.status_code == http_status
    body = response.json()
    assert body["status_code"] == ocpi_status
    assert body["status_message"] == error_message_of(error)
    assert body["timestamp"] == "2026-05-05T10:00:00Z"
    assert "data" not in body
    assert response.headers["x-request-id"] == "req-9"


def error_message_of(error: EvroamError) -> str:
    if isinstance(error, ValidationFailed):
        return "$: bad"
    return error.message


async def test_an_unexpected_exception_is_500_3000_and_logged(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.raise_next.append(RuntimeError("boom"))
    response = await harness.get("/ocpi/2.2.1/sender/locations/L1")
    assert response.status_code == 500
    assert response.json()["status_code"] == 3000
    assert "boom" not in response.text
    assert any("RuntimeError: boom" in (r.exc_text or "") or r.exc_info for r in caplog.records)


async def test_a_method_the_module_does_not_offer_is_405(harness: Harness) -> None:
    headers = {"Authorization": "Token " + base64.b64encode(PEER_TOKEN.encode()).decode()}
    response = await harness.client.delete("/ocpi/2.2.1/sender/locations/L1", headers=headers)
    assert response.status_code == 405
    assert response.json()["status_code"] == 2000
    # RFC 9110 15.5.6: a 405 names the methods the resource offers (found by schemathesis)
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"GET", "OPTIONS"}


async def test_body_that_is_not_json_is_400(harness: Harness) -> None:
    headers = {
        "Authorization": "Token " + base64.b64encode(PEER_TOKEN.encode()).decode(),
        "Content-Type": "application/json",
    }
    response = await harness.client.put(
        "/ocpi/2.2.1/receiver/locations/NL/CPO/L1", headers=headers, content=b"{"
    )
    assert response.status_code == 400
    assert response.json()["status_code"] == 2000
    assert harness.seen == []


async def test_a_request_body_is_read_through_the_hook_before_it_is_decoded() -> None:
    """``AppConfig.request_body`` (the compatibility layer's inbound hook) sees the caller, the module and
    the method, and what it returns is what gets decoded."""
    asked: list[tuple[str, str, str]] = []

    async def one_period_as_list(caller: Caller, module: str, method: str, content: bytes) -> bytes:
        asked.append((caller.partner.name, module, method))
        body = json.loads(content)
        body["charging_profile"]["charging_profile_period"] = [
            body["charging_profile"]["charging_profile_period"]
        ]
        return json.dumps(body).encode()

    theirs = {
        "charging_profile": {
            "charging_rate_unit": "W",
            "charging_profile_period": {"start_period": 0, "limit": 3700},
        },
        "response_url": "http://bob.test/results/1",
    }
    headers = {"Authorization": "Token " + base64.b64encode(PEER_TOKEN.encode()).decode()}
    path = "/ocpi/2.2.1/receiver/chargingprofiles/S1"
    async with _harness(profiles=True) as plain:  # without the hook the partner's shape is invalid
        refused = await plain.client.put(path, headers=headers, json=theirs)
        assert (refused.status_code, refused.json()["status_code"]) == (400, 2001)
        assert plain.seen == []
    async with _harness(one_period_as_list, profiles=True) as hooked:
        answer = await hooked.client.put(path, headers=headers, json=theirs)
        assert answer.status_code == 200, answer.text
        (call,) = hooked.seen
        assert [p.limit for p in call.body.charging_profile.charging_profile_period] == [3700]
        assert asked == [("bob", "chargingprofiles", "PUT")]
        # a GET has no body to adapt: the hook is not asked
        await hooked.get("/ocpi/2.2.1/sender/locations/L1")
        assert len(asked) == 1


async def test_authentication_comes_before_the_body(harness: Harness) -> None:
    response = await harness.client.put("/ocpi/2.2.1/receiver/locations/NL/CPO/L1", content=b"{")
    assert response.status_code == 401


async def test_health_needs_no_token_and_tells_nothing(harness: Harness) -> None:
    response = await harness.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_no_openapi_schema_is_exposed(harness: Harness) -> None:
    assert (await harness.client.get("/schema")).status_code == 404


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (sqlite3.OperationalError("database or disk is full"), "disk full"),
        (sqlite3.OperationalError("attempt to write a readonly database"), "read-only"),
        (ConnectionRefusedError(111, "Connect call failed ('10.1.2.3', 5432)"), "unreachable"),
    ],
)
async def test_a_failing_database_is_503_3000_saying_so_in_one_log_line(
    harness: Harness, caplog: pytest.LogCaptureFixture, error: BaseException, reason: str
) -> None:
    harness.raise_next.append(error)
    response = await harness.get("/ocpi/2.2.1/sender/locations/L1", **{"X-Request-ID": "req-db"})
    assert response.status_code == 503
    body = response.json()
    assert body["status_code"] == 3000
    assert body["status_message"] == f"The node's database is unavailable ({reason}); try again later"
    assert "10.1.2.3" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] == "req-db"
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert f"the database is unavailable ({reason})" in record.getMessage()
    assert record.exc_info is None  # one line, not a traceback per request
