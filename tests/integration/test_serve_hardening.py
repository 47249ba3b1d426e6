"""``evroam serve`` as a partner or an attacker meets it, over real sockets: a slow client is cut off,
one address cannot hoard connections, deep JSON from someone holding only token A is a 400, and the
files holding partners' tokens are readable by the node's user alone."""

from __future__ import annotations

import base64
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .nodes import NodeProcess, free_port, stop_all

pytestmark = pytest.mark.slow

METRICS_TOKEN = "hardening-metrics"
REASONS = ("header_timeout", "body_timeout", "too_many_connections", "invalid_request")


def refused(node: NodeProcess) -> dict[str, float]:
    """``evroam_http_refused_total`` by reason, scraped from the node."""
    text = httpx.get(
        f"{node.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    ).text
    found = dict.fromkeys(REASONS, 0.0)
    for line in text.splitlines():
        if line.startswith("evroam_http_refused_total{"):
            name, _, value = line.rpartition(" ")
            found[name.split('reason="', 1)[1].split('"', 1)[0]] = float(value)
    return found


@pytest.fixture
def node(tmp_path: Path) -> Iterator[NodeProcess]:
    node = NodeProcess(
        "hardened",
        tmp_path / "node",
        free_port(),
        env={
            "EVROAM_HEADER_TIMEOUT": "0.5",
            "EVROAM_BODY_TIMEOUT": "0.5",
            "EVROAM_MAX_CONNECTIONS_PER_CLIENT": "3",
            "EVROAM_MAX_BODY_BYTES": "100000",
            "EVROAM_METRICS_TOKEN": METRICS_TOKEN,
        },
    )
    node.evroam("init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--url", node.url)
    try:
        node.start()
        node.wait_ready()
        yield node
    finally:
        stop_all([node])


def read_until_closed(sock: socket.socket, within: float) -> bytes:
    sock.settimeout(within)
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
    except TimeoutError:
        pytest.fail(f"the node kept the connection open for more than {within} s")
    except ConnectionResetError:
        pass
    return received


def test_slow_clients_hoarders_deep_json_and_file_modes(node: NodeProcess) -> None:
    before = refused(node)
    # headers that never end: 408 and closed
    with socket.create_connection(("127.0.0.1", node.port)) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
        assert read_until_closed(slow, within=10).startswith(b"HTTP/1.1 408 ")

    # a body that never ends: closed without an answer from the app
    with socket.create_connection(("127.0.0.1", node.port)) as slow:
        slow.sendall(b"POST /ocpi/2.2.1/credentials HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        assert b"HTTP/1.1 200" not in read_until_closed(slow, within=10)

    # a fourth connection from one address is refused while three are held
    held = [socket.create_connection(("127.0.0.1", node.port)) for _ in range(3)]
    try:
        with socket.create_connection(("127.0.0.1", node.port)) as extra:
            assert read_until_closed(extra, within=10).startswith(b"HTTP/1.1 503 ")
    finally:
        for sock in held:
            sock.close()

    # bytes that are no HTTP request: uvicorn's parser answers 400
    with socket.create_connection(("127.0.0.1", node.port)) as garbage:
        garbage.sendall(b"NOT AN HTTP REQUEST\x00\r\n\r\n")
        assert read_until_closed(garbage, within=10).startswith(b"HTTP/1.1 400 ")

    # none of these reached the app, each is counted once by its reason (the unfinished body above is
    # not: the app answered that request without waiting for its body, and uvicorn closed it)
    after = refused(node)
    moved = {reason: after[reason] - before[reason] for reason in REASONS}
    assert moved == {"header_timeout": 1, "body_timeout": 0, "too_many_connections": 1, "invalid_request": 1}

    # JSON nested 1,000 levels deep, with a token A nobody used yet: 400 and OCPI 2000, not 500
    token_a = node.evroam("partners", "invite", "stranger", "--token-only").stdout.strip()
    answer = httpx.post(
        f"{node.url}/ocpi/2.2.1/credentials",
        content=b'{"token": ' + b"[" * 1000 + b"]" * 1000 + b"}",
        headers={
            "Authorization": "Token " + base64.b64encode(token_a.encode()).decode(),
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert (answer.status_code, answer.json()["status_code"]) == (400, 2000)

    # the data directory and the SQLite files are the node user's alone
    if os.name == "posix":
        assert stat.S_IMODE(node.data_dir.stat().st_mode) == 0o700
        for path in node.data_dir.glob("evroam.db*"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_bodies_over_the_limit_are_refused_while_they_come_in(node: NodeProcess) -> None:
    token_a = node.evroam("partners", "invite", "stranger", "--token-only").stdout.strip()
    auth = b"Authorization: Token " + base64.b64encode(token_a.encode()) + b"\r\n"

    # 50 MB announced, nothing sent: 413 with an OCPI envelope at once (not the body timeout's close)
    with socket.create_connection(("127.0.0.1", node.port)) as sock:
        sock.sendall(
            b"POST /ocpi/2.2.1/credentials HTTP/1.1\r\nHost: x\r\n"
            + auth
            + b"Content-Length: 50000000\r\n\r\n"
        )
        answer = read_until_closed(sock, within=10)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"status_code":2000' in answer and b"100000 bytes" in answer

    # a chunked body without a length: cut off once 100,000 bytes are in, the connection closed
    sent = 0
    with socket.create_connection(("127.0.0.1", node.port)) as sock:
        sock.sendall(
            b"POST /ocpi/2.2.1/credentials HTTP/1.1\r\nHost: x\r\n"
            + auth
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (10000, b" " * 10000)
        try:
            for _ in range(1000):  # 10 MB, if the node read it all
                sock.sendall(chunk)
                sent += 10000
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_until_closed(sock, within=10)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert sent < 10_000_000
