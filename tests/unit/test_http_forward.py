"""The hub's lean forwarding client (evroam.http.forward) and send_raw over it, against real local sockets."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from evroam.core.errors import DestinationRefused, HubConnectionProblem, HubTimeout
from evroam.http.client import WireRequest, WireResponse, create_http_client, send_raw
from evroam.http.forward import ForwardFailed, ForwardPool, ForwardTimeout
from evroam.http.outbound import OutboundPolicy

Answer = Callable[[bytes, bytes], Awaitable[bytes | None]]  # (head, body) -> bytes to write, None: close


class Server:
    """A tiny HTTP/1.1 server: reads requests (Content-Length bodies), answers what ``answer`` says."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                size = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        size = int(line.split(b":", 1)[1])
                body = await reader.readexactly(size)
                self.requests.append((head, body))
                out = await self.answer(head, body)
                if out is None:
                    break
                writer.write(out)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def sized(body: bytes, status: str = "200 OK", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 " + status.encode() + b"\r\nContent-Length: %d\r\n" % len(body) + extra + b"\r\n" + body


async def ok(head: bytes, body: bytes) -> bytes:
    return sized(b'{"echo":' + str(len(body)).encode() + b"}")


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    s = Server(ok)
    await s.start()
    yield s
    await s.stop()


async def _resolve(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def pool(**kwargs: object) -> ForwardPool:
    return ForwardPool(resolve=_resolve, **kwargs)  # type: ignore[arg-type]


async def test_keep_alive_reuses_one_connection(server: Server) -> None:
    p = pool()
    for n in range(5):
        reply = await p.request("PATCH", server.url + "/a/b", [("X-N", str(n))], b"{}", timeout=5)
        assert (reply.status, reply.body) == (200, b'{"echo":2}')
    assert server.connections == 1
    head, body = server.requests[-1]
    assert head.startswith(b"PATCH /a/b HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:%d\r\n" % server.port in head
    assert b"\r\nX-N: 4\r\n" in head and body == b"{}"
    await p.aclose()


async def test_query_parameters_and_encoded_path(server: Server) -> None:
    p = pool()
    await p.request("GET", server.url + "/x y/z?q=1", [], params=[("date_from", "a b")], timeout=5)
    head, _ = server.requests[-1]
    assert head.startswith(b"GET /x%20y/z?q=1&date_from=a+b HTTP/1.1\r\n")
    assert b"Content-Length" not in head
    await p.aclose()


async def test_chunked_answer() -> None:
    async def chunked(head: bytes, body: bytes) -> bytes:
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"

    s = Server(chunked)
    await s.start()
    p = pool()
    for _ in range(2):
        reply = await p.request("GET", s.url + "/", [], timeout=5)
        assert reply.body == b"hello world"
    assert s.connections == 1
    await p.aclose()
    await s.stop()


async def test_connection_close_answer_is_not_reused() -> None:
    async def closing(head: bytes, body: bytes) -> bytes:
        return sized(b"bye", extra=b"Connection: close\r\n")

    s = Server(closing)
    await s.start()
    p = pool()
    for _ in range(3):
        assert (await p.request("GET", s.url + "/", [], timeout=5)).body == b"bye"
    assert s.connections == 3
    await p.aclose()
    await s.stop()


async def test_answer_delimited_by_close() -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such thing")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    p = pool()
    reply = await p.request("GET", f"http://127.0.0.1:{port}/", [], timeout=5)
    assert (reply.status, reply.body) == (404, b"no such thing")
    await p.aclose()
    server.close()


async def test_idle_connection_closed_by_the_server_is_retried_once() -> None:
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(sized(b"ok"))  # says keep-alive, then closes anyway
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    p = pool()
    assert (await p.request("GET", f"http://127.0.0.1:{port}/", [], timeout=5)).body == b"ok"
    await asyncio.sleep(0.05)  # the close reaches the idle connection (or not: both paths must work)
    assert (await p.request("GET", f"http://127.0.0.1:{port}/", [], timeout=5)).body == b"ok"
    assert connections == 2
    await p.aclose()
    server.close()


async def test_large_bodies_both_ways() -> None:
    big = bytes(range(256)) * 8192  # 2 MiB

    async def echo(head: bytes, body: bytes) -> bytes:
        return sized(body)

    s = Server(echo)
    await s.start()
    p = pool()
    reply = await p.request("PUT", s.url + "/big", [], big, timeout=10)
    assert reply.body == big
    await p.aclose()
    await s.stop()


async def test_timeout_and_refused_connection() -> None:
    async def silent(head: bytes, body: bytes) -> bytes:
        await asyncio.sleep(30)
        return b""

    s = Server(silent)
    await s.start()
    p = pool()
    with pytest.raises(ForwardTimeout):
        await p.request("GET", s.url + "/", [], timeout=0.2)
    await s.stop()
    free = s.port
    with pytest.raises(ForwardFailed):
        await p.request("GET", f"http://127.0.0.1:{free}/", [], timeout=5)
    await p.aclose()


async def test_header_injection_and_bad_urls_are_refused(server: Server) -> None:
    p = pool()
    with pytest.raises(ForwardFailed):
        await p.request("GET", server.url + "/", [("X-A", "1\r\nX-B: 2")], timeout=5)
    with pytest.raises(ForwardFailed):
        await p.request("GET", "ftp://127.0.0.1/", [], timeout=5)
    assert server.requests == []
    await p.aclose()


async def test_outbound_policy_is_checked_before_connecting(server: Server) -> None:
    p = ForwardPool(resolve=_resolve, check=OutboundPolicy(deny_private=True, setting="deny").check)
    with pytest.raises(DestinationRefused):
        await p.request("GET", f"http://partner.example:{server.port}/", [], timeout=5)
    assert server.connections == 0
    await p.aclose()


# -- send_raw over the pool: error mapping, hooks -----------------------------------------------------


class Rewriting:
    """Hooks that rewrite the request body and the answer (as the compatibility layer may)."""

    def __init__(self) -> None:
        self.seen: list[WireRequest] = []

    async def on_request(self, request: WireRequest) -> WireRequest:
        self.seen.append(request)
        return WireRequest(request.method, request.url, request.headers, b'{"rewritten":true}')

    async def on_response(self, request: WireRequest, response: WireResponse) -> WireResponse:
        return WireResponse(response.status, response.headers, response.content + b"!")


async def test_send_raw_uses_the_pool_with_hooks(server: Server) -> None:
    hooks = Rewriting()
    http = create_http_client(hooks=hooks)
    reply = await send_raw(http, "PUT", server.url + "/p", headers={"A": "b"}, content=b"{}", timeout=5)
    assert (reply.status, reply.body) == (200, b'{"echo":18}!')
    assert server.requests[-1][1] == b'{"rewritten":true}'
    assert hooks.seen[0].url == server.url + "/p"
    await http.aclose()


async def test_send_raw_maps_failures_to_4002_and_4003() -> None:
    async def silent(head: bytes, body: bytes) -> bytes:
        await asyncio.sleep(30)
        return b""

    s = Server(silent)
    await s.start()
    http = create_http_client()
    with pytest.raises(HubTimeout):
        await send_raw(http, "GET", s.url + "/", headers={}, timeout=0.2)
    await s.stop()
    with pytest.raises(HubConnectionProblem):
        await send_raw(http, "GET", s.url + "/", headers={}, timeout=5)
    await http.aclose()


async def test_send_raw_refused_destination_is_4003(server: Server) -> None:
    http = create_http_client(outbound=OutboundPolicy(deny_private=True, setting="deny"), resolve=_resolve)
    with pytest.raises(HubConnectionProblem, match="not a public address"):
        await send_raw(http, "GET", server.url + "/", headers={}, timeout=5)
    assert server.connections == 0
    await http.aclose()


async def test_send_raw_decodes_gzip() -> None:
    async def zipped(head: bytes, body: bytes) -> bytes:
        return sized(gzip.compress(b'{"a":1}'), extra=b"Content-Encoding: gzip\r\n")

    s = Server(zipped)
    await s.start()
    http = create_http_client()
    reply = await send_raw(http, "GET", s.url + "/", headers={}, timeout=5)
    assert reply.body == b'{"a":1}' and "content-encoding" not in reply.headers
    await http.aclose()
    await s.stop()
