"""Partners and issued tokens kept as documents in the evroam store.

* kind ``partner``: one document per partner, object id = the partner's id;
* kind ``credentials_token``: one document per token we issued, object id = the token's SHA-256 digest,
  so that finding the partner behind a presented token is one indexed get;
* kind ``registration_generation``: one document whose store ``revision`` counts the commits of
  :meth:`StorePartnerRepository.commit` (the put in the same transaction bumps it atomically, also
  between processes and on PostgreSQL).

Authentication happens on every request, so :meth:`StorePartnerRepository.lookup` answers from memory:
the issued token and its partner, by digest, as long as the generation read from the store (one small
indexed read) is the one they were read at. Any commit, in this process or in another one sharing the
store (e.g. ``evroam partners unregister`` while ``evroam serve`` runs), bumps the generation, so the
next request reads afresh: there is no staleness window.

Concurrent requests share that read: a read sent after a request began serves every request waiting
when it was sent (:class:`~evroam.core.shared_read.SharedRead`), so under load one round trip serves
many requests, and none is answered from a generation read before it began.

Even that read is skipped while it cannot have changed: when the store tells that nobody else has
committed since (:meth:`~evroam.store.port.Store.foreign_commits`: SQLite's ``data_version``, which
another process's commit changes) and no repository of this process committed on that store either.
Under a stream of writes, the read costs more than its few bytes suggest: each commit on SQLite's
write connection makes the read connection drop its page cache.

Neither kind belongs to an OCPI party, so their ``country_code`` and ``party_id`` are empty; the store's
``partner_id`` column holds the partner's id.

Partner documents are read with :func:`decode_partner`, which also reads the shape written before the
partner's roles became canonical :class:`~evroam.model.CredentialsRole` records (flat roles:
``{role, country_code, party_id, name, website}``). Such a document is rewritten in the current shape
the next time its partner is saved; nothing rewrites it before.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

import msgspec

from evroam.core.clock import Clock
from evroam.core.codec import convert, decode, encode
from evroam.core.errors import ValidationFailed
from evroam.core.shared_read import SharedRead
from evroam.core.types import CiString
from evroam.model import BusinessDetails, CredentialsRole, Role
from evroam.registration.model import IssuedToken, Partner
from evroam.store.port import ObjectKey, Operations, Store

__all__ = [
    "CREDENTIALS_TOKEN_KIND",
    "GENERATION_KIND",
    "PARTNER_KIND",
    "StorePartnerRepository",
    "decode_partner",
    "load_partner_in",
    "save_partner_in",
]

PARTNER_KIND = "partner"
CREDENTIALS_TOKEN_KIND = "credentials_token"
GENERATION_KIND = "registration_generation"
_GENERATION_KEY = ObjectKey(GENERATION_KIND, "", "", "generation")
_CACHE_SIZE = 10_000


# per store object: how many commits the repositories of this process made on it
_LOCAL_COMMITS: WeakKeyDictionary[Store, int] = WeakKeyDictionary()


class _FlatRole(msgspec.Struct, frozen=True, kw_only=True):
    """A partner's role as stored before roles were canonical ``CredentialsRole`` records."""

    role: str
    country_code: str
    party_id: str
    name: str
    website: str | None = None

    def canonical(self) -> CredentialsRole:
        try:
            role: Role | None = Role(self.role)
        except ValueError:
            role = None
        return CredentialsRole(
            business_details=BusinessDetails(name=self.name, website=self.website),
            party_id=CiString(self.party_id),
            country_code=CiString(self.country_code),
            role=role,
        )


def decode_partner(payload: bytes) -> Partner:
    """A stored partner document as a :class:`~evroam.registration.model.Partner`.

    Reads the current shape and, for documents written before roles were canonical, the flat roles
    ``{role, country_code, party_id, name, website}``: each becomes a ``CredentialsRole`` whose business
    details hold ``name`` and ``website`` (a role that is no :class:`~evroam.model.Role` becomes
    ``None``). Anything else that does not fit raises :class:`~evroam.core.errors.ValidationFailed`.
    """
    try:
        return decode(payload, Partner)
    except ValidationFailed:
        raw: Any = msgspec.json.decode(payload)
        roles = raw.get("roles") if isinstance(raw, dict) else None
        if not (isinstance(roles, list) and any(_is_flat(role) for role in roles)):
            raise
    flat: tuple[_FlatRole, ...] = convert(roles, tuple[_FlatRole, ...])
    partner: Partner = convert({**raw, "roles": []}, Partner)
    return msgspec.structs.replace(partner, roles=tuple(role.canonical() for role in flat))


def _is_flat(role: Any) -> bool:
    return isinstance(role, dict) and "business_details" not in role and "name" in role


def _partner_key(partner_id: str) -> ObjectKey:
    return ObjectKey(PARTNER_KIND, "", "", partner_id)


def _token_key(digest: str) -> ObjectKey:
    return ObjectKey(CREDENTIALS_TOKEN_KIND, "", "", digest)


class StorePartnerRepository:
    """:class:`~evroam.registration.ports.PartnerRepository` over a :class:`~evroam.store.port.Store`."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        # digest -> (issued token, its partner), valid while the stored generation is _generation
        self._known: dict[str, tuple[IssuedToken, Partner | None]] = {}
        self._generation = -1
        # (the store's foreign_commits, this process's commits on it) when _generation was read
        self._stamp: tuple[int, int] | None = None
        # the generation read shared by concurrent lookups (a read sent after each one began)
        self._fresh_generation = SharedRead(self.generation)

    async def generation(self) -> int:
        """How many times :meth:`commit` changed partners or tokens (0: never)."""
        found = await self._store.get(_GENERATION_KEY)
        return 0 if found is None else found.revision

    async def lookup(self, digest: str) -> tuple[IssuedToken, Partner | None] | None:
        """The issued token with this digest and its partner (``None`` if gone), or ``None``.

        Served from memory while no commit happened since they were read (at most one read of the
        generation); unknown digests are not remembered (a flood of wrong tokens cannot fill memory).
        """
        # the stamp is taken before the generation is read: a commit in between changes the next stamp
        foreign = self._store.foreign_commits()
        stamp = None if foreign is None else (foreign, _LOCAL_COMMITS.get(self._store, 0))
        if stamp is None or stamp != self._stamp:
            generation = await self._fresh_generation()
            if generation != self._generation:
                self._known.clear()
                self._generation = generation
            self._stamp = stamp
        hit = self._known.get(digest)
        if hit is not None:
            return hit
        # read after the generation: a commit in between makes these newer, never older, than it
        issued = await self.get_issued(digest)
        if issued is None:
            return None
        found = (issued, await self.get_partner(issued.partner_id))
        if len(self._known) >= _CACHE_SIZE:
            self._known.clear()
        self._known[digest] = found
        return found

    async def get_partner(self, partner_id: str) -> Partner | None:
        found = await self._store.get(_partner_key(partner_id))
        return None if found is None else decode_partner(found.payload)

    async def list_partners(self) -> list[Partner]:
        page = await self._store.find(PARTNER_KIND)
        return [decode_partner(item.payload) for item in page.items]

    async def get_issued(self, digest: str) -> IssuedToken | None:
        found = await self._store.get(_token_key(digest))
        return None if found is None else decode(found.payload, IssuedToken)

    async def commit(
        self,
        *,
        save: Sequence[Partner] = (),
        delete: Sequence[str] = (),
        issue: Sequence[IssuedToken] = (),
        revoke: Sequence[str] = (),
    ) -> None:
        now = self._clock.now()
        async with self._store.transaction() as tx:
            for digest in revoke:
                await tx.delete(_token_key(digest))
            for partner_id in delete:
                await tx.delete(_partner_key(partner_id))
            for token in issue:
                await tx.put(
                    _token_key(token.digest),
                    encode(token),
                    token.issued_at,
                    partner_id=token.partner_id,
                    check_stale=False,
                )
            for partner in save:
                await tx.put(
                    _partner_key(partner.id), encode(partner), now, partner_id=partner.id, check_stale=False
                )
            # every process's lookup cache is invalid from this commit on (the upsert's revision + 1
            # is atomic: concurrent commits each count)
            await tx.put(_GENERATION_KEY, b"{}", now, check_stale=False)
        _LOCAL_COMMITS[self._store] = _LOCAL_COMMITS.get(self._store, 0) + 1
        self._known.clear()
        self._generation = -1


async def save_partner_in(tx: Operations, partner: Partner, now: datetime) -> None:
    """Write ``partner`` inside the caller's transaction and count it as a change of partners (every
    process's token cache is renewed). For writes made beside a module's own documents (a pull of a
    hub's HubClientInfo); the service's own changes go through :meth:`StorePartnerRepository.commit`."""
    await tx.put(_partner_key(partner.id), encode(partner), now, partner_id=partner.id, check_stale=False)
    await tx.put(_GENERATION_KEY, b"{}", now, check_stale=False)


async def load_partner_in(tx: Operations, partner_id: str) -> Partner | None:
    """The partner record, read inside the caller's transaction."""
    found = await tx.get(_partner_key(partner_id), for_update=True)
    return None if found is None else decode_partner(found.payload)
