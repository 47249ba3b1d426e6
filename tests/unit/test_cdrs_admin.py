"""The CPO's own CDRs: creation (from a completed session, as a credit), the refusals, and delivery by
the push worker — POST to the module URL, the ``Location`` answer recorded, a 409 taken as delivered,
and the CDR policy that never parks and reports an undelivered CDR at error level once per escalation."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import httpx
import msgspec
import pytest

from evroam.core.errors import Conflict, NotFound, ValidationFailed
from evroam.http.client import create_http_client
from evroam.model.common import Price, TaxAmount
from evroam.modules.cdrs.repository import CDR_KIND, load_cdr_record
from evroam.modules.cdrs.service import CdrAdmin
from evroam.modules.sessions.service import SessionAdmin
from evroam.push.retry import Jitter, RetryPolicies, RetryPolicy
from evroam.push.worker import PushWorker, options_from_env
from evroam.registration.directory import RegisteredPartners
from evroam.registration.repository import StorePartnerRepository
from evroam.store import OutboxStatus, Store
from evroam.store.outbox import decode_change
from evroam.testing import FixedClock, MemoryStore, SequentialIds
from tests.unit.kits import POLICIES, PUSHERS
from tests.unit.locations_harness import register
from tests.unit.test_sessions_support import (
    OUR_CPO,
    T0,
    at,
    our_location,
    our_session,
    partners,
    period,
    store_our_location,
)

CDRS_URL = "http://emsp.test/ocpi/2.2.1/cdrs"
STORED_AT = "http://emsp.test/ocpi/2.2.1/cdrs/NL/CPO/S1"


@dataclass
class Receiver:
    """The eMSP's CDRs endpoint: answers 201 + Location, or as ``answer`` says; ``down`` refuses."""

    down: bool = False
    status: int = 201
    code: int = 1000
    seen: list[httpx.Request] | None = None

    def transport(self) -> httpx.MockTransport:
        self.seen = []

        def handle(request: httpx.Request) -> httpx.Response:
            if self.down:
                raise httpx.ConnectError("connection refused", request=request)
            assert self.seen is not None
            self.seen.append(request)
            headers = {"Location": STORED_AT} if self.status < 300 else {}
            return httpx.Response(
                self.status, json={"status_code": self.code, "timestamp": T0}, headers=headers
            )

        return httpx.MockTransport(handle)


@dataclass
class Cpo:
    store: Store
    clock: FixedClock
    receiver: Receiver
    sessions: SessionAdmin
    cdrs: CdrAdmin
    worker: PushWorker

    async def completed_session(self, session_id: str = "S1", **options: object) -> None:
        await self.sessions.start(our_session(session_id, periods=(period(0, "4"), period(30, "3.5"))))
        self.clock.advance(5400)  # 1.5 h
        await self.sessions.stop(session_id, kwh=Decimal("7.5"), **options)  # type: ignore[arg-type]


async def make_cpo(policies: RetryPolicies | None = None) -> Cpo:
    clock = FixedClock(T0)
    store = MemoryStore()
    await store.migrate()
    await register(store, clock, partners(clock.now()))
    await store_our_location(store)
    receiver = Receiver()
    worker = PushWorker(
        store,
        create_http_client(transport=receiver.transport()),
        pushers=PUSHERS,
        clock=clock,
        ids=SequentialIds("push"),
        rng=random.Random(1),
        policies=policies or POLICIES,
    )
    directory = RegisteredPartners()
    return Cpo(
        store,
        clock,
        receiver,
        SessionAdmin(store, clock, directory, [OUR_CPO]),
        CdrAdmin(store, clock, directory, [OUR_CPO]),
        worker,
    )


@pytest.fixture
async def cpo() -> AsyncIterator[Cpo]:
    yield await make_cpo()


# -- creation ------------------------------------------------------------------------------------------


async def test_the_cdr_of_a_completed_session(cpo: Cpo) -> None:
    await cpo.completed_session(total_cost=Price(before_taxes=Decimal("3.10")))
    created = await cpo.cdrs.from_session("S1")
    cdr = created.cdr
    assert (cdr.id, cdr.session_id, cdr.total_energy, cdr.total_time) == (
        "S1",
        "S1",
        Decimal("7.5"),
        Decimal("1.5"),
    )
    assert cdr.total_cost == Price(before_taxes=Decimal("3.10"))
    assert (cdr.start_date_time, cdr.end_date_time) == (at(0), at(90))
    assert [p.start_date_time for p in cdr.charging_periods] == [at(0), at(30)]
    loc = cdr.cdr_location
    assert (loc.id, loc.evse_uid, loc.evse_id, loc.connector_id, loc.city) == (
        "LOC1",
        "E1",
        "NL*CPO*EE1",
        "1",
        "Utrecht",
    )
    assert cdr.cdr_token.party_id == "EMS" and cdr.last_updated == cpo.clock.now()
    assert created.outbox_rows == 1
    [row] = await cpo.store.outbox_list(kind="cdrs")
    assert row.partner_id == "p-emsp" and decode_change(row.payload).object_id == "S1"
    record = await load_cdr_record(cpo.store, *OUR_CPO, "S1")
    assert record is not None and record.partner_id == "party:de*ems" and record.document.deliveries == ()


async def test_an_evse_without_evse_id_gives_the_placeholder_ocpi_allows(cpo: Cpo) -> None:
    await store_our_location(cpo.store, our_location(evse_ids=False))
    await cpo.completed_session(total_cost=Price(before_taxes=Decimal("1")))
    assert (await cpo.cdrs.from_session("S1")).cdr.cdr_location.evse_id == "#NA"


async def test_no_cdr_of_a_session_that_is_running_has_no_price_or_no_known_evse(cpo: Cpo) -> None:
    await cpo.sessions.start(our_session("S1", evse_uid="E9"))
    with pytest.raises(ValidationFailed) as refused:
        await cpo.cdrs.from_session("S1")
    assert refused.value.ocpi_status == 2001
    assert sorted(refused.value.paths) == ["$.charging_periods", "$.location_id", "$.status", "$.total_cost"]
    with pytest.raises(NotFound):
        await cpo.cdrs.from_session("NOPE")
    assert await cpo.store.count(CDR_KIND) == 0 and await cpo.store.outbox_list(kind="cdrs") == []


async def test_a_cdr_is_never_created_twice(cpo: Cpo) -> None:
    await cpo.completed_session(total_cost=Price(before_taxes=Decimal("1")))
    await cpo.cdrs.from_session("S1")
    [before] = (await cpo.store.find(CDR_KIND)).items
    with pytest.raises(Conflict) as refused:
        await cpo.cdrs.from_session("S1", total_cost=Price(before_taxes=Decimal("2")))
    assert (refused.value.http_status, refused.value.ocpi_status) == (409, 2000)
    assert await cpo.store.get(before.key) == before and len(await cpo.store.outbox_list(kind="cdrs")) == 1


async def test_a_credit_cdr_negates_every_cost_and_references_the_original(cpo: Cpo) -> None:
    taxed = Price(before_taxes=Decimal("3.10"), taxes=(TaxAmount(name="VAT", amount=Decimal("0.65")),))
    await cpo.completed_session(total_cost=taxed)
    await cpo.cdrs.from_session("S1")
    credit = (await cpo.cdrs.credit("S1")).cdr
    assert (credit.id, credit.credit, credit.credit_reference_id) == ("S1-C", True, "S1")
    assert credit.total_cost == Price(
        before_taxes=Decimal("-3.10"), taxes=(TaxAmount(name="VAT", amount=Decimal("-0.65")),)
    )
    assert credit.total_energy == Decimal("7.5")  # the energy is not negated
    with pytest.raises(ValidationFailed):
        await cpo.cdrs.credit("S1-C")  # no credit of a credit
    with pytest.raises(NotFound):
        await cpo.cdrs.credit("NOPE")
    assert len(await cpo.store.outbox_list(kind="cdrs")) == 2


async def test_a_credit_cdr_must_reference_one_of_our_cdrs(cpo: Cpo) -> None:
    await cpo.completed_session(total_cost=Price(before_taxes=Decimal("1")))
    await cpo.cdrs.from_session("S1")
    record = await load_cdr_record(cpo.store, *OUR_CPO, "S1")
    assert record is not None
    orphan = msgspec.structs.replace(record.cdr, id="X-C", credit=True, credit_reference_id="NOPE")
    with pytest.raises(ValidationFailed) as refused:
        await cpo.cdrs.create(orphan)
    assert refused.value.paths == ["$.credit_reference_id"]


# -- delivery ------------------------------------------------------------------------------------------


async def test_the_cdr_is_posted_to_the_module_url_and_the_location_answer_recorded(cpo: Cpo) -> None:
    await cpo.completed_session(total_cost=Price(before_taxes=Decimal("1")))
    await cpo.cdrs.from_session("S1")
    await cpo.worker.drain()
    posts = [r for r in cpo.receiver.seen or [] if r.method == "POST"]
    assert [str(r.url) for r in posts] == [CDRS_URL]  # the endpoint itself: no id, no trailing slash
    record = await load_cdr_record(cpo.store, *OUR_CPO, "S1")
    assert record is not None
    [delivery] = record.document.deliveries
    assert (delivery.partner_id, delivery.url) == ("p-emsp", STORED_AT)
    assert await cpo.store.outbox_count(status=OutboxStatus.DELIVERED, partner_id="p-emsp") >= 1


async def test_a_409_means_the_partner_holds_the_cdr_already(cpo: Cpo) -> None:
    cpo.receiver.status, cpo.receiver.code = 409, 2000
    await cpo.completed_session(total_cost=Price(before_taxes=Decimal("1")))
    await cpo.cdrs.from_session("S1")
    await cpo.worker.drain()
    [row] = await cpo.store.outbox_list(kind="cdrs")
    assert row.status is OutboxStatus.DELIVERED and "already holds" in (row.last_error or "")


async def test_an_undelivered_cdr_is_never_parked_and_reported_once_per_escalation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    policy = RetryPolicy(
        base=timedelta(seconds=30),
        max_delay=timedelta(minutes=10),
        jitter=Jitter.NONE,
        max_attempts=3,
        retry_forever=True,
        escalate_after=timedelta(hours=1),
    )
    cpo = await make_cpo(RetryPolicies(per_module={"cdrs": policy}))
    await cpo.completed_session(total_cost=Price(before_taxes=Decimal("1")))
    await cpo.cdrs.from_session("S1")
    await cpo.worker.drain()  # the session's PUT / PATCH reach the eMSP
    cpo.receiver.down = True
    await cpo.cdrs.credit("S1")
    caplog.set_level(logging.WARNING, logger="evroam.push.worker")
    attempts = 0
    for _ in range(60):  # 5 h in steps of 5 min, far past max_attempts
        attempts += (await cpo.worker.run_once()).failed
        cpo.clock.advance(300)
    [row] = [
        r for r in await cpo.store.outbox_list(kind="cdrs") if decode_change(r.payload).object_id == "S1-C"
    ]
    assert row.status is OutboxStatus.PENDING and row.attempts == attempts > 10
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    # failing since 13:30: escalations at 1 h, 2 h and 4 h, each reported once
    assert len(errors) == 3 and all("S1-C" in e and "still undelivered" in e for e in errors)
    assert (row.last_error or "").startswith("[UNDELIVERED for 4h")  # what `evroam outbox list` shows
    assert "escalation 3]" in (row.last_error or "")

    cpo.receiver.down = False  # back: delivered once, and done
    cpo.clock.advance(600)
    await cpo.worker.drain()
    posted = [r for r in cpo.receiver.seen or [] if r.method == "POST" and b'"S1-C"' in r.content]
    assert len(posted) == 1
    assert (await cpo.store.outbox_get(row.id)).status is OutboxStatus.DELIVERED  # type: ignore[union-attr]


async def test_a_cdr_is_not_parked_when_its_partner_lost_the_endpoint(cpo: Cpo) -> None:
    await cpo.completed_session(total_cost=Price(before_taxes=Decimal("1")))
    await cpo.cdrs.from_session("S1")
    [emsp] = [p for p, _ in partners(cpo.clock.now()) if p.id == "p-emsp"]
    await StorePartnerRepository(cpo.store, cpo.clock).commit(
        save=[msgspec.structs.replace(emsp, endpoints=())]
    )
    await cpo.worker.drain()
    [row] = await cpo.store.outbox_list(kind="cdrs")
    assert row.status is OutboxStatus.PENDING and "no cdrs RECEIVER endpoint" in (row.last_error or "")


def test_the_default_cdr_policy_never_parks_and_escalates_after_an_hour_or_as_configured() -> None:
    default = POLICIES.for_module("cdrs")
    assert (default.retry_forever, default.escalate_after) == (True, timedelta(hours=1))
    tuned = options_from_env({"EVROAM_PUSH_ESCALATE_AFTER": "90", "EVROAM_PUSH_MAX_ATTEMPTS": "2"}, POLICIES)
    cdrs = tuned["policies"].for_module("cdrs")
    assert (cdrs.escalate_after, cdrs.retry_forever, cdrs.max_attempts) == (timedelta(seconds=90), True, 2)
    assert tuned["policies"].for_module("locations").escalate_after is None
    with pytest.raises(ValueError, match="EVROAM_PUSH_ESCALATE_AFTER"):
        options_from_env({"EVROAM_PUSH_ESCALATE_AFTER": "soon"})
