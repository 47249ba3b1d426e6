"""Where locations live in the store: the one place that knows their document format.

* kind ``"location"``: one document per Location, the whole canonical :class:`~evroam.model.Location`
  (with its EVSEs and connectors) encoded with :func:`evroam.core.codec.encode`;
* key: the owner's ``(country_code, party_id, id)``;
* ``partner_id``: ``None`` for our own locations, the sending partner's id for received ones;
* the store's ``last_updated`` column is the Location's ``last_updated`` (used by stale checks and by
  the ``date_from`` / ``date_to`` filters).

Two more things are kept for our *own* locations (``partner_id`` ``None``), by the CPO services only:

* kind ``"location_evse"``: an index from an EVSE ``uid`` (unique within a CPO party) to the id of the
  location holding it, keyed ``(country_code, party_id, evse_uid)``; the payload is the location id
  as a JSON string;
* the setting ``locations.unpublished``: the owner, id and ``publish_allowed_to`` of every location of
  ours with ``publish: false``, so that a Sender page knows what to hide without decoding documents.

Everything that reads or writes location documents (the services here, the push worker, the pull
sync) goes through these functions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import datetime

import msgspec

from evroam.core.codec import decode, encode
from evroam.model.locations import Location, PublishTokenType
from evroam.store.port import ObjectKey, Operations, PutOutcome, StoredObject

__all__ = [
    "EVSE_INDEX_KIND",
    "LOCATION_KIND",
    "UNPUBLISHED_SETTING",
    "HiddenLocation",
    "LocationRecord",
    "decode_location",
    "encode_location",
    "find_evse",
    "index_evses",
    "iter_locations",
    "load_location",
    "load_location_record",
    "load_unpublished",
    "location_key",
    "page_locations",
    "save_location",
    "save_unpublished",
]

LOCATION_KIND = "location"
EVSE_INDEX_KIND = "location_evse"
UNPUBLISHED_SETTING = "locations.unpublished"


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


# -- our own locations: the EVSE index and the unpublished list ---------------------------------------


async def index_evses(ops: Operations, location: Location) -> None:
    """Record that each EVSE of ``location`` (one of ours) lives in it."""
    payload = encode(str(location.id))
    for evse in location.evses or ():
        await ops.put(
            ObjectKey(EVSE_INDEX_KIND, location.country_code, location.party_id, evse.uid),
            payload,
            location.last_updated,
            check_stale=False,
        )


async def find_evse(ops: Operations, country_code: str, party_id: str, evse_uid: str) -> str | None:
    """The id of our location holding EVSE ``evse_uid`` of that party, or ``None``."""
    found = await ops.get(ObjectKey(EVSE_INDEX_KIND, country_code, party_id, evse_uid))
    return None if found is None else str(decode(found.payload, str))


class HiddenLocation(msgspec.Struct, frozen=True):
    """One of our locations with ``publish: false``."""

    country_code: str
    party_id: str
    id: str
    allowed: tuple[PublishTokenType, ...] = ()

    @property
    def folded(self) -> tuple[str, str, str]:
        return (self.country_code.casefold(), self.party_id.casefold(), self.id.casefold())


async def load_unpublished(ops: Operations) -> list[HiddenLocation]:
    """Our locations with ``publish: false`` (see the module docstring)."""
    raw = await ops.get_setting(UNPUBLISHED_SETTING)
    return [] if not raw else list(decode(raw, list[HiddenLocation]))


async def save_unpublished(ops: Operations, location: Location) -> None:
    """Update the unpublished list for ``location`` (one of ours), when its visibility changed."""
    hidden = await load_unpublished(ops)
    entry = HiddenLocation(
        str(location.country_code),
        str(location.party_id),
        str(location.id),
        location.publish_allowed_to or (),
    )
    kept = [h for h in hidden if h.folded != entry.folded]
    if not location.publish:
        kept.append(entry)
    if kept != hidden:
        await ops.set_setting(UNPUBLISHED_SETTING, encode(kept).decode())
