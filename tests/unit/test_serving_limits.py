"""Slow clients and connection hoarders against a real uvicorn server on 127.0.0.1 (real sockets):
headers or a body sent a byte at a time get the connection closed, and one address cannot hold more
than its share of connections. Timeouts here are short; waits for a disconnect are bounded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from evroam.http.serving import ServeLimits, guarded_protocol

pytestmark = pytest.mark.slow

GET = b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
GET_AND_CLOSE = b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


async def app(scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[Any], Any]) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = b"got %d bytes" % len(body)
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(answer))]}
    )
    await send({"type": "http.response.body", "body": answer})


@contextlib.asynccontextmanager
async def serving(limits: ServeLimits, base: type[asyncio.Protocol] | None = None) -> AsyncIterator[int]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http=guarded_protocol(limits, base),
        log_config=None,
        lifespan="on",
        timeout_keep_alive=30,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "the server did not start"
            await asyncio.sleep(0.01)
        port: int = server.servers[0].sockets[0].getsockname()[1]
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def trickle(writer: asyncio.StreamWriter, data: bytes, pause: float) -> None:
    for byte in data:
        if writer.is_closing():
            return
        writer.write(bytes([byte]))
        try:
            await writer.drain()
        except ConnectionError:
            return
        await asyncio.sleep(pause)


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bytes:
    """Everything the server sent until it closed the connection; fails if it did not within ``within``."""
    try:
        return await asyncio.wait_for(reader.read(), within)
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for more than {within} s")


async def ask(port: int, request: bytes = GET) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"bytes"), 5)
    finally:
        writer.close()


BASES = [pytest.param(HttpToolsProtocol, id="httptools"), pytest.param(H11Protocol, id="h11")]


@pytest.mark.parametrize("base", BASES)
async def test_headers_sent_a_byte_at_a_time_get_408_and_the_connection_closed(
    base: type[asyncio.Protocol],
) -> None:
    async with serving(ServeLimits(header_timeout=0.5, body_timeout=5), base) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = b"GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 400 + b"\r\n\r\n"
        sending = asyncio.create_task(trickle(writer, request, 0.05))  # 20 s for the whole request
        try:
            answer = await closed_by_server(reader, within=10)
        finally:
            sending.cancel()
            writer.close()
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert not sending.done() or sending.cancelled()  # closed while the client was still sending


@pytest.mark.parametrize("base", BASES)
async def test_a_body_sent_a_byte_at_a_time_gets_the_connection_closed(base: type[asyncio.Protocol]) -> None:
    async with serving(ServeLimits(header_timeout=5, body_timeout=0.5), base) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 400\r\n\r\n")
        sending = asyncio.create_task(trickle(writer, b"b" * 400, 0.05))
        try:
            answer = await closed_by_server(reader, within=10)
        finally:
            sending.cancel()
            writer.close()
        assert b"got 400 bytes" not in answer


async def test_prompt_clients_are_served_and_kept_alive_past_the_header_timeout() -> None:
    async with serving(ServeLimits(header_timeout=0.3, body_timeout=0.3)) as port:
        assert (await ask(port, b"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")).endswith(
            b"got 3 bytes"
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(GET)
            assert (await asyncio.wait_for(reader.readuntil(b"bytes"), 5)).endswith(b"got 0 bytes")
            await asyncio.sleep(0.6)  # idle between requests: uvicorn's keep-alive timeout (30 s here) rules
            writer.write(GET)
            assert (await asyncio.wait_for(reader.readuntil(b"bytes"), 5)).endswith(b"got 0 bytes")
        finally:
            writer.close()


async def test_one_address_cannot_hold_more_than_its_share_of_connections() -> None:
    async with serving(ServeLimits(header_timeout=30, max_connections_per_client=3)) as port:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        # the fourth is answered 503 and closed before it sends anything
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        answer = await closed_by_server(reader, within=5)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 503 ")
        # the three it holds still work
        for r, w in held:
            w.write(GET)
            assert (await asyncio.wait_for(r.readuntil(b"bytes"), 5)).endswith(b"got 0 bytes")
        # once one is closed (and the server has seen it go), a new connection is served again
        held[0][1].close()
        await held[0][1].wait_closed()
        for _ in range(100):
            answer = await _answer(port)
            if not answer.startswith(b"HTTP/1.1 503"):
                break
            await asyncio.sleep(0.05)
        assert answer.endswith(b"got 0 bytes")
        for _, w in held[1:]:
            w.close()


async def _answer(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(GET_AND_CLOSE)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5)
    except ConnectionError:
        return b"HTTP/1.1 503 (reset)"
    finally:
        writer.close()


def test_limits_come_from_the_environment() -> None:
    limits = ServeLimits.from_env(
        {"EVROAM_HEADER_TIMEOUT": "2.5", "EVROAM_BODY_TIMEOUT": "7", "EVROAM_MAX_CONNECTIONS_PER_CLIENT": "0"}
    )
    assert limits == ServeLimits(header_timeout=2.5, body_timeout=7, max_connections_per_client=0)
    assert ServeLimits.from_env({}) == ServeLimits()
    with pytest.raises(ValueError, match="EVROAM_HEADER_TIMEOUT"):
        ServeLimits.from_env({"EVROAM_HEADER_TIMEOUT": "soon"})
    with pytest.raises(ValueError, match="positive"):
        ServeLimits.from_env({"EVROAM_BODY_TIMEOUT": "0"})
