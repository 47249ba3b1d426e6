"""HubClientInfo as a party behind a hub sees it (OCPI 2.2+, a configuration module).

A hub tells each connected platform which parties it reaches and their connection status
(``CONNECTED``, ``OFFLINE``, ``PLANNED``, ``SUSPENDED``): it PUTs one ``ClientInfo`` per party to our
Receiver interface, and lists them all on its Sender interface (``evroam sync hubclientinfo --partner
HUB``). Each ``ClientInfo`` is kept as a document of kind ``hubclientinfo`` scoped to the hub (the
partner it came from), and the party joins the hub's roles in its partner record: from then on the
modules accept that party's objects from the hub (it speaks for the party) and address requests for
that party (sessions and CDRs to a token's eMSP, a real-time authorization, a command) to the hub with
``OCPI-to-*`` naming the party. Our own parties are never added.

What the hub role serves (its Sender list, the pushes) lives in :mod:`evroam.hub`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click
import msgspec

from evroam.core.errors import Forbidden, NotFound
from evroam.model import BusinessDetails, CredentialsRole
from evroam.model.hubclientinfo import ClientInfo
from evroam.ocpi.converters import converters
from evroam.ocpi.table import InterfaceRole
from evroam.registration.model import Partner
from evroam.registration.repository import load_partner_in, save_partner_in
from evroam.store.port import Operations

from .._documents import Documents
from .._shared import wire_class
from ..kit import (
    ModuleBinding,
    ModuleKit,
    NodeContext,
    OcpiAnswer,
    OcpiCall,
    PullSpec,
    Served,
    Stored,
    emit,
    run_node,
)

__all__ = ["HUBCLIENTINFO", "HubClientInfoLookups", "reachable"]

KIND = "hubclientinfo"
DOCUMENTS: Documents[ClientInfo] = Documents(KIND, ClientInfo)


def _role_of(info: ClientInfo, hub: Partner) -> CredentialsRole:
    return CredentialsRole(
        business_details=BusinessDetails(name=f"{info.country_code}*{info.party_id} via {hub.name}"),
        country_code=info.country_code,
        party_id=info.party_id,
        role=info.role,
    )


def _with_party(partner: Partner, info: ClientInfo, own: Sequence[tuple[str, str]]) -> Partner | None:
    """The partner record with ``info``'s party among its roles, ``None`` when nothing changes."""
    cc, pid = info.country_code.casefold(), info.party_id.casefold()
    if any((a.casefold(), b.casefold()) == (cc, pid) for a, b in own):
        return None
    if any(
        r.country_code.casefold() == cc and r.party_id.casefold() == pid and r.role in (None, info.role)
        for r in partner.roles
    ):
        return None
    return msgspec.structs.replace(partner, roles=(*partner.roles, _role_of(info, partner)))


async def store_client_info(
    ops: Operations, info: ClientInfo, hub_id: str, own: Sequence[tuple[str, str]] = ()
) -> None:
    """Keep ``info`` (from the hub ``hub_id``) and make its party one the hub reaches."""
    await _put(ops, info, hub_id)
    partner = await load_partner_in(ops, hub_id)
    if partner is None:
        return
    changed = _with_party(partner, info, own)
    if changed is not None:
        await save_partner_in(ops, changed, info.last_updated)


def _object_id(info: ClientInfo) -> str:
    return str(info.role.value)


async def _put(ops: Operations, info: ClientInfo, hub_id: str) -> None:
    key = DOCUMENTS.key(info.country_code, info.party_id, _object_id(info))
    await DOCUMENTS.put(ops, key, info, info.last_updated, partner_id=hub_id, check_stale=False)


async def reachable(ops: Operations, hub_id: str | None = None) -> list[tuple[str, ClientInfo]]:
    """``(hub partner id, ClientInfo)`` of every party a hub told us about (of one hub when given)."""
    page = await ops.find(KIND, partners=None if hub_id is None else [hub_id])
    return [(str(item.partner_id), DOCUMENTS.decode(item.payload)) for item in page.items]


@dataclass(frozen=True)
class HubClientInfoLookups:
    reachable = staticmethod(reachable)
    store_client_info = staticmethod(store_client_info)


# -- the Receiver interface (PUT / GET of one party's ClientInfo) ------------------------------------


def receiver_binding(node: NodeContext) -> ModuleBinding:
    async def put(call: OcpiCall) -> OcpiAnswer:
        info = converters(call.spec.number).client_info_to_model(call.body)
        cc, pid = call.path_params["country_code"], call.path_params["party_id"]
        if (cc.casefold(), pid.casefold()) != (info.country_code.casefold(), info.party_id.casefold()):
            raise Forbidden(f"the URL names {cc}*{pid}, the object {info.country_code}*{info.party_id}")
        async with node.store.transaction() as tx:
            await _put(tx, info, call.caller.partner.id)
        # through the service: the token cache of this process learns the new roles at once
        await node.registration.add_reachable(call.caller.partner.id, [_role_of(info, call.caller.partner)])
        return OcpiAnswer()

    async def get(call: OcpiCall) -> OcpiAnswer:
        cc, pid = call.path_params["country_code"], call.path_params["party_id"]
        found = [
            info
            for hub, info in await reachable(node.store, call.caller.partner.id)
            if (info.country_code.casefold(), info.party_id.casefold()) == (cc.casefold(), pid.casefold())
        ]
        if not found:
            raise NotFound(f"no ClientInfo of {cc}*{pid}")
        newest = max(found, key=lambda i: i.last_updated)
        return OcpiAnswer(data=converters(call.spec.number).client_info_from_model(newest))

    return ModuleBinding(KIND, InterfaceRole.RECEIVER, {"put": put, "get": get})


def _serve(node: NodeContext) -> Served:
    if node.own.has_role(("HUB",)):
        return Served()  # the hub serves its own Sender list (evroam.hub)
    return Served(bindings=(receiver_binding(node),))


# -- pull: `evroam sync hubclientinfo --partner HUB` ---------------------------------------------------


def _to_model(version: str, item: Any, country_code: str, party_id: str) -> ClientInfo:
    return converters(version).client_info_to_model(item)


async def _load(ops: Operations, info: ClientInfo) -> Stored | None:
    found = await DOCUMENTS.get(ops, info.country_code, info.party_id, _object_id(info), for_update=True)
    if found is None:
        return None
    return Stored(found.partner_id, DOCUMENTS.decode(found.payload))


async def _save(ops: Operations, info: ClientInfo, partner_id: str) -> None:
    await store_client_info(ops, info, partner_id)


PULL = PullSpec(
    owner_role="HUB",
    us="CPO",
    wire_type=wire_class("ClientInfo"),
    to_model=_to_model,
    object_id=_object_id,
    load=_load,
    save=_save,
    any_party=True,
    help="Pull the hub's list of parties and their connection status (HubClientInfo).",
)


# -- commands --------------------------------------------------------------------------------------


@click.group("hubclientinfo")
def hubclientinfo_group() -> None:
    """The parties reachable through the hubs we are connected to."""


@hubclientinfo_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_command(as_json: bool) -> None:
    """Every party a hub told us about: party, role, status, hub, last update."""

    async def action(node: NodeContext) -> list[dict[str, Any]]:
        names = {p.id: p.name for p in await node.registration.partners()}
        return [
            {
                "party": f"{info.country_code}*{info.party_id}",
                "role": info.role.value,
                "status": info.status.value,
                "hub": names.get(hub, hub),
                "last_updated": info.last_updated.to_json(),
            }
            for hub, info in await reachable(node.store)
        ]

    rows = run_node(action)
    text = "\n".join(
        f"{r['party']:<8} {r['role']:<5} {r['status']:<10} {r['hub']:<12} {r['last_updated']}" for r in rows
    )
    emit(rows, as_json, text or "no party reachable through a hub")


HUBCLIENTINFO: ModuleKit[HubClientInfoLookups] = ModuleKit(
    name=KIND,
    lookups=HubClientInfoLookups(),
    serve=_serve,
    pull=PULL,
    commands=(hubclientinfo_group,),
)
