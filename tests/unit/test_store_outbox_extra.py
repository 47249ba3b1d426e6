"""The outbox additions the push worker needs, on every store back end.

``outbox_claim_objects`` (claim whole per-object groups), ``outbox_list``, ``outbox_retry`` and
``outbox_mark_delivered(note=...)``; the memory store and the SQL store must behave identically.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evroam.store import OutboxStatus, Store
from tests.integration.test_store import BACKENDS, open_store

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    async with open_store(request.param, tmp_path, request) as opened:
        yield opened


async def test_claim_takes_every_active_job_of_a_due_object(store: Store) -> None:
    a1 = await store.outbox_enqueue("P", "locations", "L1", b"1", at(0))
    b1 = await store.outbox_enqueue("P", "locations", "L2", b"2", at(0))
    a2 = await store.outbox_enqueue("P", "locations", "L1", b"3", at(5))  # not due yet on its own
    other_partner = await store.outbox_enqueue("Q", "locations", "L1", b"4", at(0))

    claimed = await store.outbox_claim_objects(at(1), limit=10, lease=LEASE)

    assert [item.id for item in claimed] == [a1, b1, a2, other_partner]
    assert all(item.status is OutboxStatus.IN_FLIGHT for item in claimed)
    assert all(item.due_at == at(31) and item.attempts == 1 for item in claimed)


async def test_an_object_in_flight_is_not_claimed_again_until_its_lease_ends(store: Store) -> None:
    first = await store.outbox_enqueue("P", "locations", "L1", b"1", at(0))
    await store.outbox_claim_objects(at(0), limit=10, lease=LEASE)
    later = await store.outbox_enqueue("P", "locations", "L1", b"2", at(1))
    elsewhere = await store.outbox_enqueue("P", "locations", "L2", b"3", at(1))

    claimed = await store.outbox_claim_objects(at(2), limit=10, lease=LEASE)
    assert [item.id for item in claimed] == [elsewhere]

    # the first worker died: after its lease both jobs of L1 go together, in order
    again = await store.outbox_claim_objects(at(30), limit=10, lease=LEASE)
    assert [(item.id, item.attempts) for item in again] == [(first, 2), (later, 1)]


async def test_a_later_change_waits_for_an_earlier_one_in_backoff(store: Store) -> None:
    early = await store.outbox_enqueue("P", "locations", "L1", b"1", at(0))
    await store.outbox_claim_objects(at(0), limit=10, lease=LEASE)
    assert await store.outbox_mark_failed(early, error="HTTP 503", retry_at=at(60)) is True
    late = await store.outbox_enqueue("P", "locations", "L1", b"2", at(10))

    assert await store.outbox_claim_objects(at(20), limit=10, lease=LEASE) == []

    claimed = await store.outbox_claim_objects(at(60), limit=10, lease=LEASE)
    assert [item.id for item in claimed] == [early, late]


async def test_finished_jobs_do_not_hold_an_object_back(store: Store) -> None:
    done = await store.outbox_enqueue("P", "locations", "L1", b"1", at(0))
    parked = await store.outbox_enqueue("P", "locations", "L2", b"2", at(0))
    await store.outbox_claim_objects(at(0), limit=10, lease=LEASE)
    await store.outbox_mark_delivered(done)
    await store.outbox_mark_parked(parked, error="gave up")
    next_l1 = await store.outbox_enqueue("P", "locations", "L1", b"3", at(1))
    next_l2 = await store.outbox_enqueue("P", "locations", "L2", b"4", at(1))

    claimed = await store.outbox_claim_objects(at(1), limit=10, lease=LEASE)

    assert [item.id for item in claimed] == [next_l1, next_l2]


async def test_limit_counts_objects_and_takes_the_oldest_due_first(store: Store) -> None:
    young = await store.outbox_enqueue("P", "tariffs", "T1", b"1", at(9))
    old = await store.outbox_enqueue("P", "tariffs", "T2", b"2", at(1))
    old_more = await store.outbox_enqueue("P", "tariffs", "T2", b"3", at(2))
    middle = await store.outbox_enqueue("P", "tariffs", "T3", b"4", at(5))

    first = await store.outbox_claim_objects(at(10), limit=2, lease=LEASE)
    assert [item.id for item in first] == [old, old_more, middle]

    second = await store.outbox_claim_objects(at(10), limit=2, lease=LEASE)
    assert [item.id for item in second] == [young]
    assert await store.outbox_claim_objects(at(10), limit=0, lease=LEASE) == []
    with pytest.raises(ValueError):
        await store.outbox_claim_objects(at(10), limit=-1, lease=LEASE)


async def test_claim_inside_a_transaction_rolls_back(store: Store) -> None:
    item_id = await store.outbox_enqueue("P", "locations", "L1", b"1", at(0))
    with pytest.raises(RuntimeError, match="boom"):
        async with store.transaction() as tx:
            assert [i.id for i in await tx.outbox_claim_objects(at(0), limit=5, lease=LEASE)] == [item_id]
            raise RuntimeError("boom")
    item = await store.outbox_get(item_id)
    assert item is not None and item.status is OutboxStatus.PENDING and item.attempts == 0


async def test_concurrent_claimers_never_share_an_object(store: Store) -> None:
    for n in range(20):
        await store.outbox_enqueue("P", "locations", f"L{n % 7}", str(n).encode(), at(0))

    batches = await asyncio.gather(
        *(store.outbox_claim_objects(at(1), limit=2, lease=LEASE) for _ in range(5))
    )

    owners: dict[str, int] = {}
    seen: list[int] = []
    for number, batch in enumerate(batches):
        for item in batch:
            assert owners.setdefault(item.object_key, number) == number
            seen.append(item.id)
    assert sorted(seen) == list(range(min(seen), min(seen) + 20))
    assert len(set(seen)) == 20


async def test_list_filters_and_pages_in_id_order(store: Store) -> None:
    ids = [
        await store.outbox_enqueue("P", "locations", "L1", b"1", at(0)),
        await store.outbox_enqueue("Q", "locations", "L1", b"2", at(0)),
        await store.outbox_enqueue("P", "tariffs", "T1", b"3", at(100)),
        await store.outbox_enqueue("P", "locations", "L2", b"4", at(0)),
    ]
    await store.outbox_claim_objects(at(0), limit=1, lease=LEASE)  # P/L1
    await store.outbox_mark_parked(ids[0], error="HTTP 400: nope")

    assert [i.id for i in await store.outbox_list()] == ids
    assert [i.id for i in await store.outbox_list(partner_id="P")] == [ids[0], ids[2], ids[3]]
    assert [i.id for i in await store.outbox_list(status=OutboxStatus.PENDING)] == ids[1:]
    assert [i.id for i in await store.outbox_list(kind="tariffs")] == [ids[2]]
    assert [i.id for i in await store.outbox_list(partner_id="P", object_key="L1")] == [ids[0]]
    assert [i.id for i in await store.outbox_list(offset=1, limit=2)] == ids[1:3]
    parked = await store.outbox_list(status=OutboxStatus.PARKED)
    assert [(i.id, i.last_error, i.attempts) for i in parked] == [(ids[0], "HTTP 400: nope", 1)]
    with pytest.raises(ValueError):
        await store.outbox_list(offset=-1)


async def test_retry_unparks_with_fresh_attempts_and_only_parked_jobs(store: Store) -> None:
    parked = await store.outbox_enqueue("P", "locations", "L1", b"1", at(0))
    pending = await store.outbox_enqueue("P", "locations", "L2", b"2", at(50))
    await store.outbox_claim_objects(at(0), limit=10, lease=LEASE)
    await store.outbox_mark_parked(parked, error="limit reached")

    assert await store.outbox_retry(parked, due_at=at(70)) is True
    assert await store.outbox_retry(parked, due_at=at(70)) is False  # no longer parked
    assert await store.outbox_retry(pending, due_at=at(70)) is False
    assert await store.outbox_retry(999_999, due_at=at(70)) is False

    item = await store.outbox_get(parked)
    assert item is not None
    assert (item.status, item.attempts, item.due_at, item.last_error) == (
        OutboxStatus.PENDING,
        0,
        at(70),
        "limit reached",
    )


async def test_mark_delivered_keeps_a_note(store: Store) -> None:
    plain = await store.outbox_enqueue("P", "locations", "L1", b"1", at(0))
    noted = await store.outbox_enqueue("P", "locations", "L2", b"2", at(0))
    await store.outbox_claim_objects(at(0), limit=10, lease=LEASE)

    assert await store.outbox_mark_delivered(plain) is True
    assert await store.outbox_mark_delivered(noted, note="not published to P") is True
    assert await store.outbox_mark_delivered(noted, note="again") is False

    got_plain, got_noted = await store.outbox_get(plain), await store.outbox_get(noted)
    assert got_plain is not None and got_noted is not None
    assert (got_plain.status, got_plain.last_error) == (OutboxStatus.DELIVERED, None)
    assert (got_noted.status, got_noted.last_error) == (OutboxStatus.DELIVERED, "not published to P")
