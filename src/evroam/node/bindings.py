"""The credentials module's endpoints, bound to the registration service.

Each handler turns the version's wire object into the service's records and back; the handshake
itself lives in :class:`~evroam.registration.service.RegistrationService`.
"""

from __future__ import annotations

from evroam.modules.kit import ModuleBinding, OcpiAnswer, OcpiCall
from evroam.ocpi.table import InterfaceRole
from evroam.registration.service import RegistrationService
from evroam.registration.wire import credentials_from_wire, credentials_to_wire

__all__ = ["credentials_binding"]


def credentials_binding(service: RegistrationService) -> ModuleBinding:
    """``credentials`` (listed with role SENDER, as the spec advises): GET, POST, PUT, DELETE."""

    async def get(call: OcpiCall) -> OcpiAnswer:
        ours = await service.credentials_for(call.caller, call.spec.number)
        return OcpiAnswer(data=credentials_to_wire(call.spec, ours))

    async def register(call: OcpiCall) -> OcpiAnswer:
        ours = await service.register_incoming(
            call.caller, call.spec.number, credentials_from_wire(call.spec, call.body)
        )
        return OcpiAnswer(data=credentials_to_wire(call.spec, ours))

    async def update(call: OcpiCall) -> OcpiAnswer:
        ours = await service.update_incoming(
            call.caller, call.spec.number, credentials_from_wire(call.spec, call.body)
        )
        return OcpiAnswer(data=credentials_to_wire(call.spec, ours))

    async def unregister(call: OcpiCall) -> OcpiAnswer:
        await service.unregister_incoming(call.caller)
        return OcpiAnswer()

    return ModuleBinding(
        module="credentials",
        interface=InterfaceRole.SENDER,
        handlers={"get": get, "register": register, "update": update, "unregister": unregister},
    )
