"""The commands services on their own: the CPO's refusals and result POSTs, the eMSP's recording,
matching and TIMEOUT rules. The partner on the other side is an ``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from evroam import model as m
from evroam.chargepoint import Answer, StartRequest, TransactionInfo
from evroam.core.errors import NotFound
from evroam.core.types import DateTime
from evroam.modules.commands import (
    CommandError,
    CommandReceiver,
    CommandSender,
    CommandState,
    CommandType,
    Direction,
    Requester,
    list_records,
    result_for,
)
from evroam.modules.locations.repository import save_location
from evroam.registration.model import Partner, PartnerEndpoint, PartnerStatus, PartyRole
from evroam.testing import FixedClock, MemoryStore, SequentialIds
from tests.unit.push_support import location

T0 = "2026-03-01T12:00:00Z"


def token(uid: str = "APP1", party: tuple[str, str] = ("DE", "MSP")) -> m.Token:
    return m.Token(
        country_code=party[0],
        party_id=party[1],
        uid=uid,
        type="APP_USER",
        contract_id=f"{party[0]}-{party[1]}-{uid}",
        issuer="MSP GmbH",
        valid=True,
        whitelist=m.WhitelistType.ALLOWED,
        last_updated=DateTime.parse(T0),
    )


def partner(
    clock: FixedClock,
    *,
    partner_id: str = "p-1",
    role: str = "EMSP",
    party: tuple[str, str] = ("DE", "MSP"),
    version: str = "2.2.1",
    endpoints: tuple[PartnerEndpoint, ...] = (),
    status: PartnerStatus = PartnerStatus.REGISTERED,
) -> Partner:
    return Partner(
        id=partner_id,
        name=partner_id.removeprefix("p-"),
        status=status,
        initiated_by="us",
        created=clock.now(),
        updated=clock.now(),
        version=version,
        token=f"token-{partner_id}",
        token_encoding="raw" if version == "2.1.1" else "base64",
        roles=(PartyRole(role=role, country_code=party[0], party_id=party[1], name="x"),),
        endpoints=endpoints,
    )


def envelope(data: Any = None, status: int = 1000) -> dict[str, Any]:
    out: dict[str, Any] = {"status_code": status, "timestamp": T0}
    if data is not None:
        out["data"] = data
    return out


# -- the CPO side ----------------------------------------------------------------------------------


class Charger:
    """A charge point answering every command with ``answer`` (``None``: never)."""

    def __init__(
        self, answer: Answer | None = Answer.ACCEPTED, running: TransactionInfo | None = None
    ) -> None:
        self.answer = answer
        self.running = running
        self.calls: list[Any] = []
        self.fail = False

    async def _reply(self, request: Any) -> Answer:
        self.calls.append(request)
        if self.fail:
            raise RuntimeError("bridge broke")
        if self.answer is None:
            await asyncio.Event().wait()
        assert self.answer is not None
        return self.answer

    async def start(self, request: Any) -> Answer:
        return await self._reply(request)

    async def stop(self, request: Any) -> Answer:
        return await self._reply(request)

    async def reserve(self, request: Any) -> Answer:
        return await self._reply(request)

    async def cancel_reservation(self, request: Any) -> Answer:
        return await self._reply(request)

    async def unlock(self, request: Any) -> Answer:
        return await self._reply(request)

    def subscribe(self, listener: Any) -> None:
        return None

    def transaction(self, transaction_id: str) -> TransactionInfo | None:
        if self.running is not None and self.running.transaction_id.casefold() == transaction_id.casefold():
            return self.running
        return None


class EmspEndpoint:
    """The eMSP's result URLs: records POSTs; ``failures`` first answers are connection errors."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.posts: list[tuple[str, dict[str, Any], httpx.Headers]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.failures > 0:
            self.failures -= 1
            raise httpx.ConnectError("refused", request=request)
        self.posts.append((str(request.url), json.loads(request.content), request.headers))
        return httpx.Response(200, json=envelope())


async def cpo_side(
    charger: Any, endpoint: EmspEndpoint, *, capabilities: tuple[str, ...] | None = None, attempts: int = 3
) -> tuple[CommandReceiver, MemoryStore, FixedClock]:
    clock = FixedClock(T0)
    store = MemoryStore()
    await store.migrate()
    loc = location("LOC1", clock.now(), owner=("NL", "CPO"), evses=("E1",))
    if capabilities is not None:
        evses = tuple(
            m.EVSE(
                uid=e.uid,
                status=e.status,
                connectors=e.connectors,
                last_updated=e.last_updated,
                capabilities=capabilities,
            )
            for e in loc.evses or ()
        )
        loc = m.Location(**{**{f: getattr(loc, f) for f in loc.__struct_fields__}, "evses": evses})
    await save_location(store, loc, check_stale=False)
    http = httpx.AsyncClient(transport=httpx.MockTransport(endpoint.handle))
    receiver = CommandReceiver(
        store,
        http,
        clock,
        SequentialIds("in"),
        parties=[("NL", "CPO")],
        charge_point=charger,
        timeout=1,
        post_attempts=attempts,
        retry_delay=0.01,
    )
    return receiver, store, clock


def start(
    response_url: str = "https://emsp.test/r/1", owner: tuple[str, str] = ("DE", "MSP")
) -> m.StartSession:
    return m.StartSession(
        response_url=response_url, token=token(party=owner), location_id="LOC1", evse_uid="E1"
    )


async def test_an_accepted_command_posts_the_chargers_answer_to_its_response_url() -> None:
    endpoint = EmspEndpoint()
    charger = Charger(Answer.OCCUPIED)
    receiver, store, clock = await cpo_side(charger, endpoint)
    requester = Requester(partner=partner(clock), version="2.2.1", party=("DE", "MSP"))
    response = await receiver.start_session(requester, start())
    assert (response.result, response.timeout) == (m.CommandResponseType.ACCEPTED, 1)
    await receiver.drain()
    (request,) = charger.calls
    assert isinstance(request, StartRequest) and (request.location_id, request.evse_uid) == ("LOC1", "E1")
    ((url, body, headers),) = endpoint.posts
    assert url == "https://emsp.test/r/1"
    assert body["result"] == "EVSE_OCCUPIED"
    assert headers["Authorization"] == "Token dG9rZW4tcC0x"  # base64 of the eMSP's token for us
    assert (headers["OCPI-from-country-code"], headers["OCPI-to-party-id"]) == ("NL", "MSP")
    (record,) = await list_records(store, Direction.RECEIVED)
    assert (record.state, record.charger_answer, record.error) == (CommandState.DONE, "OCCUPIED", None)


async def test_an_emsp_uses_only_its_own_tokens() -> None:
    endpoint = EmspEndpoint()
    charger = Charger()
    receiver, store, clock = await cpo_side(charger, endpoint)
    requester = Requester(partner=partner(clock), version="2.2.1", party=("DE", "MSP"))
    response = await receiver.start_session(requester, start(owner=("FR", "OTH")))
    assert response.result is m.CommandResponseType.REJECTED
    assert response.message is not None and "FR*OTH" in response.message[0].text
    await receiver.drain()
    assert charger.calls == [] and endpoint.posts == []
    (record,) = await list_records(store, Direction.RECEIVED)
    assert record.state is CommandState.REFUSED


async def test_an_evse_without_the_capability_is_not_supported() -> None:
    receiver, _, clock = await cpo_side(Charger(), EmspEndpoint(), capabilities=("RFID_READER",))
    requester = Requester(partner=partner(clock), version="2.2.1", party=("DE", "MSP"))
    response = await receiver.start_session(requester, start())
    assert response.result is m.CommandResponseType.NOT_SUPPORTED
    unlock = m.UnlockConnector(
        response_url="https://emsp.test/r/2", location_id="LOC1", evse_uid="E1", connector_id="1"
    )
    assert (await receiver.unlock_connector(requester, unlock)).result is m.CommandResponseType.NOT_SUPPORTED
    capable, _, _ = await cpo_side(Charger(), EmspEndpoint(), capabilities=("REMOTE_START_STOP_CAPABLE",))
    assert (await capable.start_session(requester, start())).result is m.CommandResponseType.ACCEPTED
    await capable.drain()


async def test_a_node_without_chargers_answers_not_supported() -> None:
    receiver, _, clock = await cpo_side(None, EmspEndpoint())
    requester = Requester(partner=partner(clock), version="2.2.1", party=("DE", "MSP"))
    url = "https://emsp.test/r"
    answers = [
        await receiver.start_session(requester, start()),
        await receiver.stop_session(requester, m.StopSession(response_url=url, session_id="S1")),
        await receiver.cancel_reservation(
            requester, m.CancelReservation(response_url=url, reservation_id="1")
        ),
        await receiver.unlock_connector(
            requester,
            m.UnlockConnector(response_url=url, location_id="LOC1", evse_uid="E1", connector_id="1"),
        ),
    ]
    assert {a.result for a in answers} == {m.CommandResponseType.NOT_SUPPORTED}
    assert all(a.timeout == 1 for a in answers)


async def test_stop_session_knows_only_the_callers_running_sessions() -> None:
    running = TransactionInfo(
        transaction_id="S1",
        location_id="LOC1",
        evse_uid="E1",
        connector_id="1",
        token=token(party=("DE", "MSP")),
        started=DateTime.parse(T0),
    )
    endpoint = EmspEndpoint()
    receiver, _, clock = await cpo_side(Charger(running=running), endpoint)
    mine = Requester(partner=partner(clock), version="2.2.1", party=("DE", "MSP"))
    other = Requester(
        partner=partner(clock, partner_id="p-2", party=("FR", "OTH")), version="2.2.1", party=("FR", "OTH")
    )
    stop = m.StopSession(response_url="https://emsp.test/r/9", session_id="s1")
    assert (await receiver.stop_session(other, stop)).result is m.CommandResponseType.UNKNOWN_SESSION
    unknown = m.StopSession(response_url="https://emsp.test/r/9", session_id="S2")
    assert (await receiver.stop_session(mine, unknown)).result is m.CommandResponseType.UNKNOWN_SESSION
    assert (await receiver.stop_session(mine, stop)).result is m.CommandResponseType.ACCEPTED
    await receiver.drain()
    assert [body["result"] for _, body, _ in endpoint.posts] == ["ACCEPTED"]


async def test_a_reservation_that_expires_in_the_past_is_rejected() -> None:
    receiver, _, clock = await cpo_side(Charger(), EmspEndpoint())
    requester = Requester(partner=partner(clock), version="2.2.1", party=("DE", "MSP"))
    late = m.ReserveNow(
        response_url="https://emsp.test/r/3",
        token=token(),
        expiry_date=DateTime.parse("2026-03-01T11:00:00Z"),
        reservation_id="7",
        location_id="LOC1",
    )
    assert (await receiver.reserve_now(requester, late)).result is m.CommandResponseType.REJECTED


async def test_silent_and_broken_chargers_still_produce_a_result() -> None:
    endpoint = EmspEndpoint()
    silent = Charger(answer=None)
    receiver, store, clock = await cpo_side(silent, endpoint)
    requester = Requester(partner=partner(clock), version="2.2.1", party=("DE", "MSP"))
    await receiver.start_session(requester, start("https://emsp.test/r/a"))
    broken = Charger()
    broken.fail = True
    receiver.charge_point = broken
    await receiver.start_session(requester, start("https://emsp.test/r/b"))
    await receiver.drain()
    results = {url: body["result"] for url, body, _ in endpoint.posts}
    assert results == {"https://emsp.test/r/a": "TIMEOUT", "https://emsp.test/r/b": "FAILED"}
    answers = sorted(r.charger_answer or "" for r in await list_records(store, Direction.RECEIVED))
    assert answers == ["FAILED", "NO_ANSWER"]


async def test_the_result_post_is_retried_then_reported() -> None:
    flaky = EmspEndpoint(failures=2)
    receiver, store, clock = await cpo_side(Charger(), flaky)
    requester = Requester(partner=partner(clock), version="2.2.1", party=("DE", "MSP"))
    await receiver.start_session(requester, start())
    await receiver.drain()
    assert len(flaky.posts) == 1  # third attempt
    down = EmspEndpoint(failures=10)
    receiver, store, clock = await cpo_side(Charger(), down, attempts=2)
    await receiver.start_session(requester, start())
    await receiver.drain()
    (record,) = await list_records(store, Direction.RECEIVED)
    assert record.state is CommandState.FAILED and record.error is not None and "attempt 2" in record.error


async def test_a_2_1_1_result_is_a_command_response() -> None:
    endpoint = EmspEndpoint()
    receiver, _, clock = await cpo_side(Charger(Answer.UNKNOWN), endpoint)
    requester = Requester(partner=partner(clock, version="2.1.1"), version="2.1.1", party=("DE", "MSP"))
    response = await receiver.unlock_connector(
        requester,
        m.UnlockConnector(
            response_url="https://emsp.test/r/u", location_id="LOC1", evse_uid="E1", connector_id="1"
        ),
    )
    assert response.result is m.CommandResponseType.ACCEPTED
    await receiver.drain()
    ((_, body, headers),) = endpoint.posts
    assert body == {"result": "REJECTED"}  # 2.1.1: result only; the charger did not know the connector
    assert headers["Authorization"] == "Token token-p-1"  # raw token in 2.1.1


@pytest.mark.parametrize(
    ("kind", "answer", "expected"),
    [
        (CommandType.START_SESSION, Answer.ACCEPTED, m.CommandResultType.ACCEPTED),
        (CommandType.START_SESSION, Answer.REJECTED, m.CommandResultType.REJECTED),
        (CommandType.START_SESSION, Answer.OCCUPIED, m.CommandResultType.EVSE_OCCUPIED),
        (CommandType.START_SESSION, Answer.INOPERATIVE, m.CommandResultType.EVSE_INOPERATIVE),
        (CommandType.UNLOCK_CONNECTOR, Answer.FAILED, m.CommandResultType.FAILED),
        (CommandType.RESERVE_NOW, Answer.NOT_SUPPORTED, m.CommandResultType.NOT_SUPPORTED),
        (CommandType.STOP_SESSION, Answer.UNKNOWN, m.CommandResultType.UNKNOWN_SESSION),
        (CommandType.CANCEL_RESERVATION, Answer.UNKNOWN, m.CommandResultType.UNKNOWN_RESERVATION),
        (CommandType.START_SESSION, Answer.UNKNOWN, m.CommandResultType.REJECTED),
        (CommandType.STOP_SESSION, None, m.CommandResultType.TIMEOUT),
    ],
)
def test_charger_answers_become_command_results(
    kind: CommandType, answer: Answer | None, expected: m.CommandResultType
) -> None:
    assert result_for(kind, answer).result is expected


# -- the eMSP side ---------------------------------------------------------------------------------


class Partners:
    def __init__(self, *found: Partner) -> None:
        self.found = {p.name: p for p in found}

    async def get(self, name: str) -> Partner:
        if name not in self.found:
            raise NotFound(f"no partner {name!r}")
        return self.found[name]


class Tokens:
    async def own_token(self, uid: str, token_type: str | None = None) -> m.Token | None:
        return token(uid) if uid.startswith("APP") else None


Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def cpo_partner(clock: FixedClock, version: str = "2.2.1", *, with_commands: bool = True) -> Partner:
    endpoints = (
        (PartnerEndpoint(module="commands", url=f"https://cpo.test/{version}/commands", role="RECEIVER"),)
        if with_commands
        else ()
    )
    return partner(
        clock, partner_id="p-cpo", role="CPO", party=("NL", "CPO"), version=version, endpoints=endpoints
    )


def accepted(timeout: int | None = 30) -> Handler:
    async def handle(request: httpx.Request) -> httpx.Response:
        data: dict[str, Any] = {"result": "ACCEPTED"}
        if timeout is not None:
            data["timeout"] = timeout
        return httpx.Response(200, json=envelope(data))

    return handle


async def emsp_side(
    handler: Handler, *partners_: Partner, clock: FixedClock, sleep: Any = asyncio.sleep
) -> tuple[CommandSender, MemoryStore, list[httpx.Request]]:
    store = MemoryStore()
    await store.migrate()
    seen: list[httpx.Request] = []

    async def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return await handler(request)

    sender = CommandSender(
        store,
        httpx.AsyncClient(transport=httpx.MockTransport(record)),
        clock,
        SequentialIds("cmd"),
        base_url="https://emsp.test/",
        partners=Partners(*partners_),
        parties=[("DE", "MSP")],
        tokens=Tokens(),
        grace=5,
        sleep=sleep,
    )
    return sender, store, seen


async def test_a_command_is_sent_with_its_own_response_url_and_matched_to_its_result() -> None:
    clock = FixedClock(T0)
    cpo = cpo_partner(clock)
    sender, _, seen = await emsp_side(accepted(), cpo, clock=clock)
    record = await sender.start_session("cpo", location_id="LOC1", evse_uid="E1", token_uid="APP1")
    (request,) = seen
    assert str(request.url) == "https://cpo.test/2.2.1/commands/START_SESSION"
    body = json.loads(request.content)
    assert body["response_url"] == f"https://emsp.test/ocpi/2.2.1/sender/commands/{record.id}"
    assert record.response_url == body["response_url"] and record.id.startswith("cmd-")
    assert body["token"]["uid"] == "APP1"
    assert body["authorization_reference"] == record.summary["authorization_reference"]
    assert record.state is CommandState.WAITING
    assert record.deadline == DateTime.parse("2026-03-01T12:00:35Z")  # timeout 30 s + grace 5 s

    result = m.CommandResult(result=m.CommandResultType.ACCEPTED)
    with pytest.raises(NotFound):  # another partner cannot settle our command
        await sender.receive_result(partner(clock, partner_id="p-x"), record.id, result)
    with pytest.raises(NotFound):
        await sender.receive_result(cpo, "cmd-999999", result)
    done = await sender.receive_result(cpo, record.id, result)
    assert done.state is CommandState.DONE and done.outcome == "ACCEPTED"
    assert (await sender.get(record.id)).outcome == "ACCEPTED"


async def test_a_result_may_overtake_the_answer() -> None:
    clock = FixedClock(T0)
    cpo = cpo_partner(clock)
    holder: dict[str, CommandSender] = {}

    async def early_result(request: httpx.Request) -> httpx.Response:
        command_id = json.loads(request.content)["response_url"].rsplit("/", 1)[1]
        await holder["sender"].receive_result(
            cpo, command_id, m.CommandResult(result=m.CommandResultType.REJECTED)
        )
        return await accepted()(request)

    sender, _, _ = await emsp_side(early_result, cpo, clock=clock)
    holder["sender"] = sender
    record = await sender.stop_session("cpo", session_id="S1")
    assert record.state is CommandState.DONE and record.outcome == "REJECTED"
    assert record.response is not None and record.response.result is m.CommandResponseType.ACCEPTED


async def test_refusals_and_failures_are_final() -> None:
    clock = FixedClock(T0)

    async def rejected(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=envelope({"result": "NOT_SUPPORTED", "timeout": 30}))

    sender, _, _ = await emsp_side(rejected, cpo_partner(clock), clock=clock)
    record = await sender.unlock_connector("cpo", location_id="L", evse_uid="E", connector_id="1")
    assert (record.state, record.outcome, record.final) == (CommandState.REFUSED, "NOT_SUPPORTED", True)

    async def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sender, _, _ = await emsp_side(down, cpo_partner(clock), clock=clock)
    record = await sender.stop_session("cpo", session_id="S1")
    assert (record.state, record.outcome) == (CommandState.FAILED, "FAILED")
    assert record.error is not None and "ConnectError" in record.error


async def test_no_result_by_the_deadline_is_a_timeout() -> None:
    clock = FixedClock(T0)
    cpo = cpo_partner(clock)

    async def tick(seconds: float) -> None:
        clock.advance(seconds)

    sender, _, _ = await emsp_side(accepted(timeout=10), cpo, clock=clock, sleep=tick)
    record = await sender.stop_session("cpo", session_id="S1")
    clock.advance(14)
    assert (await sender.get(record.id)).state is CommandState.WAITING
    done = await sender.wait(record.id, poll=0.5)
    assert clock.now() >= DateTime.parse("2026-03-01T12:00:15Z")
    assert done.result is not None and done.result.result is m.CommandResultType.TIMEOUT
    assert [e.source for e in done.results] == ["local"]
    # a late result is kept, but the command stays timed out
    late = await sender.receive_result(cpo, record.id, m.CommandResult(result=m.CommandResultType.ACCEPTED))
    assert late.outcome == "TIMEOUT" and [e.source for e in late.results] == ["local", "partner"]


async def test_a_2_1_1_partner_gets_integer_reservation_ids_and_no_cancel() -> None:
    clock = FixedClock(T0)
    cpo = cpo_partner(clock, "2.1.1")
    sender, _, seen = await emsp_side(accepted(timeout=None), cpo, clock=clock)
    expiry = clock.now() + timedelta(minutes=15)
    first = await sender.reserve_now("cpo", location_id="L", token_uid="APP1", expiry_date=expiry)
    second = await sender.reserve_now("cpo", location_id="L", token_uid="APP1", expiry_date=expiry)
    assert [json.loads(r.content)["reservation_id"] for r in seen] == [1, 2]
    assert seen[0].headers["Authorization"] == "Token token-p-cpo"
    assert first.deadline == DateTime.parse("2026-03-01T12:01:05Z")  # no timeout in 2.1.1: 60 s + 5 s
    assert second.summary["reservation"] == "2"
    with pytest.raises(CommandError, match="no CANCEL_RESERVATION"):
        await sender.cancel_reservation("cpo", reservation_id="1")


async def test_commands_that_cannot_be_sent() -> None:
    clock = FixedClock(T0)
    sender, store, seen = await emsp_side(
        accepted(),
        cpo_partner(clock),
        partner(clock, partner_id="p-bare", role="CPO", party=("NL", "BAR")),
        partner(clock, partner_id="p-gone", role="CPO", status=PartnerStatus.UNREGISTERED),
        clock=clock,
    )
    with pytest.raises(CommandError, match="no partner 'nobody'"):
        await sender.stop_session("nobody", session_id="S")
    with pytest.raises(CommandError, match="no commands RECEIVER endpoint"):
        await sender.stop_session("bare", session_id="S")
    with pytest.raises(CommandError, match="not connected"):
        await sender.stop_session("gone", session_id="S")
    with pytest.raises(CommandError, match="no token 'RFID9' of ours"):
        await sender.start_session("cpo", location_id="L", token_uid="RFID9")
    assert seen == [] and await store.count("command_sent") == 0
