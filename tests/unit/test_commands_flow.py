"""An eMSP node and a CPO node with simulated chargers, in one process (ASGI transports): every command
type from the eMSP's service through both apps to the charger and back as a result on its own URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from evroam import model as m
from evroam.core.types import DateTime
from evroam.modules.commands import CommandRecord, CommandSender, CommandState, Direction, list_records
from evroam.modules.locations.service import LocationAdmin
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import Node, build_node, cpo_parties
from evroam.registration.directory import RegisteredPartners
from evroam.sim import SimOptions, Simulator
from evroam.testing import FixedClock, ManualTime, MemoryStore, SequentialIds
from tests.unit.push_support import location

T0 = "2026-03-01T12:00:00Z"
CPO_PARTY = ("NL", "CPO")


class Network(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.hosts: dict[str, httpx.AsyncBaseTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host not in self.hosts:
            raise httpx.ConnectError(f"connection refused by {request.url.host}", request=request)
        return await self.hosts[request.url.host].handle_async_request(request)


def make_node(
    network: Network, tmp: Path, host: str, role: str, party: str, sim: Simulator | None = None
) -> Node:
    config = NodeConfig(
        url=f"http://{host}",
        parties=[PartyConfig(country_code=party[:2], party_id=party[2:], role=role, name=f"{party} B.V.")],
    )
    node = build_node(
        Settings(data_dir=tmp / host),
        config=config,
        store=MemoryStore(),
        transport=network,
        clock=FixedClock(T0),
        ids=SequentialIds(host.split(".")[0]),
    )
    node.charge_point = sim
    network.hosts[host] = httpx.ASGITransport(app=node.app(worker=False))
    return node


class Tokens:
    def __init__(self, *tokens: m.Token) -> None:
        self.tokens = {str(t.uid).casefold(): t for t in tokens}

    async def own_token(self, uid: str, token_type: str | None = None) -> m.Token | None:
        return self.tokens.get(uid.casefold())


def token(uid: str) -> m.Token:
    return m.Token(
        country_code="DE",
        party_id="MSP",
        uid=uid,
        type="APP_USER",
        contract_id=f"DE-MSP-{uid}",
        issuer="MSP GmbH",
        valid=True,
        whitelist=m.WhitelistType.ALLOWED,
        last_updated=DateTime.parse(T0),
    )


@dataclass
class World:
    cpo: Node
    emsp: Node
    sim: Simulator
    time: ManualTime
    sender: CommandSender

    async def settled(self, record: CommandRecord) -> CommandRecord:
        return await asyncio.wait_for(self.sender.wait(record.id, poll=0.01), 5)


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.setenv("EVROAM_COMMANDS_TIMEOUT", "1")
    network = Network()
    time = ManualTime(T0)
    sim = Simulator((), time=time, ids=SequentialIds("session"), options=SimOptions(plug_delay=30))
    cpo = make_node(network, tmp_path, "cpo.test", "CPO", "NLCPO", sim)
    emsp = make_node(network, tmp_path, "emsp.test", "EMSP", "DEMSP")
    for node in (cpo, emsp):
        await node.start()
    invitation = await cpo.registration.invite("emsp")
    await emsp.registration.register(invitation.versions_url, invitation.token, "cpo")
    admin = LocationAdmin(cpo.store, cpo.clock, RegisteredPartners(), cpo_parties(cpo.config))
    at = cpo.clock.now()
    await admin.import_locations([location("LOC1", at, owner=CPO_PARTY, evses=("E1", "E2"))])
    sim.add_locations(await admin.list_locations())
    await sim.power_on()
    sender = CommandSender(
        emsp.store,
        emsp.http,
        emsp.clock,
        SequentialIds("cmd"),
        base_url=emsp.config.url,
        partners=emsp.registration,
        parties=[("DE", "MSP")],
        tokens=Tokens(token("APP1"), token("APP2")),
        grace=5,
    )
    try:
        yield World(cpo, emsp, sim, time, sender)
    finally:
        await sim.close()
        for node in (cpo, emsp):
            await node.close()


async def test_the_cpo_lists_its_commands_receiver_and_the_emsp_its_result_url(world: World) -> None:
    partner = await world.emsp.registration.get("cpo")
    endpoint = partner.endpoint("commands", "RECEIVER")
    assert endpoint is not None and endpoint.url == "http://cpo.test/ocpi/2.2.1/receiver/commands"
    back = await world.cpo.registration.get("emsp")
    result_url = back.endpoint("commands", "SENDER")
    assert result_url is not None and result_url.url == "http://emsp.test/ocpi/2.2.1/sender/commands"


async def test_start_and_stop_a_session_by_command(world: World) -> None:
    sent = await world.sender.start_session("cpo", location_id="LOC1", evse_uid="E2", token_uid="APP1")
    assert sent.response is not None and sent.response.result is m.CommandResponseType.ACCEPTED
    assert sent.response.timeout == 1
    assert sent.response_url == f"http://emsp.test/ocpi/2.2.1/sender/commands/{sent.id}"
    done = await world.settled(sent)
    assert done.state is CommandState.DONE
    assert done.result is not None and done.result.result is m.CommandResultType.ACCEPTED
    assert [e.source for e in done.results] == ["partner"]

    # the driver plugs in 30 simulated seconds later: the transaction carries the command's reference
    await world.time.advance(30)
    (running,) = world.sim.transactions
    assert (running.evse_uid, running.token.uid) == ("E2", "APP1")
    assert running.authorization_reference == done.summary["authorization_reference"]

    # the CPO recorded the command too, with the charger's answer
    (received,) = await list_records(world.cpo.store, Direction.RECEIVED)
    assert (received.type.value, received.charger_answer, received.state) == (
        "START_SESSION",
        "ACCEPTED",
        CommandState.DONE,
    )
    assert received.partner_name == "emsp"

    stop = await world.settled(await world.sender.stop_session("cpo", session_id=running.transaction_id))
    assert stop.outcome == "ACCEPTED"
    assert world.sim.transactions == []

    again = await world.sender.stop_session("cpo", session_id=running.transaction_id)
    assert again.state is CommandState.REFUSED and again.outcome == "UNKNOWN_SESSION"


async def test_reserve_cancel_and_unlock(world: World) -> None:
    expiry = world.sender.now() + timedelta(minutes=30)
    reserved = await world.settled(
        await world.sender.reserve_now(
            "cpo", location_id="LOC1", evse_uid="E1", token_uid="APP1", expiry_date=expiry
        )
    )
    assert reserved.outcome == "ACCEPTED"
    assert reserved.summary["reservation"] == "1"  # our first reservation number
    assert world.sim.status("E1") is m.Status.RESERVED

    # another of our drivers cannot start on the reserved EVSE: the charger says occupied
    occupied = await world.settled(
        await world.sender.start_session("cpo", location_id="LOC1", evse_uid="E1", token_uid="APP2")
    )
    assert occupied.outcome == "EVSE_OCCUPIED"

    cancelled = await world.settled(await world.sender.cancel_reservation("cpo", reservation_id="1"))
    assert cancelled.outcome == "ACCEPTED"
    assert world.sim.status("E1") is m.Status.AVAILABLE
    unknown = await world.settled(await world.sender.cancel_reservation("cpo", reservation_id="1"))
    assert unknown.outcome == "UNKNOWN_RESERVATION"

    unlocked = await world.settled(
        await world.sender.unlock_connector("cpo", location_id="LOC1", evse_uid="E1", connector_id="1")
    )
    assert unlocked.outcome == "ACCEPTED"


async def test_an_unknown_location_is_refused_with_2003(world: World) -> None:
    record = await world.sender.start_session("cpo", location_id="NOWHERE", token_uid="APP1")
    assert record.state is CommandState.REFUSED
    assert record.outcome == "REJECTED"
    assert record.error is not None and "2003" in record.error and "NOWHERE" in record.error
    unknown_connector = await world.sender.unlock_connector(
        "cpo", location_id="LOC1", evse_uid="E1", connector_id="9"
    )
    assert unknown_connector.outcome == "REJECTED" and "2003" in (unknown_connector.error or "")


async def test_a_charger_that_never_answers_gives_timeout_at_the_emsp(world: World) -> None:
    world.sim.configure(never_answer=frozenset({"start"}))
    sent = await world.sender.start_session("cpo", location_id="LOC1", evse_uid="E1", token_uid="APP1")
    assert sent.outcome.startswith("ACCEPTED")  # the CPO forwarded it
    done = await world.settled(sent)  # the CPO gives up after its 1 s timeout and POSTs TIMEOUT
    assert done.result is not None and done.result.result is m.CommandResultType.TIMEOUT
    assert done.results[-1].source == "partner"
    (received,) = await list_records(world.cpo.store, Direction.RECEIVED)
    assert received.charger_answer == "NO_ANSWER" and received.state is CommandState.DONE
    assert world.sim.transactions == []
