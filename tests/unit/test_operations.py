"""The operations pieces on their own: log formats (escaping, redaction), metrics in multiprocess mode,
push and outbox metrics, who may read /metrics, readiness against an unreachable database, and the
``migrate`` and ``backup`` commands."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from evroam.cli import cli
from evroam.http.client import create_http_client
from evroam.http.dashboard.auth import set_admin_password
from evroam.metrics import (
    PUSH_FAILURES,
    PUSH_JOBS,
    PUSH_REQUESTS,
    REGISTRY,
    OutboxDepth,
    Snapshot,
    exposition,
)
from evroam.node.logs import JsonFormatter, TextFormatter, escape
from evroam.node.observability import MetricsAccess, Readiness
from evroam.push.retry import Jitter, RetryPolicies, RetryPolicy
from evroam.push.worker import PushWorker
from evroam.registration.redaction import RedactingFilter, forget_all_secrets, remember_secret
from evroam.store import SqlStore
from evroam.testing import FakeReceiver, FixedClock, MemoryStore, SequentialIds
from tests.integration.nodes import REPO_ROOT
from tests.unit.kits import PUSHERS
from tests.unit.push_support import emsp_partner, location, put_location, register

# -- logs -----------------------------------------------------------------------------------------------


def _record(message: str, *args: object, access: dict[str, object] | None = None) -> logging.LogRecord:
    record = logging.LogRecord("evroam.access", logging.INFO, __file__, 1, message, args, None)
    if access is not None:
        record.access = access
    return record


def _formatted(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    RedactingFilter().filter(record)  # as the node's handler runs it
    return formatter.format(record)


def test_escape_writes_every_control_character_as_an_escape() -> None:
    assert escape("a\nb\rc\td\x1b[31me\x00f\x7fg\x85h\u2028i\u2029j") == (
        "a\\nb\\rc\\td\\x1b[31me\\x00f\\x7fg\\x85h\\u2028i\\u2029j"
    )
    assert escape("plain text, ü and € stay") == "plain text, ü and € stay"


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_no_field_can_start_a_line_of_its_own(formatter: logging.Formatter) -> None:
    path = "/ocpi/x\r\n2026-01-01 00:00:00,000 INFO evroam.access: GET /forged 200"
    record = _record(
        "%s %s request_id=%s",
        "GET",
        path,
        "id\nFORGED",
        access={"path": path, "request_id": "id\nFORGED", "correlation_id": "c\u2028d", "status": 200},
    )
    out = _formatted(formatter, record)
    assert "\n" not in out and "\r" not in out and "\u2028" not in out
    if isinstance(formatter, JsonFormatter):  # JSON escapes them itself; the values keep their exact text
        assert "\\r\\n2026-01-01" in out and "\\u2028" in out and out.isascii()
        data = json.loads(out)
        assert (data["path"], data["request_id"], data["correlation_id"], data["status"]) == (
            path,
            "id\nFORGED",
            "c\u2028d",
            200,
        )
    else:
        assert out.endswith(
            "INFO evroam.access: GET /ocpi/x\\r\\n2026-01-01 00:00:00,000 INFO evroam.access: "
            "GET /forged 200 request_id=id\\nFORGED"
        )


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_token_values_are_masked_in_the_request_line(formatter: logging.Formatter) -> None:
    forget_all_secrets()
    remember_secret("known-partner-token-123")
    try:
        for path in ("/ocpi/2.2.1/x?token=abcdefgh123&offset=0", "/ocpi/2.2.1/x/known-partner-token-123"):
            record = _record("GET %s", path, access={"path": path, "partner": "p"})
            out = _formatted(formatter, record)
            assert "abcdefgh123" not in out and "known-partner-token-123" not in out
            assert out.count("[REDACTED]") == (2 if isinstance(formatter, JsonFormatter) else 1)
    finally:
        forget_all_secrets()


def test_a_traceback_keeps_its_lines_indented_in_text_and_one_line_in_json() -> None:
    try:
        raise ValueError("bad\nINFO forged line")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = TextFormatter().format(record)
    first, *rest = text.splitlines()
    assert first.endswith("ERROR x: failed") and rest
    assert all(line.startswith("    ") for line in rest)
    assert rest[-2:] == ["    ValueError: bad", "    INFO forged line"]  # indented: not a record of its own
    record.exc_text = None
    line = JsonFormatter().format(record)
    assert "\n" not in line and "ValueError: bad\nINFO forged line" in json.loads(line)["exception"]


# -- metrics -----------------------------------------------------------------------------------------


def _value(text: str, key: str) -> float:
    for line in text.splitlines():
        if line.startswith(key + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_in_multiprocess_mode_a_scrape_adds_up_every_worker_process(tmp_path: Path) -> None:
    folder = tmp_path / "prom"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(REPO_ROOT)}
    worker = (
        "import sys; from evroam.metrics import observe_request; "
        "[observe_request('locations', 'SENDER', '2.2.1', 'GET', 200, 0.003) "
        "for _ in range(int(sys.argv[1]))]"
    )
    for count in ("3", "4"):  # two worker processes, both gone by the time of the scrape
        subprocess.run([sys.executable, "-c", worker, count], env=env, check=True, timeout=60)
    scrape = "import sys; from evroam.metrics import exposition; sys.stdout.write(exposition().decode())"
    text = subprocess.run(
        [sys.executable, "-c", scrape], env=env, check=True, timeout=60, capture_output=True, text=True
    ).stdout
    labels = 'method="GET",module="locations",role="SENDER",status="200",version="2.2.1"'
    assert _value(text, f"evroam_http_requests_total{{{labels}}}") == 7
    hist = (
        'evroam_http_request_duration_seconds_bucket{le="0.005",'
        + labels.split(",", 1)[1].replace(',status="200"', "")
        + "}"
    )
    assert _value(text, hist) == 7


def test_the_snapshot_gauges() -> None:
    text = exposition(
        Snapshot(
            now=1000.0,
            outbox=[
                OutboxDepth("emsp", "pending", 2, 940.0, 700.0),
                OutboxDepth("emsp", "in_flight", 1, 1030.0, 600.0),
                OutboxDepth("emsp", "parked", 1, 10.0, 5.0),
                OutboxDepth("late", "pending", 2, 1500.0, 990.0),
            ],
            partners=[("emsp", "REGISTERED")],
            partner_statuses=["INVITED", "REGISTERED"],
        )
    ).decode()
    assert _value(text, 'evroam_outbox_jobs{partner="emsp",status="pending"}') == 2
    # enqueued 400 s ago (in flight), the parked one older still is given up, not to be delivered
    assert _value(text, 'evroam_outbox_oldest_age_seconds{partner="emsp"}') == 400
    assert _value(text, 'evroam_outbox_oldest_age_seconds{partner="late"}') == 10
    assert _value(text, 'evroam_outbox_jobs{partner="emsp",status="parked"}') == 1
    assert (
        _value(text, 'evroam_outbox_oldest_due_age_seconds{partner="emsp"}') == 60
    )  # parked jobs are not due
    assert _value(text, 'evroam_outbox_oldest_due_age_seconds{partner="late"}') == 0  # due in the future
    assert _value(text, 'evroam_partner_status{partner="emsp",status="REGISTERED"}') == 1
    assert 'evroam_partner_status{partner="emsp",status="INVITED"} 0.0' in text


def _sample(metric: object, *labels: str) -> float:
    name = metric._name  # type: ignore[attr-defined]
    found = REGISTRY.get_sample_value(
        f"{name}_total",
        dict(zip(metric._labelnames, labels, strict=True)),  # type: ignore[attr-defined]
    )
    return found or 0.0


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_push_attempts_failures_and_the_outbox_depth_are_counted(backend: str, tmp_path: Path) -> None:
    clock = FixedClock("2026-03-01T12:00:00Z")
    store = MemoryStore() if backend == "memory" else SqlStore.from_url(f"sqlite:///{tmp_path / 'm.db'}")
    await store.migrate()
    await register(store, clock, emsp_partner(clock))
    receiver = FakeReceiver()
    receiver.answer = lambda seen: (503, 3000)
    http = create_http_client(transport=receiver.transport())
    worker = PushWorker(
        store,
        http,
        pushers=PUSHERS,
        clock=clock,
        ids=SequentialIds("m"),
        rng=type("Half", (), {"random": lambda self: 0.5})(),
        policies=RetryPolicies(default=RetryPolicy(base=timedelta(seconds=2), jitter=Jitter.NONE)),
    )
    try:
        for name in ("LOC1", "LOC2"):
            await put_location(store, location(name, clock.now()), clock.now())
        depths = await store.outbox_depths()
        assert [(p, s.value, n, made) for p, s, n, _, made in depths] == [
            ("p-emsp", "pending", 2, clock.now())
        ]
        before = (
            _sample(PUSH_REQUESTS, "emsp", "locations"),
            _sample(PUSH_FAILURES, "emsp", "locations"),
            _sample(PUSH_JOBS, "failed"),
            _sample(PUSH_JOBS, "delivered"),
        )
        await worker.run_once()  # both fail
        clock.set(clock.now() + timedelta(seconds=3))
        receiver.answer = lambda seen: None
        await worker.run_once()  # both delivered
        after = (
            _sample(PUSH_REQUESTS, "emsp", "locations"),
            _sample(PUSH_FAILURES, "emsp", "locations"),
            _sample(PUSH_JOBS, "failed"),
            _sample(PUSH_JOBS, "delivered"),
        )
        assert [a - b for a, b in zip(after, before, strict=True)] == [4, 2, 2, 2]
        assert await store.outbox_depths() == []
    finally:
        await http.aclose()
        await store.close()


async def test_who_may_read_the_metrics() -> None:
    store = MemoryStore()
    await store.migrate()

    def basic(password: str) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(f"admin:{password}".encode()).decode()}

    access = MetricsAccess(store, token="the-metrics-token")
    assert await access({"authorization": "Bearer the-metrics-token"})
    assert not await access({"authorization": "Bearer the-metrics-toke"})
    assert not await access({})
    assert not await access(basic("whatever-password"))  # no admin password set: Basic opens nothing
    await set_admin_password(store, "correct horse battery")
    assert await access(basic("correct horse battery"))
    assert await access(basic("correct horse battery"))  # remembered: no second scrypt
    assert not await access(basic("wrong password"))
    await set_admin_password(store, "another password")  # a new password: the old one no longer works
    assert not await access(basic("correct horse battery"))
    assert await access(basic("another password"))
    assert not await MetricsAccess(store, token="")(
        {"authorization": "Bearer "}
    )  # no token: Bearer is closed


# -- readiness ---------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_readiness_reports_an_unreachable_postgresql() -> None:
    store = SqlStore.from_url(f"postgresql://root@127.0.0.1:{_closed_port()}/test")
    try:
        checks = await Readiness(store, worker_running=lambda: False)()
    finally:
        await store.close()
    assert checks == {
        "database": "unavailable (unreachable)",
        "migrations": "unknown: the database is unavailable",
        "push_worker": "not running",
    }


async def test_readiness_reports_a_database_at_another_revision(tmp_path: Path) -> None:
    from sqlalchemy import text

    from evroam.store.migrate import head_revision

    store = SqlStore.from_url(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        await store.migrate()
        assert await Readiness(store, worker_running=None)() == {"database": "ok", "migrations": "ok"}
        await store.run_sync(
            lambda conn: conn.execute(text("UPDATE evroam_alembic_version SET version_num = 'f00'"))
        )
        assert await Readiness(store, worker_running=lambda: True)() == {
            "database": "ok",
            "migrations": f"the database is at revision f00, this node needs {head_revision()} "
            "(evroam migrate)",
            "push_worker": "ok",
        }
    finally:
        await store.close()


# -- migrate and backup ------------------------------------------------------------------------------


def _init(data_dir: Path, *extra: str) -> None:
    done = CliRunner().invoke(
        cli,
        [
            "--data-dir",
            str(data_dir),
            *extra,
            "init",
            "--country-code",
            "NL",
            "--party-id",
            "ABC",
            "--role",
            "CPO",
            "--url",
            "https://ocpi.example.com",
        ],
    )
    assert done.exit_code == 0, done.output


def test_migrate_shows_the_revisions_and_backup_copies_sqlite(tmp_path: Path) -> None:
    from evroam.store.migrate import head_revision

    data_dir = tmp_path / "data"
    runner = CliRunner()
    missing = runner.invoke(cli, ["--data-dir", str(data_dir), "migrate"])
    assert missing.exit_code == 1 and "no database at" in missing.output
    _init(data_dir)
    shown = runner.invoke(cli, ["--data-dir", str(data_dir), "migrate", "--dry-run", "--json"])
    assert shown.exit_code == 0, shown.output
    head = head_revision()
    assert json.loads(shown.output) == {"current": head, "target": head, "after": head, "upgraded": False}
    done = runner.invoke(cli, ["--data-dir", str(data_dir), "migrate"])
    assert done.exit_code == 0 and done.output == f"database at revision {head}: up to date\n"

    target = tmp_path / "copy.db"
    made = runner.invoke(cli, ["--data-dir", str(data_dir), "backup", str(target), "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["bytes"] == target.stat().st_size > 0
    copy = SqlStore.from_url(f"sqlite:///{target}")
    import asyncio

    async def revision() -> str | None:
        from evroam.store.migrate import current_revision

        try:
            return await copy.run_sync(current_revision)
        finally:
            await copy.close()

    assert asyncio.run(revision()) == head


def test_backup_of_postgresql_prints_the_pg_dump_command_and_fails(tmp_path: Path) -> None:
    url = "postgres://evroam:s3cret@db.internal:5433/roaming"
    done = CliRunner().invoke(cli, ["--database-url", url, "backup", str(tmp_path / "x.dump")])
    assert done.exit_code == 1
    assert done.stdout.splitlines()[0] == (
        f"pg_dump --format=custom --no-owner --file '{tmp_path / 'x.dump'}' "
        "'postgresql://evroam@db.internal:5433/roaming'"
    )
    assert "s3cret" not in done.output
    assert "evroam makes no copy of a PostgreSQL database" in done.output


@pytest.mark.postgres
def test_migrate_takes_a_plain_postgresql_url(postgres_url: str) -> None:
    from sqlalchemy.engine import make_url

    from evroam.store.migrate import head_revision

    plain = make_url(postgres_url).set(drivername="postgres").render_as_string(hide_password=False)
    assert plain.startswith("postgres://")
    done = CliRunner().invoke(cli, ["--database-url", plain, "migrate", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["after"] == head_revision()
