"""The locations module's ports: one typed protocol per role.

* :class:`LocationSenderPort` — the CPO side that partners pull from (GET list / one object);
* :class:`LocationReceiverPort` — the eMSP side that partners push to (PUT / PATCH / GET);
* :class:`LocationAdminPort` — the CPO's own management of its locations (import, status, listing).

Every method works on canonical objects (:mod:`evroam.model`); the HTTP bindings convert from and to
each OCPI version's wire models. Writes answer with the store's :class:`~evroam.store.PutOutcome`:
``CREATED``, ``UPDATED``, or ``STALE`` (older than what is stored: acknowledged, ignored, counted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from evroam.core.errors import Violation
from evroam.model.enums import Status
from evroam.model.locations import EVSE, Connector, Location
from evroam.ocpi.transport.pagination import PageRequest
from evroam.registration.model import Partner
from evroam.store.port import PutOutcome

from .index import IndexedLocation

__all__ = [
    "ImportBatch",
    "ImportReport",
    "LocationAdminPort",
    "LocationReceiverPort",
    "LocationSenderPort",
    "SenderPage",
]


class SenderPage(msgspec.Struct, frozen=True):
    """One page of our location documents visible to a partner, and how many match in total."""

    items: list[IndexedLocation]
    total: int


ImportBatch = tuple[Sequence[tuple[int, Location]], Sequence[Violation]]
"""Some locations of an import with their index in the file, and the violations found decoding them."""


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an import did, by location id."""

    created: list[str] = msgspec.field(default_factory=list)
    updated: list[str] = msgspec.field(default_factory=list)
    unchanged: list[str] = msgspec.field(default_factory=list)
    stale: list[str] = msgspec.field(default_factory=list)
    """Older than the stored location (``last_updated``): left as stored."""
    outbox_rows: int = 0


class LocationSenderPort(Protocol):
    """CPO, Sender interface: what partners may pull."""

    async def page(self, partner: Partner, request: PageRequest) -> SenderPage:
        """Our locations visible to ``partner`` matching the request's dates, in creation order."""
        ...

    async def location(self, partner: Partner, location_id: str) -> IndexedLocation:
        """One of our locations (``NotFound`` when unknown or hidden from ``partner``)."""
        ...

    async def evse(self, partner: Partner, location_id: str, evse_uid: str) -> EVSE: ...

    async def connector(
        self, partner: Partner, location_id: str, evse_uid: str, connector_id: str
    ) -> Connector: ...


class LocationReceiverPort(Protocol):
    """eMSP, Receiver interface: what partners push, kept under their own parties only."""

    async def get_location(
        self, partner: Partner, country_code: str, party_id: str, location_id: str
    ) -> Location: ...

    async def get_evse(
        self, partner: Partner, country_code: str, party_id: str, location_id: str, evse_uid: str
    ) -> EVSE: ...

    async def get_connector(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        location_id: str,
        evse_uid: str,
        connector_id: str,
    ) -> Connector: ...

    async def put_location(
        self, partner: Partner, country_code: str, party_id: str, location_id: str, location: Location
    ) -> PutOutcome: ...

    async def put_evse(
        self, partner: Partner, country_code: str, party_id: str, location_id: str, evse_uid: str, evse: EVSE
    ) -> PutOutcome: ...

    async def put_connector(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        location_id: str,
        evse_uid: str,
        connector_id: str,
        connector: Connector,
    ) -> PutOutcome: ...

    async def patch_location(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        location_id: str,
        last_updated: datetime,
        apply: Callable[[Location], Location],
    ) -> PutOutcome: ...

    async def patch_evse(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        location_id: str,
        evse_uid: str,
        last_updated: datetime,
        apply: Callable[[EVSE], EVSE],
    ) -> PutOutcome: ...

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
    ) -> PutOutcome: ...


class LocationAdminPort(Protocol):
    """CPO: the node's own locations, changed through the CLI or an operator's backend."""

    async def import_locations(self, locations: Sequence[Location]) -> ImportReport: ...

    async def import_batches(self, batches: Iterable[ImportBatch]) -> ImportReport:
        """An import read a batch at a time, all or nothing (every violation of every batch at once)."""
        ...

    async def set_status(
        self, evse_uid: str, status: Status, *, party: tuple[str, str] | None = None
    ) -> Location: ...

    async def list_locations(self) -> list[Location]: ...

    async def get_location(self, location_id: str) -> Location: ...
