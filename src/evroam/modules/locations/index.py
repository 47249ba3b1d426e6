"""A compact, per-process listing of our own locations, for the Sender interface.

A Sender page must not read and re-encode a hundred documents per request, and a CPO with 100,000
locations must not hold them all in memory either. This index therefore keeps only what paging needs,
in creation order, in flat arrays: each location's ``seq`` (creation order), store ``revision`` and
``last_updated`` (as microseconds), and, for the few unpublished locations, who may see them
(``publish_allowed_to``): about 24 bytes per location. Offsets, totals and date filters are worked out
on those arrays; the documents of a page are read from the store (one ranged read), and each location's
encoded wire JSON per OCPI version is kept in a small LRU cache bounded in bytes
(:class:`EncodedCache`), checked against the row's ``revision``. A page partners read often is thus
spliced from memory; a full pull reads its pages from the database once.

It stays exact across processes: every change of one of our locations bumps the store's change log
(:func:`~evroam.modules.locations.repository.save_own_location`, in the change's transaction). Before
answering, the index reads that log (one small read) and reloads only the locations changed since the
generation it holds, or everything when the log no longer reaches back that far (the full reload reads
the documents in batches and keeps none of them). Where a read is a round trip to a database server
(PostgreSQL), concurrent requests share that small read (:class:`~evroam.core.shared_read.SharedRead`:
each gets the result of a read sent after it began, so none is answered from an older log); on SQLite,
read inline, each request reads it itself.
"""

from __future__ import annotations

import asyncio
import bisect
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import msgspec

from evroam.core.codec import decode
from evroam.core.shared_read import SharedRead
from evroam.model.locations import PublishTokenType
from evroam.registration.model import Partner
from evroam.store.port import ObjectKey, Operations, StoredObject

from .repository import CHANGE_LOG_KEY, LOCATION_KIND, ChangeLog

__all__ = ["EncodedCache", "IndexedLocation", "OwnLocationIndex", "may_see"]

Key = tuple[str, str, str]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RELOAD_BATCH = 2000
_FILTERS_KEPT = 8


def may_see(partner: Partner, allowed: tuple[PublishTokenType, ...]) -> bool:
    """Whether ``partner`` is named by an unpublished location's ``publish_allowed_to``.

    OCPI names *tokens* there (uid + type, visual_number + issuer, or group_id); a partner (the eMSP
    that issued them) matches an entry whose ``issuer`` is the business name of one of its roles,
    compared case-insensitively. (The push worker applies the same rule.)
    """
    return _named(_names(partner), allowed)


def _names(partner: Partner) -> frozenset[str]:
    """What :func:`may_see` knows of a partner: its roles' business names, case-folded."""
    return frozenset(role.name.casefold() for role in partner.roles)


def _named(names: frozenset[str], allowed: tuple[PublishTokenType, ...]) -> bool:
    return any(entry.issuer is not None and entry.issuer.casefold() in names for entry in allowed)


def _micros(value: datetime) -> int:
    """``value`` as whole microseconds since the epoch (exact, unlike a float timestamp)."""
    delta = value - _EPOCH if value.tzinfo is not None else value.replace(tzinfo=UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class _Visibility(msgspec.Struct):
    """The two fields of a location document the index keeps (the rest is skipped when decoding)."""

    publish: bool = True
    publish_allowed_to: tuple[PublishTokenType, ...] | None = None


class IndexedLocation:
    """One of our locations as served: its stored document and, per OCPI version, its wire JSON."""

    __slots__ = (
        "_cache",
        "_wire",
        "allowed",
        "document",
        "key",
        "last_updated",
        "publish",
        "revision",
        "seq",
        "size",
    )

    def __init__(self, found: StoredObject) -> None:
        seen: _Visibility = decode(found.payload, _Visibility)
        self.seq = found.seq
        self.revision = found.revision
        self.key: Key = found.key.folded[1:]
        self.document = found.payload
        self.last_updated: datetime = found.last_updated
        self.publish = seen.publish
        self.allowed = seen.publish_allowed_to or ()
        self._wire: dict[str, bytes] = {}
        self.size = len(found.payload) + 400  # the document and about what the object costs besides
        self._cache: EncodedCache | None = None

    def wire(self, version: str, render: Callable[[bytes], bytes]) -> bytes:
        """The location's wire JSON in ``version``; ``render(document)`` makes it the first time."""
        data = self._wire.get(version)
        if data is None:
            data = self._wire[version] = render(self.document)
            self.size += len(data)
            if self._cache is not None:
                self._cache.grew(len(data))
        return data


class EncodedCache:
    """The most recently served locations (:class:`IndexedLocation`, with their encoded wire JSON),
    by ``seq``, valid for one ``revision``; at most about ``max_bytes`` of documents and wire JSON.

    8 MB hold some 1,500 typical locations with their wire JSON in one version: the pages partners
    read over and over (the first pages, a listing's hot spots) are served from memory, a full pull
    walks through without growing the process."""

    def __init__(self, max_bytes: int = 8 * 1024 * 1024) -> None:
        self._entries: OrderedDict[int, IndexedLocation] = OrderedDict()
        self._max = max_bytes
        self._bytes = 0

    def get(self, seq: int, revision: int) -> IndexedLocation | None:
        entry = self._entries.get(seq)
        if entry is None or entry.revision != revision:
            return None
        self._entries.move_to_end(seq)
        return entry

    def add(self, entry: IndexedLocation) -> None:
        old = self._entries.pop(entry.seq, None)
        if old is not None:
            self._bytes -= old.size
            old._cache = None
        self._entries[entry.seq] = entry
        entry._cache = self
        self._bytes += entry.size
        self._trim()

    def grew(self, size: int) -> None:
        """An entry's wire JSON in one more version was made (it counts from then on)."""
        self._bytes += size
        self._trim()

    def _trim(self) -> None:
        while self._bytes > self._max and len(self._entries) > 1:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.size
            evicted._cache = None

    def __len__(self) -> int:
        return len(self._entries)


class OwnLocationIndex:
    """Our own locations (``partner_id`` ``None``) in creation order; see the module docstring."""

    def __init__(
        self, store: Operations, cache: EncodedCache | None = None, *, shared_reads: bool = False
    ) -> None:
        self._store = store
        # the change log read shared by concurrent refreshes (a read sent after each one began)
        self._log_read = SharedRead(self._read_log) if shared_reads else None
        self._generation = -1
        self._seqs = array("q")
        self._revisions = array("q")
        self._stamps = array("q")  # last_updated, microseconds since the epoch
        self._hidden: dict[int, tuple[PublishTokenType, ...]] = {}  # seq -> publish_allowed_to
        # (names or None, date_from, date_to) -> positions (into the arrays) matching, per generation
        self._filtered: dict[tuple[frozenset[str] | None, int | None, int | None], array[int]] = {}
        self._cache = EncodedCache() if cache is None else cache
        self._lock = asyncio.Lock()
        self._log_payload: bytes | None = None

    def __len__(self) -> int:
        return len(self._seqs)

    async def refresh(self) -> None:
        """Catch up with the store (one read when nothing changed)."""
        found = await (self._read_log() if self._log_read is None else self._log_read())
        if self._generation >= 0 and (None if found is None else found.payload) == self._log_payload:
            return
        async with self._lock:
            # read before the documents: they are at least as new
            found = await self._read_log()
            self._log_payload = None if found is None else found.payload
            log = ChangeLog() if found is None else decode(found.payload, ChangeLog)
            if log.generation == self._generation:
                return
            changed = log.since(self._generation) if self._generation >= 0 else None
            complete = False
            if changed is not None:
                complete = True
                for key in sorted(changed):
                    if not await self._reload(key):
                        complete = False
                        break
            if not complete:
                await self._reload_all()
            self._filtered = {}
            self._generation = log.generation

    async def _read_log(self) -> StoredObject | None:
        """The change log, read now (not shared: see :meth:`refresh`)."""
        return await self._store.get(CHANGE_LOG_KEY)

    async def _reload_all(self) -> None:
        seqs, revisions, stamps = array("q"), array("q"), array("q")
        hidden: dict[int, tuple[PublishTokenType, ...]] = {}
        offset = 0
        while True:  # in batches: the documents are read, never all kept
            page = await self._store.find(LOCATION_KIND, partners=[None], offset=offset, limit=_RELOAD_BATCH)
            for found in page.items:
                seqs.append(found.seq)
                revisions.append(found.revision)
                stamps.append(_micros(found.last_updated))
                seen: _Visibility = decode(found.payload, _Visibility)
                if not seen.publish:
                    hidden[found.seq] = seen.publish_allowed_to or ()
            if len(page.items) < _RELOAD_BATCH:
                break
            offset += len(page.items)
        self._seqs, self._revisions, self._stamps, self._hidden = seqs, revisions, stamps, hidden

    async def _reload(self, key: Key) -> bool:
        """Reload one changed location; ``False`` when only a full reload can tell (it was removed)."""
        found = await self._store.get(ObjectKey(LOCATION_KIND, *key))
        if found is None or found.partner_id is not None:
            return False  # gone (or no longer ours): where it was is not known here
        i = bisect.bisect_left(self._seqs, found.seq)
        stamp = _micros(found.last_updated)
        if i < len(self._seqs) and self._seqs[i] == found.seq:
            self._revisions[i] = found.revision
            self._stamps[i] = stamp
        else:
            self._seqs.insert(i, found.seq)
            self._revisions.insert(i, found.revision)
            self._stamps.insert(i, stamp)
        seen: _Visibility = decode(found.payload, _Visibility)
        if seen.publish:
            self._hidden.pop(found.seq, None)
        else:
            self._hidden[found.seq] = seen.publish_allowed_to or ()
        return True

    def _hidden_from(self, partner: Partner) -> frozenset[str] | None:
        """``None`` when ``partner`` sees every location, else its role names (what hides depends on)."""
        if not self._hidden:
            return None
        names = _names(partner)
        if all(_named(names, allowed) for allowed in self._hidden.values()):
            return None
        return names

    def _positions(
        self, names: frozenset[str] | None, date_from: int | None, date_to: int | None
    ) -> array[int] | None:
        """The positions (into the arrays) of the locations matching; ``None``: all of them."""
        if names is None and date_from is None and date_to is None:
            return None
        wanted = (names, date_from, date_to)
        positions = self._filtered.get(wanted)
        if positions is None:
            hidden = (
                set()
                if names is None
                else {seq for seq, allowed in self._hidden.items() if not _named(names, allowed)}
            )
            positions = array("q")
            seqs, stamps = self._seqs, self._stamps
            for i in range(len(seqs)):
                stamp = stamps[i]
                if date_from is not None and stamp < date_from:
                    continue
                if date_to is not None and stamp >= date_to:
                    continue
                if hidden and seqs[i] in hidden:
                    continue
                positions.append(i)
            if len(self._filtered) >= _FILTERS_KEPT:
                self._filtered.clear()
            self._filtered[wanted] = positions
        return positions

    async def get(
        self, partner: Partner, country_code: str, party_id: str, location_id: str
    ) -> IndexedLocation | None:
        """One location, unless it is unknown or hidden from ``partner`` (read from the store)."""
        found = await self._store.get(ObjectKey(LOCATION_KIND, country_code, party_id, location_id))
        if found is None or found.partner_id is not None:
            return None
        entry = self._cache.get(found.seq, found.revision)
        if entry is None:
            entry = IndexedLocation(found)
            self._cache.add(entry)
        if not entry.publish and not may_see(partner, entry.allowed):
            return None
        return entry

    async def page(
        self,
        partner: Partner,
        *,
        date_from: datetime | None,
        date_to: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[list[IndexedLocation], int]:
        """The locations visible to ``partner`` with ``date_from <= last_updated < date_to``, from
        ``offset`` (at most ``limit``), and how many match in all."""
        low = None if date_from is None else _micros(date_from)
        high = None if date_to is None else _micros(date_to)
        positions = self._positions(self._hidden_from(partner), low, high)
        total = len(self._seqs) if positions is None else len(positions)
        chosen: Sequence[int] = (
            range(offset, min(offset + limit, total))
            if positions is None
            else positions[offset : offset + limit]
        )
        entries: list[IndexedLocation | None] = []
        missing: list[int] = []  # positions of entries not in the cache
        for i in chosen:
            entry = self._cache.get(self._seqs[i], self._revisions[i])
            if entry is None:
                missing.append(i)
            entries.append(entry)
        if missing:
            loaded = await self._load(missing, date_from, date_to, low, high)
            for n, entry in enumerate(entries):
                if entry is None:
                    entries[n] = loaded.get(self._seqs[chosen[n]])
        return [entry for entry in entries if entry is not None], total

    async def _load(
        self,
        missing: list[int],
        date_from: datetime | None,
        date_to: datetime | None,
        low: int | None,
        high: int | None,
    ) -> dict[int, IndexedLocation]:
        """Read the locations at these positions from the store (one ranged read), into the cache."""
        first, last = missing[0], missing[-1]
        if low is None and high is None:
            start = first  # the arrays hold every one of our locations, in the store's order
        else:
            dated = self._positions(None, low, high)
            assert dated is not None
            start = bisect.bisect_left(dated, first)
            last = bisect.bisect_left(dated, last)
            first = start
        page = await self._store.find(
            LOCATION_KIND,
            partners=[None],
            date_from=date_from,
            date_to=date_to,
            offset=start,
            limit=last - first + 1,
        )
        wanted = {self._seqs[i] for i in missing}
        loaded: dict[int, IndexedLocation] = {}
        for found in page.items:
            if found.seq in wanted:
                entry = IndexedLocation(found)
                self._cache.add(entry)
                loaded[found.seq] = entry
        if len(loaded) < len(wanted):
            self._generation = -1  # the store moved under the index (a removal): reload it next time
        return loaded
