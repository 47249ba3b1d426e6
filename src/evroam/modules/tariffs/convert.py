"""Each OCPI version's view of tariffs: the version's converters (:mod:`evroam.ocpi.converters`) plus
what only this module needs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from evroam.core.codec import encode
from evroam.ocpi.converters import VersionConverters

from .repository import decode_tariff

__all__ = ["TariffConverters", "tariff_converters"]


@dataclass(frozen=True, slots=True)
class TariffConverters(VersionConverters):
    """Tariffs in one OCPI version (wire classes through ``models["Tariff"]``; ``TariffPatch`` is 2.1.1's
    Receiver PATCH body)."""

    def encode_document(self, document: bytes) -> bytes:
        """A stored tariff document as this version's wire JSON."""
        return encode(self.tariff_from_model(decode_tariff(document)))


@cache
def tariff_converters(version: str) -> TariffConverters:
    """The :class:`TariffConverters` of ``version`` (``KeyError`` for a version evroam does not model)."""
    return TariffConverters.load(version)
