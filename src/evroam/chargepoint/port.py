"""The charge point port: the CPO node's boundary to its charging hardware.

Everything the OCPI side of a CPO needs from its chargers goes through :class:`ChargePoint`, and
everything the chargers report comes back as :data:`ChargePointEvent` values. The simulator
(:mod:`evroam.sim`) and the OCPP central system (:mod:`evroam.chargepoint.ocpp`) implement it,
without any change to the commands module or to the code that turns events into OCPI objects
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
* :class:`TransactionStopped` — the transaction ended, with its last register value and why;
* :class:`LimitChanged` — the charger's active power limit of a transaction changed (smart charging).

Smart charging is a second, optional port, :class:`SmartCharging`: a charger connection that implements
it takes power limits (:class:`ChargingLimit`, in W or in A per phase) for a transaction or an EVSE,
reports the limit it applies (:class:`ActiveLimit`) and takes the driver's charging preferences. A
connection without it answers every charging profile NOT_SUPPORTED.

Times are the charger's (``DateTime``, UTC). Energy is kWh, power kW, current A, all ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

import msgspec

from evroam.core.types import DateTime
from evroam.model.enums import AuthMethod, Status
from evroam.model.tokens import Token

__all__ = [
    "ActiveLimit",
    "ActiveLimitRequest",
    "Answer",
    "CancelRequest",
    "ChargePoint",
    "ChargePointEvent",
    "ChargeState",
    "ChargingLimit",
    "ClearLimitRequest",
    "EventListener",
    "LimitChanged",
    "LimitPeriod",
    "LimitRequest",
    "LimitUnit",
    "MeterValues",
    "NoChargePoint",
    "PreferencesRequest",
    "ReserveRequest",
    "SmartCharging",
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


# -- smart charging -------------------------------------------------------------------------------------


class LimitUnit(StrEnum):
    """``W``: the total power; ``A``: the current per phase (OCPI's ChargingRateUnit)."""

    W = "W"
    A = "A"


class LimitPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """From ``start`` until the next period's start: at most ``limit`` (``None``: no limit)."""

    start: DateTime
    limit: Decimal | None


class ChargingLimit(msgspec.Struct, frozen=True, kw_only=True):
    """A power limit over time: periods in start order; before the first one and during a period
    whose limit is ``None`` the charger is not limited; the last period holds on."""

    unit: LimitUnit
    periods: tuple[LimitPeriod, ...]
    min_rate: Decimal | None = None

    def limit_at(self, at: DateTime) -> Decimal | None:
        """The limit in force at ``at`` (``None``: none)."""
        current: Decimal | None = None
        for period in self.periods:
            if period.start > at:
                break
            current = period.limit
        return current

    def next_change(self, after: DateTime) -> DateTime | None:
        """The first period start after ``after`` (``None``: the limit stays as it is)."""
        return next((p.start for p in self.periods if p.start > after), None)


class LimitRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Apply ``limit`` to a running transaction, or to an EVSE (``transaction_id`` ``None``) and
    whatever charges there. It replaces the limit set before on the same target."""

    limit: ChargingLimit
    transaction_id: str | None = None
    location_id: str | None = None
    evse_uid: str | None = None


class ClearLimitRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Remove the limit of a transaction, or of an EVSE (``transaction_id`` ``None``)."""

    transaction_id: str | None = None
    location_id: str | None = None
    evse_uid: str | None = None


class ActiveLimitRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The limit the charger will apply to a transaction during the next ``duration`` seconds."""

    transaction_id: str
    duration: int


class ActiveLimit(msgspec.Struct, frozen=True, kw_only=True):
    """What the charger applies to a transaction from ``start`` for ``duration`` seconds: every
    limit it knows (the ones set, its own maximum) combined. Every period has a limit."""

    transaction_id: str
    start: DateTime
    duration: int
    unit: LimitUnit
    periods: tuple[LimitPeriod, ...]

    @property
    def end(self) -> DateTime:
        return DateTime.from_datetime(self.start + timedelta(seconds=self.duration))


class PreferencesRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The driver's wishes for a running transaction (OCPI ChargingPreferences)."""

    transaction_id: str
    profile_type: str
    departure_time: DateTime | None = None
    energy_need: Decimal | None = None
    """kWh."""
    discharge_allowed: bool = False


class LimitChanged(msgspec.Struct, frozen=True, kw_only=True):
    """The limit the charger applies to a running transaction changed (set, cleared, or the next
    period of a schedule began); ``active`` is the new one, for a useful horizon."""

    transaction_id: str
    at: DateTime
    active: ActiveLimit


@runtime_checkable
class SmartCharging(Protocol):
    """A charger connection that takes power limits (the second, optional charge point port).

    ``set_limit`` / ``clear_limit`` / ``set_preferences`` answer like commands (a charger that never
    answers never returns); ``active_limit`` answers the :class:`ActiveLimit` or why not
    (``UNKNOWN`` transaction, ``REJECTED`` ...).
    """

    async def set_limit(self, request: LimitRequest) -> Answer: ...

    async def clear_limit(self, request: ClearLimitRequest) -> Answer: ...

    async def active_limit(self, request: ActiveLimitRequest) -> ActiveLimit | Answer: ...

    async def set_preferences(self, request: PreferencesRequest) -> Answer: ...


ChargePointEvent = StatusChanged | TransactionStarted | MeterValues | TransactionStopped | LimitChanged
EventListener = Callable[[ChargePointEvent], Awaitable[None]]


class ChargePoint(Protocol):
    """The CPO's chargers, as the OCPI side sees them."""

    def subscribe(self, listener: EventListener) -> None:
        """Deliver every future event to ``listener`` (awaited, in order; one event at a time; the OCPP
        central system keeps that per transaction and per location's statuses, and delivers events of
        different transactions and locations at once)."""
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
