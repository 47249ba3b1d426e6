"""One typed facade over the converters of every OCPI version (``evroam.ocpi.v<version>.convert``).

The per-version modules hold every mapping and loss rule; this facade only hides how the versions
differ in *signature*, so that a caller never asks which version it talks to:

* a 2.1.1 Location, Tariff, Session, CDR or Token carries no owner, so its reader takes the owner's
  ``country_code`` / ``party_id``: the facade's readers always take the owner and pass it on only to
  a version whose reader wants it;
* a 2.1.1 Session or CDR embeds a Location: the facade's writers take an optional ``location`` (our
  stored Location) and pass it on only to a version whose writer wants it;
* a 2.1.1 Credentials object names one role: :meth:`VersionConverters.credentials_to_model` takes it.

The version's wire classes are reached through :attr:`VersionConverters.models` (the version table's
``spec.models``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Self, cast

from evroam import model as m
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import VersionSpec

__all__ = ["VersionConverters", "converters"]


@functools.cache
def _takes(fn: Callable[..., Any], parameter: str) -> bool:
    return parameter in inspect.signature(fn).parameters


@dataclass(frozen=True, slots=True)
class VersionConverters:
    """The canonical <-> wire converters of one OCPI version, with one signature per object."""

    spec: VersionSpec
    _convert: ModuleType

    @classmethod
    def load(cls, version: str) -> Self:
        """The converters of ``version``; ``KeyError`` for a version evroam does not model."""
        spec = spec_for(version)
        return cls(spec, importlib.import_module(f"evroam.ocpi.v{version.replace('.', '_')}.convert"))

    @property
    def version(self) -> str:
        return self.spec.number

    @property
    def models(self) -> Mapping[str, Any]:
        """The version's wire classes by OCPI name (``"Location"``, ``"TokenPatch"``, ...)."""
        return self.spec.models

    def carries_owner(self, name: str) -> bool:
        """Whether the version's wire class ``name`` carries ``country_code`` / ``party_id`` (2.2+)."""
        return "country_code" in self.models[name].__struct_fields__

    # -- plumbing -----------------------------------------------------------------------------------

    def _fn(self, name: str) -> Callable[..., Any]:
        fn = getattr(self._convert, name, None)
        if fn is None:
            raise KeyError(f"OCPI {self.version} has no converter {name}")
        return cast(Callable[..., Any], fn)

    def _read(self, kind: str, wire: Any, country_code: str, party_id: str) -> Any:
        fn = self._fn(f"{kind}_to_model")
        if _takes(fn, "country_code"):
            return fn(wire, country_code=country_code, party_id=party_id)
        return fn(wire)

    def _write(self, kind: str, value: Any, location: m.Location | None = None) -> Any:
        fn = self._fn(f"{kind}_from_model")
        if _takes(fn, "location"):
            return fn(value, location=location)
        return fn(value)

    # -- locations ----------------------------------------------------------------------------------

    def location_to_model(self, wire: Any, *, country_code: str, party_id: str) -> m.Location:
        """The canonical Location; the owner is used when the version's Location has none (2.1.1)."""
        return cast(m.Location, self._read("location", wire, country_code, party_id))

    def location_from_model(self, location: m.Location) -> Any:
        return self._write("location", location)

    def evse_to_model(self, wire: Any) -> m.EVSE:
        return cast(m.EVSE, self._fn("evse_to_model")(wire))

    def evse_from_model(self, evse: m.EVSE) -> Any:
        return self._write("evse", evse)

    def connector_to_model(self, wire: Any) -> m.Connector:
        return cast(m.Connector, self._fn("connector_to_model")(wire))

    def connector_from_model(self, connector: m.Connector) -> Any:
        return self._write("connector", connector)

    # -- tariffs ------------------------------------------------------------------------------------

    def tariff_to_model(self, wire: Any, *, country_code: str, party_id: str) -> m.Tariff:
        """The canonical Tariff; the owner is used when the version's Tariff has none (2.1.1)."""
        return cast(m.Tariff, self._read("tariff", wire, country_code, party_id))

    def tariff_from_model(self, tariff: m.Tariff) -> Any:
        return self._write("tariff", tariff)

    # -- sessions and CDRs --------------------------------------------------------------------------

    def session_to_model(self, wire: Any, *, country_code: str, party_id: str) -> m.Session:
        """The canonical Session; the owner is used when the version's Session has none (2.1.1)."""
        return cast(m.Session, self._read("session", wire, country_code, party_id))

    def session_from_model(self, session: m.Session, location: m.Location | None = None) -> Any:
        """The version's Session; ``location`` (our stored Location) is embedded by 2.1.1 when the
        session has no snapshot of its own. Raises ``NotRepresentable`` when the version cannot carry
        the session."""
        return self._write("session", session, location)

    def charging_preferences_to_model(self, wire: Any) -> m.ChargingPreferences:
        """``KeyError`` in a version without ChargingPreferences (2.1.1)."""
        return cast(m.ChargingPreferences, self._fn("charging_preferences_to_model")(wire))

    def cdr_to_model(self, wire: Any, *, country_code: str, party_id: str) -> m.CDR:
        """The canonical CDR; the owner is used when the version's CDR has none (2.1.1)."""
        return cast(m.CDR, self._read("cdr", wire, country_code, party_id))

    def cdr_from_model(self, cdr: m.CDR, location: m.Location | None = None) -> Any:
        """The version's CDR (2.1.1 embeds ``location`` when the CDR has no snapshot of its own).
        Raises ``NotRepresentable`` when the version cannot carry it (e.g. a credit CDR in 2.1.1)."""
        return self._write("cdr", cdr, location)

    # -- tokens -------------------------------------------------------------------------------------

    def token_to_model(self, wire: Any, *, country_code: str, party_id: str) -> m.Token:
        """The canonical Token; the owner is used when the version's Token has none (2.1.1)."""
        return cast(m.Token, self._read("token", wire, country_code, party_id))

    def token_from_model(self, token: m.Token) -> Any:
        return self._write("token", token)

    def location_references_to_model(self, wire: Any) -> m.LocationReferences:
        return cast(m.LocationReferences, self._fn("location_references_to_model")(wire))

    def location_references_from_model(self, references: m.LocationReferences) -> Any:
        return self._write("location_references", references)

    def authorization_info_to_model(self, wire: Any) -> m.AuthorizationInfo:
        return cast(m.AuthorizationInfo, self._fn("authorization_info_to_model")(wire))

    def authorization_info_from_model(self, info: m.AuthorizationInfo) -> Any:
        return self._write("authorization_info", info)

    # -- credentials --------------------------------------------------------------------------------

    def credentials_to_model(self, wire: Any, *, role: m.Role | None = None) -> m.Credentials:
        """The canonical Credentials; ``role`` names the one role of a 2.1.1 Credentials object."""
        fn = self._fn("credentials_to_model")
        if _takes(fn, "role"):
            return cast(m.Credentials, fn(wire, role=role))
        return cast(m.Credentials, fn(wire))

    def credentials_from_model(self, credentials: m.Credentials) -> Any:
        return self._write("credentials", credentials)

    # -- hubclientinfo -----------------------------------------------------------------------------

    def client_info_to_model(self, wire: Any) -> m.ClientInfo:
        result: m.ClientInfo = self._fn("client_info_to_model")(wire)
        return result

    def client_info_from_model(self, info: m.ClientInfo) -> Any:
        return self._write("client_info", info)


@functools.cache
def converters(version: str) -> VersionConverters:
    """The cached converters of ``version``; ``KeyError`` for a version evroam does not model."""
    return VersionConverters.load(version)
