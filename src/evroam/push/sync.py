"""Pull: fetch a partner's locations or tariffs from its Sender interface into our store.

:func:`sync_module` GETs the partner's list, page after page following ``Link: <...>; rel="next"``
(:class:`evroam.http.client.Pages`), converts each object from the partner's OCPI version to the
canonical model and stores it with ``partner_id`` = the partner (through the module's repository, like
the Receiver interface does). It fetches

* everything the first time, or with ``full=True``;
* otherwise what changed since the previous successful sync: ``date_from`` = the time that sync
  *started* (kept in the store's settings per partner and module, ``sync.<partner id>.<module>``), so
  that nothing changed while it ran is missed.

A full sync is the complete truth (OCPI: "objects not returned are to be considered no longer
valid"): every object of that partner absent from it is marked removed — a location gets every EVSE
status ``REMOVED`` and ``last_updated`` = now (locations are never deleted), a tariff is deleted.

Objects are refused (counted, not stored) when they belong to a party that is not the partner's, when
another partner (or we) already own the same key, or when they cannot be read in the canonical model.
An object older than the stored one (a push arrived meanwhile) is kept as stored and counted stale.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.errors import SyncError
from evroam.core.types import DateTime
from evroam.http.client import OcpiClient
from evroam.model.common import NotRepresentable
from evroam.model.enums import Status
from evroam.model.locations import Location
from evroam.model.tariffs import Tariff
from evroam.modules.locations.repository import iter_locations, load_location_record, save_location
from evroam.modules.tariffs.repository import delete_tariff, iter_tariffs, load_tariff_record, save_tariff
from evroam.ocpi.converters import VersionConverters, converters
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.registration.model import Partner, PartnerStatus
from evroam.store.port import Operations, Store

__all__ = ["MODULES", "SyncError", "SyncResult", "last_sync", "sync_module", "sync_setting"]

log = logging.getLogger(__name__)

MODULES = ("locations", "tariffs")

#: ``progress(fetched, total_count)`` after each page (``total_count`` from ``X-Total-Count``).
Progress = Callable[[int, int | None], None]

_Key = tuple[str, str, str]


class SyncResult(msgspec.Struct, kw_only=True):
    """What one sync did."""

    partner: str
    module: str
    full: bool
    date_from: DateTime | None
    """``None`` for a full sync."""
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


def sync_setting(partner_id: str, module: str) -> str:
    """The settings key holding the start time of the last successful sync."""
    return f"sync.{partner_id}.{module}"


async def last_sync(ops: Operations, partner_id: str, module: str) -> DateTime | None:
    """When the last successful sync of ``module`` from that partner started, or ``None``."""
    raw = await ops.get_setting(sync_setting(partner_id, module))
    return None if raw is None else DateTime.parse(raw)


def _fold(country_code: str, party_id: str, object_id: str) -> _Key:
    return (country_code.casefold(), party_id.casefold(), object_id.casefold())


def _owner_of(partner: Partner) -> tuple[str, str]:
    """The owner given to objects of a version without owner fields (2.1.1): the partner's CPO party."""
    roles = [r for r in partner.roles if r.role == "CPO"] or list(partner.roles)
    if not roles:
        raise SyncError(f"partner {partner.name} has no party (country_code / party_id) to own its objects")
    return roles[0].country_code, roles[0].party_id


def _them(partner: Partner) -> PartyRef | None:
    for role in sorted(partner.roles, key=lambda r: r.role != "CPO"):
        try:
            return PartyRef.of(role.country_code, role.party_id)
        except ValueError:
            continue
    return None


class _Syncer:
    def __init__(self, store: Store, partner: Partner, module: str, wire: VersionConverters, clock: Clock):
        self.store = store
        self.partner = partner
        self.module = module
        self.wire = wire
        self.clock = clock
        self.owner = _owner_of(partner)
        self.parties = {(r.country_code.casefold(), r.party_id.casefold()) for r in partner.roles}
        self.seen: set[_Key] = set()

    def to_model(self, item: Any) -> Location | Tariff:
        cc, pid = self.owner
        if self.module == "locations":
            return self.wire.location_to_model(item, country_code=cc, party_id=pid)
        return self.wire.tariff_to_model(item, country_code=cc, party_id=pid)

    async def store_batch(self, items: list[Any], result: SyncResult) -> None:
        async with self.store.transaction() as tx:
            for item in items:
                try:
                    obj = self.to_model(item)
                except (NotRepresentable, ValueError) as exc:
                    result.refused += 1
                    log.warning("sync %s from %s: object refused: %s", self.module, self.partner.name, exc)
                    continue
                key = _fold(obj.country_code, obj.party_id, obj.id)
                self.seen.add(key)
                if key[:2] not in self.parties:
                    result.refused += 1
                    log.warning(
                        "sync %s from %s: %s of %s*%s refused: not a party of the partner",
                        self.module,
                        self.partner.name,
                        obj.id,
                        obj.country_code,
                        obj.party_id,
                    )
                    continue
                await self._store_one(tx, obj, result)

    async def _store_one(self, tx: Operations, obj: Location | Tariff, result: SyncResult) -> None:
        stored: Location | Tariff | None
        if isinstance(obj, Location):
            record = await load_location_record(tx, obj.country_code, obj.party_id, obj.id, for_update=True)
            owner, stored = (None, None) if record is None else (record.partner_id, record.location)
        else:
            trecord = await load_tariff_record(tx, obj.country_code, obj.party_id, obj.id, for_update=True)
            owner, stored = (None, None) if trecord is None else (trecord.partner_id, trecord.tariff)
        if stored is not None and owner != self.partner.id:
            result.refused += 1
            log.warning(
                "sync %s from %s: %s refused: already stored for %s",
                self.module,
                self.partner.name,
                obj.id,
                "us" if owner is None else f"partner {owner}",
            )
            return
        if stored is not None and stored == obj:
            result.unchanged += 1
            return
        if stored is not None and stored.last_updated > obj.last_updated:
            result.stale += 1
            return
        if isinstance(obj, Location):
            await save_location(tx, obj, partner_id=self.partner.id, check_stale=False)
        else:
            await save_tariff(tx, obj, partner_id=self.partner.id, check_stale=False)
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
        else:
            gone_tariffs = [
                t
                async for t in iter_tariffs(self.store, partners=[self.partner.id])
                if _fold(t.country_code, t.party_id, t.id) not in self.seen
            ]
            for t in gone_tariffs:
                async with self.store.transaction() as tx:
                    if await delete_tariff(tx, t.country_code, t.party_id, t.id):
                        result.removed += 1

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
    page_limit: int | None = None,
    progress: Progress | None = None,
    batch: int = 100,
) -> SyncResult:
    """Pull ``module`` (``"locations"`` or ``"tariffs"``) from ``partner`` into ``store``.

    ``us`` is our own party for the ``OCPI-from-*`` headers (2.2+); ``page_limit`` asks the partner for
    pages of that size (it may send fewer). Raises :class:`SyncError` when the sync cannot start and the
    client's errors (:class:`~evroam.core.errors.PartnerError`,
    :class:`~evroam.core.errors.ClientApiUnreachable`) when the partner fails; a failed sync records
    nothing as "last sync" and removes nothing.
    """
    if module not in MODULES:
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
    since = None if full else await last_sync(store, partner.id, module)
    result = SyncResult(
        partner=partner.name, module=module, full=since is None, date_from=since, started_at=clock.now()
    )
    client = OcpiClient(
        http,
        spec=wire.spec,
        token=partner.token,
        token_encoding=TokenEncoding(partner.token_encoding),
        us=us,
        them=_them(partner),
        ids=ids,
        clock=clock,
    )
    params: dict[str, Any] = {}
    if since is not None:
        params["date_from"] = since
    if page_limit is not None:
        params["limit"] = page_limit
    model = wire.models["Location" if module == "locations" else "Tariff"]
    pages = client.iterate(endpoint.url, params or None, model, module=module)
    syncer = _Syncer(store, partner, module, wire, clock)
    pending: list[Any] = []
    last_page = 0
    async for item in pages:
        pending.append(item)
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
    if result.full:
        await syncer.remove_absent(result)
    await store.set_setting(sync_setting(partner.id, module), result.started_at.to_json())
    result.finished_at = clock.now()
    log.info(
        "sync %s from %s: %d fetched, %d created, %d updated, %d unchanged, %d removed",
        module,
        partner.name,
        result.fetched,
        result.created,
        result.updated,
        result.unchanged,
        result.removed,
    )
    return result
