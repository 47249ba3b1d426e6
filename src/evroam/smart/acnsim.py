"""evroam's scheduler as an acnportal algorithm (benchmarks only: acnportal is in the ``bench`` extra).

``EvroamScheduler()`` plugs into ``acnportal.acnsim.Simulator`` like acnportal's own algorithms. Every
period it reads from the simulator's interface the active sessions (remaining energy, departure, the
car's maximum rate), the stations (maximum pilot, voltage, whether rates are continuous or which ones
are allowed), the network's aggregate current constraint, the prices of the tariff signal over the
horizon and the peak reached so far, and answers one period of pilot signals (amperes).

A network that knows its limit ahead (a demand-response event announced for the afternoon) can say so
with a ``capacity_forecast(start, length)`` method returning the aggregate constraint's magnitude (A)
for each of ``length`` periods from iteration ``start``; without it the present magnitude holds on.

``forecast`` optionally lists expected sessions ``(arrival, departure, energy_kwh, max_kw)`` in
simulator periods, e.g. the average of past days per hour of arrival: they reserve room in the plan
(their shortfall weighs ``expected_weight`` of a real session's), so that the peak the plan accepts now
allows for the cars still to come. ``station_forecast`` (:class:`StationForecast`, what past days say
per station) expects each station's next session after its car leaves, while the station has had
fewer sessions than usual today; the benchmark learns it from past days (bench/smart.py).

acnportal ships no types: mypy --strict checks this module with acnportal's names as ``Any``
(``ignore_missing_imports`` in pyproject.toml).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from acnportal.algorithms import BaseAlgorithm

from evroam.smart.model import Problem, SessionState, Site, Station, Weights
from evroam.smart.solver import solve

__all__ = ["EvroamScheduler", "StationForecast"]


@dataclass(frozen=True, slots=True)
class StationForecast:
    """What past days say about one station's sessions: how many a day, the gap between a departure
    and the next arrival, the stay and the energy asked (periods, kWh), and the latest arrival seen
    (period of the day)."""

    per_day: float
    gap: int
    stay: int
    energy_kwh: float
    last_arrival: int


class EvroamScheduler(BaseAlgorithm):  # type: ignore[misc]
    """Model-predictive control: the LP of :func:`evroam.smart.solve` over ``horizon_hours``, re-solved
    every period; only the first period of the plan is applied."""

    def __init__(
        self,
        horizon_hours: float = 12.0,
        weights: Weights | None = None,
        fine_periods: int = 24,
        coarse_factor: int = 3,
        forecast: Sequence[tuple[int, int, float, float]] | None = None,
        station_forecast: StationForecast | None = None,
        expected_weight: float = 0.5,
    ) -> None:
        super().__init__()
        self.max_recompute = 1
        self.horizon_hours = horizon_hours
        self.weights = weights or Weights()
        self.fine_periods = fine_periods
        self.coarse_factor = coarse_factor
        self.forecast = list(forecast) if forecast else None
        self.expected_weight = expected_weight
        self.station_forecast = station_forecast
        self._seen: dict[str, set[str]] = {}
        self.solve_seconds: list[float] = []

    def _stations(self, iface: Any, station_ids: list[str]) -> tuple[dict[str, float], tuple[Station, ...]]:
        volts: dict[str, float] = {}
        stations = []
        for sid in station_ids:
            volt = float(iface.evse_voltage(sid))
            kw = volt / 1000.0
            volts[sid] = volt
            continuous, allowed = iface.allowable_pilot_signals(sid)
            max_a = float(iface.max_pilot_signal(sid))
            if continuous:
                rates = None
                min_kw = float(allowed[0]) * kw if allowed else 0.0
            else:
                rates = tuple(sorted({0.0, *(float(a) * kw for a in allowed)}))
                min_kw = 0.0
            stations.append(Station(id=sid, max_kw=max_a * kw, min_kw=min_kw, rates_kw=rates))
        return volts, tuple(stations)

    def _expected(
        self, now: int, horizon: int, volt: float
    ) -> tuple[tuple[Station, ...], tuple[SessionState, ...]]:
        """The forecast's sessions still to arrive within the horizon, each on a station of its own
        (a forecast aggregates several cars: it reserves room in the plan, nothing is sent for it)."""
        stations: list[Station] = []
        sessions: list[SessionState] = []
        for index, (arrival, departure, energy, max_kw) in enumerate(self.forecast or ()):
            if arrival <= now or arrival - now >= horizon or energy <= 0:
                continue
            sid = f"expected:{index}"
            stations.append(Station(id=sid, max_kw=max_kw))
            sessions.append(
                SessionState(
                    id=sid,
                    station_id=sid,
                    arrival=arrival - now,
                    departure=departure - now,
                    energy_kwh=energy,
                    max_kw=max_kw,
                    weight=self.expected_weight,
                )
            )
        return tuple(stations), tuple(sessions)

    def _expected_per_station(
        self, now: int, horizon: int, sessions: tuple[SessionState, ...], stations: tuple[Station, ...]
    ) -> tuple[SessionState, ...]:
        """Each station's next session, after its car leaves, while the station has had fewer than its
        sessions of a day and before the day's latest arrival."""
        fc = self.station_forecast
        if fc is None:
            return ()
        out = []
        for station in stations:
            leaves = max((s.departure for s in sessions if s.station_id == station.id), default=0)
            arrival = leaves + fc.gap
            if len(self._seen.get(station.id, ())) >= fc.per_day or arrival >= horizon:
                continue
            if now + arrival > fc.last_arrival:
                continue
            out.append(
                SessionState(
                    id=f"expected:{station.id}",
                    station_id=station.id,
                    arrival=arrival,
                    departure=arrival + fc.stay,
                    energy_kwh=fc.energy_kwh,
                    max_kw=station.max_kw,
                    weight=self.expected_weight,
                )
            )
        return tuple(out)

    def schedule(self, active_sessions: list[Any]) -> dict[str, list[float]]:
        started = time.perf_counter()
        iface = self.interface
        constraints = iface.get_constraints()
        station_ids = [str(s) for s in constraints.evse_index]
        if not active_sessions:
            return {sid: [0.0] for sid in station_ids}
        volts, stations = self._stations(iface, station_ids)
        volt = float(np.mean(list(volts.values())))
        period_h = float(iface.period) / 60.0
        now = int(iface.current_time)
        latest = max(int(s.estimated_departure) for s in active_sessions) - now
        full = round(self.horizon_hours / period_h)
        horizon = max(1, full if self.forecast or self.station_forecast else min(latest, full))
        # the aggregate constraint: the row with the most stations in it
        matrix = np.abs(np.asarray(constraints.constraint_matrix, dtype=float))
        row = int(np.argmax((matrix > 0).sum(axis=1)))
        magnitude = float(constraints.magnitudes[row])
        network = getattr(getattr(iface, "_simulator", None), "network", None)
        forecast = getattr(network, "capacity_forecast", None)
        amps = list(forecast(now, horizon)) if callable(forecast) else [magnitude]
        amps[0] = min(amps[0], magnitude)
        limit_kw = tuple(float(a) * volt / 1000.0 for a in amps)
        prices = tuple(float(p) for p in iface.get_prices(horizon))
        sessions = tuple(
            SessionState(
                id=str(s.session_id),
                station_id=str(s.station_id),
                departure=int(s.estimated_departure) - now,
                energy_kwh=max(0.0, float(s.remaining_demand)),
                max_kw=float(np.max(s.max_rates[:1])) * volts[s.station_id] / 1000.0
                if len(s.max_rates)
                else float("inf"),
            )
            for s in active_sessions
        )
        for s in active_sessions:
            self._seen.setdefault(str(s.station_id), set()).add(str(s.session_id))
        extra_stations, expected = self._expected(now, horizon, volt)
        expected = expected + self._expected_per_station(now, horizon, sessions, stations)
        problem = Problem(
            site=Site(stations=stations + extra_stations, limit_kw=limit_kw),
            sessions=sessions + expected,
            prices=prices,
            period_hours=period_h,
            horizon=horizon,
            peak_floor_kw=float(iface.get_prev_peak()) * volt / 1000.0,
            weights=self.weights,
            fine_periods=self.fine_periods,
            coarse_factor=self.coarse_factor,
        )
        plan = solve(problem)
        first = plan.first_rates()
        schedule = {sid: [0.0] for sid in station_ids}
        for session in sessions:
            if session.weight < 1.0:
                continue
            kw = first.get(session.id, 0.0)
            schedule[session.station_id] = [kw * 1000.0 / volts[session.station_id]]
        self.solve_seconds.append(time.perf_counter() - started)
        return schedule
