"""How a node runs the charging profiles module: which side(s) it serves, and with what.

* a node with a CPO party serves the Receiver interface with a :class:`ProfileReceiver` in front of its
  charger connection (``node.charge_point``; without smart charging every request is NOT_SUPPORTED) and
  listens to the charger's :class:`~evroam.chargepoint.LimitChanged` reports;
* a node with an eMSP or SCSP party serves the Sender interface (the per-request result URLs and the
  ActiveChargingProfile PUT) with a :class:`ProfileSender`, which the CLI uses too.

Environment: ``EVROAM_PROFILES_TIMEOUT`` (seconds a charger gets to answer, announced as the
ChargingProfileResponse ``timeout``; default 30), ``EVROAM_PROFILES_GRACE`` (seconds a sender waits beyond
that before it records TIMEOUT; default 10), ``EVROAM_PROFILES_MIN_INTERVAL`` (seconds between two
accepted sets or clears on one session, quicker ones are TOO_OFTEN; default 10, 0 switches it off).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from evroam.modules.kit import ModuleBinding, NodeContext

from .bindings import receiver_binding, sender_binding
from .receiver import DEFAULT_MIN_INTERVAL, DEFAULT_TIMEOUT, ProfileReceiver
from .sender import DEFAULT_GRACE, ProfileSender

__all__ = ["SENDING_ROLES", "NodeProfiles", "options_from_env"]

#: Roles whose node sends charging profiles (and receives their results).
SENDING_ROLES = frozenset({"EMSP", "SCSP"})


def _number(env: Mapping[str, str], name: str, *, zero: bool = False) -> float | None:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < 0 or (value == 0 and not zero):
        raise ValueError(f"{name}={raw!r} must be {'zero or ' if zero else ''}positive")
    return value


def options_from_env(env: Mapping[str, str]) -> dict[str, float]:
    """``timeout``, ``grace`` and ``min_interval`` (seconds) from the ``EVROAM_PROFILES_*`` variables."""
    out = {"timeout": float(DEFAULT_TIMEOUT), "grace": DEFAULT_GRACE, "min_interval": DEFAULT_MIN_INTERVAL}
    for name, key in (
        ("EVROAM_PROFILES_TIMEOUT", "timeout"),
        ("EVROAM_PROFILES_GRACE", "grace"),
        ("EVROAM_PROFILES_MIN_INTERVAL", "min_interval"),
    ):
        value = _number(env, name, zero=key == "min_interval")
        if value is not None:
            out[key] = value
    return out


@dataclass
class NodeProfiles:
    """The charging profiles services of one node (either may be ``None``) and their bindings."""

    receiver: ProfileReceiver | None
    sender: ProfileSender | None

    @classmethod
    def of(cls, node: NodeContext, env: Mapping[str, str] | None = None) -> NodeProfiles:
        options = options_from_env(os.environ if env is None else env)
        receiver = None
        cpo = node.own.cpo_parties()
        if cpo:
            receiver = ProfileReceiver(
                node.store,
                node.clock,
                node.ids,
                parties=cpo,
                charge_point=node.charge_point,
                timeout=max(1, round(options["timeout"])),
                min_interval=options["min_interval"],
            )
        sender = None
        parties = node.own.parties_in(SENDING_ROLES)
        if parties:
            sender = ProfileSender(
                node.store,
                node.http,
                node.clock,
                node.ids,
                base_url=node.own.url,
                partners=node.registration,
                parties=parties,
                grace=options["grace"],
            )
        return cls(receiver=receiver, sender=sender)

    def bindings(self) -> list[ModuleBinding]:
        out = []
        if self.receiver is not None:
            out.append(receiver_binding(self.receiver))
        if self.sender is not None:
            out.append(sender_binding(self.sender))
        return out

    async def close(self) -> None:
        if self.receiver is not None:
            await self.receiver.close()
