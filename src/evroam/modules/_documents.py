"""A generic document repository: one kind of store document holding one msgspec type.

The modules' repositories (locations, tariffs, sessions, CDRs, tokens) each keep one kind of document
keyed by the owner's ``(country_code, party_id, object_id)``; what they share (keys, encoding, a read,
a write, a page and a batched walk in creation order) lives here, and each module keeps only what its
format adds (records, indexes, delivery bookkeeping).

:class:`RequestRecords` is the same for the records of asynchronous requests (commands, charging
profiles): one kind per direction, keyed by the request id alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from evroam.core.codec import decode, encode
from evroam.store.port import ObjectKey, Operations, PutOutcome, StoredObject

__all__ = ["Direction", "Documents", "RequestRecord", "RequestRecords"]

D = TypeVar("D")


@dataclass(frozen=True, slots=True)
class Documents(Generic[D]):
    """Documents of ``kind``, each a ``type`` encoded with :func:`evroam.core.codec.encode`."""

    kind: str
    type: type[D]

    def key(self, country_code: str, party_id: str, object_id: str) -> ObjectKey:
        return ObjectKey(self.kind, country_code, party_id, object_id)

    def encode(self, document: D) -> bytes:
        """The document bytes."""
        return encode(document)

    def decode(self, payload: bytes) -> D:
        """Stored bytes back as the document."""
        return decode(payload, self.type)

    async def get(
        self, ops: Operations, country_code: str, party_id: str, object_id: str, *, for_update: bool = False
    ) -> StoredObject | None:
        """The raw stored record (case-insensitive key), or ``None``."""
        return await ops.get(self.key(country_code, party_id, object_id), for_update=for_update)

    async def load(
        self, ops: Operations, country_code: str, party_id: str, object_id: str, *, for_update: bool = False
    ) -> D | None:
        """The decoded document, or ``None``."""
        found = await self.get(ops, country_code, party_id, object_id, for_update=for_update)
        return None if found is None else self.decode(found.payload)

    async def put(
        self,
        ops: Operations,
        key: ObjectKey,
        document: D,
        last_updated: datetime,
        *,
        partner_id: str | None,
        check_stale: bool,
    ) -> PutOutcome:
        """Create or replace the document under ``key`` (see :meth:`Operations.put`)."""
        return await ops.put(
            key, self.encode(document), last_updated, partner_id=partner_id, check_stale=check_stale
        )

    async def page(
        self,
        ops: Operations,
        *,
        country_code: str | None = None,
        party_id: str | None = None,
        partners: Collection[str | None] | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> tuple[list[StoredObject], int]:
        """One page of raw records in creation order, and the total matching the filters."""
        page = await ops.find(
            self.kind,
            country_code=country_code,
            party_id=party_id,
            partners=partners,
            date_from=date_from,
            date_to=date_to,
            offset=offset,
            limit=limit,
        )
        return page.items, page.total

    async def walk(
        self,
        ops: Operations,
        *,
        country_code: str | None = None,
        party_id: str | None = None,
        partners: Collection[str | None] | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        batch: int = 500,
    ) -> AsyncIterator[StoredObject]:
        """Every raw record matching the filters, in creation order, read ``batch`` at a time.

        ``partners=[None]`` gives our own documents, ``partners=[partner_id]`` the ones received from
        that partner, ``None`` (the default) all of them.
        """
        offset = 0
        while True:
            items, _ = await self.page(
                ops,
                country_code=country_code,
                party_id=party_id,
                partners=partners,
                date_from=date_from,
                date_to=date_to,
                offset=offset,
                limit=batch,
            )
            for item in items:
                yield item
            if len(items) < batch:
                return
            offset += len(items)

    async def documents(
        self,
        ops: Operations,
        *,
        country_code: str | None = None,
        party_id: str | None = None,
        partners: Collection[str | None] | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        batch: int = 500,
    ) -> AsyncIterator[D]:
        """:meth:`walk`, each record decoded."""
        async for item in self.walk(
            ops,
            country_code=country_code,
            party_id=party_id,
            partners=partners,
            date_from=date_from,
            date_to=date_to,
            batch=batch,
        ):
            yield self.decode(item.payload)


class Direction(StrEnum):
    """Which side of an asynchronous request a record is: one we sent, or one a partner sent us."""

    SENT = "SENT"
    RECEIVED = "RECEIVED"


class RequestRecord(Protocol):
    """What :class:`RequestRecords` needs of a record."""

    @property
    def id(self) -> str: ...
    @property
    def direction(self) -> Direction: ...
    @property
    def partner_id(self) -> str | None: ...
    @property
    def last_updated(self) -> datetime: ...


R = TypeVar("R", bound=RequestRecord)


@dataclass(frozen=True, slots=True)
class RequestRecords(Generic[R]):
    """The records of one module's asynchronous requests: ``sent_kind`` / ``received_kind`` documents of
    ``type``, keyed by the request id (case-insensitive)."""

    sent_kind: str
    received_kind: str
    type: type[R]

    def kind(self, direction: Direction) -> str:
        return self.sent_kind if direction is Direction.SENT else self.received_kind

    def key(self, direction: Direction, request_id: str) -> ObjectKey:
        return ObjectKey(self.kind(direction), "", "", request_id)

    async def load(
        self, ops: Operations, direction: Direction, request_id: str, *, for_update: bool = False
    ) -> R | None:
        """The record of that request, or ``None``."""
        found = await ops.get(self.key(direction, request_id), for_update=for_update)
        return None if found is None else decode(found.payload, self.type)

    async def save(self, ops: Operations, record: R) -> None:
        """Insert or replace the record (no stale check: the services read-modify-write under a lock)."""
        await ops.put(
            self.key(record.direction, record.id),
            encode(record),
            record.last_updated,
            partner_id=record.partner_id,
            check_stale=False,
        )

    async def list(
        self,
        ops: Operations,
        direction: Direction,
        *,
        partners: Collection[str | None] | None = None,
        limit: int | None = None,
    ) -> list[R]:
        """Records in creation order; with ``limit``, the newest ``limit`` of them (still oldest first)."""
        kind = self.kind(direction)
        offset = 0
        if limit is not None:
            offset = max(0, await ops.count(kind, partners=partners) - limit)
        page = await ops.find(kind, partners=partners, offset=offset, limit=limit)
        return [decode(item.payload, self.type) for item in page.items]
