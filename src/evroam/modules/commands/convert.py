"""Each OCPI version's view of commands: its wire classes and converters, looked up from the version
table and the version's ``convert`` module. No handler logic lives here.

2.1.1 differs in shape only: its StartSession / ReserveNow tokens carry no owner (the reader takes the
eMSP's ``country_code`` / ``party_id``), it has no CancelReservation, and its asynchronous result is a
CommandResponse (its converter reads and writes it as a canonical CommandResult).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from functools import cache
from typing import Any

from evroam import model as m
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import InterfaceRole, VersionSpec

from .records import CommandType

__all__ = ["CommandConverters", "command_converters"]


@dataclass(frozen=True, slots=True)
class CommandConverters:
    """Commands in one OCPI version."""

    spec: VersionSpec
    _convert: Any

    @property
    def version(self) -> str:
        return self.spec.number

    def supports(self, command: CommandType) -> bool:
        """Whether the version has this command (2.1.1 has no CANCEL_RESERVATION)."""
        module = self.spec.modules["commands"]
        return any(e.name == command.endpoint for e in module.endpoints(InterfaceRole.RECEIVER))

    @property
    def response_model(self) -> Any:
        """The wire class of the synchronous answer (``CommandResponse``)."""
        return self.spec.models["CommandResponse"]

    @property
    def result_model(self) -> Any:
        """The wire class of the asynchronous result (2.2+ ``CommandResult``, 2.1.1 ``CommandResponse``)."""
        module = self.spec.modules["commands"]
        (endpoint,) = module.endpoints(InterfaceRole.SENDER)
        return endpoint.request

    def request_model(self, command: CommandType) -> Any:
        module = self.spec.modules["commands"]
        for endpoint in module.endpoints(InterfaceRole.RECEIVER):
            if endpoint.name == command.endpoint:
                return endpoint.request
        raise KeyError(f"OCPI {self.version} has no {command.value} command")

    # canonical -> wire

    def command_out(self, command: CommandType, body: Any) -> Any:
        """The wire body of a canonical command (``NotRepresentable`` when the version cannot say it)."""
        return getattr(self._convert, f"{command.endpoint}_from_model")(body)

    def response_out(self, response: m.CommandResponse) -> Any:
        return self._convert.command_response_from_model(response)

    def result_out(self, result: m.CommandResult) -> Any:
        return self._convert.command_result_from_model(result)

    # wire -> canonical

    def command_in(self, command: CommandType, wire: Any, *, country_code: str, party_id: str) -> Any:
        """The canonical command; ``country_code`` / ``party_id`` (the eMSP) own a 2.1.1 token."""
        reader = getattr(self._convert, f"{command.endpoint}_to_model")
        if "country_code" in inspect.signature(reader).parameters:
            return reader(wire, country_code=country_code, party_id=party_id)
        return reader(wire)

    def response_in(self, wire: Any) -> m.CommandResponse:
        result: m.CommandResponse = self._convert.command_response_to_model(wire)
        return result

    def result_in(self, wire: Any) -> m.CommandResult:
        result: m.CommandResult = self._convert.command_result_to_model(wire)
        return result


@cache
def command_converters(version: str) -> CommandConverters:
    """The :class:`CommandConverters` of ``version`` (``KeyError`` for a version evroam does not model)."""
    spec = spec_for(version)
    convert = importlib.import_module(f"evroam.ocpi.v{version.replace('.', '_')}.convert")
    return CommandConverters(spec, convert)
