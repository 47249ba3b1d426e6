"""Putting a node together: configuration, store, clock, ids, the HTTP client, services and the app."""

from __future__ import annotations

import gc
import logging
import os
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from evroam.compat import PartnerCompat
from evroam.core.clock import Clock, IdGenerator, SystemClock, UuidIds
from evroam.http.bodies import max_body_bytes_from_env
from evroam.http.client import create_http_client
from evroam.http.outbound import outbound_policy_from_env
from evroam.modules.kit import ModuleBinding, OwnNode, OwnParty, Served
from evroam.node.bindings import credentials_binding
from evroam.node.config import ConfigError, NodeConfig, load_config
from evroam.node.settings import Settings
from evroam.ocpi.registry import spec_for
from evroam.registration.model import PartyRole
from evroam.registration.repository import StorePartnerRepository
from evroam.registration.service import OwnPlatform, RegistrationService, version_key
from evroam.store.factory import create_store
from evroam.store.port import Store

if TYPE_CHECKING:
    from evroam.http.dashboard import Dashboard
    from evroam.hub import Hub
    from evroam.node.kits import Kits
    from evroam.push.worker import PushWorker

__all__ = [
    "Node",
    "build_node",
    "cpo_parties",
    "emsp_parties",
    "metrics_listen",
    "own_node",
    "own_platform",
]

log = logging.getLogger(__name__)


class LazyHttpClient:
    """The node's one HTTP client (:func:`evroam.http.client.create_http_client`), made when first used:
    a CLI command that never calls a partner does not load httpx (about 50 ms of its start-up)."""

    __slots__ = ("_client", "_make")

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make: Callable[[], Any] | None = make
        self._client: Any = None

    @property
    def client(self) -> Any:
        """The httpx client (made now if it was not yet)."""
        if self._client is None:
            assert self._make is not None, "the node's HTTP client is closed"
            self._client = self._make()
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    async def aclose(self) -> None:
        self._make = None
        if self._client is not None:
            await self._client.aclose()


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


def cpo_parties(config: NodeConfig) -> list[tuple[str, str]]:
    """The node's own CPO parties ``(country_code, party_id)``: the owners of its locations and tariffs."""
    return own_node(config).cpo_parties()


def emsp_parties(config: NodeConfig) -> list[tuple[str, str]]:
    """The node's own eMSP parties ``(country_code, party_id)``: the issuers of its tokens."""
    return own_node(config).emsp_parties()


def own_node(config: NodeConfig) -> OwnNode:
    """The node's identity as the module kits see it."""
    return OwnNode(
        url=config.url,
        versions=tuple(config.versions),
        parties=tuple(OwnParty(p.country_code, p.party_id, p.role) for p in config.parties),
    )


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
    given_kits: Kits | None = field(default=None, repr=False)
    """The module kits the node serves, pushes, pulls and offers commands for; ``None``: the built-in
    ones and those of ``EVROAM_KITS``, loaded on first use (a CLI listing needs none of them)."""
    _closed: bool = field(default=False, repr=False)
    _push: PushWorker | None = field(default=None, repr=False)
    _hub: Any = field(default=None, repr=False)

    @property
    def is_hub(self) -> bool:
        """Whether the node is an OCPI hub (a party with role HUB)."""
        return any(p.role == "HUB" for p in self.config.parties)

    def hub(self) -> Hub:
        """The hub's routing and party registry (a hub node only; made on first use)."""
        if self._hub is None:
            from evroam.hub import Hub
            from evroam.ocpi.transport import PartyRef

            own = next(p for p in self.config.parties if p.role == "HUB")
            self._hub = Hub(
                registration=self.registration,
                http=self.http,
                clock=self.clock,
                ids=self.ids,
                base_url=self.config.url,
                own=PartyRef.of(own.country_code, own.party_id),
                versions=self.config.versions,
                store=self.store,
            )
        hub: Hub = self._hub
        return hub

    @property
    def kits(self) -> Kits:
        """The module kits (see :attr:`given_kits`)."""
        if self.given_kits is None:
            from evroam.node.kits import KITS_ENV, with_extra

            self.given_kits = with_extra(os.environ.get(KITS_ENV))
        return self.given_kits

    @property
    def own(self) -> OwnNode:
        """The node's URL, versions and parties (what the kits see of its configuration)."""
        return own_node(self.config)

    def push_worker(self) -> PushWorker:
        """The node's push worker (created on first use; not running until :meth:`start_worker`).

        Tuned by ``EVROAM_PUSH_*`` environment variables (see :func:`evroam.push.worker.options_from_env`).
        """
        if self._push is None:
            from evroam.node.kits import policies_of, pushers_of
            from evroam.push.worker import PushWorker, options_from_env

            self._push = PushWorker(
                self.store,
                self.http,
                clock=self.clock,
                ids=self.ids,
                rng=random.Random(),
                pushers=pushers_of(self.kits),
                **options_from_env(os.environ, policies_of(self.kits)),
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

    def served(self) -> Served:
        """What the node serves: the credentials binding and every kit's bindings, and what to close
        when it stops."""
        bindings: list[ModuleBinding] = [credentials_binding(self.registration)]
        closers: list[Callable[[], Awaitable[None]]] = []
        if self.is_hub:  # a hub routes every functional module; it hosts no objects of its own
            bindings.extend(self.hub().bindings())
            return Served(bindings=tuple(bindings), on_shutdown=(self.hub().stop,))
        for kit in self.kits:
            if kit.serve is None:
                continue
            served = kit.serve(self)
            bindings.extend(served.bindings)
            closers.extend(served.on_shutdown)
        return Served(bindings=tuple(bindings), on_shutdown=tuple(closers))

    async def openapi(self, version: str) -> dict[str, Any]:
        """The OpenAPI 3.1 document of the routes :meth:`app` serves in OCPI ``version`` (what
        ``GET /ocpi/{version}/openapi.json`` answers)."""
        if version not in self.config.versions:
            raise ConfigError(
                f"this node does not serve OCPI {version} (it serves {', '.join(self.config.versions)})"
            )
        from evroam.http.openapi import openapi_document  # loaded by the commands that need it only

        served = self.served()
        try:
            return openapi_document(
                spec_for(version), served.bindings, base_url=self.config.url, versions=self.config.versions
            )
        finally:
            for close in served.on_shutdown:
                await close()

    def dashboard(self) -> Dashboard:
        """The operator dashboard served at ``/dashboard`` (its own admin login, ``evroam admin``)."""
        from evroam.http.dashboard import Dashboard  # loaded by the app only, not by every command

        own = ", ".join(f"{p.country_code}*{p.party_id} {p.role}" for p in self.config.parties)
        return Dashboard(
            self.store,
            self.registration,
            self.clock,
            node_label=f"{own} - {self.config.url}",
            secure=self.config.url.startswith("https://"),
        )

    async def metrics(self, *, worker: bool) -> bytes:
        """The Prometheus exposition of ``/metrics``: the counters of this process (of every worker
        process in multiprocess mode) and the gauges read from the database now. A database that
        cannot be read leaves the gauges out (and is counted in ``evroam_database_errors_total``)."""
        from evroam.metrics import count_database_error, exposition
        from evroam.node.observability import snapshot
        from evroam.store.failures import storage_failure

        try:
            return exposition(await snapshot(self, worker=worker))
        except Exception as exc:
            failure = storage_failure(exc)
            if failure is None:
                raise
            count_database_error(failure.reason, "metrics")
            log.warning("/metrics without the database's gauges: it is unavailable (%s)", failure.reason)
            return exposition(None)

    def app(self, *, worker: bool = True, observe: bool = True) -> Any:
        """The ASGI app: migrates the store on start-up, freezes the GC, closes everything on shutdown.

        With ``worker`` (the default) the push worker runs in the background while the app runs.
        ``observe``: count each request in the metrics and log a line per request (see
        :func:`evroam.http.server.observed`; off only to measure what that costs, ``bench/observe.py``).
        """

        async def freeze() -> None:
            gc.collect()
            gc.freeze()
            log.info("node ready at %s (OCPI %s)", self.config.versions_url, ", ".join(self.config.versions))

        from evroam.http.server import AppConfig, create_app  # Litestar: only `serve` and tests load it
        from evroam.node.observability import MetricsAccess, Readiness

        served = self.served()
        metrics_server: list[Any] = []

        async def start_metrics_port() -> None:
            listen = metrics_listen(os.environ)
            if listen is None:
                return
            from evroam.http.serving import serve_metrics
            from evroam.metrics import CONTENT_TYPE

            server = await serve_metrics(
                listen[0], listen[1], lambda: self.metrics(worker=worker), CONTENT_TYPE
            )
            if server is not None:
                metrics_server.append(server)
                log.info("metrics at http://%s:%d/metrics", listen[0], listen[1])

        async def stop_metrics_port() -> None:
            for server in metrics_server:
                server.close()
                await server.wait_closed()

        return create_app(
            AppConfig(
                readiness=Readiness(self.store, (lambda: self.push_worker().running) if worker else None),
                metrics=lambda: self.metrics(worker=worker),
                metrics_allowed=MetricsAccess(self.store),
                observe=observe,
                web_routes=self.dashboard().routes(),
                base_url=self.config.url,
                endpoint_url=None if self.compat is None else self.compat.endpoint_url,
                request_body=None if self.compat is None else self.compat.request_body,
                max_body_bytes=max_body_bytes_from_env(os.environ),  # EVROAM_MAX_BODY_BYTES
                parties=[(p.country_code, p.party_id) for p in self.config.parties],
                versions=self.config.versions,
                registration=self.registration,
                clock=self.clock,
                ids=self.ids,
                bindings=served.bindings,
                on_startup=(
                    self.start,
                    start_metrics_port,
                    freeze,
                    *((self.start_worker,) if worker else ()),
                    *((self.hub().start,) if self.is_hub else ()),
                    *self.startup_hooks,
                ),
                on_shutdown=(stop_metrics_port, *self.shutdown_hooks, *served.on_shutdown, self.close),
            )
        )


METRICS_PORT_ENV = "EVROAM_METRICS_PORT"
METRICS_HOST_ENV = "EVROAM_METRICS_HOST"


def metrics_listen(env: Mapping[str, str]) -> tuple[str, int] | None:
    """Where ``/metrics`` is served on a port of its own (``EVROAM_METRICS_PORT``, on
    ``EVROAM_METRICS_HOST``, default 127.0.0.1), or ``None``. ``ValueError`` names a bad value."""
    text = env.get(METRICS_PORT_ENV, "").strip()
    if not text:
        return None
    try:
        port = int(text)
    except ValueError:
        raise ValueError(f"{METRICS_PORT_ENV} must be a port number, not {text!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"{METRICS_PORT_ENV} must be a port number (1-65535), not {port}")
    return env.get(METRICS_HOST_ENV, "").strip() or "127.0.0.1", port


async def prepare_store(settings: Settings) -> None:
    """Open the node's database, bring its schema up to date, write to it once, close it again.

    ``evroam serve`` calls it before it listens, so that a database it cannot use (read-only, full,
    unreachable) stops it with one line saying so rather than with a failed start-up's traceback, or
    with a node that answers every write with an error. (A schema at its head needs no write, so the
    setting ``node.writable`` is written to find out.)"""
    store = create_store(settings.database_url, settings.data_dir)
    try:
        await store.migrate()
        await store.set_setting("node.writable", "yes")
    finally:
        await store.close()


def build_node(
    settings: Settings,
    *,
    config: NodeConfig | None = None,
    store: Store | None = None,
    transport: Any = None,
    clock: Clock | None = None,
    ids: IdGenerator | None = None,
    timeout: float = 10.0,
    kits: Kits | None = None,
) -> Node:
    """Wire a node from ``settings`` (the data directory's ``node.json`` unless ``config`` is given).

    ``store``, ``transport`` (an httpx transport), ``clock`` and ``ids`` replace the real ones in tests;
    ``kits`` are the module kits (default: the built-in ones and those named in ``EVROAM_KITS``).
    """
    config = config or load_config(settings.data_dir)
    clock = clock or SystemClock()
    ids = ids or UuidIds()
    store = store or create_store(settings.database_url, settings.data_dir)
    compat = PartnerCompat(store, clock)
    outbound = outbound_policy_from_env(os.environ, config.url)  # EVROAM_OUTBOUND_PRIVATE
    http = LazyHttpClient(
        lambda: create_http_client(timeout=timeout, transport=transport, hooks=compat, outbound=outbound)
    )
    platform = own_platform(config)
    from evroam.registration.api import HttpPartnerApi  # with the HTTP client code, not with the module

    api = HttpPartnerApi(http, clock=clock, ids=ids, default_version=platform.versions[-1])
    registration = RegistrationService(platform, StorePartnerRepository(store, clock), api, clock, ids)
    return Node(
        config=config,
        store=store,
        http=http,
        clock=clock,
        ids=ids,
        registration=registration,
        compat=compat,
        given_kits=kits,
    )
