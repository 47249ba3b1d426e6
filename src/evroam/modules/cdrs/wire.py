"""Each OCPI version's view of CDRs: its wire class and converters, from the version table and the
version's ``convert`` module. A 2.1.1 CDR embeds a Location and carries no owner (see
:mod:`evroam.modules.sessions.wire`, which works the same way)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from evroam.model.cdrs import CDR
from evroam.model.locations import Location
from evroam.ocpi.registry import spec_for

__all__ = ["CdrWire", "cdr_wire"]


@dataclass(frozen=True, slots=True)
class CdrWire:
    """CDRs in one OCPI version."""

    version: str
    cdr: type[Any]
    owned: bool
    """Whether the version's CDR carries ``country_code`` / ``party_id`` (2.2+)."""
    _to_model: Callable[..., CDR]
    _from_model: Callable[..., Any]

    def cdr_to_model(self, wire: Any, country_code: str, party_id: str) -> CDR:
        """The canonical CDR; the owner is used when the version's CDR has none (2.1.1)."""
        if self.owned:
            return self._to_model(wire)
        return self._to_model(wire, country_code=country_code, party_id=party_id)

    def cdr_from_model(self, cdr: CDR, location: Location | None = None) -> Any:
        """The version's CDR (2.1.1 embeds ``location`` when the CDR has no snapshot of its own).
        Raises ``NotRepresentable`` when the version cannot carry it (e.g. a credit CDR in 2.1.1)."""
        if self.owned:
            return self._from_model(cdr)
        return self._from_model(cdr, location=location)


@cache
def cdr_wire(version: str) -> CdrWire:
    """The :class:`CdrWire` of ``version`` (``KeyError`` for a version evroam does not model)."""
    models = spec_for(version).models
    convert = importlib.import_module(f"evroam.ocpi.v{version.replace('.', '_')}.convert")
    cdr = models["CDR"]
    return CdrWire(
        version=version,
        cdr=cdr,
        owned="country_code" in cdr.__struct_fields__,
        _to_model=convert.cdr_to_model,
        _from_model=convert.cdr_from_model,
    )
