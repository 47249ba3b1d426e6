"""Each OCPI version's view of sessions: its wire classes and converters, from the version table and
the version's ``convert`` module.

A 2.1.1 Session embeds a Location and carries no owner: reading one takes the owner from the URL,
writing one of ours takes the stored Location (:meth:`SessionWire.session_from_model`'s
``location``), reduced by the converter to the session's EVSE and connector.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from evroam.model.locations import Location
from evroam.model.sessions import ChargingPreferences, Session
from evroam.ocpi.registry import spec_for

__all__ = ["SessionWire", "session_wire"]


@dataclass(frozen=True, slots=True)
class SessionWire:
    """Sessions in one OCPI version."""

    version: str
    session: type[Any]
    session_patch: type[Any]
    owned: bool
    """Whether the version's Session carries ``country_code`` / ``party_id`` (2.2+)."""
    _to_model: Callable[..., Session]
    _from_model: Callable[..., Any]
    _preferences_to_model: Callable[[Any], ChargingPreferences] | None

    def session_to_model(self, wire: Any, country_code: str, party_id: str) -> Session:
        """The canonical Session; the owner is used when the version's Session has none (2.1.1)."""
        if self.owned:
            return self._to_model(wire)
        return self._to_model(wire, country_code=country_code, party_id=party_id)

    def session_from_model(self, session: Session, location: Location | None = None) -> Any:
        """The version's Session; ``location`` (our stored Location) is embedded by 2.1.1 when the
        session has no snapshot of its own. Raises ``NotRepresentable`` when the version cannot carry
        the session."""
        if self.owned:
            return self._from_model(session)
        return self._from_model(session, location=location)

    def preferences_to_model(self, wire: Any) -> ChargingPreferences:
        if self._preferences_to_model is None:  # pragma: no cover - the table offers it only in 2.2+
            raise KeyError(f"OCPI {self.version} has no ChargingPreferences")
        return self._preferences_to_model(wire)


@cache
def session_wire(version: str) -> SessionWire:
    """The :class:`SessionWire` of ``version`` (``KeyError`` for a version evroam does not model)."""
    models = spec_for(version).models
    convert = importlib.import_module(f"evroam.ocpi.v{version.replace('.', '_')}.convert")
    session = models["Session"]
    return SessionWire(
        version=version,
        session=session,
        session_patch=models["SessionPatch"],
        owned="country_code" in session.__struct_fields__,
        _to_model=convert.session_to_model,
        _from_model=convert.session_from_model,
        _preferences_to_model=getattr(convert, "charging_preferences_to_model", None),
    )
