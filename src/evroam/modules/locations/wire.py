"""Each OCPI version's view of locations: the version's converters (:mod:`evroam.ocpi.converters`)
plus what only this module needs. No handler logic lives here, and none is copied per version.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from evroam.core.codec import encode
from evroam.ocpi.converters import VersionConverters

from .repository import decode_location

__all__ = ["LocationWire", "location_wire"]


@dataclass(frozen=True, slots=True)
class LocationWire(VersionConverters):
    """Locations in one OCPI version (wire classes through ``models["Location"]`` and so on)."""

    def encode_document(self, document: bytes) -> bytes:
        """A stored location document as this version's wire JSON."""
        return encode(self.location_from_model(decode_location(document)))


@cache
def location_wire(version: str) -> LocationWire:
    """The :class:`LocationWire` of ``version`` (``KeyError`` for a version evroam does not model)."""
    return LocationWire.load(version)
