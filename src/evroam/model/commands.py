"""Canonical command objects (eMSP -> CPO) and their answers.

* ``ReserveNow.reservation_id``: 2.1.1 ``int``, 2.2+ ``CiString(36)``; canonical string (``5`` -> ``"5"``).
* ``CommandResponse`` is the synchronous answer (``timeout`` from 2.2 on); ``CommandResult`` the
  asynchronous one (2.2+). 2.1.1 sends a CommandResponse for both, so its converter maps the callback
  body to/from ``CommandResult``.
* The ``token`` of StartSession/ReserveNow is a canonical :class:`~evroam.model.tokens.Token`; for a
  2.1.1 command (whose Token has no owner) the converter takes the eMSP's country_code/party_id.
"""

from __future__ import annotations

from evroam.core.types import CiString, DateTime
from evroam.model.common import CanonicalModel, DisplayText
from evroam.model.enums import CommandResponseType, CommandResultType
from evroam.model.tokens import Token

__all__ = [
    "CancelReservation",
    "CommandResponse",
    "CommandResult",
    "ReserveNow",
    "StartSession",
    "StopSession",
    "UnlockConnector",
]


class CommandResponse(CanonicalModel, frozen=True):
    result: CommandResponseType
    timeout: int | None = None
    message: tuple[DisplayText, ...] | None = None


class CommandResult(CanonicalModel, frozen=True):
    result: CommandResultType
    message: tuple[DisplayText, ...] | None = None


class CancelReservation(CanonicalModel, frozen=True):
    """2.2+."""

    response_url: str
    reservation_id: CiString


class ReserveNow(CanonicalModel, frozen=True):
    response_url: str
    token: Token
    expiry_date: DateTime
    reservation_id: CiString
    location_id: CiString
    evse_uid: CiString | None = None
    authorization_reference: CiString | None = None


class StartSession(CanonicalModel, frozen=True):
    response_url: str
    token: Token
    location_id: CiString
    evse_uid: CiString | None = None
    connector_id: CiString | None = None
    authorization_reference: CiString | None = None


class StopSession(CanonicalModel, frozen=True):
    response_url: str
    session_id: CiString


class UnlockConnector(CanonicalModel, frozen=True):
    response_url: str
    location_id: CiString
    evse_uid: CiString
    connector_id: CiString
