"""The smart-charging benchmark: evroam's scheduler inside acnportal's simulator (ACN-Sim), beside
acnportal's own baselines, on the scenario S1 of issue 15.

    pip install -e '.[bench]'        # acnportal, matplotlib
    python bench/smart.py [--days 20] [--seed 15] [--quick]

S1: 10 EVSEs, single phase, 230 V, 32 A (7.36 kW); a 50 kW site limit; 5-minute periods; per EVSE
three back-to-back sessions a day (first arrival uniform 06:00-10:00, stay normal(3.5 h, 1.5 h)
clipped to [1, 9] h, gap uniform 15-90 min), energy r x 7.36 kW x stay with r ~ Beta(2.5, 2), clipped
to [2, 60] kWh and to 98 % of what full power could deliver, ideal batteries; acnportal's tariff
``sce_tou_ev_4_march_2019`` on 2019-07-01 (a summer weekday). Day d is drawn from seed ``seed + d``.

Scenarios: ``S1``; ``S1-DR`` (the limit halved 12:00-14:00, announced: evroam's scheduler sees it
ahead through the network's ``capacity_forecast``, the baselines see the limit in force); ``S1-30kW``.

Algorithms: ``evroam`` (EvroamScheduler with a forecast learnt from 10 past days drawn from other seeds:
each station's sessions a day, mean gap, stay and energy, latest arrival; demand charge 0.8 per kW),
``evroam-noforecast`` (``EvroamScheduler()``, no argument: no forecast), acnportal's Uncontrolled,
EDF, LLF and RoundRobin.

Per algorithm and scenario (means over the days): % of the requested energy delivered, cost per day,
peak kW, limit violations per day (periods whose site current is above the limit), solve time per call
p50 / p95 / max. The perfect-foresight LP (every session known in advance) gives the minimum cost at
the maximum deliverable energy and, separately, the minimum peak. Writes ``bench/results/smart.json``
and ``docs/img/smart-day.png`` (one day of S1-DR: site load, limit and price per algorithm).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from acnportal import acnsim  # noqa: E402
from acnportal.acnsim.network import ChargingNetwork  # noqa: E402
from acnportal.algorithms import RoundRobin as AcnRoundRobin  # noqa: E402
from acnportal.algorithms import (  # noqa: E402
    SortedSchedulingAlgo,
    UncontrolledCharging,
    earliest_deadline_first,
    least_laxity_first,
)
from acnportal.algorithms.sorted_algorithms import first_come_first_served  # noqa: E402
from acnportal.signals.tariffs import TimeOfUseTariff  # noqa: E402

from evroam.smart import Problem, SessionState, Site, Station, Weights, solve  # noqa: E402
from evroam.smart.acnsim import EvroamScheduler, StationForecast  # noqa: E402

EVSES = 10
VOLTS = 230.0
AMPS = 32.0
KW = AMPS * VOLTS / 1000.0  # 7.36
PERIOD_MIN = 5
DT = PERIOD_MIN / 60.0
START = datetime(2019, 7, 1)
TARIFF = "sce_tou_ev_4_march_2019"


@dataclass(frozen=True)
class Ev:
    station: str
    session: str
    arrival: int  # period
    departure: int  # period (exclusive)
    energy: float  # kWh


def s1_day(seed: int) -> list[Ev]:
    """One day of S1, exactly as issue 15 specifies it."""
    rng = np.random.default_rng(seed)
    evs: list[Ev] = []
    for e in range(EVSES):
        station = f"EVSE-{e + 1:02d}"
        t = rng.uniform(6.0, 10.0)  # hours
        for k in range(3):
            stay = float(np.clip(rng.normal(3.5, 1.5), 1.0, 9.0))
            r = rng.beta(2.5, 2.0)
            arrival = round(t * 60 / PERIOD_MIN)
            departure = max(arrival + 1, round((t + stay) * 60 / PERIOD_MIN))
            periods = departure - arrival
            energy = float(np.clip(r * KW * stay, 2.0, 60.0))
            energy = min(energy, 0.98 * KW * periods * DT)
            evs.append(Ev(station, f"{station}-{k + 1}", arrival, departure, energy))
            t = t + stay + rng.uniform(15, 90) / 60.0
    return evs


def limit_amps(scenario: str, periods: int) -> np.ndarray:
    base = 30.0 if scenario == "S1-30kW" else 50.0
    amps = np.full(periods, base * 1000.0 / VOLTS)
    if scenario == "S1-DR":
        lo, hi = 12 * 60 // PERIOD_MIN, 14 * 60 // PERIOD_MIN
        amps[lo:hi] /= 2.0
    return amps


class TimeVaryingNetwork(ChargingNetwork):  # type: ignore[misc]
    """A charging network whose aggregate current limit follows a schedule (per iteration); it says
    the schedule ahead through ``capacity_forecast`` (an announced demand-response event)."""

    def __init__(self, limits: np.ndarray) -> None:
        super().__init__(violation_tolerance=1e-5, relative_tolerance=1e-7)
        self.limits = limits

    def limit(self, i: int) -> float:
        return float(self.limits[min(i, len(self.limits) - 1)])

    def capacity_forecast(self, start: int, length: int) -> list[float]:
        return [self.limit(start + k) for k in range(length)]

    def update_pilots(self, pilots: np.ndarray, i: int, period: float) -> None:
        super().update_pilots(pilots, i, period)
        self.magnitudes = np.array([self.limit(i + 1)])


def build_sim(evs: list[Ev], scenario: str, algorithm: Any) -> tuple[Any, TimeVaryingNetwork]:
    horizon = max(ev.departure for ev in evs) + 2
    net = TimeVaryingNetwork(limit_amps(scenario, horizon))
    ids = [f"EVSE-{e + 1:02d}" for e in range(EVSES)]
    for sid in ids:
        net.register_evse(acnsim.EVSE(sid, max_rate=AMPS), VOLTS, 0)
    net.add_constraint(acnsim.Current(ids), net.limit(0), name="site")
    events = []
    for ev in evs:
        battery = acnsim.Battery(100.0, 100.0 - ev.energy, AMPS * VOLTS / 1000.0)
        car = acnsim.EV(ev.arrival, ev.departure, ev.energy, ev.station, ev.session, battery)
        events.append(acnsim.PluginEvent(ev.arrival, car))
    queue = acnsim.EventQueue(events)
    sim = acnsim.Simulator(
        net,
        algorithm,
        queue,
        START,
        period=PERIOD_MIN,
        signals={"tariff": TimeOfUseTariff(TARIFF)},
        verbose=False,
    )
    return sim, net


def prices(periods: int) -> np.ndarray:
    return np.asarray(TimeOfUseTariff(TARIFF).get_tariffs(START, periods, PERIOD_MIN), dtype=float)


def timed(algorithm: Any) -> tuple[Any, list[float]]:
    times: list[float] = []
    run = algorithm.run

    def wrapper() -> Any:
        t0 = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - t0)
        return out

    algorithm.run = wrapper
    return algorithm, times


HISTORY_SEED = 1000  # the past days the forecast is learnt from (never an evaluated day)
HISTORY_DAYS = 10


def station_forecast(seed: int = HISTORY_SEED, days: int = HISTORY_DAYS) -> StationForecast:
    """What a site manager learns from its past days: sessions per station and day, the mean gap
    between a departure and the next arrival, the mean stay and energy, the latest arrival."""
    history = [s1_day(seed + d) for d in range(days)]
    evs = [ev for day in history for ev in day]
    gaps = []
    for day in history:
        for station in {ev.station for ev in day}:
            seq = sorted((ev for ev in day if ev.station == station), key=lambda ev: ev.arrival)
            gaps += [b.arrival - a.departure for a, b in itertools.pairwise(seq)]
    return StationForecast(
        per_day=len(evs) / days / EVSES,
        gap=round(float(np.mean(gaps))),
        stay=round(float(np.mean([ev.departure - ev.arrival for ev in evs]))),
        energy_kwh=float(np.mean([ev.energy for ev in evs])),
        last_arrival=max(ev.arrival for ev in evs),
    )


FORECAST = station_forecast()

ALGORITHMS: dict[str, Callable[[], Any]] = {
    "evroam": lambda: EvroamScheduler(
        weights=Weights(peak=0.8), station_forecast=FORECAST, expected_weight=1.0
    ),
    "evroam-noforecast": EvroamScheduler,
    "Uncontrolled": UncontrolledCharging,
    "EDF": lambda: SortedSchedulingAlgo(earliest_deadline_first),
    "LLF": lambda: SortedSchedulingAlgo(least_laxity_first),
    "RoundRobin": lambda: AcnRoundRobin(first_come_first_served),
}


def run_day(evs: list[Ev], scenario: str, name: str) -> dict[str, Any]:
    algorithm, times = timed(ALGORITHMS[name]())
    sim, net = build_sim(evs, scenario, algorithm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.run()
    amps = sim.charging_rates.sum(axis=0)
    load_kw = amps * VOLTS / 1000.0
    n = len(load_kw)
    limit = np.array([net.limit(i) for i in range(n)])
    price = prices(n)
    delivered = sum(ev.energy_delivered for ev in sim.ev_history.values())
    requested = sum(ev.energy for ev in evs)
    return {
        "energy_pct": 100.0 * delivered / requested,
        "cost": float((load_kw * DT * price).sum()),
        "peak_kw": float(load_kw.max()),
        "violations": int((amps > limit + 1e-3).sum()),
        "times": times,
        "load_kw": load_kw.tolist(),
        "limit_kw": (limit * VOLTS / 1000.0).tolist(),
        "price": price.tolist(),
    }


def perfect_foresight(evs: list[Ev], scenario: str) -> dict[str, float]:
    """The LP with every session known in advance: the minimum cost at the maximum deliverable energy,
    and the minimum peak (100 % energy when it fits)."""
    horizon = max(ev.departure for ev in evs)
    limits = tuple(float(a) * VOLTS / 1000.0 for a in limit_amps(scenario, horizon))
    stations = tuple(Station(id=f"EVSE-{e + 1:02d}", max_kw=KW) for e in range(EVSES))
    sessions = tuple(
        SessionState(
            id=ev.session,
            station_id=ev.station,
            arrival=ev.arrival,
            departure=ev.departure,
            energy_kwh=ev.energy,
        )
        for ev in evs
    )
    price = tuple(float(p) for p in prices(horizon))
    out: dict[str, float] = {}
    for mode, weights in (
        ("cost", Weights(shortfall=20.0, fairness=0.0, cost=1.0, peak=0.0, early=0.0, scarce_early=0.0)),
        ("peak", Weights(shortfall=20.0, fairness=0.0, cost=0.0, peak=1e-3, early=0.0, scarce_early=0.0)),
    ):
        plan = solve(
            Problem(
                site=Site(stations=stations, limit_kw=limits),
                sessions=sessions,
                prices=price,
                period_hours=DT,
                horizon=horizon,
                weights=weights,
                fine_periods=horizon,
            )
        )
        load = np.array(plan.load_kw)
        if mode == "cost":
            out["cost"] = float((load * DT * np.array(price)).sum())
            out["energy_pct"] = (
                100.0 * sum(s.energy_kwh for s in plan.sessions) / sum(ev.energy for ev in evs)
            )
        else:
            out["peak_kw"] = float(load.max())
    return out


def summarise(days: list[dict[str, Any]]) -> dict[str, Any]:
    times = sorted(t for d in days for t in d["times"])

    def pct(q: float) -> float:
        return 1000.0 * times[min(len(times) - 1, int(q * len(times)))] if times else 0.0

    return {
        "energy_pct": statistics.fmean(d["energy_pct"] for d in days),
        "cost_per_day": statistics.fmean(d["cost"] for d in days),
        "peak_kw": statistics.fmean(d["peak_kw"] for d in days),
        "max_peak_kw": max(d["peak_kw"] for d in days),
        "violations_per_day": statistics.fmean(d["violations"] for d in days),
        "solve_ms": {"p50": pct(0.5), "p95": pct(0.95), "max": 1000.0 * times[-1] if times else 0.0},
        "calls": len(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--scenarios", default="S1,S1-DR,S1-30kW")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "smart.json"))
    parser.add_argument("--png", default=str(ROOT / "docs" / "img" / "smart-day.png"))
    args = parser.parse_args()
    names = args.algorithms.split(",")
    results: dict[str, Any] = {
        "command": "python bench/smart.py " + " ".join(sys.argv[1:]),
        "forecast": dataclasses.asdict(FORECAST),
        "days": args.days,
        "seed": args.seed,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
        "scenarios": {},
    }
    plot_day: dict[str, Any] = {}
    for scenario in args.scenarios.split(","):
        per_alg: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        pf: list[dict[str, float]] = []
        for day in range(args.days):
            evs = s1_day(args.seed + day)
            pf.append(perfect_foresight(evs, scenario))
            for name in names:
                per_alg[name].append(run_day(evs, scenario, name))
        table = {n: summarise(per_alg[n]) for n in names}
        optimum = {
            "energy_pct": statistics.fmean(p["energy_pct"] for p in pf),
            "cost_per_day": statistics.fmean(p["cost"] for p in pf),
            "peak_kw": statistics.fmean(p["peak_kw"] for p in pf),
        }
        entry: dict[str, Any] = {"algorithms": table, "perfect_foresight": optimum}
        if "evroam" in table and "LLF" in table:
            ev, llf = table["evroam"], table["LLF"]
            gap = llf["cost_per_day"] - optimum["cost_per_day"]
            entry["targets"] = {
                "cost_gap_closed": (llf["cost_per_day"] - ev["cost_per_day"]) / gap if gap > 0 else None,
                "peak_over_min_peak": ev["peak_kw"] / optimum["peak_kw"],
                "cost_over_optimum": ev["cost_per_day"] / optimum["cost_per_day"],
                "energy_vs_best_acnportal": ev["energy_pct"]
                - max(table[n]["energy_pct"] for n in names if not n.startswith("evroam")),
            }
        results["scenarios"][scenario] = entry
        if scenario == "S1-DR":
            plot_day = {n: per_alg[n][0] for n in names}
        print(f"== {scenario} ({args.days} days)")
        print(
            f"{'algorithm':18} {'energy%':>8} {'$/day':>8} {'peak kW':>8} {'viol/day':>8}"
            f" {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"
        )
        for n, row in table.items():
            ms = row["solve_ms"]
            print(
                f"{n:18} {row['energy_pct']:8.2f} {row['cost_per_day']:8.2f} {row['peak_kw']:8.2f} "
                f"{row['violations_per_day']:8.2f} {ms['p50']:7.2f} {ms['p95']:7.2f} {ms['max']:7.2f}"
            )
        print(
            f"{'perfect-LP':18} {optimum['energy_pct']:8.2f} {optimum['cost_per_day']:8.2f} "
            f"{optimum['peak_kw']:8.2f} (min cost; min peak)"
        )
        if "targets" in entry:
            print("targets:", json.dumps(entry["targets"]))
        sys.stdout.flush()
    results["load_average_end"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    if plot_day:
        plot(plot_day, Path(args.png))


def plot(day: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 5))
    any_day = next(iter(day.values()))
    n = len(any_day["load_kw"])
    hours = np.arange(n) * DT
    for name, d in day.items():
        ax.plot(hours, d["load_kw"], label=name, linewidth=1.6 if name == "evroam" else 1.0)
    ax.plot(hours, any_day["limit_kw"], "k--", label="site limit", linewidth=1.2)
    ax.set_xlabel("hour of day")
    ax.set_ylabel("site load (kW)")
    ax.set_xlim(5, min(24, n * DT))
    ax2 = ax.twinx()
    ax2.step(hours, any_day["price"], where="post", color="grey", alpha=0.5, label="price")
    ax2.set_ylabel("price ($/kWh)")
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    ax.set_title("S1 with the limit halved 12:00-14:00 (day 0): site load per algorithm")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    main()
