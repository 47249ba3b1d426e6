"""The eMSP's own tokens: import validation (every violation at once, all or nothing), outbox rows in
the same transaction, block / unblock; and the ``evroam tokens`` CLI (import, block, list, show,
stats, authorize)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evroam import model as m
from evroam.cli import cli
from evroam.core.codec import encode
from evroam.core.errors import NotFound, ValidationFailed
from evroam.modules.tokens.ports import ImportedToken
from evroam.modules.tokens.repository import TOKEN_KIND, save_token
from evroam.modules.tokens.rules import AuthorizationRules
from evroam.modules.tokens.service import TokenAdmin
from evroam.modules.tokens.validation import parse_tokens
from evroam.registration.directory import RegisteredPartners
from evroam.registration.model import Partner, PartnerEndpoint, PartnerStatus, PartyRole
from evroam.registration.repository import StorePartnerRepository
from evroam.store import Store
from evroam.store.factory import create_store
from evroam.store.outbox import decode_change
from evroam.testing import FixedClock, MemoryStore

from .test_tokens_support import token, token_json

T0 = "2026-03-01T12:00:00Z"


def cpo(clock: FixedClock, url: str = "https://cpo.test/ocpi/2.2.1/tokens") -> Partner:
    return Partner(
        id="p-cpo",
        name="cpo",
        status=PartnerStatus.REGISTERED,
        initiated_by="us",
        created=clock.now(),
        updated=clock.now(),
        version="2.2.1",
        token="tok",
        roles=(PartyRole(role="CPO", country_code="BE", party_id="BEC", name="Charge BV"),),
        endpoints=(PartnerEndpoint(module="tokens", role="RECEIVER", url=url),),
    )


async def admin_with_partner() -> tuple[TokenAdmin, Store, FixedClock]:
    clock = FixedClock(T0)
    store = MemoryStore()
    await store.migrate()
    await StorePartnerRepository(store, clock).commit(save=[cpo(clock)])
    return TokenAdmin(store, clock, RegisteredPartners(), [("NL", "MSP")]), store, clock


def test_parse_reports_every_violation_at_once() -> None:
    data = encode(
        [
            token_json("T1"),
            {"uid": "T2", "type": "RFID"},
            token_json("T3", rules={"valid_until": "not a date", "no_credit": "yes"}),
            token_json("t1"),
            token_json("T1", token_type="APP_USER"),  # same uid, other type: fine
        ]
    )
    with pytest.raises(ValidationFailed) as caught:
        parse_tokens(data, "2.2.1")
    paths = caught.value.paths
    assert "$[1].contract_id" in paths and "$[1].whitelist" in paths and "$[1].last_updated" in paths
    assert "$[2].authorization_rules.valid_until" in paths and "$[2].authorization_rules.no_credit" in paths
    assert "$[3].uid" in paths
    assert not any(p.startswith("$[0]") or p.startswith("$[4]") for p in paths)
    assert caught.value.ocpi_status == 2001
    with pytest.raises(ValidationFailed):
        parse_tokens(encode([token_json("T1", version="2.1.1")]), "2.1.1")  # 2.1.1 tokens need a party
    (parsed,) = parse_tokens(encode([token_json("T1", version="2.1.1")]), "2.1.1", owner=("NL", "MSP"))
    assert (parsed.token.country_code, parsed.token.contract_id) == ("NL", "NL-MSP-T1")


async def test_import_writes_tokens_and_outbox_rows_together_or_nothing() -> None:
    admin, store, _ = await admin_with_partner()
    with pytest.raises(ValidationFailed) as caught:
        await admin.import_tokens(
            [ImportedToken(token=token("T1")), ImportedToken(token=token("T2", owner=("DE", "XXX")))]
        )
    assert caught.value.paths == ["$[1].country_code"]
    assert await store.count(TOKEN_KIND) == 0 and await store.outbox_count() == 0
    # a partner's token under the same key: refused in the transaction, which rolls back entirely
    await save_token(store, token("T9"), partner_id="p-cpo", check_stale=False)
    with pytest.raises(ValidationFailed):
        await admin.import_tokens([ImportedToken(token=token("T1")), ImportedToken(token=token("T9"))])
    assert await store.count(TOKEN_KIND, partners=[None]) == 0 and await store.outbox_count() == 0
    report = await admin.import_tokens([ImportedToken(token=token("T1")), ImportedToken(token=token("T2"))])
    assert (report.created, report.outbox_rows) == (["T1 (RFID)", "T2 (RFID)"], 2)
    changes = [decode_change(item.payload) for item in await store.outbox_list()]
    assert [(c.method, c.object_id) for c in changes] == [("PUT", "RFID:T1"), ("PUT", "RFID:T2")]


async def test_reimport_unchanged_stale_and_rules_only() -> None:
    admin, store, _ = await admin_with_partner()
    await admin.import_tokens([ImportedToken(token=token("T1", last_updated="2026-02-05T00:00:00Z"))])
    report = await admin.import_tokens(
        [
            ImportedToken(token=token("T1", last_updated="2026-02-05T00:00:00Z")),
            ImportedToken(token=token("T1", token_type="OTHER")),
        ]
    )
    assert (report.unchanged, report.created, report.outbox_rows) == (["T1 (RFID)"], ["T1 (OTHER)"], 1)
    report = await admin.import_tokens([ImportedToken(token=token("T1", valid=False))])  # older
    assert report.stale == ["T1 (RFID)"] and report.outbox_rows == 0
    assert (await admin.get_token("T1", "RFID")).token.valid is True
    # new rules alone are kept but not pushed: CPOs never see them
    rules_only = ImportedToken(
        token=token("T1", last_updated="2026-02-05T00:00:00Z"), rules=AuthorizationRules(no_credit=True)
    )
    report = await admin.import_tokens([rules_only])
    assert (report.updated, report.outbox_rows) == (["T1 (RFID)"], 0)
    assert (await admin.get_token("T1", "RFID")).rules == AuthorizationRules(no_credit=True)
    assert await store.outbox_count() == 2


async def test_block_and_unblock_queue_a_patch_once() -> None:
    admin, store, clock = await admin_with_partner()
    await admin.import_tokens([ImportedToken(token=token("T1"))])
    clock.advance(10)
    blocked, rows = await admin.set_valid("T1", "RFID", False)
    assert (blocked.valid, rows, blocked.last_updated.to_json()) == (False, 1, "2026-03-01T12:00:10Z")
    again, rows = await admin.set_valid("t1", "rfid", False)
    assert (again, rows) == (blocked, 0)
    items = await store.outbox_list()
    change = decode_change(items[-1].payload)
    assert (change.method, json.loads(change.patch or b"{}")) == (
        "PATCH",
        {"valid": False, "last_updated": "2026-03-01T12:00:10Z"},
    )
    unblocked, rows = await admin.set_valid("T1", "RFID", True)
    assert unblocked.valid is True and rows == 1
    with pytest.raises(NotFound):
        await admin.set_valid("NOPE", "RFID", False)
    with pytest.raises(NotFound):
        await admin.set_valid("T1", "APP_USER", False)


# -- CLI ------------------------------------------------------------------------------------------


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_import_block_list_show_stats(tmp_path: Path) -> None:
    code, _, err = run(
        tmp_path, "init", "--country-code", "NL", "--party-id", "MSP", "--role", "EMSP", "--url", "http://h:1"
    )
    assert code == 0, err
    bad = tmp_path / "bad.json"
    bad.write_bytes(encode([token_json("T1"), {"uid": "T2"}]))
    code, _, err = run(tmp_path, "tokens", "import", str(bad))
    assert code == 1
    assert "$[1].type" in err and "$[1].whitelist" in err
    good = tmp_path / "tokens.json"
    good.write_bytes(
        encode([token_json("T1", rules={"no_credit": True}), token_json("T2", token_type="APP_USER")])
    )
    code, out, err = run(tmp_path, "tokens", "import", str(good), "--json")
    assert code == 0, err
    assert json.loads(out)["created"] == ["T1 (RFID)", "T2 (APP_USER)"]
    code, out, err = run(tmp_path, "tokens", "block", "T2", "--type", "app_user", "--json")
    assert code == 0, err
    assert json.loads(out)["valid"] is False
    code, _, err = run(tmp_path, "tokens", "block", "T2")  # RFID T2 does not exist
    assert code == 3 and "no token T2 (RFID)" in err
    code, out, err = run(tmp_path, "tokens", "list", "--json")
    assert code == 0, err
    assert [(t["uid"], t["type"], t["valid"]) for t in json.loads(out)] == [
        ("T1", "RFID", True),
        ("T2", "APP_USER", False),
    ]
    assert json.loads(out)[0]["authorization_rules"] == {"no_credit": True}
    code, out, err = run(tmp_path, "tokens", "list")
    assert "BLOCKED" in out and "no credit" in out
    code, out, err = run(tmp_path, "tokens", "show", "T1", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["token"]["contract_id"] == "NL-MSP-T1" and "authorization_rules" not in shown["token"]
    assert shown["authorization_rules"] == {"no_credit": True}
    code, out, err = run(tmp_path, "tokens", "stats", "--json")
    assert code == 0, err
    assert json.loads(out)["own"] == 2


def _seed_cpo_node(tmp_path: Path, emsp_url: str) -> None:
    async def seed() -> None:
        clock = FixedClock(T0)
        store = create_store(None, tmp_path)
        await store.migrate()
        try:
            emsp = Partner(
                id="p-emsp",
                name="emsp",
                status=PartnerStatus.REGISTERED,
                initiated_by="us",
                created=clock.now(),
                updated=clock.now(),
                version="2.2.1",
                token="tok",
                roles=(PartyRole(role="EMSP", country_code="DE", party_id="EMS", name="Drive GmbH"),),
                endpoints=(PartnerEndpoint(module="tokens", role="SENDER", url=emsp_url),),
            )
            await StorePartnerRepository(store, clock).commit(save=[emsp])
            for uid, whitelist in (("AL", m.WhitelistType.ALWAYS), ("NV", m.WhitelistType.NEVER)):
                await save_token(
                    store,
                    token(uid, owner=("DE", "EMS"), whitelist=whitelist),
                    partner_id="p-emsp",
                    check_stale=False,
                )
        finally:
            await store.close()

    asyncio.run(seed())


def test_cli_authorize_on_the_cpo_side(tmp_path: Path) -> None:
    code, _, err = run(
        tmp_path, "init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--url", "http://h:1"
    )
    assert code == 0, err
    # the eMSP "listens" on a port where nothing listens: connection refused
    _seed_cpo_node(tmp_path, "http://127.0.0.1:9/ocpi/2.2.1/tokens")
    code, out, err = run(tmp_path, "tokens", "authorize", "AL", "--location", "L1", "--evse", "E1", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["outcome"], data["source"], data["location"]) == (
        "ALLOWED",
        "local",
        {"location_id": "L1", "evse_uids": ["E1"]},
    )
    code, out, err = run(tmp_path, "tokens", "authorize", "NV", "--timeout", "2")
    assert code == 1
    assert out.startswith("EMSP_UNREACHABLE: cannot authorize: eMSP emsp unreachable")
    code, out, _ = run(tmp_path, "tokens", "authorize", "UNKNOWN1", "--json")
    assert code == 1 and json.loads(out)["outcome"] == "UNKNOWN_TOKEN"
    code, out, err = run(tmp_path, "tokens", "list", "--received", "--json")
    assert code == 0, err
    assert [(t["uid"], t["received_from"]) for t in json.loads(out)] == [("AL", "emsp"), ("NV", "emsp")]
    code, _, err = run(tmp_path, "tokens", "authorize", "AL", "--evse", "E1")
    assert code == 2 and "--evse needs --location" in err
