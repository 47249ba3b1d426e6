"""Each OCPI version's view of tariffs: its wire classes and converters, from the version table and
the version's ``convert`` module."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from evroam.core.codec import encode
from evroam.model.tariffs import Tariff
from evroam.ocpi.registry import spec_for

from .repository import decode_tariff

__all__ = ["TariffWire", "tariff_wire"]


@dataclass(frozen=True, slots=True)
class TariffWire:
    """Tariffs in one OCPI version."""

    version: str
    tariff: type[Any]
    tariff_patch: type[Any] | None
    """2.1.1 only: the Receiver's PATCH body."""
    owned: bool
    """Whether the version's Tariff carries ``country_code`` / ``party_id`` (2.2+)."""
    _tariff_to_model: Callable[..., Tariff]
    tariff_from_model: Callable[[Tariff], Any]

    def tariff_to_model(self, wire: Any, country_code: str, party_id: str) -> Tariff:
        """The canonical Tariff; the owner is used when the version's Tariff has none (2.1.1)."""
        if self.owned:
            return self._tariff_to_model(wire)
        return self._tariff_to_model(wire, country_code=country_code, party_id=party_id)

    def encode_document(self, document: bytes) -> bytes:
        """A stored tariff document as this version's wire JSON."""
        return encode(self.tariff_from_model(decode_tariff(document)))


@cache
def tariff_wire(version: str) -> TariffWire:
    """The :class:`TariffWire` of ``version`` (``KeyError`` for a version evroam does not model)."""
    models = spec_for(version).models
    convert = importlib.import_module(f"evroam.ocpi.v{version.replace('.', '_')}.convert")
    tariff = models["Tariff"]
    return TariffWire(
        version=version,
        tariff=tariff,
        tariff_patch=models.get("TariffPatch"),
        owned="country_code" in tariff.__struct_fields__,
        _tariff_to_model=convert.tariff_to_model,
        tariff_from_model=convert.tariff_from_model,
    )
