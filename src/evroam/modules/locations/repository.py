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
* a change log (kind ``"location_changes"``, one document): a generation number bumped by every change
  of one of our locations and the keys of the latest changes, so that the in-memory listing of each
  process (:mod:`.index`) knows what to reload without reading every document. Our own locations must
  therefore be written with :func:`save_own_locations`.

Everything that reads or writes location documents (the services here, the push worker, the pull
sync) goes through these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from evroam.core.codec import convert, decode, encode
from evroam.core.types import DateTime
from evroam.model.locations import EVSE, Location
from evroam.store.port import ObjectKey, Operations, PutOutcome, StoredObject

from .._documents import Documents

__all__ = [
    "CHANGE_LOG_KIND",
    "CHANGE_LOG_SIZE",
    "EVSE_INDEX_KIND",
    "LOCATION_KIND",
    "ChangeLog",
    "DecodedLocations",
    "LocationDocument",
    "LocationRecord",
    "decode_location",
    "encode_location",
    "find_evse",
    "index_evses",
    "iter_locations",
    "load_change_log",
    "load_location",
    "load_location_document",
    "load_location_record",
    "location_key",
    "page_locations",
    "save_location",
    "save_location_document",
    "save_own_locations",
]

LOCATION_KIND = "location"
EVSE_INDEX_KIND = "location_evse"
CHANGE_LOG_KIND = "location_changes"
CHANGE_LOG_KEY = ObjectKey(CHANGE_LOG_KIND, "", "", "own")
_LOCATIONS = Documents(LOCATION_KIND, Location)


class LocationRecord(msgspec.Struct, frozen=True):
    """A stored location with its store bookkeeping."""

    location: Location
    partner_id: str | None
    seq: int
    revision: int


def location_key(country_code: str, party_id: str, location_id: str) -> ObjectKey:
    return _LOCATIONS.key(country_code, party_id, location_id)


def encode_location(location: Location) -> bytes:
    """The document bytes of a location."""
    return _LOCATIONS.encode(location)


def decode_location(payload: bytes) -> Location:
    """A location document back as the canonical object."""
    return _LOCATIONS.decode(payload)


class DecodedLocations:
    """Decoded location documents of one process, each used only while the stored bytes are identical
    (so a change made elsewhere is never missed). Saves decoding on read-modify-write of hot objects."""

    def __init__(self, max_entries: int = 50_000) -> None:
        self._entries: dict[tuple[str, str, str, str], tuple[bytes, Location]] = {}
        self._max = max_entries

    def decode(self, found: StoredObject) -> Location:
        hit = self._entries.get(found.key.folded)
        if hit is not None and hit[0] == found.payload:
            return hit[1]
        location = decode_location(found.payload)
        self.remember(found.key.folded, found.payload, location)
        return location

    def remember(self, key: tuple[str, str, str, str], payload: bytes, location: Location) -> None:
        if len(self._entries) >= self._max:
            self._entries.clear()
        self._entries[key] = (payload, location)


_plain_json = msgspec.json.Decoder(float_hook=Decimal)  # numbers keep their exact value


class LocationDocument:
    """A stored location held as plain JSON values, with its ``partner_id``, for a change of one EVSE
    (or one of its connectors).

    Decoding a whole location into the canonical model and encoding it again runs a hook for every
    case-insensitive string and timestamp in it; a status PATCH touches one EVSE. Here only that EVSE
    becomes a canonical object (:meth:`evse`); the rest of the document is carried over as it was
    stored, and :func:`save_location_document` writes the same JSON that :func:`save_location` would
    write for the changed location.
    """

    __slots__ = ("_data", "partner_id")

    def __init__(self, found: StoredObject) -> None:
        self._data: dict[str, Any] = _plain_json.decode(found.payload)
        self.partner_id = found.partner_id

    @property
    def key(self) -> ObjectKey:
        data = self._data
        return location_key(data["country_code"], data["party_id"], data["id"])

    @property
    def last_updated(self) -> DateTime:
        value = self._data["last_updated"]
        return value if isinstance(value, DateTime) else DateTime.parse(value)

    def evse(self, uid: str) -> tuple[int, EVSE] | None:
        """The position and canonical object of the EVSE with this uid (case-insensitive), or ``None``."""
        wanted = uid.casefold()
        for i, item in enumerate(self._data.get("evses") or ()):
            if isinstance(item, EVSE):
                if item.uid == uid:
                    return i, item
            elif str(item.get("uid", "")).casefold() == wanted:
                return i, convert(item, EVSE)
        return None

    def replace_evse(self, position: int, evse: EVSE) -> None:
        """Put ``evse`` at ``position`` and bump the location's ``last_updated`` to the EVSE's if newer
        (the rule for a changed EVSE or connector)."""
        self._data["evses"][position] = evse
        if evse.last_updated > self.last_updated:
            self._data["last_updated"] = evse.last_updated

    def payload(self) -> bytes:
        return encode(self._data)


async def load_location_document(
    ops: Operations, country_code: str, party_id: str, location_id: str, *, for_update: bool = False
) -> LocationDocument | None:
    """The stored location as a :class:`LocationDocument`, or ``None``."""
    found = await _LOCATIONS.get(ops, country_code, party_id, location_id, for_update=for_update)
    return None if found is None else LocationDocument(found)


async def save_location_document(ops: Operations, document: LocationDocument) -> PutOutcome:
    """Write a changed :class:`LocationDocument` back (no stale check: the caller made it)."""
    return await ops.put(
        document.key,
        document.payload(),
        document.last_updated,
        partner_id=document.partner_id,
        check_stale=False,
    )


def _record(found: StoredObject, cache: DecodedLocations | None = None) -> LocationRecord:
    location = decode_location(found.payload) if cache is None else cache.decode(found)
    return LocationRecord(location, found.partner_id, found.seq, found.revision)


async def load_location_record(
    ops: Operations,
    country_code: str,
    party_id: str,
    location_id: str,
    *,
    for_update: bool = False,
    cache: DecodedLocations | None = None,
) -> LocationRecord | None:
    """The stored location with its ``partner_id`` / ``seq`` / ``revision``, or ``None``."""
    found = await _LOCATIONS.get(ops, country_code, party_id, location_id, for_update=for_update)
    return None if found is None else _record(found, cache)


async def load_location(
    ops: Operations, country_code: str, party_id: str, location_id: str, *, for_update: bool = False
) -> Location | None:
    """The location under that owner and id (case-insensitive), or ``None``.

    ``for_update=True`` inside a transaction locks it for a read-modify-write.
    """
    return await _LOCATIONS.load(ops, country_code, party_id, location_id, for_update=for_update)


async def save_location(
    ops: Operations,
    location: Location,
    *,
    partner_id: str | None = None,
    check_stale: bool = True,
    cache: DecodedLocations | None = None,
) -> PutOutcome:
    """Create or replace the location (keyed by its own ``country_code`` / ``party_id`` / ``id``).

    With ``check_stale`` nothing is written, and :attr:`PutOutcome.STALE` returned, when the stored
    location has a newer ``last_updated``.
    """
    key = location_key(location.country_code, location.party_id, location.id)
    payload = encode_location(location)
    outcome = await ops.put(
        key, payload, location.last_updated, partner_id=partner_id, check_stale=check_stale
    )
    if cache is not None and outcome is not PutOutcome.STALE:
        cache.remember(key.folded, payload, location)
    return outcome


page_locations = _LOCATIONS.page
"""One page of location documents in creation order, and the total matching the filters. The items are
raw store records (decode them with :func:`decode_location`): the sender list serves cached wire bytes
and must not pay for decoding each document."""


iter_locations = _LOCATIONS.documents
"""Every location matching the filters, in creation order, read ``batch`` at a time (``partners=[None]``:
our own, ``[partner_id]``: received from that partner, ``None``: all)."""


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


class ChangeLog(msgspec.Struct, frozen=True):
    """Which of our own locations changed lately: ``generation`` counts every change, ``recent`` keeps
    the last :data:`CHANGE_LOG_SIZE` ``(generation, folded key)`` pairs."""

    generation: int = 0
    recent: tuple[tuple[int, tuple[str, str, str]], ...] = ()

    def since(self, generation: int) -> set[tuple[str, str, str]] | None:
        """The keys changed after ``generation``; ``None`` when the log no longer reaches back that far."""
        if generation == self.generation:
            return set()
        if generation > self.generation or not self.recent or self.recent[0][0] > generation + 1:
            return None
        return {key for number, key in self.recent if number > generation}


CHANGE_LOG_SIZE = 256


async def load_change_log(ops: Operations, *, for_update: bool = False) -> ChangeLog:
    found = await ops.get(CHANGE_LOG_KEY, for_update=for_update)
    return ChangeLog() if found is None else decode(found.payload, ChangeLog)


async def save_own_locations(
    ops: Operations, locations: Sequence[Location], now: datetime
) -> list[PutOutcome]:
    """Create or replace some of *our* locations (``partner_id`` ``None``) with their bookkeeping: the
    EVSE index, and one entry in the change log that lets every process's listing (:mod:`.index`)
    catch up. Use it in a transaction: the change log's row lock orders concurrent writers."""
    if not locations:
        return []
    log = await load_change_log(ops, for_update=True)
    outcomes = []
    for location in locations:
        outcomes.append(await save_location(ops, location, check_stale=False))
        await index_evses(ops, location)
    generation = log.generation + 1
    keys = {(loc.country_code.casefold(), loc.party_id.casefold(), loc.id.casefold()) for loc in locations}
    recent: tuple[tuple[int, tuple[str, str, str]], ...] = ()
    if len(keys) < CHANGE_LOG_SIZE:  # a bigger change: readers reload everything
        kept = log.recent[-(CHANGE_LOG_SIZE - len(keys)) :]
        recent = (*kept, *((generation, key) for key in sorted(keys)))
    await ops.put(CHANGE_LOG_KEY, encode(ChangeLog(generation, recent)), now, check_stale=False)
    return outcomes
