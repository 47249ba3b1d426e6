"""An in-memory :class:`~evroam.store.port.Store` for tests, demos and simulations.

It behaves like the SQL store (same ordering, same case rules, same stale checks, same transaction
semantics); the shared test suite runs against both. Writes, and transactions, are serialised with an
:class:`asyncio.Lock`; a transaction works on a copy of the data and swaps it in on commit, so a
rolled-back transaction leaves no trace and readers never see uncommitted changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime, timedelta

import msgspec

from evroam.store._txguard import check_no_transaction, inside_transaction
from evroam.store.port import (
    ObjectKey,
    OutboxItem,
    OutboxStatus,
    Page,
    PutOutcome,
    StoredObject,
    Transaction,
    utc,
)

__all__ = ["MemoryStore"]

_Folded = tuple[str, str, str, str]


class _State:
    """Everything a store holds; copied at the start of a transaction."""

    __slots__ = ("next_outbox_id", "next_seq", "objects", "outbox", "settings")

    def __init__(self) -> None:
        # dicts keep insertion order and an update keeps the position: iteration is creation order
        self.objects: dict[_Folded, StoredObject] = {}
        self.settings: dict[str, str] = {}
        self.outbox: dict[int, OutboxItem] = {}
        self.next_seq = 1
        self.next_outbox_id = 1

    def copy(self) -> _State:
        clone = _State()
        clone.objects = dict(self.objects)
        clone.settings = dict(self.settings)
        clone.outbox = dict(self.outbox)
        clone.next_seq = self.next_seq
        clone.next_outbox_id = self.next_outbox_id
        return clone


def _matches(
    obj: StoredObject,
    country_code: str | None,
    party_id: str | None,
    partners: Collection[str | None] | None,
    date_from: datetime | None,
    date_to: datetime | None,
) -> bool:
    if country_code is not None and obj.country_code.casefold() != country_code:
        return False
    if party_id is not None and obj.party_id.casefold() != party_id:
        return False
    if partners is not None and obj.partner_id not in partners:
        return False
    if date_from is not None and obj.last_updated < date_from:
        return False
    return not (date_to is not None and obj.last_updated >= date_to)


class _MemoryOps:
    """The operations, applied to one :class:`_State`."""

    def __init__(self, state: _State) -> None:
        self._state = state

    # -- objects ---------------------------------------------------------------------------------

    async def get(self, key: ObjectKey, *, for_update: bool = False) -> StoredObject | None:
        return self._state.objects.get(key.folded)

    async def put(
        self,
        key: ObjectKey,
        payload: bytes,
        last_updated: datetime,
        *,
        partner_id: str | None = None,
        check_stale: bool = True,
    ) -> PutOutcome:
        stamp = utc(last_updated)
        folded = key.folded
        state = self._state
        current = state.objects.get(folded)
        if current is None:
            state.objects[folded] = StoredObject(
                kind=key.kind,
                country_code=str(key.country_code),
                party_id=str(key.party_id),
                object_id=str(key.object_id),
                last_updated=stamp,
                payload=bytes(payload),
                partner_id=partner_id,
                seq=state.next_seq,
                revision=1,
            )
            state.next_seq += 1
            return PutOutcome.CREATED
        if check_stale and current.last_updated > stamp:
            return PutOutcome.STALE
        state.objects[folded] = msgspec.structs.replace(
            current,
            last_updated=stamp,
            payload=bytes(payload),
            partner_id=partner_id,
            revision=current.revision + 1,
        )
        return PutOutcome.UPDATED

    async def delete(self, key: ObjectKey) -> bool:
        return self._state.objects.pop(key.folded, None) is not None

    def _select(
        self,
        kind: str,
        country_code: str | None,
        party_id: str | None,
        partners: Collection[str | None] | None,
        date_from: datetime | None,
        date_to: datetime | None,
    ) -> Iterator[StoredObject]:
        cc = None if country_code is None else country_code.casefold()
        pid = None if party_id is None else party_id.casefold()
        wanted = None if partners is None else frozenset(partners)
        start = None if date_from is None else utc(date_from)
        end = None if date_to is None else utc(date_to)
        for obj in self._state.objects.values():
            if obj.kind == kind and _matches(obj, cc, pid, wanted, start, end):
                yield obj

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
        _check_window(offset, limit)
        matching = list(self._select(kind, country_code, party_id, partners, date_from, date_to))
        end = None if limit is None else offset + limit
        return Page(matching[offset:end], len(matching))

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
        return sum(1 for _ in self._select(kind, country_code, party_id, partners, date_from, date_to))

    # -- settings --------------------------------------------------------------------------------

    async def get_setting(self, name: str) -> str | None:
        return self._state.settings.get(name)

    async def set_setting(self, name: str, value: str) -> None:
        self._state.settings[name] = value

    async def delete_setting(self, name: str) -> bool:
        return self._state.settings.pop(name, None) is not None

    # -- outbox ----------------------------------------------------------------------------------

    async def outbox_enqueue(
        self, partner_id: str, kind: str, object_key: str, payload: bytes, due_at: datetime
    ) -> int:
        due = utc(due_at)
        state = self._state
        item_id = state.next_outbox_id
        state.next_outbox_id += 1
        state.outbox[item_id] = OutboxItem(
            id=item_id,
            partner_id=partner_id,
            kind=kind,
            object_key=object_key,
            payload=bytes(payload),
            status=OutboxStatus.PENDING,
            attempts=0,
            due_at=due,
            last_error=None,
            created_at=due,
        )
        return item_id

    async def outbox_claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxItem]:
        if limit < 0:
            raise ValueError("limit must not be negative")
        at = utc(now)
        until = utc(at + lease)
        due = sorted(
            (
                item
                for item in self._state.outbox.values()
                if item.status in (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT) and item.due_at <= at
            ),
            key=lambda item: (item.due_at, item.id),
        )[:limit]
        claimed = []
        for item in due:
            new = msgspec.structs.replace(
                item, status=OutboxStatus.IN_FLIGHT, due_at=until, attempts=item.attempts + 1
            )
            self._state.outbox[item.id] = new
            claimed.append(new)
        return claimed

    def _finish(self, item_id: int, change: Callable[[OutboxItem], OutboxItem]) -> bool:
        item = self._state.outbox.get(item_id)
        if item is None or item.status != OutboxStatus.IN_FLIGHT:
            return False
        self._state.outbox[item_id] = change(item)
        return True

    async def outbox_mark_delivered(self, item_id: int, *, note: str | None = None) -> bool:
        if note is None:
            return self._finish(
                item_id, lambda item: msgspec.structs.replace(item, status=OutboxStatus.DELIVERED)
            )
        return self._finish(
            item_id,
            lambda item: msgspec.structs.replace(item, status=OutboxStatus.DELIVERED, last_error=note),
        )

    async def outbox_mark_failed(self, item_id: int, *, error: str, retry_at: datetime) -> bool:
        due = utc(retry_at)
        return self._finish(
            item_id,
            lambda item: msgspec.structs.replace(
                item, status=OutboxStatus.PENDING, due_at=due, last_error=error
            ),
        )

    async def outbox_mark_parked(self, item_id: int, *, error: str) -> bool:
        return self._finish(
            item_id,
            lambda item: msgspec.structs.replace(item, status=OutboxStatus.PARKED, last_error=error),
        )

    async def outbox_get(self, item_id: int) -> OutboxItem | None:
        return self._state.outbox.get(item_id)

    async def outbox_count(self, *, status: OutboxStatus | None = None, partner_id: str | None = None) -> int:
        return sum(
            1
            for item in self._state.outbox.values()
            if (status is None or item.status == status)
            and (partner_id is None or item.partner_id == partner_id)
        )

    async def outbox_depths(self) -> list[tuple[str, OutboxStatus, int, datetime, datetime]]:
        found: dict[tuple[str, OutboxStatus], tuple[int, datetime, datetime]] = {}
        for item in self._state.outbox.values():
            if item.status == OutboxStatus.DELIVERED:
                continue
            key = (item.partner_id, item.status)
            created = item.created_at or item.due_at
            jobs, due, oldest = found.get(key, (0, item.due_at, created))
            found[key] = (jobs + 1, min(due, item.due_at), min(oldest, created))
        return [(p, st, n, due, oldest) for (p, st), (n, due, oldest) in sorted(found.items())]

    async def outbox_purge_delivered(self) -> int:
        delivered = [i for i, item in self._state.outbox.items() if item.status == OutboxStatus.DELIVERED]
        for item_id in delivered:
            del self._state.outbox[item_id]
        return len(delivered)

    async def outbox_claim_objects(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxItem]:
        if limit < 0:
            raise ValueError("limit must not be negative")
        at = utc(now)
        until = utc(at + lease)
        groups: dict[tuple[str, str, str], list[OutboxItem]] = {}
        active = [
            item
            for item in self._state.outbox.values()
            if item.status in (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)
        ]
        for item in sorted(active, key=lambda item: item.id):
            groups.setdefault((item.partner_id, item.kind, item.object_key), []).append(item)
        due = sorted(
            (
                members
                for members in groups.values()
                if members[0].due_at <= at
                and not any(m.status == OutboxStatus.IN_FLIGHT and m.due_at > at for m in members)
            ),
            key=lambda members: (members[0].due_at, members[0].id),
        )[:limit]
        claimed = []
        for members in due:
            for item in members:
                new = msgspec.structs.replace(
                    item, status=OutboxStatus.IN_FLIGHT, due_at=until, attempts=item.attempts + 1
                )
                self._state.outbox[item.id] = new
                claimed.append(new)
        claimed.sort(key=lambda item: item.id)
        return claimed

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
        _check_window(offset, limit)
        matching = [
            item
            for _, item in sorted(self._state.outbox.items())
            if (status is None or item.status == status)
            and (partner_id is None or item.partner_id == partner_id)
            and (kind is None or item.kind == kind)
            and (object_key is None or item.object_key == object_key)
        ]
        end = None if limit is None else offset + limit
        return matching[offset:end]

    async def outbox_retry(self, item_id: int, *, due_at: datetime) -> bool:
        due = utc(due_at)
        item = self._state.outbox.get(item_id)
        if item is None or item.status != OutboxStatus.PARKED:
            return False
        self._state.outbox[item_id] = msgspec.structs.replace(
            item, status=OutboxStatus.PENDING, due_at=due, attempts=0
        )
        return True


def _check_window(offset: int, limit: int | None) -> None:
    if offset < 0:
        raise ValueError("offset must not be negative")
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")


class MemoryStore:
    """A :class:`~evroam.store.port.Store` kept in process memory. Nothing survives ``close()``."""

    def __init__(self) -> None:
        self._state = _State()
        self._lock = asyncio.Lock()

    def _reader(self) -> _MemoryOps:
        return _MemoryOps(self._state)

    @asynccontextmanager
    async def _writer(self) -> AsyncIterator[_MemoryOps]:
        check_no_transaction(self, "writing directly on the store")
        async with self._lock:
            # a single operation either completes or raises before changing anything
            yield _MemoryOps(self._state)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        check_no_transaction(self, "opening a nested transaction")
        async with self._lock:
            work = self._state.copy()
            with inside_transaction(self):
                yield _MemoryOps(work)
            self._state = work  # only reached without exception: commit

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        return self._transaction()

    async def migrate(self) -> None:
        return None

    def foreign_commits(self) -> int | None:
        return 0  # the data lives in this process: nobody else commits

    async def close(self) -> None:
        return None

    # -- objects ---------------------------------------------------------------------------------

    async def get(self, key: ObjectKey, *, for_update: bool = False) -> StoredObject | None:
        return await self._reader().get(key)

    async def put(
        self,
        key: ObjectKey,
        payload: bytes,
        last_updated: datetime,
        *,
        partner_id: str | None = None,
        check_stale: bool = True,
    ) -> PutOutcome:
        async with self._writer() as ops:
            return await ops.put(key, payload, last_updated, partner_id=partner_id, check_stale=check_stale)

    async def delete(self, key: ObjectKey) -> bool:
        async with self._writer() as ops:
            return await ops.delete(key)

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
        return await self._reader().find(
            kind,
            country_code=country_code,
            party_id=party_id,
            partners=partners,
            date_from=date_from,
            date_to=date_to,
            offset=offset,
            limit=limit,
        )

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
        return await self._reader().count(
            kind,
            country_code=country_code,
            party_id=party_id,
            partners=partners,
            date_from=date_from,
            date_to=date_to,
        )

    # -- settings --------------------------------------------------------------------------------

    async def get_setting(self, name: str) -> str | None:
        return await self._reader().get_setting(name)

    async def set_setting(self, name: str, value: str) -> None:
        async with self._writer() as ops:
            await ops.set_setting(name, value)

    async def delete_setting(self, name: str) -> bool:
        async with self._writer() as ops:
            return await ops.delete_setting(name)

    # -- outbox ----------------------------------------------------------------------------------

    async def outbox_enqueue(
        self, partner_id: str, kind: str, object_key: str, payload: bytes, due_at: datetime
    ) -> int:
        async with self._writer() as ops:
            return await ops.outbox_enqueue(partner_id, kind, object_key, payload, due_at)

    async def outbox_claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxItem]:
        async with self._writer() as ops:
            return await ops.outbox_claim(now, limit=limit, lease=lease)

    async def outbox_mark_delivered(self, item_id: int, *, note: str | None = None) -> bool:
        async with self._writer() as ops:
            return await ops.outbox_mark_delivered(item_id, note=note)

    async def outbox_mark_failed(self, item_id: int, *, error: str, retry_at: datetime) -> bool:
        async with self._writer() as ops:
            return await ops.outbox_mark_failed(item_id, error=error, retry_at=retry_at)

    async def outbox_mark_parked(self, item_id: int, *, error: str) -> bool:
        async with self._writer() as ops:
            return await ops.outbox_mark_parked(item_id, error=error)

    async def outbox_get(self, item_id: int) -> OutboxItem | None:
        return await self._reader().outbox_get(item_id)

    async def outbox_count(self, *, status: OutboxStatus | None = None, partner_id: str | None = None) -> int:
        return await self._reader().outbox_count(status=status, partner_id=partner_id)

    async def outbox_depths(self) -> list[tuple[str, OutboxStatus, int, datetime, datetime]]:
        return await self._reader().outbox_depths()

    async def outbox_purge_delivered(self) -> int:
        async with self._writer() as ops:
            return await ops.outbox_purge_delivered()

    async def outbox_claim_objects(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxItem]:
        async with self._writer() as ops:
            return await ops.outbox_claim_objects(now, limit=limit, lease=lease)

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
        return await self._reader().outbox_list(
            status=status,
            partner_id=partner_id,
            kind=kind,
            object_key=object_key,
            offset=offset,
            limit=limit,
        )

    async def outbox_retry(self, item_id: int, *, due_at: datetime) -> bool:
        async with self._writer() as ops:
            return await ops.outbox_retry(item_id, due_at=due_at)
