"""The sessions module's HTTP bindings: Sender (CPO) and Receiver (eMSP), one handler per endpoint
name for every OCPI version, converting with the version's converters (:mod:`.convert`)."""

from __future__ import annotations

import logging

import msgspec

from evroam.core.codec import encode
from evroam.model.common import NotRepresentable
from evroam.model.sessions import Session
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
from .convert import session_converters
from .ports import SessionReceiverPort
from .repository import decode_session
from .service import SessionSender, append_periods

__all__ = ["receiver_binding", "sender_binding"]

log = logging.getLogger(__name__)


def sender_binding(
    service: SessionSender,
    base_url: str,
    *,
    max_limit: int = DEFAULT_MAX_LIMIT,
    cache: WireCache | None = None,
) -> ModuleBinding:
    """``sessions`` SENDER: GET list (paginated, ``date_from`` required), PUT charging preferences."""
    wires = cache if cache is not None else WireCache()

    async def list_sessions(call: OcpiCall) -> OcpiAnswer:
        wire = session_converters(call.spec.number)
        request = parse_page_request(call.query, max_limit=max_limit)
        page = await service.page(call.caller.partner, request)
        if wire.carries_owner("Session"):

            def render(document: bytes) -> bytes:
                return encode(wire.session_from_model(decode_session(document)))

            data = splice_list(wires, wire.version, page.items, render, skip=NotRepresentable)
        else:  # 2.1.1 embeds the Location, read per session
            parts: list[bytes] = []
            for item in page.items:
                session = decode_session(item.payload)
                try:
                    location = None if session.location is not None else await service.location_of(session)
                    parts.append(encode(wire.session_from_model(session, location)))
                except NotRepresentable as exc:
                    log.warning("session %s cannot be shown in OCPI %s: %s", session.id, wire.version, exc)
            data = msgspec.Raw(b"[" + b",".join(parts) + b"]")
        url = base_url + module_path(call.spec, call.module, call.interface)
        return OcpiAnswer(data=data, headers=page_headers(url, request, page.total, max_limit=max_limit))

    async def set_charging_preferences(call: OcpiCall) -> OcpiAnswer:
        preferences = session_converters(call.spec.number).charging_preferences_to_model(call.body)
        answer = await service.set_charging_preferences(
            call.caller.partner, call.path_params["session_id"], preferences
        )
        return OcpiAnswer(data=answer)

    return ModuleBinding(
        module="sessions",
        interface=InterfaceRole.SENDER,
        handlers={"list": list_sessions, "set_charging_preferences": set_charging_preferences},
    )


def receiver_binding(service: SessionReceiverPort) -> ModuleBinding:
    """``sessions`` RECEIVER: GET / PUT / PATCH; a PATCH appends its ``charging_periods``."""

    async def get(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        session = await service.get(call.caller.partner, p["country_code"], p["party_id"], p["session_id"])
        return OcpiAnswer(data=session_converters(call.spec.number).session_from_model(session))

    async def put(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        session = session_converters(call.spec.number).session_to_model(
            call.body, country_code=p["country_code"], party_id=p["party_id"]
        )
        outcome = await service.put(
            call.caller.partner, p["country_code"], p["party_id"], p["session_id"], session
        )
        return write_answer(outcome)

    async def patch(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        wire = session_converters(call.spec.number)
        body = call.body
        require_last_updated(body)
        cc, pid = p["country_code"], p["party_id"]

        def to_model(w: object) -> Session:
            return wire.session_to_model(w, country_code=cc, party_id=pid)

        def apply(current: Session) -> Session:
            # the version's converters read the whole body, periods included; the periods the
            # canonical result then holds are the PATCH's, to be appended to the stored ones
            periods = body.charging_periods
            if periods is not None and not periods:  # an empty list changes nothing
                patched = apply_patch(
                    current,
                    msgspec.structs.replace(body, charging_periods=None),
                    wire.session_from_model,
                    to_model,
                )
            else:
                patched = apply_patch(current, body, wire.session_from_model, to_model)
            if not periods:
                return patched
            kept = msgspec.structs.replace(patched, charging_periods=current.charging_periods)
            return append_periods(kept, patched.charging_periods or ())

        outcome = await service.patch(call.caller.partner, cc, pid, p["session_id"], body.last_updated, apply)
        return write_answer(outcome)

    return ModuleBinding(
        module="sessions",
        interface=InterfaceRole.RECEIVER,
        handlers={"get": get, "put": put, "patch": patch},
    )
