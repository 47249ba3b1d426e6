"""The tariffs module's pusher: what the push worker sends for a change of one of our tariffs."""

from __future__ import annotations

from dataclasses import dataclass

from evroam.model.common import NotRepresentable
from evroam.ocpi.converters import VersionConverters
from evroam.store.outbox import ObjectChange, PartnerTarget
from evroam.store.port import Operations

from ..kit import Delivery, Outgoing, Skip
from .repository import load_tariff

__all__ = ["TariffPusher"]


@dataclass(frozen=True)
class TariffPusher:
    """Tariffs: PUT of the current tariff, DELETE when it is gone (PATCH only exists in 2.1.1)."""

    module: str = "tariffs"

    async def prepare(
        self,
        ops: Operations,
        conv: VersionConverters,
        target: PartnerTarget,
        change: ObjectChange,
        delivery: Delivery,
    ) -> Outgoing | Skip:
        tariff = await load_tariff(ops, change.country_code, change.party_id, change.object_id)
        if tariff is None:
            return Outgoing("DELETE", (change.country_code, change.party_id, change.object_id))
        try:
            wire_object = conv.tariff_from_model(tariff)
        except NotRepresentable as exc:
            return Skip(f"not sent: not representable in OCPI {conv.version}: {exc}")
        return Outgoing("PUT", (tariff.country_code, tariff.party_id, tariff.id), wire_object)
