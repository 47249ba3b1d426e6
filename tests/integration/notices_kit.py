"""A custom OCPI module defined outside evroam: ``notices``, short texts a CPO publishes to its partners.

It is what "adding a module" in docs/architecture.md describes, kept to the minimum: a wire class, the
module's endpoints per OCPI version (the version tables do not know it), a Sender (paginated list) and a
Receiver (GET / PUT one notice), a pusher, a pull spec and an ``evroam notices`` command group, bundled
as :data:`NOTICES`. A node loads it with ``EVROAM_KITS=tests.integration.notices_kit:NOTICES``.
"""

from __future__ import annotations

from typing import Any

import click
import msgspec

from evroam.core.codec import decode, encode
from evroam.core.errors import Forbidden, NotFound, ValidationFailed, Violation
from evroam.core.types import DateTime
from evroam.modules.kit import (
    ModuleBinding,
    ModuleKit,
    NodeContext,
    OcpiAnswer,
    OcpiCall,
    Outgoing,
    PullSpec,
    Served,
    Skip,
    Stored,
    emit,
    module_path,
    run_node,
)
from evroam.ocpi.converters import VersionConverters
from evroam.ocpi.registry import MODELLED_VERSIONS
from evroam.ocpi.table import EndpointSpec, InterfaceRole, ModuleSpec
from evroam.ocpi.transport.pagination import page_headers, parse_page_request
from evroam.registration.directory import RegisteredPartners
from evroam.store.outbox import ObjectChange, PartnerTarget, enqueue_change
from evroam.store.port import ObjectKey, Operations, PutOutcome

__all__ = ["KIND", "NOTICES", "Notice"]

KIND = "notices"
MAX_LIMIT = 2


class Notice(msgspec.Struct, kw_only=True):
    """One notice; its wire form and its stored form are the same."""

    country_code: str
    party_id: str
    id: str
    text: str
    last_updated: DateTime


_ONE = "{country_code}/{party_id}/{notice_id}"
SPEC = ModuleSpec(
    id=KIND,
    interfaces={
        InterfaceRole.SENDER: (EndpointSpec("list", "GET", "", response=list[Notice], paginated=True),),
        InterfaceRole.RECEIVER: (
            EndpointSpec("get", "GET", _ONE, response=Notice),
            EndpointSpec("put", "PUT", _ONE, request=Notice),
        ),
    },
)
SPECS = dict.fromkeys(MODELLED_VERSIONS, SPEC)


def _key(country_code: str, party_id: str, notice_id: str) -> ObjectKey:
    return ObjectKey(KIND, country_code, party_id, notice_id)


async def _load(ops: Operations, cc: str, pid: str, notice_id: str) -> tuple[Notice, str | None] | None:
    found = await ops.get(_key(cc, pid, notice_id))
    return None if found is None else (decode(found.payload, Notice), found.partner_id)


async def _save(ops: Operations, notice: Notice, partner_id: str | None) -> PutOutcome:
    key = _key(notice.country_code, notice.party_id, notice.id)
    return await ops.put(key, encode(notice), notice.last_updated, partner_id=partner_id, check_stale=True)


# -- HTTP --------------------------------------------------------------------------------------------


def _sender(node: NodeContext) -> ModuleBinding:
    async def list_notices(call: OcpiCall) -> OcpiAnswer:
        request = parse_page_request(call.query, max_limit=MAX_LIMIT)
        page = await node.store.find(
            KIND,
            partners=[None],
            date_from=request.date_from,
            date_to=request.date_to,
            offset=request.offset,
            limit=request.limit,
        )
        url = node.own.url + module_path(call.spec, call.module, call.interface)
        return OcpiAnswer(
            data=[decode(item.payload, Notice) for item in page.items],
            headers=page_headers(url, request, page.total, max_limit=MAX_LIMIT),
        )

    return ModuleBinding(KIND, InterfaceRole.SENDER, {"list": list_notices}, specs=SPECS)


def _receiver(node: NodeContext) -> ModuleBinding:
    def check_owner(call: OcpiCall) -> tuple[str, str, str]:
        p = call.path_params
        parties = {(r.country_code.upper(), r.party_id.upper()) for r in call.caller.partner.roles}
        if (p["country_code"].upper(), p["party_id"].upper()) not in parties:
            raise Forbidden("not one of your parties")
        return p["country_code"], p["party_id"], p["notice_id"]

    async def get(call: OcpiCall) -> OcpiAnswer:
        cc, pid, notice_id = check_owner(call)
        found = await _load(node.store, cc, pid, notice_id)
        if found is None:
            raise NotFound(f"no notice {notice_id}")
        return OcpiAnswer(data=found[0])

    async def put(call: OcpiCall) -> OcpiAnswer:
        notice_id = check_owner(call)[2]
        notice: Notice = call.body
        if notice.id != notice_id:
            raise ValidationFailed([Violation("id", "differs from the URL")])
        async with node.store.transaction() as tx:
            outcome = await _save(tx, notice, call.caller.partner.id)
        return OcpiAnswer(http_status=201 if outcome is PutOutcome.CREATED else 200)

    return ModuleBinding(KIND, InterfaceRole.RECEIVER, {"get": get, "put": put}, specs=SPECS)


def _serve(node: NodeContext) -> Served:
    out = []
    if node.own.cpo_parties():
        out.append(_sender(node))
    if node.own.has_role(("EMSP",)):
        out.append(_receiver(node))
    return Served(bindings=out)


# -- push and pull -----------------------------------------------------------------------------------


class NoticePusher:
    module = KIND

    async def prepare(
        self,
        ops: Operations,
        conv: VersionConverters,
        target: PartnerTarget,
        change: ObjectChange,
        delivery: Any,
    ) -> Outgoing | Skip:
        found = await _load(ops, change.country_code, change.party_id, change.object_id)
        if found is None:
            return Skip(f"notice {change.object_id} is gone")
        notice = found[0]
        return Outgoing("PUT", (notice.country_code, notice.party_id, notice.id), notice)


async def _pulled(ops: Operations, obj: Any) -> Stored | None:
    found = await _load(ops, obj.country_code, obj.party_id, obj.id)
    return None if found is None else Stored(found[1], found[0])


async def _store_pulled(ops: Operations, obj: Any, partner_id: str) -> None:
    await _save(ops, obj, partner_id)


PULL = PullSpec(
    owner_role="CPO",
    us="EMSP",
    wire_type=lambda version: Notice,
    to_model=lambda version, item, cc, pid: item,
    object_id=lambda obj: str(obj.id),
    load=_pulled,
    save=_store_pulled,
)


# -- commands ----------------------------------------------------------------------------------------


@click.group()
def notices() -> None:
    """Notices: publish one (CPO), list those held."""


@notices.command("add")
@click.argument("notice_id")
@click.argument("text")
def add(notice_id: str, text: str) -> None:
    """Publish notice NOTICE_ID saying TEXT to every partner that receives notices."""

    async def action(node: NodeContext) -> int:
        cc, pid = node.own.cpo_parties()[0]
        now = node.clock.now()
        notice = Notice(country_code=cc, party_id=pid, id=notice_id, text=text, last_updated=now)
        async with node.store.transaction() as tx:
            await _save(tx, notice, None)
            change = ObjectChange(
                module=KIND, country_code=cc, party_id=pid, object_id=notice_id, method="PUT"
            )
            return await enqueue_change(tx, RegisteredPartners(), change, now)

    queued = run_node(action)
    emit({"queued": queued}, False, f"{queued} push(es) queued")


@notices.command("list")
def list_notices() -> None:
    """Every notice held, ours and received, as JSON."""

    async def action(node: NodeContext) -> list[dict[str, Any]]:
        page = await node.store.find(KIND)
        return [{**msgspec.json.decode(item.payload), "partner_id": item.partner_id} for item in page.items]

    emit(run_node(action), True, "")


NOTICES: ModuleKit[None] = ModuleKit(
    name=KIND, lookups=None, serve=_serve, pusher=NoticePusher(), pull=PULL, commands=(notices,)
)
