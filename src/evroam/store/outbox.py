"""What the services write into the outbox when one of our objects changes.

A service that changes one of our own objects (a location, an EVSE status, a tariff ...) calls
:func:`enqueue_change` **in the same transaction** as the change. It writes one outbox row per
registered partner that has the module's RECEIVER endpoint; the push worker
(:mod:`evroam.push.worker`) delivers them later. Which partners those are is the caller's
:class:`PartnerDirectory` (the node's is :class:`evroam.registration.directory.RegisteredPartners`).

Row layout (the store treats these columns as opaque):

* ``partner_id``: the partner to deliver to;
* ``kind``: the OCPI module (``"locations"``, ``"tariffs"`` ...);
* ``object_key``: the *top-level* object the change belongs to, case-folded —
  ``["nl","abc","loc1"]`` for a location and for any of its EVSEs and connectors — so that all changes
  of one object form one ordered group;
* ``payload``: the :class:`ObjectChange`, JSON-encoded.

PUT rows carry no body: the worker reads the object's *current* state at delivery time, so several
pending changes of one object coalesce into its latest state.

**Relays**: a change can also go to a destination that is not an OCPI partner (an OICP hub). A
:class:`Relay` stored under :data:`RELAY_KIND` says which modules' changes go to it and which kit's pusher
delivers them (``via``); the directory lists it as a :class:`PartnerTarget` with ``via`` and ``group`` set,
and :func:`enqueue_change` writes its rows under the ``via`` kit and one object key (``group``), so that
all of a relay's changes are delivered one after the other, in the order they happened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec

from evroam.core.codec import decode, encode
from evroam.store.port import Operations, Transaction

__all__ = [
    "METHODS",
    "RELAY_KIND",
    "ObjectChange",
    "PartnerDirectory",
    "PartnerTarget",
    "Relay",
    "decode_change",
    "enqueue_change",
    "object_group",
    "relay_targets",
]

METHODS = frozenset({"PUT", "PATCH", "DELETE"})


class ObjectChange(msgspec.Struct, frozen=True, kw_only=True):
    """One change of one of our objects, to be pushed to the partners that receive its module."""

    module: str
    """``"locations"`` | ``"tariffs"`` (later ``"sessions"``, ``"cdrs"``, ``"tokens"``)."""
    country_code: str
    """Owner of the object (our own party)."""
    party_id: str
    object_id: str
    """Location id / tariff id."""
    evse_uid: str | None = None
    connector_id: str | None = None
    method: str
    """``"PUT"`` | ``"PATCH"`` | ``"DELETE"``."""
    patch: bytes | None = None
    """For PATCH: a JSON object of the changed canonical fields (incl. ``last_updated``)."""


class PartnerTarget(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how to deliver one module's changes to one partner."""

    partner_id: str
    name: str
    version: str
    url: str
    """The partner's RECEIVER endpoint URL of the module."""
    token: str
    """The token the partner issued to us (sent in the Authorization header)."""
    token_encoding: str = "base64"
    country_code: str | None = None
    """The partner's own party (for OCPI-to-* routing headers), when it told us one."""
    party_id: str | None = None
    business_names: tuple[str, ...] = ()
    """The business names of the partner's roles (to match ``publish_allowed_to`` issuers)."""
    via: str | None = None
    """A relay's: the kit whose pusher delivers the rows (``None``: the module's own)."""
    group: str | None = None
    """A relay's: the one object key all its rows share (``None``: per object)."""


#: The store kind of :class:`Relay` documents (key: ``("", "", partner_id)``).
RELAY_KIND = "outbox_relay"


class Relay(msgspec.Struct, frozen=True, kw_only=True):
    """A destination that gets the changes of ``modules`` through the pusher of kit ``via``."""

    partner_id: str
    name: str
    modules: tuple[str, ...]
    via: str
    url: str

    def target(self) -> PartnerTarget:
        return PartnerTarget(
            partner_id=self.partner_id,
            name=self.name,
            version="2.2.1",  # unused by a relay's pusher; any modelled OCPI version
            url=self.url,
            token="",
            via=self.via,
            group=encode(["relay", self.partner_id.casefold()]).decode(),
        )


async def relay_targets(ops: Operations, module: str | None = None) -> list[PartnerTarget]:
    """The relays (for ``module``, or all of them) as targets, in creation order."""
    page = await ops.find(RELAY_KIND)
    relays: list[Relay] = [decode(item.payload, Relay) for item in page.items]
    return [r.target() for r in relays if module is None or module in r.modules]


class PartnerDirectory(Protocol):
    """Which registered partners receive a module, read through the caller's store operations."""

    async def receivers(self, ops: Operations, module: str) -> list[PartnerTarget]:
        """Every connected partner with the module's RECEIVER endpoint, in a stable order."""
        ...

    async def target(self, ops: Operations, partner_id: str, module: str) -> PartnerTarget | None:
        """That partner's RECEIVER of ``module``, or ``None`` when it has none (any more)."""
        ...


def object_group(country_code: str, party_id: str, object_id: str) -> str:
    """The outbox ``object_key`` of a top-level object: its case-folded owner and id."""
    return encode([country_code.casefold(), party_id.casefold(), object_id.casefold()]).decode()


def _check(change: ObjectChange) -> None:
    if change.method not in METHODS:
        raise ValueError(f"unknown change method {change.method!r}: use PUT, PATCH or DELETE")
    if change.connector_id is not None and change.evse_uid is None:
        raise ValueError("a connector change needs its evse_uid")
    if change.method == "PATCH":
        if change.patch is None:
            raise ValueError("a PATCH change needs its patch")
        if not isinstance(msgspec.json.decode(change.patch), dict):
            raise ValueError("a PATCH change's patch must be a JSON object")
    elif change.patch is not None:
        raise ValueError(f"a {change.method} change carries no patch (the current state is sent)")


def decode_change(payload: bytes) -> ObjectChange:
    """An outbox row's payload back as an :class:`ObjectChange`."""
    return decode(payload, ObjectChange)


async def enqueue_change(
    tx: Transaction, partners: PartnerDirectory, change: ObjectChange, now: datetime
) -> int:
    """In the caller's transaction: one outbox row per registered partner that has the module's
    RECEIVER endpoint (and may see the object: for locations, ``publish`` / ``publish_allowed_to``
    is checked at delivery time). Returns how many rows were written.

    Raises ``ValueError`` for a malformed change (unknown method, PATCH without patch ...).
    """
    _check(change)
    targets = await partners.receivers(tx, change.module)
    if not targets:
        return 0
    payload = encode(change)
    key = object_group(change.country_code, change.party_id, change.object_id)
    for target in targets:
        await tx.outbox_enqueue(
            target.partner_id, target.via or change.module, target.group or key, payload, now
        )
    return len(targets)
