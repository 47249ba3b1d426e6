"""The tariffs services: plain Python over the store, no HTTP.

* :class:`TariffSender` (CPO) — pages of our own tariffs;
* :class:`TariffReceiver` (eMSP) — what partners push, under their own parties only, with the
  stale-update rule;
* :class:`TariffAdmin` (CPO) — import and listings of our own tariffs; every change writes its outbox
  rows (:func:`evroam.store.outbox.enqueue_change`) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import msgspec

from evroam.core.errors import Forbidden, NotFound, ValidationFailed, Violation
from evroam.model.enums import Role
from evroam.model.tariffs import Tariff
from evroam.ocpi.transport.pagination import PageRequest
from evroam.registration.model import Partner
from evroam.store.outbox import ObjectChange, enqueue_change
from evroam.store.port import Operations, PutOutcome, Store

from .._shared import PartyAdmin, check_url_id, count_stale, require_party, stale_counts
from .ports import TariffImportReport, TariffPage
from .repository import (
    TARIFF_KIND,
    TariffRecord,
    delete_tariff,
    iter_tariffs,
    load_tariff_record,
    page_tariffs,
    save_tariff,
)

__all__ = ["MODULE", "TariffAdmin", "TariffReceiver", "TariffSender"]

MODULE = "tariffs"


class TariffSender:
    """:class:`~evroam.modules.tariffs.ports.TariffSenderPort`: every tariff of ours, in creation order."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def page(self, partner: Partner, request: PageRequest) -> TariffPage:
        items, total = await page_tariffs(
            self._store,
            partners=[None],
            date_from=request.date_from,
            date_to=request.date_to,
            offset=request.offset,
            limit=request.limit,
        )
        return TariffPage(items, total)


class TariffReceiver:
    """:class:`~evroam.modules.tariffs.ports.TariffReceiverPort` over the store (``partner_id`` = sender)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def _mine(
        self, ops: Operations, partner: Partner, country_code: str, party_id: str, tariff_id: str
    ) -> TariffRecord | None:
        record = await load_tariff_record(ops, country_code, party_id, tariff_id, for_update=True)
        if record is not None and record.partner_id != partner.id:
            raise Forbidden(
                f"tariff {tariff_id!r} of {country_code}*{party_id} was not stored by this partner"
            )
        return record

    async def get(self, partner: Partner, country_code: str, party_id: str, tariff_id: str) -> Tariff:
        require_party(partner, country_code, party_id, Role.CPO)
        record = await load_tariff_record(self._store, country_code, party_id, tariff_id)
        if record is None or record.partner_id != partner.id:
            raise NotFound(f"no tariff {tariff_id!r} of {country_code}*{party_id}")
        return record.tariff

    async def put(
        self, partner: Partner, country_code: str, party_id: str, tariff_id: str, tariff: Tariff
    ) -> PutOutcome:
        require_party(partner, country_code, party_id, Role.CPO)
        check_url_id("country_code", country_code, tariff.country_code)
        check_url_id("party_id", party_id, tariff.party_id)
        check_url_id("id", tariff_id, tariff.id)
        async with self._store.transaction() as tx:
            record = await self._mine(tx, partner, country_code, party_id, tariff_id)
            if record is not None and record.tariff.last_updated > tariff.last_updated:
                await count_stale(tx, MODULE, partner.id)
                return PutOutcome.STALE
            return await save_tariff(tx, tariff, partner_id=partner.id, check_stale=False)

    async def patch(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        tariff_id: str,
        last_updated: datetime,
        apply: Callable[[Tariff], Tariff],
    ) -> PutOutcome:
        require_party(partner, country_code, party_id, Role.CPO)
        async with self._store.transaction() as tx:
            record = await self._mine(tx, partner, country_code, party_id, tariff_id)
            if record is None:
                raise NotFound(f"no tariff {tariff_id!r} of {country_code}*{party_id}: PUT it first")
            if record.tariff.last_updated > last_updated:
                await count_stale(tx, MODULE, partner.id)
                return PutOutcome.STALE
            tariff = apply(record.tariff)
            check_url_id("id", tariff_id, tariff.id)
            await save_tariff(tx, tariff, partner_id=partner.id, check_stale=False)
            return PutOutcome.UPDATED

    async def delete(self, partner: Partner, country_code: str, party_id: str, tariff_id: str) -> bool:
        """``True`` when the tariff was there (a repeated DELETE is not an error)."""
        require_party(partner, country_code, party_id, Role.CPO)
        async with self._store.transaction() as tx:
            record = await self._mine(tx, partner, country_code, party_id, tariff_id)
            if record is None:
                return False
            return await delete_tariff(tx, country_code, party_id, tariff_id)

    async def stale_updates(self, partner_ids: Sequence[str] = ()) -> dict[str, int]:
        """Stale updates ignored so far: ``{"total": n, <partner_id>: n ...}``."""
        return await stale_counts(self._store, MODULE, partner_ids)


class TariffAdmin(PartyAdmin):
    """:class:`~evroam.modules.tariffs.ports.TariffAdminPort`: the CPO's own tariffs."""

    async def import_tariffs(self, tariffs: Sequence[Tariff]) -> TariffImportReport:
        """Create or replace each tariff in one transaction; nothing is written when one is refused."""
        violations = [
            Violation(
                f"$[{i}].country_code", f"{t.country_code}*{t.party_id} is not a CPO party of this node"
            )
            for i, t in enumerate(tariffs)
            if not self._ours(t.country_code, t.party_id)
        ]
        if violations:
            raise ValidationFailed(violations, "tariffs refused, nothing imported")
        report = TariffImportReport()
        rows = 0
        async with self._store.transaction() as tx:
            for tariff in tariffs:
                record = await load_tariff_record(
                    tx, tariff.country_code, tariff.party_id, tariff.id, for_update=True
                )
                if record is not None and record.partner_id is not None:
                    raise ValidationFailed(
                        f"tariff {tariff.id} of {tariff.country_code}*{tariff.party_id} "
                        "is a partner's, not ours"
                    )
                if record is not None and record.tariff == tariff:
                    report.unchanged.append(str(tariff.id))
                    continue
                if record is not None and record.tariff.last_updated > tariff.last_updated:
                    report.stale.append(str(tariff.id))
                    continue
                await save_tariff(tx, tariff, check_stale=False)
                (report.updated if record is not None else report.created).append(str(tariff.id))
                rows += await enqueue_change(
                    tx,
                    self._partners,
                    ObjectChange(
                        module=MODULE,
                        country_code=str(tariff.country_code),
                        party_id=str(tariff.party_id),
                        object_id=str(tariff.id),
                        method="PUT",
                    ),
                    self._clock.now(),
                )
        return msgspec.structs.replace(report, outbox_rows=rows)

    async def list_tariffs(self) -> list[Tariff]:
        return [tariff async for tariff in iter_tariffs(self._store, partners=[None])]

    async def get_tariff(self, tariff_id: str) -> Tariff:
        for cc, pid in self._parties:
            record = await load_tariff_record(self._store, cc, pid, tariff_id)
            if record is not None and record.partner_id is None:
                return record.tariff
        raise NotFound(f"no tariff {tariff_id!r} of ours (see `evroam tariffs list`)")

    async def count(self) -> int:
        return await self._store.count(TARIFF_KIND, partners=[None])
