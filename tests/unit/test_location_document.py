"""A location changed through :class:`LocationDocument` (plain JSON, one EVSE decoded) is stored exactly
as the same change made on the whole canonical Location.

The locations are the generator's of the end-to-end test (every connector shape, opening times,
parking, ...) and the official 2.2.1 Location examples, so that every field the canonical model holds is
carried through the plain JSON at least once.
"""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from pathlib import Path

import msgspec
import pytest

from evroam.core.codec import decode
from evroam.core.types import DateTime
from evroam.model.enums import Status
from evroam.model.locations import EVSE, Location
from evroam.modules.locations.convert import location_converters
from evroam.modules.locations.repository import (
    LocationDocument,
    encode_location,
    load_location_document,
    location_key,
    save_location,
    save_location_document,
)
from evroam.ocpi import v2_2_1 as ocpi
from evroam.store.port import StoredObject
from evroam.testing import MemoryStore
from tests.conftest import ocpi_examples
from tests.integration.locations_data import generate_locations

WIRE = location_converters("2.2.1")


def canonical(data: dict[str, object]) -> Location:
    wire = decode(json.dumps(data).encode(), ocpi.Location)
    return WIRE.location_to_model(wire, country_code=wire.country_code, party_id=wire.party_id)


def generated() -> list[Location]:
    return [canonical(item) for item in generate_locations(60, seed=7)]


def examples() -> list[Location]:
    out = []
    for path in ocpi_examples("2.2.1"):
        if path.name.startswith("location_example"):
            data = json.loads(Path(path).read_text())
            out.append(canonical(data.get("data", data) if "status_code" in data else data))
    assert len(out) >= 5, "the 2.2.1 location examples were not found"
    return out


def stored(location: Location, partner_id: str | None = "p-cpo") -> StoredObject:
    return StoredObject(
        "location",
        str(location.country_code),
        str(location.party_id),
        str(location.id),
        location.last_updated,
        encode_location(location),
        partner_id,
        1,
        1,
    )


def with_evse(location: Location, evse: EVSE) -> Location:
    """The rule written out on the canonical objects: the EVSE replaced, the location bumped."""
    evses = tuple(evse if old.uid == evse.uid else old for old in location.evses or ())
    return msgspec.structs.replace(
        location, evses=evses, last_updated=max(location.last_updated, evse.last_updated)
    )


def check(location: Location) -> None:
    assert location.evses, f"{location.id} has no EVSE"
    for position, evse in enumerate(location.evses):
        document = LocationDocument(stored(location))
        # found under any spelling of its uid, equal to the EVSE of the whole decoded location
        assert document.evse(str(evse.uid).swapcase()) == (position, evse)
        newer = msgspec.structs.replace(
            evse,
            status=Status.OUTOFORDER if evse.status is not Status.OUTOFORDER else Status.AVAILABLE,
            last_updated=DateTime.from_datetime(location.last_updated + timedelta(seconds=position + 1)),
        )
        document.replace_evse(position, newer)
        assert document.partner_id == "p-cpo"
        assert (
            document.key.folded == location_key(location.country_code, location.party_id, location.id).folded
        )
        assert document.last_updated == newer.last_updated
        assert decode(document.payload(), Location) == with_evse(location, newer)
        # an older EVSE change never moves the location back
        older = msgspec.structs.replace(evse, last_updated=DateTime(2001, 1, 1, tzinfo=UTC))
        document = LocationDocument(stored(location))
        document.replace_evse(position, older)
        assert document.last_updated == location.last_updated
        assert decode(document.payload(), Location) == with_evse(location, older)
    assert LocationDocument(stored(location)).evse("NO-SUCH-EVSE") is None


def test_generated_locations_change_alike() -> None:
    for location in generated():
        check(location)


def test_the_official_location_examples_change_alike() -> None:
    for location in examples():
        check(location)


async def test_a_document_round_trip_through_the_store_keeps_the_location() -> None:
    store = MemoryStore()
    location = generated()[0]
    assert location.evses
    await save_location(store, location, partner_id="p-cpo")
    document = await load_location_document(store, "nl", "cpo", str(location.id).lower())
    assert document is not None
    position, evse = document.evse(str(location.evses[0].uid)) or pytest.fail("EVSE not found")
    newer = msgspec.structs.replace(
        evse,
        status=Status.BLOCKED,
        last_updated=DateTime.from_datetime(location.last_updated + timedelta(hours=1)),
    )
    document.replace_evse(position, newer)
    await save_location_document(store, document)
    found = await store.get(location_key("NL", "CPO", str(location.id)))
    assert found is not None
    assert found.partner_id == "p-cpo"
    assert found.last_updated == newer.last_updated
    assert decode(found.payload, Location) == with_evse(location, newer)
