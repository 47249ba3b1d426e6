"""evroam as an OCPI hub: routing by the OCPI-to headers, broadcast, merged GET-all, the party registry,
HubClientInfo and liveness. See ``docs/hub.md``."""

from .parties import HubParties, Platform
from .router import HubRouter
from .service import Hub, HubSettings, hub_settings_from_env

__all__ = ["Hub", "HubParties", "HubRouter", "HubSettings", "Platform", "hub_settings_from_env"]
