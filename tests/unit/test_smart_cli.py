"""``evroam smart``: sites set, listed and removed; ``status`` shows the plan a site manager wrote."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from evroam.chargepoint import StartRequest
from evroam.cli import cli
from evroam.cli.smart import plan_path
from evroam.core.clock import SequentialIds
from evroam.node.smart import SiteConfig, SiteManager, stations_of
from evroam.sim import ManualTime, Simulator
from tests.integration.test_smart_site import _location, _token


def _run(data: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "smart", *args])
    return result.exit_code, result.output


def test_site_commands(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "site", "set", "SITE1", "--limit-kw", "11", "--prices", "0.25", "--json")
    assert code == 0, out
    assert json.loads(out)["limit_kw"] == 11.0
    code, out = _run(tmp_path, "site", "set", "SITE2", "--limit-kw", "0")
    assert code != 0 and "positive" in out
    code, out = _run(tmp_path, "site", "set", "SITE2", "--limit-kw", "5", "--prices", "1,2")
    assert code != 0 and "24" in out
    code, out = _run(tmp_path, "site", "list", "--json")
    assert [s["location_id"] for s in json.loads(out)] == ["SITE1"]
    code, out = _run(tmp_path, "status")
    assert code == 0 and "no plan yet" in out
    code, out = _run(tmp_path, "site", "remove", "SITE1")
    assert code == 0
    code, out = _run(tmp_path, "site", "remove", "SITE1")
    assert code != 0 and "no site" in out


async def test_status_shows_the_plan(tmp_path: Path) -> None:
    assert _run(tmp_path, "site", "set", "SITE1", "--limit-kw", "11", "--prices", "0.25")[0] == 0
    time = ManualTime("2026-01-05T08:00:00Z")
    location = _location(time.now())
    sim = Simulator([location], time=time, ids=SequentialIds())
    config = SiteConfig(location_id="SITE1", limit_kw=11.0, prices=[0.25])
    manager = SiteManager(config, sim, time, stations_of(location), plan_path=plan_path(tmp_path, "SITE1"))
    sim.subscribe(manager)
    for i, evse in enumerate(("E1", "E2")):
        await sim.start(
            StartRequest(location_id="SITE1", evse_uid=evse, connector_id="1", token=_token(f"T{i}"))
        )
    await time.advance(60)
    await manager.resolve()
    await sim.close()

    code, out = _run(tmp_path, "status", "--json")
    assert code == 0, out
    (site,) = json.loads(out)
    assert site["location_id"] == "SITE1" and site["status"] == "Optimal"
    assert {s["evse_uid"] for s in site["sessions"]} == {"E1", "E2"}
    assert all(row["load_kw"] <= row["limit_kw"] + 1e-9 for row in site["forecast"])
    assert site["forecast"][0]["load_kw"] > 10.9  # both cars charge, sharing the 11 kW
    code, out = _run(tmp_path, "status")
    assert "forecast (load / limit kW)" in out and "session" in out


def test_site_set_new_signals(tmp_path: Path) -> None:
    carbon = tmp_path / "carbon.json"
    carbon.write_text('[{"start": "2026-01-05T00:00:00Z", "g_per_kwh": 300}]')
    code, out = _run(
        tmp_path, "site", "set", "SITE1", "--limit-kw", "11", "--prices", "tariff",
        "--capacity-url", "https://dso.example/c.json", "--capacity-refresh-seconds", "60",
        "--carbon-file", str(carbon), "--json",
    )  # fmt: skip
    assert code == 0, out
    site = json.loads(out)
    assert site["prices_from_tariff"] is True and site["prices"] is None
    assert site["capacity_url"] == "https://dso.example/c.json" and site["capacity_refresh_seconds"] == 60.0
    assert site["carbon_file"] == str(carbon.resolve())
    code, out = _run(tmp_path, "site", "list")
    assert "prices from the location's tariff" in out and "capacity from https://dso.example/c.json" in out
    code, out = _run(tmp_path, "site", "set", "SITE1", "--limit-kw", "11", "--prices", "0.2")
    assert (
        code == 0
        and json.loads(_run(tmp_path, "site", "list", "--json")[1])[0]["prices_from_tariff"] is False
    )
    code, out = _run(tmp_path, "site", "set", "SITE2", "--limit-kw", "5", "--capacity-url", "ftp://x/c.json")
    assert code != 0 and "http" in out
    code, out = _run(tmp_path, "site", "set", "SITE2", "--limit-kw", "5", "--prices", "cheap")
    assert code != 0 and "tariff" in out
