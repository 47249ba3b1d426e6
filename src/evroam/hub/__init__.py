"""evroam as an OCPI hub: routing by the OCPI-to headers, broadcast, merged GET-all, the party registry,
HubClientInfo and liveness. See ``docs/hub.md``."""

from .parties import HubParties, Platform
from .router import HubRouter
from .service import STATE_SETTING, Hub, HubSettings, HubState, hub_settings_from_env, load_state

__all__ = [
    "STATE_SETTING",
    "Hub",
    "HubParties",
    "HubRouter",
    "HubSettings",
    "HubState",
    "Platform",
    "hub_settings_from_env",
    "load_state",
]
