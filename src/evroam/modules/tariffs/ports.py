"""The tariffs module's ports: one typed protocol per role.

* :class:`TariffSenderPort` — the CPO side partners pull from (GET list);
* :class:`TariffReceiverPort` — the eMSP side partners push to (GET / PUT / DELETE, and PATCH in 2.1.1);
* :class:`TariffAdminPort` — the CPO's own tariffs (import, listing).

Methods work on canonical :class:`~evroam.model.Tariff` objects; writes answer with the store's
:class:`~evroam.store.PutOutcome` (``CREATED`` / ``UPDATED`` / ``STALE``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from evroam.model.tariffs import Tariff
from evroam.ocpi.transport.pagination import PageRequest
from evroam.registration.model import Partner
from evroam.store.port import PutOutcome, StoredObject

__all__ = ["TariffAdminPort", "TariffImportReport", "TariffPage", "TariffReceiverPort", "TariffSenderPort"]


class TariffPage(msgspec.Struct, frozen=True):
    """One page of our tariff documents, and how many match in total."""

    items: list[StoredObject]
    total: int


class TariffImportReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an import did, by tariff id."""

    created: list[str] = msgspec.field(default_factory=list)
    updated: list[str] = msgspec.field(default_factory=list)
    unchanged: list[str] = msgspec.field(default_factory=list)
    stale: list[str] = msgspec.field(default_factory=list)
    outbox_rows: int = 0


class TariffSenderPort(Protocol):
    """CPO, Sender interface."""

    async def page(self, partner: Partner, request: PageRequest) -> TariffPage: ...


class TariffReceiverPort(Protocol):
    """eMSP, Receiver interface: tariffs partners push, under their own parties only."""

    async def get(self, partner: Partner, country_code: str, party_id: str, tariff_id: str) -> Tariff: ...

    async def put(
        self, partner: Partner, country_code: str, party_id: str, tariff_id: str, tariff: Tariff
    ) -> PutOutcome: ...

    async def patch(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        tariff_id: str,
        last_updated: datetime,
        apply: Callable[[Tariff], Tariff],
    ) -> PutOutcome: ...

    async def delete(self, partner: Partner, country_code: str, party_id: str, tariff_id: str) -> bool: ...


class TariffAdminPort(Protocol):
    """CPO: the node's own tariffs."""

    async def import_tariffs(self, tariffs: Sequence[Tariff]) -> TariffImportReport: ...

    async def list_tariffs(self) -> list[Tariff]: ...

    async def get_tariff(self, tariff_id: str) -> Tariff: ...
