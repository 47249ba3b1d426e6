"""Each OCPI version's view of charging profiles: its wire classes and converters, from the version
table and the version's ``convert`` module (2.2.1 and 2.3.0 share the objects; 2.1.1 has no module)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from evroam import model as m
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import InterfaceRole, VersionSpec

from .records import RequestType

__all__ = ["MODULE", "ProfileConverters", "profile_converters", "supports_profiles"]

MODULE = "chargingprofiles"


@dataclass(frozen=True, slots=True)
class ProfileConverters:
    """Charging profiles in one OCPI version."""

    spec: VersionSpec
    _convert: Any

    @property
    def version(self) -> str:
        return self.spec.number

    @property
    def response_model(self) -> Any:
        return self.spec.models["ChargingProfileResponse"]

    def result_model(self, kind: RequestType) -> Any:
        module = self.spec.modules[MODULE]
        for endpoint in module.endpoints(InterfaceRole.SENDER):
            if endpoint.name == kind.result_endpoint:
                return endpoint.request
        raise KeyError(kind)  # pragma: no cover - every version with the module has the three

    # canonical -> wire

    def set_out(self, request: m.SetChargingProfile) -> Any:
        return self._convert.set_charging_profile_from_model(request)

    def response_out(self, response: m.ChargingProfileResponse) -> Any:
        return self._convert.charging_profile_response_from_model(response)

    def result_out(self, kind: RequestType, result: Any) -> Any:
        if kind is RequestType.SET:
            return self._convert.charging_profile_result_from_model(result)
        if kind is RequestType.GET:
            return self._convert.active_charging_profile_result_from_model(result)
        return self._convert.clear_profile_result_from_model(result)

    def active_out(self, active: m.ActiveChargingProfile) -> Any:
        return self._convert.active_charging_profile_from_model(active)

    # wire -> canonical

    def set_in(self, wire: Any) -> m.SetChargingProfile:
        result: m.SetChargingProfile = self._convert.set_charging_profile_to_model(wire)
        return result

    def response_in(self, wire: Any) -> m.ChargingProfileResponse:
        result: m.ChargingProfileResponse = self._convert.charging_profile_response_to_model(wire)
        return result

    def result_in(self, kind: RequestType, wire: Any) -> Any:
        if kind is RequestType.SET:
            return self._convert.charging_profile_result_to_model(wire)
        if kind is RequestType.GET:
            return self._convert.active_charging_profile_result_to_model(wire)
        return self._convert.clear_profile_result_to_model(wire)

    def active_in(self, wire: Any) -> m.ActiveChargingProfile:
        result: m.ActiveChargingProfile = self._convert.active_charging_profile_to_model(wire)
        return result


def supports_profiles(version: str) -> bool:
    """Whether the OCPI version has the ChargingProfiles module (2.2 and later)."""
    try:
        return MODULE in spec_for(version).modules
    except KeyError:
        return False


@cache
def profile_converters(version: str) -> ProfileConverters:
    """The :class:`ProfileConverters` of ``version`` (``KeyError`` when it has no ChargingProfiles)."""
    spec = spec_for(version)
    if MODULE not in spec.modules:
        raise KeyError(f"OCPI {version} has no ChargingProfiles module")
    convert = importlib.import_module(f"evroam.ocpi.v{version.replace('.', '_')}.convert")
    return ProfileConverters(spec, convert)
