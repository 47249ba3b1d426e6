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

Prices come from the site's config (24 hourly prices, or a file), or from the location's own OCPI
tariff (``prices_from_tariff``): :func:`tariff_energy_price` asks the tariff engine what a reference kWh
costs in each period, so that its restrictions are evaluated by the engine alone. A capacity forecast
may come from a URL (``capacity_url``), fetched with the node's HTTP client and its outbound policy,
again every ``capacity_refresh_seconds``; a failed fetch keeps the last good forecast.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

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
from evroam.chargepoint.sink import engine_tariffs
from evroam.core.types import DateTime
from evroam.model.enums import PowerType
from evroam.model.locations import Location
from evroam.model.tariffs import Tariff
from evroam.modules.locations import LOCATIONS
from evroam.modules.tariffs import TARIFFS
from evroam.sim.clock import SimTime
from evroam.smart import Plan, Preference, Problem, SessionState, Site, Station, Weights, solve
from evroam.store.port import Store
from evroam.tariffs import Period as TariffPeriod
from evroam.tariffs import Session as TariffSession
from evroam.tariffs import Tariff as EngineTariff
from evroam.tariffs import TariffError
from evroam.tariffs import price as price_session

__all__ = [
    "DemandResponseEvent",
    "HttpGetter",
    "SiteConfig",
    "SiteManager",
    "SmartConfig",
    "connector_tariff_ids",
    "location_tariffs",
    "parse_series",
    "stations_of",
    "tariff_energy_price",
]

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
    prices_from_tariff: bool = False
    """Prices from the location's OCPI tariff (``--prices tariff``): each period's price per kWh excl.
    VAT is what the tariff of the location's connectors charges for energy delivered in that period."""
    capacity_file: str | None = None
    """A JSON capacity forecast: ``[{"start": "...Z", "limit_kw": 8.0}, ...]`` (each holds until the next)."""
    capacity_url: str | None = None
    """The same forecast fetched over HTTP(S), again every ``capacity_refresh_seconds``."""
    capacity_refresh_seconds: float = 300.0
    carbon_file: str | None = None
    """A JSON carbon-intensity forecast for GREEN sessions: ``[{"start": "...Z", "g_per_kwh": 320}, ...]``."""
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


def parse_series(data: bytes | str, key: str) -> list[tuple[datetime, float]]:
    """A forecast's rows ``[{"start": "...Z", key: number}, ...]``, sorted by start (``ValueError``,
    ``KeyError`` or ``TypeError`` when the document is not one)."""
    rows = json.loads(data)
    if not isinstance(rows, list):
        raise ValueError("a forecast is a JSON list of {start, value} rows")
    return sorted((DateTime.parse(row["start"]), float(row[key])) for row in rows)


def _load_series(path: str | None, key: str) -> list[tuple[datetime, float]]:
    if not path:
        return []
    return parse_series(Path(path).read_bytes(), key)


REFERENCE_KWH = Decimal(1)
"""The energy priced in each period to read a tariff's price per kWh (see :func:`tariff_energy_price`)."""


def tariff_energy_price(
    tariffs: Sequence[EngineTariff],
    start: datetime,
    seconds: float,
    time_zone: str,
    power_kw: float,
) -> float | None:
    """The price per kWh, excl. VAT, of energy delivered evenly over ``[start, start + seconds)`` at
    ``power_kw``, as the tariff engine (:mod:`evroam.tariffs`) prices it: a reference session delivering
    :data:`REFERENCE_KWH` in that window, of which only the ENERGY cost is read (flat fees, time and
    parking do not depend on when the energy flows). Time-of-day, day-of-week, date and power
    restrictions are the engine's, in the location's ``time_zone``; a window that a restriction boundary
    crosses gets the average. ``None`` when no tariff applies or it gives no price excl. VAT."""
    if not tariffs:
        return None
    end = start + timedelta(seconds=seconds)
    kw = Decimal(str(round(power_kw, 3)))
    session = TariffSession(
        start=start,
        end=end,
        periods=(TariffPeriod(start=start, energy=REFERENCE_KWH, min_power=kw, max_power=kw),),
    )
    try:
        result = price_session(tariffs, session, time_zone)
    except TariffError:
        return None
    cost = result.total_energy_cost.excl_vat
    return None if cost is None else float(cost / REFERENCE_KWH)


def connector_tariff_ids(location: Location, evse_uids: Sequence[str] | None = None) -> tuple[str, ...]:
    """The ``tariff_ids`` most of the location's connectors name (of ``evse_uids`` when given; on a
    tie, the first one met): the site's one price curve follows them."""
    counts: Counter[tuple[str, ...]] = Counter()
    wanted = None if evse_uids is None else {uid.casefold() for uid in evse_uids}
    for evse in location.evses or ():
        if wanted is not None and str(evse.uid).casefold() not in wanted:
            continue
        for connector in evse.connectors:
            ids = tuple(str(t) for t in connector.tariff_ids or ())
            if ids:
                counts[ids] += 1
    return counts.most_common(1)[0][0] if counts else ()


async def location_tariffs(
    store: Store, country_code: str, party_id: str, location_id: str
) -> list[EngineTariff]:
    """Our own location's tariffs as the engine reads them: those its connectors name (see
    :func:`connector_tariff_ids`), read through the locations and tariffs modules' lookups."""
    record = await LOCATIONS.lookups.load_location_record(store, country_code, party_id, location_id)
    if record is None or record.partner_id is not None:
        return []
    found: list[Tariff] = []
    for tariff_id in connector_tariff_ids(record.location):
        tariff = await TARIFFS.lookups.load_tariff_record(store, country_code, party_id, tariff_id)
        if tariff is not None and tariff.partner_id is None:
            found.append(tariff.tariff)
    return engine_tariffs(found)


class HttpGetter(Protocol):
    """What the manager needs of the node's HTTP client (an ``httpx.AsyncClient``): a GET."""

    async def get(self, url: str) -> Any: ...


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
    http: HttpGetter | None = None
    """The node's HTTP client (its outbound policy applies), for ``capacity_url``."""
    tariff_loader: Callable[[], Awaitable[Sequence[EngineTariff]]] | None = None
    """The tariffs of the location's connectors (``prices_from_tariff``), asked again every period."""
    time_zone: str = "UTC"
    """The location's IANA time zone (tariff restrictions are local)."""
    sessions: dict[str, _Session] = field(default_factory=dict)
    events: list[DemandResponseEvent] = field(default_factory=list)
    plan: Plan | None = None
    solved_at: DateTime | None = None
    solves: int = 0
    _sent: dict[str, float] = field(default_factory=dict)
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _fetcher: asyncio.Task[None] | None = None
    tariffs: tuple[EngineTariff, ...] = ()
    _tariffs_at: datetime | None = None
    _tariff_prices: dict[datetime, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.capacity = _load_series(self.config.capacity_file, "limit_kw")
        self.fetched_capacity: list[tuple[datetime, float]] = []
        """The forecast last fetched from ``capacity_url`` (beside the file's: the lower one holds)."""
        self.price_series = _load_series(self.config.price_file, "price")
        self.carbon_series = _load_series(self.config.carbon_file, "g_per_kwh")
        self._reference_kw = min(
            self.config.limit_kw, max((s.max_kw for s in self.stations), default=self.config.limit_kw)
        )

    # -- signals -------------------------------------------------------------------------------------

    def limit_at(self, at: datetime) -> float:
        limit = self.config.limit_kw
        for series in (self.capacity, self.fetched_capacity):
            forecast = _value_at(series, at)
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
            + [t for series in (self.capacity, self.fetched_capacity) for t, _ in series if start < t < end]
        )
        return min(self.limit_at(t) for t in moments)

    def price_at(self, at: datetime) -> float:
        from_file = _value_at(self.price_series, at)
        if from_file is not None:
            return from_file
        if self.config.prices_from_tariff:
            return self.tariff_price(at)
        if self.config.prices:
            return self.config.prices[at.hour % len(self.config.prices)]
        return 0.0

    def tariff_price(self, start: datetime) -> float:
        """The price per kWh of the period from ``start`` under the location's tariff (0 without one);
        kept per period start until the tariffs change."""
        cached = self._tariff_prices.get(start)
        if cached is None:
            found = tariff_energy_price(
                self.tariffs, start, self.config.period_seconds, self.time_zone, self._reference_kw
            )
            cached = 0.0 if found is None else found
            if len(self._tariff_prices) > 4096:
                self._tariff_prices.clear()
            self._tariff_prices[start] = cached
        return cached

    def set_tariffs(self, tariffs: Sequence[EngineTariff]) -> None:
        """The location's tariffs (``prices_from_tariff``): the prices are read again when they changed."""
        given = tuple(tariffs)
        if given != self.tariffs:
            self.tariffs = given
            self._tariff_prices.clear()

    async def _reload_tariffs(self, now: datetime) -> None:
        if self.tariff_loader is None or not self.config.prices_from_tariff:
            return
        due = (
            self._tariffs_at is None or (now - self._tariffs_at).total_seconds() >= self.config.period_seconds
        )
        if not due:
            return
        try:
            self.set_tariffs(await self.tariff_loader())
        except Exception as exc:  # the store failed: keep the tariffs read before
            log.warning("smart charging: cannot read the tariffs of %s: %s", self.config.location_id, exc)
        self._tariffs_at = now

    def carbon_at(self, at: datetime) -> float | None:
        return _value_at(self.carbon_series, at)

    async def fetch_capacity(self) -> bool:
        """Fetch ``capacity_url`` once: the forecast is replaced by a good answer (``True`` when it
        changed); a failed fetch keeps the last good forecast and logs one line."""
        url = self.config.capacity_url
        if not url or self.http is None:
            return False
        try:
            response = await self.http.get(url)
            status = int(response.status_code)
            if status != 200:
                raise ValueError(f"HTTP {status}")
            series = parse_series(response.content, "limit_kw")
        except Exception as exc:  # any failure (network, policy, status, document): keep the last good one
            log.warning(
                "smart charging: capacity forecast of %s from %s failed (%s: %s); keeping the last good one",
                self.config.location_id,
                url,
                type(exc).__name__,
                exc,
            )
            return False
        if series == self.fetched_capacity:
            return False
        self.fetched_capacity = series
        return True

    async def _fetch_capacity_forever(self) -> None:
        while True:
            if await self.fetch_capacity():
                self.poke()
            await asyncio.sleep(self.config.capacity_refresh_seconds)  # real time: an outside resource

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
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self.run(), name=f"evroam-smart-{self.config.location_id}")
        if self.config.capacity_url and self.http is not None:
            self._fetcher = loop.create_task(
                self._fetch_capacity_forever(), name=f"evroam-smart-capacity-{self.config.location_id}"
            )

    async def close(self) -> None:
        for task in (self._fetcher, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def run(self) -> None:
        """Solve on every wake-up and every ``period_seconds`` of (simulated) time."""
        while True:
            self._wake.clear()  # before the solve: an event arriving during it wakes the next one
            try:
                await self.resolve()
            except Exception:  # a failed solve must not stop the manager: the limits sent stay
                log.exception("smart charging: the solve of %s failed", self.config.location_id)
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
        changes = [t for e in self.events for t in (e.start, e.end)] + [
            t for series in (self.capacity, self.fetched_capacity) for t, _ in series
        ]
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
            carbon=tuple(c if (c := self.carbon_at(t)) is not None else 0.0 for t in at)
            if self.carbon_series
            else None,
            period_hours=dt,
            horizon=horizon,
            weights=Weights(peak=cfg.peak_weight, share_now=1e-3),
        )

    async def resolve(self) -> Plan:
        now = self.time.now()
        await self._reload_tariffs(now)
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
