"""The model-predictive scheduler: one linear programme per solve, solved by HiGHS.

Variables: per session and *block* of periods the rate (kW) it charges at during the periods of the
block it is present in (the first ``fine_periods`` periods are blocks of one period, later ones are
merged ``coarse_factor`` at a time to keep the programme small); per session the energy it will not get
(shortfall); the largest share of a request left undelivered (fairness); the horizon's peak.

Constraints: every period's load within the site limit (and each phase's, when set); a session's rate
within its car's, its station's and any external profile's limit; delivered + shortfall = requested
(so never more than asked).

Objective: shortfall, weighted far above everything else, so energy comes first; then the price of
the energy (the carbon intensity for GREEN sessions), a demand charge on the peak above the peak
already reached, and a small penalty on delay (a large one for FAST sessions).

The LP's rates are then quantised to what each charger accepts without ever leaving the limit
(:func:`quantise`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import highspy
import numpy as np
import numpy.typing as npt

from evroam.smart.model import Plan, Preference, Problem, SessionPlan, SessionState, Site, Station

__all__ = ["quantise", "solve"]

_EPS = 1e-7
_FAST_EARLY = 10.0
_CHEAP_EARLY = 1e-6

FloatArray = npt.NDArray[np.float64]


def _at(values: Sequence[float], index: int, default: float) -> float:
    if not values:
        return default
    return values[min(index, len(values) - 1)]


def _blocks(horizon: int, fine: int, factor: int) -> list[tuple[int, int]]:
    blocks: list[tuple[int, int]] = []
    start = 0
    while start < horizon:
        width = 1 if start < fine else max(1, factor)
        end = min(horizon, start + width)
        blocks.append((start, end))
        start = end
    return blocks


def _upper(session: SessionState, station: Station, period: int) -> float:
    cap = _at(session.cap_kw, period, math.inf) if session.cap_kw else math.inf
    return max(0.0, min(session.max_kw, station.max_kw, cap))


class _Lp:
    """A programme built column by column, then handed to HiGHS in one piece."""

    def __init__(self) -> None:
        self.cost: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.rows_lo: list[float] = []
        self.rows_hi: list[float] = []
        self.entries_r: list[int] = []
        self.entries_c: list[int] = []
        self.entries_v: list[float] = []

    def column(self, cost: float, lower: float, upper: float) -> int:
        self.cost.append(cost)
        self.lower.append(lower)
        self.upper.append(upper)
        return len(self.cost) - 1

    def row(self, lower: float, upper: float, terms: Sequence[tuple[int, float]]) -> int:
        index = len(self.rows_lo)
        self.rows_lo.append(lower)
        self.rows_hi.append(upper)
        for col, value in terms:
            self.entries_r.append(index)
            self.entries_c.append(col)
            self.entries_v.append(value)
        return index

    def solve(self) -> tuple[str, FloatArray]:
        num_col, num_row = len(self.cost), len(self.rows_lo)
        lp = highspy.HighsLp()
        lp.num_col_ = num_col
        lp.num_row_ = num_row
        lp.col_cost_ = np.asarray(self.cost, dtype=np.float64)
        lp.col_lower_ = np.asarray(self.lower, dtype=np.float64)
        lp.col_upper_ = np.asarray(self.upper, dtype=np.float64)
        lp.row_lower_ = np.asarray(self.rows_lo, dtype=np.float64)
        lp.row_upper_ = np.asarray(self.rows_hi, dtype=np.float64)
        cols = np.asarray(self.entries_c, dtype=np.int32)
        order = np.argsort(cols, kind="stable")
        starts = np.zeros(num_col + 1, dtype=np.int32)
        np.cumsum(np.bincount(cols, minlength=num_col), out=starts[1:])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = starts
        lp.a_matrix_.index_ = np.asarray(self.entries_r, dtype=np.int32)[order]
        lp.a_matrix_.value_ = np.asarray(self.entries_v, dtype=np.float64)[order]
        lp.a_matrix_.num_col_ = num_col
        lp.a_matrix_.num_row_ = num_row
        highs = highspy.Highs()  # type: ignore[no-untyped-call]
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("threads", 1)
        highs.passModel(lp)
        highs.run()
        status = highs.modelStatusToString(highs.getModelStatus())
        values = np.asarray(highs.getSolution().col_value, dtype=np.float64)
        if values.size != num_col:
            values = np.zeros(num_col, dtype=np.float64)
        return status, values


def solve(problem: Problem) -> Plan:
    """Each session's schedule over the horizon (see the module's description)."""
    site = problem.site
    horizon = max(1, problem.horizon)
    dt = problem.period_hours
    weights = problem.weights
    stations = {s.id: s for s in site.stations}
    limits = [max(0.0, site.limit_at(t)) for t in range(horizon)]
    prices = [_at(problem.prices, t, 0.0) for t in range(horizon)]
    carbon = [_at(problem.carbon, t, 0.0) for t in range(horizon)] if problem.carbon else prices
    blocks = _blocks(horizon, problem.fine_periods, problem.coarse_factor)

    sessions = [
        s
        for s in problem.sessions
        if s.station_id in stations and s.energy_kwh > _EPS and min(s.departure, horizon) > max(0, s.arrival)
    ]
    lp = _Lp()
    real = [s.energy_kwh for s in sessions if s.weight >= 1.0]
    mean_request = sum(real) / len(real) if real else 0.0
    fairness = lp.column(weights.fairness * mean_request, 0.0, 1.0)
    peak = lp.column(weights.peak, max(0.0, problem.peak_floor_kw), math.inf)
    share = lp.column(-weights.share_now, 0.0, 1.0) if weights.share_now > 0 else None
    # per period: the rate columns present then, with their station's phase share
    present: list[list[tuple[int, Station]]] = [[] for _ in range(horizon)]
    columns: dict[int, list[tuple[int, int, int]]] = {}  # session index -> (column, start, end)
    horizon_hours = horizon * dt
    scarce = any(limit < limits[0] - 1e-6 for limit in limits[1:])
    for index, session in enumerate(sessions):
        station = stations[session.station_id]
        first, last = max(0, session.arrival), min(session.departure, horizon)
        if session.preference is Preference.FAST:
            early = _FAST_EARLY
        elif session.preference is Preference.CHEAP:
            early = _CHEAP_EARLY
        else:
            early = max(weights.early, weights.scarce_early) if scarce else weights.early
        signal = carbon if session.preference is Preference.GREEN else prices
        scale = 1e-3 if session.preference is Preference.GREEN and problem.carbon else 1.0
        energy_terms: list[tuple[int, float]] = []
        mine: list[tuple[int, int, int]] = []
        for start, end in blocks:
            lo, hi = max(start, first), min(end, last)
            if hi <= lo:
                continue
            upper = min(_upper(session, station, t) for t in range(lo, hi))
            if upper <= _EPS:
                continue
            periods = range(lo, hi)
            cost = dt * (
                weights.cost * scale * sum(signal[t] for t in periods)
                + early * sum((t + 0.5) * dt / horizon_hours for t in periods)
            )
            col = lp.column(cost, 0.0, upper)
            if share is not None and lo == 0 and session.weight >= 1.0:
                possible = min(upper, session.energy_kwh / (dt * (hi - lo)))
                lp.row(0.0, math.inf, [(col, 1.0), (share, -possible)])
            energy_terms.append((col, dt * (hi - lo)))
            mine.append((col, lo, hi))
            for t in periods:
                present[t].append((col, station))
        columns[index] = mine
        shortfall = lp.column(weights.shortfall * session.weight, 0.0, session.energy_kwh)
        lp.row(session.energy_kwh, session.energy_kwh, [*energy_terms, (shortfall, 1.0)])
        if session.weight >= 1.0:
            lp.row(-math.inf, 0.0, [(shortfall, 1.0 / session.energy_kwh), (fairness, -1.0)])

    seen: set[tuple[tuple[int, ...], float]] = set()
    for t in range(horizon):
        cols = tuple(col for col, _ in present[t])
        if not cols:
            continue
        key = (cols, limits[t])
        if key in seen:
            continue
        seen.add(key)
        lp.row(-math.inf, limits[t], [(col, 1.0) for col in cols])
        lp.row(-math.inf, 0.0, [*((col, 1.0) for col in cols), (peak, -1.0)])
        if site.phase_limit_kw is not None:
            for phase in (1, 2, 3):
                terms = [
                    (col, 1.0 / st.phases) for col, st in present[t] if st.phases >= 3 or st.phase == phase
                ]
                if terms:
                    lp.row(-math.inf, site.phase_limit_kw, terms)

    status, values = lp.solve() if sessions else ("Empty", np.zeros(0, dtype=np.float64))
    raw = np.zeros((len(sessions), horizon), dtype=np.float64)
    for index, mine in columns.items():
        for col, lo, hi in mine:
            raw[index, lo:hi] = max(0.0, float(values[col]))
    rates = quantise(raw, sessions, stations, site, limits, dt)
    load = rates.sum(axis=0) if sessions else np.zeros(horizon, dtype=np.float64)
    plans = tuple(
        SessionPlan(
            session_id=s.id,
            station_id=s.station_id,
            rates_kw=tuple(float(r) for r in rates[i]),
            energy_kwh=float(rates[i].sum() * dt),
            requested_kwh=s.energy_kwh,
        )
        for i, s in enumerate(sessions)
    )
    skipped = tuple(
        SessionPlan(s.id, s.station_id, (0.0,) * horizon, 0.0, s.energy_kwh)
        for s in problem.sessions
        if s not in sessions
    )
    return Plan(
        sessions=plans + skipped,
        load_kw=tuple(float(v) for v in load),
        limit_kw=tuple(limits),
        period_hours=dt,
        status=status,
    )


def _floor_rate(value: float, station: Station) -> float:
    """The highest rate the station accepts that is not above ``value``."""
    if station.rates_kw is not None:
        best = 0.0
        for rate in station.rates_kw:
            if rate <= value + _EPS and rate > best:
                best = rate
        return best
    if value < station.min_kw - _EPS or value <= _EPS:
        return 0.0
    return min(value, station.max_kw)


def _next_rate(value: float, station: Station) -> float | None:
    """The lowest rate the station accepts above ``value`` (``None``: none, or continuous)."""
    if station.rates_kw is not None:
        above = [r for r in station.rates_kw if r > value + _EPS]
        return min(above) if above else None
    if value <= _EPS and station.min_kw > _EPS:
        return station.min_kw
    return None


def quantise(
    raw: FloatArray,
    sessions: Sequence[SessionState],
    stations: dict[str, Station],
    site: Site,
    limits: Sequence[float],
    period_hours: float,
) -> FloatArray:
    """Round each rate down to one its station accepts, then hand the headroom left in each period
    back, one step up at a time, to the sessions that lost most, as long as the period stays within the
    limit and no session gets more than it asked."""
    rates = np.zeros_like(raw)
    if raw.size == 0:
        return rates
    count, horizon = raw.shape
    station_of = [stations[s.station_id] for s in sessions]
    delivered = np.zeros(count, dtype=np.float64)
    for t in range(horizon):
        column = [_floor_rate(float(raw[i, t]), station_of[i]) for i in range(count)]
        limit = limits[t]
        total = sum(column)
        # the LP may sit a hair above the limit: step down the largest first
        while total > limit + 1e-9:
            i = max(range(count), key=lambda k: column[k])
            lower = _floor_rate(column[i] - 1e-6, station_of[i]) if column[i] > _EPS else 0.0
            total -= column[i] - lower
            column[i] = lower
        order = sorted(range(count), key=lambda k: column[k] - float(raw[k, t]))
        for i in order:
            if raw[i, t] - column[i] <= _EPS:
                continue
            step = _next_rate(column[i], station_of[i])
            if step is None or step > _upper(sessions[i], station_of[i], t) + _EPS:
                continue
            if total + step - column[i] > limit + 1e-9:
                continue
            if not _phase_ok(column, i, step, station_of, site):
                continue
            if (delivered[i] + step * period_hours) > sessions[i].energy_kwh + 1e-9:
                continue
            total += step - column[i]
            column[i] = step
        for i in range(count):
            room = sessions[i].energy_kwh - delivered[i]
            if column[i] * period_hours > room + 1e-12:
                column[i] = _floor_rate(max(0.0, room) / period_hours, station_of[i])
            delivered[i] += column[i] * period_hours
            rates[i, t] = column[i]
    return rates


def _phase_ok(column: list[float], index: int, value: float, stations: list[Station], site: Site) -> bool:
    if site.phase_limit_kw is None:
        return True
    trial = list(column)
    trial[index] = value
    for phase in (1, 2, 3):
        load = sum(
            rate / st.phases
            for rate, st in zip(trial, stations, strict=True)
            if st.phases >= 3 or st.phase == phase
        )
        if load > site.phase_limit_kw + 1e-9:
            return False
    return True
