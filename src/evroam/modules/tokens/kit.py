"""The tokens module as the node sees it: :data:`TOKENS`."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Any

import msgspec

from evroam.core.clock import Clock
from evroam.store.port import Operations, Store

from .._shared import to_canonical, wire_class
from ..kit import ModuleKit, NodeContext, PullSpec, Served, Stored
from .bindings import receiver_binding, sender_binding
from .cli import tokens as tokens_group
from .push import TokenPusher
from .repository import iter_tokens, load_token_record, save_token
from .service import TokenReceiver, TokenSender

__all__ = ["TOKENS", "TokenLookups"]


class TokenLookups:
    """What other modules may ask the tokens module: stored tokens, ours or received."""

    load_token_record = staticmethod(load_token_record)
    iter_tokens = staticmethod(iter_tokens)


def _serve(node: NodeContext) -> Served:
    """The Sender interface (list, real-time authorization) when the node has an eMSP party, the
    Receiver interface when it has a CPO party."""
    out = []
    issuers = node.own.emsp_parties()
    if issuers:
        sender = TokenSender(node.store, issuers, clock=node.clock, ids=node.ids)
        out.append(sender_binding(sender, node.own.url))
    if node.own.cpo_parties():
        out.append(receiver_binding(TokenReceiver(node.store)))
    return Served(bindings=out)


def _object_id(obj: Any) -> str:
    return f"{obj.type}:{obj.uid}"


async def _load(ops: Operations, obj: Any) -> Stored | None:
    r = await load_token_record(ops, obj.country_code, obj.party_id, obj.uid, obj.type, for_update=True)
    return None if r is None else Stored(r.partner_id, r.token)


async def _save(ops: Operations, obj: Any, partner_id: str) -> None:
    await save_token(ops, obj, partner_id=partner_id, check_stale=False)  # a partner's token: no rules


async def _remove_absent(
    store: Store, partner_id: str, seen: AbstractSet[tuple[str, str, str]], clock: Clock
) -> int:
    """A token the partner no longer lists becomes invalid (kept)."""
    gone = [
        doc.token
        async for _, doc in iter_tokens(store, partners=[partner_id])
        if doc.token.valid
        and (
            doc.token.country_code.casefold(),
            doc.token.party_id.casefold(),
            _object_id(doc.token).casefold(),
        )
        not in seen
    ]
    for token in gone:
        stamp = max(clock.now(), token.last_updated)
        async with store.transaction() as tx:
            await save_token(
                tx,
                msgspec.structs.replace(token, valid=False, last_updated=stamp),
                partner_id=partner_id,
                check_stale=False,
            )
    return len(gone)


TOKENS: ModuleKit[TokenLookups] = ModuleKit(
    name="tokens",
    lookups=TokenLookups(),
    serve=_serve,
    pusher=TokenPusher(),
    pull=PullSpec(
        owner_role="EMSP",
        us="CPO",
        wire_type=wire_class("Token"),
        to_model=to_canonical("token_to_model"),
        object_id=_object_id,
        load=_load,
        save=_save,
        help=(
            "Pull tokens from partner NAME: everything the first time or with --full (a token it no "
            "longer lists is marked invalid, valid=false), otherwise what changed since the last sync "
            "(or --since)."
        ),
        remove_absent=_remove_absent,
    ),
    commands=(tokens_group,),
)
