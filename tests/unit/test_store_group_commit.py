"""Group commit of the inline SQLite store: the transactions of one turn of the event loop share one
COMMIT, each returns only once that COMMIT is done, and a failure stays where it belongs.

"Another process" is a second store on the same file (its own connections), reading what the first
one has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from evroam.store.port import ObjectKey
from evroam.store.sql import GroupCommitFailed, SqlStore

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def key(name: str) -> ObjectKey:
    return ObjectKey("thing", "NL", "CPO", name)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[tuple[SqlStore, SqlStore, list[str]]]:
    """(the store under test, another store on the same file, the statements the first one ran)."""
    url = f"sqlite:///{tmp_path / 'evroam.db'}"
    store, other = SqlStore.from_url(url), SqlStore.from_url(url)
    await store.migrate()
    await store.put(key("warm-up"), b"{}", WHEN)  # opens the write connection
    statements: list[str] = []
    await store.run_sync(
        lambda conn: conn.connection.dbapi_connection.set_trace_callback(statements.append)  # type: ignore[union-attr]
    )
    statements.clear()
    try:
        yield store, other, statements
    finally:
        await store.close()
        await other.close()


def commits(statements: list[str]) -> int:
    return sum(1 for s in statements if s.strip().upper() == "COMMIT")


async def test_transactions_of_one_turn_share_one_commit_and_return_committed(
    stores: tuple[SqlStore, SqlStore, list[str]],
) -> None:
    store, other, statements = stores
    seen_by_other: list[bool] = []

    async def write(i: int) -> None:
        async with store.transaction() as tx:
            await tx.put(key(f"t{i}"), b"{}", WHEN)
        # returned: already committed, so another connection reads it
        seen_by_other.append(await other.get(key(f"t{i}")) is not None)

    await asyncio.gather(*(write(i) for i in range(20)))
    assert seen_by_other == [True] * 20
    assert commits(statements) == 1
    assert sum(1 for s in statements if s.startswith("BEGIN IMMEDIATE")) == 1


async def test_transactions_one_after_the_other_each_commit(
    stores: tuple[SqlStore, SqlStore, list[str]],
) -> None:
    store, other, statements = stores
    for i in range(3):
        async with store.transaction() as tx:
            await tx.put(key(f"s{i}"), b"{}", WHEN)
        assert await other.get(key(f"s{i}")) is not None
    assert commits(statements) == 3


async def test_a_failing_transaction_takes_back_only_its_own_writes(
    stores: tuple[SqlStore, SqlStore, list[str]],
) -> None:
    store, other, statements = stores

    async def write(i: int) -> None:
        async with store.transaction() as tx:
            await tx.put(key(f"f{i}"), b"{}", WHEN)
            if i == 2:
                raise ValueError("refused")

    results = await asyncio.gather(*(write(i) for i in range(5)), return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["NoneType"] * 2 + ["ValueError"] + ["NoneType"] * 2
    assert commits(statements) == 1
    for i in range(5):
        assert (await other.get(key(f"f{i}")) is None) == (i == 2)


async def test_a_failed_commit_fails_every_transaction_of_the_group_and_stores_none(
    stores: tuple[SqlStore, SqlStore, list[str]],
) -> None:
    store, other, _ = stores
    # a deferred foreign key is only checked at COMMIT: one dangling row makes the group's COMMIT fail
    await store.run_sync(
        lambda conn: (
            conn.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)"),
            conn.exec_driver_sql(
                "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
            ),
        )
    )

    async def write(i: int) -> None:
        async with store.transaction() as tx:
            await tx.put(key(f"c{i}"), b"{}", WHEN)

    async def write_dangling() -> None:
        async with store._begin_inline() as conn:  # a transaction's connection, for raw SQL
            conn.exec_driver_sql("INSERT INTO child (parent_id) VALUES (42)")

    results = await asyncio.gather(write(0), write_dangling(), write(1), return_exceptions=True)
    assert all(isinstance(r, GroupCommitFailed) for r in results), results
    assert "FOREIGN KEY" in str(results[0])
    # each keeps what failed, so that a full or read-only disk can be told from a bug (storage_failure)
    assert all(isinstance(r.__cause__, IntegrityError) for r in results), results
    for i in range(2):
        assert await other.get(key(f"c{i}")) is None
    # the store goes on working
    await write(2)
    assert await other.get(key("c2")) is not None


async def test_a_transaction_that_awaits_keeps_the_group_open_until_it_is_done(
    stores: tuple[SqlStore, SqlStore, list[str]],
) -> None:
    store, other, statements = stores
    order: list[str] = []

    async def slow() -> None:
        async with store.transaction() as tx:
            await tx.put(key("slow"), b"{}", WHEN)
            await asyncio.sleep(0.05)  # the others queue meanwhile
            order.append("slow done")
        order.append("slow returned")

    async def quick(i: int) -> None:
        await asyncio.sleep(0.01)
        async with store.transaction() as tx:
            await tx.put(key(f"q{i}"), b"{}", WHEN)
        assert await other.get(key(f"q{i}")) is not None
        order.append(f"q{i} returned")

    await asyncio.gather(slow(), *(quick(i) for i in range(3)))
    assert order[0] == "slow done"
    assert await other.get(key("slow")) is not None
    assert commits(statements) >= 1
    assert sorted(order[1:]) == sorted(["slow returned", "q0 returned", "q1 returned", "q2 returned"])


async def test_close_commits_what_is_waiting_for_its_commit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'evroam.db'}"
    store = SqlStore.from_url(url)
    await store.migrate()

    async def write() -> None:
        async with store.transaction() as tx:
            await tx.put(key("last"), b"{}", WHEN)

    task = asyncio.create_task(write())
    await asyncio.sleep(0)  # the task runs its transaction and waits for the group's commit
    await store.close()  # in the same turn: before the scheduled commit
    await task
    again = SqlStore.from_url(url)
    try:
        assert await again.get(key("last")) is not None
    finally:
        await again.close()
