"""The charge point port: the CPO node's boundary to its charging hardware.

Everything the OCPI side of a CPO needs from its chargers goes through :class:`ChargePoint`, and
everything the chargers report comes back as :data:`ChargePointEvent` values. The simulator
(:mod:`evroam.sim`) implements it today; an OCPP bridge will implement it later, without any change
to the commands module or to the code that turns events into OCPI objects
(:mod:`evroam.chargepoint.sink`).

Commands (``start``, ``stop``, ``reserve``, ``cancel_reservation``, ``unlock``) are coroutines that
return the charger's :class:`Answer` once it answered. A charger that never answers is a coroutine
that never returns: the caller bounds the wait (the commands module turns it into a ``TIMEOUT``
result) and cancels it.

Events are delivered, in the order they happened, to every listener given to :meth:`ChargePoint.subscribe`:

* :class:`StatusChanged` — an EVSE's OCPI status changed (AVAILABLE, CHARGING, RESERVED, OUTOFORDER ...);
* :class:`TransactionStarted` — charging started on a connector for a token;
* :class:`MeterValues` — a meter reading of a running transaction (the energy register in kWh,
  cumulative, and the instantaneous power);
* :class:`TransactionStopped` — the transaction ended, with its last register value and why.

Times are the charger's (``DateTime``, UTC). Energy is kWh, power kW, current A, all ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

import msgspec

from evroam.core.types import DateTime
from evroam.model.enums import AuthMethod, Status
from evroam.model.tokens import Token

__all__ = [
    "Answer",
    "CancelRequest",
    "ChargePoint",
    "ChargePointEvent",
    "ChargeState",
    "EventListener",
    "MeterValues",
    "NoChargePoint",
    "ReserveRequest",
    "StartRequest",
    "StatusChanged",
    "StopReason",
    "StopRequest",
    "TransactionInfo",
    "TransactionStarted",
    "TransactionStopped",
    "UnlockRequest",
]


class Answer(StrEnum):
    """What a charger answered to a command."""

    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    OCCUPIED = "OCCUPIED"
    """The EVSE is in use, or reserved for another token."""
    INOPERATIVE = "INOPERATIVE"
    """The EVSE is out of order or faulted."""
    FAILED = "FAILED"
    """The charger tried and failed (e.g. the connector did not unlock)."""
    UNKNOWN = "UNKNOWN"
    """The charger does not know the EVSE, connector, transaction or reservation."""
    NOT_SUPPORTED = "NOT_SUPPORTED"


class ChargeState(StrEnum):
    """What a running transaction is doing at a meter reading."""

    CHARGING = "CHARGING"
    SUSPENDED_EV = "SUSPENDED_EV"
    """Connected but not drawing power (battery full): parking time for a tariff."""


class StopReason(StrEnum):
    REMOTE = "REMOTE"
    """A StopSession command."""
    LOCAL = "LOCAL"
    """Stopped at the charger (driver, operator)."""
    EV_DISCONNECTED = "EV_DISCONNECTED"
    UNLOCK_COMMAND = "UNLOCK_COMMAND"
    FAULT = "FAULT"


# -- commands (OCPI side -> charger) -------------------------------------------------------------------


class StartRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Start charging for ``token`` at a location; ``evse_uid`` ``None`` lets the charger pick an EVSE."""

    location_id: str
    evse_uid: str | None
    connector_id: str | None
    token: Token
    authorization_reference: str | None = None


class StopRequest(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: str


class ReserveRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Reserve an EVSE (any of the location's when ``evse_uid`` is ``None``) for ``token`` until
    ``expiry_date``. ``reservation_id`` is unique per CPO (the commands module maps each eMSP's ids);
    a request with the id of an existing reservation replaces it."""

    reservation_id: str
    location_id: str
    evse_uid: str | None
    token: Token
    expiry_date: DateTime
    authorization_reference: str | None = None


class CancelRequest(msgspec.Struct, frozen=True, kw_only=True):
    reservation_id: str


class UnlockRequest(msgspec.Struct, frozen=True, kw_only=True):
    location_id: str
    evse_uid: str
    connector_id: str


class TransactionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A running transaction as the charger knows it."""

    transaction_id: str
    location_id: str
    evse_uid: str
    connector_id: str
    token: Token
    started: DateTime
    authorization_reference: str | None = None


# -- events (charger -> OCPI side) ---------------------------------------------------------------------


class StatusChanged(msgspec.Struct, frozen=True, kw_only=True):
    location_id: str
    evse_uid: str
    status: Status
    at: DateTime


class TransactionStarted(msgspec.Struct, frozen=True, kw_only=True):
    """Charging began. ``meter_start`` is the connector's energy register (kWh) at that moment."""

    transaction_id: str
    location_id: str
    evse_uid: str
    connector_id: str
    token: Token
    auth_method: AuthMethod
    meter_start: Decimal
    at: DateTime
    authorization_reference: str | None = None


class MeterValues(msgspec.Struct, frozen=True, kw_only=True):
    """A reading of a running transaction: ``energy`` is the register (kWh, cumulative, the same
    scale as ``meter_start``); ``power`` (kW) and ``current`` (A) are instantaneous and hold until the
    next reading, as does ``state``."""

    transaction_id: str
    at: DateTime
    energy: Decimal
    power: Decimal
    state: ChargeState = ChargeState.CHARGING
    current: Decimal | None = None


class TransactionStopped(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: str
    at: DateTime
    meter_stop: Decimal
    reason: StopReason


ChargePointEvent = StatusChanged | TransactionStarted | MeterValues | TransactionStopped
EventListener = Callable[[ChargePointEvent], Awaitable[None]]


class ChargePoint(Protocol):
    """The CPO's chargers, as the OCPI side sees them."""

    def subscribe(self, listener: EventListener) -> None:
        """Deliver every future event to ``listener`` (awaited, in order; one event at a time)."""
        ...

    async def start(self, request: StartRequest) -> Answer: ...

    async def stop(self, request: StopRequest) -> Answer: ...

    async def reserve(self, request: ReserveRequest) -> Answer: ...

    async def cancel_reservation(self, request: CancelRequest) -> Answer: ...

    async def unlock(self, request: UnlockRequest) -> Answer: ...

    def transaction(self, transaction_id: str) -> TransactionInfo | None:
        """The running transaction with this id (case-insensitive), or ``None``."""
        ...


class NoChargePoint:
    """A CPO node without any charger connection: every command is NOT_SUPPORTED, no events."""

    reason = "no charge point connection on this node (run `evroam simulate`, or attach a bridge)"

    def subscribe(self, listener: EventListener) -> None:
        return None

    async def start(self, request: StartRequest) -> Answer:
        return Answer.NOT_SUPPORTED

    async def stop(self, request: StopRequest) -> Answer:
        return Answer.NOT_SUPPORTED

    async def reserve(self, request: ReserveRequest) -> Answer:
        return Answer.NOT_SUPPORTED

    async def cancel_reservation(self, request: CancelRequest) -> Answer:
        return Answer.NOT_SUPPORTED

    async def unlock(self, request: UnlockRequest) -> Answer:
        return Answer.NOT_SUPPORTED

    def transaction(self, transaction_id: str) -> TransactionInfo | None:
        return None
