"""Charging profiles and charging preferences over real sockets: an eMSP node (``evroam serve``) and a CPO
node whose chargers are simulated (``evroam simulate``), driven through the CLI as an operator would.

A session charging at full power (the car takes 11 kW) is limited to 3.7 kW: the set is ACCEPTED, its
result reaches the eMSP, the charging periods after it carry at most 3.7 kW x their duration of energy
(within 2 %), the ActiveChargingProfile reaches the eMSP; the rate limit answers TOO_OFTEN; clearing
restores full power; the CDR is priced from the limited periods. An unknown session is UNKNOWN_SESSION,
an EVSE without CHARGING_PROFILE_CAPABLE NOT_SUPPORTED. The driver's charging preferences reach the CPO
and show in its ``evroam sessions show``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from evroam.core.clock import SystemClock
from evroam.core.types import DateTime
from evroam.sim import site
from tests.integration.nodes import NodeProcess, free_port, stop_all, wait_until
from tests.integration.test_commands_e2e import SimulatedCpo, tokens_json

pytestmark = pytest.mark.slow

TOKEN = "APP-0001"
LIMITED = site.AC_EVSES[0]
INCAPABLE = site.AC_EVSES[1]
FULL_KW = Decimal(11)  # the simulated car's AC maximum (the connector gives 22 kW)
LIMIT_KW = Decimal("3.7")


def _locations() -> list[dict[str, Any]]:
    locations = site.demo_locations("NL", "CPO", SystemClock().now())
    for evse in locations[0]["evses"]:
        if evse["uid"] == INCAPABLE:
            evse["capabilities"] = [c for c in evse["capabilities"] if c != "CHARGING_PROFILE_CAPABLE"]
    return locations


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimulatedCpo, NodeProcess]]:
    tmp = tmp_path_factory.mktemp("profiles")
    env = {
        "EVROAM_PUSH_POLL_INTERVAL": "0.05",
        "EVROAM_COMMANDS_GRACE": "1",
        "EVROAM_PROFILES_MIN_INTERVAL": "5",
        "EVROAM_PROFILES_TIMEOUT": "5",
        "EVROAM_PROFILES_GRACE": "2",
    }
    cpo = SimulatedCpo("cpo", tmp / "cpo", free_port(), env=env)
    cpo.simulate_args = ("--speed", "60", "--meter-interval", "300", "--plug-delay", "5")
    emsp = NodeProcess("emsp", tmp / "emsp", free_port(), env=env)
    try:
        (tmp / "locations.json").write_text(json.dumps(_locations()))
        (tmp / "tariffs.json").write_text(json.dumps(site.demo_tariffs("NL", "CPO", SystemClock().now())))
        (tmp / "tokens.json").write_text(json.dumps(tokens_json()))
        init = ("init", "--country-code")
        with ThreadPoolExecutor(max_workers=2) as pool:
            cpo_setup = pool.submit(
                lambda: (
                    cpo.evroam(*init, "NL", "--party-id", "CPO", "--role", "CPO", "--url", cpo.url),
                    cpo.evroam("tariffs", "import", str(tmp / "tariffs.json")),
                    cpo.evroam("locations", "import", str(tmp / "locations.json")),
                )
            )
            emsp_setup = pool.submit(
                lambda: (
                    emsp.evroam(*init, "DE", "--party-id", "MSP", "--role", "EMSP", "--url", emsp.url),
                    emsp.evroam("tokens", "import", str(tmp / "tokens.json")),
                )
            )
            cpo_setup.result()
            emsp_setup.result()
        cpo.start()
        emsp.start()
        cpo.wait_ready()
        emsp.wait_ready()
        invitation = cpo.json("partners", "invite", "emsp")
        register = ("partners", "register", "--versions-url", invitation["versions_url"], "--name", "cpo")
        emsp.evroam(*register, "--token", invitation["token"])
        yield cpo, emsp
    finally:
        stop_all([emsp, cpo])


def _run(node: NodeProcess, *args: str) -> tuple[int, dict[str, Any]]:
    done = node.evroam(*args, "--json", check=False)
    assert done.stdout, f"no output (exit {done.returncode}): {done.stderr[-2000:]}"
    return done.returncode, json.loads(done.stdout)


def _start(cpo: NodeProcess, emsp: NodeProcess, evse: str) -> str:
    status, started = _run(
        emsp, "commands", "start-session", "--partner", "cpo", "--location", site.LOCATION_ID, "--evse", evse,
        "--token", TOKEN,
    )  # fmt: skip
    assert (status, started["outcome"]) == (0, "ACCEPTED"), started
    reference = started["request"]["authorization_reference"]

    def probe() -> str | None:
        for payload, _, _ in emsp.documents("session"):
            session = json.loads(payload)
            if session.get("authorization_reference") == reference:
                return str(session["id"])
        return None

    return wait_until(probe, timeout=30, what="the session to reach the eMSP")


def _emsp_session(emsp: NodeProcess, session_id: str) -> dict[str, Any]:
    for payload, _, _ in emsp.documents("session"):
        session = json.loads(payload)
        if session["id"] == session_id:
            return session
    raise AssertionError(f"no session {session_id} at the eMSP")


def _volume(period: dict[str, Any], kind: str) -> Decimal:
    return sum((Decimal(str(d["volume"])) for d in period["dimensions"] if d["type"] == kind), Decimal(0))


def _periods_at(
    emsp: NodeProcess, session_id: str, power: Decimal, count: int, since: DateTime | None = None
) -> list[dict[str, Any]]:
    """``count`` charging periods of the session at the eMSP that began at ``power`` kW (after ``since``)."""

    def probe() -> list[dict[str, Any]] | None:
        periods = _emsp_session(emsp, session_id).get("charging_periods") or []
        found = [
            p
            for p in periods
            if _volume(p, "MAX_POWER") == power
            and (since is None or DateTime.parse(p["start_date_time"]) >= since)
        ]
        return found[:count] if len(found) >= count else None

    return wait_until(probe, timeout=60, what=f"{count} charging periods at {power} kW at the eMSP")


def test_a_limit_travels_to_the_charger_and_back(nodes: tuple[SimulatedCpo, NodeProcess]) -> None:
    cpo, emsp = nodes
    session_id = _start(cpo, emsp, LIMITED)
    _periods_at(emsp, session_id, FULL_KW, 1)  # the car charges at its full 11 kW first

    status, limited = _run(
        emsp, "profiles", "set", session_id, "--partner", "cpo", "--limit-kw", str(LIMIT_KW)
    )
    assert (status, limited["outcome"], limited["state"]) == (0, "ACCEPTED", "DONE"), limited
    assert limited["response"] == {"result": "ACCEPTED", "timeout": 5}
    assert limited["result_source"] == "partner"
    assert limited["response_url"] == f"{emsp.url}/ocpi/2.2.1/sender/chargingprofiles/set/{limited['id']}"
    assert limited["profile"]["charging_profile_period"] == [{"start_period": 0, "limit": 3700.0}]

    status, too_soon = _run(emsp, "profiles", "set", session_id, "--partner", "cpo", "--limit-kw", "5")
    assert (status, too_soon["outcome"], too_soon["state"]) == (1, "TOO_OFTEN", "REFUSED")

    # the periods that start once the limit is in force: at most 3.7 kW x their duration (within 2 %)
    received = [json.loads(p) for p, _, _ in cpo.documents("profile_received")]
    set_record = next(r for r in received if r["id"] and r["type"] == "SET" and r["result"] == "ACCEPTED")
    assert set_record["charger_answer"] == "ACCEPTED"
    periods = _periods_at(emsp, session_id, LIMIT_KW, 2)
    figures = []
    for period in periods:
        hours, energy = _volume(period, "TIME"), _volume(period, "ENERGY")
        assert _volume(period, "MAX_POWER") == LIMIT_KW
        assert hours > 0
        assert energy <= LIMIT_KW * hours * Decimal("1.02"), (energy, hours)
        assert energy >= LIMIT_KW * hours * Decimal("0.98"), (energy, hours)  # it follows the limit
        figures.append((energy, LIMIT_KW * hours))
    print("limited periods (energy kWh, 3.7 kW x duration):", figures)

    # the ActiveChargingProfile reached the eMSP
    def active() -> dict[str, Any] | None:
        _, listing = _run(emsp, "profiles", "list")
        return next((a for a in listing["active_profiles"] if a["session"] == session_id), None)

    got = wait_until(active, timeout=20, what="the ActiveChargingProfile at the eMSP")
    profile = got["active"]["charging_profile"]
    assert profile["charging_rate_unit"] == "W"
    assert profile["charging_profile_period"][0] == {"start_period": 0, "limit": 3700.0}

    status, asked = _run(emsp, "profiles", "get", session_id, "--duration", "900")
    assert (status, asked["outcome"]) == (0, "ACCEPTED"), asked
    assert asked["active"]["charging_profile"]["charging_profile_period"][0]["limit"] == 3700.0

    # clearing restores full power (the rate limit: 5 s after the set)
    wait_until(
        lambda: _run(emsp, "profiles", "clear", session_id)[1]["outcome"] != "TOO_OFTEN" or None,
        timeout=20,
        what="a clear after the rate limit",
    )
    cleared = [r for r in _run(emsp, "profiles", "list")[1]["requests"] if r["type"] == "CLEAR"][-1]
    assert cleared["outcome"] == "ACCEPTED", cleared
    limited_starts = [
        DateTime.parse(p["start_date_time"])
        for p in _emsp_session(emsp, session_id)["charging_periods"]
        if _volume(p, "MAX_POWER") == LIMIT_KW
    ]
    restored = _periods_at(emsp, session_id, FULL_KW, 2, since=max(limited_starts))
    print(
        "periods after the clear:",
        [(p["start_date_time"], _volume(p, "ENERGY"), _volume(p, "TIME")) for p in restored],
    )
    hours = sum((_volume(p, "TIME") for p in restored), Decimal(0))
    energy = sum((_volume(p, "ENERGY") for p in restored), Decimal(0))
    assert abs(energy - FULL_KW * hours) <= FULL_KW * hours * Decimal("0.02"), (energy, hours)
    got = wait_until(
        lambda: (
            (a := active())
            and a["active"]["charging_profile"]["charging_profile_period"][0]["limit"] > 3700
            and a
        ),
        timeout=20,
        what="the ActiveChargingProfile after the clear",
    )
    assert (
        got["active"]["charging_profile"]["charging_profile_period"][0]["limit"] == 22080.0
    )  # the EVSE's maximum

    # the driver's charging preferences reach the CPO
    departure = (SystemClock().now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, sent = _run(
        emsp, "sessions", "preferences", session_id, "--departure", departure, "--energy-kwh", "20",
        "--profile-type", "CHEAP",
    )  # fmt: skip
    assert (status, sent["answer"]) == (0, "ACCEPTED")
    shown = cpo.json("sessions", "show", session_id)
    assert shown["charging_preferences"]["profile_type"] == "CHEAP"
    assert Decimal(str(shown["charging_preferences"]["energy_need"])) == 20
    status, refused = _run(emsp, "sessions", "preferences", session_id, "--profile-type", "GREEN")
    assert (status, refused["answer"]) == (1, "DEPARTURE_REQUIRED")

    # the CDR: priced from the limited periods
    status, stopped = _run(emsp, "commands", "stop-session", "--partner", "cpo", "--session", session_id)
    assert status == 0, stopped

    def cdr() -> dict[str, Any] | None:
        for payload, _, _ in emsp.documents("cdr"):
            document = json.loads(payload)
            if document["cdr"]["session_id"] == session_id:
                return dict(document["cdr"])
        return None

    record = wait_until(cdr, timeout=30, what="the CDR at the eMSP")
    final = _emsp_session(emsp, session_id)
    assert Decimal(str(record["total_energy"])) == Decimal(str(final["kwh"]))
    full_power_energy = FULL_KW * Decimal(str(record["total_time"]))
    assert Decimal(str(record["total_energy"])) < full_power_energy * Decimal("0.9")  # the limit shows
    assert Decimal(str(record["total_cost"]["before_taxes"])) > 0  # priced by the tariff engine
    # the CDR is priced from the session's readings, the limited periods among them (the tariff engine
    # makes one CDR period per tariff period): its energy is theirs
    session_energy = sum((_volume(p, "ENERGY") for p in final["charging_periods"]), Decimal(0))
    assert Decimal(str(record["total_energy"])) == session_energy
    assert sum((_volume(p, "ENERGY") for p in record["charging_periods"]), Decimal(0)) == session_energy
    print("CDR:", record["total_energy"], "kWh over", record["total_time"], "h; at 11 kW:", full_power_energy)


def test_refusals(nodes: tuple[SimulatedCpo, NodeProcess]) -> None:
    cpo, emsp = nodes
    status, unknown = _run(emsp, "profiles", "set", "NO-SUCH-SESSION", "--partner", "cpo", "--limit-kw", "3")
    assert (status, unknown["outcome"], unknown["state"]) == (1, "UNKNOWN_SESSION", "REFUSED")

    session_id = _start(cpo, emsp, INCAPABLE)  # its EVSE does not list CHARGING_PROFILE_CAPABLE
    status, refused = _run(
        emsp, "profiles", "set", session_id, "--partner", "cpo", "--limit-a", "16", "--phases", "3"
    )
    assert (status, refused["outcome"]) == (1, "NOT_SUPPORTED")
    _run(emsp, "commands", "stop-session", "--partner", "cpo", "--session", session_id)
