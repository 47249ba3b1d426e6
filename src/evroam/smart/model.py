"""The scheduler's input and output: a site, its stations, the sessions charging there, and the plan.

Everything here is plain data in floats (kW, kWh, hours, currency per kWh): the node converts its
``Decimal`` values at the edge. Time is counted in *periods* of ``period_hours`` from "now" (period 0
is the one about to be applied).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Plan",
    "Preference",
    "Problem",
    "SessionPlan",
    "SessionState",
    "Site",
    "Station",
    "Weights",
]


class Preference(StrEnum):
    """The driver's charging preference (OCPI ProfileType)."""

    CHEAP = "CHEAP"
    """Lowest price: energy goes where it is cheapest, whenever that is before departure."""
    FAST = "FAST"
    """As soon as possible: price only breaks ties."""
    GREEN = "GREEN"
    """Lowest carbon intensity (the site's carbon signal; the price when there is none)."""
    REGULAR = "REGULAR"
    """The operator's balance: price, with a slight preference for charging early."""


@dataclass(frozen=True, slots=True)
class Station:
    """A charging station (an EVSE): its power range, its phases and the rates it accepts.

    ``rates_kw`` is the set of rates the charger accepts (e.g. whole amperes times the voltage); ``None``
    means any rate from ``min_kw`` to ``max_kw`` (or 0). A single-phase station sits on ``phase`` (1-3).
    """

    id: str
    max_kw: float
    phases: int = 1
    phase: int = 1
    min_kw: float = 0.0
    rates_kw: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class SessionState:
    """A charging session as the scheduler sees it.

    ``arrival`` and ``departure`` are period indices relative to now (``arrival`` 0 for a car that is
    plugged in; ``departure`` exclusive). ``energy_kwh`` is what the car still wants. ``max_kw`` is the
    car's own limit, ``cap_kw`` a limit set by an external smart-charging party (one value, or one per
    period: the last one holds on). A session that has not arrived yet (a reservation, or a forecast
    arrival with ``weight`` below 1) has ``arrival`` > 0.
    """

    id: str
    station_id: str
    departure: int
    energy_kwh: float
    max_kw: float = float("inf")
    arrival: int = 0
    preference: Preference = Preference.REGULAR
    cap_kw: tuple[float, ...] | None = None
    weight: float = 1.0
    """Scales the shortfall penalty: below 1 for an *expected* session (a forecast arrival that only
    reserves room in the plan; it is left out of the fairness term)."""


@dataclass(frozen=True, slots=True)
class Weights:
    """How the objective weighs its terms (lexicographic in effect: energy first, then cost, then peak).

    ``shortfall`` is the penalty per kWh not delivered, ``fairness`` the penalty on the largest share of
    a request left undelivered (times the mean request), ``peak`` the penalty per kW of the horizon's
    peak above ``Problem.peak_floor_kw`` (a demand charge), ``cost`` the weight of the energy price and
    ``early`` a tie-breaker per kWh and hour of delay, ``share_now`` one for sharing period 0.
    """

    shortfall: float = 20.0
    fairness: float = 2.0
    cost: float = 1.0
    peak: float = 0.3
    early: float = 0.02
    scarce_early: float = 1.0
    """The delay penalty of REGULAR sessions while a lower limit lies ahead in the horizon (an announced
    demand-response event, a dip in the capacity forecast): charge before it, as the cars that arrive
    during it will find less room."""
    share_now: float = 0.0
    """A reward for the smallest share of its possible rate any session gets in period 0: a
    tie-breaker (keep it far below prices) so that when waiting costs nothing no car is left at 0 now."""


@dataclass(frozen=True, slots=True)
class Site:
    """A site: its stations and the grid limit (kW) per period (the last value holds on).

    ``phase_limit_kw``, when set, also caps the load of each phase.
    """

    stations: tuple[Station, ...]
    limit_kw: tuple[float, ...]
    phase_limit_kw: float | None = None

    def limit_at(self, period: int) -> float:
        return self.limit_kw[min(period, len(self.limit_kw) - 1)]


@dataclass(frozen=True, slots=True)
class Problem:
    """One solve: the site, the sessions, prices (per kWh, per period, the last value holds on) over
    ``horizon`` periods of ``period_hours``.

    ``carbon`` (g/kWh per period) steers GREEN sessions. ``peak_floor_kw`` is the peak already reached
    (charging up to it costs nothing). ``fine_periods`` periods keep their own resolution; later ones
    are merged ``coarse_factor`` at a time (only period 0 is applied before the next solve).
    """

    site: Site
    sessions: tuple[SessionState, ...]
    prices: tuple[float, ...]
    period_hours: float
    horizon: int
    carbon: tuple[float, ...] | None = None
    peak_floor_kw: float = 0.0
    weights: Weights = field(default_factory=Weights)
    fine_periods: int = 24
    coarse_factor: int = 3


@dataclass(frozen=True, slots=True)
class SessionPlan:
    """A session's schedule: kW per period from now, and the energy it brings."""

    session_id: str
    station_id: str
    rates_kw: tuple[float, ...]
    energy_kwh: float
    requested_kwh: float


@dataclass(frozen=True, slots=True)
class Plan:
    """The solver's answer: one schedule per session, the site's load and limit per period."""

    sessions: tuple[SessionPlan, ...]
    load_kw: tuple[float, ...]
    limit_kw: tuple[float, ...]
    period_hours: float
    status: str

    def session(self, session_id: str) -> SessionPlan | None:
        return next((s for s in self.sessions if s.session_id == session_id), None)

    def first_rates(self) -> dict[str, float]:
        """Each session's rate for period 0 (the one to apply now)."""
        return {s.session_id: (s.rates_kw[0] if s.rates_kw else 0.0) for s in self.sessions}


def _value(values: Sequence[float], index: int) -> float:
    return values[min(index, len(values) - 1)] if values else 0.0
