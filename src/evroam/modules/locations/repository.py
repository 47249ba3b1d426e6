"""Where locations live in the store: the one place that knows their document format.

* kind ``"location"``: one document per Location, the whole canonical :class:`~evroam.model.Location`
  (with its EVSEs and connectors) encoded with :func:`evroam.core.codec.encode`;
* key: the owner's ``(country_code, party_id, id)``;
* ``partner_id``: ``None`` for our own locations, the sending partner's id for received ones;
* the store's ``last_updated`` column is the Location's ``last_updated`` (used by stale checks and by
  the ``date_from`` / ``date_to`` filters).

Everything that reads or writes location documents (the services here, the push worker, the pull
sync) goes through these functions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import datetime

import msgspec

from evroam.core.codec import decode, encode
from evroam.model.locations import Location
from evroam.store.port import ObjectKey, Operations, PutOutcome, StoredObject

__all__ = [
    "LOCATION_KIND",
    "LocationRecord",
    "decode_location",
    "encode_location",
    "iter_locations",
    "load_location",
    "load_location_record",
    "location_key",
    "page_locations",
    "save_location",
]

LOCATION_KIND = "location"


class LocationRecord(msgspec.Struct, frozen=True):
    """A stored location with its store bookkeeping."""

    location: Location
    partner_id: str | None
    seq: int
    revision: int


def location_key(country_code: str, party_id: str, location_id: str) -> ObjectKey:
    return ObjectKey(LOCATION_KIND, country_code, party_id, location_id)


def encode_location(location: Location) -> bytes:
    """The document bytes of a location."""
    return encode(location)


def decode_location(payload: bytes) -> Location:
    """A location document back as the canonical object."""
    return decode(payload, Location)


def _record(found: StoredObject) -> LocationRecord:
    return LocationRecord(decode_location(found.payload), found.partner_id, found.seq, found.revision)


async def load_location_record(
    ops: Operations, country_code: str, party_id: str, location_id: str, *, for_update: bool = False
) -> LocationRecord | None:
    """The stored location with its ``partner_id`` / ``seq`` / ``revision``, or ``None``."""
    found = await ops.get(location_key(country_code, party_id, location_id), for_update=for_update)
    return None if found is None else _record(found)


async def load_location(
    ops: Operations, country_code: str, party_id: str, location_id: str, *, for_update: bool = False
) -> Location | None:
    """The location under that owner and id (case-insensitive), or ``None``.

    ``for_update=True`` inside a transaction locks it for a read-modify-write.
    """
    found = await ops.get(location_key(country_code, party_id, location_id), for_update=for_update)
    return None if found is None else decode_location(found.payload)


async def save_location(
    ops: Operations,
    location: Location,
    *,
    partner_id: str | None = None,
    check_stale: bool = True,
) -> PutOutcome:
    """Create or replace the location (keyed by its own ``country_code`` / ``party_id`` / ``id``).

    With ``check_stale`` nothing is written, and :attr:`PutOutcome.STALE` returned, when the stored
    location has a newer ``last_updated``.
    """
    return await ops.put(
        location_key(location.country_code, location.party_id, location.id),
        encode_location(location),
        location.last_updated,
        partner_id=partner_id,
        check_stale=check_stale,
    )


async def page_locations(
    ops: Operations,
    *,
    country_code: str | None = None,
    party_id: str | None = None,
    partners: Collection[str | None] | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[StoredObject], int]:
    """One page of location documents in creation order, and the total matching the filters.

    The items are raw store records (decode them with :func:`decode_location`): the sender list
    serves cached wire bytes and must not pay for decoding each document.
    """
    page = await ops.find(
        LOCATION_KIND,
        country_code=country_code,
        party_id=party_id,
        partners=partners,
        date_from=date_from,
        date_to=date_to,
        offset=offset,
        limit=limit,
    )
    return page.items, page.total


async def iter_locations(
    ops: Operations,
    *,
    country_code: str | None = None,
    party_id: str | None = None,
    partners: Collection[str | None] | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    batch: int = 500,
) -> AsyncIterator[Location]:
    """Every location matching the filters, in creation order, read ``batch`` at a time.

    ``partners=[None]`` gives our own locations, ``partners=[partner_id]`` the ones received from
    that partner, ``None`` (the default) all of them.
    """
    offset = 0
    while True:
        page = await ops.find(
            LOCATION_KIND,
            country_code=country_code,
            party_id=party_id,
            partners=partners,
            date_from=date_from,
            date_to=date_to,
            offset=offset,
            limit=batch,
        )
        for item in page.items:
            yield decode_location(item.payload)
        if len(page.items) < batch:
            return
        offset += len(page.items)
