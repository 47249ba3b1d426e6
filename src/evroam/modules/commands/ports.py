"""The commands module's ports: one typed protocol per role.

* :class:`CommandReceiverPort` — the CPO side that accepts commands (OCPI's Receiver interface);
* :class:`CommandSenderPort` — the eMSP side that sends them and receives their results on its own
  per-command URL (OCPI's Sender interface, which exists only to receive those results).

Both work on canonical objects (:mod:`evroam.model.commands`); the HTTP bindings convert from and to
each OCPI version's wire models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from evroam.model.commands import (
    CancelReservation,
    CommandResponse,
    CommandResult,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from evroam.registration.model import Partner

from .receiver import Requester
from .records import CommandRecord

__all__ = ["CommandReceiverPort", "CommandResults", "CommandSenderPort"]


class CommandReceiverPort(Protocol):
    """CPO: answer each command at once; its result follows on the command's ``response_url``."""

    async def start_session(self, requester: Requester, command: StartSession) -> CommandResponse: ...

    async def stop_session(self, requester: Requester, command: StopSession) -> CommandResponse: ...

    async def reserve_now(self, requester: Requester, command: ReserveNow) -> CommandResponse: ...

    async def cancel_reservation(
        self, requester: Requester, command: CancelReservation
    ) -> CommandResponse: ...

    async def unlock_connector(self, requester: Requester, command: UnlockConnector) -> CommandResponse: ...


class CommandResults(Protocol):
    """eMSP: where the results POSTed to our per-command URLs go."""

    async def receive_result(
        self, partner: Partner, command_id: str, result: CommandResult
    ) -> CommandRecord: ...


class CommandSenderPort(CommandResults, Protocol):
    """eMSP: send commands to a CPO partner (by name), follow them until they are settled."""

    async def start_session(
        self,
        partner: str,
        *,
        location_id: str,
        token_uid: str,
        evse_uid: str | None = None,
        connector_id: str | None = None,
        token_type: str | None = None,
    ) -> CommandRecord: ...

    async def stop_session(self, partner: str, *, session_id: str) -> CommandRecord: ...

    async def reserve_now(
        self,
        partner: str,
        *,
        location_id: str,
        token_uid: str,
        expiry_date: datetime,
        evse_uid: str | None = None,
        reservation_id: str | None = None,
        token_type: str | None = None,
    ) -> CommandRecord: ...

    async def cancel_reservation(self, partner: str, *, reservation_id: str) -> CommandRecord: ...

    async def unlock_connector(
        self, partner: str, *, location_id: str, evse_uid: str, connector_id: str
    ) -> CommandRecord: ...

    async def get(self, command_id: str) -> CommandRecord: ...

    async def list(self, *, limit: int | None = 50) -> list[CommandRecord]: ...

    async def wait(self, command_id: str, *, poll: float = 0.1) -> CommandRecord: ...
