"""The converters of one OCPI version, as the push worker and the pull sync need them.

Thin adapters over ``evroam.ocpi.v<version>.convert`` (canonical <-> wire), which hold every mapping
and loss rule; this module only hides how the versions differ in *signature*: a 2.1.1 Location or
Tariff carries no owner, so its reader takes the owner's ``country_code`` / ``party_id``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evroam import model as m
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import VersionSpec

__all__ = ["VersionConverters", "converters"]


def _needs_owner(fn: Callable[..., Any]) -> bool:
    return "country_code" in inspect.signature(fn).parameters


@dataclass(frozen=True, slots=True)
class VersionConverters:
    """Locations and tariffs of one OCPI version, both ways."""

    spec: VersionSpec
    _module: Any

    @property
    def version(self) -> str:
        return self.spec.number

    @property
    def location_model(self) -> Any:
        return self.spec.models["Location"]

    @property
    def tariff_model(self) -> Any:
        return self.spec.models["Tariff"]

    def location_out(self, location: m.Location) -> Any:
        return self._module.location_from_model(location)

    def evse_out(self, evse: m.EVSE) -> Any:
        return self._module.evse_from_model(evse)

    def connector_out(self, connector: m.Connector) -> Any:
        return self._module.connector_from_model(connector)

    def tariff_out(self, tariff: m.Tariff) -> Any:
        return self._module.tariff_from_model(tariff)

    def location_in(self, wire: Any, *, country_code: str, party_id: str) -> m.Location:
        """``country_code`` / ``party_id``: the owner, used when the version's object has none."""
        fn = self._module.location_to_model
        result: m.Location = (
            fn(wire, country_code=country_code, party_id=party_id) if _needs_owner(fn) else fn(wire)
        )
        return result

    def tariff_in(self, wire: Any, *, country_code: str, party_id: str) -> m.Tariff:
        fn = self._module.tariff_to_model
        result: m.Tariff = (
            fn(wire, country_code=country_code, party_id=party_id) if _needs_owner(fn) else fn(wire)
        )
        return result


@functools.cache
def converters(version: str) -> VersionConverters:
    """The converters of ``version``; ``KeyError`` for a version evroam does not model."""
    spec = spec_for(version)
    package = f"evroam.ocpi.v{version.replace('.', '_')}.convert"
    return VersionConverters(spec, importlib.import_module(package))
