"""Each OCPI version's view of locations: its wire classes and converters, looked up from the version
table and the version's ``convert`` module. No handler logic lives here, and none is copied per version.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from evroam.core.codec import encode
from evroam.model.locations import EVSE, Connector, Location
from evroam.ocpi.registry import spec_for

from .repository import decode_location

__all__ = ["LocationWire", "location_wire"]


@dataclass(frozen=True, slots=True)
class LocationWire:
    """Locations in one OCPI version."""

    version: str
    location: type[Any]
    evse: type[Any]
    connector: type[Any]
    location_patch: type[Any]
    evse_patch: type[Any]
    connector_patch: type[Any]
    owned: bool
    """Whether the version's Location carries ``country_code`` / ``party_id`` (2.2+)."""
    _location_to_model: Callable[..., Location]
    location_from_model: Callable[[Location], Any]
    evse_to_model: Callable[[Any], EVSE]
    evse_from_model: Callable[[EVSE], Any]
    connector_to_model: Callable[[Any], Connector]
    connector_from_model: Callable[[Connector], Any]

    def location_to_model(self, wire: Any, country_code: str, party_id: str) -> Location:
        """The canonical Location; the owner is used when the version's Location has none (2.1.1)."""
        if self.owned:
            return self._location_to_model(wire)
        return self._location_to_model(wire, country_code=country_code, party_id=party_id)

    def encode_document(self, document: bytes) -> bytes:
        """A stored location document as this version's wire JSON."""
        return encode(self.location_from_model(decode_location(document)))


@cache
def location_wire(version: str) -> LocationWire:
    """The :class:`LocationWire` of ``version`` (``KeyError`` for a version evroam does not model)."""
    spec = spec_for(version)
    models = spec.models
    convert = importlib.import_module(f"evroam.ocpi.v{version.replace('.', '_')}.convert")
    location = models["Location"]
    return LocationWire(
        version=version,
        location=location,
        evse=models["EVSE"],
        connector=models["Connector"],
        location_patch=models["LocationPatch"],
        evse_patch=models["EVSEPatch"],
        connector_patch=models["ConnectorPatch"],
        owned="country_code" in location.__struct_fields__,
        _location_to_model=convert.location_to_model,
        location_from_model=convert.location_from_model,
        evse_to_model=convert.evse_to_model,
        evse_from_model=convert.evse_from_model,
        connector_to_model=convert.connector_to_model,
        connector_from_model=convert.connector_from_model,
    )
