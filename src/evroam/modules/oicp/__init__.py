"""OICP 2.3 for a node: the CPO and EMP roles towards Hubject (or the test hub). See ``docs/oicp.md``."""

from evroam.modules.oicp.cpo import CpoEndpoint, OicpPusher, find_evse, push_all_evse_data, push_pricing
from evroam.modules.oicp.emp import EmpService, PricingData
from evroam.modules.oicp.endpoints import OicpEndpoints
from evroam.modules.oicp.hub import HubClients, OicpRefused
from evroam.modules.oicp.kit import OICP, OicpLookups
from evroam.modules.oicp.records import HUB_PARTNER_ID, Connection, ConnectionState, EmpCdr, OicpSession

__all__ = [
    "HUB_PARTNER_ID",
    "OICP",
    "Connection",
    "ConnectionState",
    "CpoEndpoint",
    "EmpCdr",
    "EmpService",
    "HubClients",
    "OicpEndpoints",
    "OicpLookups",
    "OicpPusher",
    "OicpRefused",
    "OicpSession",
    "PricingData",
    "find_evse",
    "push_all_evse_data",
    "push_pricing",
]
