"""The CDRs module's ports: one typed protocol per role.

* :class:`CdrSenderPort` — the CPO side partners pull from (GET list);
* :class:`CdrReceiverPort` — the eMSP side CPOs POST to (POST, GET of the URL answered in ``Location``);
* :class:`CdrAdminPort` — the CPO's own CDRs (create, from a completed session, credit).
"""

from __future__ import annotations

from typing import Protocol

import msgspec

from evroam.model.cdrs import CDR
from evroam.model.common import Price
from evroam.ocpi.transport.pagination import PageRequest
from evroam.registration.model import Partner
from evroam.store.port import StoredObject

__all__ = ["CdrAdminPort", "CdrCreated", "CdrPage", "CdrReceiverPort", "CdrSenderPort"]


class CdrPage(msgspec.Struct, frozen=True):
    """One page of CDR documents, and how many match in total."""

    items: list[StoredObject]
    total: int


class CdrCreated(msgspec.Struct, frozen=True):
    """A CDR as stored, and how many outbox rows (POSTs to partners) it queued."""

    cdr: CDR
    outbox_rows: int


class CdrSenderPort(Protocol):
    """CPO, Sender interface."""

    async def page(self, partner: Partner, request: PageRequest) -> CdrPage: ...


class CdrReceiverPort(Protocol):
    """eMSP, Receiver interface: CDRs CPOs post, under their own parties only; never changed."""

    async def post(self, partner: Partner, cdr: CDR, location_url: str) -> None: ...

    async def get(self, partner: Partner, country_code: str, party_id: str, cdr_id: str) -> CDR: ...


class CdrAdminPort(Protocol):
    """CPO: the node's own CDRs."""

    async def create(self, cdr: CDR) -> CdrCreated: ...

    async def from_session(
        self,
        session_id: str,
        *,
        cdr_id: str | None = None,
        total_cost: Price | None = None,
        party: tuple[str, str] | None = None,
    ) -> CdrCreated: ...

    async def credit(self, cdr_id: str, *, credit_id: str | None = None) -> CdrCreated: ...
