"""Which quirks are switched on for which partner, kept in the store's settings.

One setting, ``compat.partners``, holds a JSON object keyed by the case-folded partner name::

    {"peer": {"name": "peer", "quirks": ["list-wrapped-objects", ...]}}

Partners are named, not identified by id, so that the switches can be set before the partner is
registered (``evroam compat set NAME ...`` then ``evroam partners register ... --name NAME``).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from evroam.compat.quirks import Quirk
from evroam.core.codec import decode, encode
from evroam.store.port import Operations

__all__ = ["SETTING", "PartnerSwitches", "load_switches", "save_switches"]

SETTING = "compat.partners"


class PartnerSwitches(msgspec.Struct, frozen=True, kw_only=True):
    """The quirks tolerated for one partner."""

    name: str
    quirks: tuple[Quirk, ...] = ()
    url: str | None = None
    """A URL of the partner (e.g. its versions URL): its scheme and host identify the partner's
    requests before it is registered, so that the switches apply to the handshake itself."""

    def with_quirks(self, quirks: Iterable[Quirk]) -> PartnerSwitches:
        return PartnerSwitches(name=self.name, quirks=tuple(sorted(set(quirks))), url=self.url)


async def load_switches(ops: Operations) -> dict[str, PartnerSwitches]:
    """Every partner's switches, keyed by the case-folded partner name."""
    raw = await ops.get_setting(SETTING)
    if not raw:
        return {}
    found: dict[str, PartnerSwitches] = decode(raw.encode("utf-8"), dict[str, PartnerSwitches])
    return found


async def save_switches(ops: Operations, switches: dict[str, PartnerSwitches]) -> None:
    kept = {key: value for key, value in switches.items() if value.quirks}
    if kept:
        await ops.set_setting(SETTING, encode(kept).decode("utf-8"))
    else:
        await ops.delete_setting(SETTING)
