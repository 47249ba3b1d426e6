"""The token pusher with the push worker, on the in-memory store and on SQLite: PUT / PATCH to the
CPO's tokens Receiver with ``?type=``, coalescing, the PUT fallback, OCPI 2.1.1, and the whole path
into a real CPO node app."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from evroam import model as m
from evroam.core.types import DateTime
from evroam.http.client import create_http_client
from evroam.modules.tokens.ports import ImportedToken
from evroam.modules.tokens.repository import load_token_record
from evroam.modules.tokens.rules import AuthorizationRules
from evroam.modules.tokens.service import TokenAdmin
from evroam.push.worker import PushWorker
from evroam.registration.directory import RegisteredPartners
from evroam.registration.model import Partner, PartnerEndpoint, PartnerStatus, PartyRole
from evroam.registration.repository import StorePartnerRepository
from evroam.store import OutboxStatus, SqlStore, Store
from evroam.testing import FixedClock, MemoryStore, SequentialIds
from tests.unit.kits import PUSHERS

from .locations_harness import EMSP_TOKEN, running
from .test_tokens_support import token

T0 = "2026-03-01T12:00:00Z"


def cpo_partner(
    clock: FixedClock, *, version: str = "2.2.1", url: str | None = None, tok: str = "tok-at-cpo"
) -> Partner:
    return Partner(
        id="p-cpo",
        name="cpo",
        status=PartnerStatus.REGISTERED,
        initiated_by="us",
        created=clock.now(),
        updated=clock.now(),
        version=version,
        token=tok,
        token_encoding="raw" if version == "2.1.1" else "base64",
        roles=(PartyRole(role="CPO", country_code="BE", party_id="BEC", name="Charge BV"),),
        endpoints=(
            PartnerEndpoint(
                module="tokens",
                role="RECEIVER",
                url=url or f"https://cpo.test/ocpi/{version}/tokens",
            ),
        ),
    )


@dataclass
class FakeCpo:
    """A tokens Receiver: records (method, path, query, body); ``missing`` answers PATCH with 404/2003."""

    missing: bool = False
    seen: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.seen.append((request.method, request.url.path, dict(request.url.params), body))
        if self.missing and request.method == "PATCH":
            return httpx.Response(404, json={"status_code": 2003, "timestamp": T0})
        return httpx.Response(200, json={"status_code": 1000, "timestamp": T0})


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    sql = SqlStore.from_url(f"sqlite:///{tmp_path / 'tokens.db'}")
    await sql.migrate()
    try:
        yield sql
    finally:
        await sql.close()


@dataclass
class Rig:
    store: Store
    clock: FixedClock
    cpo: FakeCpo
    admin: TokenAdmin
    worker: PushWorker


async def rig(store: Store, version: str = "2.2.1") -> tuple[Rig, httpx.AsyncClient]:
    clock = FixedClock(T0)
    await store.migrate()
    await StorePartnerRepository(store, clock).commit(save=[cpo_partner(clock, version=version)])
    cpo = FakeCpo()
    http = create_http_client(transport=cpo.transport())
    worker = PushWorker(
        store, http, pushers=PUSHERS, clock=clock, ids=SequentialIds("w"), rng=random.Random(1)
    )
    admin = TokenAdmin(store, clock, RegisteredPartners(), [("NL", "MSP")])
    return Rig(store, clock, cpo, admin, worker), http


async def test_import_and_block_are_put_and_patch_with_the_type(store: Store) -> None:
    r, http = await rig(store)
    try:
        rules = AuthorizationRules(no_credit=True)
        report = await r.admin.import_tokens(
            [
                ImportedToken(token=token("T1"), rules=rules),
                ImportedToken(token=token("T1", token_type="APP_USER", whitelist=m.WhitelistType.NEVER)),
            ]
        )
        assert report.outbox_rows == 2
        done = await r.worker.drain()
        assert (done.delivered, done.requests) == (2, 2)
        (m1, p1, q1, b1), (m2, p2, q2, b2) = r.cpo.seen
        assert (m1, p1, q1) == ("PUT", "/ocpi/2.2.1/tokens/NL/MSP/T1", {"type": "RFID"})
        assert (m2, p2, q2) == ("PUT", "/ocpi/2.2.1/tokens/NL/MSP/T1", {"type": "APP_USER"})
        assert b1["uid"] == "T1" and b1["valid"] is True and "authorization_rules" not in b1
        assert b2["whitelist"] == "NEVER"
        r.clock.advance(60)
        blocked, rows = await r.admin.set_valid("T1", "APP_USER", False)
        assert rows == 1 and blocked.valid is False
        await r.worker.drain()
        assert r.cpo.seen[2] == (
            "PATCH",
            "/ocpi/2.2.1/tokens/NL/MSP/T1",
            {"type": "APP_USER"},
            {"valid": False, "last_updated": "2026-03-01T12:01:00Z"},
        )
        assert await store.outbox_count(status=OutboxStatus.DELIVERED) == 3
    finally:
        await http.aclose()


async def test_changes_of_one_token_coalesce_into_one_put_of_its_latest_state(store: Store) -> None:
    r, http = await rig(store)
    try:
        await r.admin.import_tokens([ImportedToken(token=token("T1"))])
        await r.admin.set_valid("T1", "RFID", False)
        await r.admin.set_valid("T1", "RFID", True)
        await r.admin.set_valid("T1", "RFID", False)
        await r.worker.drain()
        assert [(s[0], s[3]["valid"]) for s in r.cpo.seen] == [("PUT", False)]
    finally:
        await http.aclose()


async def test_a_patch_the_cpo_cannot_apply_is_followed_by_a_put(store: Store) -> None:
    r, http = await rig(store)
    try:
        await r.admin.import_tokens([ImportedToken(token=token("T1"))])
        await r.worker.drain()
        r.cpo.missing = True
        await r.admin.set_valid("T1", "RFID", False)
        await r.worker.drain()
        assert [(s[0], s[3].get("valid")) for s in r.cpo.seen] == [
            ("PUT", True),
            ("PATCH", False),
            ("PUT", False),
        ]
        assert r.cpo.seen[2][3]["contract_id"] == "NL-MSP-T1"
    finally:
        await http.aclose()


async def test_ocpi_2_1_1_receivers_get_no_type_parameter(store: Store) -> None:
    r, http = await rig(store, version="2.1.1")
    try:
        await r.admin.import_tokens([ImportedToken(token=token("T1"))])
        await r.worker.drain()
        ((method, path, query, body),) = r.cpo.seen
        assert (method, path, query) == ("PUT", "/ocpi/2.1.1/tokens/NL/MSP/T1", {})
        assert body["auth_id"] == "NL-MSP-T1" and "country_code" not in body
    finally:
        await http.aclose()


async def test_pushed_into_a_real_cpo_node() -> None:
    """eMSP ``DE*EMS`` pushes to the harness node's CPO Receiver (it knows us as partner ``emsp``)."""
    async with running() as cpo_node:
        clock = FixedClock(T0)
        store = MemoryStore()
        await store.migrate()
        partner = cpo_partner(clock, url="http://node.test/ocpi/2.2.1/receiver/tokens", tok=EMSP_TOKEN)
        await StorePartnerRepository(store, clock).commit(save=[partner])
        http = create_http_client(transport=httpx.ASGITransport(app=cpo_node.node.app()))
        try:
            worker = PushWorker(
                store, http, pushers=PUSHERS, clock=clock, ids=SequentialIds("w"), rng=random.Random(1)
            )
            admin = TokenAdmin(store, clock, RegisteredPartners(), [("DE", "EMS")])
            imported = token("T1", owner=("DE", "EMS"), token_type="APP_USER")
            await admin.import_tokens([ImportedToken(token=imported)])
            assert (await worker.drain()).delivered == 1
            got = await load_token_record(cpo_node.store, "DE", "EMS", "T1", "APP_USER")
            assert got is not None and got.partner_id == "p-emsp" and got.token == imported
            clock.advance(3600)
            await admin.set_valid("T1", "APP_USER", False)
            assert (await worker.drain()).delivered == 1
            got = await load_token_record(cpo_node.store, "DE", "EMS", "T1", "APP_USER")
            assert got is not None and got.token.valid is False
            assert got.token.last_updated == DateTime.parse("2026-03-01T13:00:00Z")
        finally:
            await http.aclose()
