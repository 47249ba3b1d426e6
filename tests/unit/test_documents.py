"""The generic document repository the modules' repositories share (:mod:`evroam.modules._documents`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from evroam.modules._documents import Documents
from evroam.store.port import PutOutcome
from evroam.testing import MemoryStore

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class Note(msgspec.Struct, frozen=True):
    id: str
    text: str


NOTES = Documents("note", Note)


async def test_a_document_is_written_read_and_refused_when_stale() -> None:
    store = MemoryStore()
    async with store.transaction() as tx:
        key = NOTES.key("NL", "ABC", "n1")
        assert (
            await NOTES.put(tx, key, Note("n1", "a"), T0, partner_id=None, check_stale=True)
            is PutOutcome.CREATED
        )
        older = T0 - timedelta(seconds=1)
        assert (
            await NOTES.put(tx, key, Note("n1", "b"), older, partner_id=None, check_stale=True)
            is PutOutcome.STALE
        )
        assert await NOTES.load(tx, "nl", "abc", "N1") == Note("n1", "a")
        assert await NOTES.load(tx, "NL", "ABC", "n2") is None
        found = await NOTES.get(tx, "NL", "ABC", "n1")
        assert found is not None and found.payload == b'{"id":"n1","text":"a"}'


async def test_walk_reads_every_matching_document_in_creation_order_in_batches() -> None:
    store = MemoryStore()
    async with store.transaction() as tx:
        for i in range(7):
            owner = "p1" if i % 2 == 0 else "p2"
            key = NOTES.key("NL", "ABC", f"n{i}")
            await NOTES.put(tx, key, Note(f"n{i}", ""), T0, partner_id=owner, check_stale=False)
        walked = [NOTES.decode(item.payload).id async for item in NOTES.walk(tx, partners=["p1"], batch=2)]
        assert walked == ["n0", "n2", "n4", "n6"]
        items, total = await NOTES.page(tx, offset=5, limit=10)
        assert [NOTES.decode(item.payload).id for item in items] == ["n5", "n6"] and total == 7
