"""How a node runs the commands module: which side(s) it serves, and with what.

* a node with a CPO party serves the Receiver interface with a :class:`CommandReceiver` in front of
  its charger connection (``node.charge_point``; none: every command is answered NOT_SUPPORTED);
* a node with an eMSP party serves the Sender interface (the per-command result URLs) with a
  :class:`CommandSender`, which the CLI uses too.

Environment: ``EVROAM_COMMANDS_TIMEOUT`` (seconds a charger gets to answer, announced to eMSPs as the
CommandResponse ``timeout``; default 30) and ``EVROAM_COMMANDS_GRACE`` (seconds an eMSP waits beyond
that ``timeout`` before it records TIMEOUT; default 10).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evroam.model.tokens import Token
from evroam.modules.kit import ModuleBinding, NodeContext
from evroam.modules.tokens import TOKENS
from evroam.store.port import Store

from .bindings import receiver_binding, sender_binding
from .receiver import DEFAULT_TIMEOUT, CommandReceiver
from .sender import DEFAULT_GRACE, CommandSender, TokenFinder

__all__ = ["TOKEN_TYPES", "NodeCommands", "StoredTokens", "emsp_parties", "options_from_env", "token_finder"]

#: Roles whose node sends commands (and receives their results).
SENDING_ROLES = frozenset({"EMSP", "SCSP", "NSP", "OTHER"})


def _positive(env: Mapping[str, str], name: str) -> float | None:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be positive")
    return value


def options_from_env(env: Mapping[str, str]) -> dict[str, float]:
    """``timeout`` and ``grace`` (seconds) from ``EVROAM_COMMANDS_TIMEOUT`` / ``EVROAM_COMMANDS_GRACE``."""
    out: dict[str, float] = {"timeout": DEFAULT_TIMEOUT, "grace": DEFAULT_GRACE}
    for name, key in (("EVROAM_COMMANDS_TIMEOUT", "timeout"), ("EVROAM_COMMANDS_GRACE", "grace")):
        value = _positive(env, name)
        if value is not None:
            out[key] = value
    return out


def emsp_parties(node: NodeContext) -> list[tuple[str, str]]:
    return node.own.parties_in(SENDING_ROLES)


#: Token types tried, in this order, when a command names a token by uid alone.
TOKEN_TYPES = ("RFID", "APP_USER", "AD_HOC_USER", "EMAID", "OTHER")


class StoredTokens:
    """:class:`~evroam.modules.commands.sender.TokenFinder` over the tokens module's store documents:
    our own tokens (under one of our eMSP ``parties``) by uid, and type when given."""

    def __init__(self, store: Store, parties: Sequence[tuple[str, str]]) -> None:
        self._store = store
        self._parties = tuple(parties)

    async def own_token(self, uid: str, token_type: str | None = None) -> Token | None:
        types = (token_type.upper(),) if token_type else TOKEN_TYPES
        for kind in types:
            for cc, pid in self._parties:
                record = await TOKENS.lookups.load_token_record(self._store, cc, pid, uid, kind)
                if record is not None and record.partner_id is None:
                    return record.token
        if token_type:
            return None
        folded = uid.casefold()
        async for _, document in TOKENS.lookups.iter_tokens(
            self._store, partners=[None]
        ):  # a type outside the list
            if str(document.token.uid).casefold() == folded:
                return document.token
        return None


def token_finder(node: NodeContext) -> TokenFinder:
    """Our own tokens (the tokens module's documents)."""
    return StoredTokens(node.store, emsp_parties(node))


@dataclass
class NodeCommands:
    """The commands services of one node (either may be ``None``) and their bindings."""

    receiver: CommandReceiver | None
    sender: CommandSender | None
    timeout: int

    @classmethod
    def of(cls, node: NodeContext, env: Mapping[str, str] | None = None) -> NodeCommands:
        options = options_from_env(os.environ if env is None else env)
        timeout = max(1, round(options["timeout"]))
        cpo = node.own.cpo_parties()
        receiver = None
        if cpo:
            receiver = CommandReceiver(
                node.store,
                node.http,
                node.clock,
                node.ids,
                parties=cpo,
                charge_point=node.charge_point,
                timeout=timeout,
            )
        sender = None
        parties = emsp_parties(node)
        if parties:
            sender = CommandSender(
                node.store,
                node.http,
                node.clock,
                node.ids,
                base_url=node.own.url,
                partners=node.registration,
                parties=parties,
                tokens=token_finder(node),
                grace=options["grace"],
            )
        return cls(receiver=receiver, sender=sender, timeout=timeout)

    def bindings(self) -> list[ModuleBinding]:
        out = []
        if self.receiver is not None:
            out.append(receiver_binding(self.receiver, timeout=self.timeout))
        if self.sender is not None:
            out.append(sender_binding(self.sender))
        return out

    async def close(self) -> None:
        if self.receiver is not None:
            await self.receiver.close()
