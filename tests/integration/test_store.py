"""The store contract, run against every implementation; plus migrations and SQLite specifics.

Back ends: the in-memory store, SQLite run inline (``sqlite://``, the default), SQLite through
aiosqlite, and PostgreSQL (``EVROAM_TEST_POSTGRES_URL``; each test gets a schema of its own).
"""

from __future__ import annotations

import asyncio
import io
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from evroam.store import (
    MemoryStore,
    ObjectKey,
    OutboxStatus,
    PutOutcome,
    SqlStore,
    Store,
    create_store,
)
from evroam.store.migrate import alembic_config, current_revision
from evroam.store.schema import VERSION_TABLE, metadata
from evroam.store.sql import migrate_url as upgrade

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def key(object_id: str, kind: str = "location", country_code: str = "NL", party_id: str = "ABC") -> ObjectKey:
    return ObjectKey(kind, country_code, party_id, object_id)


# -- back ends -----------------------------------------------------------------------------------

BACKENDS = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("aiosqlite", id="aiosqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]
SQL_BACKENDS = BACKENDS[1:]


@asynccontextmanager
async def postgres_schema(url: str) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL schema, dropped afterwards."""
    name = "evroam_test_" + secrets.token_hex(6)
    admin = create_async_engine(url, poolclass=NullPool)
    try:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        yield name
    finally:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await admin.dispose()


@asynccontextmanager
async def open_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, *, migrate: bool = True
) -> AsyncIterator[Store]:
    """A new, empty store of the given back end (migrated unless told otherwise), closed afterwards."""
    if backend == "memory":
        yield MemoryStore()
        return
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        async with postgres_schema(url) as schema:
            pg_store = SqlStore.from_url(url, schema=schema)
            try:
                if migrate:
                    await pg_store.migrate()
                yield pg_store
            finally:
                await pg_store.close()
        return
    driver = "sqlite" if backend == "sqlite" else "sqlite+aiosqlite"
    sqlite_store = SqlStore.from_url(f"{driver}:///{tmp_path / 'evroam.db'}")
    try:
        if migrate:
            await sqlite_store.migrate()
        yield sqlite_store
    finally:
        await sqlite_store.close()


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(request.param, tmp_path, request) as opened:
        yield opened


# -- objects: CRUD and keys ----------------------------------------------------------------------


async def test_put_then_get_returns_what_was_stored(store: Store) -> None:
    assert await store.get(key("LOC1")) is None

    outcome = await store.put(key("LOC1"), b'{"id":"LOC1"}', at(0), partner_id="cpo-1")

    assert outcome is PutOutcome.CREATED
    got = await store.get(key("LOC1"))
    assert got is not None
    assert (got.kind, got.country_code, got.party_id, got.object_id) == ("location", "NL", "ABC", "LOC1")
    assert got.payload == b'{"id":"LOC1"}'
    assert got.last_updated == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert got.last_updated.tzinfo is not None
    assert got.last_updated.utcoffset() == timedelta(0)
    assert got.partner_id == "cpo-1"
    assert got.revision == 1
    assert got.key == key("LOC1")


async def test_update_replaces_payload_and_bumps_revision(store: Store) -> None:
    await store.put(key("LOC1"), b"v1", at(0), partner_id="cpo-1")
    before = await store.get(key("LOC1"))

    outcome = await store.put(key("LOC1"), b"v2", at(5), partner_id=None)

    assert outcome is PutOutcome.UPDATED
    after = await store.get(key("LOC1"))
    assert before is not None and after is not None
    assert after.payload == b"v2"
    assert after.last_updated == at(5)
    assert after.partner_id is None
    assert after.revision == 2
    assert after.seq == before.seq
    assert await store.count("location") == 1


async def test_keys_are_case_insensitive_and_keep_the_creation_spelling(store: Store) -> None:
    await store.put(ObjectKey("location", "Nl", "AbC", "Loc-One"), b"v1", at(0))

    got = await store.get(ObjectKey("location", "nl", "ABC", "LOC-ONE"))
    assert got is not None
    assert (got.country_code, got.party_id, got.object_id) == ("Nl", "AbC", "Loc-One")

    outcome = await store.put(ObjectKey("location", "NL", "abc", "loc-one"), b"v2", at(1))
    assert outcome is PutOutcome.UPDATED
    assert await store.count("location") == 1
    again = await store.get(ObjectKey("location", "NL", "ABC", "Loc-One"))
    assert again is not None
    assert again.payload == b"v2"
    assert (again.country_code, again.party_id, again.object_id) == ("Nl", "AbC", "Loc-One")


async def test_kind_and_every_key_part_separate_objects(store: Store) -> None:
    keys = [
        ObjectKey("location", "NL", "ABC", "X"),
        ObjectKey("tariff", "NL", "ABC", "X"),
        ObjectKey("location", "DE", "ABC", "X"),
        ObjectKey("location", "NL", "XYZ", "X"),
        ObjectKey("location", "NL", "ABC", "Y"),
    ]
    for number, k in enumerate(keys):
        assert await store.put(k, str(number).encode(), at(0)) is PutOutcome.CREATED

    for number, k in enumerate(keys):
        got = await store.get(k)
        assert got is not None and got.payload == str(number).encode()
    assert await store.count("location") == 4
    assert await store.count("tariff") == 1


async def test_offsets_are_converted_to_utc(store: Store) -> None:
    plus_two = timezone(timedelta(hours=2))
    await store.put(key("LOC1"), b"{}", datetime(2026, 3, 1, 14, 0, 0, 250_000, tzinfo=plus_two))

    got = await store.get(key("LOC1"))
    assert got is not None
    assert got.last_updated.utcoffset() == timedelta(0)
    assert (got.last_updated.hour, got.last_updated.microsecond) == (12, 250_000)


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        await store.put(key("LOC1"), b"{}", datetime(2026, 3, 1, 12, 0))  # naive on purpose
    assert await store.get(key("LOC1")) is None
    with pytest.raises(ValueError, match="naive"):
        await store.find("location", date_from=datetime(2026, 3, 1))  # naive on purpose


async def test_delete(store: Store) -> None:
    await store.put(key("LOC1"), b"{}", at(0))
    await store.put(key("LOC2"), b"{}", at(0))

    assert await store.delete(key("loc1")) is True
    assert await store.delete(key("LOC1")) is False
    assert await store.get(key("LOC1")) is None
    assert await store.get(key("LOC2")) is not None
    assert await store.count("location") == 1


# -- stale updates -------------------------------------------------------------------------------


async def test_older_update_is_ignored_as_stale(store: Store) -> None:
    await store.put(key("LOC1"), b"new", at(10))

    assert await store.put(key("LOC1"), b"old", at(9)) is PutOutcome.STALE

    got = await store.get(key("LOC1"))
    assert got is not None
    assert (got.payload, got.last_updated, got.revision) == (b"new", at(10), 1)


async def test_equal_last_updated_is_accepted(store: Store) -> None:
    await store.put(key("LOC1"), b"first", at(10))

    assert await store.put(key("LOC1"), b"second", at(10)) is PutOutcome.UPDATED

    got = await store.get(key("LOC1"))
    assert got is not None and got.payload == b"second"


async def test_stale_check_can_be_switched_off(store: Store) -> None:
    await store.put(key("LOC1"), b"new", at(10))

    assert await store.put(key("LOC1"), b"forced", at(1), check_stale=False) is PutOutcome.UPDATED

    got = await store.get(key("LOC1"))
    assert got is not None
    assert (got.payload, got.last_updated, got.revision) == (b"forced", at(1), 2)


async def test_stale_check_compares_instants_not_wall_clock_text(store: Store) -> None:
    # 12:00:10Z is later than 13:00:05+02:00 (= 11:00:05Z) although "13" sorts after "12"
    await store.put(key("LOC1"), b"new", at(10))
    earlier = datetime(2026, 3, 1, 13, 0, 5, tzinfo=timezone(timedelta(hours=2)))

    assert await store.put(key("LOC1"), b"old", earlier) is PutOutcome.STALE


# -- listing -------------------------------------------------------------------------------------


async def ids(store: Store, **filters: object) -> tuple[list[str], int]:
    page = await store.find("location", **filters)  # type: ignore[arg-type]
    return [item.object_id for item in page.items], page.total


async def test_listing_is_in_creation_order_and_updates_keep_the_position(store: Store) -> None:
    # last_updated deliberately out of creation order
    for object_id, second in [("C", 30), ("A", 10), ("B", 20)]:
        await store.put(key(object_id), b"{}", at(second))
    await store.put(key("a"), b"{}", at(99))  # update A: must stay second

    assert await ids(store) == (["C", "A", "B"], 3)

    await store.delete(key("C"))
    await store.put(key("C"), b"{}", at(0))  # re-created: now the newest
    assert await ids(store) == (["A", "B", "C"], 3)


async def test_offset_limit_and_total(store: Store) -> None:
    for number in range(7):
        await store.put(key(f"L{number}"), b"{}", at(number))

    assert await ids(store, offset=2, limit=3) == (["L2", "L3", "L4"], 7)
    assert await ids(store, offset=5, limit=10) == (["L5", "L6"], 7)
    assert await ids(store, offset=4) == (["L4", "L5", "L6"], 7)
    assert await ids(store, offset=7, limit=3) == ([], 7)
    assert await ids(store, offset=50) == ([], 7)
    assert await ids(store, limit=0) == ([], 7)
    with pytest.raises(ValueError):
        await store.find("location", offset=-1)
    with pytest.raises(ValueError):
        await store.find("location", limit=-1)


async def test_date_from_is_inclusive_and_date_to_exclusive(store: Store) -> None:
    for number in range(5):
        await store.put(key(f"L{number}"), b"{}", at(number * 10))

    assert await ids(store, date_from=at(10)) == (["L1", "L2", "L3", "L4"], 4)
    assert await ids(store, date_to=at(30)) == (["L0", "L1", "L2"], 3)
    assert await ids(store, date_from=at(10), date_to=at(30)) == (["L1", "L2"], 2)
    assert await ids(store, date_from=at(11), date_to=at(30)) == (["L2"], 1)
    assert await ids(store, date_from=at(20), date_to=at(20)) == ([], 0)
    assert await ids(store, date_from=at(10), date_to=at(40), offset=1, limit=1) == (["L2"], 3)
    assert await store.count("location", date_from=at(10), date_to=at(40)) == 3


async def test_date_filters_follow_updates(store: Store) -> None:
    await store.put(key("L0"), b"{}", at(0))
    await store.put(key("L1"), b"{}", at(0))
    await store.put(key("L0"), b"{}", at(100))

    assert await ids(store, date_from=at(50)) == (["L0"], 1)


async def test_date_filters_accept_other_offsets(store: Store) -> None:
    await store.put(key("L0"), b"{}", at(0))
    await store.put(key("L1"), b"{}", at(3600))
    one_hour_later_in_paris = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=1)))

    assert await ids(store, date_from=one_hour_later_in_paris) == (["L1"], 1)


async def test_country_and_party_filters_are_case_insensitive(store: Store) -> None:
    await store.put(ObjectKey("location", "NL", "ABC", "1"), b"{}", at(0))
    await store.put(ObjectKey("location", "nl", "xyz", "2"), b"{}", at(0))
    await store.put(ObjectKey("location", "DE", "abc", "3"), b"{}", at(0))
    await store.put(ObjectKey("tariff", "NL", "ABC", "4"), b"{}", at(0))

    assert await ids(store, country_code="nL") == (["1", "2"], 2)
    assert await ids(store, party_id="Abc") == (["1", "3"], 2)
    assert await ids(store, country_code="NL", party_id="XYZ") == (["2"], 1)
    assert await store.count("location", country_code="de") == 1
    assert await store.count("tariff", country_code="de") == 0


async def test_partner_scope_filter(store: Store) -> None:
    await store.put(key("own"), b"{}", at(0), partner_id=None)
    await store.put(key("a1"), b"{}", at(0), partner_id="A")
    await store.put(key("b1"), b"{}", at(0), partner_id="B")
    await store.put(key("a2"), b"{}", at(0), partner_id="A")

    assert await ids(store) == (["own", "a1", "b1", "a2"], 4)
    assert await ids(store, partners=["A"]) == (["a1", "a2"], 2)
    assert await ids(store, partners=[None]) == (["own"], 1)
    assert await ids(store, partners=["A", None]) == (["own", "a1", "a2"], 3)
    assert await ids(store, partners={"A", "B"}) == (["a1", "b1", "a2"], 3)
    assert await ids(store, partners=[]) == ([], 0)
    assert await ids(store, partners=["a"]) == ([], 0)  # partner ids are exact
    assert await store.count("location", partners=["B", None]) == 2


# -- settings ------------------------------------------------------------------------------------


async def test_settings(store: Store) -> None:
    assert await store.get_setting("last_sync") is None

    await store.set_setting("last_sync", "2026-03-01T12:00:00Z")
    await store.set_setting("other", "x")
    await store.set_setting("last_sync", "2026-03-02T12:00:00Z")

    assert await store.get_setting("last_sync") == "2026-03-02T12:00:00Z"
    assert await store.get_setting("other") == "x"
    assert await store.delete_setting("other") is True
    assert await store.delete_setting("other") is False
    assert await store.get_setting("other") is None


# -- transactions --------------------------------------------------------------------------------


async def test_transaction_commits_everything(store: Store) -> None:
    await store.put(key("gone"), b"{}", at(0))

    async with store.transaction() as tx:
        await tx.put(key("L1"), b"1", at(1))
        await tx.delete(key("gone"))
        await tx.set_setting("s", "v")
        item_id = await tx.outbox_enqueue("A", "location", "NL/ABC/L1", b"1", at(1))

    assert await store.get(key("L1")) is not None
    assert await store.get(key("gone")) is None
    assert await store.get_setting("s") == "v"
    item = await store.outbox_get(item_id)
    assert item is not None and item.status is OutboxStatus.PENDING


async def test_transaction_rolls_back_on_exception(store: Store) -> None:
    await store.put(key("kept"), b"before", at(0))
    await store.set_setting("s", "before")

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with store.transaction() as tx:
            await tx.put(key("new"), b"{}", at(1))
            await tx.put(key("kept"), b"after", at(1))
            await tx.delete(key("kept"))
            await tx.set_setting("s", "after")
            await tx.outbox_enqueue("A", "location", "NL/ABC/new", b"{}", at(1))
            assert await tx.get(key("new")) is not None  # the transaction sees its own writes
            raise Boom

    assert await store.get(key("new")) is None
    kept = await store.get(key("kept"))
    assert kept is not None and kept.payload == b"before"
    assert await store.get_setting("s") == "before"
    assert await store.outbox_count() == 0
    assert await ids(store) == (["kept"], 1)


async def test_store_is_usable_after_a_rollback(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.put(key("L1"), b"{}", at(0))
            raise RuntimeError("abort")

    async with store.transaction() as tx:
        await tx.put(key("L2"), b"{}", at(0))
    await store.put(key("L3"), b"{}", at(0))

    assert await ids(store) == (["L2", "L3"], 2)


async def test_uncommitted_writes_are_invisible_to_other_readers(store: Store) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with store.transaction() as tx:
            await tx.put(key("L1"), b"{}", at(0))
            inside.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await inside.wait()
    assert await store.get(key("L1")) is None
    assert await store.count("location") == 0
    release.set()
    await task
    assert await store.get(key("L1")) is not None


async def test_direct_writes_and_nesting_inside_a_transaction_are_refused(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.put(key("L1"), b"{}", at(0))
        with pytest.raises(RuntimeError, match="open transaction"):
            await store.put(key("L2"), b"{}", at(0))
        with pytest.raises(RuntimeError, match="open transaction"):
            async with store.transaction():
                pass

    assert await ids(store) == (["L1"], 1)


async def test_concurrent_read_modify_write_transactions_lose_no_update(store: Store) -> None:
    await store.put(key("counter"), b"0", at(0))

    async def increment(times: int) -> None:
        for _ in range(times):
            async with store.transaction() as tx:
                current = await tx.get(key("counter"), for_update=True)
                assert current is not None
                await asyncio.sleep(0)  # let the other workers run in between
                await tx.put(key("counter"), str(int(current.payload) + 1).encode(), at(1))

    await asyncio.gather(*(increment(10) for _ in range(4)))

    final = await store.get(key("counter"))
    assert final is not None
    assert final.payload == b"40"
    assert final.revision == 41


# -- outbox --------------------------------------------------------------------------------------


async def test_outbox_claims_due_jobs_oldest_first(store: Store) -> None:
    late = await store.outbox_enqueue("A", "location", "k1", b"1", at(20))
    early = await store.outbox_enqueue("B", "session", "k2", b"2", at(10))
    future = await store.outbox_enqueue("A", "location", "k3", b"3", at(100))
    same_time = await store.outbox_enqueue("A", "location", "k4", b"4", at(10))
    assert late < early < future < same_time

    claimed = await store.outbox_claim(at(20), limit=2, lease=LEASE)

    assert sorted(item.id for item in claimed) == sorted([early, same_time])
    for item in claimed:
        assert item.status is OutboxStatus.IN_FLIGHT
        assert item.attempts == 1
        assert item.due_at == at(20) + LEASE
    by_id = {item.id: item for item in claimed}
    assert (by_id[early].partner_id, by_id[early].kind, by_id[early].object_key) == ("B", "session", "k2")
    assert by_id[early].payload == b"2"

    rest = await store.outbox_claim(at(20), limit=10, lease=LEASE)
    assert [item.id for item in rest] == [late]
    assert await store.outbox_claim(at(20), limit=10, lease=LEASE) == []


async def test_outbox_lease_expiry_makes_a_job_claimable_again(store: Store) -> None:
    item_id = await store.outbox_enqueue("A", "location", "k", b"{}", at(0))
    await store.outbox_claim(at(0), limit=1, lease=LEASE)

    assert await store.outbox_claim(at(29), limit=1, lease=LEASE) == []
    again = await store.outbox_claim(at(30), limit=1, lease=LEASE)

    assert [(item.id, item.attempts) for item in again] == [(item_id, 2)]


async def test_outbox_delivery_failure_and_parking(store: Store) -> None:
    delivered = await store.outbox_enqueue("A", "location", "k1", b"{}", at(0))
    failed = await store.outbox_enqueue("A", "location", "k2", b"{}", at(0))
    parked = await store.outbox_enqueue("B", "location", "k3", b"{}", at(0))
    pending = await store.outbox_enqueue("B", "location", "k4", b"{}", at(50))
    await store.outbox_claim(at(0), limit=10, lease=LEASE)

    assert await store.outbox_mark_delivered(delivered) is True
    assert await store.outbox_mark_failed(failed, error="HTTP 503", retry_at=at(60)) is True
    assert await store.outbox_mark_parked(parked, error="HTTP 400") is True

    # only in-flight jobs can be finished
    assert await store.outbox_mark_delivered(delivered) is False
    assert await store.outbox_mark_delivered(pending) is False
    assert await store.outbox_mark_parked(failed, error="x") is False
    assert await store.outbox_mark_delivered(999_999) is False

    failed_item = await store.outbox_get(failed)
    assert failed_item is not None
    assert (failed_item.status, failed_item.due_at, failed_item.last_error, failed_item.attempts) == (
        OutboxStatus.PENDING,
        at(60),
        "HTTP 503",
        1,
    )
    parked_item = await store.outbox_get(parked)
    assert parked_item is not None
    assert (parked_item.status, parked_item.last_error) == (OutboxStatus.PARKED, "HTTP 400")
    assert await store.outbox_get(999_999) is None

    assert await store.outbox_count() == 4
    assert await store.outbox_count(status=OutboxStatus.PENDING) == 2
    assert await store.outbox_count(status=OutboxStatus.DELIVERED) == 1
    assert await store.outbox_count(partner_id="B") == 2
    assert await store.outbox_count(status=OutboxStatus.PARKED, partner_id="A") == 0

    # delivered and parked jobs are never claimed again; the failed one comes back when due
    claimed = await store.outbox_claim(at(1000), limit=10, lease=LEASE)
    assert sorted(item.id for item in claimed) == sorted([pending, failed])

    assert await store.outbox_purge_delivered() == 1
    assert await store.outbox_get(delivered) is None
    assert await store.outbox_count() == 3


async def test_concurrent_claimers_never_share_a_job(store: Store) -> None:
    enqueued = {await store.outbox_enqueue("A", "location", f"k{n}", b"{}", at(n)) for n in range(30)}

    batches = await asyncio.gather(*(store.outbox_claim(at(100), limit=10, lease=LEASE) for _ in range(5)))

    claimed = [item.id for batch in batches for item in batch]
    assert len(claimed) == len(set(claimed))
    assert set(claimed) == enqueued


# -- migrations ----------------------------------------------------------------------------------


def schema_differences(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_migrating_an_empty_database_gives_exactly_the_declared_schema(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with open_store(backend, tmp_path, request, migrate=False) as opened:
        assert isinstance(opened, SqlStore)
        assert await opened.run_sync(current_revision) is None
        assert await opened.run_sync(lambda conn: inspect(conn).get_table_names()) == []

        await opened.migrate()

        assert await opened.run_sync(schema_differences) == []
        tables = await opened.run_sync(lambda conn: sorted(inspect(conn).get_table_names()))
        assert tables == sorted([*metadata.tables, VERSION_TABLE])
        assert await opened.run_sync(current_revision) == "0002"

        await opened.migrate()  # idempotent
        assert await opened.run_sync(current_revision) == "0002"


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_outbox_rows_older_than_created_at_get_a_creation_time_never_after_due_at(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with open_store(backend, tmp_path, request, migrate=False) as opened:
        assert isinstance(opened, SqlStore)

        def migrate_to(revision: str) -> None:
            def run(conn: Connection) -> None:
                config = alembic_config()
                config.attributes["connection"] = conn
                command.upgrade(config, revision)

            return run  # type: ignore[return-value]

        await opened.run_sync(migrate_to("0001"))  # type: ignore[arg-type]
        past, future = datetime(2020, 1, 1, tzinfo=UTC), datetime(2999, 1, 1, tzinfo=UTC)
        sqlite = opened.dialect == "sqlite"

        def stamp(value: datetime) -> str:
            return value.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else value.isoformat()

        def insert(conn: Connection) -> None:
            for n, due in enumerate((past, future), start=1):
                conn.exec_driver_sql(
                    "INSERT INTO evroam_outbox (id, partner_id, kind, object_key, payload, status, attempts,"
                    f" due_at, last_error) VALUES ({n}, 'p', 'location', 'NL/ABC/L{n}', '{{}}', 'pending', 0,"
                    f" '{stamp(due)}', NULL)"
                )

        await opened.run_sync(insert)
        before = datetime.now(UTC)
        await opened.migrate()
        after = datetime.now(UTC)
        old, later = await opened.outbox_get(1), await opened.outbox_get(2)
        assert old is not None and old.created_at == past  # due long ago: enqueued then at the latest
        assert later is not None and later.created_at is not None
        assert before - timedelta(seconds=1) <= later.created_at <= after + timedelta(seconds=1)  # migrated
        assert await opened.run_sync(schema_differences) == []


async def test_outbox_depths_give_the_oldest_creation_time_which_a_retry_does_not_move(store: Store) -> None:
    first = await store.outbox_enqueue("p-1", "location", "NL/ABC/L1", b"{}", at(0))
    await store.outbox_enqueue("p-1", "location", "NL/ABC/L2", b"{}", at(30))
    await store.outbox_enqueue("p-2", "location", "NL/ABC/L1", b"{}", at(50))
    claimed = await store.outbox_claim(at(40), limit=1, lease=timedelta(seconds=10))
    assert [item.id for item in claimed] == [first]
    assert await store.outbox_mark_failed(first, error="503", retry_at=at(100))
    depths = await store.outbox_depths()
    assert depths == [
        ("p-1", OutboxStatus.PENDING, 2, at(30), at(0)),
        ("p-2", OutboxStatus.PENDING, 1, at(50), at(50)),
    ]


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_downgrade_to_base_removes_the_schema(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with open_store(backend, tmp_path, request) as opened:
        assert isinstance(opened, SqlStore)

        def downgrade(conn: Connection) -> list[str]:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
            return sorted(inspect(conn).get_table_names())

        assert await opened.run_sync(downgrade) == [VERSION_TABLE]


def test_sync_upgrade_function_migrates_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"

    upgrade(url)
    upgrade(url)

    async def check() -> tuple[list[object], str | None]:
        store = SqlStore.from_url(url)
        try:
            return await store.run_sync(schema_differences), await store.run_sync(current_revision)
        finally:
            await store.close()

    assert asyncio.run(check()) == ([], "0002")


def test_alembic_commands_work_from_a_url_without_an_ini_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'node.db'}"
    config = alembic_config(url)

    command.upgrade(config, "head")  # env.py opens the URL itself
    command.check(config)  # autogenerate finds nothing to do: raises otherwise

    offline = alembic_config("postgresql://u@db.invalid/evroam")
    offline.output_buffer = io.StringIO()
    command.upgrade(offline, "head", sql=True)  # writes SQL, connects to nothing
    script = offline.output_buffer.getvalue()
    assert "CREATE TABLE evroam_objects" in script
    assert "BIGSERIAL" in script
    assert "INSERT INTO evroam_alembic_version (version_num) VALUES ('0001')" in script


@pytest.mark.postgres
def test_sync_upgrade_function_migrates_postgres(postgres_url: str) -> None:
    async def run_in_schema() -> tuple[list[object], str | None]:
        async with postgres_schema(postgres_url) as schema:
            await asyncio.to_thread(upgrade, postgres_url, schema=schema)
            store = SqlStore.from_url(postgres_url, schema=schema)
            try:
                return await store.run_sync(schema_differences), await store.run_sync(current_revision)
            finally:
                await store.close()

    assert asyncio.run(run_in_schema()) == ([], "0002")


# -- PostgreSQL specifics ------------------------------------------------------------------------


@pytest.mark.postgres
async def test_postgres_schema_option_keeps_stores_apart(postgres_url: str) -> None:
    async with postgres_schema(postgres_url) as first, postgres_schema(postgres_url) as second:
        # other connect arguments do not lose the schema
        a = SqlStore.from_url(
            postgres_url,
            schema=first,
            engine_options={"connect_args": {"server_settings": {"application_name": "evroam-test"}}},
        )
        b = SqlStore.from_url(postgres_url, schema=second)
        try:
            await a.migrate()
            await b.migrate()
            await a.put(key("only-in-a"), b"{}", at(0))

            assert await b.get(key("only-in-a")) is None
            assert (
                await a.run_sync(lambda conn: conn.exec_driver_sql("SELECT current_schema()").scalar())
                == first
            )
            name = await a.run_sync(lambda conn: conn.exec_driver_sql("SHOW application_name").scalar())
            assert name == "evroam-test"
        finally:
            await a.close()
            await b.close()


# -- SQLite specifics ----------------------------------------------------------------------------


async def test_default_store_is_a_sqlite_file_in_the_data_dir_and_persists(tmp_path: Path) -> None:
    data_dir = tmp_path / "node-data"
    first = create_store(None, data_dir)
    assert isinstance(first, SqlStore)
    try:
        await first.migrate()
        await first.put(key("LOC1"), b"kept", at(0))
        await first.set_setting("last_sync", "yes")
    finally:
        await first.close()
    assert (data_dir / "evroam.db").is_file()

    second = create_store(None, data_dir)
    try:
        await second.migrate()
        got = await second.get(key("loc1"))
        assert got is not None and got.payload == b"kept"
        assert await second.get_setting("last_sync") == "yes"
    finally:
        await second.close()


@pytest.mark.parametrize("driver", ["sqlite", "sqlite+aiosqlite"])
async def test_sqlite_connections_use_wal_and_the_documented_pragmas(tmp_path: Path, driver: str) -> None:
    store = SqlStore.from_url(f"{driver}:///{tmp_path / 'evroam.db'}")
    try:

        def pragmas(conn: Connection) -> dict[str, object]:
            return {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
            }

        assert await store.run_sync(pragmas) == {
            "journal_mode": "wal",
            "synchronous": 1,  # NORMAL
            "foreign_keys": 1,
            "busy_timeout": 5000,
        }
    finally:
        await store.close()


async def test_in_memory_sqlite_url_works_for_quick_tests() -> None:
    store = SqlStore.from_url("sqlite://")
    try:
        await store.migrate()
        async with store.transaction() as tx:
            await tx.put(key("L1"), b"{}", at(0))
        assert await ids(store) == (["L1"], 1)
    finally:
        await store.close()


@pytest.mark.parametrize("driver", ["sqlite", "sqlite+aiosqlite"])
async def test_closed_store_refuses_work(tmp_path: Path, driver: str) -> None:
    store = SqlStore.from_url(f"{driver}:///{tmp_path / 'evroam.db'}")
    await store.migrate()
    await store.close()

    with pytest.raises(RuntimeError, match="closed"):
        await store.get(key("L1"))
    with pytest.raises(RuntimeError, match="closed"):
        await store.put(key("L1"), b"{}", at(0))
    with pytest.raises(RuntimeError, match="closed"):
        async with store.transaction():
            pass
