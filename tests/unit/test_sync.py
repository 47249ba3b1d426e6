"""Pull sync against a fake paginated CPO (250 objects, at most 100 per page), on memory and SQLite."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from evroam import model as m
from evroam.core.codec import encode
from evroam.core.errors import PartnerError
from evroam.http.client import create_http_client
from evroam.modules.locations.repository import (
    iter_locations,
    load_location,
    load_location_record,
    save_location,
)
from evroam.modules.tariffs.repository import iter_tariffs, load_tariff
from evroam.ocpi.transport import PartyRef
from evroam.ocpi.v2_1_1 import convert as c211
from evroam.ocpi.v2_2_1 import convert as c221
from evroam.pull.sync import SyncError, last_sync, sync_module
from evroam.registration.model import Partner
from evroam.store import SqlStore, Store
from evroam.testing import FakeSender, FixedClock, MemoryStore, SequentialIds
from tests.unit.kits import PULLS
from tests.unit.push_support import cpo_partner, location, register, tariff

CPO = ("BE", "CPO")
US = PartyRef.of("NL", "EMS")


def wire_json(obj: Any) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(encode(obj))
    return result


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    sql = SqlStore.from_url(f"sqlite:///{tmp_path / 'sync.db'}")
    await sql.migrate()
    try:
        yield sql
    finally:
        await sql.close()


class World:
    def __init__(self, store: Store, clock: FixedClock, partner: Partner, sender: FakeSender) -> None:
        self.store = store
        self.clock = clock
        self.partner = partner
        self.sender = sender
        self.progress: list[tuple[int, int | None]] = []

    async def sync(self, module: str = "locations", *, full: bool = False) -> Any:
        async with create_http_client(transport=self.sender.transport()) as http:
            return await sync_module(
                self.store,
                http,
                self.partner,
                module,
                pulls=PULLS,
                clock=self.clock,
                ids=SequentialIds(),
                us=US,
                full=full,
                progress=lambda fetched, total: self.progress.append((fetched, total)),
            )


def cpo_location(n: int, at: datetime, *, name: str | None = None) -> m.Location:
    return location(f"LOC{n:04d}", at, owner=CPO, evses=(f"E{n}-1", f"E{n}-2"), name=name)


@pytest.fixture
async def world(store: Store) -> World:
    clock = FixedClock("2026-03-01T12:00:00Z")
    partner = cpo_partner(clock)
    await register(store, clock, partner)
    sender = FakeSender("https://cpo.test/ocpi/2.2.1/locations")
    made = clock.now()
    sender.objects = [wire_json(c221.location_from_model(cpo_location(n, made))) for n in range(250)]
    clock.advance(3600)
    return World(store, clock, partner, sender)


async def test_a_first_sync_fetches_every_page_and_stores_everything(world: World) -> None:
    result = await world.sync()

    assert (result.full, result.fetched, result.created, result.pages, result.total_count) == (
        True,
        250,
        250,
        3,
        250,
    )
    assert (result.updated, result.unchanged, result.removed, result.refused) == (0, 0, 0, 0)
    assert [q.get("offset", "0") for q in world.sender.queries] == ["0", "100", "200"]
    assert world.progress == [(100, 250), (200, 250), (250, 250), (250, 250)]
    stored = [loc async for loc in iter_locations(world.store, partners=[world.partner.id])]
    assert [loc.id for loc in stored] == [f"LOC{n:04d}" for n in range(250)]
    assert stored[7] == cpo_location(7, datetime.fromisoformat("2026-03-01T12:00:00+00:00"))
    assert await last_sync(world.store, world.partner.id, "locations") == world.clock.now()


async def test_a_second_sync_asks_only_for_what_changed_since_the_first_started(world: World) -> None:
    await world.sync()
    first_start = world.clock.now()
    changed_at = world.clock.advance(60)
    for n in (3, 150, 249):
        world.sender.objects[n] = wire_json(c221.location_from_model(cpo_location(n, changed_at, name="new")))
    world.clock.advance(60)

    result = await world.sync()

    assert world.sender.queries[-1]["date_from"] == "2026-03-01T13:00:00Z"
    assert first_start.to_json() == "2026-03-01T13:00:00Z"
    assert (result.full, result.fetched, result.updated, result.created, result.pages) == (False, 3, 3, 0, 1)
    got = await load_location(world.store, *CPO, "LOC0150")
    assert got is not None and got.name == "new"
    assert await last_sync(world.store, world.partner.id, "locations") == world.clock.now()


async def test_a_full_sync_marks_what_the_partner_no_longer_lists_as_removed(world: World) -> None:
    await world.sync()
    gone = {f"LOC{n:04d}" for n in (0, 99, 100, 248, 249)}
    world.sender.objects = [o for o in world.sender.objects if o["id"] not in gone]
    removed_at = world.clock.advance(600)

    result = await world.sync(full=True)

    assert (result.full, result.fetched, result.unchanged, result.removed, result.created) == (
        True,
        245,
        245,
        5,
        0,
    )
    for location_id in gone:
        loc = await load_location(world.store, *CPO, location_id)
        assert loc is not None and loc.last_updated == removed_at
        assert [e.status for e in loc.evses or ()] == [m.Status.REMOVED, m.Status.REMOVED]
        assert all(e.last_updated == removed_at for e in loc.evses or ())
    kept = await load_location(world.store, *CPO, "LOC0050")
    assert kept is not None and {e.status for e in kept.evses or ()} == {m.Status.AVAILABLE}

    again = await world.sync(full=True)
    assert (again.removed, again.unchanged) == (0, 245)  # already marked: not counted twice


async def test_an_incremental_sync_removes_nothing(world: World) -> None:
    await world.sync()
    world.sender.objects = world.sender.objects[:10]
    world.clock.advance(60)

    result = await world.sync()

    assert (result.full, result.fetched, result.removed) == (False, 0, 0)
    loc = await load_location(world.store, *CPO, "LOC0200")
    assert loc is not None and {e.status for e in loc.evses or ()} == {m.Status.AVAILABLE}


async def test_a_failed_sync_records_nothing_and_removes_nothing(world: World) -> None:
    await world.sync()
    world.sender.objects = world.sender.objects[:150]
    world.sender.fail_at_offset = 100
    world.clock.advance(60)

    with pytest.raises(PartnerError):
        await world.sync(full=True)

    assert await last_sync(world.store, world.partner.id, "locations") == datetime.fromisoformat(
        "2026-03-01T13:00:00+00:00"
    )
    loc = await load_location(world.store, *CPO, "LOC0200")
    assert loc is not None and {e.status for e in loc.evses or ()} == {m.Status.AVAILABLE}


async def test_objects_of_other_parties_or_owners_are_refused(world: World) -> None:
    made = world.clock.now()
    ours = location("MINE", made, owner=CPO)
    await save_location(world.store, ours)  # partner_id None: ours, not the partner's
    stranger = location("STRANGER", made, owner=("DE", "XXX"))
    world.sender.objects = [
        wire_json(
            c221.location_from_model(location("MINE", world.clock.advance(1), owner=CPO, name="taken"))
        ),
        wire_json(c221.location_from_model(stranger)),
        *world.sender.objects[:3],
    ]

    result = await world.sync()

    assert (result.fetched, result.refused, result.created) == (5, 2, 3)
    record = await load_location_record(world.store, *CPO, "MINE")
    assert record is not None and record.partner_id is None and record.location.name is None
    assert await load_location(world.store, "DE", "XXX", "STRANGER") is None


async def test_a_stored_newer_version_is_kept(world: World) -> None:
    await world.sync()
    newer = cpo_location(5, world.clock.advance(60), name="pushed meanwhile")
    await save_location(world.store, newer, partner_id=world.partner.id)

    result = await world.sync(full=True)

    assert (result.stale, result.unchanged, result.updated) == (1, 249, 0)
    got = await load_location(world.store, *CPO, "LOC0005")
    assert got is not None and got.name == "pushed meanwhile"


async def test_tariffs_full_sync_deletes_what_is_gone(store: Store) -> None:
    clock = FixedClock("2026-03-01T12:00:00Z")
    partner = cpo_partner(clock)
    await register(store, clock, partner)
    sender = FakeSender("https://cpo.test/ocpi/2.2.1/tariffs", cap=2)
    sender.objects = [
        wire_json(c221.tariff_from_model(tariff(f"T{n}", clock.now(), owner=CPO))) for n in range(5)
    ]
    w = World(store, clock, partner, sender)

    first = await w.sync("tariffs")
    sender.objects = sender.objects[1:4]
    second = await w.sync("tariffs", full=True)

    assert (first.created, first.pages) == (5, 3)
    assert (second.fetched, second.unchanged, second.removed) == (3, 3, 2)
    assert [t.id async for t in iter_tariffs(store, partners=[partner.id])] == ["T1", "T2", "T3"]
    assert await load_tariff(store, *CPO, "T0") is None


async def test_a_2_1_1_partner_owns_its_objects_through_its_credentials(store: Store) -> None:
    clock = FixedClock("2026-03-01T12:00:00Z")
    partner = cpo_partner(clock, version="2.1.1")
    await register(store, clock, partner)
    sender = FakeSender("https://cpo.test/ocpi/2.1.1/locations")
    sender.objects = [wire_json(c211.location_from_model(cpo_location(1, clock.now())))]
    w = World(store, clock, partner, sender)

    result = await w.sync()

    assert result.created == 1
    loc = await load_location(store, *CPO, "LOC0001")
    assert loc is not None and (loc.country_code, loc.party_id) == CPO


async def test_a_sync_needs_a_connected_partner_with_a_sender_endpoint(store: Store) -> None:
    clock = FixedClock()
    partner = cpo_partner(clock)
    lonely = Partner(
        id="p-x", name="x", status=partner.status, initiated_by="us", created=clock.now(), updated=clock.now()
    )
    async with httpx.AsyncClient() as http:
        with pytest.raises(SyncError, match="not connected"):
            await sync_module(
                store, http, lonely, "locations", pulls=PULLS, clock=clock, ids=SequentialIds(), us=US
            )
        with pytest.raises(SyncError, match="cannot sync"):
            await sync_module(
                store, http, partner, "commands", pulls=PULLS, clock=clock, ids=SequentialIds(), us=US
            )
        no_sender = cpo_partner(clock)
        no_sender.endpoints = ()
        with pytest.raises(SyncError, match="no locations SENDER endpoint"):
            await sync_module(
                store, http, no_sender, "locations", pulls=PULLS, clock=clock, ids=SequentialIds(), us=US
            )
