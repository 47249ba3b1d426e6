"""OICP over HTTPS with mutual TLS: the client evroam calls the hub with, and a small server for the
endpoints the hub calls (framework-free: the server needs the peer's verified certificate, which ASGI
servers do not hand over).

Client (:class:`OicpClient`): one per connection, with its own certificate, key and CA bundle; every
operation is a POST of the operation's path (:mod:`evroam.oicp.operations`) with the operation's timeout;
calls of one operation are sent one after the other (OICP: a push must wait for the previous answer)
and kept under Hubject's rate limit per minute (:class:`RateWindow`); the answer is decoded into the
operation's answer model. HTTP 429 raises :class:`OicpRateLimited`, any other failure :class:`OicpError`
(the caller's retry policy decides what next). A negative *business* answer (``Result: false``) is a
normal return value: OICP answers HTTP 200 with a StatusCode.

Server (:func:`start_server`): HTTP/1.1 (h11) on an asyncio server with an ``ssl.SSLContext`` that
requires a client certificate; each request is handed to an async handler with the peer's verified
certificate (:class:`OicpRequest`). :func:`dispatcher` turns typed handlers per operation into such a
handler: the body is decoded into the operation's model, a body that does not fit is answered with
StatusCode ``022`` in the operation's answer shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import h11
import httpx

from evroam.core.errors import EvroamError
from evroam.oicp import codec
from evroam.oicp.operations import Operation, error_answer, match_path
from evroam.oicp.tls import TlsFiles, client_context, peer_names

__all__ = [
    "OicpClient",
    "OicpError",
    "OicpRateLimited",
    "OicpRequest",
    "OicpServer",
    "RateWindow",
    "Reply",
    "dispatcher",
    "only_from",
    "start_server",
]

log = logging.getLogger(__name__)


class OicpError(Exception):
    """The call did not get a readable synchronous answer (connection, TLS, timeout, HTTP status,
    an answer that does not fit the operation's model)."""


class OicpRateLimited(OicpError):
    """HTTP 429 from the hub: retry later (with back-off and jitter)."""


class RateWindow:
    """At most ``per_minute`` calls in any 60 seconds: :meth:`delay` says how long to wait before the
    next one (pure: the time is given)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._sent: deque[float] = deque()

    def delay(self, now: float) -> float:
        while self._sent and now - self._sent[0] >= 60.0:
            self._sent.popleft()
        if len(self._sent) < self.per_minute:
            return 0.0
        return 60.0 - (now - self._sent[0])

    def record(self, now: float) -> None:
        self._sent.append(now)


def _base(url: str) -> str:
    base = url.rstrip("/")
    return base[: -len("/api/oicp")] if base.endswith("/api/oicp") else base


class OicpClient:
    """Calls the hub (or, for the test hub, a partner) over mutual TLS. See the module docstring."""

    def __init__(
        self,
        base_url: str,
        tls: TlsFiles | ssl.SSLContext,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rate_limits: bool = True,
    ) -> None:
        self.base_url = _base(base_url)
        verify = tls if isinstance(tls, ssl.SSLContext) else client_context(tls)
        self._http = httpx.AsyncClient(verify=verify, transport=transport, http2=False)
        self._monotonic = monotonic
        self._sleep = sleep
        self._rate_limits = rate_limits
        self._locks: dict[str, asyncio.Lock] = {}
        self._windows: dict[str, RateWindow] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> OicpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def call(
        self,
        op: Operation,
        originator: str | None,
        body: Any,
        *,
        page: int | None = None,
        size: int | None = None,
    ) -> Any:
        """POST ``body`` (a wire model) as ``op`` with the originator's ID in the path; the decoded answer."""
        raw = await self.call_raw(op, originator, codec.encode(body), page=page, size=size)
        try:
            return codec.decode(raw, op.response)
        except EvroamError as exc:
            raise OicpError(f"{op.name}: the answer does not fit {op.response.__name__}: {exc}") from None

    async def call_raw(
        self,
        op: Operation,
        originator: str | None,
        body: bytes,
        *,
        page: int | None = None,
        size: int | None = None,
        wait: float | None = None,
    ) -> bytes:
        """POST raw JSON; the raw answer body (HTTP 200 only). ``wait`` replaces the operation's timeout."""
        url = self.base_url + op.url_path(originator or "")
        params = {}
        if page is not None:
            params["page"] = str(page)
        if size is not None:
            params["size"] = str(size)
        lock = self._locks.setdefault(op.name, asyncio.Lock())
        async with lock:
            if self._rate_limits:
                window = self._windows.setdefault(op.name, RateWindow(op.per_minute))
                pause = window.delay(self._monotonic())
                if pause > 0:
                    await self._sleep(pause)
                window.record(self._monotonic())
            try:
                response = await self._http.post(
                    url,
                    content=body,
                    params=params or None,
                    headers={"Content-Type": "application/json", "Accept": "application/json"},
                    timeout=wait or op.timeout,
                )
            except httpx.HTTPError as exc:
                raise OicpError(f"{op.name} to {self.base_url}: {type(exc).__name__}: {exc}") from None
        if response.status_code == 429:
            raise OicpRateLimited(f"{op.name}: HTTP 429 (rate limit)")
        if response.status_code != 200:
            raise OicpError(f"{op.name}: HTTP {response.status_code}: {response.text[:200]}")
        return response.content


# -- serving -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OicpRequest:
    method: str
    path: str
    query: Mapping[str, str]
    body: bytes
    peer: Mapping[str, Any] | None
    """The verified client certificate (``ssl.SSLSocket.getpeercert()``), ``None`` without one."""
    peer_der: bytes | None = None

    @property
    def peer_names(self) -> tuple[str, ...]:
        return peer_names(dict(self.peer) if self.peer else None)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[OicpRequest], Awaitable[Reply]]

_MAX_BODY = 16 * 1024 * 1024
_IDLE = 60.0
_CLOSE_WAIT = 3.0


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
) -> None:
    conn = h11.Connection(h11.SERVER)
    ssl_object = writer.get_extra_info("ssl_object")
    peer = ssl_object.getpeercert() if ssl_object is not None else None
    peer_der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    try:
        while True:
            request: h11.Request | None = None
            chunks: list[bytes] = []
            size = 0
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await asyncio.wait_for(reader.read(65536), _IDLE)
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.Request):
                    request = event
                elif isinstance(event, h11.Data):
                    size += len(event.data)
                    if size > _MAX_BODY:
                        raise h11.RemoteProtocolError("body too large")
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    break
                elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    return
            assert request is not None
            target = urlsplit(request.target.decode("latin-1"))
            try:
                reply = await handler(
                    OicpRequest(
                        method=request.method.decode("ascii"),
                        path=target.path,
                        query=dict(parse_qsl(target.query)),
                        body=b"".join(chunks),
                        peer=peer,
                        peer_der=peer_der,
                    )
                )
            except Exception:
                log.exception("OICP request %s failed", target.path)
                reply = Reply(500, b'{"message":"internal error"}')
            headers = [
                ("Content-Type", "application/json;charset=UTF-8"),
                ("Content-Length", str(len(reply.body))),
            ]
            headers += list(reply.headers.items())
            writer.write(conn.send(h11.Response(status_code=reply.status, headers=headers)) or b"")
            writer.write(conn.send(h11.Data(data=reply.body)) or b"")
            writer.write(conn.send(h11.EndOfMessage()) or b"")
            await writer.drain()
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except (
        TimeoutError,
        ConnectionError,
        h11.RemoteProtocolError,
        ssl.SSLError,
        asyncio.IncompleteReadError,
    ):
        return
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


class OicpServer:
    """A listening OICP server: :meth:`close` stops listening *and* drops the open connections (a hub
    that goes down drops its keep-alive connections too)."""

    def __init__(self, server: asyncio.Server, writers: set[asyncio.StreamWriter]) -> None:
        self.server = server
        self._writers = writers

    @property
    def sockets(self) -> Any:
        return self.server.sockets

    @property
    def port(self) -> int:
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    def close(self) -> None:
        self.server.close()
        for writer in list(self._writers):
            writer.transport.abort()

    async def wait_closed(self) -> None:
        """Until the listener is closed. asyncio's ``wait_closed`` also waits for every transport still
        attached (a TLS handshake or shutdown under way, which :meth:`close` cannot reach): those get a
        bounded time, so that stopping a server (Ctrl-C, SIGTERM, a test) never hangs on a straggler."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.server.wait_closed(), _CLOSE_WAIT)


async def start_server(handler: Handler, host: str, port: int, context: ssl.SSLContext | None) -> OicpServer:
    """Serve ``handler`` on ``host:port`` (TLS with ``context``; port 0 picks one, see ``.port``)."""
    writers: set[asyncio.StreamWriter] = set()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        try:
            await _serve_connection(reader, writer, handler)
        finally:
            writers.discard(writer)

    server = await asyncio.start_server(
        on_connect, host, port, ssl=context, ssl_handshake_timeout=10.0, ssl_shutdown_timeout=2.0
    )
    return OicpServer(server, writers)


# A typed handler of one operation: (decoded body, ID segment of the path, query) -> answer model.
Typed = Callable[[Any, str | None, Mapping[str, str]], Awaitable[Any]]


def dispatcher(handlers: Mapping[str, Typed]) -> Handler:
    """A :data:`Handler` serving the operations named in ``handlers`` (by ``Operation.name``)."""

    async def handle(request: OicpRequest) -> Reply:
        found = match_path(request.path)
        if request.method != "POST" or found is None or found[0].name not in handlers:
            return Reply(404, b'{"message":"no such OICP operation here"}')
        op, ident = found
        try:
            body = _decode_request(op, request.body)
        except EvroamError as exc:
            return Reply(200, codec.encode(error_answer(op, "022", str(exc))))
        answer = await handlers[op.name](body, ident, request.query)
        return Reply(200, codec.encode(answer))

    return handle


def _decode_request(op: Operation, body: bytes) -> Any:
    return codec.decode(body, op.request)


def only_from(handler: Handler, accept: Callable[[OicpRequest], bool], who: str = "the hub") -> Handler:
    """``handler`` for callers ``accept`` takes (e.g. the hub's certificate); anyone else, though their
    certificate is signed by a trusted CA, is answered ``017 Unauthorized Access`` in the operation's
    answer shape (HTTP 200, as OICP answers), or HTTP 403 on a path that is no OICP operation."""

    async def guarded(request: OicpRequest) -> Reply:
        if accept(request):
            return await handler(request)
        found = match_path(request.path)
        names = ", ".join(request.peer_names) or "no name"
        log.warning(
            "OICP call to %s refused: the client certificate (%s) is not %s", request.path, names, who
        )
        if found is None:
            return Reply(403, b'{"message":"the client certificate is not the hub\'s"}')
        session_id = None
        with contextlib.suppress(EvroamError):  # the session is named back when the body is well formed
            session_id = getattr(_decode_request(found[0], request.body), "SessionID", None)
        answer = error_answer(found[0], "017", f"the client certificate is not {who}", session_id)
        return Reply(200, codec.encode(answer))

    return guarded
