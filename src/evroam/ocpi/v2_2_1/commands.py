"""Commands module (OCPI 2.2.1)."""

from __future__ import annotations

from evroam.core.types import CiString36, DateTime, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.common import DisplayText
from evroam.ocpi.v2_2_1.enums import CommandResponseType, CommandResultType
from evroam.ocpi.v2_2_1.tokens import Token

__all__ = [
    "CancelReservation",
    "CommandResponse",
    "CommandResult",
    "ReserveNow",
    "StartSession",
    "StopSession",
    "UnlockConnector",
]


class CancelReservation(WireModel, kw_only=True):
    response_url: Url
    reservation_id: CiString36


class ReserveNow(WireModel, kw_only=True):
    response_url: Url
    token: Token
    expiry_date: DateTime
    reservation_id: CiString36
    location_id: CiString36
    evse_uid: CiString36 | None = None
    authorization_reference: CiString36 | None = None


class StartSession(WireModel, kw_only=True):
    response_url: Url
    token: Token
    location_id: CiString36
    evse_uid: CiString36 | None = None
    connector_id: CiString36 | None = None
    authorization_reference: CiString36 | None = None

    def __post_init__(self) -> None:
        if self.connector_id is not None and self.evse_uid is None:
            raise ValueError("`evse_uid` is required when `connector_id` is set")


class StopSession(WireModel, kw_only=True):
    response_url: Url
    session_id: CiString36


class UnlockConnector(WireModel, kw_only=True):
    response_url: Url
    location_id: CiString36
    evse_uid: CiString36
    connector_id: CiString36


class CommandResponse(WireModel, kw_only=True):
    """Synchronous answer of the CPO to a command."""

    result: CommandResponseType
    timeout: int  # seconds
    message: list[DisplayText] | None = None


class CommandResult(WireModel, kw_only=True):
    """Asynchronous result, POSTed to the command's ``response_url``."""

    result: CommandResultType
    message: list[DisplayText] | None = None
