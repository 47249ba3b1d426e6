"""The sessions module as the node sees it: :data:`SESSIONS`."""

from __future__ import annotations

from typing import Any

from evroam.store.port import Operations

from .._shared import to_canonical, wire_class
from ..kit import ModuleKit, NodeContext, PullSpec, Served, Stored
from .bindings import receiver_binding, sender_binding
from .cli import sessions as sessions_group
from .preferences import ChargerPreferences
from .push import SessionPusher
from .repository import iter_session_records, load_session_record, save_session
from .service import SessionReceiver, SessionSender, find_session

__all__ = ["RECEIVING_ROLES", "SESSIONS", "SessionLookups"]

#: Roles whose node receives the sessions CPOs push.
RECEIVING_ROLES = frozenset({"EMSP", "SCSP", "OTHER"})


class SessionLookups:
    """What other modules may ask the sessions module: our own sessions by id, every stored session."""

    find_session = staticmethod(find_session)
    iter_session_records = staticmethod(iter_session_records)


def _serve(node: NodeContext) -> Served:
    out = []
    closing = []
    parties = node.own.cpo_parties()
    if parties:
        preferences = ChargerPreferences(node.charge_point)
        closing.append(preferences.close)
        sender = SessionSender(node.store, node.clock, parties, on_preferences=preferences)
        out.append(sender_binding(sender, node.own.url))
    if node.own.has_role(RECEIVING_ROLES):
        out.append(receiver_binding(SessionReceiver(node.store)))
    return Served(bindings=out, on_shutdown=tuple(closing))


async def _load(ops: Operations, obj: Any) -> Stored | None:
    r = await load_session_record(ops, obj.country_code, obj.party_id, obj.id, for_update=True)
    return None if r is None else Stored(r.partner_id, r.session)


async def _save(ops: Operations, obj: Any, partner_id: str) -> None:
    await save_session(ops, obj, partner_id=partner_id)


SESSIONS: ModuleKit[SessionLookups] = ModuleKit(
    name="sessions",
    lookups=SessionLookups(),
    serve=_serve,
    pusher=SessionPusher(),
    pull=PullSpec(
        owner_role="CPO",
        us="EMSP",
        wire_type=wire_class("Session"),
        to_model=to_canonical("session_to_model"),
        object_id=lambda obj: str(obj.id),
        load=_load,
        save=_save,
        help=(
            "Pull sessions from partner NAME: what changed since --since, else since the last sync, "
            "else in the last 30 days (OCPI requires date_from). Sessions are never removed by a sync."
        ),
        needs_date_from=True,
    ),
    commands=(sessions_group,),
)
