"""A lean HTTP/1.1 keep-alive client for the hub's forwarding path.

A hub forwards each request it routes to the platform hosting the receiving party, body untouched. Through
httpx/httpcore that costs the hub about 1 ms of CPU per request (request and header objects, the pool's
locks and state machines, the stream wrappers), five times what the receiving node spends on the whole
request. This client does the one thing the hub needs: it writes the request bytes on a kept-alive
connection and reads the answer with ``httptools`` (uvicorn's parser).

* one pool per origin (scheme, host, port): idle connections are reused most recently used first, at most
  ``max_connections`` open at once per origin (the others wait), at most ``max_idle`` kept;
* answers with ``Content-Length``, chunked, or delimited by the connection's close; a connection is kept
  only when the answer allows it (HTTP/1.1 without ``Connection: close``);
* ``https`` over the given TLS context, with the URL's host as server name;
* the outbound policy: ``check(host, addresses)`` is called before each new connection, on the addresses
  ``resolve`` gave, and the connection goes to the address checked (a second lookup cannot answer
  differently); a reused connection was checked when it was opened;
* a reused connection that the server closed before answering (the keep-alive race) is retried once on a
  fresh connection, only when not one byte of the answer had come;
* failures: :class:`ForwardTimeout` when the whole exchange (connect included) exceeds its time,
  :class:`ForwardFailed` for any other failure to get an answer. The caller maps them onto its errors.

No redirects, no cookies, no compression (nothing asks for it: no ``Accept-Encoding`` is sent unless the
caller sends one, and the answer's bytes are returned as they came).
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import quote, urlencode, urlsplit

import httptools

__all__ = ["ForwardFailed", "ForwardPool", "ForwardReply", "ForwardTimeout"]

Resolver = Callable[[str, int], Awaitable[list[str]]]
Check = Callable[[str, list[str]], None]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


class ForwardFailed(Exception):
    """No answer: the connection could not be made, broke, or the answer was not HTTP."""


class ForwardTimeout(ForwardFailed):
    """No complete answer within the time allowed."""


@dataclass(frozen=True, slots=True)
class ForwardReply:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request at a time, its answer parsed as bytes arrive."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._received = False
        self._headers_done = False
        self._until_close = False
        self._complete = False
        self.keep_alive = False

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport, but have its interface
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # bytes while idle: not an answer to anything, the connection is spoiled
            self.close()
            return
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ForwardFailed("the server switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(ForwardFailed(f"not an HTTP answer: {exc}"))

    def eof_received(self) -> bool | None:
        return False  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is None or self._waiter.done():
            return
        if self._until_close and self._headers_done:
            self._complete = True  # an answer delimited by the end of the connection
            self.keep_alive = False
            self._waiter.set_result(None)
            return
        reason = f": {exc}" if exc is not None else ""
        self._fail(ForwardFailed(f"connection closed before a complete answer{reason}"))

    # -- httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self._status = self._parser.get_status_code()
        chunked = any(n.lower() == b"transfer-encoding" and b"chunked" in v.lower() for n, v in self._headers)
        sized = any(n.lower() == b"content-length" for n, v in self._headers)
        no_body = self._status in (204, 304) or 100 <= self._status < 200
        self._until_close = not (chunked or sized or no_body)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self._status < 200:  # an interim answer: the real one follows
            self._headers.clear()
            self._headers_done = False
            return
        self._complete = True
        self.keep_alive = self._parser.should_keep_alive() and not self._until_close
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- use

    def _fail(self, exc: Exception) -> None:
        self.keep_alive = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    @property
    def received_any(self) -> bool:
        return self._received

    async def exchange(self, request: bytes) -> ForwardReply:
        if self.transport is None or self.closed:
            raise ForwardFailed("the connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._status = 0
        self._headers = []
        self._body = []
        self._received = self._headers_done = self._until_close = self._complete = False
        self.keep_alive = False
        self.transport.write(request)
        try:
            await self._waiter
        finally:
            self._waiter = None
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        return ForwardReply(self._status, self._headers, body)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


@dataclass
class _Origin:
    scheme: str
    host: str
    port: int
    authority: bytes
    idle: deque[_Connection] = field(default_factory=deque)
    slots: asyncio.Semaphore | None = None


class ForwardPool:
    """Keep-alive connections per origin; see the module docstring."""

    def __init__(
        self,
        *,
        resolve: Resolver,
        check: Check | None = None,
        ssl_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
        max_connections: int = 200,
        max_idle: int = 100,
    ) -> None:
        self._resolve = resolve
        self._check = check
        self._ssl_factory = ssl_context
        self._ssl: ssl.SSLContext | None = None
        self._max_connections = max_connections
        self._max_idle = max_idle
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        self._closed = False

    async def request(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None = None,
        params: Sequence[tuple[str, str]] = (),
        *,
        timeout: float,  # noqa: ASYNC109 - the whole exchange's limit, enforced here
    ) -> ForwardReply:
        """Send one request, return the answer (any HTTP status)."""
        if self._closed:
            raise ForwardFailed("the forwarding pool is closed")
        origin, target = self._split(url, params)
        request = _encode(method, target, origin.authority, headers, body)
        try:
            async with asyncio.timeout(timeout):
                return await self._send(origin, request)
        except TimeoutError:
            raise ForwardTimeout(f"no answer from {url} within {timeout:g} s") from None

    async def aclose(self) -> None:
        self._closed = True
        for origin in self._origins.values():
            while origin.idle:
                origin.idle.pop().close()
        self._origins.clear()

    # -- internals

    def _split(self, url: str, params: Sequence[tuple[str, str]]) -> tuple[_Origin, bytes]:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ForwardFailed(f"cannot forward to {url!r}: not an http(s) URL")
        try:
            port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError:
            raise ForwardFailed(f"cannot forward to {url!r}: bad port") from None
        host = parts.hostname
        key = (scheme, host, port)
        origin = self._origins.get(key)
        if origin is None:
            shown = f"[{host}]" if ":" in host else host
            if port != _DEFAULT_PORTS[scheme]:
                shown = f"{shown}:{port}"
            origin = _Origin(scheme, host, port, shown.encode("ascii"))
            origin.slots = asyncio.Semaphore(self._max_connections)
            self._origins[key] = origin
        target = quote(parts.path or "/", safe=_PATH_SAFE)
        query = quote(parts.query, safe=_QUERY_SAFE)
        if params:
            extra = urlencode(list(params))
            query = f"{query}&{extra}" if query else extra
        if query:
            target = f"{target}?{query}"
        return origin, target.encode("ascii")

    async def _send(self, origin: _Origin, request: bytes) -> ForwardReply:
        assert origin.slots is not None
        async with origin.slots:
            conn: _Connection | None = None
            while origin.idle:
                candidate = origin.idle.pop()
                if not candidate.closed:
                    conn = candidate
                    break
            reused = conn is not None
            if conn is None:
                conn = await self._connect(origin)
            try:
                reply = await conn.exchange(request)
            except ForwardFailed:
                conn.close()
                if not reused or conn.received_any:
                    raise
                conn = await self._connect(origin)  # the server had closed the idle connection
                try:
                    reply = await conn.exchange(request)
                except BaseException:
                    conn.close()
                    raise
            except BaseException:  # cancelled, timed out: the connection's state is unknown
                conn.close()
                raise
            if conn.keep_alive and not conn.closed and not self._closed and len(origin.idle) < self._max_idle:
                origin.idle.append(conn)
            else:
                conn.close()
            return reply

    async def _connect(self, origin: _Origin) -> _Connection:
        loop = asyncio.get_running_loop()
        address = origin.host
        if self._check is not None:
            if _is_ip(origin.host):
                addresses = [origin.host]
            else:
                try:
                    addresses = await self._resolve(origin.host, origin.port)
                except OSError as exc:
                    raise ForwardFailed(f"cannot resolve {origin.host}: {exc}") from None
                if not addresses:
                    raise ForwardFailed(f"{origin.host} has no address")
            self._check(origin.host, addresses)  # raises when the policy refuses the destination
            address = addresses[0]
        context: ssl.SSLContext | None = None
        if origin.scheme == "https":
            if self._ssl is None:
                self._ssl = self._ssl_factory()
            context = self._ssl
        try:
            _, conn = await loop.create_connection(
                _Connection,
                address,
                origin.port,
                ssl=context,
                server_hostname=origin.host if context is not None else None,
            )
        except (OSError, ssl.SSLError) as exc:
            raise ForwardFailed(f"cannot connect to {origin.host}:{origin.port}: {exc}") from None
        return conn


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _encode(
    method: str, target: bytes, authority: bytes, headers: Sequence[tuple[str, str]], body: bytes | None
) -> bytes:
    lines = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\nHost: ", authority, b"\r\n"]
    for name, value in headers:
        lowered = name.lower()
        if lowered in ("host", "content-length", "transfer-encoding", "connection"):
            continue
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise ForwardFailed(f"header {name!r} cannot be sent: it contains a line break or colon")
        lines += [name.encode("latin-1"), b": ", value.encode("latin-1"), b"\r\n"]
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines += [b"Content-Length: ", str(len(body or b"")).encode("ascii"), b"\r\n\r\n"]
        if body:
            lines.append(body)
    else:
        lines.append(b"\r\n")
    return b"".join(lines)
