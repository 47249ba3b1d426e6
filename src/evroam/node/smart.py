"""The site energy manager of a CPO node: one per site (an own location), keeping every session under
the site's grid limit (``evroam smart site ...``; docs/smart-charging.md).

A :class:`SiteManager` listens to the charge point's events (transactions starting, meter readings,
transactions ending) and to its signals (the static limit, a capacity forecast, demand-response
events, prices), re-solves the site's plan with :func:`evroam.smart.solve` on each of them (meter
readings at most once per ``min_interval``) and every ``period`` seconds, and sends each EVSE its rate
through the charge point's :class:`~evroam.chargepoint.port.SmartCharging` port, as an EVSE-level
charging limit (so that a profile an external smart-charging party set on the transaction still caps
it: the charger applies the lower of the two; the manager also reads it as the session's cap). An EVSE
without a session gets 0 W, so that a car plugging in waits for the next solve. Decreases are sent
before increases. The latest plan is kept (:meth:`SiteManager.status`) and written to ``plan_path``
for ``evroam smart status``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from evroam.chargepoint.port import (
    ChargePointEvent,
    ChargingLimit,
    LimitPeriod,
    LimitRequest,
    LimitUnit,
    MeterValues,
    PreferencesRequest,
    SmartCharging,
    TransactionStarted,
    TransactionStopped,
)
from evroam.core.types import DateTime
from evroam.model.enums import PowerType
from evroam.model.locations import Location
from evroam.sim.clock import SimTime
from evroam.smart import Plan, Preference, Problem, SessionState, Site, Station, Weights, solve

__all__ = ["DemandResponseEvent", "SiteConfig", "SiteManager", "SmartConfig", "stations_of"]

log = logging.getLogger(__name__)


class SiteConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One site's settings (``evroam smart site set``)."""

    location_id: str
    limit_kw: float
    phase_limit_kw: float | None = None
    prices: list[float] | None = None
    """A tariff: 24 prices per kWh, one per hour of the day (UTC)."""
    price_file: str | None = None
    """A JSON file of hourly prices: ``[{"start": "2026-01-05T08:00:00Z", "price": 0.21}, ...]``."""
    capacity_file: str | None = None
    """A JSON capacity forecast: ``[{"start": "...Z", "limit_kw": 8.0}, ...]`` (each holds until the next)."""
    vtn_url: str | None = None
    """An OpenADR 2.0b VTN whose events lower the limit (the node runs a VEN)."""
    ven_name: str | None = None
    default_departure_hours: float = 4.0
    default_energy_kwh: float = 30.0
    period_seconds: int = 300
    horizon_hours: float = 12.0
    peak_weight: float = 0.3


class SmartConfig(msgspec.Struct, kw_only=True):
    sites: list[SiteConfig] = msgspec.field(default_factory=list)

    @staticmethod
    def load(path: Path) -> SmartConfig:
        if not path.exists():
            return SmartConfig()
        return msgspec.json.decode(path.read_bytes(), type=SmartConfig)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(msgspec.json.format(msgspec.json.encode(self), indent=2) + b"\n")

    def site(self, location_id: str) -> SiteConfig | None:
        return next((s for s in self.sites if s.location_id.casefold() == location_id.casefold()), None)


@dataclass(frozen=True)
class DemandResponseEvent:
    """The site's limit is at most ``limit_kw`` from ``start`` to ``end`` (an OpenADR event)."""

    start: datetime
    end: datetime
    limit_kw: float
    id: str = ""


@dataclass
class _Session:
    transaction_id: str
    evse_uid: str
    started: DateTime
    meter_start: Decimal
    delivered: float = 0.0


def stations_of(location: Location) -> tuple[Station, ...]:
    """The location's EVSEs as the scheduler sees them: the largest connector's power and phases."""
    stations = []
    for evse in location.evses or ():
        best_kw, phases = 0.0, 1
        for connector in evse.connectors:
            if connector.max_electric_power is not None:
                kw = connector.max_electric_power / 1000.0
            else:
                count = 3 if connector.power_type == PowerType.AC_3_PHASE else 1
                kw = connector.max_voltage * connector.max_amperage * count / 1000.0
            if kw > best_kw:
                best_kw = kw
                phases = 3 if connector.power_type in (PowerType.AC_3_PHASE, PowerType.DC) else 1
        stations.append(Station(id=str(evse.uid), max_kw=best_kw, phases=phases))
    return tuple(stations)


def _load_series(path: str | None, key: str) -> list[tuple[datetime, float]]:
    if not path:
        return []
    rows = json.loads(Path(path).read_text())
    return sorted((DateTime.parse(row["start"]), float(row[key])) for row in rows)


def _value_at(series: Sequence[tuple[datetime, float]], at: datetime) -> float | None:
    value = None
    for start, v in series:
        if start > at:
            break
        value = v
    return value


@dataclass
class SiteManager:
    """The energy manager of one site (see the module's description)."""

    config: SiteConfig
    charge_point: SmartCharging
    time: SimTime
    stations: tuple[Station, ...]
    plan_path: Path | None = None
    min_interval: float = 60.0
    sessions: dict[str, _Session] = field(default_factory=dict)
    events: list[DemandResponseEvent] = field(default_factory=list)
    plan: Plan | None = None
    solved_at: DateTime | None = None
    solves: int = 0
    _sent: dict[str, float] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self.capacity = _load_series(self.config.capacity_file, "limit_kw")
        self.price_series = _load_series(self.config.price_file, "price")

    # -- signals -------------------------------------------------------------------------------------

    def limit_at(self, at: datetime) -> float:
        limit = self.config.limit_kw
        forecast = _value_at(self.capacity, at)
        if forecast is not None:
            limit = min(limit, forecast)
        for event in self.events:
            if event.start <= at < event.end:
                limit = min(limit, event.limit_kw)
        return limit

    def limit_over(self, start: datetime, end: datetime) -> float:
        """The lowest limit in force at any moment of [start, end): a period that an event's window
        opens in keeps the event's limit from its start (the limit holds from its first second even if
        the solve at the window's opening comes late)."""
        moments = (
            [start]
            + [t for e in self.events for t in (e.start, e.end) if start < t < end]
            + [t for t, _ in self.capacity if start < t < end]
        )
        return min(self.limit_at(t) for t in moments)

    def price_at(self, at: datetime) -> float:
        from_file = _value_at(self.price_series, at)
        if from_file is not None:
            return from_file
        if self.config.prices:
            return self.config.prices[at.hour % len(self.config.prices)]
        return 0.0

    def add_event(self, event: DemandResponseEvent) -> None:
        """A demand-response event (replacing one with the same id): re-solve now."""
        self.events = [e for e in self.events if not event.id or e.id != event.id]
        self.events.append(event)
        self.poke()

    # -- events --------------------------------------------------------------------------------------

    async def __call__(self, event: ChargePointEvent) -> None:
        """A charge point event (a listener: only notes it; the solve runs in :meth:`run`)."""
        if isinstance(event, TransactionStarted):
            if event.location_id.casefold() != self.config.location_id.casefold():
                return
            self.sessions[event.transaction_id] = _Session(
                event.transaction_id, event.evse_uid, event.at, event.meter_start
            )
            self.poke()
        elif isinstance(event, MeterValues):
            session = self.sessions.get(event.transaction_id)
            if session is None:
                return
            session.delivered = float(event.energy - session.meter_start)
            if self.solved_at is None or (event.at - self.solved_at).total_seconds() >= self.min_interval:
                self.poke()
        elif isinstance(event, TransactionStopped):
            dropped = self.sessions.pop(event.transaction_id, None)
            if dropped is not None:
                self.poke()

    def poke(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self.run(), name=f"evroam-smart-{self.config.location_id}"
        )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run(self) -> None:
        """Solve on every wake-up and every ``period_seconds`` of (simulated) time."""
        while True:
            try:
                await self.resolve()
            except Exception:  # a failed solve must not stop the manager: the limits sent stay
                log.exception("smart charging: the solve of %s failed", self.config.location_id)
            self._wake.clear()
            sleeper = asyncio.ensure_future(self.time.sleep(self._until_next()))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()

    def _until_next(self) -> float:
        """Seconds to the next solve: a period, or sooner when a signal changes (an event starts or ends,
        the capacity forecast steps), so that a new limit is kept from its first second."""
        now = self.time.now()
        wait = float(self.config.period_seconds)
        changes = [t for e in self.events for t in (e.start, e.end)] + [t for t, _ in self.capacity]
        for t in changes:
            ahead = (t - now).total_seconds()
            if 0 < ahead < wait:
                wait = ahead
        return wait

    # -- the solve -----------------------------------------------------------------------------------

    def problem(self, now: DateTime) -> Problem:
        cfg = self.config
        dt = cfg.period_seconds / 3600.0
        horizon = max(1, round(cfg.horizon_hours / dt))
        at = [now + timedelta(seconds=cfg.period_seconds * k) for k in range(horizon)]
        preferences_of = getattr(self.charge_point, "preferences_of", None)
        limit_of = getattr(self.charge_point, "limit_of", None)
        states = []
        for s in self.sessions.values():
            prefs: PreferencesRequest | None = preferences_of(s.transaction_id) if preferences_of else None
            departure = s.started + timedelta(hours=cfg.default_departure_hours)
            wanted = cfg.default_energy_kwh
            preference = Preference.REGULAR
            if prefs is not None:
                if prefs.departure_time is not None:
                    departure = prefs.departure_time
                if prefs.energy_need is not None:
                    wanted = float(prefs.energy_need)
                with contextlib.suppress(ValueError):
                    preference = Preference(prefs.profile_type)
            periods = max(1, int((departure - now).total_seconds() // cfg.period_seconds))
            cap: tuple[float, ...] | None = None
            external: ChargingLimit | None = limit_of(s.transaction_id) if limit_of else None
            if external is not None and external.unit is LimitUnit.W:
                caps = [external.limit_at(DateTime.from_datetime(t)) for t in at]
                cap = tuple(float(c) / 1000.0 if c is not None else float("inf") for c in caps)
            states.append(
                SessionState(
                    id=s.transaction_id,
                    station_id=s.evse_uid,
                    departure=periods,
                    energy_kwh=max(0.0, wanted - s.delivered),
                    preference=preference,
                    cap_kw=cap,
                )
            )
        return Problem(
            site=Site(
                stations=self.stations,
                limit_kw=tuple(self.limit_over(t, t + timedelta(seconds=cfg.period_seconds)) for t in at),
                phase_limit_kw=cfg.phase_limit_kw,
            ),
            sessions=tuple(states),
            prices=tuple(self.price_at(t) for t in at),
            period_hours=dt,
            horizon=horizon,
            weights=Weights(peak=cfg.peak_weight, share_now=1e-3),
        )

    async def resolve(self) -> Plan:
        now = self.time.now()
        plan = solve(self.problem(now))
        self.plan, self.solved_at = plan, now
        self.solves += 1
        wanted = {station.id: 0.0 for station in self.stations}
        for session in plan.sessions:
            if session.rates_kw:
                wanted[session.station_id] = session.rates_kw[0]
        # decreases first, so that the site never sees the sum of an old and a new rate above the limit
        changes = sorted(
            (kw - self._sent.get(uid, -1.0), uid, kw)
            for uid, kw in wanted.items()
            if abs(kw - self._sent.get(uid, -1.0)) > 1e-3
        )
        for _, uid, kw in changes:
            watts = Decimal(
                math.floor(kw * 100.0 + 1e-9) * 10
            )  # down to 10 W: rounding up could pass the limit
            limit = ChargingLimit(unit=LimitUnit.W, periods=(LimitPeriod(start=now, limit=watts),))
            answer = await self.charge_point.set_limit(
                LimitRequest(limit=limit, location_id=self.config.location_id, evse_uid=uid)
            )
            if str(answer) == "ACCEPTED":
                self._sent[uid] = kw
            else:
                log.warning(
                    "smart charging: %s refused the limit of %s (%s)", uid, self.config.location_id, answer
                )
        if self.plan_path is not None:
            self.plan_path.parent.mkdir(parents=True, exist_ok=True)
            self.plan_path.write_bytes(msgspec.json.encode(self.status()))
        return plan

    def status(self) -> dict[str, Any]:
        """The plan as ``evroam smart status`` shows it."""
        plan = self.plan
        start = self.solved_at
        step = self.config.period_seconds
        times = (
            []
            if plan is None or start is None
            else [
                DateTime.from_datetime(start + timedelta(seconds=step * k)).to_json()
                for k in range(len(plan.load_kw))
            ]
        )
        return {
            "location_id": self.config.location_id,
            "solved_at": None if start is None else start.to_json(),
            "status": None if plan is None else plan.status,
            "solves": self.solves,
            "period_seconds": step,
            "limit_kw": self.config.limit_kw,
            "events": [
                {
                    "id": e.id,
                    "start": DateTime.from_datetime(e.start).to_json(),
                    "end": DateTime.from_datetime(e.end).to_json(),
                    "limit_kw": e.limit_kw,
                }
                for e in self.events
            ],
            "forecast": [
                {"at": t, "load_kw": round(load, 3), "limit_kw": round(limit, 3)}
                for t, load, limit in zip(times, plan.load_kw, plan.limit_kw, strict=False)
            ]
            if plan is not None
            else [],
            "sessions": [
                {
                    "transaction_id": s.session_id,
                    "evse_uid": s.station_id,
                    "requested_kwh": round(s.requested_kwh, 3),
                    "planned_kwh": round(s.energy_kwh, 3),
                    "rates_kw": [round(r, 3) for r in s.rates_kw],
                }
                for s in (plan.sessions if plan is not None else ())
            ],
        }
