"""Pushing our CDRs: the push worker's :class:`~evroam.push.worker.Pusher` of module ``cdrs``.

A CDR row (enqueued as ``PUT``: "send the CDR") goes out as ``POST {cdrs}`` — to the partner's CDRs
Receiver endpoint URL itself, not a keyed URL. The ``Location`` header of the answer is recorded in
the CDR's document (:func:`~.repository.record_delivery`). A partner answering HTTP 409 already holds
the CDR (a POST repeated after a crash): delivered. Anything else failing is retried until the
partner acknowledges — the ``cdrs`` retry policy never parks, and reports a CDR undelivered for long
at error level (:mod:`evroam.push.retry`). A CDR the partner's version cannot carry is a failure too
(retried and reported), never skipped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evroam.core.errors import NotDeliverable, PartnerError
from evroam.model.common import NotRepresentable
from evroam.modules.kit import Delivery, Outgoing, Skip
from evroam.modules.locations import LOCATIONS
from evroam.ocpi.converters import VersionConverters
from evroam.store.outbox import ObjectChange, PartnerTarget
from evroam.store.port import Operations

from .._shared import token_owner
from .repository import CdrDelivery, load_cdr_record, record_delivery

__all__ = ["CdrPusher", "NotDeliverable"]


@dataclass(frozen=True)
class CdrPusher:
    """CDRs: POST of the CDR to the partner's module URL, its ``Location`` answer recorded."""

    module: str = "cdrs"

    async def addressee(self, ops: Operations, change: ObjectChange) -> tuple[str, str] | None:
        """The eMSP of the CDR's token: the ``OCPI-to`` of the push (through a hub it matters)."""
        record = await load_cdr_record(ops, change.country_code, change.party_id, change.object_id)
        return None if record is None else token_owner(record.cdr.cdr_token)

    async def prepare(
        self,
        ops: Operations,
        conv: VersionConverters,
        target: PartnerTarget,
        change: ObjectChange,
        delivery: Delivery,
    ) -> Outgoing | Skip:
        record = await load_cdr_record(ops, change.country_code, change.party_id, change.object_id)
        if record is None:
            return Skip(f"not sent: CDR {change.object_id} is not stored")
        cdr = record.cdr
        location = None
        if not conv.carries_owner("CDR") and cdr.location is None:
            location = await LOCATIONS.lookups.load_location(
                ops, cdr.country_code, cdr.party_id, cdr.cdr_location.id
            )
        try:
            body = conv.cdr_from_model(cdr, location)
        except NotRepresentable as exc:
            raise NotDeliverable(f"CDR {cdr.id} cannot be written in OCPI {conv.version}: {exc}") from exc
        return Outgoing("POST", (), body)

    def settled_by(self, exc: PartnerError) -> str | None:
        """A 409 answer: the partner holds this CDR already (an earlier POST got through)."""
        if exc.http_status == 409:
            return f"the partner already holds this CDR (HTTP 409): {exc.message}"
        return None

    async def acknowledged(
        self, ops: Any, target: PartnerTarget, change: ObjectChange, outgoing: Outgoing, response: Any
    ) -> None:
        """Record where the partner keeps the CDR (its ``Location`` answer) in our CDR's document."""
        url = response.headers.get("Location")
        async with ops.transaction() as tx:
            await record_delivery(
                tx,
                change.country_code,
                change.party_id,
                change.object_id,
                CdrDelivery(partner_id=target.partner_id, at=response.timestamp, url=url),
            )
