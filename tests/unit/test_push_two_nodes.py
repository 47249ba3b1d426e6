"""A CPO node and an eMSP node in one process (ASGI transports): pull, push, outage, equal views.

Both nodes run their real apps (registration, locations and tariffs bindings); the CPO changes its
locations through the locations service, which writes the outbox; its push worker delivers; the eMSP
pulls with the sync. The over-real-sockets version of this lives with the node integration tests.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from evroam import model as m
from evroam.modules.locations.repository import iter_locations
from evroam.modules.locations.service import LocationAdmin
from evroam.modules.tariffs.repository import iter_tariffs
from evroam.modules.tariffs.service import TariffAdmin
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import Node, build_node, cpo_parties
from evroam.ocpi.transport import PartyRef
from evroam.pull.sync import sync_module
from evroam.push.retry import Jitter, RetryPolicies, RetryPolicy
from evroam.push.worker import PushWorker
from evroam.registration.directory import RegisteredPartners
from evroam.store import OutboxStatus
from evroam.testing import FixedClock, MemoryStore, SequentialIds
from tests.unit.kits import PULLS, PUSHERS
from tests.unit.push_support import location, tariff

CPO_PARTY = ("NL", "CPO")


class Network(httpx.AsyncBaseTransport):
    """Routes requests by host to each node's ASGI app; a host taken off the network refuses."""

    def __init__(self) -> None:
        self.hosts: dict[str, httpx.AsyncBaseTransport] = {}
        self.down: set[str] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down or host not in self.hosts:
            raise httpx.ConnectError(f"connection refused by {host}", request=request)
        return await self.hosts[host].handle_async_request(request)


def make_node(network: Network, tmp: Path, host: str, role: str, party: str) -> Node:
    config = NodeConfig(
        url=f"http://{host}",
        parties=[PartyConfig(country_code="NL", party_id=party, role=role, name=f"{party} B.V.")],
    )
    node = build_node(
        Settings(data_dir=tmp / host),
        config=config,
        store=MemoryStore(),
        transport=network,
        clock=FixedClock("2026-03-01T12:00:00Z"),
        ids=SequentialIds(host),
    )
    network.hosts[host] = httpx.ASGITransport(app=node.app(worker=False))
    return node


@dataclass
class World:
    network: Network
    cpo: Node
    emsp: Node
    worker: PushWorker
    admin: LocationAdmin

    @property
    def cpo_clock(self) -> FixedClock:
        clock = self.cpo.clock
        assert isinstance(clock, FixedClock)
        return clock

    async def cpo_view(self) -> list[m.Location]:
        return [loc async for loc in iter_locations(self.cpo.store, partners=[None])]

    async def emsp_view(self) -> list[m.Location]:
        partner = await self.emsp.registration.get("cpo")
        return [loc async for loc in iter_locations(self.emsp.store, partners=[partner.id])]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    network = Network()
    cpo = make_node(network, tmp_path, "cpo.test", "CPO", "CPO")
    emsp = make_node(network, tmp_path, "emsp.test", "EMSP", "MSP")
    for node in (cpo, emsp):
        await node.start()
    invitation = await cpo.registration.invite("emsp")
    await emsp.registration.register(invitation.versions_url, invitation.token, "cpo")
    worker = PushWorker(
        cpo.store,
        cpo.http,
        pushers=PUSHERS,
        clock=cpo.clock,
        ids=cpo.ids,
        rng=random.Random(3),
        policies=RetryPolicies(
            default=RetryPolicy(base=timedelta(seconds=1), max_delay=timedelta(seconds=8), jitter=Jitter.FULL)
        ),
    )
    admin = LocationAdmin(cpo.store, cpo.clock, RegisteredPartners(), cpo_parties(cpo.config))
    try:
        yield World(network, cpo, emsp, worker, admin)
    finally:
        for node in (cpo, emsp):
            await node.close()


async def test_pull_then_push_keeps_the_emsp_view_equal_through_an_outage(world: World) -> None:
    now = world.cpo_clock.now()
    locations = [location(f"LOC{n:03d}", now, owner=CPO_PARTY, evses=(f"E{n}A", f"E{n}B")) for n in range(30)]
    report = await world.admin.import_locations(locations)
    assert report.outbox_rows == 30  # one per location for the one receiving partner

    # the eMSP pulls everything before any push arrives
    partner = await world.emsp.registration.get("cpo")
    result = await sync_module(
        world.emsp.store,
        world.emsp.http,
        partner,
        "locations",
        pulls=PULLS,
        clock=world.emsp.clock,
        ids=world.emsp.ids,
        us=PartyRef.of("NL", "MSP"),
        page_limit=7,
    )
    assert (result.fetched, result.created, result.pages) == (30, 30, 5)
    assert await world.emsp_view() == await world.cpo_view()

    # the puts of the import arrive too (the eMSP already has the same objects)
    drained = await world.worker.drain()
    assert (drained.delivered, drained.failed) == (30, 0)

    rng = random.Random(11)
    statuses = [s for s in m.Status if s is not m.Status.REMOVED]
    uids = [e.uid for loc in locations for e in loc.evses or ()]

    async def changes(count: int) -> None:
        for _ in range(count):
            world.cpo_clock.advance(1)
            await world.admin.set_status(rng.choice(uids), rng.choice(statuses))

    await changes(60)
    await world.worker.drain()
    assert await world.emsp_view() == await world.cpo_view()

    # the eMSP is unreachable while more changes happen: nothing is lost
    world.network.down.add("emsp.test")
    await changes(40)
    failed = await world.worker.run_once()
    assert failed.failed > 0 and failed.delivered == 0
    await changes(20)
    assert await world.emsp_view() != await world.cpo_view()

    world.network.down.clear()
    for _ in range(20):  # time passes: every backoff (at most 8 s) runs out
        world.cpo_clock.advance(8)
        await world.worker.drain()
    assert await world.cpo.store.outbox_count(status=OutboxStatus.PENDING) == 0
    assert await world.cpo.store.outbox_count(status=OutboxStatus.PARKED) == 0
    assert await world.emsp_view() == await world.cpo_view()


async def test_imported_tariffs_reach_the_emsp_by_push(world: World) -> None:
    admin = TariffAdmin(world.cpo.store, world.cpo.clock, RegisteredPartners(), cpo_parties(world.cpo.config))
    now = world.cpo_clock.now()
    await admin.import_tariffs([tariff(f"T{n}", now, owner=CPO_PARTY) for n in range(3)])

    await world.worker.drain()

    partner = await world.emsp.registration.get("cpo")
    got = [t async for t in iter_tariffs(world.emsp.store, partners=[partner.id])]
    assert got == [t async for t in iter_tariffs(world.cpo.store, partners=[None])]
