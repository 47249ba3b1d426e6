"""Running a node in production, over real sockets: /metrics counts exactly the traffic, the JSON log has a
line per request with its ids (and no forged lines), /readyz, TLS and mutual TLS, and one clear line from
commands whose database cannot be used (docs/deployment.md)."""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from tests.integration.nodes import REPO_ROOT, NodeProcess, free_port, stop_all, wait_until

pytestmark = pytest.mark.slow

METRICS_TOKEN = "metrics-token-for-the-test-0123456789"
SECRET_IN_QUERY = "Sup3rSecretQueryToken"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeProcess]:
    made = NodeProcess(
        "ops",
        tmp_path / "ops" / "data",
        free_port(),
        env={"EVROAM_METRICS_TOKEN": METRICS_TOKEN, "EVROAM_LOG_FORMAT": "json"},
    )
    made.init("NL", "CPO", "CPO")
    yield made
    stop_all([made])


def samples(text: str) -> dict[str, float]:
    """``name{labels}`` -> value of a Prometheus text exposition (labels as written, sorted by the client)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def scrape(base: str) -> dict[str, float]:
    answer = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


def delta(before: dict[str, float], after: dict[str, float], key: str) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


def json_lines(path: Path) -> list[dict[str, object]]:
    lines = path.read_text().splitlines()
    assert lines, "the node logged nothing"
    return [json.loads(line) for line in lines]  # every line is one whole JSON record: none forged


def test_metrics_logs_and_readiness_of_a_serving_node(node: NodeProcess) -> None:
    node.start()
    node.wait_ready()
    base = node.url

    # /metrics is closed to anyone without the metrics token (or the admin password)
    assert httpx.get(f"{base}/metrics", timeout=10).status_code == 401
    assert (
        httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    )

    before = scrape(base)
    for _ in range(5):
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
    for _ in range(3):  # a module route of the CPO's locations SENDER, without a valid token
        answer = httpx.get(f"{base}/ocpi/2.2.1/sender/locations", headers={"Authorization": "Token nope"})
        assert answer.status_code == 401
    for _ in range(2):
        assert httpx.get(f"{base}/nowhere", timeout=10).status_code == 404
    after = scrape(base)

    locations = 'module="locations",role="SENDER",status="401",version="2.2.1"'
    assert delta(before, after, f'evroam_http_requests_total{{method="GET",{locations}}}') == 3
    assert (
        delta(
            before,
            after,
            'evroam_http_requests_total{method="GET",module="healthz",role="",status="200",version=""}',
        )
        == 5
    )
    assert (
        delta(
            before,
            after,
            'evroam_http_requests_total{method="GET",module="other",role="",status="404",version=""}',
        )
        == 2
    )
    # the first scrape counts itself once it is answered: the second sees exactly one more scrape
    assert (
        delta(
            before,
            after,
            'evroam_http_requests_total{method="GET",module="metrics",role="",status="200",version=""}',
        )
        == 1
    )
    histogram = 'evroam_http_request_duration_seconds_count{module="locations",role="SENDER",version="2.2.1"}'
    assert delta(before, after, histogram) == 3
    # read from the database at scrape time: a node without partners has an empty outbox and a running worker
    assert after["evroam_push_worker_running"] == 1.0
    assert not any(key.startswith("evroam_outbox_jobs{") for key in after)

    # one JSON line per request, carrying its request id; a %0A in the path starts no line of its own
    assert httpx.get(
        f"{base}/healthz", headers={"X-Request-ID": "req-42", "X-Correlation-ID": "cor-7"}
    ).is_success
    answer = httpx.get(
        f"{base}/ocpi/versions", headers={"X-Request-ID": "req-43", "Authorization": "Token nope"}
    )
    assert answer.status_code == 401 and answer.headers["X-Request-ID"] == "req-43"
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as raw:
        raw.sendall(f"GET /x%0A%0D{{forged}}%1B?token={SECRET_IN_QUERY} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
        assert raw.recv(64).startswith(b"HTTP/1.1 404")
    for bad in (
        b"X-Request-ID: a\rFORGED: b",
        b"X-Request-ID: a\nFORGED b",
        b"X-Correlation-ID: a\r\n FORGED",
    ):
        with socket.create_connection(("127.0.0.1", node.port), timeout=10) as raw:
            raw.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n" + bad + b"\r\n\r\n")
            assert raw.recv(64).startswith(b"HTTP/1.1 400")  # refused by the HTTP parser: never logged

    def access_lines() -> list[dict[str, object]] | None:
        found = [r for r in json_lines(node.serve_log) if r["logger"] == "evroam.access"]
        return found if any(str(r["path"]).startswith("/x") for r in found) else None

    lines = wait_until(access_lines, timeout=10, what="the access log lines")
    tagged = [r for r in lines if r["request_id"] == "req-42"]
    assert len(tagged) == 1
    assert tagged[0] | {"duration_ms": 0} == tagged[0] | {
        "method": "GET",
        "path": "/healthz",
        "status": 200,
        "module": "healthz",
        "correlation_id": "cor-7",
        "duration_ms": 0,
    }
    assert isinstance(tagged[0]["duration_ms"], float)
    versions = [r for r in lines if r["request_id"] == "req-43"]
    assert versions[0]["status"] == 401 and versions[0]["module"] == "versions"
    forged = [r for r in lines if str(r["path"]).startswith("/x")]
    assert forged[0]["path"] == "/x\n\r{forged}\x1b?token=[REDACTED]"  # the exact path, JSON-escaped
    text = node.serve_log.read_text()
    assert SECRET_IN_QUERY not in text and METRICS_TOKEN not in text
    assert not any(line.lstrip().startswith(("{forged}", "FORGED")) for line in text.splitlines())

    # a backup while it serves: a consistent, owner-only copy holding what the node holds
    assert node.json("partners", "invite", "backup-partner")["name"] == "backup-partner"
    dest = node.data_dir.parent / "backups"
    dest.mkdir()
    copy = Path(node.json("backup", str(dest))["backup"])
    assert copy.parent == dest and copy.stat().st_mode & 0o777 == 0o600
    db = sqlite3.connect(copy)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = db.execute("SELECT count(*) FROM evroam_objects").fetchone()[0]
    finally:
        db.close()
    assert rows >= 1 and rows == node.query("SELECT count(*) FROM evroam_objects")[0][0]
    again = node.evroam("backup", str(copy), check=False)
    assert again.returncode == 1 and "already exists" in again.stderr

    # ready while the database is there; 503 naming the failed check once its file is gone
    ready = httpx.get(f"{base}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "push_worker": "ok"},
        "failed": [],
    }
    for suffix in ("", "-wal", "-shm"):
        Path(f"{node.db_path}{suffix}").unlink(missing_ok=True)
    gone = httpx.get(f"{base}/readyz", timeout=10)
    assert gone.status_code == 503
    assert gone.json()["failed"] == ["database", "migrations"]
    assert gone.json()["checks"]["database"] == "unavailable (the SQLite database file is gone)"
    assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200  # alive all the same


# -- TLS --------------------------------------------------------------------------------------------


def _wait_tls(url: str, process: subprocess.Popen[bytes] | None, **client: object) -> None:
    def up() -> bool:
        assert process is not None and process.poll() is None, "the node exited"
        try:
            return httpx.get(url, timeout=2, **client).status_code == 200  # type: ignore[arg-type]
        except httpx.TransportError:
            return False

    wait_until(up, timeout=30, what=f"{url} over TLS")


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


def _tls_files(ca: trustme.CA, where: Path) -> tuple[Path, Path, Path]:
    where.mkdir(parents=True, exist_ok=True)
    server = ca.issue_cert("127.0.0.1", "localhost")
    cert, key, ca_file = where / "cert.pem", where / "key.pem", where / "ca.pem"
    server.private_key_and_cert_chain_pem.write_to_path(str(cert))
    server.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return cert, key, ca_file


def test_serve_over_tls_and_mutual_tls(tmp_path: Path, ca: trustme.CA) -> None:
    cert, key, ca_file = _tls_files(ca, tmp_path / "tls")
    trusted = ssl.create_default_context(cafile=str(ca_file))
    plain = NodeProcess("tls", tmp_path / "tls-node" / "data", free_port())
    mutual = NodeProcess("mtls", tmp_path / "mtls-node" / "data", free_port())
    try:
        plain.init("NL", "TLS", "CPO")
        mutual.init("NL", "MTL", "CPO")
        metrics_port = free_port()
        plain.start("--tls-cert", str(cert), "--tls-key", str(key), "--metrics-port", str(metrics_port))
        mutual.start("--tls-cert", str(cert), "--tls-key", str(key), "--tls-client-ca", str(ca_file))

        https = f"https://127.0.0.1:{plain.port}"
        _wait_tls(f"{https}/healthz", plain.process, verify=trusted)
        answer = httpx.get(f"{https}/ocpi/versions", verify=trusted, timeout=10)
        assert answer.status_code == 401 and "status_code" in answer.json()  # an OCPI envelope over TLS
        with pytest.raises(httpx.RemoteProtocolError):  # plain HTTP gets no answer on the TLS port
            httpx.get(f"http://127.0.0.1:{plain.port}/healthz", timeout=10)

        # /metrics on a port of its own: plain HTTP, no login (an address only Prometheus reaches)
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        assert scraped.status_code == 200
        versions_401 = (
            'evroam_http_requests_total{method="GET",module="versions",role="",status="401",version=""}'
        )
        assert samples(scraped.text)[versions_401] == 1
        assert httpx.get(f"http://127.0.0.1:{metrics_port}/other", timeout=10).status_code == 404
        assert (
            httpx.get(f"{https}/metrics", verify=trusted, timeout=10).status_code == 401
        )  # still closed there

        client_cert = ca.issue_cert("partner.example")
        with_cert = ssl.create_default_context(cafile=str(ca_file))
        client_cert.configure_cert(with_cert)
        mtls = f"https://127.0.0.1:{mutual.port}"
        _wait_tls(f"{mtls}/healthz", mutual.process, verify=with_cert)
        assert httpx.get(f"{mtls}/healthz", verify=with_cert, timeout=10).status_code == 200
        with pytest.raises(httpx.TransportError):  # no client certificate: refused
            httpx.get(f"{mtls}/healthz", verify=trusted, timeout=10)
        other_ca = trustme.CA().issue_cert("intruder.example")
        foreign = ssl.create_default_context(cafile=str(ca_file))
        other_ca.configure_cert(foreign)
        with pytest.raises(httpx.TransportError):  # a certificate of another CA: refused too
            httpx.get(f"{mtls}/healthz", verify=foreign, timeout=10)
    finally:
        stop_all([plain, mutual])


# -- a database that cannot be used: one line, a non-zero exit, nothing left behind ---------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nothing listens there


def _evroam(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evroam", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )


INIT = (
    "init",
    "--country-code",
    "NL",
    "--party-id",
    "ABC",
    "--role",
    "CPO",
    "--url",
    "https://ocpi.example.com",
)


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_init_against_an_unreachable_database_says_so_once_and_leaves_nothing(
    tmp_path: Path, scheme: str
) -> None:
    url = f"{scheme}://root@127.0.0.1:{_closed_port()}/test"
    data_dir = tmp_path / "new" / "data"
    done = _evroam("--data-dir", str(data_dir), "--database-url", url, *INIT)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    shown = url.replace("+asyncpg", "") if scheme == "postgresql+asyncpg" else url
    assert shown in lines[0] or url in lines[0]
    assert re.fullmatch(r"Error: cannot use the database at \S+ \(unreachable\): .*connect.*", lines[0], re.I)
    assert done.stdout == ""
    assert not (tmp_path / "new").exists()


def test_a_failed_init_in_an_existing_folder_puts_it_back_as_it_was(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    (data_dir / "node.json").write_text('{"kept": true}')
    url = f"postgresql://root@127.0.0.1:{_closed_port()}/test"
    done = _evroam("--data-dir", str(data_dir), "--database-url", url, *INIT, "--force")
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1, done.stderr
    assert sorted(p.name for p in data_dir.iterdir()) == ["node.json"]
    assert (data_dir / "node.json").read_text() == '{"kept": true}'


def test_serve_and_other_commands_against_an_unusable_database_print_one_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert _evroam("--data-dir", str(data_dir), *INIT).returncode == 0
    unreachable = f"postgres://root@127.0.0.1:{_closed_port()}/test"
    for args in (("serve", "--port", str(free_port())), ("partners", "list")):
        done = _evroam("--data-dir", str(data_dir), "--database-url", unreachable, *args)
        assert done.returncode == 1, (args, done.stderr)
        assert len(done.stderr.splitlines()) == 1, (args, done.stderr)
        assert done.stderr.startswith("Error: cannot use the database at postgres://root@127.0.0.1:"), (
            done.stderr
        )
    unsupported = _evroam("--data-dir", str(data_dir), "--database-url", "mysql://u@h/db", "partners", "list")
    assert unsupported.returncode == 1
    assert unsupported.stderr.splitlines() == [
        "Error: unsupported database URL 'mysql://u@h/db': use sqlite:///path, sqlite+aiosqlite:///path or "
        "postgresql://user@host/database"
    ]
