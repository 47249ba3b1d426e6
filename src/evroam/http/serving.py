"""Read timeouts and a per-address connection cap for the node uvicorn serves (``serve``, ``simulate``).

uvicorn bounds the idle time *between* requests (``timeout_keep_alive``) but not the time a client
takes to send one: its keep-alive timer is cancelled by every byte received, so a client sending its
headers or its body one byte a second holds a connection (and a slot of the server) for as long as it
likes, and a few hundred such clients hold them all. An ASGI middleware cannot help: it runs only once
the headers are in.

:func:`guarded_protocol` therefore derives from the HTTP protocol class uvicorn would pick itself
(httptools when installed, else h11) and passes the result as ``uvicorn.Config(http=...)``. Per
connection it keeps one timer:

* armed when the connection is made, and again when the first byte of a next request arrives on a
  kept-alive connection: the request's headers must be complete within ``header_timeout`` seconds,
  else the client gets ``408 Request Timeout`` and the connection is closed;
* re-armed when the headers are complete and a body is expected: the whole body must be in within
  ``body_timeout`` seconds, else the connection is closed (the app sees a disconnect);
* cancelled once the request is complete: a slow handler or a long answer is not the client's fault.

And it counts the open connections per client IP address: a connection beyond
``max_connections_per_client`` is answered ``503`` and closed before anything is read from it.
Behind a reverse proxy every connection comes from the proxy's address: raise the cap (or set it to
0, no cap) and let the proxy limit clients.

What is refused here never reaches the app (nor its request metrics), so it is counted apart:
``evroam_http_refused_total{reason}`` with ``header_timeout``, ``body_timeout``,
``too_many_connections``, and ``invalid_request`` for what uvicorn's parser answers 400.

Settings (``EVROAM_*`` environment variables, read by :meth:`ServeLimits.from_env`):
``EVROAM_HEADER_TIMEOUT`` (seconds, default 10), ``EVROAM_BODY_TIMEOUT`` (seconds, default 30) and
``EVROAM_MAX_CONNECTIONS_PER_CLIENT`` (default 64; 0 turns the cap off).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from evroam.metrics import count_refused

__all__ = ["ServeLimits", "guarded_protocol", "serve_metrics"]

log = logging.getLogger(__name__)

_REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\nconnection: close\r\n"
    b"content-length: 16\r\n\r\nrequest too slow"
)
_TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\n"
    b"content-length: 37\r\n\r\ntoo many connections from one address"
)


@dataclass(frozen=True, slots=True)
class ServeLimits:
    """How long a client may take to send a request, and how many connections one address may hold."""

    header_timeout: float = 10.0
    """Seconds from the connection (or a next request's first byte) to the end of the headers."""
    body_timeout: float = 30.0
    """Seconds from the end of the headers to the end of the body."""
    max_connections_per_client: int = 64
    """Open connections one client IP address may hold; 0: no cap."""

    def __post_init__(self) -> None:
        if self.header_timeout <= 0 or self.body_timeout <= 0:
            raise ValueError("the header and body timeouts must be positive numbers of seconds")
        if self.max_connections_per_client < 0:
            raise ValueError("EVROAM_MAX_CONNECTIONS_PER_CLIENT must be 0 (no cap) or more")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServeLimits:
        """The limits from ``EVROAM_HEADER_TIMEOUT``, ``EVROAM_BODY_TIMEOUT`` and
        ``EVROAM_MAX_CONNECTIONS_PER_CLIENT``; defaults where they are unset. ``ValueError`` names a
        bad value."""
        env = os.environ if environ is None else environ
        default = cls()

        def number(name: str, fallback: float) -> float:
            text = env.get(name, "").strip()
            try:
                return float(text) if text else fallback
            except ValueError:
                raise ValueError(f"{name} must be a number of seconds, not {text!r}") from None

        cap_text = env.get("EVROAM_MAX_CONNECTIONS_PER_CLIENT", "").strip()
        try:
            cap = int(cap_text) if cap_text else default.max_connections_per_client
        except ValueError:
            raise ValueError(
                f"EVROAM_MAX_CONNECTIONS_PER_CLIENT must be a whole number, not {cap_text!r}"
            ) from None
        return cls(
            header_timeout=number("EVROAM_HEADER_TIMEOUT", default.header_timeout),
            body_timeout=number("EVROAM_BODY_TIMEOUT", default.body_timeout),
            max_connections_per_client=cap,
        )


class _Guard(asyncio.Protocol):
    """The timers and the cap, mixed in before uvicorn's protocol class (see the module docstring)."""

    _limits: ServeLimits
    # set by uvicorn's protocol classes
    cycle: Any
    server_state: Any
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    _evroam_peer: str | None = None
    _evroam_refused = False
    _evroam_timer: asyncio.TimerHandle | None = None
    _evroam_watched: Any = None

    # -- the cap ------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple | list) and peer else None
        cap = self._limits.max_connections_per_client
        if address is not None and cap:
            held = sum(
                1 for c in self.server_state.connections if getattr(c, "_evroam_peer", None) == address
            )
            if held >= cap:
                self._evroam_refused = True
                count_refused("too_many_connections")
                log.warning("refused a connection from %s: it holds %d already (the cap)", address, held)
                writable = typing.cast(asyncio.Transport, transport)  # uvloop's are not subclasses
                writable.write(_TOO_MANY)
                writable.close()
                return
        self._evroam_peer = address
        super().connection_made(transport)
        self._evroam_arm(self._limits.header_timeout, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        if self._evroam_refused:
            return  # uvicorn never saw this connection
        self._evroam_disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request its parser refused: counted, since the app never sees it."""
        count_refused("invalid_request")
        super().send_400_response(msg)  # type: ignore[misc]

    # -- the timers ---------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._evroam_refused:
            return
        super().data_received(data)
        if self.transport.is_closing():
            self._evroam_disarm()
            return
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            # between requests: these bytes start the next one, whose headers are not complete yet
            if self._evroam_timer is None:
                self._evroam_arm(self._limits.header_timeout, "headers")
            return
        if cycle is not self._evroam_watched:  # the headers of a new request are complete
            self._evroam_watched = cycle
            self._evroam_disarm()
            if cycle.more_body:
                self._evroam_arm(self._limits.body_timeout, "body")
        elif not cycle.more_body:  # the body is complete
            self._evroam_disarm()

    def _evroam_arm(self, seconds: float, what: str) -> None:
        self._evroam_disarm()
        self._evroam_timer = self.loop.call_later(seconds, self._evroam_expire, what, seconds)

    def _evroam_disarm(self) -> None:
        if self._evroam_timer is not None:
            self._evroam_timer.cancel()
            self._evroam_timer = None

    def _evroam_expire(self, what: str, seconds: float) -> None:
        self._evroam_timer = None
        if self.transport.is_closing():
            return
        count_refused("header_timeout" if what == "headers" else "body_timeout")
        log.info(
            "closed the connection from %s: request %s not received within %g s",
            self._evroam_peer,
            what,
            seconds,
        )
        cycle = self.cycle
        if what == "headers" and (cycle is None or cycle.response_complete):
            self.transport.write(_REQUEST_TIMEOUT)  # nothing else is being answered on it
        self.transport.close()


def guarded_protocol(
    limits: ServeLimits, base: type[asyncio.Protocol] | None = None
) -> type[asyncio.Protocol]:
    """An HTTP protocol class for ``uvicorn.Config(http=...)`` enforcing ``limits``.

    ``base`` is uvicorn's protocol class to extend; by default the one uvicorn picks itself
    (``uvicorn.protocols.http.auto.AutoHTTPProtocol``: httptools when installed, else h11).
    """
    if base is None:
        from uvicorn.protocols.http.auto import AutoHTTPProtocol

        base = AutoHTTPProtocol
    return type(f"Guarded{base.__name__}", (_Guard, base), {"_limits": limits})


# -- /metrics on a port of its own -------------------------------------------------------------------

_METRICS_HEAD_LIMIT = 16 * 1024
_METRICS_READ_TIMEOUT = 10.0


async def serve_metrics(
    host: str, port: int, body: Callable[[], Awaitable[bytes]], content_type: str
) -> asyncio.Server | None:
    """Answer ``GET /metrics`` with ``body()`` on ``host:port``, without authentication (for an address
    only Prometheus reaches); anything else gets 404. One request per connection.

    ``None`` when the port is taken: with several worker processes the first one to start serves it
    (in multiprocess mode any worker's answer counts every worker)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _METRICS_READ_TIMEOUT)
            method, _, rest = head.partition(b" ")
            target = rest.partition(b" ")[0].partition(b"?")[0]
            if method == b"GET" and target == b"/metrics":
                status, kind, content = "200 OK", content_type, await body()
            else:
                status, kind, content = "404 Not Found", "text/plain", b"only GET /metrics here\n"
            writer.write(
                f"HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {len(content)}\r\n"
                "connection: close\r\n\r\n".encode("ascii")
                + content
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        except Exception:
            log.exception("the metrics port failed to answer")
        finally:
            writer.close()

    try:
        return await asyncio.start_server(answer, host, port, limit=_METRICS_HEAD_LIMIT)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        log.info("metrics port %s:%d is served by another worker process", host, port)
        return None
