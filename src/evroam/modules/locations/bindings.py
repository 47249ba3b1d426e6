"""The locations module's HTTP bindings: the Sender interface (CPO) and the Receiver interface (eMSP).

One handler per endpoint name of the version tables serves every OCPI version the node serves: it
converts the version's wire objects with that version's converters (:mod:`.convert`) and calls the
services, which work on canonical objects only.

The Sender list does not re-encode locations per request: each location's wire JSON is kept per
version in the sender's in-memory index (:mod:`.index`) and a page is spliced from those bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import msgspec

from evroam.model.common import NotRepresentable
from evroam.model.locations import EVSE, Connector, Location
from evroam.modules.kit import ModuleBinding, OcpiAnswer, OcpiCall, module_path
from evroam.ocpi.table import InterfaceRole
from evroam.ocpi.transport.pagination import page_headers, parse_page_request

from .._shared import DEFAULT_MAX_LIMIT, apply_patch, require_last_updated, write_answer
from .convert import location_converters
from .index import IndexedLocation
from .ports import LocationReceiverPort, LocationSenderPort

__all__ = ["receiver_binding", "sender_binding"]

log = logging.getLogger(__name__)


def _splice(items: Sequence[IndexedLocation], version: str, render: Callable[[bytes], bytes]) -> msgspec.Raw:
    """A JSON array of the locations' wire JSON; one the version cannot represent is left out (logged)."""
    parts: list[bytes] = []
    for item in items:
        try:
            parts.append(item.wire(version, render))
        except NotRepresentable as exc:
            log.warning("location %s cannot be shown in OCPI %s: %s", "*".join(item.key), version, exc)
    return msgspec.Raw(b"[" + b",".join(parts) + b"]")


def sender_binding(
    service: LocationSenderPort,
    base_url: str,
    *,
    max_limit: int = DEFAULT_MAX_LIMIT,
) -> ModuleBinding:
    """``locations`` SENDER: GET list (paginated), GET one location / EVSE / connector."""

    async def list_locations(call: OcpiCall) -> OcpiAnswer:
        wire = location_converters(call.spec.number)
        request = parse_page_request(call.query, max_limit=max_limit)
        page = await service.page(call.caller.partner, request)
        data = _splice(page.items, wire.version, wire.encode_document)
        url = base_url + module_path(call.spec, call.module, call.interface)
        return OcpiAnswer(data=data, headers=page_headers(url, request, page.total, max_limit=max_limit))

    async def get_location(call: OcpiCall) -> OcpiAnswer:
        wire = location_converters(call.spec.number)
        stored = await service.location(call.caller.partner, call.path_params["location_id"])
        return OcpiAnswer(data=msgspec.Raw(stored.wire(wire.version, wire.encode_document)))

    async def get_evse(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        evse = await service.evse(call.caller.partner, p["location_id"], p["evse_uid"])
        return OcpiAnswer(data=location_converters(call.spec.number).evse_from_model(evse))

    async def get_connector(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        connector = await service.connector(
            call.caller.partner, p["location_id"], p["evse_uid"], p["connector_id"]
        )
        return OcpiAnswer(data=location_converters(call.spec.number).connector_from_model(connector))

    return ModuleBinding(
        module="locations",
        interface=InterfaceRole.SENDER,
        handlers={
            "list": list_locations,
            "get_location": get_location,
            "get_evse": get_evse,
            "get_connector": get_connector,
        },
    )


def receiver_binding(service: LocationReceiverPort) -> ModuleBinding:
    """``locations`` RECEIVER: GET / PUT / PATCH of location, EVSE and connector."""

    async def get_location(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        location = await service.get_location(
            call.caller.partner, p["country_code"], p["party_id"], p["location_id"]
        )
        return OcpiAnswer(data=location_converters(call.spec.number).location_from_model(location))

    async def get_evse(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        evse = await service.get_evse(
            call.caller.partner, p["country_code"], p["party_id"], p["location_id"], p["evse_uid"]
        )
        return OcpiAnswer(data=location_converters(call.spec.number).evse_from_model(evse))

    async def get_connector(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        connector = await service.get_connector(
            call.caller.partner,
            p["country_code"],
            p["party_id"],
            p["location_id"],
            p["evse_uid"],
            p["connector_id"],
        )
        return OcpiAnswer(data=location_converters(call.spec.number).connector_from_model(connector))

    async def put_location(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        wire = location_converters(call.spec.number)
        location = wire.location_to_model(call.body, country_code=p["country_code"], party_id=p["party_id"])
        outcome = await service.put_location(
            call.caller.partner, p["country_code"], p["party_id"], p["location_id"], location
        )
        return write_answer(outcome)

    async def put_evse(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        evse = location_converters(call.spec.number).evse_to_model(call.body)
        outcome = await service.put_evse(
            call.caller.partner, p["country_code"], p["party_id"], p["location_id"], p["evse_uid"], evse
        )
        return write_answer(outcome)

    async def put_connector(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        connector = location_converters(call.spec.number).connector_to_model(call.body)
        outcome = await service.put_connector(
            call.caller.partner,
            p["country_code"],
            p["party_id"],
            p["location_id"],
            p["evse_uid"],
            p["connector_id"],
            connector,
        )
        return write_answer(outcome)

    async def patch_location(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        wire = location_converters(call.spec.number)
        patch = call.body
        require_last_updated(patch)
        cc, pid = p["country_code"], p["party_id"]

        def apply(current: Location) -> Location:
            return apply_patch(
                current,
                patch,
                wire.location_from_model,
                lambda w: wire.location_to_model(w, country_code=cc, party_id=pid),
            )

        outcome = await service.patch_location(
            call.caller.partner, cc, pid, p["location_id"], patch.last_updated, apply
        )
        return write_answer(outcome)

    async def patch_evse(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        wire = location_converters(call.spec.number)
        patch = call.body
        require_last_updated(patch)

        def apply(current: EVSE) -> EVSE:
            return apply_patch(current, patch, wire.evse_from_model, wire.evse_to_model)

        outcome = await service.patch_evse(
            call.caller.partner,
            p["country_code"],
            p["party_id"],
            p["location_id"],
            p["evse_uid"],
            patch.last_updated,
            apply,
        )
        return write_answer(outcome)

    async def patch_connector(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        wire = location_converters(call.spec.number)
        patch = call.body
        require_last_updated(patch)

        def apply(current: Connector) -> Connector:
            return apply_patch(current, patch, wire.connector_from_model, wire.connector_to_model)

        outcome = await service.patch_connector(
            call.caller.partner,
            p["country_code"],
            p["party_id"],
            p["location_id"],
            p["evse_uid"],
            p["connector_id"],
            patch.last_updated,
            apply,
        )
        return write_answer(outcome)

    return ModuleBinding(
        module="locations",
        interface=InterfaceRole.RECEIVER,
        handlers={
            "get_location": get_location,
            "get_evse": get_evse,
            "get_connector": get_connector,
            "put_location": put_location,
            "put_evse": put_evse,
            "put_connector": put_connector,
            "patch_location": patch_location,
            "patch_evse": patch_evse,
            "patch_connector": patch_connector,
        },
    )
