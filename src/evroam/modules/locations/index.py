"""An in-memory listing of our own locations, kept per process, for the Sender interface.

A Sender page must not read and re-encode a hundred documents per request. This index holds, in
creation order, each of our locations' document, ``last_updated``, visibility (``publish`` /
``publish_allowed_to``) and, per OCPI version, its encoded wire JSON (rendered on first use). A page is
a slice of it, spliced from bytes.

It stays exact across processes: every change of one of our locations bumps the store's change log
(:func:`~evroam.modules.locations.repository.save_own_location`, in the change's transaction). Before
answering, the index reads that log (one small read) and reloads only the locations changed since the
generation it holds, or everything when the log no longer reaches back that far.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Callable
from datetime import datetime

from evroam.core.codec import decode
from evroam.model.locations import PublishTokenType
from evroam.registration.model import Partner
from evroam.store.port import ObjectKey, Operations, StoredObject

from .repository import CHANGE_LOG_KEY, LOCATION_KIND, ChangeLog, decode_location

__all__ = ["IndexedLocation", "OwnLocationIndex", "may_see"]

Key = tuple[str, str, str]


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


class IndexedLocation:
    """One of our locations in the index."""

    __slots__ = ("_wire", "allowed", "document", "key", "last_updated", "publish", "seq")

    def __init__(self, found: StoredObject) -> None:
        location = decode_location(found.payload)
        self.seq = found.seq
        self.key: Key = found.key.folded[1:]
        self.document = found.payload
        self.last_updated: datetime = found.last_updated
        self.publish = location.publish
        self.allowed = location.publish_allowed_to or ()
        self._wire: dict[str, bytes] = {}

    def wire(self, version: str, render: Callable[[bytes], bytes]) -> bytes:
        """The location's wire JSON in ``version``; ``render(document)`` makes it the first time."""
        data = self._wire.get(version)
        if data is None:
            data = self._wire[version] = render(self.document)
        return data


class OwnLocationIndex:
    """Our own locations (``partner_id`` ``None``) in creation order; see the module docstring."""

    def __init__(self, store: Operations) -> None:
        self._store = store
        self._generation = -1
        self._entries: list[IndexedLocation] = []
        self._seqs: list[int] = []
        self._by_key: dict[Key, IndexedLocation] = {}
        self._hidden: list[IndexedLocation] = []
        # per set of partner role names (all may_see depends on): the entries those partners see
        self._visible: dict[frozenset[str], list[IndexedLocation]] = {}
        self._lock = asyncio.Lock()
        self._log_payload: bytes | None = None

    async def refresh(self) -> None:
        """Catch up with the store (one read when nothing changed)."""
        found = await self._store.get(CHANGE_LOG_KEY)
        if self._generation >= 0 and (None if found is None else found.payload) == self._log_payload:
            return
        async with self._lock:
            found = await self._store.get(
                CHANGE_LOG_KEY
            )  # read before the documents: they are at least as new
            self._log_payload = None if found is None else found.payload
            log = ChangeLog() if found is None else decode(found.payload, ChangeLog)
            if log.generation == self._generation:
                return
            changed = log.since(self._generation) if self._generation >= 0 else None
            if changed is None:
                page = await self._store.find(LOCATION_KIND, partners=[None])
                self._entries = [IndexedLocation(found) for found in page.items]
                self._seqs = [entry.seq for entry in self._entries]
                self._by_key = {entry.key: entry for entry in self._entries}
            else:
                for key in changed:
                    await self._reload(key)
            self._hidden = [entry for entry in self._entries if not entry.publish]
            self._visible = {}
            self._generation = log.generation

    async def _reload(self, key: Key) -> None:
        found = await self._store.get(ObjectKey(LOCATION_KIND, *key))
        old = self._by_key.pop(key, None)
        if old is not None:
            i = bisect.bisect_left(self._seqs, old.seq)
            del self._entries[i], self._seqs[i]
        if found is None or found.partner_id is not None:
            return
        entry = IndexedLocation(found)
        i = bisect.bisect_left(self._seqs, entry.seq)
        self._entries.insert(i, entry)
        self._seqs.insert(i, entry.seq)
        self._by_key[key] = entry

    def _visible_to(self, partner: Partner) -> list[IndexedLocation]:
        """The entries ``partner`` may see, in creation order (computed once per index generation
        and set of role names, not per request: a store of 10,000 with a few unpublished locations
        would otherwise be filtered on every page)."""
        if not self._hidden:
            return self._entries
        names = _names(partner)
        visible = self._visible.get(names)
        if visible is None:
            hidden = {entry.key for entry in self._hidden if not _named(names, entry.allowed)}
            visible = (
                [entry for entry in self._entries if entry.key not in hidden] if hidden else self._entries
            )
            self._visible[names] = visible
        return visible

    def get(
        self, partner: Partner, country_code: str, party_id: str, location_id: str
    ) -> IndexedLocation | None:
        """One location, unless it is unknown or hidden from ``partner``."""
        entry = self._by_key.get((country_code.casefold(), party_id.casefold(), location_id.casefold()))
        if entry is None or (not entry.publish and not may_see(partner, entry.allowed)):
            return None
        return entry

    def page(
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
        visible = self._visible_to(partner)
        if date_from is None and date_to is None:
            return visible[offset : offset + limit], len(visible)
        matching = [
            entry
            for entry in visible
            if (date_from is None or entry.last_updated >= date_from)
            and (date_to is None or entry.last_updated < date_to)
        ]
        return matching[offset : offset + limit], len(matching)
