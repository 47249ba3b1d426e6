"""``evroam sessions ...`` and ``evroam cdrs ...`` on a real data directory: a CPO starts, updates and
stops a session, makes its CDR and a credit CDR; ``list`` / ``show`` show ours and received ones."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evroam.core.codec import decode, encode
from evroam.modules.cdrs.repository import CdrDocument, save_cdr
from evroam.modules.sessions.repository import save_session
from evroam.ocpi import v2_2_1
from evroam.ocpi.v2_2_1 import convert as c221
from evroam.store import Store, create_store
from tests.unit.test_sessions_support import T0, cdr_json, our_location, session_json

SESSION = {
    "country_code": "NL",
    "party_id": "CPO",
    "id": "S1",
    "start_date_time": T0,
    "kwh": 0,
    "cdr_token": {"country_code": "DE", "party_id": "EMS", "uid": "T1", "type": "RFID", "contract_id": "C1"},
    "auth_method": "AUTH_REQUEST",
    "authorization_reference": "AUTH-1",
    "location_id": "LOC1",
    "evse_uid": "E1",
    "connector_id": "1",
    "currency": "EUR",
    "status": "ACTIVE",
    "last_updated": T0,
}


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    from evroam.cli import cli

    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "--log-level", "WARNING", *args])
    return result.exit_code, result.stdout + result.stderr


def ok_json(data_dir: Path, *args: str) -> Any:
    code, out = run(data_dir, *args, "--json")
    assert code == 0, out
    return json.loads(out)


def with_store(data_dir: Path, work: Callable[[Store], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        store = create_store(None, data_dir)
        await store.migrate()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(main())


@pytest.fixture
def node_dir(tmp_path: Path) -> Path:
    init = ["init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--party", "NL:MSP:EMSP"]
    code, out = run(tmp_path, *init, "--url", "http://127.0.0.1:1")
    assert code == 0, out
    locations = tmp_path / "locations.json"
    locations.write_text(encode([c221.location_from_model(our_location())]).decode())
    assert run(tmp_path, "locations", "import", str(locations))[0] == 0
    return tmp_path


def test_a_session_from_start_to_its_cdr_and_credit(node_dir: Path) -> None:
    source = node_dir / "session.json"
    source.write_text(json.dumps(SESSION))
    started = ok_json(node_dir, "sessions", "start", str(source))
    assert (started["id"], started["status"], started["token_owner"], started["outbox_rows"]) == (
        "S1",
        "ACTIVE",
        "DE*EMS",
        0,  # no partner holds DE*EMS yet
    )
    period = {"start_date_time": "2026-03-01T12:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 2.5}]}
    updated = ok_json(node_dir, "sessions", "update", "S1", "--kwh", "2.5", "--period", json.dumps(period))
    assert (updated["kwh"], updated["charging_periods"]) == ("2.5", 1)
    stopped = ok_json(
        node_dir,
        "sessions",
        "stop",
        "S1",
        "--end",
        "2026-03-01T13:00:00Z",
        "--kwh",
        "7",
        "--total-cost",
        "2.10",
    )
    assert (stopped["status"], stopped["end_date_time"], stopped["total_cost"]) == (
        "COMPLETED",
        "2026-03-01T13:00:00Z",
        "2.10",
    )

    created = ok_json(node_dir, "cdrs", "create", "--from-session", "S1")
    assert (created["id"], created["total_cost"], created["credit"]) == ("S1", "2.10", False)
    credit = ok_json(node_dir, "cdrs", "credit", "S1")
    assert (credit["id"], credit["total_cost"], credit["credit"]) == ("S1-C", "-2.10", True)

    shown = ok_json(node_dir, "cdrs", "show", "S1")
    assert shown["cdr"]["total_time"] == 1 and shown["cdr"]["cdr_location"]["evse_uid"] == "E1"
    assert shown["cdr"]["authorization_reference"] == "AUTH-1" and shown["summary"]["source"] == "own"
    session = ok_json(node_dir, "sessions", "show", "S1")
    assert session["session"]["status"] == "COMPLETED" and len(session["session"]["charging_periods"]) == 1


def test_the_lists_show_our_objects_and_those_partners_sent(node_dir: Path) -> None:
    async def received(store: Store) -> None:
        session = c221.session_to_model(decode(encode(session_json("R1")), v2_2_1.Session))
        await save_session(store, session, partner_id="p-cpo")
        cdr = c221.cdr_to_model(decode(encode(cdr_json("RC1")), v2_2_1.CDR))
        await save_cdr(store, CdrDocument(cdr=cdr, location_url="http://127.0.0.1:1/x"), partner_id="p-cpo")

    with_store(node_dir, received)
    source = node_dir / "session.json"
    source.write_text(json.dumps(SESSION))
    assert run(node_dir, "sessions", "start", str(source))[0] == 0

    sessions = ok_json(node_dir, "sessions", "list")
    assert [(s["id"], s["source"]) for s in sessions] == [("R1", "from p-cpo"), ("S1", "own")]
    cdrs = ok_json(node_dir, "cdrs", "list")
    assert [(c["id"], c["source"], c["location_url"]) for c in cdrs] == [
        ("RC1", "from p-cpo", "http://127.0.0.1:1/x")
    ]
    code, text = run(node_dir, "sessions", "list")
    assert code == 0 and "BE*BEC\tR1" in text and "NL*CPO\tS1" in text


def test_refusals_are_one_error_line(node_dir: Path) -> None:
    code, out = run(node_dir, "sessions", "update", "NOPE", "--kwh", "1")
    assert code == 3 and "no session 'NOPE'" in out
    source = node_dir / "session.json"
    source.write_text(
        json.dumps({**SESSION, "cdr_token": {"uid": "T1", "type": "RFID", "contract_id": "C1"}})
    )
    code, out = run(node_dir, "sessions", "start", str(source))
    assert code == 1 and "country_code" in out  # 2.2.1 requires the token owner
    code, out = run(node_dir, "cdrs", "create")
    assert code == 2 and "either FILE or --from-session" in out
