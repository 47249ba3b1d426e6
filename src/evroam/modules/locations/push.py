"""The locations module's pusher: what the push worker sends for a change of one of our locations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evroam.model.common import NotRepresentable
from evroam.model.locations import Location
from evroam.ocpi.converters import VersionConverters
from evroam.store.outbox import ObjectChange, PartnerTarget
from evroam.store.port import Operations

from .._shared import patch_body
from ..kit import Delivery, Outgoing, Skip
from .repository import load_location

__all__ = ["LocationPusher", "published_to"]


def published_to(location: Location, target: PartnerTarget) -> bool:
    """Whether ``location`` may be pushed to the partner.

    ``publish`` true (the default, and always in 2.1.1): yes. ``publish`` false: only when an entry of
    ``publish_allowed_to`` names the partner, i.e. its ``issuer`` is the partner's business name (the
    issuer of the tokens allowed to see it), compared case-insensitively.
    """
    if location.publish:
        return True
    names = {name.casefold() for name in target.business_names}
    return any(
        entry.issuer is not None and entry.issuer.casefold() in names
        for entry in location.publish_allowed_to or ()
    )


@dataclass(frozen=True)
class LocationPusher:
    """Locations: PUT / PATCH of a Location, EVSE or Connector; never DELETE (OCPI has none)."""

    visible: Callable[[Location, PartnerTarget], bool] = published_to
    module: str = "locations"

    async def prepare(
        self,
        ops: Operations,
        conv: VersionConverters,
        target: PartnerTarget,
        change: ObjectChange,
        delivery: Delivery,
    ) -> Outgoing | Skip:
        location = await load_location(ops, change.country_code, change.party_id, change.object_id)
        if location is None:
            return Skip(f"not sent: location {change.object_id} is no longer stored")
        if not self.visible(location, target):
            return Skip(f"not sent: location {location.id} is not published to {target.name}")
        path: tuple[str, ...] = (location.country_code, location.party_id, location.id)
        try:
            if delivery.evse_uid is None:
                wire_object = conv.location_from_model(location)
            else:
                evse = location.evse(delivery.evse_uid)
                if evse is None:
                    return Skip(f"not sent: EVSE {delivery.evse_uid} is no longer in location {location.id}")
                path += (evse.uid,)
                if delivery.connector_id is None:
                    wire_object = conv.evse_from_model(evse)
                else:
                    connector = next((c for c in evse.connectors if c.id == delivery.connector_id), None)
                    if connector is None:
                        return Skip(
                            f"not sent: connector {delivery.connector_id} is no longer in EVSE {evse.uid}"
                        )
                    path += (connector.id,)
                    wire_object = conv.connector_from_model(connector)
        except NotRepresentable as exc:
            return Skip(f"not sent: not representable in OCPI {conv.version}: {exc}")
        if delivery.method == "PATCH":
            body = patch_body(wire_object, delivery.fields)
            if body is not None:
                return Outgoing("PATCH", path, body)
        return Outgoing("PUT", path, wire_object)
