"""Pull sync of tokens (we are the CPO), sessions and CDRs (we are the eMSP) against a fake paginated
Sender (``httpx.MockTransport``, at most 100 objects per page), on memory and SQLite."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner

from evroam.cli.push import sync
from evroam.core.codec import encode
from evroam.core.types import DateTime
from evroam.http.client import create_http_client
from evroam.modules.cdrs.repository import load_cdr_record
from evroam.modules.sessions.repository import load_session_record
from evroam.modules.tokens.repository import iter_tokens, load_token_record
from evroam.ocpi.transport import PartyRef
from evroam.pull.sync import SyncError, SyncResult, last_sync, sync_module
from evroam.registration.model import Partner, PartnerEndpoint, PartnerStatus, PartyRole
from evroam.store import SqlStore, Store
from evroam.testing import FakeSender, FixedClock, MemoryStore, SequentialIds
from tests.unit.kits import PULLS
from tests.unit.push_support import register
from tests.unit.test_sessions_support import cdr_json, session_json
from tests.unit.test_tokens_support import own_token, token, token_json

EMSP = ("DE", "EMS")
CPO = ("BE", "BEC")
US_CPO = PartyRef.of("NL", "CPO")
US_EMSP = PartyRef.of("NL", "MSP")
BASE = "https://peer.test/ocpi/2.2.1"


def wire(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` as it travels (numbers as JSON numbers, timestamps as text)."""
    result: dict[str, Any] = json.loads(encode(body).decode())
    return result


def partner(partner_id: str, role: str, party: tuple[str, str], now: datetime, *modules: str) -> Partner:
    return Partner(
        id=partner_id,
        name=partner_id.removeprefix("p-"),
        status=PartnerStatus.REGISTERED,
        initiated_by="them",
        created=DateTime.from_datetime(now),
        updated=DateTime.from_datetime(now),
        version="2.2.1",
        token=f"token-for-{partner_id}",
        token_encoding="base64",
        roles=(PartyRole(role=role, country_code=party[0], party_id=party[1], name="Peer"),),
        endpoints=tuple(PartnerEndpoint(module=m, url=f"{BASE}/{m}", role="SENDER") for m in modules),
    )


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    sql = SqlStore.from_url(f"sqlite:///{tmp_path / 'sync.db'}")
    await sql.migrate()
    try:
        yield sql
    finally:
        await sql.close()


class World:
    def __init__(self, store: Store, clock: FixedClock, partner: Partner, module: str) -> None:
        self.store = store
        self.clock = clock
        self.partner = partner
        self.module = module
        self.sender = FakeSender(f"{BASE}/{module}")

    async def sync(self, *, full: bool = False, since: datetime | None = None) -> SyncResult:
        async with create_http_client(transport=self.sender.transport()) as http:
            return await sync_module(
                self.store,
                http,
                self.partner,
                self.module,
                pulls=PULLS,
                clock=self.clock,
                ids=SequentialIds(),
                us=US_CPO if self.module == "tokens" else US_EMSP,
                full=full,
                since=since,
            )


async def world(store: Store, module: str) -> World:
    clock = FixedClock("2026-03-01T12:00:00Z")
    if module == "tokens":
        peer = partner("p-emsp", "EMSP", EMSP, clock.now(), "tokens")
    else:
        peer = partner("p-cpo", "CPO", CPO, clock.now(), "sessions", "cdrs")
    await register(store, clock, peer)
    return World(store, clock, peer, module)


def emsp_token(n: int, last_updated: str = "2026-03-01T11:00:00Z", *, valid: bool = True) -> dict[str, Any]:
    return wire(
        token_json(f"T{n:04d}", country_code="DE", party_id="EMS", last_updated=last_updated, valid=valid)
    )


# -- tokens (we are the CPO) ------------------------------------------------------------------------


async def test_tokens_first_sync_stores_every_page_for_the_partner_then_asks_only_for_changes(
    store: Store,
) -> None:
    w = await world(store, "tokens")
    w.sender.objects = [emsp_token(n) for n in range(250)]

    first = await w.sync()

    assert (first.full, first.pages, first.fetched, first.created, first.refused) == (True, 3, 250, 250, 0)
    assert "date_from" not in w.sender.queries[0]
    record = await load_token_record(store, "de", "ems", "t0249", "RFID")
    assert record is not None
    assert (record.partner_id, record.rules, record.token.contract_id) == ("p-emsp", None, "DE-EMS-T0249")
    assert await last_sync(store, "p-emsp", "tokens") == datetime.fromisoformat("2026-03-01T12:00:00+00:00")

    w.clock.advance(600)
    w.sender.objects[7] = emsp_token(7, "2026-03-01T12:05:00Z", valid=False)
    second = await w.sync()

    assert w.sender.queries[-1]["date_from"] == "2026-03-01T12:00:00Z"
    assert (second.full, second.fetched, second.created, second.updated, second.removed) == (
        False,
        1,
        0,
        1,
        0,
    )
    changed = await load_token_record(store, *EMSP, "T0007", "RFID")
    assert changed is not None and changed.token.valid is False


async def test_a_full_token_sync_marks_tokens_the_partner_no_longer_lists_invalid(store: Store) -> None:
    w = await world(store, "tokens")
    w.sender.objects = [emsp_token(n) for n in range(5)]
    await w.sync()
    w.clock.advance(3600)
    w.sender.objects = [o for o in w.sender.objects if o["uid"] not in ("T0001", "T0003")]

    incremental = await w.sync()
    assert incremental.removed == 0
    result = await w.sync(full=True)

    assert (result.full, result.fetched, result.unchanged, result.removed) == (True, 3, 3, 2)
    states = {str(d.token.uid): (d.token.valid, d.token.last_updated) async for _, d in iter_tokens(store)}
    gone_at = datetime.fromisoformat("2026-03-01T13:00:00+00:00")
    kept_at = datetime.fromisoformat("2026-03-01T11:00:00+00:00")
    assert states == {
        "T0000": (True, kept_at),
        "T0001": (False, gone_at),
        "T0002": (True, kept_at),
        "T0003": (False, gone_at),
        "T0004": (True, kept_at),
    }
    again = await w.sync(full=True)
    assert again.removed == 0  # already invalid


async def test_tokens_of_another_party_or_of_ours_are_refused_with_a_reason(store: Store) -> None:
    w = await world(store, "tokens")
    await own_token(store, token("MINE", owner=EMSP))  # same key, but stored as one of ours
    broken = emsp_token(9)
    del broken["whitelist"]
    w.sender.objects = [
        emsp_token(1),
        wire(token_json("FOREIGN", country_code="FR", party_id="XYZ")),
        wire(token_json("MINE", country_code="DE", party_id="EMS")),
        broken,
    ]

    result = await w.sync()

    assert (result.fetched, result.created, result.refused) == (4, 1, 3)
    reasons = {i.object: i.reason for i in result.issues}
    assert reasons["FR*XYZ/RFID:FOREIGN"] == "not a party of the partner"
    assert reasons["DE*EMS/RFID:MINE"] == "already stored for us"
    assert "whitelist" in reasons["DE*EMS/T0009"]
    mine = await load_token_record(store, *EMSP, "MINE", "RFID")
    assert mine is not None and mine.partner_id is None


# -- sessions (we are the eMSP) ---------------------------------------------------------------------


async def test_sessions_always_ask_with_a_date_from(store: Store) -> None:
    w = await world(store, "sessions")
    w.sender.objects = [
        wire(session_json(f"S{n:03d}", party=CPO, last_updated="2026-03-01T11:30:00Z")) for n in range(150)
    ]

    first = await w.sync()

    assert w.sender.queries[0]["date_from"] == "2026-01-30T12:00:00Z"  # 30 days back
    assert (first.full, first.pages, first.created) == (False, 2, 150)
    stored = await load_session_record(store, *CPO, "S149")
    assert stored is not None and stored.partner_id == "p-cpo" and stored.session.location_id == "THEIRLOC"

    w.clock.advance(900)
    w.sender.objects[3] = wire(
        session_json("S003", party=CPO, status="COMPLETED", kwh="7.5", last_updated="2026-03-01T12:10:00Z")
    )
    second = await w.sync()

    assert w.sender.queries[-1]["date_from"] == "2026-03-01T12:00:00Z"  # the first sync's start
    assert (second.fetched, second.updated, second.created) == (1, 1, 0)
    changed = await load_session_record(store, *CPO, "S003")
    assert changed is not None and changed.session.kwh == Decimal("7.5")

    w.clock.advance(60)
    since = datetime.fromisoformat("2026-03-01T11:00:00+00:00")
    third = await w.sync(since=since, full=True)
    assert w.sender.queries[-1]["date_from"] == "2026-03-01T11:00:00Z"
    assert (third.fetched, third.unchanged, third.removed) == (150, 150, 0)


async def test_sessions_are_never_removed_and_an_older_one_is_kept(store: Store) -> None:
    w = await world(store, "sessions")
    w.sender.objects = [wire(session_json("S1", party=CPO, last_updated="2026-03-01T11:50:00Z"))]
    await w.sync()
    w.clock.advance(60)
    w.sender.objects = [wire(session_json("S1", party=CPO, kwh="3", last_updated="2026-03-01T11:40:00Z"))]

    result = await w.sync(since=datetime.fromisoformat("2026-03-01T00:00:00+00:00"))
    w.sender.objects = []
    emptied = await w.sync(full=True)

    assert (result.stale, result.updated) == (1, 0)
    assert emptied.removed == 0
    stored = await load_session_record(store, *CPO, "S1")
    assert stored is not None and stored.session.kwh == Decimal(0)


# -- CDRs (we are the eMSP) -------------------------------------------------------------------------


def cpo_cdr(cdr_id: str, total: str = "4.20", last_updated: str = "2026-03-01T11:00:00Z") -> dict[str, Any]:
    body = wire(cdr_json(cdr_id, party=CPO, total=total))
    body["last_updated"] = last_updated
    return body


async def test_cdrs_are_stored_once_and_never_overwritten(store: Store) -> None:
    w = await world(store, "cdrs")
    w.sender.objects = [cpo_cdr(f"CDR{n:03d}") for n in range(120)]

    first = await w.sync()

    assert "date_from" not in w.sender.queries[0]
    assert (first.pages, first.created, first.refused) == (2, 120, 0)
    record = await load_cdr_record(store, *CPO, "CDR007")
    assert record is not None and record.partner_id == "p-cpo" and record.document.location_url is None
    assert record.cdr.total_cost.before_taxes == Decimal("4.20")

    w.clock.advance(600)
    w.sender.objects[7] = cpo_cdr("CDR007", total="9.99", last_updated="2026-03-01T12:05:00Z")
    w.sender.objects.append(cpo_cdr("CDR999", last_updated="2026-03-01T12:06:00Z"))
    second = await w.sync()

    assert w.sender.queries[-1]["date_from"] == "2026-03-01T12:00:00Z"
    assert (second.fetched, second.created, second.unchanged, second.updated) == (2, 1, 1, 0)
    kept = await load_cdr_record(store, *CPO, "CDR007")
    assert kept is not None and kept.cdr.total_cost.before_taxes == Decimal("4.20")


async def test_a_cdr_without_evse_uid_is_refused_by_name_and_the_rest_is_stored(store: Store) -> None:
    w = await world(store, "cdrs")
    broken = cpo_cdr("NOEVSE")
    del broken["cdr_location"]["evse_uid"]
    credit = wire(cdr_json("CREDIT", party=CPO, credit_of="CDR1"))
    del credit["credit_reference_id"]
    w.sender.objects = [cpo_cdr("CDR1"), broken, cpo_cdr("CDR2"), credit]

    result = await w.sync()

    assert (result.fetched, result.created, result.refused) == (4, 2, 2)
    assert [(i.object, i.reason) for i in result.issues] == [
        ("BE*BEC/NOEVSE", "$.cdr_location.evse_uid: Object missing required field"),
        ("BE*BEC/CREDIT", "$: a Credit CDR (`credit` true) needs `credit_reference_id`"),
    ]
    assert await load_cdr_record(store, *CPO, "NOEVSE") is None
    assert await load_cdr_record(store, *CPO, "CDR2") is not None
    assert await last_sync(store, "p-cpo", "cdrs") is not None  # the sync itself completed


async def test_a_cdrs_sync_needs_the_partners_cdrs_sender(store: Store) -> None:
    w = await world(store, "cdrs")
    w.partner = msgspec.structs.replace(w.partner, endpoints=w.partner.endpoints[:1])
    with pytest.raises(SyncError, match="no cdrs SENDER endpoint"):
        await w.sync()
    assert w.sender.queries == []


# -- the command line refuses what has no meaning ------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sessions", "--partner", "cpo", "--full"], "sessions have no full sync: use --since"),
        (["cdrs", "--partner", "cpo", "--full"], "cdrs have no full sync: use --since"),
        (["tokens", "--partner", "emsp", "--full", "--since", "2026-03-01"], "--full and --since exclude"),
    ],
)
def test_sync_options_that_make_no_sense_are_usage_errors(args: list[str], message: str) -> None:
    answer = CliRunner().invoke(sync, args)
    assert answer.exit_code == 2
    assert message in answer.output
