"""The charging profiles module's HTTP bindings: the Receiver interface (CPO) and the Sender interface
(eMSP / SCSP). One handler per endpoint name of the version tables serves 2.2.1 and 2.3.0.

* Receiver: ``GET {chargingprofiles}/{session_id}?duration=&response_url=``, ``PUT`` with a
  SetChargingProfile, ``DELETE ...?response_url=``; each answers a ChargingProfileResponse.
* Sender: ``POST {chargingprofiles}/{set|active|clear}/{request_id}`` — evroam's per-request
  ``response_url`` — takes the result; ``PUT {chargingprofiles}/{session_id}`` an ActiveChargingProfile.
  Both answer an envelope without ``data``.
"""

from __future__ import annotations

from evroam.core.errors import ValidationFailed, Violation
from evroam.modules.kit import Handler, ModuleBinding, OcpiAnswer, OcpiCall
from evroam.ocpi.table import InterfaceRole

from .convert import MODULE, profile_converters
from .ports import ProfileReceiverPort, ProfileResults
from .receiver import Requester
from .records import RequestType

__all__ = ["receiver_binding", "requester_of", "sender_binding"]


def requester_of(call: OcpiCall) -> Requester:
    """The partner, version and party of a call (``OCPI-from-*`` when sent, else the partner's first
    role that is not a CPO)."""
    partner = call.caller.partner
    routing = call.headers.routing
    if routing is not None and routing.sender is not None:
        party = (str(routing.sender.country_code), str(routing.sender.party_id))
    else:
        roles = sorted(partner.roles, key=lambda r: r.role == "CPO")
        party = (roles[0].country_code, roles[0].party_id) if roles else ("", "")
    return Requester(partner=partner, version=call.spec.number, party=party)


def _query(call: OcpiCall, *, duration: bool) -> tuple[str, int]:
    """``response_url`` (and ``duration``) from the query; every one missing or wrong at once (2001)."""
    problems: list[Violation] = []
    url = call.query.get("response_url", "").strip()
    if not url:
        problems.append(Violation("response_url", "required"))
    elif not url.lower().startswith(("http://", "https://")):
        problems.append(Violation("response_url", "not an http(s) URL"))
    seconds = 0
    if duration:
        raw = call.query.get("duration", "").strip()
        try:
            seconds = int(raw)
        except ValueError:
            problems.append(Violation("duration", "required, a whole number of seconds"))
        else:
            if seconds < 1:
                problems.append(Violation("duration", "at least 1 second"))
    if problems:
        raise ValidationFailed(problems)
    return url, seconds


def receiver_binding(service: ProfileReceiverPort) -> ModuleBinding:
    """``chargingprofiles`` RECEIVER: GET, PUT and DELETE on ``{session_id}``."""

    async def get_active_profile(call: OcpiCall) -> OcpiAnswer:
        url, duration = _query(call, duration=True)
        response = await service.get_active(
            requester_of(call), call.path_params["session_id"], duration=duration, response_url=url
        )
        return OcpiAnswer(data=profile_converters(call.spec.number).response_out(response))

    async def set_profile(call: OcpiCall) -> OcpiAnswer:
        wire = profile_converters(call.spec.number)
        response = await service.set_profile(
            requester_of(call), call.path_params["session_id"], wire.set_in(call.body)
        )
        return OcpiAnswer(data=wire.response_out(response))

    async def clear_profile(call: OcpiCall) -> OcpiAnswer:
        url, _ = _query(call, duration=False)
        response = await service.clear_profile(
            requester_of(call), call.path_params["session_id"], response_url=url
        )
        return OcpiAnswer(data=profile_converters(call.spec.number).response_out(response))

    return ModuleBinding(
        module=MODULE,
        interface=InterfaceRole.RECEIVER,
        handlers={
            "get_active_profile": get_active_profile,
            "set_profile": set_profile,
            "clear_profile": clear_profile,
        },
    )


def sender_binding(service: ProfileResults) -> ModuleBinding:
    """``chargingprofiles`` SENDER: the three result URLs and the ActiveChargingProfile PUT."""

    def result(kind: RequestType) -> Handler:
        async def handle(call: OcpiCall) -> OcpiAnswer:
            wire = profile_converters(call.spec.number)
            await service.receive_result(
                call.caller.partner, kind, call.path_params["request_id"], wire.result_in(kind, call.body)
            )
            return OcpiAnswer()

        return handle

    async def put_active_profile(call: OcpiCall) -> OcpiAnswer:
        wire = profile_converters(call.spec.number)
        await service.receive_active(
            call.caller.partner, call.path_params["session_id"], wire.active_in(call.body)
        )
        return OcpiAnswer()

    handlers: dict[str, Handler] = {kind.result_endpoint: result(kind) for kind in RequestType}
    handlers["put_active_profile"] = put_active_profile
    return ModuleBinding(module=MODULE, interface=InterfaceRole.SENDER, handlers=handlers)
