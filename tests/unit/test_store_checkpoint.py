"""The SQLite store checkpoints its WAL from a thread of its own, not inside the requests' COMMITs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from evroam.store.port import ObjectKey
from evroam.store.sql import INLINE_CHECKPOINT_PAGES, SqlStore

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def checkpointers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "evroam-wal-checkpoint" and t.is_alive()]


async def test_writes_start_the_checkpointer_and_close_stops_it(tmp_path: Path) -> None:
    before = len(checkpointers())
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'evroam.db'}")
    await store.migrate()
    for i in range(50):
        await store.put(ObjectKey("thing", "NL", "CPO", str(i)), b"x" * 2000, WHEN)
    async with store.transaction() as tx:
        await tx.put(ObjectKey("thing", "NL", "CPO", "in-tx"), b"{}", WHEN)
    assert len(checkpointers()) == before + 1
    # the writer only checkpoints by itself far beyond SQLite's default of 1,000 pages
    pages = await store.run_sync(lambda conn: conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar())
    assert pages == INLINE_CHECKPOINT_PAGES
    await store.close()
    assert len(checkpointers()) == before

    again = SqlStore.from_url(f"sqlite:///{tmp_path / 'evroam.db'}")
    try:
        found = await again.get(ObjectKey("thing", "nl", "cpo", "49"))
        assert found is not None and found.payload == b"x" * 2000
        assert await again.get(ObjectKey("thing", "NL", "CPO", "in-tx")) is not None
    finally:
        await again.close()


async def test_a_memory_database_has_no_checkpointer() -> None:
    before = len(checkpointers())
    store = SqlStore.from_url("sqlite://")
    await store.migrate()
    await store.put(ObjectKey("thing", "NL", "CPO", "1"), b"{}", WHEN)
    assert len(checkpointers()) == before
    await store.close()
