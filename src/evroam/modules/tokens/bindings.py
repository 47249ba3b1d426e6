"""The tokens module's HTTP bindings: Sender (eMSP) and Receiver (CPO), one handler per endpoint name
for every OCPI version, converting with the version's converters (:mod:`.convert`).

* Sender ``list``: our own tokens, paginated (spliced from cached wire JSON);
* Sender ``authorize``: ``POST {uid}/authorize[?type=]`` with optional LocationReferences; an unknown
  token is HTTP 404 with OCPI 2004 (2.2+; OCPI 2.1.1 has no 2004 and gets 2000);
* Receiver ``get`` / ``put`` / ``patch`` with ``?type=`` (default RFID; 2.1.1 URLs carry no type).
"""

from __future__ import annotations

from evroam.core.errors import UnknownToken
from evroam.core.status import StatusCode
from evroam.model.common import NotRepresentable
from evroam.model.tokens import Token
from evroam.modules.kit import ModuleBinding, OcpiAnswer, OcpiCall, module_path
from evroam.ocpi.table import InterfaceRole
from evroam.ocpi.transport.pagination import page_headers, parse_page_request

from .._shared import (
    DEFAULT_MAX_LIMIT,
    WireCache,
    apply_patch,
    require_last_updated,
    splice_list,
    write_answer,
)
from .convert import token_converters
from .ports import TokenReceiverPort, TokenSenderPort

__all__ = ["receiver_binding", "sender_binding"]


def sender_binding(
    service: TokenSenderPort,
    base_url: str,
    *,
    max_limit: int = DEFAULT_MAX_LIMIT,
    cache: WireCache | None = None,
) -> ModuleBinding:
    """``tokens`` SENDER: GET list (paginated), POST ``{token_uid}/authorize``."""
    wires = cache if cache is not None else WireCache()

    async def list_tokens(call: OcpiCall) -> OcpiAnswer:
        wire = token_converters(call.spec.number)
        request = parse_page_request(call.query, max_limit=max_limit)
        page = await service.page(call.caller.partner, request)
        data = splice_list(wires, wire.version, page.items, wire.encode_document, skip=NotRepresentable)
        url = base_url + module_path(call.spec, call.module, call.interface)
        return OcpiAnswer(data=data, headers=page_headers(url, request, page.total, max_limit=max_limit))

    async def authorize(call: OcpiCall) -> OcpiAnswer:
        wire = token_converters(call.spec.number)
        token_type = wire.token_type(call.query)
        where = None if call.body is None else wire.location_references_to_model(call.body)
        routing = call.headers.routing
        try:
            info = await service.authorize(
                call.caller.partner,
                call.path_params["token_uid"],
                token_type,
                where,
                to=None if routing is None else routing.receiver,
            )
        except UnknownToken as exc:
            # OCPI 2.1.1 has no 2004: HTTP 404 with the generic client error
            if not wire.carries_owner("Token"):
                exc.ocpi_status = StatusCode.CLIENT_ERROR
            raise
        return OcpiAnswer(data=wire.authorization_info_from_model(info))

    return ModuleBinding(
        module="tokens",
        interface=InterfaceRole.SENDER,
        handlers={"list": list_tokens, "authorize": authorize},
    )


def receiver_binding(service: TokenReceiverPort) -> ModuleBinding:
    """``tokens`` RECEIVER: GET / PUT / PATCH of one token."""

    async def get(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        wire = token_converters(call.spec.number)
        token_type = wire.token_type(call.query) if wire.typed_receiver else None
        token = await service.get(
            call.caller.partner, p["country_code"], p["party_id"], p["token_uid"], token_type
        )
        return OcpiAnswer(data=wire.token_from_model(token))

    async def put(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        wire = token_converters(call.spec.number)
        token = wire.token_to_model(call.body, country_code=p["country_code"], party_id=p["party_id"])
        token_type = wire.token_type(call.query, token.type) if wire.typed_receiver else token.type
        outcome = await service.put(
            call.caller.partner, p["country_code"], p["party_id"], p["token_uid"], token_type, token
        )
        return write_answer(outcome)

    async def patch(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        wire = token_converters(call.spec.number)
        body = call.body
        require_last_updated(body)
        cc, pid = p["country_code"], p["party_id"]
        body_type = None if body.type is None else str(body.type)
        token_type = wire.token_type(call.query, body_type) if wire.typed_receiver else body_type

        def apply(current: Token) -> Token:
            return apply_patch(
                current,
                body,
                wire.token_from_model,
                lambda w: wire.token_to_model(w, country_code=cc, party_id=pid),
            )

        outcome = await service.patch(
            call.caller.partner, cc, pid, p["token_uid"], token_type, body.last_updated, apply
        )
        return write_answer(outcome)

    return ModuleBinding(
        module="tokens",
        interface=InterfaceRole.RECEIVER,
        handlers={"get": get, "put": put, "patch": patch},
    )
