"""Where tariffs live in the store: the one place that knows their document format.

* kind ``"tariff"``: one document per Tariff, the canonical :class:`~evroam.model.Tariff` encoded with
  :func:`evroam.core.codec.encode`;
* key: the owner's ``(country_code, party_id, id)``;
* ``partner_id``: ``None`` for our own tariffs, the sending partner's id for received ones;
* the store's ``last_updated`` column is the Tariff's ``last_updated``.

Everything that reads or writes tariff documents (the services here, the push worker, the pull sync)
goes through these functions.
"""

from __future__ import annotations

import msgspec

from evroam.model.tariffs import Tariff
from evroam.store.port import ObjectKey, Operations, PutOutcome

from .._documents import Documents

__all__ = [
    "TARIFF_KIND",
    "TariffRecord",
    "decode_tariff",
    "delete_tariff",
    "encode_tariff",
    "iter_tariffs",
    "load_tariff",
    "load_tariff_record",
    "page_tariffs",
    "save_tariff",
    "tariff_key",
]

TARIFF_KIND = "tariff"
_TARIFFS = Documents(TARIFF_KIND, Tariff)


class TariffRecord(msgspec.Struct, frozen=True):
    """A stored tariff with its store bookkeeping."""

    tariff: Tariff
    partner_id: str | None
    seq: int
    revision: int


def tariff_key(country_code: str, party_id: str, tariff_id: str) -> ObjectKey:
    return _TARIFFS.key(country_code, party_id, tariff_id)


def encode_tariff(tariff: Tariff) -> bytes:
    """The document bytes of a tariff."""
    return _TARIFFS.encode(tariff)


def decode_tariff(payload: bytes) -> Tariff:
    """A tariff document back as the canonical object."""
    return _TARIFFS.decode(payload)


async def load_tariff_record(
    ops: Operations, country_code: str, party_id: str, tariff_id: str, *, for_update: bool = False
) -> TariffRecord | None:
    """The stored tariff with its ``partner_id`` / ``seq`` / ``revision``, or ``None``."""
    found = await _TARIFFS.get(ops, country_code, party_id, tariff_id, for_update=for_update)
    if found is None:
        return None
    return TariffRecord(decode_tariff(found.payload), found.partner_id, found.seq, found.revision)


async def load_tariff(
    ops: Operations, country_code: str, party_id: str, tariff_id: str, *, for_update: bool = False
) -> Tariff | None:
    """The tariff under that owner and id (case-insensitive), or ``None``."""
    return await _TARIFFS.load(ops, country_code, party_id, tariff_id, for_update=for_update)


async def save_tariff(
    ops: Operations,
    tariff: Tariff,
    *,
    partner_id: str | None = None,
    check_stale: bool = True,
) -> PutOutcome:
    """Create or replace the tariff (keyed by its own ``country_code`` / ``party_id`` / ``id``).

    With ``check_stale`` nothing is written, and :attr:`PutOutcome.STALE` returned, when the stored
    tariff has a newer ``last_updated``.
    """
    key = tariff_key(tariff.country_code, tariff.party_id, tariff.id)
    return await _TARIFFS.put(
        ops, key, tariff, tariff.last_updated, partner_id=partner_id, check_stale=check_stale
    )


async def delete_tariff(ops: Operations, country_code: str, party_id: str, tariff_id: str) -> bool:
    """Delete the tariff; ``True`` when there was one."""
    return await ops.delete(tariff_key(country_code, party_id, tariff_id))


page_tariffs = _TARIFFS.page
"""One page of tariff documents in creation order (raw records), and the total matching the filters."""


iter_tariffs = _TARIFFS.documents
"""Every tariff matching the filters, in creation order, read ``batch`` at a time (``partners=[None]``:
our own, ``[partner_id]``: received from that partner, ``None``: all)."""
