"""The charge point simulator: virtual chargers behind the :class:`~evroam.chargepoint.ChargePoint` port.

* :class:`Simulator` — EVSEs and connectors of a CPO's locations, drivers who plug in and out, a car
  that charges, meter readings, reservations, faults and chargers that never answer;
* :class:`ScaledTime` / :class:`ManualTime` — simulated time (faster than real time, or moved by hand);
* :mod:`.site` — a small demo site (a location with three EVSEs and its tariff);
* :mod:`.cli` — ``evroam simulate``.
"""

from evroam.sim.clock import ManualTime, ScaledTime, SimTime
from evroam.sim.simulator import COMMAND_KINDS, CarProfile, SimOptions, Simulator

__all__ = [
    "COMMAND_KINDS",
    "CarProfile",
    "ManualTime",
    "ScaledTime",
    "SimOptions",
    "SimTime",
    "Simulator",
]
