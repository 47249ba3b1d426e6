"""The charge point simulator: virtual EVSEs and connectors behind the ChargePoint port.

It simulates the chargers of a CPO's own locations (one simulated EVSE per OCPI EVSE, one connector
per OCPI connector) and a driver with a car:

* a remote start is answered at once; the driver plugs in ``plug_delay`` simulated seconds later
  (``auto_plug``) and the transaction starts; a driver who does not come within
  ``connection_timeout`` lets the start lapse;
* while a transaction runs, the car draws the connector's power (capped by the car, tapering above
  80 % state of charge, nothing once full: ``SUSPENDED_EV``) and a ``MeterValues`` event is reported
  every ``meter_interval`` simulated seconds;
* a stop (remote, local, unlock, fault) reports the last reading and ``TransactionStopped``;
  the driver unplugs ``unplug_delay`` seconds later (``auto_unplug``);
* reservations hold an EVSE (status RESERVED) for one token until they expire or are cancelled;
* faults: :meth:`Simulator.fault` / :meth:`Simulator.repair` an EVSE, ``unlock_fails``, and
  ``never_answer`` — command kinds the charger never answers (the CPO then reports TIMEOUT);
* smart charging (:class:`~evroam.chargepoint.SmartCharging`): a power limit set on a transaction or
  an EVSE (W, or A per phase) caps what the car draws; the lowest of the two wins. Each change of the
  limit in force (set, cleared, the next period of a schedule) is reported as a meter reading — a
  new charging period starts there — and a :class:`~evroam.chargepoint.LimitChanged` event.

Every status change is an event :class:`~evroam.chargepoint.StatusChanged`. All state changes and events
happen under one lock, so listeners see them one at a time and in order. Time is a
:class:`~evroam.sim.clock.SimTime` (faster than real time, or moved by hand in tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from evroam.chargepoint.port import (
    ActiveLimit,
    ActiveLimitRequest,
    Answer,
    CancelRequest,
    ChargePointEvent,
    ChargeState,
    ChargingLimit,
    ClearLimitRequest,
    EventListener,
    LimitChanged,
    LimitPeriod,
    LimitRequest,
    LimitUnit,
    MeterValues,
    PreferencesRequest,
    ReserveRequest,
    StartRequest,
    StatusChanged,
    StopReason,
    StopRequest,
    TransactionInfo,
    TransactionStarted,
    TransactionStopped,
    UnlockRequest,
)
from evroam.core.clock import IdGenerator
from evroam.core.types import DateTime
from evroam.model.enums import AuthMethod, PowerType, Status
from evroam.model.locations import Connector, Location
from evroam.model.tokens import Token

from .clock import SimTime

__all__ = ["COMMAND_KINDS", "CarProfile", "SimOptions", "Simulator"]

log = logging.getLogger(__name__)

#: The command kinds ``never_answer`` may name ("all" names every one).
COMMAND_KINDS = ("start", "stop", "reserve", "cancel", "unlock", "profile")
"""``profile``: setting, clearing and reading power limits, and charging preferences."""

_UNAVAILABLE = frozenset(
    {Status.OUTOFORDER, Status.INOPERATIVE, Status.PLANNED, Status.REMOVED, Status.BLOCKED}
)
_KWH = Decimal("0.001")
_KW = Decimal("0.01")
_LIMIT = Decimal("0.1")
_STEP_SECONDS = 60.0


@dataclass(frozen=True)
class CarProfile:
    """The car every simulated driver brings."""

    battery_kwh: float = 60.0
    start_soc: float = 0.2
    max_ac_kw: float = 11.0
    max_dc_kw: float = 100.0
    taper_from: float = 0.8
    """State of charge above which the power falls linearly (to 10 % of the maximum at 100 %)."""


@dataclass(frozen=True)
class SimOptions:
    """How the simulated chargers and drivers behave (seconds are simulated seconds)."""

    meter_interval: float = 300.0
    auto_plug: bool = True
    plug_delay: float = 30.0
    connection_timeout: float = 300.0
    auto_unplug: bool = True
    unplug_delay: float = 60.0
    answer_delay: float = 0.0
    never_answer: frozenset[str] = frozenset()
    """Command kinds (:data:`COMMAND_KINDS`, or ``"all"``) the chargers never answer."""
    offline_evses: frozenset[str] = frozenset()
    """EVSE uids whose charger never answers any command (its connection is down)."""
    unlock_fails: bool = False
    fault_status: Status = Status.OUTOFORDER
    car: CarProfile = field(default_factory=CarProfile)
    smart_charging: bool = True
    """Whether the chargers take power limits (``False``: NOT_SUPPORTED)."""
    limit_horizon: int = 3600
    """Seconds of the active limit reported with each :class:`~evroam.chargepoint.LimitChanged`."""

    def __post_init__(self) -> None:
        unknown = set(self.never_answer) - {*COMMAND_KINDS, "all"}
        if unknown:
            raise ValueError(
                f"unknown command kinds {sorted(unknown)}: use {', '.join(COMMAND_KINDS)} or all"
            )
        if self.meter_interval <= 0:
            raise ValueError("meter_interval must be positive")

    @property
    def offline(self) -> frozenset[str]:
        return frozenset(uid.casefold() for uid in self.offline_evses)

    def silent(self, kind: str) -> bool:
        return kind in self.never_answer or "all" in self.never_answer


@dataclass
class _Connector:
    id: str
    power_type: PowerType
    max_kw: float
    energy: float = 0.0
    """The meter's register in kWh, unrounded (readings report it to the Wh)."""

    @property
    def register(self) -> Decimal:
        return Decimal(repr(self.energy)).quantize(_KWH)


@dataclass
class _Transaction:
    id: str
    evse: _Evse
    connector: _Connector
    token: Token
    authorization_reference: str | None
    auth_method: AuthMethod
    started: DateTime
    meter_start: Decimal
    soc: float
    sampled: DateTime
    power: float = 0.0
    finished: bool = False
    task: asyncio.Task[None] | None = None
    limit: ChargingLimit | None = None
    preferences: PreferencesRequest | None = None
    limit_task: asyncio.Task[None] | None = None


@dataclass
class _Reservation:
    id: str
    evse: _Evse
    token: Token
    expiry: DateTime
    task: asyncio.Task[None] | None = None


@dataclass
class _Pending:
    request: StartRequest
    connector: _Connector
    since: DateTime


@dataclass
class _Evse:
    location_id: str
    uid: str
    connectors: list[_Connector]
    status: Status
    blocked: Status | None = None
    """The unavailable status while faulted / out of service (``None``: working)."""
    plugged: _Connector | None = None
    transaction: _Transaction | None = None
    reservation: _Reservation | None = None
    pending: _Pending | None = None
    limit: ChargingLimit | None = None

    def connector(self, connector_id: str | None) -> _Connector | None:
        if connector_id is None:
            return self.connectors[0] if self.connectors else None
        folded = connector_id.casefold()
        return next((c for c in self.connectors if c.id.casefold() == folded), None)

    @property
    def derived_status(self) -> Status:
        if self.blocked is not None:
            return self.blocked
        if self.transaction is not None or self.plugged is not None:
            return Status.CHARGING
        if self.reservation is not None:
            return Status.RESERVED
        return Status.AVAILABLE

    @property
    def free(self) -> bool:
        return (
            self.blocked is None
            and self.transaction is None
            and self.plugged is None
            and self.pending is None
        )


def _kw(connector: Connector) -> float:
    if connector.max_electric_power:
        return float(connector.max_electric_power) / 1000.0
    phases = 3 if connector.power_type == PowerType.AC_3_PHASE else 1
    return float(connector.max_voltage * connector.max_amperage * phases) / 1000.0


def _reserved_for(evse: _Evse, token: Token) -> bool:
    return evse.reservation is not None and _same_token(evse.reservation.token, token)


def _same_token(a: Token, b: Token) -> bool:
    return (
        str(a.uid).casefold() == str(b.uid).casefold()
        and str(a.country_code).casefold() == str(b.country_code).casefold()
        and str(a.party_id).casefold() == str(b.party_id).casefold()
    )


class Simulator:
    """Virtual chargers for ``locations`` (each EVSE with its connectors): a ``ChargePoint``."""

    def __init__(
        self,
        locations: Iterable[Location],
        *,
        time: SimTime,
        ids: IdGenerator,
        options: SimOptions | None = None,
    ) -> None:
        self.time = time
        self.options = options or SimOptions()
        self._ids = ids
        self._listeners: list[EventListener] = []
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._evses: dict[tuple[str, str], _Evse] = {}
        self._transactions: dict[str, _Transaction] = {}
        self._reservations: dict[str, _Reservation] = {}
        self.add_locations(locations)

    def add_locations(self, locations: Iterable[Location]) -> int:
        """Simulate the EVSEs of more locations (an EVSE already simulated is left as it is).

        An EVSE stored as OUTOFORDER, INOPERATIVE, PLANNED, REMOVED or BLOCKED stays unavailable until
        :meth:`repair`. Returns how many EVSEs were added.
        """
        added = 0
        for location in locations:
            for evse in location.evses or ():
                key = (str(location.id).casefold(), str(evse.uid).casefold())
                if key in self._evses:
                    continue
                connectors = [_Connector(str(c.id), c.power_type, _kw(c)) for c in evse.connectors]
                self._evses[key] = _Evse(
                    location_id=str(location.id),
                    uid=str(evse.uid),
                    connectors=connectors,
                    status=evse.status,
                    blocked=evse.status if evse.status in _UNAVAILABLE else None,
                )
                added += 1
        return added

    # -- the port: events --------------------------------------------------------------------------

    def subscribe(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    async def _emit(self, event: ChargePointEvent) -> None:
        for listener in self._listeners:
            try:
                await listener(event)
            except Exception:  # a listener's failure must not stop the chargers
                log.exception("charge point event listener failed on %s", type(event).__name__)

    async def _refresh(self, evse: _Evse) -> None:
        status = evse.derived_status
        if status != evse.status:
            evse.status = status
            await self._emit(
                StatusChanged(
                    location_id=evse.location_id, evse_uid=evse.uid, status=status, at=self.time.now()
                )
            )

    # -- lifecycle ---------------------------------------------------------------------------------

    async def power_on(self) -> None:
        """Report each EVSE's real state (a stored CHARGING or RESERVED without a transaction is stale)."""
        async with self._lock:
            for evse in self._evses.values():
                await self._refresh(evse)

    async def close(self) -> None:
        """Stop every background activity (transactions are left as they are, like a power cut)."""
        tasks = list(self._tasks)
        for tx in self._transactions.values():
            tasks.extend(task for task in (tx.task, tx.limit_task) if task is not None)
        for reservation in self._reservations.values():
            if reservation.task is not None:
                tasks.append(reservation.task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.time.set_busy(False)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=f"evroam-sim-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._update_busy()
        return task

    def _update_busy(self) -> None:
        busy = bool(self._transactions) or any(
            e.pending is not None or (e.plugged is not None and e.transaction is None)
            for e in self._evses.values()
        )
        self.time.set_busy(busy)

    # -- looking things up -------------------------------------------------------------------------

    def _evse(self, location_id: str | None, evse_uid: str) -> _Evse | None:
        folded = evse_uid.casefold()
        for (loc, uid), evse in self._evses.items():
            if uid == folded and (location_id is None or loc == location_id.casefold()):
                return evse
        return None

    def _at_location(self, location_id: str) -> list[_Evse]:
        folded = location_id.casefold()
        return [evse for (loc, _), evse in self._evses.items() if loc == folded]

    def transaction(self, transaction_id: str) -> TransactionInfo | None:
        tx = self._transactions.get(transaction_id.casefold())
        if tx is None:
            return None
        return TransactionInfo(
            transaction_id=tx.id,
            location_id=tx.evse.location_id,
            evse_uid=tx.evse.uid,
            connector_id=tx.connector.id,
            token=tx.token,
            started=tx.started,
            authorization_reference=tx.authorization_reference,
        )

    def status(self, evse_uid: str, location_id: str | None = None) -> Status:
        """An EVSE's current status (``KeyError`` when unknown)."""
        evse = self._evse(location_id, evse_uid)
        if evse is None:
            raise KeyError(evse_uid)
        return evse.status

    @property
    def transactions(self) -> list[TransactionInfo]:
        """The running transactions."""
        return [info for tid in list(self._transactions) if (info := self.transaction(tid)) is not None]

    @property
    def evse_uids(self) -> list[tuple[str, str]]:
        """``(location_id, evse_uid)`` of every simulated EVSE."""
        return [(e.location_id, e.uid) for e in self._evses.values()]

    # -- answering -----------------------------------------------------------------------------------

    async def _answer_gate(self, kind: str, evse_uid: str | None = None) -> None:
        """Wait ``answer_delay``; never return for a kind the chargers do not answer, or for a command
        to an offline EVSE."""
        offline = evse_uid is not None and evse_uid.casefold() in self.options.offline
        if self.options.silent(kind) or offline:
            log.info("simulated charger ignores a %s command (never answers)", kind)
            await asyncio.Event().wait()
        if self.options.answer_delay > 0:
            await self.time.sleep(self.options.answer_delay)

    # -- the port: commands --------------------------------------------------------------------------

    async def start(self, request: StartRequest) -> Answer:
        """A remote start (StartSession): accepted when a free EVSE waits for the driver to plug in."""
        await self._answer_gate("start", request.evse_uid)
        async with self._lock:
            if request.evse_uid is not None:
                found = self._evse(request.location_id, request.evse_uid)
                candidates = [] if found is None else [found]
            else:
                candidates = self._at_location(request.location_id)
            if not candidates:
                return Answer.UNKNOWN
            if request.evse_uid is None:  # the charger picks: a reservation of this token first
                candidates.sort(key=lambda e: not _reserved_for(e, request.token))
            for evse in candidates:
                connector = evse.connector(request.connector_id)
                if connector is None:
                    if request.evse_uid is not None:
                        return Answer.UNKNOWN
                    continue
                if not evse.free:
                    continue
                if evse.reservation is not None and not _reserved_for(evse, request.token):
                    continue
                pending = _Pending(request=request, connector=connector, since=self.time.now())
                evse.pending = pending
                if self.options.auto_plug:
                    self._spawn(self._plug_later(evse, pending), f"plug-{evse.uid}")
                else:
                    self._spawn(self._lapse(evse, pending), f"lapse-{evse.uid}")
                return Answer.ACCEPTED
            if all(e.blocked is not None for e in candidates):
                return Answer.INOPERATIVE
            return Answer.OCCUPIED

    async def stop(self, request: StopRequest) -> Answer:
        running = self._transactions.get(request.transaction_id.casefold())
        await self._answer_gate("stop", None if running is None else running.evse.uid)
        async with self._lock:
            tx = self._transactions.get(request.transaction_id.casefold())
            if tx is None:
                return Answer.UNKNOWN
            await self._finish(tx, StopReason.REMOTE)
            return Answer.ACCEPTED

    async def reserve(self, request: ReserveRequest) -> Answer:
        await self._answer_gate("reserve", request.evse_uid)
        async with self._lock:
            candidates = (
                [e for e in [self._evse(request.location_id, request.evse_uid)] if e is not None]
                if request.evse_uid is not None
                else self._at_location(request.location_id)
            )
            if not candidates:
                return Answer.UNKNOWN
            existing = self._reservations.get(request.reservation_id.casefold())
            usable = [
                e for e in candidates if e.free and (e.reservation is None or e.reservation is existing)
            ]
            if not usable:
                if all(e.blocked is not None for e in candidates):
                    return Answer.INOPERATIVE
                return Answer.OCCUPIED
            if existing is not None:  # the same id replaces the reservation
                await self._drop_reservation(existing)
            evse = usable[0]
            reservation = _Reservation(
                id=request.reservation_id, evse=evse, token=request.token, expiry=request.expiry_date
            )
            evse.reservation = reservation
            self._reservations[reservation.id.casefold()] = reservation
            delay = (request.expiry_date - self.time.now()).total_seconds()
            reservation.task = asyncio.get_running_loop().create_task(
                self._expire(reservation, delay), name=f"evroam-sim-reservation-{reservation.id}"
            )
            await self._refresh(evse)
            return Answer.ACCEPTED

    async def cancel_reservation(self, request: CancelRequest) -> Answer:
        held = self._reservations.get(request.reservation_id.casefold())
        await self._answer_gate("cancel", None if held is None else held.evse.uid)
        async with self._lock:
            reservation = self._reservations.get(request.reservation_id.casefold())
            if reservation is None:
                return Answer.UNKNOWN
            await self._drop_reservation(reservation)
            return Answer.ACCEPTED

    async def unlock(self, request: UnlockRequest) -> Answer:
        await self._answer_gate("unlock", request.evse_uid)
        async with self._lock:
            evse = self._evse(request.location_id, request.evse_uid)
            connector = None if evse is None else evse.connector(request.connector_id)
            if evse is None or connector is None:
                return Answer.UNKNOWN
            if self.options.unlock_fails:
                return Answer.FAILED
            if evse.transaction is not None and evse.transaction.connector is connector:
                await self._finish(evse.transaction, StopReason.UNLOCK_COMMAND, unplug=True)
            elif evse.plugged is connector:
                evse.plugged = None
                await self._refresh(evse)
            self._update_busy()
            return Answer.ACCEPTED

    # -- the smart charging port --------------------------------------------------------------------

    async def set_limit(self, request: LimitRequest) -> Answer:
        """Limit a running transaction, or an EVSE (and what charges there); replaces the one before."""
        return await self._change_limit(
            request.transaction_id, request.location_id, request.evse_uid, request.limit
        )

    async def clear_limit(self, request: ClearLimitRequest) -> Answer:
        return await self._change_limit(request.transaction_id, request.location_id, request.evse_uid, None)

    async def active_limit(self, request: ActiveLimitRequest) -> ActiveLimit | Answer:
        running = self._transactions.get(request.transaction_id.casefold())
        await self._answer_gate("profile", None if running is None else running.evse.uid)
        async with self._lock:
            if not self.options.smart_charging:
                return Answer.NOT_SUPPORTED
            tx = self._transactions.get(request.transaction_id.casefold())
            if tx is None:
                return Answer.UNKNOWN
            return self._active(tx, self.time.now(), max(1, request.duration))

    async def set_preferences(self, request: PreferencesRequest) -> Answer:
        running = self._transactions.get(request.transaction_id.casefold())
        await self._answer_gate("profile", None if running is None else running.evse.uid)
        async with self._lock:
            tx = self._transactions.get(request.transaction_id.casefold())
            if tx is None:
                return Answer.UNKNOWN
            tx.preferences = request
            return Answer.ACCEPTED

    def limit_of(self, transaction_id: str) -> ChargingLimit | None:
        """The limit set on a running transaction (not its EVSE's), ``None``: none."""
        tx = self._transactions.get(transaction_id.casefold())
        return None if tx is None else tx.limit

    def preferences_of(self, transaction_id: str) -> PreferencesRequest | None:
        """The charging preferences given for a running transaction."""
        tx = self._transactions.get(transaction_id.casefold())
        return None if tx is None else tx.preferences

    async def _change_limit(
        self,
        transaction_id: str | None,
        location_id: str | None,
        evse_uid: str | None,
        limit: ChargingLimit | None,
    ) -> Answer:
        if transaction_id is not None:
            running = self._transactions.get(transaction_id.casefold())
            await self._answer_gate("profile", None if running is None else running.evse.uid)
        else:
            await self._answer_gate("profile", evse_uid)
        async with self._lock:
            if not self.options.smart_charging:
                return Answer.NOT_SUPPORTED
            if transaction_id is not None:
                tx = self._transactions.get(transaction_id.casefold())
                if tx is None:
                    return Answer.UNKNOWN
                targets = [tx]
            else:
                evse = None if evse_uid is None else self._evse(location_id, evse_uid)
                if evse is None:
                    return Answer.UNKNOWN
                targets = [] if evse.transaction is None else [evse.transaction]
            now = self.time.now()
            for tx in targets:
                self._advance(tx, now)  # the energy until now, under the limit before
            if transaction_id is not None:
                targets[0].limit = limit
            else:
                assert evse is not None
                evse.limit = limit
            for tx in targets:
                await self._limit_changed(tx, now)
            return Answer.ACCEPTED

    async def _limit_changed(self, tx: _Transaction, now: DateTime) -> None:
        """(Under the lock, ``tx`` advanced to ``now``.) Report the new power as a reading, the
        active limit as an event, and follow the schedule's next changes."""
        tx.power = self._power(tx, now)
        await self._emit(self._reading(tx, now))
        await self._emit(
            LimitChanged(
                transaction_id=tx.id, at=now, active=self._active(tx, now, self.options.limit_horizon)
            )
        )
        if tx.limit_task is not None and tx.limit_task is not asyncio.current_task():
            tx.limit_task.cancel()
        tx.limit_task = None
        if self._next_limit_change(tx, now) is not None:
            tx.limit_task = asyncio.get_running_loop().create_task(
                self._follow_limit(tx), name=f"evroam-sim-limit-{tx.id}"
            )

    async def _follow_limit(self, tx: _Transaction) -> None:
        while True:
            change = self._next_limit_change(tx, self.time.now())
            if change is None:
                return
            await self.time.sleep((change - self.time.now()).total_seconds())
            async with self._lock:
                if tx.finished:
                    return
                now = self.time.now()
                if now < change:
                    continue
                self._advance(tx, now)
                tx.power = self._power(tx, now)
                await self._emit(self._reading(tx, now))
                await self._emit(
                    LimitChanged(
                        transaction_id=tx.id,
                        at=now,
                        active=self._active(tx, now, self.options.limit_horizon),
                    )
                )

    def _active(self, tx: _Transaction, start: DateTime, duration: int) -> ActiveLimit:
        """The limit applied to ``tx`` from ``start`` for ``duration`` s, in W: the limits set and the
        charger's own maximum (the connector's power), the lowest at each moment."""
        end = DateTime.from_datetime(start + timedelta(seconds=duration))
        starts = [start]
        at = start
        while (change := self._next_limit_change(tx, at)) is not None and change < end:
            starts.append(change)
            at = change
        periods: list[LimitPeriod] = []
        for begin in starts:
            limit = self._limit_kw(tx, begin)
            kw = tx.connector.max_kw if limit is None else min(limit, tx.connector.max_kw)
            watts = (Decimal(repr(kw)) * 1000).quantize(_LIMIT)
            if periods and periods[-1].limit == watts:
                continue
            periods.append(LimitPeriod(start=begin, limit=watts))
        return ActiveLimit(
            transaction_id=tx.id, start=start, duration=duration, unit=LimitUnit.W, periods=tuple(periods)
        )

    # -- drivers and operators ---------------------------------------------------------------------

    async def plug_in(self, evse_uid: str, connector_id: str | None = None) -> TransactionInfo | None:
        """A driver plugs in; a transaction starts when a remote start waits for this EVSE."""
        async with self._lock:
            evse = self._evse(None, evse_uid)
            if evse is None:
                raise KeyError(evse_uid)
            connector = evse.connector(connector_id)
            if connector is None:
                raise KeyError(connector_id)
            tx = await self._plug(evse, connector)
            return None if tx is None else self.transaction(tx.id)

    async def unplug(self, evse_uid: str) -> None:
        """The driver unplugs (stopping a running transaction: EV_DISCONNECTED)."""
        async with self._lock:
            evse = self._evse(None, evse_uid)
            if evse is None:
                raise KeyError(evse_uid)
            if evse.transaction is not None:
                await self._finish(evse.transaction, StopReason.EV_DISCONNECTED, unplug=True)
            evse.plugged = None
            await self._refresh(evse)
            self._update_busy()

    async def stop_local(self, transaction_id: str) -> None:
        """The driver stops at the charger."""
        async with self._lock:
            tx = self._transactions.get(transaction_id.casefold())
            if tx is None:
                raise KeyError(transaction_id)
            await self._finish(tx, StopReason.LOCAL)

    async def fault(self, evse_uid: str, status: Status | None = None) -> None:
        """The EVSE breaks down: a running transaction stops (FAULT), the status becomes OUTOFORDER."""
        async with self._lock:
            evse = self._evse(None, evse_uid)
            if evse is None:
                raise KeyError(evse_uid)
            evse.blocked = status or self.options.fault_status
            evse.pending = None
            if evse.transaction is not None:
                await self._finish(evse.transaction, StopReason.FAULT)
            if evse.reservation is not None:
                await self._drop_reservation(evse.reservation)
            await self._refresh(evse)
            self._update_busy()

    async def repair(self, evse_uid: str) -> None:
        async with self._lock:
            evse = self._evse(None, evse_uid)
            if evse is None:
                raise KeyError(evse_uid)
            evse.blocked = None
            await self._refresh(evse)

    def configure(self, **changes: Any) -> None:
        """Change options while running (e.g. ``never_answer=frozenset({"start"})``)."""
        self.options = dataclasses.replace(self.options, **changes)

    # -- internals ---------------------------------------------------------------------------------

    def _car_kw(self, connector: _Connector) -> float:
        car = self.options.car
        limit = car.max_dc_kw if connector.power_type == PowerType.DC else car.max_ac_kw
        return min(connector.max_kw, limit)

    def _power(self, tx: _Transaction, at: DateTime) -> float:
        car = self.options.car
        if tx.soc >= 1.0:
            return 0.0
        peak = self._car_kw(tx.connector)
        if tx.soc > car.taper_from:
            share = (1.0 - tx.soc) / (1.0 - car.taper_from)
            peak = peak * max(0.1, share)
        limit = self._limit_kw(tx, at)
        return peak if limit is None else max(0.0, min(peak, limit))

    @staticmethod
    def _phases(connector: _Connector) -> int:
        return 3 if connector.power_type == PowerType.AC_3_PHASE else 1

    @staticmethod
    def _volts(connector: _Connector) -> float:
        return 400.0 if connector.power_type == PowerType.DC else 230.0

    def _kw_of(self, unit: LimitUnit, value: Decimal, connector: _Connector) -> float:
        """A limit in kW: W as they are, A per phase times the phases and the voltage."""
        if unit is LimitUnit.W:
            return float(value) / 1000.0
        return float(value) * self._phases(connector) * self._volts(connector) / 1000.0

    def _limits(self, tx: _Transaction) -> list[ChargingLimit]:
        return [limit for limit in (tx.limit, tx.evse.limit) if limit is not None]

    def _limit_kw(self, tx: _Transaction, at: DateTime) -> float | None:
        """The lowest limit in force on the transaction and its EVSE at ``at`` (kW), ``None``: none."""
        found = [
            self._kw_of(limit.unit, value, tx.connector)
            for limit in self._limits(tx)
            if (value := limit.limit_at(at)) is not None
        ]
        return min(found) if found else None

    def _next_limit_change(self, tx: _Transaction, after: DateTime) -> DateTime | None:
        changes = [c for limit in self._limits(tx) if (c := limit.next_change(after)) is not None]
        return min(changes) if changes else None

    def _advance(self, tx: _Transaction, until: DateTime) -> None:
        """Integrate the energy drawn from ``tx.sampled`` to ``until`` (steps of a simulated minute,
        cut where the limit in force changes)."""
        battery = self.options.car.battery_kwh
        at = tx.sampled
        energy = 0.0
        while (seconds := (until - at).total_seconds()) > 1e-9:
            step = min(_STEP_SECONDS, seconds)
            change = self._next_limit_change(tx, at)
            if change is not None and change < until:
                step = min(step, max((change - at).total_seconds(), 1e-3))
            power = self._power(tx, at)
            drawn = min(power * step / 3600.0, (1.0 - tx.soc) * battery)
            energy += drawn
            tx.soc = min(1.0, tx.soc + drawn / battery)
            at = DateTime.from_datetime(at + timedelta(seconds=step))
        tx.connector.energy += energy
        tx.sampled = until
        tx.power = self._power(tx, until)

    def _reading(self, tx: _Transaction, at: DateTime) -> MeterValues:
        current = tx.power * 1000.0 / (self._volts(tx.connector) * self._phases(tx.connector))
        return MeterValues(
            transaction_id=tx.id,
            at=at,
            energy=tx.connector.register,
            power=Decimal(repr(tx.power)).quantize(_KW),
            current=Decimal(repr(current)).quantize(_KW),
            state=ChargeState.CHARGING if tx.power > 0 else ChargeState.SUSPENDED_EV,
        )

    async def _plug(self, evse: _Evse, connector: _Connector) -> _Transaction | None:
        evse.plugged = connector
        pending = evse.pending
        tx = None
        if pending is not None and evse.blocked is None and evse.transaction is None:
            evse.pending = None
            tx = await self._begin(evse, connector, pending.request)
        await self._refresh(evse)
        self._update_busy()
        return tx

    async def _begin(self, evse: _Evse, connector: _Connector, request: StartRequest) -> _Transaction:
        now = self.time.now()
        if evse.reservation is not None and _same_token(evse.reservation.token, request.token):
            await self._drop_reservation(evse.reservation, refresh=False)
        tx = _Transaction(
            id=self._ids.new_id(),
            evse=evse,
            connector=connector,
            token=request.token,
            authorization_reference=request.authorization_reference,
            auth_method=AuthMethod.COMMAND,
            started=now,
            meter_start=connector.register,
            soc=self.options.car.start_soc,
            sampled=now,
        )
        tx.power = self._power(tx, now)
        evse.transaction = tx
        self._transactions[tx.id.casefold()] = tx
        await self._refresh(evse)
        await self._emit(
            TransactionStarted(
                transaction_id=tx.id,
                location_id=evse.location_id,
                evse_uid=evse.uid,
                connector_id=connector.id,
                token=request.token,
                auth_method=tx.auth_method,
                meter_start=tx.meter_start,
                at=now,
                authorization_reference=request.authorization_reference,
            )
        )
        await self._emit(self._reading(tx, now))
        tx.task = asyncio.get_running_loop().create_task(self._meter(tx), name=f"evroam-sim-meter-{tx.id}")
        if self._next_limit_change(tx, now) is not None:  # an EVSE limit with a schedule
            tx.limit_task = asyncio.get_running_loop().create_task(
                self._follow_limit(tx), name=f"evroam-sim-limit-{tx.id}"
            )
        self._update_busy()
        return tx

    async def _meter(self, tx: _Transaction) -> None:
        interval = self.options.meter_interval
        while True:
            await self.time.sleep(interval)
            async with self._lock:
                if tx.finished:
                    return
                now = self.time.now()
                self._advance(tx, now)
                await self._emit(self._reading(tx, now))

    async def _finish(self, tx: _Transaction, reason: StopReason, *, unplug: bool = False) -> None:
        """End ``tx`` now (under the lock): last reading, TransactionStopped, the driver leaves later."""
        now = self.time.now()
        self._advance(tx, now)
        tx.finished = True
        for task in (tx.task, tx.limit_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        self._transactions.pop(tx.id.casefold(), None)
        evse = tx.evse
        evse.transaction = None
        await self._emit(self._reading(tx, now))
        await self._emit(
            TransactionStopped(transaction_id=tx.id, at=now, meter_stop=tx.connector.register, reason=reason)
        )
        if unplug or reason is StopReason.EV_DISCONNECTED:
            evse.plugged = None
        elif self.options.auto_unplug and evse.plugged is not None:
            self._spawn(self._unplug_later(evse, evse.plugged), f"unplug-{evse.uid}")
        await self._refresh(evse)
        self._update_busy()

    async def _unplug_later(self, evse: _Evse, connector: _Connector) -> None:
        await self.time.sleep(self.options.unplug_delay)
        async with self._lock:
            if evse.plugged is connector and evse.transaction is None:
                evse.plugged = None
                await self._refresh(evse)
            self._update_busy()

    async def _plug_later(self, evse: _Evse, pending: _Pending) -> None:
        await self.time.sleep(self.options.plug_delay)
        async with self._lock:
            if evse.pending is pending:
                await self._plug(evse, pending.connector)

    async def _lapse(self, evse: _Evse, pending: _Pending) -> None:
        await self.time.sleep(self.options.connection_timeout)
        async with self._lock:
            if evse.pending is pending:
                log.info("remote start on EVSE %s lapsed: nobody plugged in", evse.uid)
                evse.pending = None
                self._update_busy()

    async def _expire(self, reservation: _Reservation, delay: float) -> None:
        await self.time.sleep(delay)
        async with self._lock:
            if self._reservations.get(reservation.id.casefold()) is reservation:
                log.info("reservation %s on EVSE %s expired", reservation.id, reservation.evse.uid)
                reservation.task = None
                await self._drop_reservation(reservation)

    async def _drop_reservation(self, reservation: _Reservation, *, refresh: bool = True) -> None:
        self._reservations.pop(reservation.id.casefold(), None)
        if reservation.task is not None and reservation.task is not asyncio.current_task():
            reservation.task.cancel()
        if reservation.evse.reservation is reservation:
            reservation.evse.reservation = None
        if refresh:
            await self._refresh(reservation.evse)
