"""`evroam outbox list|retry|purge`, `evroam worker --once`, `evroam sync ...` on a real data directory."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import evroam.cli.node as node_cli
from evroam.core.codec import encode
from evroam.node.settings import Settings
from evroam.node.wiring import build_node
from evroam.ocpi.v2_2_1 import convert as c221
from evroam.store import Store, create_store
from evroam.testing import FakeReceiver, FakeSender, FixedClock
from tests.unit.push_support import cpo_partner, emsp_partner, location, put_location, register

CLOCK = FixedClock("2026-03-01T12:00:00Z")


def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    from evroam.cli import cli

    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), "--log-level", "WARNING", *args])
    return result.exit_code, result.stdout, result.stderr


def with_store(data_dir: Path, work: Callable[[Store], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        store = create_store(None, data_dir)
        await store.migrate()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(main())


def use_transport(monkeypatch: pytest.MonkeyPatch, transport: Any) -> None:
    def patched(settings: Settings, **kwargs: Any) -> Any:
        return build_node(settings, transport=transport, **kwargs)

    monkeypatch.setattr(node_cli, "build_node", patched)


@pytest.fixture
def cpo_dir(tmp_path: Path) -> Path:
    code, out, _ = run(
        tmp_path,
        "init",
        "--country-code",
        "NL",
        "--party-id",
        "ABC",
        "--role",
        "CPO",
        "--url",
        "http://127.0.0.1:1",
    )
    assert code == 0, out

    async def setup(store: Store) -> None:
        await register(store, CLOCK, emsp_partner(CLOCK))
        now = CLOCK.now()
        await put_location(store, location("LOC1", now), now)
        await put_location(store, location("LOC2", now), now)

    with_store(tmp_path, setup)
    return tmp_path


def test_outbox_list_shows_pending_jobs_with_partner_object_and_due_time(cpo_dir: Path) -> None:
    code, out, _ = run(cpo_dir, "outbox", "list", "--json")

    assert code == 0, out
    rows = json.loads(out)
    assert [
        (r["partner"], r["module"], r["object"], r["method"], r["status"], r["attempts"]) for r in rows
    ] == [
        ("emsp", "locations", "NL*ABC*LOC1", "PUT", "pending", 0),
        ("emsp", "locations", "NL*ABC*LOC2", "PUT", "pending", 0),
    ]
    assert rows[0]["due_at"] == "2026-03-01T12:00:00Z" and rows[0]["last_error"] is None

    code, text, _ = run(cpo_dir, "outbox", "list")
    assert code == 0 and "NL*ABC*LOC1" in text and "pending" in text


def test_worker_once_delivers_and_the_list_then_shows_nothing_pending(
    cpo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = FakeReceiver()
    use_transport(monkeypatch, receiver.transport())

    code, out, _ = run(cpo_dir, "worker", "--once", "--json")

    assert code == 0, out
    assert json.loads(out) == {
        "objects": 2,
        "delivered": 2,
        "skipped": 0,
        "failed": 0,
        "parked": 0,
        "requests": 2,
    }
    assert sorted(receiver.requests()) == [
        ("PUT", "/ocpi/2.2.1/locations/NL/ABC/LOC1"),
        ("PUT", "/ocpi/2.2.1/locations/NL/ABC/LOC2"),
    ]
    assert run(cpo_dir, "outbox", "list", "--json")[1].strip() == "[]"
    delivered = json.loads(run(cpo_dir, "outbox", "list", "--status", "delivered", "--json")[1])
    assert [r["status"] for r in delivered] == ["delivered", "delivered"]

    code, out, _ = run(cpo_dir, "outbox", "purge", "--json")
    assert (code, json.loads(out)) == (0, {"deleted": 2})


def test_failures_show_their_error_and_parked_jobs_can_be_retried(
    cpo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = FakeReceiver(answer=lambda seen: (200, 2001))
    use_transport(monkeypatch, receiver.transport())
    # a full-jitter delay in [0, 2 s] may fall due again within the pass; in [0, 1 h] it does not
    monkeypatch.setenv("EVROAM_PUSH_BASE_DELAY", "3600")
    monkeypatch.setenv("EVROAM_PUSH_MAX_DELAY", "7200")
    assert run(cpo_dir, "worker", "--once")[0] == 0

    rows = json.loads(run(cpo_dir, "outbox", "list", "--json")[1])
    assert {r["status"] for r in rows} == {"pending"} and all(r["attempts"] == 1 for r in rows)
    assert all("2001" in r["last_error"] for r in rows)

    async def park_first(store: Store) -> int:
        later = datetime.now(UTC) + timedelta(hours=1)  # the CLI's node runs on the wall clock
        [item] = await store.outbox_claim_objects(later, limit=1, lease=timedelta(seconds=5))
        await store.outbox_mark_parked(item.id, error="gave up: HTTP 200 / OCPI 2001")
        return item.id

    parked_id = with_store(cpo_dir, park_first)
    parked = json.loads(run(cpo_dir, "outbox", "list", "--status", "parked", "--json")[1])
    assert [(r["id"], r["last_error"]) for r in parked] == [(parked_id, "gave up: HTTP 200 / OCPI 2001")]
    code, text, _ = run(cpo_dir, "outbox", "list")
    assert "parked" in text and "gave up" in text

    code, out, _ = run(cpo_dir, "outbox", "retry", str(parked_id), "--json")
    assert (code, json.loads(out)) == (0, {"retried": [parked_id], "not_parked": []})
    again = json.loads(run(cpo_dir, "outbox", "list", "--json")[1])
    assert [(r["id"], r["status"], r["attempts"]) for r in again if r["id"] == parked_id] == [
        (parked_id, "pending", 0)
    ]
    code, out, _ = run(cpo_dir, "outbox", "retry", "999999")
    assert code == 1 and "not parked (or unknown): 999999" in out
    assert run(cpo_dir, "outbox", "retry")[0] == 2  # names nothing: usage error


def test_sync_locations_prints_a_summary_and_draws_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        tmp_path,
        "init",
        "--country-code",
        "NL",
        "--party-id",
        "EMS",
        "--role",
        "EMSP",
        "--url",
        "http://127.0.0.1:1",
    )
    assert code == 0, out
    with_store(tmp_path, lambda store: register(store, CLOCK, cpo_partner(CLOCK)))
    sender = FakeSender("https://cpo.test/ocpi/2.2.1/locations")
    sender.objects = [
        json.loads(encode(c221.location_from_model(location(f"L{n}", CLOCK.now(), owner=("BE", "CPO")))))
        for n in range(250)
    ]
    use_transport(monkeypatch, sender.transport())

    code, out, err = run(tmp_path, "sync", "locations", "--partner", "cpo", "--json")
    assert code == 0, out + err
    summary = json.loads(out)
    assert (summary["full"], summary["fetched"], summary["created"], summary["pages"]) == (True, 250, 250, 3)
    assert err == ""  # --json: no progress bar

    code, out, err = run(tmp_path, "sync", "locations", "--partner", "cpo")
    assert code == 0, out + err
    assert "changes since" in out and "0 fetched" in out
    assert err == ""  # stderr is not a terminal: no progress bar (it repeated into logs)

    code, out, err = run(tmp_path, "sync", "locations", "--partner", "cpo", "--full")
    assert code == 0 and "250 unchanged" in out and "0 removed" in out

    code, _, err = run(tmp_path, "sync", "tariffs", "--partner", "nobody")
    assert code == 3 and "Error:" in err


async def test_the_node_app_runs_the_worker_unless_told_not_to(tmp_path: Path) -> None:
    from litestar.testing import AsyncTestClient

    from evroam.node.config import NodeConfig, PartyConfig
    from evroam.testing import MemoryStore

    config = NodeConfig(
        url="http://127.0.0.1:1",
        parties=[PartyConfig(country_code="NL", party_id="ABC", role="CPO", name="ABC")],
    )
    for worker_on in (True, False):
        store = MemoryStore()
        await register(store, CLOCK, emsp_partner(CLOCK))
        receiver = FakeReceiver()
        node = build_node(
            Settings(data_dir=tmp_path), config=config, store=store, transport=receiver.transport()
        )
        node.push_worker().poll_interval = 0.01
        async with AsyncTestClient(app=node.app(worker=worker_on)):
            now = CLOCK.now()
            await put_location(store, location("LOC1", now), now)
            for _ in range(100):
                if receiver.seen:
                    break
                await asyncio.sleep(0.01)
            assert bool(receiver.seen) is worker_on
        assert not node.push_worker().running  # stopped with the app


def test_the_sync_progress_bar_is_drawn_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from evroam.cli.push import _Bar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    for stream, drawn in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        bar = _Bar("locations from cpo", enabled=True)
        bar(50, 100)
        bar.close()
        assert ("locations from cpo [###############---------------] 50/100" in stream.getvalue()) is drawn
