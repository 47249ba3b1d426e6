"""A Smart Charging Service Provider node over real sockets: ``evroam init --role SCSP`` (no other role)
registered with a CPO whose chargers are simulated, limiting a session that is not its own.

An SCSP owns no driver tokens, so the session is an eMSP's (a third node, whose only part is to start
it with its driver's token). The SCSP sets 3.7 kW on it: ACCEPTED, the result POSTed to the SCSP's own
response URL, the charger follows (the session's periods drop to 3.7 kW), the ActiveChargingProfile is
PUT to the SCSP (and not to the eMSP, which set nothing); GET answers the active profile; a clear
restores the EVSE's maximum. A partner that is neither the session's eMSP nor an SCSP gets
UNKNOWN_SESSION for the same session (``tests/unit/test_profiles_receiver.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from evroam.core.clock import SystemClock
from evroam.sim import site
from tests.integration.nodes import NodeProcess, free_port, stop_all, wait_until
from tests.integration.test_commands_e2e import SimulatedCpo, tokens_json
from tests.integration.test_profiles_e2e import LIMITED, _emsp_session, _locations, _run, _start, _volume

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nodes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[SimulatedCpo, NodeProcess, NodeProcess]]:
    tmp = tmp_path_factory.mktemp("scsp")
    env = {
        "EVROAM_PUSH_POLL_INTERVAL": "0.05",
        "EVROAM_COMMANDS_GRACE": "1",
        "EVROAM_PROFILES_MIN_INTERVAL": "0",
        "EVROAM_PROFILES_TIMEOUT": "5",
        "EVROAM_PROFILES_GRACE": "2",
    }
    cpo = SimulatedCpo("cpo", tmp / "cpo", free_port(), env=env)
    cpo.simulate_args = ("--speed", "60", "--meter-interval", "300", "--plug-delay", "5")
    scsp = NodeProcess("scsp", tmp / "scsp", free_port(), env=env)
    emsp = NodeProcess("emsp", tmp / "emsp", free_port(), env=env)
    try:
        (tmp / "locations.json").write_text(json.dumps(_locations()))
        (tmp / "tariffs.json").write_text(json.dumps(site.demo_tariffs("NL", "CPO", SystemClock().now())))
        (tmp / "tokens.json").write_text(json.dumps(tokens_json()))
        init = ("init", "--country-code")
        with ThreadPoolExecutor(max_workers=3) as pool:
            setups = [
                pool.submit(
                    lambda: (
                        cpo.evroam(*init, "NL", "--party-id", "CPO", "--role", "CPO", "--url", cpo.url),
                        cpo.evroam("tariffs", "import", str(tmp / "tariffs.json")),
                        cpo.evroam("locations", "import", str(tmp / "locations.json")),
                    )
                ),
                pool.submit(
                    lambda: scsp.evroam(*init, "NL", "--party-id", "SCP", "--role", "SCSP", "--url", scsp.url)
                ),
                pool.submit(
                    lambda: (
                        emsp.evroam(*init, "DE", "--party-id", "MSP", "--role", "EMSP", "--url", emsp.url),
                        emsp.evroam("tokens", "import", str(tmp / "tokens.json")),
                    )
                ),
            ]
            for setup in setups:
                setup.result()
        for node in (cpo, scsp, emsp):
            node.start()
        for node in (cpo, scsp, emsp):
            node.wait_ready()
        for name, node in (("scsp", scsp), ("emsp", emsp)):
            invitation = cpo.json("partners", "invite", name)
            node.evroam(
                "partners", "register", "--versions-url", invitation["versions_url"], "--name", "cpo",
                "--token", invitation["token"],
            )  # fmt: skip
        yield cpo, scsp, emsp
    finally:
        stop_all([emsp, scsp, cpo])


def test_an_scsp_node_limits_a_session_of_another_party(
    nodes: tuple[SimulatedCpo, NodeProcess, NodeProcess],
) -> None:
    cpo, scsp, emsp = nodes
    # the SCSP is known to the CPO as an SCSP, and lists only what an SCSP serves
    partners = {p["name"]: p for p in cpo.json("partners", "list")}
    assert [(r["role"], r["country_code"], r["party_id"]) for r in partners["scsp"]["roles"]] == [
        ("SCSP", "NL", "SCP")
    ]
    (cpo_seen_by_scsp,) = scsp.json("partners", "list")
    assert cpo_seen_by_scsp["status"] == "REGISTERED"

    session_id = _start(cpo, emsp, LIMITED)  # the eMSP's driver's session (token DE*MSP)

    status, limited = _run(scsp, "profiles", "set", session_id, "--partner", "cpo", "--limit-kw", "3.7")
    assert (status, limited["outcome"], limited["state"]) == (0, "ACCEPTED", "DONE"), limited
    assert limited["party"] == "NL*SCP"
    assert limited["response"] == {"result": "ACCEPTED", "timeout": 5}
    assert limited["result_source"] == "partner"  # POSTed by the CPO to the SCSP's response URL
    assert limited["response_url"] == f"{scsp.url}/ocpi/2.2.1/sender/chargingprofiles/set/{limited['id']}"

    received = cpo.json("profiles", "list", "--received")["requests"]
    (at_cpo,) = [r for r in received if r["type"] == "SET"]
    assert (at_cpo["partner"], at_cpo["party"], at_cpo["charger_answer"]) == ("scsp", "NL*SCP", "ACCEPTED")
    assert at_cpo["profile"] == limited["profile"]

    # the charger follows: periods at 3.7 kW reach the session's eMSP
    def limited_period() -> dict[str, Any] | None:
        periods = _emsp_session(emsp, session_id).get("charging_periods") or []
        return next((p for p in periods if _volume(p, "MAX_POWER") == Decimal("3.7")), None)

    wait_until(limited_period, timeout=60, what="a charging period at 3.7 kW")

    # the ActiveChargingProfile goes to the SCSP, which set the profile, and not to the eMSP
    def active_at(node: NodeProcess) -> dict[str, Any] | None:
        listing = node.json("profiles", "list")
        return next((a for a in listing["active_profiles"] if a["session"] == session_id), None)

    active = wait_until(lambda: active_at(scsp), timeout=20, what="the ActiveChargingProfile at the SCSP")
    assert active["active"]["charging_profile"]["charging_profile_period"][0] == {
        "start_period": 0,
        "limit": 3700.0,
    }
    assert active_at(emsp) is None

    status, asked = _run(scsp, "profiles", "get", session_id, "--duration", "600")
    assert (status, asked["outcome"], asked["partner"]) == (0, "ACCEPTED", "cpo"), asked
    assert asked["active"]["charging_profile"]["charging_profile_period"][0]["limit"] == 3700.0

    status, cleared = _run(scsp, "profiles", "clear", session_id)
    assert (status, cleared["outcome"]) == (0, "ACCEPTED"), cleared

    def restored() -> dict[str, Any] | None:
        found = active_at(scsp)
        period = None if found is None else found["active"]["charging_profile"]["charging_profile_period"][0]
        return found if period is not None and period["limit"] > 3700 else None

    back = wait_until(restored, timeout=20, what="the EVSE's maximum at the SCSP after the clear")
    assert back["active"]["charging_profile"]["charging_profile_period"][0]["limit"] == 22080.0
    assert active_at(emsp) is None
    _run(emsp, "commands", "stop-session", "--partner", "cpo", "--session", session_id)
