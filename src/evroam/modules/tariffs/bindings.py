"""The tariffs module's HTTP bindings: Sender (CPO) and Receiver (eMSP), one handler per endpoint
name for every OCPI version, converting with the version's converters (:mod:`.convert`)."""

from __future__ import annotations

from evroam.core.errors import MethodNotAllowed
from evroam.model.common import NotRepresentable
from evroam.model.tariffs import Tariff
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
from .convert import tariff_converters
from .ports import TariffReceiverPort, TariffSenderPort

__all__ = ["receiver_binding", "sender_binding"]


def sender_binding(
    service: TariffSenderPort,
    base_url: str,
    *,
    max_limit: int = DEFAULT_MAX_LIMIT,
    cache: WireCache | None = None,
) -> ModuleBinding:
    """``tariffs`` SENDER: GET list (paginated)."""
    wires = cache if cache is not None else WireCache()

    async def list_tariffs(call: OcpiCall) -> OcpiAnswer:
        wire = tariff_converters(call.spec.number)
        request = parse_page_request(call.query, max_limit=max_limit)
        page = await service.page(call.caller.partner, request)
        data = splice_list(wires, wire.version, page.items, wire.encode_document, skip=NotRepresentable)
        url = base_url + module_path(call.spec, call.module, call.interface)
        return OcpiAnswer(data=data, headers=page_headers(url, request, page.total, max_limit=max_limit))

    return ModuleBinding(module="tariffs", interface=InterfaceRole.SENDER, handlers={"list": list_tariffs})


def receiver_binding(service: TariffReceiverPort) -> ModuleBinding:
    """``tariffs`` RECEIVER: GET / PUT / DELETE (and PATCH in OCPI 2.1.1)."""

    async def get(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        tariff = await service.get(call.caller.partner, p["country_code"], p["party_id"], p["tariff_id"])
        return OcpiAnswer(data=tariff_converters(call.spec.number).tariff_from_model(tariff))

    async def put(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        tariff = tariff_converters(call.spec.number).tariff_to_model(
            call.body, country_code=p["country_code"], party_id=p["party_id"]
        )
        outcome = await service.put(
            call.caller.partner, p["country_code"], p["party_id"], p["tariff_id"], tariff
        )
        return write_answer(outcome)

    async def patch(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        wire = tariff_converters(call.spec.number)
        if "TariffPatch" not in wire.models:  # pragma: no cover - the table offers PATCH only in 2.1.1
            raise MethodNotAllowed(f"OCPI {wire.version} has no tariff PATCH")
        body = call.body
        require_last_updated(body)
        cc, pid = p["country_code"], p["party_id"]

        def apply(current: Tariff) -> Tariff:
            return apply_patch(
                current,
                body,
                wire.tariff_from_model,
                lambda w: wire.tariff_to_model(w, country_code=cc, party_id=pid),
            )

        outcome = await service.patch(call.caller.partner, cc, pid, p["tariff_id"], body.last_updated, apply)
        return write_answer(outcome)

    async def delete(call: OcpiCall) -> OcpiAnswer:
        p = call.path_params
        existed = await service.delete(call.caller.partner, p["country_code"], p["party_id"], p["tariff_id"])
        return OcpiAnswer(status_message=None if existed else "no such tariff: nothing to delete")

    return ModuleBinding(
        module="tariffs",
        interface=InterfaceRole.RECEIVER,
        handlers={"get": get, "put": put, "patch": patch, "delete": delete},
    )
