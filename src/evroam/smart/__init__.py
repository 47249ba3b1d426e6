"""Smart charging: a site energy manager that keeps every session under the grid limit.

Pure (no I/O): :func:`solve` takes a :class:`Problem` (site, sessions, prices, horizon) and answers a
:class:`Plan` (each session's schedule, the site's load). The node's manager
(:mod:`evroam.node.smart`) builds the problem from the chargers' events and sends the plan back as
charging profiles; :mod:`evroam.smart.acnsim` runs the same scheduler inside acnportal's simulator
(benchmarks only, acnportal is not a runtime dependency).
"""

from evroam.smart.model import Plan, Preference, Problem, SessionPlan, SessionState, Site, Station, Weights
from evroam.smart.solver import quantise, solve

__all__ = [
    "Plan",
    "Preference",
    "Problem",
    "SessionPlan",
    "SessionState",
    "Site",
    "Station",
    "Weights",
    "quantise",
    "solve",
]
