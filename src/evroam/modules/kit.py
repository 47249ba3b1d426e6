"""Module kits: everything a node needs from one OCPI module, in one object.

Each package ``evroam.modules.<name>`` exports one :class:`ModuleKit` (``LOCATIONS``, ``TARIFFS`` ...).
The node iterates over the kits it is given and never names a module:

* :attr:`ModuleKit.serve` — the HTTP bindings per role (which interfaces a node with these parties
  serves; every OCPI version of the node's version tables is served by the same handlers);
* :attr:`ModuleKit.pusher` — turns one outbox delivery into a request (the push worker is generic);
* :attr:`ModuleKit.pull` — how ``evroam sync`` reads, stores and removes the module's objects;
* :attr:`ModuleKit.commands` — its ``evroam <name> ...`` command group(s), which reach their node with
  :func:`run_node`;
* :attr:`ModuleKit.lookups` — the functions other modules may call (modules reach each other only
  through these, never through each other's submodules).

This file also holds the framework-free contract between the HTTP server and the modules' bindings
(:class:`ModuleBinding`, :class:`OcpiCall`, :class:`OcpiAnswer`), the pusher contract
(:class:`Pusher`, :class:`Delivery`, :class:`Outgoing`, :class:`Skip`), and :class:`NodeContext`,
what a kit's factories and commands see of the node. It imports nothing above the modules' layer.

See ``docs/architecture.md`` ("Adding a module").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import click

from evroam.core.clock import Clock, IdGenerator
from evroam.core.status import StatusCode
from evroam.modules.output import emit
from evroam.ocpi.converters import VersionConverters
from evroam.ocpi.table import EndpointSpec, InterfaceRole, ModuleSpec, VersionSpec
from evroam.ocpi.transport import MessageHeaders
from evroam.registration.model import Caller
from evroam.registration.service import RegistrationService, version_key
from evroam.store.outbox import ObjectChange, PartnerTarget
from evroam.store.port import Operations, Store

__all__ = [
    "DATA_RECEIVING_ROLES",
    "RUNNER_KEY",
    "BoundEndpoint",
    "Delivery",
    "DeliveryTerms",
    "Handler",
    "ModuleBinding",
    "ModuleKit",
    "NodeContext",
    "NodeRunner",
    "OcpiAnswer",
    "OcpiCall",
    "Outgoing",
    "OwnNode",
    "OwnParty",
    "PullSpec",
    "Pusher",
    "Served",
    "Skip",
    "Stored",
    "bound_endpoints",
    "bound_interfaces",
    "emit",
    "module_path",
    "run_node",
]

L = TypeVar("L")
T = TypeVar("T")

#: Roles whose node receives the locations and tariffs CPOs push (their Receiver interfaces).
DATA_RECEIVING_ROLES = frozenset({"EMSP", "NSP", "NAP", "SCSP", "OTHER"})

# -- what the node is, as the modules see it ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnParty:
    """One party (and role) the node hosts."""

    country_code: str
    party_id: str
    role: str


@dataclass(frozen=True, slots=True)
class OwnNode:
    """The node's own identity: its public base URL, the OCPI versions it serves and its parties."""

    url: str
    versions: tuple[str, ...]
    parties: tuple[OwnParty, ...]

    def parties_in(self, roles: Iterable[str]) -> list[tuple[str, str]]:
        """``(country_code, party_id)`` of the parties with one of ``roles``, in configuration order."""
        wanted = frozenset(roles)
        return [(p.country_code, p.party_id) for p in self.parties if p.role in wanted]

    def has_role(self, roles: Iterable[str]) -> bool:
        wanted = frozenset(roles)
        return any(p.role in wanted for p in self.parties)

    def cpo_parties(self) -> list[tuple[str, str]]:
        """The CPO parties: the owners of the node's locations, tariffs, sessions and CDRs."""
        return self.parties_in(("CPO",))

    def emsp_parties(self) -> list[tuple[str, str]]:
        """The eMSP parties: the issuers of the node's tokens."""
        return self.parties_in(("EMSP",))

    def newest_version(self) -> str:
        return sorted(self.versions, key=version_key)[-1]


class NodeContext(Protocol):
    """What a kit's factories and commands get from the node (the node's ``Node`` satisfies it)."""

    @property
    def own(self) -> OwnNode: ...
    @property
    def store(self) -> Store: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def ids(self) -> IdGenerator: ...
    @property
    def http(self) -> Any:
        """The node's outbound HTTP client (an ``httpx.AsyncClient``)."""
        ...

    @property
    def registration(self) -> RegistrationService: ...
    @property
    def charge_point(self) -> Any:
        """The CPO's chargers (an :class:`evroam.chargepoint.ChargePoint`), or ``None``."""
        ...


# -- the HTTP contract (framework-free; the server turns bindings into routes) --------------------------


@dataclass(frozen=True, slots=True)
class OcpiCall:
    """One authenticated request to a bound endpoint, free of any web framework."""

    spec: VersionSpec
    module: ModuleSpec
    interface: InterfaceRole
    endpoint: EndpointSpec
    caller: Caller
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    """The request body decoded as ``endpoint.request`` (``None`` when the endpoint takes none)."""
    headers: MessageHeaders


@dataclass(frozen=True, slots=True)
class OcpiAnswer:
    """What a handler returns: the envelope's ``data`` and codes, and extra response headers."""

    data: Any = None
    status_code: int = StatusCode.SUCCESS
    status_message: str | None = None
    http_status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    """A complete response body to send as it is (a hub forwarding a partner's envelope); ``data``,
    ``status_code`` and ``status_message`` are then ignored."""


Handler = Callable[[OcpiCall], Awaitable[OcpiAnswer]]


@dataclass(frozen=True, slots=True)
class ModuleBinding:
    """The handlers of one module interface, by endpoint name (``EndpointSpec.name``).

    ``specs`` gives the module's endpoints per OCPI version for a module the version tables do not
    list (a custom module); a module of the tables needs none.
    """

    module: str
    interface: InterfaceRole
    handlers: Mapping[str, Handler]
    specs: Mapping[str, ModuleSpec] = field(default_factory=dict)
    raw: bool = False
    """The handlers get the request body as bytes, undecoded (``OcpiCall.body``), and no check of the
    routing headers against the node's parties is made: a hub forwards what it is given."""


def module_path(spec: VersionSpec, module: ModuleSpec, interface: InterfaceRole) -> str:
    """The path of a module interface's base URL: ``/ocpi/{version}/{module}`` for configuration
    modules, ``/ocpi/{version}/{sender|receiver}/{module}`` for functional ones."""
    if module.configuration:
        return f"/ocpi/{spec.number}/{module.id}"
    return f"/ocpi/{spec.number}/{interface.value.lower()}/{module.id}"


def bound_interfaces(
    spec: VersionSpec, bindings: Iterable[ModuleBinding]
) -> list[tuple[ModuleSpec, InterfaceRole, ModuleBinding]]:
    """The module interfaces ``bindings`` serve in ``spec``'s version, in binding order: a binding
    counts when the version table (or the binding's own ``specs``) gives its interface endpoints."""
    out = []
    for binding in bindings:
        module = spec.modules.get(binding.module) or binding.specs.get(spec.number)
        if module is not None and module.endpoints(binding.interface):
            out.append((module, binding.interface, binding))
    return out


@dataclass(frozen=True, slots=True)
class BoundEndpoint:
    """One endpoint a node serves: its route ``path`` (``{name}`` placeholders) and its handler."""

    path: str
    module: ModuleSpec
    interface: InterfaceRole
    endpoint: EndpointSpec
    handler: Handler
    raw: bool = False
    """The binding takes bodies undecoded (:attr:`ModuleBinding.raw`)."""


def bound_endpoints(spec: VersionSpec, bindings: Iterable[ModuleBinding]) -> list[BoundEndpoint]:
    """Every endpoint ``bindings`` serve in ``spec``'s version (those with a handler), in table order.

    The HTTP server makes its routes from this list and the OpenAPI document
    (:mod:`evroam.http.openapi`) describes the same list, so the two cannot drift apart."""
    out = []
    for module, interface, binding in bound_interfaces(spec, bindings):
        base = module_path(spec, module, interface)
        for endpoint in module.endpoints(interface):
            handler = binding.handlers.get(endpoint.name)
            if handler is None:
                continue
            path = f"{base}/{endpoint.path}" if endpoint.path else base
            out.append(BoundEndpoint(path, module, interface, endpoint, handler, binding.raw))
    return out


@dataclass(frozen=True, slots=True)
class Served:
    """What a kit serves on one node: its bindings, and what to close when the node stops."""

    bindings: Sequence[ModuleBinding] = ()
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = ()


# -- push ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Delivery:
    """One request to make for a group of changes of one object.

    ``method`` ``"PUT"`` means "send the current state of the scope" (for a whole object that no
    longer exists: DELETE it where the module allows it); ``"PATCH"`` sends the current values of
    ``fields`` (plus ``last_updated``). The scope is the whole object when ``evse_uid`` is ``None``.
    ``items`` are the outbox job ids the request settles.
    """

    method: str
    evse_uid: str | None
    connector_id: str | None
    fields: tuple[str, ...]
    items: tuple[int, ...]


class Outgoing(NamedTuple):
    """One HTTP request: ``path`` are the URL segments after the receiver endpoint (empty: the
    endpoint URL itself)."""

    method: str
    path: tuple[str, ...]
    body: Any = None
    params: Mapping[str, str] | None = None
    """Query parameters (e.g. a token's ``type``)."""
    url: str | None = None
    """An absolute URL to call instead of the endpoint and ``path`` (e.g. a request's ``response_url``)."""


class Skip(NamedTuple):
    """Nothing to send, and why (kept as the job's note)."""

    note: str


class Pusher(Protocol):
    """Turns one :class:`Delivery` of a module into a request, reading the current state.

    Optional hooks the worker looks for: ``settled_by(exc)`` may turn a partner's refusal into
    "already delivered" (a note), ``acknowledged(ops, target, change, outgoing, response)`` sees
    each successful answer, ``addressee(ops, change)`` names the party ``(country_code, party_id)`` an
    object is for when it is not the partner's own party (a session's or CDR's eMSP behind a hub: the
    ``OCPI-to`` of the request), and ``target(ops, partner_id)`` says where and how to reach the partner
    (a :class:`~evroam.store.outbox.PartnerTarget`, ``None``: not reachable) for a module that pushes
    to something else than the partner's RECEIVER endpoint of the module.
    """

    @property
    def module(self) -> str: ...

    async def prepare(
        self,
        ops: Operations,
        conv: VersionConverters,
        target: PartnerTarget,
        change: ObjectChange,
        delivery: Delivery,
    ) -> Outgoing | Skip: ...


@dataclass(frozen=True, slots=True)
class DeliveryTerms:
    """How hard the push worker tries: by default it parks a job after the policy's attempts;
    ``retry_forever`` never gives up (CDRs are money), ``escalate_after`` reports a job that stays
    undelivered that long at error level (then after twice as long, and so on)."""

    retry_forever: bool = False
    escalate_after: timedelta | None = None


# -- pull ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored object found by :attr:`PullSpec.load`: who it was received from (``None``: ours)."""

    partner_id: str | None
    obj: Any


@dataclass(frozen=True, slots=True)
class PullSpec:
    """How ``evroam sync`` pulls a module from a partner's Sender interface.

    The canonical objects it handles have ``country_code``, ``party_id`` and ``last_updated`` and
    compare by value.
    """

    owner_role: str
    """The partner's role that owns the objects (named in ``OCPI-to-*``)."""
    us: str
    """Our role in this pull."""
    wire_type: Callable[[str], Any]
    """The wire class of one object in an OCPI version, ``None`` when the version has none."""
    to_model: Callable[[str, Any, str, str], Any]
    """``(version, wire object, country_code, party_id)`` -> the canonical object (the owner is used by
    versions whose objects carry none). Raises ``ValidationFailed``/``NotRepresentable``/``ValueError``."""
    object_id: Callable[[Any], str]
    load: Callable[[Operations, Any], Awaitable[Stored | None]]
    """The stored object with the same key, read for update."""
    save: Callable[[Operations, Any, str], Awaitable[None]]
    """Store the object as received from the partner (id given)."""
    immutable: bool = False
    """A stored one is never replaced (CDRs)."""
    needs_date_from: bool = False
    """Every request carries a ``date_from`` (sessions)."""
    remove_absent: Callable[[Store, str, AbstractSet[tuple[str, str, str]], Clock], Awaitable[int]] | None = (
        None
    )
    """After a complete full listing: mark removed what the partner (id given) no longer lists;
    the set holds the case-folded ``(country_code, party_id, object_id)`` seen. Returns how many."""
    help: str = ""
    """The help of ``evroam sync <module>`` (empty: a generic one)."""
    any_party: bool = False
    """The objects describe other parties than the partner's own (a hub's HubClientInfo): they are not
    refused for that."""


# -- commands ------------------------------------------------------------------------------------------

#: Where the CLI puts its :class:`NodeRunner` in click's context (``ctx.meta``).
RUNNER_KEY = "evroam.node_runner"


class NodeRunner(Protocol):
    """Builds the node of the current settings, runs ``action`` on it and closes it (the CLI's)."""

    def __call__(self, action: Callable[[NodeContext], Awaitable[T]]) -> T: ...


def run_node(action: Callable[[NodeContext], Awaitable[T]]) -> T:
    """Run ``action`` on the node of the current settings, through the runner the CLI installed."""
    runner: NodeRunner | None = click.get_current_context().meta.get(RUNNER_KEY)
    if runner is None:
        raise click.UsageError("no node to run on: call this command through the evroam CLI")
    return runner(action)


# -- the kit -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleKit(Generic[L]):
    """One module, as the node sees it (see the module docstring)."""

    name: str
    """The OCPI module id (``"locations"``): its routes, outbox rows, endpoints and sync name."""
    lookups: L
    """The functions other modules may call (a frozen dataclass of functions)."""
    serve: Callable[[NodeContext], Served] | None = None
    pusher: Pusher | None = None
    delivery: DeliveryTerms = DeliveryTerms()
    pull: PullSpec | None = None
    commands: Sequence[click.Command] = ()
    """Its command groups; a group named like one already there (``tariffs``) joins it."""
