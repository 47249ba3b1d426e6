"""The locations Sender without every document in memory, and the import read a batch at a time.

The Sender's index keeps only ``seq`` / ``revision`` / ``last_updated`` per location and reads each
page's documents from the store, their wire JSON kept in a bounded cache; two stores on one SQLite file
stand for two worker processes. The import command reads its file a batch at a time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evroam.core.codec import encode
from evroam.core.errors import ValidationFailed
from evroam.model.enums import Status
from evroam.modules._cli import read_item_batches
from evroam.modules.locations import service as locations_service
from evroam.modules.locations.index import EncodedCache, OwnLocationIndex
from evroam.modules.locations.ports import ImportBatch
from evroam.modules.locations.repository import CHANGE_LOG_KEY, load_location
from evroam.modules.locations.service import LocationAdmin
from evroam.modules.locations.validation import parse_location_items, parse_locations
from evroam.registration.directory import RegisteredPartners
from evroam.registration.model import Partner
from evroam.store import SqlStore
from evroam.store.port import ObjectKey, StoredObject
from evroam.testing import FixedClock

from .locations_harness import location_json, partners

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OURS = [("NL", "CPO")]


def ours(location_id: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("evses", (f"{location_id}-E1",))
    return location_json(location_id, country_code="NL", party_id="CPO", **kw)


def admin(store: SqlStore) -> LocationAdmin:
    return LocationAdmin(store, FixedClock(NOW), RegisteredPartners(), OURS)


def emsp() -> Partner:
    return partners(NOW)[0][0]  # partner "emsp" of locations_harness


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SqlStore, SqlStore]]:
    """Two stores on one SQLite file: what two worker processes see."""
    url = f"sqlite:///{tmp_path / 'evroam.db'}"
    first = SqlStore.from_url(url)
    await first.migrate()
    second = SqlStore.from_url(url)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def walk(
    index: OwnLocationIndex, partner: Partner, limit: int, **dates: Any
) -> tuple[list[str], set[int]]:
    """Every page from offset 0: the ids in order, and the totals each page reported."""
    ids: list[str] = []
    totals: set[int] = set()
    offset = 0
    while True:
        await index.refresh()
        items, total = await index.page(
            partner,
            date_from=dates.get("date_from"),
            date_to=dates.get("date_to"),
            offset=offset,
            limit=limit,
        )
        totals.add(total)
        ids.extend(json.loads(item.document)["id"] for item in items)
        offset += limit
        if offset >= total:
            return ids, totals


async def test_a_full_walk_with_a_cache_of_almost_nothing_serves_every_location_in_order(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    store, _ = stores
    await admin(store).import_locations(
        parse_locations(encode([ours(f"L{i:02d}") for i in range(30)]), "2.2.1")
    )
    cache = EncodedCache(max_bytes=1)  # holds one location at a time
    index = OwnLocationIndex(store, cache)
    ids, totals = await walk(index, emsp(), 7)
    assert ids == [f"L{i:02d}" for i in range(30)]
    assert totals == {30}
    assert len(cache) == 1
    assert len(index) == 30


async def test_dates_and_hidden_locations_are_applied_before_offset_and_limit(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    store, _ = stores
    partner = emsp()
    name = partner.roles[0].name
    objects = [
        ours(
            f"L{i}",
            last_updated=f"2026-02-0{i}T00:00:00Z",
            publish=i not in (3, 5),
            allowed_issuers=(name,) if i == 5 else (),
        )
        for i in range(1, 9)
    ]
    await admin(store).import_locations(parse_locations(encode(objects), "2.2.1"))
    index = OwnLocationIndex(store, EncodedCache(max_bytes=1))
    # L3 is hidden from everybody, L5 shown to this partner only
    ids, totals = await walk(index, partner, 2)
    assert ids == ["L1", "L2", "L4", "L5", "L6", "L7", "L8"] and totals == {7}
    stranger = msgspec_replace_roles(partner, "Somebody else")
    ids, totals = await walk(index, stranger, 2)
    assert ids == ["L1", "L2", "L4", "L6", "L7", "L8"] and totals == {6}
    window = {"date_from": datetime(2026, 2, 2, tzinfo=UTC), "date_to": datetime(2026, 2, 7, tzinfo=UTC)}
    ids, totals = await walk(index, partner, 2, **window)
    assert ids == ["L2", "L4", "L5", "L6"] and totals == {4}
    ids, totals = await walk(index, stranger, 3, **window)
    assert ids == ["L2", "L4", "L6"] and totals == {3}


def msgspec_replace_roles(partner: Partner, name: str) -> Partner:
    import msgspec

    roles = tuple(
        msgspec.structs.replace(
            role, business_details=msgspec.structs.replace(role.business_details, name=name)
        )
        for role in partner.roles
    )
    return msgspec.structs.replace(partner, roles=roles)


@pytest.mark.parametrize("shared_reads", [False, True], ids=["own-read", "shared-read"])
async def test_a_change_made_through_another_process_is_on_the_next_page(
    stores: tuple[SqlStore, SqlStore], shared_reads: bool
) -> None:
    serving, other = stores
    await admin(other).import_locations(parse_locations(encode([ours("L1"), ours("L2")]), "2.2.1"))
    index = OwnLocationIndex(serving, shared_reads=shared_reads)

    async def statuses() -> list[str]:
        await index.refresh()
        items, _ = await index.page(emsp(), date_from=None, date_to=None, offset=0, limit=10)
        render = lambda document: document  # noqa: E731  (the stored document stands for the wire JSON)
        return [json.loads(item.wire("test", render))["evses"][0]["status"] for item in items]

    assert await statuses() == ["AVAILABLE", "AVAILABLE"]  # now cached in the serving process
    await admin(other).set_status("L2-E1", Status.CHARGING)
    assert await statuses() == ["AVAILABLE", "CHARGING"]
    await admin(other).import_locations(parse_locations(encode([ours("L3")]), "2.2.1"))
    await index.refresh()
    items, total = await index.page(emsp(), date_from=None, date_to=None, offset=2, limit=10)
    assert total == 3 and [json.loads(item.document)["id"] for item in items] == ["L3"]


class HeldLogReads:
    """A store whose reads of the change log are counted and can be held on their way back (the
    round trip to a database server), for the index's shared read."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self.log_reads = 0
        self.held = False
        self.reading = asyncio.Event()
        self.released = asyncio.Event()

    async def get(self, key: ObjectKey, *, for_update: bool = False) -> StoredObject | None:
        found = await self._store.get(key, for_update=for_update)
        if key == CHANGE_LOG_KEY:
            self.log_reads += 1
            if self.held:
                self.reading.set()
                await self.released.wait()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_concurrent_pages_share_one_read_of_the_change_log(stores: tuple[SqlStore, SqlStore]) -> None:
    serving, other = stores
    await admin(other).import_locations(parse_locations(encode([ours("L1"), ours("L2")]), "2.2.1"))
    store = HeldLogReads(serving)
    index = OwnLocationIndex(store, shared_reads=True)  # type: ignore[arg-type]
    await index.refresh()
    store.log_reads = 0
    await asyncio.gather(*(index.refresh() for _ in range(20)))
    assert store.log_reads == 1
    await index.refresh()  # alone: a read of its own
    assert store.log_reads == 2


async def test_a_page_begun_after_a_change_never_shares_a_log_read_sent_before_it(
    stores: tuple[SqlStore, SqlStore],
) -> None:
    serving, other = stores
    await admin(other).import_locations(parse_locations(encode([ours("L1"), ours("L2")]), "2.2.1"))
    store = HeldLogReads(serving)
    index = OwnLocationIndex(store, shared_reads=True)  # type: ignore[arg-type]

    async def statuses() -> list[str]:
        await index.refresh()
        items, _ = await index.page(emsp(), date_from=None, date_to=None, offset=0, limit=10)
        return [json.loads(item.document)["evses"][0]["status"] for item in items]

    assert await statuses() == ["AVAILABLE", "AVAILABLE"]  # now cached: a stale log would serve these
    store.held = True
    early = asyncio.create_task(statuses())  # its read is made, the answer on its way
    await store.reading.wait()
    await admin(other).set_status("L2-E1", Status.CHARGING)
    late = asyncio.create_task(statuses())  # begun after the change
    for _ in range(5):
        await asyncio.sleep(0)
    store.held = False
    store.released.set()
    assert await early == ["AVAILABLE", "AVAILABLE"]  # its log was read before the change
    assert await late == ["AVAILABLE", "CHARGING"]
    assert store.log_reads >= 2


# -- the import, a batch at a time --------------------------------------------------------------------


def batches_of(path: Path, log: list[str], batch: int = 4) -> Iterator[ImportBatch]:
    for start, items in read_item_batches(path, batch=batch, chunk=97):
        log.append(f"read {start}")
        yield parse_location_items(items, start, "2.2.1")


async def test_the_import_writes_each_batch_before_it_reads_the_next(
    stores: tuple[SqlStore, SqlStore], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = stores
    path = tmp_path / "locations.json"
    path.write_text(json.dumps([ours(f"L{i}") for i in range(10)], indent=1))
    log: list[str] = []
    saving = locations_service.save_own_locations

    async def save(ops: Any, locations: Any, now: datetime) -> Any:
        log.append("save " + ",".join(str(loc.id) for loc in locations))
        return await saving(ops, locations, now)

    monkeypatch.setattr(locations_service, "save_own_locations", save)
    report = await admin(store).import_batches(batches_of(path, log))
    assert log == [
        "read 0",
        "save L0,L1,L2,L3",
        "read 4",
        "save L4,L5,L6,L7",
        "read 8",
        "save L8,L9",
    ]
    assert report.created == [f"L{i}" for i in range(10)]
    assert all([await load_location(store, "NL", "CPO", f"L{i}") for i in range(10)])


async def test_a_location_or_evse_repeated_in_a_later_batch_refuses_the_whole_import(
    stores: tuple[SqlStore, SqlStore], tmp_path: Path
) -> None:
    store, _ = stores
    path = tmp_path / "locations.json"
    objects = [ours(f"L{i}") for i in range(6)]
    objects.append(ours("L1"))  # given twice, batches apart
    objects.append(ours("L9", evses=("L2-E1",)))  # an EVSE uid of L2
    objects.append({"id": "broken"})
    path.write_text(json.dumps(objects))
    with pytest.raises(ValidationFailed) as refused:
        await admin(store).import_batches(batches_of(path, []))
    paths = refused.value.paths
    assert "$[6].id" in paths
    assert "$[7].evses[0].uid" in paths
    assert any(p.startswith("$[8]") for p in paths)
    assert await load_location(store, "NL", "CPO", "L0") is None  # nothing was kept


def test_a_file_that_is_not_json_is_one_line_naming_line_and_column(tmp_path: Path) -> None:
    from evroam.modules.output import CommandFailed

    path = tmp_path / "bad.json"
    path.write_text('[{"id": "L1"}, {"id": ')
    with pytest.raises(CommandFailed, match=r"bad.json: not valid JSON: .* at line 1, column \d+$"):
        list(read_item_batches(path, chunk=5))
    # on the third line, the "]" after "ö" (two bytes, one character) and a comma: column 6
    path.write_text('[\n {"id": "L1"},\n "ö",]\n')
    for chunk in (1, 3, 1 << 20):
        with pytest.raises(CommandFailed, match=r"an array item is missing at line 3, column 6$"):
            list(read_item_batches(path, chunk=chunk))
