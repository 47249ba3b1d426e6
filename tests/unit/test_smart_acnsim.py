"""evroam's scheduler as an acnportal algorithm: constructible with no argument, within the network's
limit at every period (and within a limit announced ahead through ``capacity_forecast``), every
request met when it fits."""

from __future__ import annotations

import warnings
from datetime import datetime

import numpy as np
import pytest
from acnportal import acnsim
from acnportal.acnsim.network import ChargingNetwork
from acnportal.signals.tariffs import TimeOfUseTariff

from evroam.smart.acnsim import EvroamScheduler, StationForecast

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

IDS = ["A", "B", "C"]


class DippingNetwork(ChargingNetwork):  # type: ignore[misc]
    """40 A, but 16 A from period 20 to 30 (announced)."""

    def limit(self, i: int) -> float:
        return 16.0 if 20 <= i < 30 else 40.0

    def capacity_forecast(self, start: int, length: int) -> list[float]:
        return [self.limit(start + k) for k in range(length)]

    def update_pilots(self, pilots: np.ndarray, i: int, period: float) -> None:
        super().update_pilots(pilots, i, period)
        self.magnitudes = np.array([self.limit(i + 1)])


def _run(network: ChargingNetwork, scheduler: EvroamScheduler, requests: list[float]) -> acnsim.Simulator:
    for sid in IDS:
        network.register_evse(acnsim.EVSE(sid, max_rate=32), 230, 0)
    network.add_constraint(acnsim.Current(IDS), 40.0, name="site")
    events = []
    for k, energy in enumerate(requests):
        ev = acnsim.EV(
            k * 2, 48 + k * 2, energy, IDS[k % 3], f"s{k}", acnsim.Battery(100, 100 - energy, 7.36)
        )
        events.append(acnsim.PluginEvent(k * 2, ev))
    sim = acnsim.Simulator(
        network,
        scheduler,
        acnsim.EventQueue(events),
        datetime(2019, 7, 1, 10),
        period=5,
        signals={"tariff": TimeOfUseTariff("sce_tou_ev_4_march_2019")},
        verbose=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # an infeasible schedule warns: fail on it
        sim.run()
    return sim


def test_no_argument_scheduler_meets_requests_within_the_limit() -> None:
    scheduler = EvroamScheduler()
    sim = _run(ChargingNetwork(), scheduler, [10.0, 8.0, 12.0])
    assert sim.charging_rates.sum(axis=0).max() <= 40.0 + 1e-6
    delivered = {ev.session_id: ev.energy_delivered for ev in sim.ev_history.values()}
    assert delivered == pytest.approx({"s0": 10.0, "s1": 8.0, "s2": 12.0}, abs=1e-3)
    assert len(scheduler.solve_seconds) > 0


def test_announced_dip_is_kept_and_the_forecast_is_used() -> None:
    network = DippingNetwork()
    forecast = StationForecast(per_day=2, gap=6, stay=24, energy_kwh=5.0, last_arrival=200)
    sim = _run(network, EvroamScheduler(station_forecast=forecast, expected_weight=1.0), [10.0, 10.0, 10.0])
    load = sim.charging_rates.sum(axis=0)
    assert all(load[i] <= network.limit(i) + 1e-6 for i in range(len(load)))
    assert load[20:30].max() <= 16.0 + 1e-6
    delivered = sum(ev.energy_delivered for ev in sim.ev_history.values())
    assert delivered == pytest.approx(30.0, abs=1e-3)  # 35 kWh fit under the limits
