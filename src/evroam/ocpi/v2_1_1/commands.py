"""Commands module (OCPI 2.1.1): the four command bodies and CommandResponse.

In 2.1.1 the same CommandResponse object is both the CPO's synchronous answer to a command and the
body of the asynchronous callback POSTed to ``response_url`` (2.2 split the latter into CommandResult).
There is no CancelReservation, and ``reservation_id`` is an int.
"""

from __future__ import annotations

from evroam.core.types import DateTime, String36, String39, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_1_1.enums import CommandResponseType
from evroam.ocpi.v2_1_1.tokens import Token

__all__ = ["CommandResponse", "ReserveNow", "StartSession", "StopSession", "UnlockConnector"]


class CommandResponse(WireModel, kw_only=True):
    result: CommandResponseType


class ReserveNow(WireModel, kw_only=True):
    response_url: Url
    token: Token
    expiry_date: DateTime
    reservation_id: int  # the same id on the same location replaces the reservation
    location_id: String39
    evse_uid: String39 | None = None


class StartSession(WireModel, kw_only=True):
    response_url: Url
    token: Token
    location_id: String39
    evse_uid: String39 | None = None


class StopSession(WireModel, kw_only=True):
    response_url: Url
    session_id: String36


class UnlockConnector(WireModel, kw_only=True):
    response_url: Url
    location_id: String39
    evse_uid: String39
    connector_id: String36
