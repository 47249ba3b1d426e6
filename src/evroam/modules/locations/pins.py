"""Map pins: where each stored location is and the status of its EVSEs, read without decoding whole
locations (a map of 10,000 received locations reads only these few fields of each document)."""

from __future__ import annotations

import msgspec

from evroam.store.port import Operations

from .repository import LOCATION_KIND

__all__ = ["EvsePin", "LocationPin", "location_pins"]


class _Coordinates(msgspec.Struct, frozen=True):
    latitude: str
    longitude: str


class _Evse(msgspec.Struct, frozen=True):
    uid: str
    status: str


class _Slim(msgspec.Struct, frozen=True):
    """The fields of a stored location document a pin needs (the rest is skipped by the decoder)."""

    country_code: str
    party_id: str
    id: str
    coordinates: _Coordinates
    name: str | None = None
    address: str = ""
    city: str = ""
    evses: tuple[_Evse, ...] | None = None


_slim = msgspec.json.Decoder(_Slim)


class EvsePin(msgspec.Struct, frozen=True):
    uid: str
    status: str


class LocationPin(msgspec.Struct, frozen=True):
    """One location on a map: owner, id, name, address, coordinates, EVSE statuses and who sent it
    (``partner_id`` ``None``: our own)."""

    country_code: str
    party_id: str
    id: str
    name: str | None
    address: str
    city: str
    latitude: float
    longitude: float
    evses: tuple[EvsePin, ...]
    partner_id: str | None


async def location_pins(ops: Operations) -> list[LocationPin]:
    """Every stored location (ours and received) as a :class:`LocationPin`, in creation order. A
    document whose coordinates are not numbers is left out."""
    page = await ops.find(LOCATION_KIND, limit=None)
    out = []
    for found in page.items:
        slim = _slim.decode(found.payload)
        try:
            lat = float(slim.coordinates.latitude)
            lon = float(slim.coordinates.longitude)
        except ValueError:
            continue
        out.append(
            LocationPin(
                country_code=slim.country_code,
                party_id=slim.party_id,
                id=slim.id,
                name=slim.name,
                address=slim.address,
                city=slim.city,
                latitude=lat,
                longitude=lon,
                evses=tuple(EvsePin(e.uid, e.status) for e in slim.evses or ()),
                partner_id=found.partner_id,
            )
        )
    return out
