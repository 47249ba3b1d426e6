"""The HubClientInfo module, for a party behind a hub: :data:`HUBCLIENTINFO`."""

from .kit import HUBCLIENTINFO, HubClientInfoLookups, reachable

__all__ = ["HUBCLIENTINFO", "HubClientInfoLookups", "reachable"]
