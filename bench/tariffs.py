"""Benchmark of the tariff engine: a 24-hour session of 96 charging periods against a 6-element tariff.

    .venv/bin/python bench/tariffs.py [--seconds 2] [--skip-ocpi-tariffs] [--json]

Prints the µs per CDR of ``evroam.tariffs.price`` (tariff compiled once, as a node does) and of the same
with the JSON adapters included - median and best of 7 rounds, in wall time and in CPU time of the process
(``time.process_time``, less disturbed when the machine is shared; the garbage collector is off while
measuring, as in ``timeit``) - then runs the PyPI package ``ocpi-tariffs`` on the same inputs (the same
Tariff and CDR as OCPI 2.2.1 JSON) in its own virtualenv ``bench/.venv-ocpi-tariffs`` through a subprocess,
and prints both figures and their ratio. When ``ocpi-tariffs`` cannot be installed or run, it says why.
Targets: under 500 µs per CDR, faster than ocpi-tariffs.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import venv
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from evroam.tariffs import price
from evroam.tariffs.adapt import session_from_json, tariff_from_json

HERE = Path(__file__).resolve().parent
OCPI_TARIFFS_VENV = HERE / ".venv-ocpi-tariffs"
TIME_ZONE = "Europe/Amsterdam"
TARGET_US = 500.0
SCENARIO = "24 h session, 96 charging periods, tariff of 6 elements with restrictions, Europe/Amsterdam"


def tariff_json() -> dict[str, Any]:
    """Six elements with restrictions (time of day, weekdays, power, energy) plus a FLAT start fee."""
    weekdays = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]
    return {
        "country_code": "NL",
        "party_id": "EVR",
        "id": "bench-6",
        "currency": "EUR",
        "max_price": {"excl_vat": 500.00, "incl_vat": 605.00},
        "elements": [
            {
                "price_components": [{"type": "ENERGY", "price": 0.22, "vat": 21.0, "step_size": 1}],
                "restrictions": {"min_kwh": 150.0},
            },
            {
                "price_components": [
                    {"type": "ENERGY", "price": 0.59, "vat": 21.0, "step_size": 1},
                    {"type": "TIME", "price": 1.20, "vat": 21.0, "step_size": 60},
                ],
                "restrictions": {"min_power": 22.0},
            },
            {
                "price_components": [
                    {"type": "ENERGY", "price": 0.29, "vat": 21.0, "step_size": 1},
                    {"type": "TIME", "price": 0.30, "vat": 21.0, "step_size": 60},
                ],
                "restrictions": {"start_time": "23:00", "end_time": "07:00"},
            },
            {
                "price_components": [{"type": "PARKING_TIME", "price": 6.00, "vat": 21.0, "step_size": 300}],
                "restrictions": {"start_time": "09:00", "end_time": "18:00", "day_of_week": weekdays},
            },
            {
                "price_components": [{"type": "PARKING_TIME", "price": 2.00, "vat": 21.0, "step_size": 300}],
                "restrictions": {"start_time": "07:00", "end_time": "23:00"},
            },
            {
                "price_components": [
                    {"type": "FLAT", "price": 0.35, "vat": 21.0, "step_size": 1},
                    {"type": "ENERGY", "price": 0.39, "vat": 21.0, "step_size": 1},
                    {"type": "TIME", "price": 0.60, "vat": 21.0, "step_size": 60},
                ],
                "restrictions": {"max_power": 50.0},
            },
        ],
        "last_updated": "2024-01-01T00:00:00Z",
    }


def cdr_json() -> dict[str, Any]:
    """24 hours from Wednesday 2024-01-17 10:00 local, 96 periods of 15 minutes: charging at 7 / 11 / 22 /
    50 kW with some parking in between."""
    start = datetime(2024, 1, 17, 9, 0, tzinfo=UTC)
    powers = [Decimal(7), Decimal(11), Decimal(22), Decimal(50)]
    periods = []
    total_energy = Decimal(0)
    parking_hours = Decimal(0)
    for i in range(96):
        at = start + timedelta(minutes=15 * i)
        if i % 8 in (6, 7):
            dims = [{"type": "PARKING_TIME", "volume": Decimal("0.25")}]
            parking_hours += Decimal("0.25")
        else:
            power = powers[(i // 3) % 4]
            energy = power / 4
            total_energy += energy
            current = (power * 1000 / 230 / 3).quantize(Decimal(1))
            dims = [
                {"type": "ENERGY", "volume": energy},
                {"type": "TIME", "volume": Decimal("0.25")},
                {"type": "MIN_POWER", "volume": power},
                {"type": "MAX_POWER", "volume": power},
                {"type": "MAX_CURRENT", "volume": current * 3},
            ]
        periods.append({"start_date_time": _ts(at), "dimensions": dims, "tariff_id": "bench-6"})
    end = start + timedelta(hours=24)
    return {
        "country_code": "NL",
        "party_id": "EVR",
        "id": "bench-cdr",
        "start_date_time": _ts(start),
        "end_date_time": _ts(end),
        "cdr_token": {
            "country_code": "NL",
            "party_id": "EMS",
            "uid": "0102",
            "type": "RFID",
            "contract_id": "C1",
        },
        "auth_method": "WHITELIST",
        "cdr_location": {
            "id": "LOC1",
            "address": "Damrak 1",
            "city": "Amsterdam",
            "country": "NLD",
            "coordinates": {"latitude": "52.374000", "longitude": "4.889700"},
            "evse_uid": "E1",
            "evse_id": "NL*EVR*E1",
            "connector_id": "1",
            "connector_standard": "IEC_62196_T2",
            "connector_format": "SOCKET",
            "connector_power_type": "AC_3_PHASE",
        },
        "currency": "EUR",
        "tariffs": [tariff_json()],
        "charging_periods": periods,
        "total_cost": {"excl_vat": 0, "incl_vat": 0},
        "total_energy": total_energy,
        "total_time": Decimal(24),
        "total_parking_time": parking_hours,
        "last_updated": _ts(end),
    }


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _measure(fn: Any, seconds: float, rounds: int = 7) -> dict[str, float]:
    """µs per call over ``rounds`` rounds of about ``seconds / rounds`` each: the best and the median of
    wall time (``perf_counter``) and of this process's CPU time (``process_time``), which other work on a
    shared machine disturbs less. The garbage collector is off while measuring, as in ``timeit``."""
    number = 1
    while True:
        elapsed = timeit.timeit(fn, number=number)
        if elapsed > 0.05:
            break
        number *= 2
    number = max(1, int(number * (seconds / rounds) / elapsed))
    loop = range(number)
    wall: list[float] = []
    cpu: list[float] = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in loop:
                fn()
            c1, w1 = time.process_time(), time.perf_counter()
            wall.append((w1 - w0) / number * 1e6)
            cpu.append((c1 - c0) / number * 1e6)
    finally:
        if enabled:
            gc.enable()
    return {
        "best": min(wall),
        "median": statistics.median(wall),
        "cpu_best": min(cpu),
        "cpu_median": statistics.median(cpu),
    }


def bench_evroam(seconds: float) -> dict[str, Any]:
    tariff_data, cdr_data = tariff_json(), cdr_json()
    tariff = tariff_from_json(tariff_data, "2.2.1")
    session = session_from_json(cdr_data, "2.2.1")
    t0 = time.perf_counter()
    result = price(tariff, session, TIME_ZONE)  # first call compiles the tariff
    cold_us = (time.perf_counter() - t0) * 1e6
    plain = _measure(lambda: price(tariff, session, TIME_ZONE), seconds)

    def with_adapters() -> None:
        price(tariff_from_json(tariff_data, "2.2.1"), session_from_json(cdr_data, "2.2.1"), TIME_ZONE)

    adapted = _measure(with_adapters, seconds)
    rounded = result.rounded(2)
    return {
        "us_per_cdr_best": round(plain["best"], 1),
        "us_per_cdr_median": round(plain["median"], 1),
        "cpu_us_per_cdr_best": round(plain["cpu_best"], 1),
        "cpu_us_per_cdr_median": round(plain["cpu_median"], 1),
        "us_first_call_with_compile": round(cold_us, 1),
        "us_per_cdr_with_json_adapters_median": round(adapted["median"], 1),
        "us_per_cdr_with_json_adapters_best": round(adapted["best"], 1),
        "cpu_us_per_cdr_with_json_adapters_median": round(adapted["cpu_median"], 1),
        "charging_periods_out": len(result.charging_periods),
        "total_cost_excl_vat": str(rounded.total_cost.excl_vat),
        "total_cost_incl_vat": str(rounded.total_cost.incl_vat),
    }


# The driver runs inside the ocpi-tariffs virtualenv. It follows the usage its README documents:
# ocpi_tariffs.v2_2_1.models.{Cdr, Tariff} and ocpi_tariffs.v2_2_1.tariff_calculator.calculate_cdr_cost.
_DRIVER = r"""
import json, sys, timeit, statistics, importlib.metadata as md
payload = json.load(sys.stdin)
try:
    from ocpi_tariffs.v2_2_1.models import Cdr, Tariff
    from ocpi_tariffs.v2_2_1.tariff_calculator import calculate_cdr_cost
except Exception as exc:  # report what the installed distribution actually contains
    files = [str(f) for f in (md.files("ocpi-tariffs") or [])]
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "version": md.version("ocpi-tariffs"),
                      "files": files}))
    sys.exit(0)
tariff = Tariff(**payload["tariff"])
cdr = Cdr(**payload["cdr"])
result = calculate_cdr_cost(cdr, tariff)
fn = lambda: calculate_cdr_cost(cdr, tariff)
number = 1
while timeit.timeit(fn, number=number) < 0.05:
    number *= 2
rounds = [timeit.timeit(fn, number=number) / number * 1e6 for _ in range(5)]
print(json.dumps({"us_per_cdr_best": min(rounds), "us_per_cdr_median": statistics.median(rounds),
                  "version": md.version("ocpi-tariffs"), "total_cost": str(result)}))
"""


def _ocpi_tariffs_python() -> tuple[Path | None, str]:
    """The virtualenv's python with ocpi-tariffs installed (created on first use), or why not."""
    python = OCPI_TARIFFS_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {OCPI_TARIFFS_VENV.relative_to(HERE.parent)} ...", file=sys.stderr)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(OCPI_TARIFFS_VENV)
        except Exception as exc:
            return None, f"cannot create its virtualenv: {exc}"
    check = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('ocpi-tariffs'))"],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        install = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "ocpi-tariffs"],
            capture_output=True,
            text=True,
        )
        if install.returncode != 0:
            return None, "pip install ocpi-tariffs failed: " + (install.stderr.strip().splitlines() or ["?"])[
                -1
            ]
    return python, ""


def bench_ocpi_tariffs() -> dict[str, Any]:
    python, why = _ocpi_tariffs_python()
    if python is None:
        return {"error": why}
    payload = json.dumps({"tariff": tariff_json(), "cdr": cdr_json()}, default=str)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(_DRIVER)
        driver = handle.name
    try:
        run = subprocess.run(
            [str(python), driver], input=payload, capture_output=True, text=True, timeout=600
        )
    finally:
        Path(driver).unlink(missing_ok=True)
    if run.returncode != 0:
        return {"error": "the driver failed: " + (run.stderr.strip().splitlines() or ["?"])[-1]}
    try:
        out: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"unexpected output: {run.stdout[:200]!r}"}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="measuring time per figure")
    parser.add_argument("--skip-ocpi-tariffs", action="store_true", help="do not run ocpi-tariffs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    ours = bench_evroam(args.seconds)
    theirs: dict[str, Any] = (
        {"error": "skipped (--skip-ocpi-tariffs)"} if args.skip_ocpi_tariffs else bench_ocpi_tariffs()
    )
    ratio = None
    if "us_per_cdr_median" in theirs:
        ratio = theirs["us_per_cdr_median"] / ours["us_per_cdr_median"]
    report = {
        "scenario": SCENARIO,
        "python": sys.version.split()[0],
        "evroam": ours,
        "ocpi_tariffs": theirs,
        "ratio_ocpi_tariffs_over_evroam": ratio,
        "target_us": TARGET_US,
        "under_target": ours["us_per_cdr_median"] < TARGET_US,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(report["scenario"])
    pad = " " * 19
    print(
        f"evroam.tariffs   : {ours['us_per_cdr_median']:8.1f} µs per CDR (median wall time; best"
        f" {ours['us_per_cdr_best']:.1f})"
    )
    print(
        f"{pad}{ours['cpu_us_per_cdr_median']:8.1f} µs CPU per CDR (median process time; best"
        f" {ours['cpu_us_per_cdr_best']:.1f}): the figure to trust on a shared machine"
    )
    print(
        f"{pad}with JSON adapters {ours['us_per_cdr_with_json_adapters_median']:.1f} µs"
        f" (CPU {ours['cpu_us_per_cdr_with_json_adapters_median']:.1f});"
        f" first call incl. compile {ours['us_first_call_with_compile']:.1f} µs"
    )
    print(
        f"{pad}{ours['charging_periods_out']} periods out, total {ours['total_cost_excl_vat']} excl."
        f" / {ours['total_cost_incl_vat']} incl. EUR"
    )
    if "us_per_cdr_median" in theirs:
        version = theirs.get("version", "?")
        print(f"ocpi-tariffs {version:<5}: {theirs['us_per_cdr_median']:8.1f} µs per CDR (median)")
        print(f"ratio ocpi-tariffs / evroam: {ratio:.1f}x")
    else:
        print(f"ocpi-tariffs     : not measured: {theirs['error']}")
        files = theirs.get("files")
        if files is not None:
            code = [f for f in files if ".dist-info/" not in f] or ["nothing"]
            print(f"{pad}the ocpi-tariffs {theirs.get('version')} distribution on PyPI holds nothing but:")
            print(
                f"{pad}{', '.join(code)} (its README's ocpi_tariffs.v2_2_1 is not in the wheel nor the sdist)"
            )
        print("ratio            : n/a")
    verdict = "under" if report["under_target"] else "OVER"
    cpu_verdict = "under" if ours["cpu_us_per_cdr_median"] < TARGET_US else "OVER"
    print(
        f"target           : {verdict} {TARGET_US:.0f} µs per CDR (median wall time; CPU time {cpu_verdict})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
