"""Each OCPI version's view of locations: the version's converters (:mod:`evroam.ocpi.converters`)
plus what only this module needs. No handler logic lives here, and none is copied per version.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from evroam.core.codec import encode
from evroam.ocpi.converters import VersionConverters

from .repository import decode_location

__all__ = ["LocationConverters", "location_converters"]


@dataclass(frozen=True, slots=True)
class LocationConverters(VersionConverters):
    """Locations in one OCPI version (wire classes through ``models["Location"]`` and so on)."""

    def encode_document(self, document: bytes) -> bytes:
        """A stored location document as this version's wire JSON."""
        return encode(self.location_from_model(decode_location(document)))


@cache
def location_converters(version: str) -> LocationConverters:
    """The :class:`LocationConverters` of ``version`` (``KeyError`` for a version evroam does not model)."""
    return LocationConverters.load(version)
