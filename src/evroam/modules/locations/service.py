"""The locations services: plain Python over the store, no HTTP.

* :class:`LocationSender` (CPO) — pages and single objects of our own locations, hiding unpublished
  ones from partners that ``publish_allowed_to`` does not name;
* :class:`LocationReceiver` (eMSP) — what partners push, under their own parties only, with the
  stale-update rule and the parents' ``last_updated`` bump;
* :class:`LocationAdmin` (CPO) — import, status changes and listings of our own locations; every
  change writes its outbox rows (:func:`evroam.store.outbox.enqueue_change`) in the same transaction.

Every read-modify-write runs in one store transaction with ``for_update=True``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import msgspec

from evroam.core.codec import encode
from evroam.core.errors import Forbidden, NotFound, UnknownLocation, ValidationFailed, Violation
from evroam.model.enums import Role, Status
from evroam.model.locations import EVSE, Connector, Location
from evroam.ocpi.transport.pagination import PageRequest
from evroam.registration.model import Partner
from evroam.store.outbox import ObjectChange, enqueue_change
from evroam.store.port import Operations, PutOutcome, Store, Transaction

from .._shared import PartyAdmin, check_url_id, count_stale, require_party, stale_counts
from .index import IndexedLocation, OwnLocationIndex
from .ports import ImportBatch, ImportReport, SenderPage
from .repository import (
    LOCATION_KIND,
    DecodedLocations,
    LocationDocument,
    LocationRecord,
    decode_location,
    find_evse,
    iter_locations,
    load_location_document,
    load_location_record,
    save_location,
    save_location_document,
    save_own_locations,
)

__all__ = [
    "MODULE",
    "LocationAdmin",
    "LocationReceiver",
    "LocationSender",
]

MODULE = "locations"


def _latest(a: datetime, b: datetime) -> datetime:
    return a if a >= b else b


# -- CPO: Sender --------------------------------------------------------------------------------------


class LocationSender:
    """:class:`~evroam.modules.locations.ports.LocationSenderPort` over the store.

    Pages come from a compact per-process :class:`~.index.OwnLocationIndex` kept exact by the store's
    change log, with the documents read from the store and their wire JSON kept in a bounded cache.
    ``parties`` are our own CPO parties ``(country_code, party_id)``: a Sender GET of one location
    names only its id, which is looked up under each of them.
    """

    def __init__(self, store: Store, parties: Sequence[tuple[str, str]]) -> None:
        # on a database server, concurrent pages share the change log's read (see the index)
        self._index = OwnLocationIndex(store, shared_reads=store.foreign_commits() is None)
        self._parties = tuple(parties)

    async def page(self, partner: Partner, request: PageRequest) -> SenderPage:
        await self._index.refresh()
        items, total = await self._index.page(
            partner,
            date_from=request.date_from,
            date_to=request.date_to,
            offset=request.offset,
            limit=request.limit,
        )
        return SenderPage(items, total)

    async def location(self, partner: Partner, location_id: str) -> IndexedLocation:
        await self._index.refresh()
        for cc, pid in self._parties:
            entry = await self._index.get(partner, cc, pid, location_id)
            if entry is not None:
                return entry
        raise NotFound(f"no location {location_id!r}")

    async def evse(self, partner: Partner, location_id: str, evse_uid: str) -> EVSE:
        location = decode_location((await self.location(partner, location_id)).document)
        evse = location.evse(evse_uid)
        if evse is None:
            raise NotFound(f"no EVSE {evse_uid!r} in location {location_id!r}")
        return evse

    async def connector(
        self, partner: Partner, location_id: str, evse_uid: str, connector_id: str
    ) -> Connector:
        evse = await self.evse(partner, location_id, evse_uid)
        for connector in evse.connectors:
            if connector.id == connector_id:
                return connector
        raise NotFound(f"no connector {connector_id!r} on EVSE {evse_uid!r} of location {location_id!r}")


# -- eMSP: Receiver -----------------------------------------------------------------------------------


def _replace(items: tuple[EVSE, ...], new: EVSE) -> tuple[tuple[EVSE, ...], bool]:
    out = list(items)
    for i, old in enumerate(out):
        if old.uid == new.uid:
            out[i] = new
            return tuple(out), False
    out.append(new)
    return tuple(out), True


def _replace_connector(items: tuple[Connector, ...], new: Connector) -> tuple[tuple[Connector, ...], bool]:
    out = list(items)
    for i, old in enumerate(out):
        if old.id == new.id:
            out[i] = new
            return tuple(out), False
    out.append(new)
    return tuple(out), True


def _check_owner(
    stored_by: str | None, partner: Partner, country_code: str, party_id: str, location_id: str
) -> None:
    if stored_by != partner.id:
        raise Forbidden(
            f"location {location_id!r} of {country_code}*{party_id} was not stored by this partner"
        )


def _find_connector(evse: EVSE, connector_id: str) -> Connector | None:
    for connector in evse.connectors:
        if connector.id == connector_id:
            return connector
    return None


class LocationReceiver:
    """:class:`~evroam.modules.locations.ports.LocationReceiverPort` over the store.

    Received locations are stored with ``partner_id`` = the sending partner's id. A partner writes and
    reads only under its own parties (:class:`~evroam.core.errors.Forbidden` otherwise, nothing
    changed); an object another partner (or we) stored under the same key is not its to change.
    An update older than the stored object is answered as a success, not stored, and counted
    (:meth:`stale_updates`).
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._decoded = DecodedLocations()

    # reading

    async def _mine(
        self,
        ops: Operations,
        partner: Partner,
        country_code: str,
        party_id: str,
        location_id: str,
        *,
        for_update: bool = False,
    ) -> LocationRecord | None:
        record = await load_location_record(
            ops, country_code, party_id, location_id, for_update=for_update, cache=self._decoded
        )
        if record is not None:
            _check_owner(record.partner_id, partner, country_code, party_id, location_id)
        return record

    async def _my_document(
        self, tx: Transaction, partner: Partner, country_code: str, party_id: str, location_id: str
    ) -> LocationDocument | None:
        """:meth:`_mine` as a :class:`~.repository.LocationDocument`, locked for the change of one EVSE
        or connector."""
        document = await load_location_document(tx, country_code, party_id, location_id, for_update=True)
        if document is not None:
            _check_owner(document.partner_id, partner, country_code, party_id, location_id)
        return document

    async def get_location(
        self, partner: Partner, country_code: str, party_id: str, location_id: str
    ) -> Location:
        require_party(partner, country_code, party_id, Role.CPO)
        record = await load_location_record(self._store, country_code, party_id, location_id)
        if record is None or record.partner_id != partner.id:
            raise NotFound(f"no location {location_id!r} of {country_code}*{party_id}")
        return record.location

    async def get_evse(
        self, partner: Partner, country_code: str, party_id: str, location_id: str, evse_uid: str
    ) -> EVSE:
        location = await self.get_location(partner, country_code, party_id, location_id)
        evse = location.evse(evse_uid)
        if evse is None:
            raise NotFound(f"no EVSE {evse_uid!r} in location {location_id!r}")
        return evse

    async def get_connector(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        location_id: str,
        evse_uid: str,
        connector_id: str,
    ) -> Connector:
        evse = await self.get_evse(partner, country_code, party_id, location_id, evse_uid)
        connector = _find_connector(evse, connector_id)
        if connector is None:
            raise NotFound(f"no connector {connector_id!r} on EVSE {evse_uid!r}")
        return connector

    async def stale_updates(self, partner_ids: Sequence[str] = ()) -> dict[str, int]:
        """Stale updates ignored so far: ``{"total": n, <partner_id>: n ...}``."""
        return await stale_counts(self._store, MODULE, partner_ids)

    # writing

    async def _stale(self, tx: Transaction, partner: Partner) -> PutOutcome:
        await count_stale(tx, MODULE, partner.id)
        return PutOutcome.STALE

    async def put_location(
        self, partner: Partner, country_code: str, party_id: str, location_id: str, location: Location
    ) -> PutOutcome:
        require_party(partner, country_code, party_id, Role.CPO)
        check_url_id("country_code", country_code, location.country_code)
        check_url_id("party_id", party_id, location.party_id)
        check_url_id("id", location_id, location.id)
        async with self._store.transaction() as tx:
            record = await self._mine(tx, partner, country_code, party_id, location_id, for_update=True)
            if record is not None and record.location.last_updated > location.last_updated:
                return await self._stale(tx, partner)
            return await save_location(
                tx, location, partner_id=partner.id, check_stale=False, cache=self._decoded
            )

    async def put_evse(
        self, partner: Partner, country_code: str, party_id: str, location_id: str, evse_uid: str, evse: EVSE
    ) -> PutOutcome:
        require_party(partner, country_code, party_id, Role.CPO)
        check_url_id("uid", evse_uid, evse.uid)
        async with self._store.transaction() as tx:
            record = await self._mine(tx, partner, country_code, party_id, location_id, for_update=True)
            if record is None:
                raise UnknownLocation(
                    f"no location {location_id!r} of {country_code}*{party_id}: PUT it first"
                )
            location = record.location
            old = location.evse(evse_uid)
            if old is not None and old.last_updated > evse.last_updated:
                return await self._stale(tx, partner)
            evses, created = _replace(location.evses or (), evse)
            location = msgspec.structs.replace(
                location, evses=evses, last_updated=_latest(location.last_updated, evse.last_updated)
            )
            await save_location(tx, location, partner_id=partner.id, check_stale=False, cache=self._decoded)
            return PutOutcome.CREATED if created else PutOutcome.UPDATED

    async def put_connector(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        location_id: str,
        evse_uid: str,
        connector_id: str,
        connector: Connector,
    ) -> PutOutcome:
        require_party(partner, country_code, party_id, Role.CPO)
        check_url_id("id", connector_id, connector.id)
        async with self._store.transaction() as tx:
            record = await self._mine(tx, partner, country_code, party_id, location_id, for_update=True)
            evse = None if record is None else record.location.evse(evse_uid)
            if record is None or evse is None:
                raise UnknownLocation(
                    f"no EVSE {evse_uid!r} in location {location_id!r} of {country_code}*{party_id}"
                )
            old = _find_connector(evse, connector_id)
            if old is not None and old.last_updated > connector.last_updated:
                return await self._stale(tx, partner)
            connectors, created = _replace_connector(evse.connectors, connector)
            evse = msgspec.structs.replace(
                evse, connectors=connectors, last_updated=_latest(evse.last_updated, connector.last_updated)
            )
            location = record.location
            evses, _ = _replace(location.evses or (), evse)
            location = msgspec.structs.replace(
                location, evses=evses, last_updated=_latest(location.last_updated, evse.last_updated)
            )
            await save_location(tx, location, partner_id=partner.id, check_stale=False, cache=self._decoded)
            return PutOutcome.CREATED if created else PutOutcome.UPDATED

    async def patch_location(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        location_id: str,
        last_updated: datetime,
        apply: Callable[[Location], Location],
    ) -> PutOutcome:
        require_party(partner, country_code, party_id, Role.CPO)
        async with self._store.transaction() as tx:
            record = await self._mine(tx, partner, country_code, party_id, location_id, for_update=True)
            if record is None:
                raise UnknownLocation(
                    f"no location {location_id!r} of {country_code}*{party_id}: PUT it first"
                )
            if record.location.last_updated > last_updated:
                return await self._stale(tx, partner)
            location = apply(record.location)
            check_url_id("country_code", country_code, location.country_code)
            check_url_id("party_id", party_id, location.party_id)
            check_url_id("id", location_id, location.id)
            await save_location(tx, location, partner_id=partner.id, check_stale=False, cache=self._decoded)
            return PutOutcome.UPDATED

    async def patch_evse(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        location_id: str,
        evse_uid: str,
        last_updated: datetime,
        apply: Callable[[EVSE], EVSE],
    ) -> PutOutcome:
        require_party(partner, country_code, party_id, Role.CPO)
        async with self._store.transaction() as tx:
            document = await self._my_document(tx, partner, country_code, party_id, location_id)
            found = None if document is None else document.evse(evse_uid)
            if document is None or found is None:
                raise UnknownLocation(
                    f"no EVSE {evse_uid!r} in location {location_id!r} of {country_code}*{party_id}"
                )
            position, old = found
            if old.last_updated > last_updated:
                return await self._stale(tx, partner)
            evse = apply(old)
            check_url_id("uid", evse_uid, evse.uid)
            document.replace_evse(position, evse)
            await save_location_document(tx, document)
            return PutOutcome.UPDATED

    async def patch_connector(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        location_id: str,
        evse_uid: str,
        connector_id: str,
        last_updated: datetime,
        apply: Callable[[Connector], Connector],
    ) -> PutOutcome:
        require_party(partner, country_code, party_id, Role.CPO)
        async with self._store.transaction() as tx:
            document = await self._my_document(tx, partner, country_code, party_id, location_id)
            found = None if document is None else document.evse(evse_uid)
            old = None if found is None else _find_connector(found[1], connector_id)
            if document is None or found is None or old is None:
                raise UnknownLocation(
                    f"no connector {connector_id!r} on EVSE {evse_uid!r} in location {location_id!r}"
                )
            if old.last_updated > last_updated:
                return await self._stale(tx, partner)
            connector = apply(old)
            check_url_id("id", connector_id, connector.id)
            position, evse = found
            connectors, _ = _replace_connector(evse.connectors, connector)
            evse = msgspec.structs.replace(
                evse, connectors=connectors, last_updated=_latest(evse.last_updated, connector.last_updated)
            )
            document.replace_evse(position, evse)
            await save_location_document(tx, document)
            return PutOutcome.UPDATED


# -- CPO: management ----------------------------------------------------------------------------------


class LocationAdmin(PartyAdmin):
    """:class:`~evroam.modules.locations.ports.LocationAdminPort`: the CPO's own locations.

    ``parties`` are our CPO parties ``(country_code, party_id)``; ``partners`` tells which partners
    receive pushes (each change writes one outbox row per such partner, in the change's transaction).
    """

    async def import_locations(self, locations: Sequence[Location]) -> ImportReport:
        """Create or replace each location (all in one transaction); nothing is written when any one
        is refused. Locations must be valid (see :mod:`.validation`) and belong to our parties; an EVSE
        uid may not be used by another of our locations.
        """
        return await self.import_batches([(list(enumerate(locations)), [])])

    async def import_batches(self, batches: Iterable[ImportBatch]) -> ImportReport:
        """:meth:`import_locations` for an import read a batch at a time (a file of any size): each batch
        is ``(locations with their index in the file, the violations found decoding them)``, written as
        it comes, all in one transaction. Every violation of every batch is collected; when there is
        any, nothing is written (the transaction is rolled back) and they are raised together.

        Memory holds one batch and the ids of the locations seen (to report them and to refuse one given
        twice); an EVSE uid used by two locations of the file is found in the store's EVSE index.
        """
        report = ImportReport()
        violations: list[Violation] = []
        seen: set[tuple[str, str, str]] = set()
        rows = 0
        async with self._store.transaction() as tx:
            for found, problems in batches:
                violations.extend(problems)
                batch_keys: list[tuple[str, str, str]] = []
                for i, location in found:
                    if not self._ours(location.country_code, location.party_id):
                        violations.append(
                            Violation(
                                f"$[{i}].country_code",
                                f"{location.country_code}*{location.party_id} "
                                "is not a CPO party of this node",
                            )
                        )
                        continue
                    key = (
                        location.country_code.casefold(),
                        location.party_id.casefold(),
                        location.id.casefold(),
                    )
                    if key in seen:  # in an earlier batch (within one, check_locations finds it)
                        violations.append(
                            Violation(
                                f"$[{i}].id",
                                f"location {location.country_code}*{location.party_id}*{location.id} "
                                "is given twice",
                            )
                        )
                    batch_keys.append(key)
                    for j, evse in enumerate(location.evses or ()):
                        holder = await find_evse(tx, location.country_code, location.party_id, evse.uid)
                        if holder is not None and holder.casefold() != str(location.id).casefold():
                            violations.append(
                                Violation(
                                    f"$[{i}].evses[{j}].uid", f"EVSE {evse.uid} belongs to location {holder}"
                                )
                            )
                seen.update(batch_keys)
                if violations:
                    continue  # nothing more is written; the rest is still checked
                rows += await self._import_batch(tx, [location for _, location in found], report)
            if violations:
                raise ValidationFailed(violations, "locations refused, nothing imported")
        return msgspec.structs.replace(report, outbox_rows=rows)

    async def _import_batch(self, tx: Transaction, locations: list[Location], report: ImportReport) -> int:
        rows = 0
        changed: list[Location] = []
        now = self._clock.now()
        for location in locations:
            record = await load_location_record(
                tx, location.country_code, location.party_id, location.id, for_update=True
            )
            if record is not None and record.partner_id is not None:
                raise ValidationFailed(
                    f"location {location.id} of {location.country_code}*{location.party_id} "
                    "is a partner's, not ours"
                )
            if record is not None and record.location == location:
                report.unchanged.append(str(location.id))
                continue
            if record is not None and record.location.last_updated > location.last_updated:
                report.stale.append(str(location.id))
                continue
            changed.append(location)
            (report.updated if record is not None else report.created).append(str(location.id))
            rows += await enqueue_change(
                tx,
                self._partners,
                ObjectChange(
                    module=MODULE,
                    country_code=str(location.country_code),
                    party_id=str(location.party_id),
                    object_id=str(location.id),
                    method="PUT",
                ),
                now,
            )
        await save_own_locations(tx, changed, now)
        return rows

    async def _evse_home(
        self, tx: Operations, evse_uid: str, party: tuple[str, str] | None
    ) -> tuple[str, str, str]:
        candidates = [party] if party is not None else list(self._parties)
        found = []
        for cc, pid in candidates:
            location_id = await find_evse(tx, cc, pid, evse_uid)
            if location_id is not None:
                found.append((cc, pid, location_id))
        if not found:
            raise NotFound(f"no EVSE {evse_uid!r} in our locations (see `evroam locations list`)")
        if len(found) > 1:
            raise ValidationFailed(f"EVSE {evse_uid!r} exists under several parties: name one with --party")
        return found[0]

    async def set_status(
        self, evse_uid: str, status: Status, *, party: tuple[str, str] | None = None
    ) -> Location:
        """PATCH one EVSE's status: the EVSE and its location get ``last_updated`` = now, and the
        partners receive a PATCH ``{"status", "last_updated"}`` of the EVSE. Setting the status it
        already has changes nothing.
        """
        async with self._store.transaction() as tx:
            cc, pid, location_id = await self._evse_home(tx, evse_uid, party)
            record = await load_location_record(tx, cc, pid, location_id, for_update=True)
            evse = None if record is None else record.location.evse(evse_uid)
            if record is None or evse is None:
                raise NotFound(f"no EVSE {evse_uid!r} in our locations")
            location = record.location
            if evse.status == status:
                return location
            now = self._clock.now()
            evse = msgspec.structs.replace(evse, status=status, last_updated=_latest(evse.last_updated, now))
            evses, _ = _replace(location.evses or (), evse)
            location = msgspec.structs.replace(
                location, evses=evses, last_updated=_latest(location.last_updated, evse.last_updated)
            )
            await save_own_locations(tx, [location], now)
            await enqueue_change(
                tx,
                self._partners,
                ObjectChange(
                    module=MODULE,
                    country_code=str(location.country_code),
                    party_id=str(location.party_id),
                    object_id=str(location.id),
                    evse_uid=str(evse.uid),
                    method="PATCH",
                    patch=encode({"status": status, "last_updated": evse.last_updated}),
                ),
                now,
            )
            return location

    async def list_locations(self) -> list[Location]:
        """Our own locations, in creation order."""
        return [location async for location in iter_locations(self._store, partners=[None])]

    async def get_location(self, location_id: str) -> Location:
        for cc, pid in self._parties:
            record = await load_location_record(self._store, cc, pid, location_id)
            if record is not None and record.partner_id is None:
                return record.location
        raise NotFound(f"no location {location_id!r} of ours (see `evroam locations list`)")

    async def count(self) -> int:
        return await self._store.count(LOCATION_KIND, partners=[None])
