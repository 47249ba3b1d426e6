"""Commands module (OCPI 2.3.0): ReserveNow and StartSession carry the 2.3.0 Token; the rest is 2.2.1."""

from __future__ import annotations

from evroam.core.types import CiString36, DateTime, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.commands import (
    CancelReservation,
    CommandResponse,
    CommandResult,
    StopSession,
    UnlockConnector,
)
from evroam.ocpi.v2_3_0.tokens import Token

__all__ = [
    "CancelReservation",
    "CommandResponse",
    "CommandResult",
    "ReserveNow",
    "StartSession",
    "StopSession",
    "UnlockConnector",
]


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
