"""Pull: fetch a partner's list from its Sender interface into our store.

This module knows no OCPI module: each module kit brings its :class:`~evroam.modules.kit.PullSpec`
(how its objects are read, keyed, loaded, stored and removed), and the caller passes them.

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
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.codec import decode
from evroam.core.errors import InvalidJson, SyncError, ValidationFailed
from evroam.core.types import DateTime
from evroam.http.client import OcpiClient
from evroam.model.common import NotRepresentable
from evroam.modules.kit import PullSpec
from evroam.ocpi.converters import converters
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.registration.model import Partner, PartnerStatus
from evroam.store.port import Operations, Store

__all__ = [
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


def our_role(module: str, pulls: Mapping[str, PullSpec]) -> str:
    """Our role when pulling ``module`` (``"EMSP"`` or ``"CPO"``); ``KeyError`` for another module."""
    return pulls[module].us


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
    def __init__(
        self, store: Store, partner: Partner, module: str, spec: PullSpec, version: str, clock: Clock
    ):
        self.store = store
        self.partner = partner
        self.module = module
        self.spec = spec
        self.version = version
        self.wire_type = spec.wire_type(version)
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

    def read(self, raw: bytes, result: SyncResult) -> Any:
        try:
            item = decode(raw, self.wire_type)
            obj = self.spec.to_model(self.version, item, *self.owner)
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
                if not self.spec.any_party and key[:2] not in self.parties:
                    self.refuse(result, name, "not a party of the partner")
                    continue
                await self._store_one(tx, obj, name, result)

    async def _store_one(self, tx: Operations, obj: Any, name: str, result: SyncResult) -> None:
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
        if self.spec.remove_absent is not None:
            result.removed += await self.spec.remove_absent(
                self.store, self.partner.id, self.seen, self.clock
            )


async def sync_module(
    store: Store,
    http: Any,
    partner: Partner,
    module: str,
    *,
    pulls: Mapping[str, PullSpec],
    clock: Clock,
    ids: IdGenerator,
    us: PartyRef | None,
    full: bool = False,
    since: datetime | None = None,
    page_limit: int | None = None,
    progress: Progress | None = None,
    batch: int = 100,
) -> SyncResult:
    """Pull ``module`` (one of ``pulls``, the node's kits' pull specs) from ``partner`` into ``store``.

    ``us`` is our own party for the ``OCPI-from-*`` headers (2.2+; our role is the spec's ``us``);
    ``since`` is the ``date_from`` to ask for instead of the last sync's start (it makes the sync
    incremental: nothing is removed); ``page_limit`` asks the partner for pages of that size (it may
    send fewer). Raises :class:`SyncError` when the sync cannot start and the client's errors
    (:class:`~evroam.core.errors.PartnerError`, :class:`~evroam.core.errors.ClientApiUnreachable`) when
    the partner fails; a failed sync records nothing as "last sync" and removes nothing.
    """
    spec = pulls.get(module)
    if spec is None:
        raise SyncError(f"cannot sync {module!r}: use one of {', '.join(pulls)}")
    if partner.status != PartnerStatus.REGISTERED or partner.version is None or partner.token is None:
        raise SyncError(f"partner {partner.name} is not connected ({partner.status.value})")
    endpoint = partner.endpoint(module, "SENDER")
    if endpoint is None:
        raise SyncError(f"partner {partner.name} lists no {module} SENDER endpoint")
    try:
        wire = converters(partner.version)
    except KeyError:
        raise SyncError(f"OCPI {partner.version} of partner {partner.name} is not modelled") from None
    if spec.wire_type(partner.version) is None:
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
    syncer = _Syncer(store, partner, module, spec, partner.version, clock)
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
    if result.full and spec.remove_absent is not None:
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
