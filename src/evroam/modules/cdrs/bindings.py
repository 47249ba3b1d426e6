"""The CDRs module's HTTP bindings: Sender (CPO) and Receiver (eMSP), one handler per endpoint name
for every OCPI version, converting with the version's converters (:mod:`.convert`)."""

from __future__ import annotations

import logging
from urllib.parse import quote

import msgspec

from evroam.core.codec import encode
from evroam.model.common import NotRepresentable
from evroam.modules.kit import ModuleBinding, OcpiAnswer, OcpiCall, module_path
from evroam.ocpi.table import InterfaceRole
from evroam.ocpi.transport.pagination import page_headers, parse_page_request
from evroam.registration.model import Partner

from .._shared import DEFAULT_MAX_LIMIT, WireCache, splice_list
from .convert import cdr_converters
from .ports import CdrReceiverPort
from .repository import decode_cdr_document
from .service import CdrSender

__all__ = ["receiver_binding", "sender_binding"]

log = logging.getLogger(__name__)


def sender_binding(
    service: CdrSender,
    base_url: str,
    *,
    max_limit: int = DEFAULT_MAX_LIMIT,
    cache: WireCache | None = None,
) -> ModuleBinding:
    """``cdrs`` SENDER: GET list (paginated), only the CDRs of the calling partner's tokens."""
    wires = cache if cache is not None else WireCache()

    async def list_cdrs(call: OcpiCall) -> OcpiAnswer:
        wire = cdr_converters(call.spec.number)
        request = parse_page_request(call.query, max_limit=max_limit)
        page = await service.page(call.caller.partner, request)
        if wire.carries_owner("CDR"):

            def render(document: bytes) -> bytes:
                return encode(wire.cdr_from_model(decode_cdr_document(document).cdr))

            data = splice_list(wires, wire.version, page.items, render, skip=NotRepresentable)
        else:  # 2.1.1 embeds the Location, read per CDR
            parts: list[bytes] = []
            for item in page.items:
                cdr = decode_cdr_document(item.payload).cdr
                try:
                    location = None if cdr.location is not None else await service.location_of(cdr)
                    parts.append(encode(wire.cdr_from_model(cdr, location)))
                except NotRepresentable as exc:
                    log.warning("CDR %s cannot be shown in OCPI %s: %s", cdr.id, wire.version, exc)
            data = msgspec.Raw(b"[" + b",".join(parts) + b"]")
        url = base_url + module_path(call.spec, call.module, call.interface)
        return OcpiAnswer(data=data, headers=page_headers(url, request, page.total, max_limit=max_limit))

    return ModuleBinding(module="cdrs", interface=InterfaceRole.SENDER, handlers={"list": list_cdrs})


def _owner(partner: Partner) -> tuple[str, str]:
    """The party a 2.1.1 CDR (which names none) belongs to: the caller's CPO role, else its first."""
    roles = [r for r in partner.roles if r.role == "CPO"] or list(partner.roles)
    return (roles[0].country_code, roles[0].party_id) if roles else ("", "")


def receiver_binding(service: CdrReceiverPort, base_url: str) -> ModuleBinding:
    """``cdrs`` RECEIVER: POST (answered with ``Location: <URL of the stored CDR>``), GET by that URL.

    The URL is ``{base}/ocpi/{version}/receiver/cdrs/{country_code}/{party_id}/{cdr_id}``: the GET
    endpoint of the version the CDR was posted in.
    """

    async def post(call: OcpiCall) -> OcpiAnswer:
        wire = cdr_converters(call.spec.number)
        cc, pid = _owner(call.caller.partner)
        cdr = wire.cdr_to_model(call.body, country_code=cc, party_id=pid)
        path = "/".join(quote(str(part), safe="") for part in (cdr.country_code, cdr.party_id, cdr.id))
        url = f"{base_url}{module_path(call.spec, call.module, call.interface)}/{path}"
        await service.post(call.caller.partner, cdr, url)
        return OcpiAnswer(http_status=201, headers={"Location": url})

    async def get(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        cdr = await service.get(call.caller.partner, p["country_code"], p["party_id"], p["cdr_id"])
        return OcpiAnswer(data=cdr_converters(call.spec.number).cdr_from_model(cdr))

    return ModuleBinding(module="cdrs", interface=InterfaceRole.RECEIVER, handlers={"post": post, "get": get})
