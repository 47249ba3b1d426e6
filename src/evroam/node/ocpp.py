"""A CPO node's OCPP central system (``evroam serve --ocpp-port P``): the chargers of the registry
(``evroam chargers``) behind the node's charge point port.

:func:`attach_ocpp` wires :class:`~evroam.chargepoint.ocpp.CentralSystem` to the node like
``evroam simulate`` wires the simulator: its events go to the :class:`~evroam.chargepoint.sink.OcpiSink`
(EVSE statuses, Sessions, priced CDRs, stored and pushed), id tags are decided by the tokens module's
:class:`~evroam.modules.tokens.AuthorizationService` (locally or in real time at the eMSP), commands and
charging profiles reach the chargers through ``node.charge_point``. The WebSocket endpoint starts with
the app, after the store is migrated and the open transactions are taken up again.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Sequence
from pathlib import Path

from evroam.chargepoint.ocpp import CentralSystem, ChargerRegistry, Decision, Journal, OcppServer
from evroam.chargepoint.port import ChargePointEvent
from evroam.chargepoint.sink import OcpiSink
from evroam.core.types import CiString
from evroam.model.enums import WhitelistType
from evroam.model.tokens import LocationReferences, Token
from evroam.modules.locations import LocationAdmin, iter_locations
from evroam.modules.tokens import AuthorizationService, OcpiRealTime, issuer_from_uid
from evroam.node.charging import StoredCatalogue, records_for
from evroam.node.sites import SmartSites
from evroam.node.smart import SiteConfig
from evroam.node.wiring import Node
from evroam.registration.directory import RegisteredPartners
from evroam.registration.repository import StorePartnerRepository
from evroam.sim.clock import ScaledTime

__all__ = ["attach_ocpp", "charger_authorizer"]

log = logging.getLogger(__name__)


def charger_authorizer(node: Node, *, timeout: float = 5.0) -> AuthorizationService:
    """The tokens module's decision service of ``node`` (real-time calls through its HTTP client)."""
    return AuthorizationService(
        node.store,
        StorePartnerRepository(node.store, node.clock),
        OcpiRealTime(node.http, clock=node.clock, ids=node.ids),
        parties=node.own.cpo_parties(),
        timeout=timeout,
    )


def attach_ocpp(
    node: Node,
    *,
    host: str,
    port: int,
    tls: ssl.SSLContext | None = None,
    heartbeat: int = 300,
    timeout: float = 30.0,
    worker: bool = True,
    smart_sites: Sequence[SiteConfig] = (),
    plan_path: Callable[[str], Path] | None = None,
) -> OcppServer:
    """Make ``node`` the central system of its registered chargers, listening on ``host:port``.

    ``heartbeat``: the interval (s) BootNotification answers ask for; ``timeout``: seconds a charger
    gets to answer a CALL; ``worker``: wake the node's push worker on every event; ``smart_sites``:
    the sites whose energy manager (``evroam smart site``) sets the chargers' limits (SetChargingProfile),
    ``plan_path`` where each one writes its plan."""
    parties = node.own.cpo_parties()
    if not parties:
        raise ValueError("an OCPP central system needs a node with a CPO party (`evroam init --role CPO`)")
    sink = OcpiSink(
        StoredCatalogue(node.store, parties),
        statuses=LocationAdmin(node.store, node.clock, RegisteredPartners(), parties),
        records=records_for(node, node.clock),
    )
    service = charger_authorizer(node)
    own = parties[0]

    async def authorize(uid: str, token_type: str, where: LocationReferences | None) -> Decision:
        decision = await service.authorize(uid, token_type, where)
        token = decision.token
        if token is None:  # nobody knows it: the session still needs a token (the charger charged)
            issuer = issuer_from_uid(uid) or own
            token = Token(
                country_code=CiString(issuer[0]),
                party_id=CiString(issuer[1]),
                uid=CiString(uid),
                type=token_type,
                contract_id=CiString(uid),
                issuer="unknown",
                valid=False,
                whitelist=WhitelistType.NEVER,
                last_updated=node.clock.now(),
            )
        log.info("OCPP: token %s: %s (%s)", uid, decision.outcome.value, decision.source)
        return Decision(
            outcome=decision.outcome.value,
            token=token,
            source=decision.source,
            authorization_reference=decision.authorization_reference,
        )

    central = CentralSystem(
        ChargerRegistry(node.store, node.clock),
        Journal(node.store, node.clock),
        node.clock,
        authorizer=authorize,
        resume=sink.resume,
        heartbeat=heartbeat,
    )
    central.subscribe(sink)

    async def wake_worker(event: ChargePointEvent) -> None:
        if worker:
            node.push_worker().wake()

    central.subscribe(wake_worker)
    node.charge_point = central
    server = OcppServer(central, host=host, port=port, tls=tls, timeout=timeout)

    sites = SmartSites()

    async def start() -> None:
        await central.load()
        await server.start()
        if smart_sites:  # one energy manager per site, in real time, over the central system
            locations = [location async for location in iter_locations(node.store, partners=[None])]
            time = ScaledTime(node.clock.now(), speed=1.0)
            await sites.start(
                smart_sites, locations, central, time, store=node.store, http=node.http, plan_path=plan_path
            )

    async def stop() -> None:
        await sites.close()
        await server.stop()

    node.startup_hooks.append(start)
    node.shutdown_hooks.append(stop)
    return server
