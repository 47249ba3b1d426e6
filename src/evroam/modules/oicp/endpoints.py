"""The OICP endpoints a node serves to the hub, for the roles it is connected as.

CPO (``evroam oicp connect --operator-id``): remote start / stop and remote reservation start / stop
(C9-C12), carried out through the node's charge point port, whatever is plugged in (the simulator, a
charger adapter); with none, every command is answered ``501``. EMP (``--provider-id``): authorize start
/ stop answered from the tokens kit, CDRs and charging notifications received (E9-E12). A node connected
as both serves both on the one port, with the TLS files of the CPO connection.

Mutual TLS with the connection's ``cert`` / ``key`` / ``ca``; beyond a certificate signed by the ``ca``,
the caller must be the hub (:attr:`Connection.expected_hub_names`, or its fingerprints): another
certificate of the same CA is answered ``017 Unauthorized Access``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evroam.chargepoint.port import ChargePoint
from evroam.core.clock import Clock
from evroam.http.oicp import OicpRequest, OicpServer, dispatcher, only_from, start_server
from evroam.modules.oicp.cpo import CpoEndpoint
from evroam.modules.oicp.emp import EmpFallback, EmpListener, EmpService
from evroam.modules.oicp.hub import HubClients
from evroam.modules.oicp.records import Connection, load_connection
from evroam.oicp.tls import is_peer, server_context
from evroam.store.port import Store

__all__ = ["OicpEndpoints"]


def _from_hub(connections: list[Connection]) -> Any:
    def accept(request: OicpRequest) -> bool:
        peer = dict(request.peer) if request.peer else None
        return any(
            is_peer(peer, request.peer_der, names=c.expected_hub_names, fingerprints=c.hub_fingerprints)
            for c in connections
        )

    return accept


class OicpEndpoints:
    """Serve the node's OICP endpoints on ``host:port`` from :meth:`start` to :meth:`stop`."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        charge_point: ChargePoint | None,
        host: str,
        port: int,
        *,
        clients: HubClients | None = None,
        emp_listeners: Sequence[EmpListener] = (),
        emp_fallback: EmpFallback | None = None,
    ) -> None:
        self.store = store
        self.emp_listeners = tuple(emp_listeners)
        self.emp_fallback = emp_fallback
        self.clock = clock
        self.charge_point = charge_point
        self.host = host
        self.requested_port = port
        self.clients = clients or HubClients()
        self.roles: tuple[str, ...] = ()
        self.cpo: CpoEndpoint | None = None
        self.emp: EmpService | None = None
        self._server: OicpServer | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the OICP endpoints are not started")
        return self._server.port

    async def start(self) -> None:
        """Listen; ``ValueError`` when the node has no OICP connection."""
        cpo = await load_connection(self.store, "CPO")
        emp = await load_connection(self.store, "EMP")
        connections = [c for c in (cpo, emp) if c is not None]
        if not connections:
            raise ValueError(
                "no OICP connection to serve (evroam oicp connect --operator-id ... | --provider-id ...)"
            )
        handlers: dict[str, Any] = {}
        if cpo is not None:
            self.cpo = CpoEndpoint(self.store, self.charge_point, self.clock, self.clients)
            handlers.update(self.cpo.handlers())
        if emp is not None:
            self.emp = EmpService(self.store, self.clock, self.clients, self.emp_listeners, self.emp_fallback)
            handlers.update(self.emp.handlers())
        self.roles = tuple(c.role for c in connections)
        handler = only_from(dispatcher(handlers), _from_hub(connections))
        self._server = await start_server(
            handler, self.host, self.requested_port, server_context(connections[0].tls)
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self.clients.aclose()
