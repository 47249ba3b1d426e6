"""The tariffs module as the node sees it: :data:`TARIFFS`."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

from evroam.core.clock import Clock
from evroam.store.port import Operations, Store

from .._shared import to_canonical, wire_class
from ..kit import DATA_RECEIVING_ROLES, ModuleKit, NodeContext, PullSpec, Served, Stored
from .bindings import receiver_binding, sender_binding
from .cli import tariffs as tariffs_group
from .push import TariffPusher
from .repository import delete_tariff, iter_tariffs, load_tariff, load_tariff_record, save_tariff
from .service import TariffReceiver, TariffSender

__all__ = ["TARIFFS", "TariffLookups"]


class TariffLookups:
    """What other modules may ask the tariffs module: stored tariffs, ours or received."""

    load_tariff = staticmethod(load_tariff)
    load_tariff_record = staticmethod(load_tariff_record)
    iter_tariffs = staticmethod(iter_tariffs)


def _serve(node: NodeContext) -> Served:
    out = []
    if node.own.cpo_parties():
        out.append(sender_binding(TariffSender(node.store), node.own.url))
    if node.own.has_role(DATA_RECEIVING_ROLES):
        out.append(receiver_binding(TariffReceiver(node.store)))
    return Served(bindings=out)


async def _load(ops: Operations, obj: Any) -> Stored | None:
    r = await load_tariff_record(ops, obj.country_code, obj.party_id, obj.id, for_update=True)
    return None if r is None else Stored(r.partner_id, r.tariff)


async def _save(ops: Operations, obj: Any, partner_id: str) -> None:
    await save_tariff(ops, obj, partner_id=partner_id, check_stale=False)


async def _remove_absent(
    store: Store, partner_id: str, seen: AbstractSet[tuple[str, str, str]], clock: Clock
) -> int:
    """A tariff the partner no longer lists is deleted."""
    gone = [
        t
        async for t in iter_tariffs(store, partners=[partner_id])
        if (t.country_code.casefold(), t.party_id.casefold(), t.id.casefold()) not in seen
    ]
    removed = 0
    for t in gone:
        async with store.transaction() as tx:
            if await delete_tariff(tx, t.country_code, t.party_id, t.id):
                removed += 1
    return removed


TARIFFS: ModuleKit[TariffLookups] = ModuleKit(
    name="tariffs",
    lookups=TariffLookups(),
    serve=_serve,
    pusher=TariffPusher(),
    pull=PullSpec(
        owner_role="CPO",
        us="EMSP",
        wire_type=wire_class("Tariff"),
        to_model=to_canonical("tariff_to_model"),
        object_id=lambda obj: str(obj.id),
        load=_load,
        save=_save,
        help=(
            "Pull tariffs from partner NAME: everything the first time or with --full (a tariff it no "
            "longer lists is deleted), otherwise what changed since the last sync (or --since)."
        ),
        remove_absent=_remove_absent,
    ),
    commands=(tariffs_group,),
)
