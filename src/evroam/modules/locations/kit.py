"""The locations module as the node sees it: :data:`LOCATIONS`."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

import msgspec

from evroam.core.clock import Clock
from evroam.model.enums import Status
from evroam.model.locations import Location
from evroam.store.port import Operations, Store

from .._shared import to_canonical, wire_class
from ..kit import DATA_RECEIVING_ROLES, ModuleKit, NodeContext, PullSpec, Served, Stored
from .bindings import receiver_binding, sender_binding
from .cli import locations as locations_group
from .pins import location_pins
from .push import LocationPusher
from .repository import iter_locations, load_location, load_location_record, save_location
from .service import LocationReceiver, LocationSender

__all__ = ["LOCATIONS", "LocationLookups"]


class LocationLookups:
    """What other modules may ask the locations module: stored locations, ours or received."""

    load_location = staticmethod(load_location)
    load_location_record = staticmethod(load_location_record)
    iter_locations = staticmethod(iter_locations)
    location_pins = staticmethod(location_pins)


def _serve(node: NodeContext) -> Served:
    out = []
    parties = node.own.cpo_parties()
    if parties:
        out.append(sender_binding(LocationSender(node.store, parties), node.own.url))
    if node.own.has_role(DATA_RECEIVING_ROLES):
        out.append(receiver_binding(LocationReceiver(node.store)))
    return Served(bindings=out)


async def _load(ops: Operations, obj: Any) -> Stored | None:
    r = await load_location_record(ops, obj.country_code, obj.party_id, obj.id, for_update=True)
    return None if r is None else Stored(r.partner_id, r.location)


async def _save(ops: Operations, obj: Any, partner_id: str) -> None:
    await save_location(ops, obj, partner_id=partner_id, check_stale=False)


async def _remove_absent(
    store: Store, partner_id: str, seen: AbstractSet[tuple[str, str, str]], clock: Clock
) -> int:
    """Every EVSE of a location the partner no longer lists becomes REMOVED (the location is kept)."""
    gone = [
        loc
        async for loc in iter_locations(store, partners=[partner_id])
        if (loc.country_code.casefold(), loc.party_id.casefold(), loc.id.casefold()) not in seen
    ]
    removed = 0
    for loc in gone:
        if await _remove(store, loc, partner_id, clock):
            removed += 1
    return removed


async def _remove(store: Store, loc: Location, partner_id: str, clock: Clock) -> bool:
    if loc.evses and all(e.status == Status.REMOVED for e in loc.evses):
        return False  # already marked by an earlier sync
    now = clock.now()
    stamp = max(now, loc.last_updated)
    evses = tuple(
        e
        if e.status == Status.REMOVED
        else msgspec.structs.replace(e, status=Status.REMOVED, last_updated=max(now, e.last_updated))
        for e in loc.evses or ()
    )
    async with store.transaction() as tx:
        await save_location(
            tx,
            msgspec.structs.replace(loc, evses=evses, last_updated=stamp),
            partner_id=partner_id,
            check_stale=False,
        )
    return True


PULL = PullSpec(
    owner_role="CPO",
    us="EMSP",
    wire_type=wire_class("Location"),
    to_model=to_canonical("location_to_model"),
    object_id=lambda obj: str(obj.id),
    load=_load,
    save=_save,
    help=(
        "Pull locations from partner NAME: everything the first time or with --full (every EVSE of "
        "a location it no longer lists is marked REMOVED), otherwise what changed since the last "
        "sync (or --since)."
    ),
    remove_absent=_remove_absent,
)

LOCATIONS: ModuleKit[LocationLookups] = ModuleKit(
    name="locations",
    lookups=LocationLookups(),
    serve=_serve,
    pusher=LocationPusher(),
    pull=PULL,
    commands=(locations_group,),
)
