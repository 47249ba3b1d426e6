"""A database that fails (disk full, read-only, unreachable) is told apart from a bug, and says how."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

from evroam.store import ObjectKey, SqlStore
from evroam.store.failures import storage_failure

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def test_a_database_that_cannot_grow_fails_as_disk_full_and_keeps_what_it_had(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'full.db'}"
    store = SqlStore.from_url(url)
    await store.migrate()
    await store.close()

    store = SqlStore.from_url(url)

    @event.listens_for(store.engine, "connect")
    def _small(dbapi_connection: Any, _record: Any) -> None:  # a database that cannot grow much more
        dbapi_connection.execute("PRAGMA max_page_count=60")

    stored = 0
    with pytest.raises(Exception) as caught:  # whatever the driver raises
        for n in range(1000):
            await store.put(ObjectKey("location", "NL", "CPO", f"L{n}"), b"x" * 4000, NOW)
            stored += 1
    failure = storage_failure(caught.value)
    assert failure is not None and failure.reason == "disk full", failure
    assert "full" in failure.detail
    # what was acknowledged before is still there, and the store still reads
    assert await store.count("location") == stored > 0
    await store.close()


async def test_a_read_only_database_says_so(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    store = SqlStore.from_url(f"sqlite:///{path}")
    await store.migrate()
    await store.close()
    store = SqlStore.from_url(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(Exception) as caught:  # whatever the driver raises
        await store.put(ObjectKey("location", "NL", "CPO", "L1"), b"{}", NOW)
    failure = storage_failure(caught.value)
    assert failure is not None and failure.reason == "read-only", failure
    await store.close()


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (sqlite3.OperationalError("database or disk is full"), "disk full"),
        (sqlite3.OperationalError("disk I/O error"), "I/O error"),
        (sqlite3.OperationalError("database is locked"), "locked by another process"),
        (ConnectionRefusedError(111, "Connect call failed"), "unreachable"),
        (OSError(28, "No space left on device"), "disk full"),
        (sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")), "unreachable"),
        (sa_exc.DBAPIError("SELECT 1", {}, Exception("x"), connection_invalidated=True), "unreachable"),
        (sa_exc.TimeoutError("QueuePool limit reached"), "overloaded"),
        # asyncpg straight (the PostgreSQL hot path bypasses SQLAlchemy): the server restarted
        (asyncpg.exceptions.InterfaceError("connection is closed"), "unreachable"),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), "unreachable"),
    ],
)
def test_database_failures_are_named(error: BaseException, reason: str) -> None:
    failure = storage_failure(error)
    assert failure is not None and failure.reason == reason


def test_a_failure_is_found_behind_the_exception_raised_from_it() -> None:
    try:
        try:
            raise sqlite3.OperationalError("attempt to write a readonly database")
        except sqlite3.OperationalError as exc:
            raise RuntimeError("the transaction was not committed") from exc
    except RuntimeError as outer:
        failure = storage_failure(outer)
    assert failure is not None and failure.reason == "read-only"


@pytest.mark.parametrize(
    "error",
    [
        RuntimeError("boom"),
        ValueError("bad"),
        FileNotFoundError(2, "No such file"),
        sa_exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")),
        sqlite3.IntegrityError("UNIQUE constraint failed"),
        asyncpg.exceptions.InterfaceError("cannot call Connection.fetch() in a transaction block"),
    ],
)
def test_bugs_and_conflicts_are_not_database_failures(error: BaseException) -> None:
    assert storage_failure(error) is None
