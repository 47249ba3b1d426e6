"""The push worker against a fake receiving partner (httpx MockTransport), on memory and SQLite stores."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from evroam import model as m
from evroam.core.codec import decode
from evroam.http.client import create_http_client
from evroam.ocpi import v2_1_1, v2_2_1
from evroam.push.retry import Jitter, RetryPolicies, RetryPolicy
from evroam.push.worker import PushWorker, options_from_env
from evroam.registration.directory import RegisteredPartners
from evroam.registration.model import PartnerStatus
from evroam.store import OutboxStatus, SqlStore, Store
from evroam.store.outbox import ObjectChange, enqueue_change
from evroam.testing import FakeReceiver, FixedClock, MemoryStore, SequentialIds
from tests.unit.kits import POLICIES, PUSHERS
from tests.unit.push_support import (
    emsp_partner,
    location,
    put_location,
    put_tariff,
    register,
    remove_tariff,
    set_status,
    tariff,
)

LEASE = timedelta(seconds=60)
LOC_URL = "/ocpi/2.2.1/locations/NL/ABC"


class Fixed:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    sql = SqlStore.from_url(f"sqlite:///{tmp_path / 'push.db'}")
    await sql.migrate()
    try:
        yield sql
    finally:
        await sql.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock("2026-03-01T12:00:00Z")


class Harness:
    def __init__(self, store: Store, clock: FixedClock, receiver: FakeReceiver) -> None:
        self.store = store
        self.clock = clock
        self.receiver = receiver
        self.http = create_http_client(transport=receiver.transport())

    def worker(self, policy: RetryPolicy | None = None, **options: object) -> PushWorker:
        policies = RetryPolicies(default=policy or RetryPolicy(base=timedelta(seconds=2), jitter=Jitter.NONE))
        return PushWorker(
            self.store,
            self.http,
            pushers=PUSHERS,
            clock=self.clock,
            ids=SequentialIds("push"),
            rng=Fixed(0.5),
            policies=policies,
            lease=LEASE,
            **options,  # type: ignore[arg-type]
        )


@pytest.fixture
async def harness(store: Store, clock: FixedClock) -> AsyncIterator[Harness]:
    await register(store, clock, emsp_partner(clock))
    h = Harness(store, clock, FakeReceiver())
    yield h
    await h.http.aclose()


# -- delivery ------------------------------------------------------------------------------------


async def test_a_new_location_is_put_to_the_partner_in_its_version(harness: Harness) -> None:
    now = harness.clock.now()
    assert await put_location(harness.store, location("LOC1", now, name="Station"), now) == 1

    report = await harness.worker().run_once()

    assert (report.groups, report.delivered, report.requests) == (1, 1, 1)
    [seen] = harness.receiver.seen
    assert (seen.method, seen.path) == ("PUT", f"{LOC_URL}/LOC1")
    wire = decode(_json(seen.body), v2_2_1.Location)
    assert (wire.id, wire.country_code, wire.party_id, wire.name) == ("LOC1", "NL", "ABC", "Station")
    assert [e.uid for e in wire.evses or []] == ["E1", "E2"]
    assert seen.headers["Authorization"] == "Token " + base64.b64encode(b"token-for-p-emsp").decode()
    assert (seen.headers["OCPI-from-country-code"], seen.headers["OCPI-from-party-id"]) == ("NL", "ABC")
    assert (seen.headers["OCPI-to-country-code"], seen.headers["OCPI-to-party-id"]) == ("DE", "EMS")
    [item] = await harness.store.outbox_list()
    assert (item.status, item.attempts, item.last_error) == (OutboxStatus.DELIVERED, 1, None)


async def test_one_row_per_partner_with_a_receiver_endpoint(store: Store, clock: FixedClock) -> None:
    await register(
        store,
        clock,
        emsp_partner(clock, partner_id="p-a"),
        emsp_partner(clock, partner_id="p-b", modules=("tariffs",)),
        emsp_partner(clock, partner_id="p-c", status=PartnerStatus.UNREGISTERED),
        emsp_partner(clock, partner_id="p-d", version="2.1.1"),
    )
    now = clock.now()

    assert await put_location(store, location("LOC1", now), now) == 2
    assert sorted(i.partner_id for i in await store.outbox_list()) == ["p-a", "p-d"]


async def test_a_2_1_1_partner_gets_a_2_1_1_body_and_a_raw_token(store: Store, clock: FixedClock) -> None:
    await register(store, clock, emsp_partner(clock, partner_id="p-old", version="2.1.1"))
    receiver = FakeReceiver()
    h = Harness(store, clock, receiver)
    now = clock.now()
    await put_location(store, location("LOC1", now), now)

    await h.worker().run_once()
    await h.http.aclose()

    [seen] = receiver.seen
    assert (seen.method, seen.path) == ("PUT", "/ocpi/2.1.1/locations/NL/ABC/LOC1")
    assert seen.headers["Authorization"] == "Token token-for-p-old"
    assert "OCPI-to-party-id" not in seen.headers and "X-Request-ID" not in seen.headers
    assert "country_code" not in seen.body and seen.body["type"] == "UNKNOWN"
    decode(_json(seen.body), v2_1_1.Location)


async def test_an_evse_patch_goes_to_the_evse_url_with_last_updated(harness: Harness) -> None:
    now = harness.clock.now()
    await put_location(harness.store, location("LOC1", now), now)
    worker = harness.worker()
    await worker.run_once()

    later = harness.clock.advance(5)
    await set_status(harness.store, "LOC1", "E2", m.Status.CHARGING, later)
    await worker.run_once()

    seen = harness.receiver.seen[-1]
    assert (seen.method, seen.path) == ("PATCH", f"{LOC_URL}/LOC1/E2")
    assert seen.body == {"status": "CHARGING", "last_updated": "2026-03-01T12:00:05Z"}


# -- coalescing ----------------------------------------------------------------------------------


async def test_five_puts_of_one_location_become_one_put_of_its_latest_state(harness: Harness) -> None:
    for n in range(5):
        now = harness.clock.advance(1)
        await put_location(harness.store, location("LOC1", now, name=f"name {n}"), now)

    report = await harness.worker().run_once()

    assert (report.groups, report.delivered, report.requests) == (1, 5, 1)
    [seen] = harness.receiver.seen
    assert seen.method == "PUT" and seen.body["name"] == "name 4"
    assert seen.body["last_updated"] == "2026-03-01T12:00:05Z"
    assert {i.status for i in await harness.store.outbox_list()} == {OutboxStatus.DELIVERED}


async def test_five_status_patches_become_one_patch_with_the_latest_status(harness: Harness) -> None:
    now = harness.clock.now()
    await put_location(harness.store, location("LOC1", now), now)
    worker = harness.worker()
    await worker.run_once()
    statuses = [
        m.Status.CHARGING,
        m.Status.AVAILABLE,
        m.Status.BLOCKED,
        m.Status.CHARGING,
        m.Status.OUTOFORDER,
    ]
    for status in statuses:
        await set_status(harness.store, "LOC1", "E1", status, harness.clock.advance(1))

    report = await worker.run_once()

    assert (report.delivered, report.requests) == (5, 1)
    seen = harness.receiver.seen[-1]
    assert (seen.method, seen.path) == ("PATCH", f"{LOC_URL}/LOC1/E1")
    assert seen.body == {"status": "OUTOFORDER", "last_updated": "2026-03-01T12:00:05Z"}


async def test_patches_of_two_evses_go_separately_and_a_later_put_supersedes_everything(
    harness: Harness,
) -> None:
    now = harness.clock.now()
    await put_location(harness.store, location("LOC1", now), now)
    worker = harness.worker()
    await worker.run_once()
    await set_status(harness.store, "LOC1", "E1", m.Status.CHARGING, harness.clock.advance(1))
    await set_status(harness.store, "LOC1", "E2", m.Status.BLOCKED, harness.clock.advance(1))
    await set_status(harness.store, "LOC1", "E1", m.Status.AVAILABLE, harness.clock.advance(1))

    await worker.run_once()
    assert harness.receiver.requests()[1:] == [
        ("PATCH", f"{LOC_URL}/LOC1/E1"),
        ("PATCH", f"{LOC_URL}/LOC1/E2"),
    ]
    assert [s.body["status"] for s in harness.receiver.seen[1:]] == ["AVAILABLE", "BLOCKED"]

    await set_status(harness.store, "LOC1", "E1", m.Status.CHARGING, harness.clock.advance(1))
    renamed = location("LOC1", harness.clock.advance(1), name="renamed")
    await put_location(harness.store, renamed, harness.clock.now())
    await set_status(harness.store, "LOC1", "E2", m.Status.CHARGING, harness.clock.advance(1))
    await worker.run_once()

    assert harness.receiver.requests()[3:] == [("PUT", f"{LOC_URL}/LOC1")]
    final = harness.receiver.seen[-1].body
    assert final["name"] == "renamed"
    assert [e["status"] for e in final["evses"]] == ["AVAILABLE", "CHARGING"]


# -- order per object ----------------------------------------------------------------------------


async def test_a_failed_object_holds_its_later_changes_but_not_other_objects(harness: Harness) -> None:
    now = harness.clock.now()
    harness.receiver.answer = lambda seen: (503, 3000) if "LOC1" in seen.path else None
    await put_location(harness.store, location("LOC1", now), now)
    worker = harness.worker()
    await worker.run_once()
    assert harness.receiver.requests() == [("PUT", f"{LOC_URL}/LOC1")]

    harness.receiver.answer = lambda seen: None
    await set_status(harness.store, "LOC1", "E1", m.Status.CHARGING, harness.clock.advance(1))
    await put_location(harness.store, location("LOC2", harness.clock.now()), harness.clock.now())
    await worker.run_once()  # LOC1 waits for its backoff (2 s): its later PATCH must not overtake
    assert harness.receiver.requests()[1:] == [("PUT", f"{LOC_URL}/LOC2")]

    harness.clock.advance(1)
    await worker.run_once()
    assert harness.receiver.requests()[2:] == [("PUT", f"{LOC_URL}/LOC1")]
    assert harness.receiver.seen[-1].body["evses"][0]["status"] == "CHARGING"
    assert await harness.store.outbox_count(status=OutboxStatus.DELIVERED) == 3


async def test_two_workers_never_send_one_object_twice_at_the_same_time(harness: Harness) -> None:
    for n in range(6):
        await put_location(
            harness.store, location(f"LOC{n % 3}", harness.clock.advance(1)), harness.clock.now()
        )
    gate = asyncio.Event()
    harness.receiver.gate = gate
    first, second = harness.worker(batch=2), harness.worker(batch=2)

    runs = asyncio.gather(first.run_once(), second.run_once())
    await harness.receiver.arrived.wait()
    for _ in range(5):
        await asyncio.sleep(0)
    gate.set()
    reports = await runs

    assert harness.receiver.max_in_flight_per_object == 1
    assert sorted(p for _, p in harness.receiver.requests()) == [f"{LOC_URL}/LOC{n}" for n in range(3)]
    assert sum(r.delivered for r in reports) == 6


# -- failures, backoff, parking ------------------------------------------------------------------


async def test_failures_are_retried_with_growing_delays_then_delivered(harness: Harness) -> None:
    harness.receiver.answer = lambda seen: (503, 3000)
    start = harness.clock.now()
    await put_location(harness.store, location("LOC1", start), start)
    worker = harness.worker()  # base 2 s, factor 2, no jitter
    due = []
    for _ in range(3):
        await worker.run_once()
        [item] = await harness.store.outbox_list()
        assert item.status is OutboxStatus.PENDING and "503" in (item.last_error or "")
        due.append((item.due_at - harness.clock.now()).total_seconds())
        assert (await worker.run_once()).groups == 0  # not due yet: nothing sent
        harness.clock.set(item.due_at)
    assert due == [2.0, 4.0, 8.0]

    harness.receiver.answer = lambda seen: None
    report = await worker.run_once()
    assert report.delivered == 1
    [item] = await harness.store.outbox_list()
    assert (item.status, item.attempts) == (OutboxStatus.DELIVERED, 4)
    assert len(harness.receiver.seen) == 4


async def test_an_unreachable_partner_counts_as_a_failure(harness: Harness) -> None:
    harness.receiver.down = True
    now = harness.clock.now()
    await put_location(harness.store, location("LOC1", now), now)

    report = await harness.worker().run_once()

    assert report.failed == 1
    [item] = await harness.store.outbox_list()
    assert item.status is OutboxStatus.PENDING and "ConnectError" in (item.last_error or "")


async def test_jobs_are_parked_at_the_attempt_limit_and_can_be_retried(harness: Harness) -> None:
    harness.receiver.answer = lambda seen: (200, 2001)  # the partner refuses the object
    now = harness.clock.now()
    await put_location(harness.store, location("LOC1", now), now)
    worker = harness.worker(RetryPolicy(base=timedelta(seconds=1), max_attempts=2, jitter=Jitter.NONE))

    first = await worker.run_once()
    harness.clock.advance(1)
    second = await worker.run_once()

    assert (first.failed, second.parked) == (1, 1)
    [item] = await harness.store.outbox_list(status=OutboxStatus.PARKED)
    assert item.attempts == 2 and "2001" in (item.last_error or "")
    harness.clock.advance(3600)
    assert (await worker.run_once()).groups == 0  # parked jobs stay parked

    harness.receiver.answer = lambda seen: None
    assert await harness.store.outbox_retry(item.id, due_at=harness.clock.now())
    assert (await worker.run_once()).delivered == 1


async def test_a_retry_forever_module_never_parks(harness: Harness) -> None:
    harness.receiver.answer = lambda seen: (503, 3000)
    now = harness.clock.now()
    await put_location(harness.store, location("LOC1", now), now)
    policy = RetryPolicy(base=timedelta(seconds=1), max_delay=timedelta(seconds=5), max_attempts=2)
    worker = PushWorker(
        harness.store,
        harness.http,
        pushers=PUSHERS,
        clock=harness.clock,
        ids=SequentialIds(),
        rng=Fixed(0.5),
        policies=RetryPolicies(
            per_module={"locations": RetryPolicy(**{**_fields(policy), "retry_forever": True})}
        ),
    )
    for _ in range(6):
        await worker.run_once()
        harness.clock.advance(5)
    [item] = await harness.store.outbox_list()
    assert (item.status, item.attempts) == (OutboxStatus.PENDING, 6)


# -- crash safety --------------------------------------------------------------------------------


async def test_a_worker_that_dies_after_claiming_loses_nothing(harness: Harness) -> None:
    now = harness.clock.now()
    await put_location(harness.store, location("LOC1", now), now)
    await set_status(harness.store, "LOC1", "E1", m.Status.CHARGING, harness.clock.advance(1))
    claimed = await harness.store.outbox_claim_objects(harness.clock.now(), limit=10, lease=LEASE)
    assert len(claimed) == 2  # ... and the worker that claimed them died here

    other = harness.worker()
    harness.clock.advance(30)
    assert (await other.run_once()).groups == 0  # the lease still runs
    harness.clock.advance(31)
    report = await other.run_once()

    assert (report.delivered, harness.receiver.requests()) == (2, [("PUT", f"{LOC_URL}/LOC1")])
    assert harness.receiver.seen[0].body["evses"][0]["status"] == "CHARGING"


async def test_a_worker_killed_during_the_request_is_redelivered_after_the_lease(harness: Harness) -> None:
    now = harness.clock.now()
    await put_location(harness.store, location("LOC1", now), now)
    harness.receiver.gate = asyncio.Event()  # the request hangs
    dying = asyncio.create_task(harness.worker().run_once())
    await harness.receiver.arrived.wait()
    dying.cancel()  # killed mid-request: nothing marked
    with pytest.raises(asyncio.CancelledError):
        await dying
    [item] = await harness.store.outbox_list()
    assert item.status is OutboxStatus.IN_FLIGHT

    harness.receiver.gate = None
    harness.clock.advance(LEASE)
    report = await harness.worker().run_once()

    assert report.delivered == 1
    assert harness.receiver.requests() == [("PUT", f"{LOC_URL}/LOC1")] * 2  # twice is fine, never zero


async def test_background_worker_delivers_and_stops_cleanly(harness: Harness) -> None:
    worker = harness.worker(poll_interval=0.01)
    worker.start()
    assert worker.running
    now = harness.clock.now()
    await put_location(harness.store, location("LOC1", now), now)
    worker.wake()
    for _ in range(200):
        if harness.receiver.seen:
            break
        await asyncio.sleep(0.01)
    await worker.stop()

    assert not worker.running
    assert harness.receiver.requests() == [("PUT", f"{LOC_URL}/LOC1")]
    for _ in range(3):  # the last pass finished marking before stop() returned
        [item] = await harness.store.outbox_list()
        assert item.status is OutboxStatus.DELIVERED


# -- visibility, unknown objects, tariffs, partners ----------------------------------------------


async def test_an_unpublished_location_is_not_pushed_unless_the_partner_is_allowed(harness: Harness) -> None:
    now = harness.clock.now()
    await put_location(harness.store, location("HIDDEN", now, publish=False), now)
    await put_location(
        harness.store, location("SHARED", now, publish=False, allowed_issuers=("P-EMSP gmbh",)), now
    )

    report = await harness.worker().run_once()

    assert (report.delivered, report.skipped) == (1, 1)
    assert harness.receiver.requests() == [("PUT", f"{LOC_URL}/SHARED")]
    hidden, shared = await harness.store.outbox_list()
    assert hidden.status is OutboxStatus.DELIVERED and "not published to emsp" in (hidden.last_error or "")
    assert shared.last_error is None


async def test_a_patch_the_partner_cannot_apply_is_followed_by_a_put_of_the_location(
    harness: Harness,
) -> None:
    now = harness.clock.now()
    await put_location(harness.store, location("LOC1", now), now)
    await harness.store.outbox_claim_objects(now, limit=10, lease=LEASE)  # pretend that PUT got lost
    for item in await harness.store.outbox_list():
        await harness.store.outbox_mark_delivered(item.id)
    harness.receiver.answer = lambda seen: (404, 2003) if seen.method == "PATCH" else None
    await set_status(harness.store, "LOC1", "E1", m.Status.CHARGING, harness.clock.advance(1))

    report = await harness.worker().run_once()

    assert report.delivered == 1
    assert harness.receiver.requests() == [("PATCH", f"{LOC_URL}/LOC1/E1"), ("PUT", f"{LOC_URL}/LOC1")]
    assert harness.receiver.seen[-1].body["evses"][0]["status"] == "CHARGING"


async def test_tariffs_are_put_and_deleted(harness: Harness) -> None:
    now = harness.clock.now()
    await put_tariff(harness.store, tariff("T1", now, "0.30"), now)
    await put_tariff(harness.store, tariff("T1", harness.clock.advance(1), "0.35"), harness.clock.now())
    worker = harness.worker()
    await worker.run_once()
    await remove_tariff(harness.store, "T1", harness.clock.advance(1))
    await worker.run_once()
    # deleted then created again before the worker ran: the latest state (exists) wins
    await remove_tariff(harness.store, "T1", harness.clock.advance(1))
    await put_tariff(harness.store, tariff("T1", harness.clock.advance(1), "0.40"), harness.clock.now())
    await worker.run_once()

    url = "/ocpi/2.2.1/tariffs/NL/ABC/T1"
    assert harness.receiver.requests() == [("PUT", url), ("DELETE", url), ("PUT", url)]
    prices = [s.body["elements"][0]["price_components"][0]["price"] for s in harness.receiver.seen if s.body]
    assert [str(p) for p in prices] == ["0.35", "0.4"]


async def test_deleting_what_the_partner_does_not_have_counts_as_delivered(harness: Harness) -> None:
    harness.receiver.answer = lambda seen: (404, 2003)
    await remove_tariff(harness.store, "NEVER", harness.clock.now())
    report = await harness.worker().run_once()
    assert report.delivered == 1 and report.failed == 0


async def test_jobs_of_a_partner_that_left_are_parked(harness: Harness) -> None:
    now = harness.clock.now()
    await put_location(harness.store, location("LOC1", now), now)
    await register(
        harness.store, harness.clock, emsp_partner(harness.clock, status=PartnerStatus.UNREGISTERED)
    )

    report = await harness.worker().run_once()

    assert report.parked == 1 and harness.receiver.seen == []
    [item] = await harness.store.outbox_list()
    assert "no locations RECEIVER endpoint" in (item.last_error or "")


async def test_malformed_changes_are_refused_at_enqueue(harness: Harness) -> None:
    async with harness.store.transaction() as tx:
        for bad in (
            ObjectChange(module="locations", country_code="NL", party_id="ABC", object_id="L", method="POST"),
            ObjectChange(
                module="locations", country_code="NL", party_id="ABC", object_id="L", method="PATCH"
            ),
            ObjectChange(
                module="locations",
                country_code="NL",
                party_id="ABC",
                object_id="L",
                method="PATCH",
                patch=b"[1]",
            ),
            ObjectChange(
                module="locations",
                country_code="NL",
                party_id="ABC",
                object_id="L",
                connector_id="1",
                method="PUT",
            ),
        ):
            with pytest.raises(ValueError):
                await enqueue_change(tx, RegisteredPartners(), bad, harness.clock.now())


def _json(body: object) -> bytes:
    return json.dumps(body).encode()


def _fields(policy: RetryPolicy) -> dict[str, object]:
    return {name: getattr(policy, name) for name in RetryPolicy.__dataclass_fields__}


def test_worker_options_come_from_evroam_push_variables() -> None:
    options = options_from_env(
        {
            "EVROAM_PUSH_BASE_DELAY": "0.5",
            "EVROAM_PUSH_MAX_DELAY": "5",
            "EVROAM_PUSH_MAX_ATTEMPTS": "0",
            "EVROAM_PUSH_LEASE": "20",
            "EVROAM_PUSH_POLL_INTERVAL": "0.1",
            "EVROAM_PUSH_BATCH": "10",
            "EVROAM_PUSH_CONCURRENCY": "3",
            "UNRELATED": "x",
        }
    )
    policy = options.pop("policies").for_module("locations")
    assert (policy.base, policy.max_delay, policy.max_attempts) == (
        timedelta(seconds=0.5),
        timedelta(seconds=5),
        None,
    )
    assert options == {"lease": timedelta(seconds=20), "poll_interval": 0.1, "batch": 10, "concurrency": 3}
    assert options_from_env({}) == {}
    cdrs = options_from_env({"EVROAM_PUSH_MAX_ATTEMPTS": "3"}, POLICIES)["policies"].for_module("cdrs")
    assert (cdrs.max_attempts, cdrs.retry_forever) == (3, True)
    for bad in ({"EVROAM_PUSH_LEASE": "soon"}, {"EVROAM_PUSH_BATCH": "0"}, {"EVROAM_PUSH_MAX_DELAY": "nan"}):
        with pytest.raises(ValueError, match="EVROAM_PUSH_"):
            options_from_env(bad)
