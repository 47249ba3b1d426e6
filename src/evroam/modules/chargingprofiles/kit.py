"""The charging profiles module as the node sees it: :data:`CHARGING_PROFILES` (pushes: the CPO's
results and ActiveChargingProfile updates; no pull)."""

from __future__ import annotations

from ..kit import ModuleKit, NodeContext, Served
from .cli import profiles as profiles_group
from .composite import composite
from .push import ProfilePusher
from .setup import NodeProfiles

__all__ = ["CHARGING_PROFILES", "ProfileLookups"]


class ProfileLookups:
    """What other modules may ask: the composite (lowest wins) of several profiles."""

    composite = staticmethod(composite)


def _serve(node: NodeContext) -> Served:
    profiles = NodeProfiles.of(node)
    charge_point = node.charge_point
    if profiles.receiver is not None and charge_point is not None and hasattr(charge_point, "subscribe"):
        charge_point.subscribe(profiles.receiver.on_event)
    return Served(bindings=profiles.bindings(), on_shutdown=(profiles.close,))


CHARGING_PROFILES: ModuleKit[ProfileLookups] = ModuleKit(
    name="chargingprofiles",
    lookups=ProfileLookups(),
    serve=_serve,
    pusher=ProfilePusher(),
    commands=(profiles_group,),
)
