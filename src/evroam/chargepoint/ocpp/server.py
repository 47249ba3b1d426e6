"""The central system's WebSocket endpoint: ``ws[s]://HOST:PORT/ocpp/{charge_point_id}``.

The opening handshake is refused (HTTP 404) for a charge point id that is not registered, (HTTP 401)
when its HTTP Basic credentials are missing or wrong (OCPP security profiles 1 and 2: the user name is
the charge point id, the password the one registered, hashed at rest), and (HTTP 400) when the
charger offers neither ``ocpp2.0.1`` nor ``ocpp1.6`` as subprotocol. With a certificate and key the
endpoint is TLS only (profile 2). A charger that connects again replaces its previous connection.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from .central import CentralSystem
from .mapping import OCPP16, OCPP201
from .registry import verify_password
from .v16 import ChargerLink16
from .v201 import ChargerLink201

__all__ = ["OcppServer", "tls_context"]

log = logging.getLogger(__name__)

PATH_PREFIX = "/ocpp/"
SUBPROTOCOLS = (OCPP201, OCPP16)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2 at least, as OCPP security profile 2 asks)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


def _charger_id(path: str) -> str | None:
    path = path.split("?", 1)[0]
    if not path.startswith(PATH_PREFIX):
        return None
    found = unquote(path[len(PATH_PREFIX) :]).strip("/")
    return found or None


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, sep, password = (
            base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class OcppServer:
    """Serves :class:`CentralSystem` ``central`` over WebSocket on ``host:port`` (0: any free port).

    ``timeout``: seconds a charger gets to answer a CALL of the central system."""

    def __init__(
        self,
        central: CentralSystem,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        ping_interval: float | None = 60.0,
    ) -> None:
        self.central = central
        self.host = host
        self._port = port
        self._tls = tls
        self.timeout = timeout
        self._ping_interval = ping_interval
        self._server: Server | None = None
        self._verified: dict[str, tuple[str, bytes]] = {}
        """charge point id -> (stored hash, SHA-256 of the password that matched it): one scrypt per
        password, not per connection."""
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose when 0 was asked)."""
        if self._server is None:
            return self._port
        sockets: Sequence[Any] = list(self._server.sockets)
        return int(sockets[0].getsockname()[1]) if sockets else self._port

    @property
    def url(self) -> str:
        return f"{'wss' if self._tls else 'ws'}://{self.host}:{self.port}{PATH_PREFIX}"

    async def start(self) -> None:
        self._server = await serve(
            self._connection,
            self.host,
            self._port,
            ssl=self._tls,
            subprotocols=list(SUBPROTOCOLS),  # type: ignore[arg-type]
            select_subprotocol=self._select,
            process_request=self._check,
            ping_interval=self._ping_interval,
            max_size=1 << 20,
        )
        log.info("OCPP central system at %s{charge_point_id}", self.url)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    @staticmethod
    def _select(connection: ServerConnection, offered: Sequence[str]) -> Any:
        for protocol in SUBPROTOCOLS:
            if protocol in offered:
                return protocol
        return None

    async def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        charger_id = _charger_id(request.path)
        if charger_id is None:
            return connection.respond(404, "connect to /ocpp/{charge_point_id}\n")
        record = await self.central.known(charger_id)
        if record is None:
            log.warning("OCPP: refused unknown charge point %r", charger_id)
            return connection.respond(404, "unknown charge point\n")
        offered = ",".join(request.headers.get_all("Sec-WebSocket-Protocol"))
        if not any(p.strip() in SUBPROTOCOLS for p in offered.split(",")):
            return connection.respond(400, "offer the subprotocol ocpp2.0.1 or ocpp1.6\n")
        if record.password_hash is None:
            return None  # registered without a password (--no-auth: security profile 0)
        credentials = _basic(request.headers.get("Authorization"))
        if (
            credentials is None
            or credentials[0] != record.id
            or not await self._password_ok(record.id, credentials[1], record.password_hash)
        ):
            log.warning("OCPP: refused charge point %s: wrong or missing credentials", charger_id)
            response = connection.respond(401, "HTTP Basic credentials of the charge point required\n")
            response.headers["WWW-Authenticate"] = 'Basic realm="ocpp"'
            return response
        return None

    async def _password_ok(self, charger_id: str, password: str, stored: str) -> bool:
        digest = hashlib.sha256(password.encode("utf-8")).digest()
        known = self._verified.get(charger_id.casefold())
        if known is not None and known == (stored, digest):
            return True
        if not await asyncio.to_thread(verify_password, password, stored):
            return False
        self._verified[charger_id.casefold()] = (stored, digest)
        return True

    async def _connection(self, connection: ServerConnection) -> None:
        charger_id = _charger_id(connection.request.path if connection.request else "") or ""
        protocol = connection.subprotocol
        record = await self.central.known(charger_id)
        if record is None or protocol not in SUBPROTOCOLS:
            await connection.close(1008, "unknown charge point or subprotocol")
            return
        link: ChargerLink16 | ChargerLink201
        if protocol == OCPP16:
            link = ChargerLink16(record.id, connection, self.central, timeout=self.timeout)
        else:
            link = ChargerLink201(record.id, connection, self.central, timeout=self.timeout)
        await self.central.connected(record.id, link)
        try:
            await link.start()
        except ConnectionClosed:
            pass
        finally:
            await self.central.disconnected(record.id, link)
