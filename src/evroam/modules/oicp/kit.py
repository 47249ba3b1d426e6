"""The oicp kit: OICP 2.3 with Hubject for a CPO (a relay of the locations, sessions, CDRs and tariffs
changes to the hub, delivered by :class:`~evroam.modules.oicp.cpo.OicpPusher`) and for an EMP
(:class:`~evroam.modules.oicp.emp.EmpService`), and the ``evroam oicp`` commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from evroam.modules.kit import DeliveryTerms, ModuleKit, NodeContext, Served
from evroam.modules.oicp.cli import oicp
from evroam.modules.oicp.cpo import CpoEndpoint, OicpPusher, push_all_evse_data, push_pricing
from evroam.modules.oicp.emp import EmpService
from evroam.modules.oicp.endpoints import OicpEndpoints
from evroam.modules.oicp.records import load_connection, save_connection

__all__ = ["OICP", "OicpLookups"]


@dataclass(frozen=True)
class OicpLookups:
    """What other code may use of the oicp kit."""

    load_connection = staticmethod(load_connection)
    save_connection = staticmethod(save_connection)
    push_all_evse_data = staticmethod(push_all_evse_data)
    push_pricing = staticmethod(push_pricing)
    cpo_endpoint = CpoEndpoint
    emp_service = EmpService
    endpoints = OicpEndpoints


PUSHER = OicpPusher()


def _serve(node: NodeContext) -> Served:
    """No OCPI routes; the pusher's connections to the hub are closed when the node stops."""
    return Served(on_shutdown=(PUSHER.clients.aclose,))


OICP: ModuleKit[OicpLookups] = ModuleKit(
    name="oicp",
    lookups=OicpLookups(),
    serve=_serve,
    pusher=PUSHER,
    # CDRs ride the relay: never given up, reported when they stay undelivered for an hour
    delivery=DeliveryTerms(retry_forever=True, escalate_after=timedelta(hours=1)),
    commands=(oicp,),
)
