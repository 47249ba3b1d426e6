"""The clients of a node's OICP connections (one per connection, kept while the process runs) and the
rule for a hub's negative answers: which are worth a retry."""

from __future__ import annotations

import asyncio

from evroam.http.oicp import OicpClient
from evroam.modules.oicp.records import Connection
from evroam.oicp.operations import succeeded

__all__ = ["TRANSIENT", "HubClients", "OicpRefused", "refusal"]

#: StatusCodes of a refusal that may go away by itself (the hub's or a partner's trouble): retried.
TRANSIENT = frozenset({"001", "002", "009", "021", "300", "310", "320"})


class OicpRefused(Exception):
    """The hub answered no for a reason that may pass (:data:`TRANSIENT`): the push is retried."""


def refusal(answer: object, what: str) -> str | None:
    """``None`` for a positive answer; raises :class:`OicpRefused` for a transient refusal; else the
    refusal as a note (a permanent one: retrying cannot help)."""
    if succeeded(answer):
        return None
    status = getattr(answer, "StatusCode", None)
    code = status.Code if status is not None else "?"
    info = f"{what} refused: {code}"
    if status is not None and (status.Description or status.AdditionalInfo):
        info += f" {status.Description or ''} {status.AdditionalInfo or ''}".rstrip()
    if code in TRANSIENT:
        raise OicpRefused(info)
    return info


class HubClients:
    """One :class:`OicpClient` per connection (its URL and certificate files)."""

    def __init__(self) -> None:
        self._clients: dict[tuple[int, str, str, str, str], OicpClient] = {}

    def get(self, connection: Connection) -> OicpClient:
        """The client of ``connection`` for the running event loop (an httpx client is bound to one)."""
        loop = id(asyncio.get_running_loop())
        key = (loop, connection.hub_url, connection.cert, connection.key, connection.ca)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = OicpClient(connection.hub_url, connection.tls)
        return client

    async def aclose(self) -> None:
        """Close the clients of the running event loop."""
        loop = id(asyncio.get_running_loop())
        for key in [k for k in self._clients if k[0] == loop]:
            await self._clients.pop(key).aclose()
