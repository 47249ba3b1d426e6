"""Pull: fetch a partner's list from its Sender interface into our store.

:func:`sync_module` GETs the partner's list, page after page following ``Link: <...>; rel="next"``
(:class:`evroam.http.client.Pages`), reads each object on its own (one object that does not fit the
partner's OCPI version is refused with its error, the others are stored), converts it to the canonical
model through :mod:`evroam.ocpi.converters` and stores it with ``partner_id`` = the partner (through the
module's repository, like the Receiver interface does). Modules:

==========  ======  ==================================  ===========================================
module      we are  stored as                           what a full sync does with what is gone
==========  ======  ==================================  ===========================================
locations   eMSP    the locations repository            every EVSE status ``REMOVED`` (kept)
tariffs     eMSP    the tariffs repository              deleted
tokens      CPO     the tokens repository (no rules)    ``valid`` = false (kept)
sessions    eMSP    the sessions repository             nothing (never removed)
cdrs        eMSP    the CDRs repository                 nothing (never removed)
==========  ======  ==================================  ===========================================

It fetches

* everything the first time, or with ``full=True``;
* otherwise what changed since the previous successful sync: ``date_from`` = the time that sync
  *started* (kept in the store's settings per partner and module, ``sync.<partner id>.<module>``), so
  that nothing changed while it ran is missed; ``since`` overrides it;
* sessions always with a ``date_from`` (OCPI requires one there): ``since``, else the last sync's start,
  else 30 days back.

A full sync (locations, tariffs, tokens) is the complete truth (OCPI: "objects not returned are to be
considered no longer valid"): every object of that partner absent from it is marked removed as the table
says (a location gets ``last_updated`` = now, a token too).

Objects are refused (counted in ``refused``, one :class:`SyncIssue` each in ``issues``, not stored)
when they do not fit the partner's version's model (e.g. a CDR without ``cdr_location.evse_uid``), belong
to a party that is not the partner's, when another partner (or we) already own the same key, or when
they cannot be read in the canonical model. An object older than the stored one (a push arrived
meanwhile) is kept as stored and counted stale. A CDR already stored is counted unchanged and never
overwritten (CDRs never change).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.codec import decode
from evroam.core.errors import InvalidJson, SyncError, ValidationFailed
from evroam.core.types import DateTime
from evroam.http.client import OcpiClient
from evroam.model.cdrs import CDR
from evroam.model.common import NotRepresentable
from evroam.model.enums import Status
from evroam.model.locations import Location
from evroam.model.sessions import Session
from evroam.model.tariffs import Tariff
from evroam.model.tokens import Token
from evroam.modules.cdrs.repository import CdrDocument, load_cdr_record, save_cdr
from evroam.modules.locations.repository import iter_locations, load_location_record, save_location
from evroam.modules.sessions.repository import load_session_record, save_session
from evroam.modules.tariffs.repository import delete_tariff, iter_tariffs, load_tariff_record, save_tariff
from evroam.modules.tokens.repository import iter_tokens, load_token_record, save_token
from evroam.ocpi.converters import VersionConverters, converters
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.registration.model import Partner, PartnerStatus
from evroam.store.port import Operations, Store

__all__ = [
    "MODULES",
    "SESSIONS_DEFAULT_WINDOW",
    "SyncError",
    "SyncIssue",
    "SyncResult",
    "last_sync",
    "our_role",
    "sync_module",
    "sync_setting",
]

log = logging.getLogger(__name__)

#: How far back a sessions sync reaches when neither ``since`` nor an earlier sync gives a start.
SESSIONS_DEFAULT_WINDOW = timedelta(days=30)

#: At most this many :class:`SyncIssue` are kept in a result (``refused`` counts them all).
MAX_ISSUES = 100

#: ``progress(fetched, total_count)`` after each page (``total_count`` from ``X-Total-Count``).
Progress = Callable[[int, int | None], None]

_Key = tuple[str, str, str]
_Object = Location | Tariff | Token | Session | CDR


class SyncIssue(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One object refused by a sync, and why."""

    object: str | None
    """``COUNTRY*PARTY/id`` (as far as it could be read), ``None`` when not even that."""
    reason: str


class SyncResult(msgspec.Struct, kw_only=True):
    """What one sync did."""

    partner: str
    module: str
    full: bool
    date_from: DateTime | None
    """``None`` when everything was fetched."""
    started_at: DateTime
    finished_at: DateTime | None = None
    pages: int = 0
    total_count: int | None = None
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    refused: int = 0
    removed: int = 0
    issues: list[SyncIssue] = msgspec.field(default_factory=list)
    """The refused objects (the first :data:`MAX_ISSUES`), each with its reason."""


# -- per-module pieces ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Stored:
    partner_id: str | None
    obj: _Object


async def _load_location(ops: Operations, obj: Any) -> _Stored | None:
    r = await load_location_record(ops, obj.country_code, obj.party_id, obj.id, for_update=True)
    return None if r is None else _Stored(r.partner_id, r.location)


async def _save_location(ops: Operations, obj: Any, partner_id: str) -> None:
    await save_location(ops, obj, partner_id=partner_id, check_stale=False)


async def _load_tariff(ops: Operations, obj: Any) -> _Stored | None:
    r = await load_tariff_record(ops, obj.country_code, obj.party_id, obj.id, for_update=True)
    return None if r is None else _Stored(r.partner_id, r.tariff)


async def _save_tariff(ops: Operations, obj: Any, partner_id: str) -> None:
    await save_tariff(ops, obj, partner_id=partner_id, check_stale=False)


async def _load_token(ops: Operations, obj: Any) -> _Stored | None:
    r = await load_token_record(ops, obj.country_code, obj.party_id, obj.uid, obj.type, for_update=True)
    return None if r is None else _Stored(r.partner_id, r.token)


async def _save_token(ops: Operations, obj: Any, partner_id: str) -> None:
    await save_token(ops, obj, partner_id=partner_id, check_stale=False)  # a partner's token: no rules


async def _load_session(ops: Operations, obj: Any) -> _Stored | None:
    r = await load_session_record(ops, obj.country_code, obj.party_id, obj.id, for_update=True)
    return None if r is None else _Stored(r.partner_id, r.session)


async def _save_session(ops: Operations, obj: Any, partner_id: str) -> None:
    await save_session(ops, obj, partner_id=partner_id)


async def _load_cdr(ops: Operations, obj: Any) -> _Stored | None:
    r = await load_cdr_record(ops, obj.country_code, obj.party_id, obj.id, for_update=True)
    return None if r is None else _Stored(r.partner_id, r.cdr)


async def _save_cdr(ops: Operations, obj: Any, partner_id: str) -> None:
    await save_cdr(ops, CdrDocument(cdr=obj), partner_id=partner_id)


@dataclass(frozen=True, slots=True)
class _Module:
    """How one module is pulled: read, keyed, loaded, stored and (after a full sync) removed."""

    wire_name: str
    owner_role: str
    """The partner's role that owns the objects (and is named in ``OCPI-to-*``)."""
    us: str
    """Our role in this pull."""
    read: Callable[[VersionConverters, Any, str, str], _Object]
    object_id: Callable[[Any], str]
    load: Callable[[Operations, Any], Awaitable[_Stored | None]]
    save: Callable[[Operations, Any, str], Awaitable[None]]
    immutable: bool = False
    """A stored one is never replaced (CDRs)."""
    needs_date_from: bool = False
    removes: bool = False
    """A full sync marks what is gone as removed (:meth:`_Syncer.remove_absent`)."""


_MODULES: dict[str, _Module] = {
    "locations": _Module(
        wire_name="Location",
        owner_role="CPO",
        us="EMSP",
        read=lambda w, item, cc, pid: w.location_to_model(item, country_code=cc, party_id=pid),
        object_id=lambda obj: str(obj.id),
        load=_load_location,
        save=_save_location,
        removes=True,
    ),
    "tariffs": _Module(
        wire_name="Tariff",
        owner_role="CPO",
        us="EMSP",
        read=lambda w, item, cc, pid: w.tariff_to_model(item, country_code=cc, party_id=pid),
        object_id=lambda obj: str(obj.id),
        load=_load_tariff,
        save=_save_tariff,
        removes=True,
    ),
    "tokens": _Module(
        wire_name="Token",
        owner_role="EMSP",
        us="CPO",
        read=lambda w, item, cc, pid: w.token_to_model(item, country_code=cc, party_id=pid),
        object_id=lambda obj: f"{obj.type}:{obj.uid}",
        load=_load_token,
        save=_save_token,
        removes=True,
    ),
    "sessions": _Module(
        wire_name="Session",
        owner_role="CPO",
        us="EMSP",
        read=lambda w, item, cc, pid: w.session_to_model(item, country_code=cc, party_id=pid),
        object_id=lambda obj: str(obj.id),
        load=_load_session,
        save=_save_session,
        needs_date_from=True,
    ),
    "cdrs": _Module(
        wire_name="CDR",
        owner_role="CPO",
        us="EMSP",
        read=lambda w, item, cc, pid: w.cdr_to_model(item, country_code=cc, party_id=pid),
        object_id=lambda obj: str(obj.id),
        load=_load_cdr,
        save=_save_cdr,
        immutable=True,
    ),
}

MODULES = tuple(_MODULES)


def our_role(module: str) -> str:
    """Our role when pulling ``module`` (``"EMSP"`` or ``"CPO"``); ``KeyError`` for another module."""
    return _MODULES[module].us


def sync_setting(partner_id: str, module: str) -> str:
    """The settings key holding the start time of the last successful sync."""
    return f"sync.{partner_id}.{module}"


async def last_sync(ops: Operations, partner_id: str, module: str) -> DateTime | None:
    """When the last successful sync of ``module`` from that partner started, or ``None``."""
    raw = await ops.get_setting(sync_setting(partner_id, module))
    return None if raw is None else DateTime.parse(raw)


def _fold(country_code: str, party_id: str, object_id: str) -> _Key:
    return (country_code.casefold(), party_id.casefold(), object_id.casefold())


def _owner_of(partner: Partner, role: str) -> tuple[str, str]:
    """The owner given to objects of a version without owner fields (2.1.1): the partner's party in
    ``role`` (or its first party)."""
    roles = [r for r in partner.roles if r.role == role] or list(partner.roles)
    if not roles:
        raise SyncError(f"partner {partner.name} has no party (country_code / party_id) to own its objects")
    return roles[0].country_code, roles[0].party_id


def _them(partner: Partner, role: str) -> PartyRef | None:
    for party in sorted(partner.roles, key=lambda r: r.role != role):
        try:
            return PartyRef.of(party.country_code, party.party_id)
        except ValueError:
            continue
    return None


class _Ident(msgspec.Struct):
    """What names an object in a partner's JSON, read leniently to report a refusal."""

    country_code: Any = None
    party_id: Any = None
    id: Any = None
    uid: Any = None


def _name_raw(raw: bytes) -> str | None:
    try:
        ident = msgspec.json.decode(raw, type=_Ident)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    name = ident.id if ident.id is not None else ident.uid
    if name is None:
        return None
    if ident.country_code is not None and ident.party_id is not None:
        return f"{ident.country_code}*{ident.party_id}/{name}"
    return str(name)


class _Syncer:
    def __init__(self, store: Store, partner: Partner, module: str, wire: VersionConverters, clock: Clock):
        self.store = store
        self.partner = partner
        self.module = module
        self.spec = _MODULES[module]
        self.wire = wire
        self.wire_type = wire.models[self.spec.wire_name]
        self.clock = clock
        self.owner = _owner_of(partner, self.spec.owner_role)
        self.parties = {(r.country_code.casefold(), r.party_id.casefold()) for r in partner.roles}
        self.seen: set[_Key] = set()

    def refuse(self, result: SyncResult, name: str | None, reason: str) -> None:
        result.refused += 1
        if len(result.issues) < MAX_ISSUES:
            result.issues.append(SyncIssue(object=name, reason=reason))
        log.warning(
            "sync %s from %s: %s refused: %s", self.module, self.partner.name, name or "object", reason
        )

    def read(self, raw: bytes, result: SyncResult) -> _Object | None:
        try:
            item = decode(raw, self.wire_type)
            obj = self.spec.read(self.wire, item, *self.owner)
        except (InvalidJson, ValidationFailed, NotRepresentable, ValueError) as exc:
            message = exc.message if isinstance(exc, (InvalidJson, ValidationFailed)) else str(exc)
            self.refuse(result, _name_raw(raw), message)
            return None
        return obj

    async def store_batch(self, items: list[bytes], result: SyncResult) -> None:
        async with self.store.transaction() as tx:
            for raw in items:
                obj = self.read(raw, result)
                if obj is None:
                    continue
                object_id = self.spec.object_id(obj)
                name = f"{obj.country_code}*{obj.party_id}/{object_id}"
                key = _fold(obj.country_code, obj.party_id, object_id)
                self.seen.add(key)
                if key[:2] not in self.parties:
                    self.refuse(result, name, "not a party of the partner")
                    continue
                await self._store_one(tx, obj, name, result)

    async def _store_one(self, tx: Operations, obj: _Object, name: str, result: SyncResult) -> None:
        stored = await self.spec.load(tx, obj)
        if stored is not None and stored.partner_id != self.partner.id:
            owner = "us" if stored.partner_id is None else f"partner {stored.partner_id}"
            self.refuse(result, name, f"already stored for {owner}")
            return
        if stored is not None and (self.spec.immutable or stored.obj == obj):
            result.unchanged += 1  # a CDR never changes: the stored one stays
            return
        if stored is not None and stored.obj.last_updated > obj.last_updated:
            result.stale += 1
            return
        await self.spec.save(tx, obj, self.partner.id)
        if stored is None:
            result.created += 1
        else:
            result.updated += 1

    async def remove_absent(self, result: SyncResult) -> None:
        """Mark removed what the partner no longer lists (after a complete, full listing)."""
        if self.module == "locations":
            gone_locations = [
                loc
                async for loc in iter_locations(self.store, partners=[self.partner.id])
                if _fold(loc.country_code, loc.party_id, loc.id) not in self.seen
            ]
            for loc in gone_locations:
                if await self._remove_location(loc):
                    result.removed += 1
        elif self.module == "tariffs":
            gone_tariffs = [
                t
                async for t in iter_tariffs(self.store, partners=[self.partner.id])
                if _fold(t.country_code, t.party_id, t.id) not in self.seen
            ]
            for t in gone_tariffs:
                async with self.store.transaction() as tx:
                    if await delete_tariff(tx, t.country_code, t.party_id, t.id):
                        result.removed += 1
        elif self.module == "tokens":
            gone_tokens = [
                doc.token
                async for _, doc in iter_tokens(self.store, partners=[self.partner.id])
                if doc.token.valid
                and _fold(doc.token.country_code, doc.token.party_id, self.spec.object_id(doc.token))
                not in self.seen
            ]
            for token in gone_tokens:
                await self._invalidate_token(token)
                result.removed += 1

    async def _invalidate_token(self, token: Token) -> None:
        stamp = max(self.clock.now(), token.last_updated)
        async with self.store.transaction() as tx:
            await save_token(
                tx,
                msgspec.structs.replace(token, valid=False, last_updated=stamp),
                partner_id=self.partner.id,
                check_stale=False,
            )

    async def _remove_location(self, loc: Location) -> bool:
        if loc.evses and all(e.status == Status.REMOVED for e in loc.evses):
            return False  # already marked by an earlier sync
        now = self.clock.now()
        stamp = max(now, loc.last_updated)
        evses = tuple(
            e
            if e.status == Status.REMOVED
            else msgspec.structs.replace(e, status=Status.REMOVED, last_updated=max(now, e.last_updated))
            for e in loc.evses or ()
        )
        async with self.store.transaction() as tx:
            await save_location(
                tx,
                msgspec.structs.replace(loc, evses=evses, last_updated=stamp),
                partner_id=self.partner.id,
                check_stale=False,
            )
        return True


async def sync_module(
    store: Store,
    http: Any,
    partner: Partner,
    module: str,
    *,
    clock: Clock,
    ids: IdGenerator,
    us: PartyRef | None,
    full: bool = False,
    since: datetime | None = None,
    page_limit: int | None = None,
    progress: Progress | None = None,
    batch: int = 100,
) -> SyncResult:
    """Pull ``module`` (one of :data:`MODULES`) from ``partner`` into ``store``.

    ``us`` is our own party for the ``OCPI-from-*`` headers (2.2+; our role is :func:`our_role`);
    ``since`` is the ``date_from`` to ask for instead of the last sync's start (it makes the sync
    incremental: nothing is removed); ``page_limit`` asks the partner for pages of that size (it may
    send fewer). Raises :class:`SyncError` when the sync cannot start and the client's errors
    (:class:`~evroam.core.errors.PartnerError`, :class:`~evroam.core.errors.ClientApiUnreachable`) when
    the partner fails; a failed sync records nothing as "last sync" and removes nothing.
    """
    spec = _MODULES.get(module)
    if spec is None:
        raise SyncError(f"cannot sync {module!r}: use one of {', '.join(MODULES)}")
    if partner.status != PartnerStatus.REGISTERED or partner.version is None or partner.token is None:
        raise SyncError(f"partner {partner.name} is not connected ({partner.status.value})")
    endpoint = partner.endpoint(module, "SENDER")
    if endpoint is None:
        raise SyncError(f"partner {partner.name} lists no {module} SENDER endpoint")
    try:
        wire = converters(partner.version)
    except KeyError:
        raise SyncError(f"OCPI {partner.version} of partner {partner.name} is not modelled") from None
    if spec.wire_name not in wire.models:
        raise SyncError(f"OCPI {partner.version} has no {module} objects to sync")
    started_at = clock.now()
    date_from: datetime | None
    if since is not None:
        date_from = since
    elif full and not spec.needs_date_from:
        date_from = None
    else:
        date_from = await last_sync(store, partner.id, module)
    if date_from is None and spec.needs_date_from:
        date_from = started_at - SESSIONS_DEFAULT_WINDOW
    result = SyncResult(
        partner=partner.name,
        module=module,
        full=date_from is None,
        date_from=None if date_from is None else DateTime.from_datetime(date_from),
        started_at=started_at,
    )
    client = OcpiClient(
        http,
        spec=wire.spec,
        token=partner.token,
        token_encoding=TokenEncoding(partner.token_encoding),
        us=us,
        them=_them(partner, spec.owner_role),
        ids=ids,
        clock=clock,
    )
    params: dict[str, Any] = {}
    if result.date_from is not None:
        params["date_from"] = result.date_from
    if page_limit is not None:
        params["limit"] = page_limit
    pages = client.iterate(endpoint.url, params or None, msgspec.Raw, module=module)
    syncer = _Syncer(store, partner, module, wire, clock)
    pending: list[bytes] = []
    last_page = 0
    async for item in pages:
        pending.append(bytes(item))
        result.fetched += 1
        if pages.pages != last_page:
            last_page = pages.pages
            if progress is not None:
                progress(pages.fetched, pages.total_count)
        if len(pending) >= batch:
            await syncer.store_batch(pending, result)
            pending = []
    if pending:
        await syncer.store_batch(pending, result)
    result.pages = pages.pages
    result.total_count = pages.total_count
    if progress is not None:
        progress(pages.fetched, pages.total_count)
    if result.full and spec.removes:
        await syncer.remove_absent(result)
    await store.set_setting(sync_setting(partner.id, module), result.started_at.to_json())
    result.finished_at = clock.now()
    log.info(
        "sync %s from %s: %d fetched, %d created, %d updated, %d unchanged, %d refused, %d removed",
        module,
        partner.name,
        result.fetched,
        result.created,
        result.updated,
        result.unchanged,
        result.refused,
        result.removed,
    )
    return result
