"""The storage port: what every store implementation offers, and the records it deals in.

The store keeps OCPI objects as opaque documents (``payload``: JSON bytes encoded by the caller),
addressed by a :class:`ObjectKey` (``kind`` + ``country_code`` + ``party_id`` + ``object_id``). The
three OCPI parts of the key compare case-insensitively; the spelling given when the object was
*created* is kept and returned. Each object also carries:

* ``last_updated``: a timezone-aware UTC timestamp, used for stale-update checks and date filters;
* ``seq``: a creation sequence number; listings are ordered by it ("oldest first"), and an update
  never changes it, so a paginating client sees a stable order;
* ``revision``: 1 on creation, incremented by each accepted update;
* ``partner_id``: an optional scope the services use for visibility (the partner an object came
  from, or the partner it concerns); ``None`` means "ours / not partner specific".

Every method exists twice with the same signature: on the :class:`Store` itself (each call is its own
small transaction) and on the :class:`Transaction` handed out by ``store.transaction()``, where all
calls commit or roll back together. Writing directly on the store while the same task holds an open
transaction on it raises :class:`RuntimeError` (it would bypass, or wait for, that transaction).

Besides objects the port offers a key/value table for node state (:meth:`Operations.get_setting`)
and a persisted outbox for push jobs (``outbox_*``), written in the same transaction as the object.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

import msgspec

from evroam.core.types import DateTime

__all__ = [
    "ObjectKey",
    "Operations",
    "OutboxItem",
    "OutboxStatus",
    "Page",
    "PutOutcome",
    "Store",
    "StoredObject",
    "Transaction",
    "utc",
]


def utc(value: datetime) -> DateTime:
    """``value`` as a UTC :class:`DateTime`; a naive datetime is refused (``ValueError``)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"the store needs timezone-aware datetimes, got naive {value.isoformat()}")
    return DateTime.from_datetime(value)


class ObjectKey(msgspec.Struct, frozen=True):
    """Where an object lives. ``kind`` is exact; the other three parts are case-insensitive.

    ``ObjectKey`` equality is plain (case-sensitive) field equality; use :attr:`folded` to compare
    keys the way the store does.
    """

    kind: str
    country_code: str
    party_id: str
    object_id: str

    @property
    def folded(self) -> tuple[str, str, str, str]:
        """The normalised key the store looks objects up by."""
        return (
            self.kind,
            self.country_code.casefold(),
            self.party_id.casefold(),
            self.object_id.casefold(),
        )


class StoredObject(msgspec.Struct, frozen=True):
    """One stored object, as returned by the store."""

    kind: str
    country_code: str
    party_id: str
    object_id: str
    last_updated: DateTime
    payload: bytes
    partner_id: str | None
    seq: int
    revision: int

    @property
    def key(self) -> ObjectKey:
        return ObjectKey(self.kind, self.country_code, self.party_id, self.object_id)


class PutOutcome(enum.StrEnum):
    """What :meth:`Operations.put` did."""

    CREATED = "created"
    UPDATED = "updated"
    STALE = "stale"
    """Nothing written: the stored object has a newer ``last_updated`` than the one given."""


class Page(NamedTuple):
    """One page of a listing and the number of objects matching the filters (ignoring offset/limit)."""

    items: list[StoredObject]
    total: int


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    """Waiting for ``due_at``."""
    IN_FLIGHT = "in_flight"
    """Claimed by a worker; ``due_at`` is the end of its lease, after which it may be claimed again."""
    DELIVERED = "delivered"
    PARKED = "parked"
    """Given up on; kept for an operator to look at."""


class OutboxItem(msgspec.Struct, frozen=True):
    """One push job. ``object_key`` and ``payload`` mean whatever the push layer wants them to mean."""

    id: int
    partner_id: str
    kind: str
    object_key: str
    payload: bytes
    status: OutboxStatus
    attempts: int
    due_at: DateTime
    last_error: str | None
    created_at: DateTime | None = None
    """When it was enqueued (the ``due_at`` given then; rows older than the column: see docs/storage.md)."""


class Operations(Protocol):
    """The methods offered both by a :class:`Store` and by a :class:`Transaction`."""

    # -- objects ---------------------------------------------------------------------------------

    async def get(self, key: ObjectKey, *, for_update: bool = False) -> StoredObject | None:
        """The object under ``key`` (case-insensitive), or ``None``.

        ``for_update=True`` inside a transaction locks the object until the end of the transaction
        (use it for read-modify-write such as PATCH when several workers share a database).
        """
        ...

    async def put(
        self,
        key: ObjectKey,
        payload: bytes,
        last_updated: datetime,
        *,
        partner_id: str | None = None,
        check_stale: bool = True,
    ) -> PutOutcome:
        """Insert or replace the object under ``key``.

        On replace, ``payload``, ``last_updated`` and ``partner_id`` are overwritten, ``revision`` is
        incremented, and the creation spelling of the key and the creation ``seq`` are kept. With
        ``check_stale`` (the default) nothing is written and :attr:`PutOutcome.STALE` is returned
        when the stored ``last_updated`` is newer than ``last_updated`` (an equal one is accepted).
        """
        ...

    async def delete(self, key: ObjectKey) -> bool:
        """Delete the object; ``True`` when there was one."""
        ...

    async def find(
        self,
        kind: str,
        *,
        country_code: str | None = None,
        party_id: str | None = None,
        partners: Collection[str | None] | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Page:
        """Objects of ``kind`` in creation order, with the total number matching the filters.

        ``country_code`` / ``party_id`` match case-insensitively. ``partners`` keeps objects whose
        ``partner_id`` is one of the given values (``None`` in it matches objects without partner);
        ``partners=None`` does not filter. ``date_from`` is inclusive and ``date_to`` exclusive, on
        ``last_updated``. ``limit=None`` means no limit.
        """
        ...

    async def count(
        self,
        kind: str,
        *,
        country_code: str | None = None,
        party_id: str | None = None,
        partners: Collection[str | None] | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
    ) -> int:
        """How many objects :meth:`find` would match with the same filters."""
        ...

    # -- settings (node state) -------------------------------------------------------------------

    async def get_setting(self, name: str) -> str | None: ...

    async def set_setting(self, name: str, value: str) -> None: ...

    async def delete_setting(self, name: str) -> bool: ...

    # -- outbox ----------------------------------------------------------------------------------

    async def outbox_enqueue(
        self, partner_id: str, kind: str, object_key: str, payload: bytes, due_at: datetime
    ) -> int:
        """Add a pending push job; returns its id (ids increase with enqueue order)."""
        ...

    async def outbox_claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxItem]:
        """Claim up to ``limit`` jobs that are due at ``now``, oldest ``due_at`` first.

        Due means PENDING with ``due_at <= now``, or IN_FLIGHT whose lease ran out (a worker died).
        Claimed jobs become IN_FLIGHT with ``due_at = now + lease`` and ``attempts + 1``; the returned
        items show that new state. Concurrent claimers never get the same job while its lease runs.
        """
        ...

    async def outbox_mark_delivered(self, item_id: int, *, note: str | None = None) -> bool:
        """IN_FLIGHT → DELIVERED. ``False`` when the job is not in flight (or unknown).

        ``note`` (e.g. "not pushed: location not published to this partner") is kept in
        ``last_error`` so that an operator listing the outbox sees why nothing was sent.
        """
        ...

    async def outbox_mark_failed(self, item_id: int, *, error: str, retry_at: datetime) -> bool:
        """IN_FLIGHT → PENDING again, due at ``retry_at``, remembering ``error``."""
        ...

    async def outbox_mark_parked(self, item_id: int, *, error: str) -> bool:
        """IN_FLIGHT → PARKED (no more attempts), remembering ``error``."""
        ...

    async def outbox_get(self, item_id: int) -> OutboxItem | None: ...

    async def outbox_count(
        self, *, status: OutboxStatus | None = None, partner_id: str | None = None
    ) -> int: ...

    async def outbox_purge_delivered(self) -> int:
        """Delete DELIVERED jobs; returns how many."""
        ...

    async def outbox_depths(self) -> list[tuple[str, OutboxStatus, int, datetime, datetime]]:
        """Per partner and status other than DELIVERED: ``(partner_id, status, jobs, earliest due_at,
        earliest created_at)`` (what ``/metrics`` shows of the outbox), in partner and status order."""
        ...

    async def outbox_claim_objects(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxItem]:
        """Claim every active job of up to ``limit`` objects that are due, in id order.

        Jobs form one ordered group per ``(partner_id, kind, object_key)``. A group is due when none
        of its jobs is IN_FLIGHT under a running lease and its oldest active job (lowest id among
        PENDING and IN_FLIGHT) is due at ``now`` (PENDING with ``due_at <= now``, or a lease that ran
        out). Groups are taken oldest ``due_at`` of that job first. *All* PENDING and IN_FLIGHT jobs
        of a taken group are claimed, whatever their own ``due_at`` (a group is delivered as a whole,
        so a later change never overtakes an earlier one, and one object is never in flight twice):
        they become IN_FLIGHT with ``due_at = now + lease`` and ``attempts + 1``. Concurrent claimers
        never get jobs of the same group while its lease runs.
        """
        ...

    async def outbox_list(
        self,
        *,
        status: OutboxStatus | None = None,
        partner_id: str | None = None,
        kind: str | None = None,
        object_key: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[OutboxItem]:
        """Jobs matching the filters (all of them when none is given), in id order."""
        ...

    async def outbox_retry(self, item_id: int, *, due_at: datetime) -> bool:
        """PARKED → PENDING again, due at ``due_at``, with ``attempts`` back to 0 (``last_error`` is
        kept). ``False`` when the job is not parked (or unknown)."""
        ...


class Transaction(Operations, Protocol):
    """A unit of work: everything done through it commits together, or not at all."""


class Store(Operations, Protocol):
    """A store. Each method call on it is atomic on its own; group calls with :meth:`transaction`."""

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """``async with store.transaction() as tx:`` commits on normal exit, rolls back on exception."""
        ...

    async def migrate(self) -> None:
        """Bring the schema up to date (idempotent)."""
        ...

    def foreign_commits(self) -> int | None:
        """A number that stays the same as long as nobody else (another process, another store on the
        same database) has committed a change; ``None`` when this store cannot tell.

        Cheap enough for every request: a cache of stored data may skip re-reading it while the number
        is unchanged and its own process made no change (``None``: always re-read).
        """
        ...

    async def close(self) -> None:
        """Release connections. The store must not be used afterwards."""
        ...
