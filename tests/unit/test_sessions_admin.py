"""The CPO's own sessions: start / update / add periods / stop, the outbox rows each change writes (for
the token owner's partner only), and their delivery by the push worker — PUT before any PATCH, a
PATCH carrying only the new charging periods, a PUT when the partner lacks the session."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from evroam.core.errors import Conflict, EvroamError, NotFound, ValidationFailed
from evroam.http.client import create_http_client
from evroam.model.enums import SessionStatus
from evroam.modules.sessions.ports import SessionUpdate
from evroam.modules.sessions.repository import SESSION_KIND, load_session_record
from evroam.modules.sessions.service import SessionAdmin
from evroam.push.retry import Jitter, RetryPolicies, RetryPolicy
from evroam.push.worker import PushWorker
from evroam.registration.directory import RegisteredPartners
from evroam.store import OutboxStatus, SqlStore, Store
from evroam.store.outbox import decode_change
from evroam.testing import FakeReceiver, FixedClock, MemoryStore, SequentialIds
from evroam.testing import ReceivedRequest as Seen
from tests.unit.kits import PUSHERS
from tests.unit.locations_harness import register
from tests.unit.test_sessions_support import OUR_CPO, T0, our_session, partners, period, store_our_location

EMSP_URL = "/ocpi/2.2.1/sessions/NL/CPO/S1"


@dataclass
class Cpo:
    store: Store
    clock: FixedClock
    receiver: FakeReceiver
    admin: SessionAdmin
    worker: PushWorker

    async def rows(
        self, status: OutboxStatus | None = None
    ) -> list[tuple[str, str, dict[str, object] | None]]:
        """``(partner_id, method, patch)`` of the outbox rows, in order."""
        out = []
        for item in await self.store.outbox_list(status=status):
            change = decode_change(item.payload)
            out.append(
                (item.partner_id, change.method, None if change.patch is None else json.loads(change.patch))
            )
        return out

    async def deliver(self) -> None:
        await self.worker.run_once()


async def make_cpo(emsp_version: str = "2.2.1", store: Store | None = None) -> Cpo:
    clock = FixedClock(T0)
    store = store or MemoryStore()
    await store.migrate()
    await register(store, clock, partners(clock.now(), emsp_version))
    await store_our_location(store)
    receiver = FakeReceiver()
    worker = PushWorker(
        store,
        create_http_client(transport=receiver.transport()),
        pushers=PUSHERS,
        clock=clock,
        ids=SequentialIds("push"),
        rng=random.Random(1),
        policies=RetryPolicies(default=RetryPolicy(base=timedelta(seconds=2), jitter=Jitter.NONE)),
    )
    return Cpo(store, clock, receiver, SessionAdmin(store, clock, RegisteredPartners(), [OUR_CPO]), worker)


@pytest.fixture(params=["memory", "sqlite"])
async def cpo(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cpo]:
    """The CPO on the in-memory store and on SQLite (the same service, transactions and outbox)."""
    if request.param == "memory":
        yield await make_cpo()
        return
    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'cpo.db'}")
    try:
        yield await make_cpo(store=store)
    finally:
        await store.close()


# -- the service and its outbox rows -----------------------------------------------------------------------


async def test_start_stores_the_session_for_its_token_owner_and_queues_one_put_for_that_partner(
    cpo: Cpo,
) -> None:
    change = await cpo.admin.start(our_session("S1", owner=("DE", "EMS")))
    assert change.outbox_rows == 1
    assert change.session.last_updated == cpo.clock.now()  # stamped by the node
    record = await load_session_record(cpo.store, *OUR_CPO, "S1")
    assert record is not None and record.partner_id == "party:de*ems" and record.own
    assert await cpo.rows() == [("p-emsp", "PUT", None)]  # not to p-other (DE*OTH)


async def test_a_session_of_a_token_no_partner_holds_is_stored_and_queues_nothing(cpo: Cpo) -> None:
    change = await cpo.admin.start(our_session("S1", owner=("FR", "NOB")))
    assert change.outbox_rows == 0 and await cpo.rows() == []
    assert await load_session_record(cpo.store, *OUR_CPO, "S1") is not None


@pytest.mark.parametrize(
    ("session", "path"),
    [
        (our_session("S1", party=("BE", "BEC")), "$.country_code"),  # not one of our CPO parties
        (our_session("S1", owner=None), "$.cdr_token"),  # whose token is it?
    ],
)
async def test_start_refuses_with_2001_and_stores_nothing(cpo: Cpo, session: object, path: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await cpo.admin.start(session)  # type: ignore[arg-type]
    assert (refused.value.http_status, refused.value.ocpi_status, refused.value.paths) == (400, 2001, [path])
    assert await cpo.store.count(SESSION_KIND) == 0 and await cpo.rows() == []


async def test_starting_an_existing_session_again_is_a_409_conflict_and_changes_nothing(cpo: Cpo) -> None:
    await cpo.admin.start(our_session("S1"))
    [before] = (await cpo.store.find(SESSION_KIND)).items
    cpo.clock.advance(60)
    with pytest.raises(Conflict) as refused:
        await cpo.admin.start(our_session("s1", owner=("DE", "OTH")))  # ids compare case-insensitively
    assert (refused.value.http_status, refused.value.ocpi_status) == (409, 2000)
    assert await cpo.store.get(before.key) == before
    assert len(await cpo.rows()) == 1


async def test_update_queues_a_patch_naming_the_changes_and_the_periods_held_before(cpo: Cpo) -> None:
    await cpo.admin.start(our_session("S1", periods=(period(0, "1"),)))
    cpo.clock.advance(300)
    change = await cpo.admin.add_charging_periods("S1", [period(5, "2")], kwh=Decimal("3"))
    assert change.session.kwh == Decimal("3") and len(change.session.charging_periods or ()) == 2
    assert change.session.last_updated == cpo.clock.now()
    _, method, patch = (await cpo.rows())[1]
    assert method == "PATCH"
    assert patch == {"kwh": 3, "charging_periods": 1, "last_updated": "2026-03-01T12:05:00Z"}


async def test_stop_ends_the_session_completed_now(cpo: Cpo) -> None:
    await cpo.admin.start(our_session("S1"))
    cpo.clock.advance(3600)
    change = await cpo.admin.stop("S1", kwh=Decimal("11"))
    assert change.session.status is SessionStatus.COMPLETED
    assert change.session.end_date_time == cpo.clock.now() and change.session.kwh == Decimal("11")


async def test_updates_that_cannot_apply_are_refused_and_change_nothing(cpo: Cpo) -> None:
    await cpo.admin.start(our_session("S1", periods=(period(10, "1"),)))
    before = await load_session_record(cpo.store, *OUR_CPO, "S1")

    async def refused(call: object) -> EvroamError:
        with pytest.raises(EvroamError) as caught:
            await call  # type: ignore[misc]
        return caught.value

    empty = await refused(cpo.admin.update("S1", SessionUpdate()))
    backwards = await refused(cpo.admin.add_charging_periods("S1", [period(5, "1")]))
    unknown = await refused(cpo.admin.update("NOPE", SessionUpdate(kwh=Decimal("1"))))
    not_final = await refused(cpo.admin.stop("S1", status=SessionStatus.ACTIVE))
    assert [(type(e), e.http_status, e.ocpi_status) for e in (empty, backwards, unknown, not_final)] == [
        (ValidationFailed, 400, 2001),
        (ValidationFailed, 400, 2001),
        (NotFound, 404, 2003),
        (ValidationFailed, 400, 2001),
    ]
    assert await load_session_record(cpo.store, *OUR_CPO, "S1") == before
    await cpo.admin.stop("S1")
    final = await refused(cpo.admin.update("S1", SessionUpdate(kwh=Decimal("2"))))
    assert (type(final), final.ocpi_status) == (ValidationFailed, 2001)
    assert len(await cpo.rows()) == 2  # the PUT and the stop's PATCH, nothing for the refusals


# -- delivery: order, PATCH bodies, fallback ---------------------------------------------------------------


def requests(cpo: Cpo) -> list[tuple[str, str]]:
    return cpo.receiver.requests()


async def test_a_patch_is_never_delivered_before_its_put_even_when_the_put_fails_first(cpo: Cpo) -> None:
    failures = {"PUT": 1}

    def answer(seen: Seen) -> tuple[int, int] | None:
        if failures.get(seen.method, 0) > 0:
            failures[seen.method] -= 1
            return (503, 3000)
        return None

    cpo.receiver.answer = answer
    await cpo.admin.start(our_session("S1", periods=(period(0, "1"),)))
    await cpo.deliver()  # the PUT fails
    assert requests(cpo) == [("PUT", EMSP_URL)]
    for minute in (1, 2):  # two changes queued while the PUT waits for its retry
        await cpo.admin.add_charging_periods("S1", [period(minute, "1")], kwh=Decimal(minute + 1))
    await cpo.deliver()  # too early: the group waits behind its failed PUT
    assert requests(cpo) == [("PUT", EMSP_URL)]
    cpo.clock.advance(10)
    await cpo.deliver()
    # one PUT of the latest state covers the two PATCHes
    assert requests(cpo) == [("PUT", EMSP_URL), ("PUT", EMSP_URL)]
    assert len(cpo.receiver.seen[1].body["charging_periods"]) == 3
    assert cpo.receiver.seen[1].body["kwh"] == 3

    await cpo.admin.add_charging_periods("S1", [period(3, "1")], kwh=Decimal(4))
    await cpo.deliver()
    assert [method for method, _ in requests(cpo)] == ["PUT", "PUT", "PATCH"]
    assert await cpo.store.outbox_count(status=OutboxStatus.DELIVERED) == 4


async def test_a_patch_carries_the_changed_fields_and_only_the_new_periods(cpo: Cpo) -> None:
    await cpo.admin.start(our_session("S1", periods=(period(0, "1"),)))
    await cpo.deliver()
    cpo.receiver.answer = lambda seen: (503, 3000)
    await cpo.admin.add_charging_periods("S1", [period(15, "2")], kwh=Decimal("3"))
    await cpo.deliver()  # fails: retried together with the next change
    cpo.clock.advance(20)
    await cpo.admin.update(
        "S1", SessionUpdate(charging_periods=(period(30, "2"),), status=SessionStatus.ACTIVE)
    )
    cpo.receiver.answer = lambda seen: None
    cpo.clock.advance(60)
    await cpo.deliver()
    last = cpo.receiver.seen[-1]
    assert [s.method for s in cpo.receiver.seen] == ["PUT", "PATCH", "PATCH"]
    assert set(last.body) == {"kwh", "status", "charging_periods", "last_updated"}
    assert [p["start_date_time"] for p in last.body["charging_periods"]] == [
        "2026-03-01T12:15:00Z",
        "2026-03-01T12:30:00Z",
    ]
    assert last.body["last_updated"] == "2026-03-01T12:00:20Z"  # the second update's time


async def test_a_partner_that_lacks_the_session_gets_it_whole(cpo: Cpo) -> None:
    await cpo.admin.start(our_session("S1", periods=(period(0, "1"),)))
    await cpo.deliver()
    cpo.receiver.answer = lambda seen: (404, 2003) if seen.method == "PATCH" else None
    await cpo.admin.add_charging_periods("S1", [period(15, "2")])
    await cpo.deliver()
    assert [s.method for s in cpo.receiver.seen] == ["PUT", "PATCH", "PUT"]
    assert len(cpo.receiver.seen[-1].body["charging_periods"]) == 2


async def test_a_2_1_1_partner_gets_our_location_embedded_and_a_put_for_fields_it_spells_otherwise() -> None:
    cpo = await make_cpo(emsp_version="2.1.1")
    await cpo.admin.start(our_session("S1", periods=(period(0, "1"),)))
    await cpo.deliver()
    await cpo.admin.add_charging_periods("S1", [period(15, "2")], kwh=Decimal("3"))
    await cpo.deliver()
    await cpo.admin.stop("S1")  # end_date_time is end_datetime in 2.1.1
    await cpo.deliver()
    url = "/ocpi/2.1.1/sessions/NL/CPO/S1"
    assert requests(cpo) == [("PUT", url), ("PATCH", url), ("PUT", url)]
    first, patch, last = (s.body for s in cpo.receiver.seen)
    assert first["location"]["id"] == "LOC1" and [e["uid"] for e in first["location"]["evses"]] == ["E1"]
    assert set(patch) == {"kwh", "charging_periods", "last_updated"} and len(patch["charging_periods"]) == 1
    assert last["status"] == "COMPLETED" and "end_datetime" in last
