"""Putting a node together: configuration, store, clock, ids, the HTTP client, services and the app."""

from __future__ import annotations

import gc
import logging
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from evroam.compat import PartnerCompat
from evroam.core.clock import Clock, IdGenerator, SystemClock, UuidIds
from evroam.http.client import create_http_client
from evroam.http.outbound import outbound_policy_from_env
from evroam.http.server import AppConfig, ModuleBinding, create_app
from evroam.modules.locations import bindings as location_bindings
from evroam.modules.locations.service import LocationReceiver, LocationSender
from evroam.modules.tariffs import bindings as tariff_bindings
from evroam.modules.tariffs.service import TariffReceiver, TariffSender
from evroam.modules.tokens import bindings as tokens_http
from evroam.modules.tokens.service import TokenReceiver, TokenSender
from evroam.node.bindings import credentials_binding
from evroam.node.config import NodeConfig, load_config
from evroam.node.settings import Settings
from evroam.push.worker import PushWorker, options_from_env
from evroam.registration.api import HttpPartnerApi
from evroam.registration.model import PartyRole
from evroam.registration.repository import StorePartnerRepository
from evroam.registration.service import OwnPlatform, RegistrationService, version_key
from evroam.store.factory import create_store
from evroam.store.port import Store

__all__ = [
    "Node",
    "build_node",
    "cpo_parties",
    "data_bindings",
    "emsp_parties",
    "own_platform",
    "session_cdr_bindings",
    "token_bindings",
]

log = logging.getLogger(__name__)


def own_platform(config: NodeConfig) -> OwnPlatform:
    roles = tuple(
        PartyRole(
            role=p.role,
            country_code=p.country_code,
            party_id=p.party_id,
            name=p.name,
            website=p.website,
        )
        for p in config.parties
    )
    return OwnPlatform(
        versions_url=config.versions_url,
        roles=roles,
        versions=tuple(sorted(config.versions, key=version_key)),
        required_modules=tuple(config.required_modules),
    )


#: Roles whose node receives locations and tariffs pushed by CPOs (the Receiver interfaces).
RECEIVING_ROLES = frozenset({"EMSP", "NSP", "NAP", "SCSP", "OTHER"})


def cpo_parties(config: NodeConfig) -> list[tuple[str, str]]:
    """The node's own CPO parties ``(country_code, party_id)``: the owners of its locations and tariffs."""
    return [(p.country_code, p.party_id) for p in config.parties if p.role == "CPO"]


def emsp_parties(config: NodeConfig) -> list[tuple[str, str]]:
    """The node's own eMSP parties ``(country_code, party_id)``: the issuers of its tokens."""
    return [(p.country_code, p.party_id) for p in config.parties if p.role == "EMSP"]


def token_bindings(
    config: NodeConfig, store: Store, *, clock: Clock, ids: IdGenerator
) -> list[ModuleBinding]:
    """Tokens: the Sender interface (list, real-time authorization) when the node has an eMSP party,
    the Receiver interface when it has a CPO party."""
    out: list[ModuleBinding] = []
    issuers = emsp_parties(config)
    if issuers:
        sender = TokenSender(store, issuers, clock=clock, ids=ids)
        out.append(tokens_http.sender_binding(sender, config.url))
    if cpo_parties(config):
        out.append(tokens_http.receiver_binding(TokenReceiver(store)))
    return out


#: Roles whose node receives the sessions (and, without SCSP, the CDRs) CPOs push.
SESSION_RECEIVING_ROLES = frozenset({"EMSP", "SCSP", "OTHER"})
CDR_RECEIVING_ROLES = frozenset({"EMSP", "OTHER"})


def session_cdr_bindings(config: NodeConfig, store: Store, *, clock: Clock) -> list[ModuleBinding]:
    """Sessions and CDRs: the Sender interfaces when the node has a CPO party, the Receiver interfaces
    when it has a party that receives them (eMSP, OTHER; SCSP for sessions)."""
    from evroam.modules.cdrs import bindings as cdr_http
    from evroam.modules.cdrs.service import CdrReceiver, CdrSender
    from evroam.modules.sessions import bindings as session_http
    from evroam.modules.sessions.service import SessionReceiver, SessionSender

    out: list[ModuleBinding] = []
    parties = cpo_parties(config)
    if parties:
        out.append(session_http.sender_binding(SessionSender(store, clock, parties), config.url))
        out.append(cdr_http.sender_binding(CdrSender(store), config.url))
    roles = {p.role for p in config.parties}
    if roles & SESSION_RECEIVING_ROLES:
        out.append(session_http.receiver_binding(SessionReceiver(store)))
    if roles & CDR_RECEIVING_ROLES:
        out.append(cdr_http.receiver_binding(CdrReceiver(store), config.url))
    return out


def data_bindings(config: NodeConfig, store: Store) -> list[ModuleBinding]:
    """Locations and tariffs: the Sender interfaces when the node has a CPO party, the Receiver
    interfaces when it has a party that receives them (eMSP, NSP, NAP, SCSP, OTHER)."""
    out: list[ModuleBinding] = []
    parties = cpo_parties(config)
    if parties:
        out.append(location_bindings.sender_binding(LocationSender(store, parties), config.url))
        out.append(tariff_bindings.sender_binding(TariffSender(store), config.url))
    if any(p.role in RECEIVING_ROLES for p in config.parties):
        out.append(location_bindings.receiver_binding(LocationReceiver(store)))
        out.append(tariff_bindings.receiver_binding(TariffReceiver(store)))
    return out


@dataclass
class Node:
    """A configured node: its collaborators, ready for the CLI or for ``serve``."""

    config: NodeConfig
    store: Store
    http: Any
    clock: Clock
    ids: IdGenerator
    registration: RegistrationService
    compat: PartnerCompat | None = field(default=None, repr=False)
    """The partner compatibility layer (per-partner tolerances, :mod:`evroam.compat`)."""
    charge_point: Any = field(default=None, repr=False)
    """The CPO's chargers (an :class:`evroam.chargepoint.ChargePoint`); ``None``: no charger connection,
    commands are answered NOT_SUPPORTED. ``evroam simulate`` plugs the simulator in here."""
    startup_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)
    """Extra coroutines run when the app starts, after the store is migrated (e.g. the simulator)."""
    shutdown_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list, repr=False)
    """Extra coroutines run when the app stops, before the node closes."""
    _closed: bool = field(default=False, repr=False)
    _push: PushWorker | None = field(default=None, repr=False)

    def push_worker(self) -> PushWorker:
        """The node's push worker (created on first use; not running until :meth:`start_worker`).

        Tuned by ``EVROAM_PUSH_*`` environment variables (see :func:`evroam.push.worker.options_from_env`).
        """
        if self._push is None:
            self._push = PushWorker(
                self.store,
                self.http,
                clock=self.clock,
                ids=self.ids,
                rng=random.Random(),
                **options_from_env(os.environ),
            )
        return self._push

    async def start_worker(self) -> None:
        """Deliver the outbox in a background task of the running loop."""
        self.push_worker().start()

    async def stop_worker(self) -> None:
        """Let the worker finish its current pass and stop it (no-op when it does not run)."""
        if self._push is not None:
            await self._push.stop()

    async def start(self) -> None:
        await self.store.migrate()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.stop_worker()
        await self.http.aclose()
        await self.store.close()

    def app(self, *, worker: bool = True) -> Any:
        """The ASGI app: migrates the store on start-up, freezes the GC, closes everything on shutdown.

        With ``worker`` (the default) the push worker runs in the background while the app runs.
        """

        async def freeze() -> None:
            gc.collect()
            gc.freeze()
            log.info("node ready at %s (OCPI %s)", self.config.versions_url, ", ".join(self.config.versions))

        from evroam.modules.commands.setup import NodeCommands

        commands = NodeCommands.of(self)
        return create_app(
            AppConfig(
                base_url=self.config.url,
                endpoint_url=None if self.compat is None else self.compat.endpoint_url,
                versions=self.config.versions,
                registration=self.registration,
                clock=self.clock,
                ids=self.ids,
                bindings=(
                    credentials_binding(self.registration),
                    *data_bindings(self.config, self.store),
                    *token_bindings(self.config, self.store, clock=self.clock, ids=self.ids),
                    *session_cdr_bindings(self.config, self.store, clock=self.clock),
                    *commands.bindings(),
                ),
                on_startup=(
                    self.start,
                    freeze,
                    *((self.start_worker,) if worker else ()),
                    *self.startup_hooks,
                ),
                on_shutdown=(*self.shutdown_hooks, commands.close, self.close),
            )
        )


def build_node(
    settings: Settings,
    *,
    config: NodeConfig | None = None,
    store: Store | None = None,
    transport: Any = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    timeout: float = 10.0,
) -> Node:
    """Wire a node from ``settings`` (the data directory's ``node.json`` unless ``config`` is given).

    ``store``, ``transport`` (an httpx transport), ``clock`` and ``ids`` replace the real ones in tests.
    """
    config = config or load_config(settings.data_dir)
    clock = clock or SystemClock()
    ids = ids or UuidIds()
    store = store or create_store(settings.database_url, settings.data_dir)
    compat = PartnerCompat(store, clock)
    outbound = outbound_policy_from_env(os.environ, config.url)  # EVROAM_OUTBOUND_PRIVATE
    http = create_http_client(timeout=timeout, transport=transport, hooks=compat, outbound=outbound)
    platform = own_platform(config)
    api = HttpPartnerApi(http, clock=clock, ids=ids, default_version=platform.versions[-1])
    registration = RegistrationService(platform, StorePartnerRepository(store, clock), api, clock, ids)
    return Node(
        config=config, store=store, http=http, clock=clock, ids=ids, registration=registration, compat=compat
    )
