"""Where CDRs live in the store: the one place that knows their document format.

* kind ``"cdr"``: one :class:`CdrDocument` per CDR — the canonical :class:`~evroam.model.CDR` and its
  delivery bookkeeping (a CDR itself never changes):

  - on the eMSP side, ``location_url``: the URL we answered in the ``Location`` header of the POST
    (where the CPO can GET it back);
  - on the CPO side, ``deliveries``: per partner, the ``Location`` URL its POST answer carried;

* key: the owner's (the CPO's) ``(country_code, party_id, id)``;
* ``partner_id``: for a CDR we received, the id of the partner that posted it; for one of our own,
  :func:`~evroam.modules._shared.party_scope` of the party that owns its token, so that a Sender
  list shows a partner only the CDRs of its own tokens;
* the store's ``last_updated`` column is the CDR's ``last_updated`` (its creation time).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

from evroam.core.types import DateTime
from evroam.model.cdrs import CDR
from evroam.store.port import ObjectKey, Operations, PutOutcome, StoredObject

from .._documents import Documents
from .._shared import is_party_scope, party_scope, token_owner

__all__ = [
    "CDR_KIND",
    "CdrDelivery",
    "CdrDocument",
    "CdrRecord",
    "cdr_key",
    "cdr_scope",
    "decode_cdr_document",
    "encode_cdr_document",
    "iter_cdr_records",
    "load_cdr_record",
    "page_cdrs",
    "record_delivery",
    "save_cdr",
]

CDR_KIND = "cdr"


class CdrDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One acknowledged POST of one of our CDRs to a partner."""

    partner_id: str
    at: DateTime
    """The timestamp of the partner's answer."""
    url: str | None = None
    """The ``Location`` the partner answered (``None`` when it sent none)."""


class CdrDocument(msgspec.Struct, frozen=True, kw_only=True):
    """What is stored per CDR."""

    cdr: CDR
    location_url: str | None = None
    """eMSP side: the URL we answered in the POST's ``Location`` header."""
    deliveries: tuple[CdrDelivery, ...] = ()
    """CPO side: the partners that acknowledged the CDR, with the URL they gave."""


_CDRS = Documents(CDR_KIND, CdrDocument)


class CdrRecord(msgspec.Struct, frozen=True):
    """A stored CDR document with its store bookkeeping."""

    document: CdrDocument
    partner_id: str | None
    seq: int
    revision: int

    @property
    def cdr(self) -> CDR:
        return self.document.cdr

    @property
    def own(self) -> bool:
        """One of our own CDRs (not one a partner posted to us)."""
        return self.partner_id is None or is_party_scope(self.partner_id)


def cdr_key(country_code: str, party_id: str, cdr_id: str) -> ObjectKey:
    return _CDRS.key(country_code, party_id, cdr_id)


def cdr_scope(cdr: CDR) -> str | None:
    """The ``partner_id`` one of our own CDRs is stored under (its token owner's scope)."""
    owner = token_owner(cdr.cdr_token)
    return None if owner is None else party_scope(*owner)


def encode_cdr_document(document: CdrDocument) -> bytes:
    return _CDRS.encode(document)


def decode_cdr_document(payload: bytes) -> CdrDocument:
    return _CDRS.decode(payload)


def _record(found: StoredObject) -> CdrRecord:
    return CdrRecord(decode_cdr_document(found.payload), found.partner_id, found.seq, found.revision)


async def load_cdr_record(
    ops: Operations, country_code: str, party_id: str, cdr_id: str, *, for_update: bool = False
) -> CdrRecord | None:
    found = await _CDRS.get(ops, country_code, party_id, cdr_id, for_update=for_update)
    return None if found is None else _record(found)


async def save_cdr(ops: Operations, document: CdrDocument, *, partner_id: str | None) -> PutOutcome:
    """Store the CDR document (keyed by the CDR's own ``country_code`` / ``party_id`` / ``id``)."""
    cdr = document.cdr
    key = cdr_key(cdr.country_code, cdr.party_id, cdr.id)
    return await _CDRS.put(ops, key, document, cdr.last_updated, partner_id=partner_id, check_stale=False)


async def record_delivery(
    ops: Operations, country_code: str, party_id: str, cdr_id: str, delivery: CdrDelivery
) -> bool:
    """Add (or replace, per partner) a delivery to one of our CDRs; ``False`` when it is not stored."""
    record = await load_cdr_record(ops, country_code, party_id, cdr_id, for_update=True)
    if record is None:
        return False
    others = tuple(d for d in record.document.deliveries if d.partner_id != delivery.partner_id)
    document = msgspec.structs.replace(record.document, deliveries=(*others, delivery))
    await save_cdr(ops, document, partner_id=record.partner_id)
    return True


page_cdrs = _CDRS.page
"""One page of CDR documents in creation order, and the total matching the filters."""


async def iter_cdr_records(ops: Operations, *, batch: int = 500) -> AsyncIterator[CdrRecord]:
    """Every stored CDR (ours and received), in creation order."""
    async for item in _CDRS.walk(ops, batch=batch):
        yield _record(item)
