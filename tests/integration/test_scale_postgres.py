"""PostgreSQL with several processes: ``serve --workers 2`` over real sockets, outbox claimers side by
side, and the group commit of overlapping transactions (two stores on one database stand for two
processes). Needs ``EVROAM_TEST_POSTGRES_URL`` (CI sets it)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from evroam.store import ObjectKey, SqlStore, sql
from evroam.store.port import PutOutcome
from evroam.store.sql import GroupCommitFailed
from evroam.testing import NodePair, wait_until

from .test_store import postgres_schema

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# -- two stores on one database ---------------------------------------------------------------------


@asynccontextmanager
async def two_stores(url: str) -> AsyncIterator[tuple[SqlStore, SqlStore]]:
    async with postgres_schema(url) as schema:
        first = SqlStore.from_url(url, schema=schema)
        await first.migrate()
        second = SqlStore.from_url(url, schema=schema)
        try:
            yield first, second
        finally:
            await first.close()
            await second.close()


async def test_overlapping_read_modify_writes_from_two_processes_lose_nothing(postgres_url: str) -> None:
    counter = ObjectKey("counter", "NL", "ABC", "one")
    async with two_stores(postgres_url) as (a, b):
        await a.put(counter, b"0", T0, check_stale=False)

        async def bump(store: SqlStore) -> None:
            async with store.transaction() as tx:
                found = await tx.get(counter, for_update=True)
                assert found is not None
                await tx.put(counter, b"%d" % (int(found.payload) + 1), T0, check_stale=False)

        # each store groups its own; the two groups contend for the row (a unit leaves its group)
        await asyncio.gather(*(bump(store) for _ in range(25) for store in (a, b)))
        found = await b.get(counter)
        assert found is not None and found.payload == b"50"


async def test_a_failing_transaction_is_taken_back_and_the_others_of_its_group_are_kept(
    postgres_url: str,
) -> None:
    async with two_stores(postgres_url) as (store, _):

        async def write(name: str, fail: bool) -> None:
            async with store.transaction() as tx:
                await tx.put(ObjectKey("thing", "NL", "ABC", name), b"{}", T0, check_stale=False)
                if fail:
                    raise ValueError("refused after writing")

        outcomes = await asyncio.gather(
            write("first", False), write("second", True), write("third", False), return_exceptions=True
        )
        assert [type(o).__name__ for o in outcomes] == ["NoneType", "ValueError", "NoneType"]
        assert await store.get(ObjectKey("thing", "NL", "ABC", "first")) is not None
        assert await store.get(ObjectKey("thing", "NL", "ABC", "second")) is None
        assert await store.get(ObjectKey("thing", "NL", "ABC", "third")) is not None
        assert not isinstance(outcomes[1], GroupCommitFailed)


async def test_two_outbox_workers_never_deliver_one_item_twice(postgres_url: str) -> None:
    async with two_stores(postgres_url) as (a, b):
        enqueued = [
            await a.outbox_enqueue(f"partner-{n % 2}", "location", f"NL/ABC/L{n % 20}", b"{}", T0)
            for n in range(80)
        ]
        delivered: list[tuple[str, int]] = []

        async def worker(name: str, store: SqlStore) -> None:
            idle = 0
            while idle < 3:
                items = await store.outbox_claim_objects(T0, limit=3, lease=timedelta(minutes=5))
                if not items:
                    idle += 1
                    await asyncio.sleep(0.01)
                    continue
                idle = 0
                for item in items:
                    delivered.append((name, item.id))
                    await asyncio.sleep(0)  # the other worker claims meanwhile
                    assert await store.outbox_mark_delivered(item.id)

        await asyncio.gather(worker("a", a), worker("a2", a), worker("b", b), worker("b2", b))
        ids = [item_id for _, item_id in delivered]
        assert sorted(ids) == sorted(enqueued)  # every item once, none twice


# -- serve --workers 2 --------------------------------------------------------------------------------


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new, empty database on the server of ``url`` (dropped afterwards): what a node's
    ``EVROAM_DATABASE_URL`` names."""
    name = "evroam_workers_" + secrets.token_hex(5)
    server = make_url(url)

    async def run(sql: str) -> None:
        engine = create_async_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.exec_driver_sql(sql)
        finally:
            await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def worker_pids(supervisor: int) -> list[int]:
    """The worker processes of ``serve --workers`` (not multiprocessing's resource tracker)."""
    try:
        children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    except OSError:
        return []
    out = []
    for child in children:
        try:
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes():
                out.append(int(child))
        except OSError:
            continue
    return sorted(out)


@contextmanager
def only(serving: int, stopped: int) -> Iterator[None]:
    """Connections made meanwhile are accepted by ``serving``: the other worker is stopped (SIGSTOP)."""
    del serving
    os.kill(stopped, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(stopped, signal.SIGCONT)


def location(status: str = "AVAILABLE") -> dict[str, Any]:
    return {
        "country_code": "NL",
        "party_id": "CPO",
        "id": "LOC1",
        "publish": True,
        "address": "Main street 1",
        "city": "Utrecht",
        "country": "NLD",
        "coordinates": {"latitude": "52.090737", "longitude": "5.121420"},
        "time_zone": "Europe/Amsterdam",
        "evses": [
            {
                "uid": "EVSE1",
                "status": status,
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 230,
                        "max_amperage": 16,
                        "last_updated": "2026-03-01T12:00:00Z",
                    }
                ],
                "last_updated": "2026-03-01T12:00:00Z",
            }
        ],
        "last_updated": "2026-03-01T12:00:00Z",
    }


def test_two_workers_on_postgresql_share_what_they_store_and_stop_together(
    tmp_path: Path, postgres_url: str
) -> None:
    with fresh_database(postgres_url) as url:
        pair = NodePair(tmp_path, emsp_env={"EVROAM_DATABASE_URL": url, "EVROAM_WORKERS": "2"})
        # the handshake itself crosses processes: the CPO calls the eMSP's workers back with a token
        # that the eMSP's `partners register` command (a third process) issued
        with pair.up():
            emsp = pair.emsp
            assert emsp.process is not None
            supervisor = emsp.process.pid
            first, second = wait_until(
                lambda: p if len(p := worker_pids(supervisor)) == 2 else None, timeout=30, what="two workers"
            )
            record = json.loads(
                pair.cpo.query("SELECT payload FROM evroam_objects WHERE kind = 'partner'")[0][0]
            )
            token = pair.cpo.partner_token("emsp")
            if record.get("token_encoding", "base64") == "base64":
                token = base64.b64encode(token.encode()).decode()
            headers = {
                "Authorization": f"Token {token}",
                "OCPI-from-country-code": "NL",
                "OCPI-from-party-id": "CPO",
                "OCPI-to-country-code": "DE",
                "OCPI-to-party-id": "MSP",
            }
            url_of = f"{emsp.url}/ocpi/2.2.1/receiver/locations/NL/CPO/LOC1"

            def call(method: str, target: str, body: Any = None) -> dict[str, Any]:
                # a new connection each time, accepted by whichever worker is not stopped
                answer = httpx.request(method, target, json=body, headers=headers, timeout=10)
                assert answer.status_code in (200, 201), answer.text
                data: dict[str, Any] = answer.json()
                assert data["status_code"] == 1000, data
                return data

            with only(first, stopped=second):
                call("PUT", url_of, location())
            with only(second, stopped=first):
                assert call("GET", url_of)["data"]["evses"][0]["status"] == "AVAILABLE"
                call(
                    "PATCH", url_of + "/EVSE1", {"status": "CHARGING", "last_updated": "2026-03-01T12:05:00Z"}
                )
            with only(first, stopped=second):
                assert call("GET", url_of)["data"]["evses"][0]["status"] == "CHARGING"

            # a worker that dies is replaced; the node goes on serving
            os.kill(first, signal.SIGKILL)
            replaced = wait_until(
                lambda: p if len(p := worker_pids(supervisor)) == 2 and first not in p else None,
                timeout=30,
                what="the worker replaced",
            )
            assert second in replaced
            wait_until(
                lambda: (
                    all(httpx.get(f"{emsp.url}/healthz", timeout=5).status_code == 200 for _ in range(4))
                    or None
                ),
                timeout=30,
                what="serving again",
            )
            assert call("GET", url_of)["data"]["evses"][0]["status"] == "CHARGING"

            # SIGTERM: every worker stops, the supervisor exits 0
            emsp.process.send_signal(signal.SIGTERM)
            assert emsp.process.wait(timeout=40) == 0
            for pid in replaced:
                assert (
                    not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
                )
            assert (emsp.data_dir / "prometheus-multiproc").is_dir()


def test_several_workers_on_sqlite_are_refused_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EVROAM_DATABASE_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "evroam", "--data-dir", str(tmp_path), "serve", "--workers", "2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs PostgreSQL" in lines[0], done.stderr


# -- group commit: deferred writes, savepoints taken only when needed --------------------------------


async def test_read_modify_writes_of_one_row_in_one_process_see_each_other(postgres_url: str) -> None:
    counter = ObjectKey("counter", "NL", "ABC", "one")
    async with two_stores(postgres_url) as (store, other):
        await store.put(counter, b"0", T0, check_stale=False)

        async def bump() -> None:
            async with store.transaction() as tx:
                found = await tx.get(counter, for_update=True)
                assert found is not None
                outcome = await tx.put(counter, b"%d" % (int(found.payload) + 1), T0, check_stale=False)
                assert outcome is PutOutcome.UPDATED

        # one group after the other takes these: each unit must read what the one before it wrote
        await asyncio.gather(*(bump() for _ in range(40)))
        found = await other.get(counter)
        assert found is not None and found.payload == b"40" and found.revision == 41


async def test_a_unit_failing_after_its_writes_takes_back_only_its_own(postgres_url: str) -> None:
    keys = [ObjectKey("thing", "NL", "ABC", f"t{n}") for n in range(6)]
    async with two_stores(postgres_url) as (store, other):
        for key in keys:
            await store.put(key, b"old", T0, check_stale=False)

        async def change(n: int) -> None:
            async with store.transaction() as tx:
                found = await tx.get(keys[n], for_update=True)
                assert found is not None
                await tx.put(keys[n], b"new", T0 + timedelta(seconds=1))
                if n % 3 == 1:  # fails with its write not yet sent
                    raise ValueError(f"unit {n} refused")
                if n % 3 == 2:  # sends it (another statement follows), then fails
                    await tx.set_setting(f"seen-{n}", "yes")
                    raise ValueError(f"unit {n} refused")

        outcomes = await asyncio.gather(*(change(n) for n in range(6)), return_exceptions=True)
        assert [type(o).__name__ for o in outcomes] == ["NoneType", "ValueError", "ValueError"] * 2
        stored = [await other.get(key) for key in keys]
        assert [found.payload if found else None for found in stored] == [b"new", b"old", b"old"] * 2
        assert [await other.get_setting(f"seen-{n}") for n in (2, 5)] == [None, None]


async def test_a_stale_put_after_a_read_for_update_is_refused_without_writing(postgres_url: str) -> None:
    key = ObjectKey("thing", "NL", "ABC", "stale")
    async with two_stores(postgres_url) as (store, other):
        await store.put(key, b"newer", T0 + timedelta(minutes=5), check_stale=False)
        async with store.transaction() as tx:
            assert await tx.get(key, for_update=True) is not None
            assert await tx.put(key, b"older", T0) is PutOutcome.STALE
            assert await tx.put(key, b"same", T0 + timedelta(minutes=5)) is PutOutcome.UPDATED
            assert await tx.put(key, b"older again", T0 + timedelta(minutes=1)) is PutOutcome.STALE
        found = await other.get(key)
        assert found is not None and (found.payload, found.revision) == (b"same", 2)


def units_left() -> float:
    """``evroam_pg_units_left_total`` of this process so far."""
    from evroam.metrics import PG_UNITS_LEFT

    return sum(
        sample.value for sample in PG_UNITS_LEFT.collect()[0].samples if sample.name.endswith("_total")
    )


async def test_units_wanting_a_row_another_group_holds_queue_in_that_group_and_none_leaves(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "_PG_PARALLEL", 4)  # several groups of the process take units at once
    keys = [ObjectKey("counter", "NL", "ABC", f"hot{n}") for n in range(3)]
    async with two_stores(postgres_url) as (store, other):
        for key in keys:
            await store.put(key, b"0", T0, check_stale=False)
        left = units_left()

        async def bump(key: ObjectKey, when: datetime) -> None:
            async with store.transaction() as tx:
                found = await tx.get(key, for_update=True)
                assert found is not None
                await tx.put(key, b"%d" % (int(found.payload) + 1), when)

        # 20 rounds over three rows, all at once: the process's groups (four open at a time) take them
        # in turn, so each row is wanted by units of several groups while one of them holds it
        await asyncio.gather(*(bump(key, T0 + timedelta(seconds=n)) for n in range(20) for key in keys))
        stored = [await other.get(key) for key in keys]
        assert [(found.payload, found.revision) for found in stored if found] == [(b"20", 21)] * 3
        # nothing else held the rows: no unit had to wait for one in a transaction of its own
        assert units_left() == left


async def test_a_unit_reads_a_row_as_the_units_before_it_in_its_group_left_it(postgres_url: str) -> None:
    key = ObjectKey("thing", "NL", "ABC", "shared")
    async with two_stores(postgres_url) as (store, other):
        await store.put(key, b"v0", T0, check_stale=False)
        seen: list[tuple[bytes, int]] = []

        async def change(n: int) -> None:
            async with store.transaction() as tx:
                found = await tx.get(key, for_update=True)
                assert found is not None
                seen.append((found.payload, found.revision))
                await tx.put(key, b"v%d" % n, T0 + timedelta(seconds=n))
                if n == 2:  # its write is taken back: the unit after it must not see it
                    raise ValueError("refused")

        outcomes = await asyncio.gather(*(change(n) for n in range(1, 5)), return_exceptions=True)
        assert [type(o).__name__ for o in outcomes] == ["NoneType", "ValueError", "NoneType", "NoneType"]
        assert seen == [(b"v0", 1), (b"v1", 2), (b"v1", 2), (b"v3", 3)]
        found = await other.get(key)
        assert found is not None and (found.payload, found.revision) == (b"v4", 4)
        assert found.last_updated == T0 + timedelta(seconds=4)


async def test_every_write_of_a_unit_counts_in_the_revision_and_a_deleted_row_is_created_again(
    postgres_url: str,
) -> None:
    key, gone = ObjectKey("thing", "NL", "ABC", "twice"), ObjectKey("thing", "NL", "ABC", "gone")
    async with two_stores(postgres_url) as (store, other):
        await store.put(key, b"a", T0, check_stale=False)
        await store.put(gone, b"a", T0, check_stale=False)
        async with store.transaction() as tx:
            assert await tx.get(key, for_update=True) is not None
            assert await tx.put(key, b"b", T0) is PutOutcome.UPDATED
            assert await tx.put(key, b"c", T0) is PutOutcome.UPDATED
            assert await tx.get(gone, for_update=True) is not None
            assert await tx.delete(gone)
            assert await tx.put(gone, b"again", T0) is PutOutcome.CREATED
        found, again = await other.get(key), await other.get(gone)
        assert found is not None and (found.payload, found.revision) == (b"c", 3)
        assert again is not None and (again.payload, again.revision) == (b"again", 1)


async def test_connections_kept_between_uses_that_the_server_dropped_are_not_used_again(
    postgres_url: str,
) -> None:
    key = ObjectKey("thing", "NL", "ABC", "kept")
    async with two_stores(postgres_url) as (store, other):
        await store.put(key, b"0", T0, check_stale=False)
        async with store.transaction() as tx:  # a group's connection, kept afterwards
            found = await tx.get(key, for_update=True)
            assert found is not None
            await tx.put(key, b"1", T0, check_stale=False)
        assert await store.get(key) is not None  # a single read's, kept too
        kept = [pg for _, pg, _ in store._pg_kept]
        assert kept
        # the server drops them (a restart, an idle timeout, an administrator)
        pids = [pg.get_server_pid() for pg in kept]
        await other.run_sync(
            lambda conn: conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"),
                {"pids": pids},
            )
        )
        for _ in range(200):  # until this process has seen the connections go
            if all(pg.is_closed() for pg in kept):
                break
            await asyncio.sleep(0.05)
        assert all(pg.is_closed() for pg in kept)
        found = await store.get(key)
        assert found is not None and found.payload == b"1"
        async with store.transaction() as tx:
            found = await tx.get(key, for_update=True)
            assert found is not None
            await tx.put(key, b"2", T0, check_stale=False)
        found = await other.get(key)
        assert found is not None and found.payload == b"2"


@pytest.mark.parametrize("moves", [0, 2])
async def test_units_read_their_rows_together_and_those_held_elsewhere_wait_outside_the_group(
    postgres_url: str, moves: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "_PG_MOVES", moves)  # moving to later groups first, or not
    keys = [ObjectKey("counter", "NL", "ABC", f"c{n}") for n in range(8)]
    async with two_stores(postgres_url) as (store, other):
        for key in keys:
            await store.put(key, b"0", T0, check_stale=False)
        locked, release = asyncio.Event(), asyncio.Event()

        async def hold_two() -> None:  # another process holds two of the rows meanwhile
            async with other.transaction() as tx:
                for key in keys[:2]:
                    found = await tx.get(key, for_update=True)
                    assert found is not None
                    await tx.put(key, b"%d" % (int(found.payload) + 100), T0, check_stale=False)
                locked.set()
                await release.wait()

        async def bump(key: ObjectKey) -> None:
            async with store.transaction() as tx:
                found = await tx.get(key, for_update=True)
                assert found is not None
                await tx.put(key, b"%d" % (int(found.payload) + 1), T0, check_stale=False)

        holder = asyncio.create_task(hold_two())
        await locked.wait()
        # all eight start at once: their reads go out together, two of the rows are held elsewhere
        bumps = [asyncio.create_task(bump(key)) for key in keys]
        await asyncio.gather(*bumps[2:])
        assert not any(task.done() for task in bumps[:2])  # waiting for the other transaction
        release.set()
        await asyncio.gather(holder, *bumps[:2])
        stored = [await other.get(key) for key in keys]
        assert [found.payload if found else None for found in stored] == [b"101"] * 2 + [b"1"] * 6
