"""The commands module's HTTP bindings: the Receiver interface (CPO) and the Sender interface (eMSP).

One handler per endpoint name of the version tables serves every OCPI version the node serves: it
converts the version's wire objects (:mod:`.convert`) and calls the services.

* Receiver: ``POST {commands}/{START_SESSION|STOP_SESSION|RESERVE_NOW|CANCEL_RESERVATION|UNLOCK_CONNECTOR}``
  answers a CommandResponse. An unknown location, EVSE or connector is answered HTTP 404 / OCPI 2003
  with a ``REJECTED`` CommandResponse as ``data`` (the spec's sequence diagram).
* Sender: ``POST {commands}/{command_id}`` — the per-command ``response_url`` — takes the result.
"""

from __future__ import annotations

from evroam.core.errors import UnknownLocation
from evroam.model.commands import CommandResponse
from evroam.model.common import DisplayText
from evroam.model.enums import CommandResponseType
from evroam.modules.kit import Handler, ModuleBinding, OcpiAnswer, OcpiCall
from evroam.ocpi.table import InterfaceRole

from .convert import command_converters
from .ports import CommandReceiverPort, CommandResults
from .receiver import Requester
from .records import CommandType

__all__ = ["receiver_binding", "requester_of", "sender_binding"]


def requester_of(call: OcpiCall) -> Requester:
    """The partner, version and eMSP party of a command call (``OCPI-from-*`` when sent)."""
    partner = call.caller.partner
    routing = call.headers.routing
    if routing is not None and routing.sender is not None:
        party = (str(routing.sender.country_code), str(routing.sender.party_id))
    else:
        roles = sorted(partner.roles, key=lambda r: r.role == "CPO")
        party = (roles[0].country_code, roles[0].party_id) if roles else ("", "")
    return Requester(partner=partner, version=call.spec.number, party=party)


def receiver_binding(service: CommandReceiverPort, *, timeout: int) -> ModuleBinding:
    """``commands`` RECEIVER: the five command endpoints (four in 2.1.1)."""

    def handler(kind: CommandType) -> Handler:
        async def handle(call: OcpiCall) -> OcpiAnswer:
            wire = command_converters(call.spec.number)
            requester = requester_of(call)
            cc, pid = requester.party
            command = wire.command_in(kind, call.body, country_code=cc, party_id=pid)
            method = getattr(service, kind.endpoint)
            try:
                response: CommandResponse = await method(requester, command)
            except UnknownLocation as exc:
                refused = CommandResponse(
                    result=CommandResponseType.REJECTED,
                    timeout=timeout,
                    message=(DisplayText(language="en", text=exc.message),),
                )
                return OcpiAnswer(
                    data=wire.response_out(refused),
                    status_code=exc.ocpi_status,
                    status_message=exc.message,
                    http_status=exc.http_status,
                )
            return OcpiAnswer(data=wire.response_out(response))

        return handle

    return ModuleBinding(
        module="commands",
        interface=InterfaceRole.RECEIVER,
        handlers={kind.endpoint: handler(kind) for kind in CommandType},
    )


def sender_binding(service: CommandResults) -> ModuleBinding:
    """``commands`` SENDER: the per-command result URL ``{commands}/{command_id}``."""

    async def command_result(call: OcpiCall) -> OcpiAnswer:
        wire = command_converters(call.spec.number)
        command_id = call.path_params["response_url"]
        await service.receive_result(call.caller.partner, command_id, wire.result_in(call.body))
        return OcpiAnswer()

    return ModuleBinding(
        module="commands", interface=InterfaceRole.SENDER, handlers={"command_result": command_result}
    )
