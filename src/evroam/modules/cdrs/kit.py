"""The CDRs module as the node sees it: :data:`CDRS`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from evroam.store.port import Operations

from .._shared import to_canonical, wire_class
from ..kit import DeliveryTerms, ModuleKit, NodeContext, PullSpec, Served, Stored
from .bindings import receiver_binding, sender_binding
from .cli import cdrs as cdrs_group
from .push import CdrPusher
from .repository import CdrDocument, iter_cdr_records, load_cdr_record, save_cdr
from .service import CdrReceiver, CdrSender

__all__ = ["CDRS", "DEFAULT_ESCALATION", "RECEIVING_ROLES", "CdrLookups"]

#: Roles whose node receives the CDRs CPOs post.
RECEIVING_ROLES = frozenset({"EMSP", "OTHER"})

DEFAULT_ESCALATION = timedelta(hours=1)
"""How long a CDR may stay undelivered before it is reported at error level (by default)."""


class CdrLookups:
    """What other modules may ask the CDRs module: stored CDRs."""

    load_cdr_record = staticmethod(load_cdr_record)
    iter_cdr_records = staticmethod(iter_cdr_records)


def _serve(node: NodeContext) -> Served:
    out = []
    if node.own.cpo_parties():
        out.append(sender_binding(CdrSender(node.store), node.own.url))
    if node.own.has_role(RECEIVING_ROLES):
        out.append(receiver_binding(CdrReceiver(node.store), node.own.url))
    return Served(bindings=out)


async def _load(ops: Operations, obj: Any) -> Stored | None:
    r = await load_cdr_record(ops, obj.country_code, obj.party_id, obj.id, for_update=True)
    return None if r is None else Stored(r.partner_id, r.cdr)


async def _save(ops: Operations, obj: Any, partner_id: str) -> None:
    await save_cdr(ops, CdrDocument(cdr=obj), partner_id=partner_id)


CDRS: ModuleKit[CdrLookups] = ModuleKit(
    name="cdrs",
    lookups=CdrLookups(),
    serve=_serve,
    pusher=CdrPusher(),
    # a CDR is money: never given up, and reported when undelivered for long
    delivery=DeliveryTerms(retry_forever=True, escalate_after=DEFAULT_ESCALATION),
    pull=PullSpec(
        owner_role="CPO",
        us="EMSP",
        wire_type=wire_class("CDR"),
        to_model=to_canonical("cdr_to_model"),
        object_id=lambda obj: str(obj.id),
        load=_load,
        save=_save,
        help=(
            "Pull cdrs from partner NAME: everything the first time, then what is new since the last "
            "sync (or --since). A CDR already stored is never overwritten; none is ever removed."
        ),
        immutable=True,
    ),
    commands=(cdrs_group,),
)
