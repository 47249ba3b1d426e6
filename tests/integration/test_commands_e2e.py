"""Every command type over real sockets: an eMSP node (``evroam serve``) sends commands with the
``evroam commands`` CLI to a CPO node whose chargers are simulated (``evroam simulate``); the CLI waits
for the result the CPO POSTs to the command's own URL. One EVSE's charger is offline: a command to it
ends in TIMEOUT at the eMSP. And when the CPO itself goes away, the eMSP decides TIMEOUT on its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

import pytest

from evroam.sim import site
from tests.integration.nodes import REPO_ROOT, NodeProcess, free_port, stop_all, wait_until

pytestmark = pytest.mark.slow

TOKEN = "APP-0001"
OFFLINE = site.AC_EVSES[1]
COMMAND_TIMEOUT = "2"


class SimulatedCpo(NodeProcess):
    """A CPO node served by ``evroam simulate`` (its chargers simulated) instead of ``serve``."""

    simulate_args: tuple[str, ...] = ()

    def _popen_serve(self, log: IO[bytes], serve_args: Sequence[str]) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "evroam",
            "--data-dir",
            str(self.data_dir),
            "--log-level",
            self.log_level,
        ]
        command += ["simulate", "--port", str(self.port), *self.simulate_args, *serve_args]
        return subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=log, env=self.environ(), cwd=REPO_ROOT
        )


def tokens_json() -> list[dict[str, Any]]:
    return [
        {
            "country_code": "DE",
            "party_id": "MSP",
            "uid": TOKEN,
            "type": "APP_USER",
            "contract_id": "DE-MSP-C00001-1",
            "issuer": "eMSP GmbH",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": "2026-01-01T00:00:00Z",
        }
    ]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimulatedCpo, NodeProcess]]:
    tmp = tmp_path_factory.mktemp("commands")
    env = {"EVROAM_PUSH_POLL_INTERVAL": "0.05", "EVROAM_COMMANDS_GRACE": "1"}
    cpo = SimulatedCpo("cpo", tmp / "cpo", free_port(), env=env)
    cpo.simulate_args = ("--speed", "60", "--offline-evse", OFFLINE, "--command-timeout", COMMAND_TIMEOUT)
    emsp = NodeProcess("emsp", tmp / "emsp", free_port(), env=env)
    try:
        locations = tmp / "locations.json"
        locations.write_text(json.dumps(site.demo_locations("NL", "CPO", _now())))
        tokens = tmp / "tokens.json"
        tokens.write_text(json.dumps(tokens_json()))
        with ThreadPoolExecutor(max_workers=2) as pool:  # the two nodes are independent until registered
            cpo_setup = pool.submit(
                lambda: (
                    cpo.evroam(
                        "init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--url", cpo.url
                    ),
                    cpo.evroam("locations", "import", str(locations)),
                )
            )
            emsp_setup = pool.submit(
                lambda: (
                    emsp.evroam(
                        "init",
                        "--country-code",
                        "DE",
                        "--party-id",
                        "MSP",
                        "--role",
                        "EMSP",
                        "--url",
                        emsp.url,
                    ),
                    emsp.evroam("tokens", "import", str(tokens)),
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


def _now() -> Any:
    from evroam.core.clock import SystemClock

    return SystemClock().now()


def command(emsp: NodeProcess, *args: str) -> tuple[int, dict[str, Any]]:
    """``evroam commands ARGS --partner cpo --json`` on the eMSP: its exit status and the record."""
    done = emsp.evroam("commands", *args, "--partner", "cpo", "--json", check=False)
    assert done.stdout, f"no output (exit {done.returncode}): {done.stderr[-2000:]}"
    return done.returncode, json.loads(done.stdout)


def session_id_at_cpo(cpo: NodeProcess, reference: str) -> str:
    def probe() -> str | None:
        for payload, _, _ in cpo.documents("session"):
            session = json.loads(payload)
            if session.get("authorization_reference") == reference:
                return str(session["id"])
        return None

    return wait_until(probe, timeout=20, what="the session to start at the CPO")


def test_start_and_stop_session(nodes: tuple[SimulatedCpo, NodeProcess]) -> None:
    cpo, emsp = nodes
    status, started = command(
        emsp, "start-session", "--location", site.LOCATION_ID, "--evse", site.AC_EVSES[0], "--token", TOKEN
    )
    assert (status, started["outcome"], started["state"]) == (0, "ACCEPTED", "DONE")
    assert started["response"]["result"] == "ACCEPTED" and started["response"]["timeout"] == int(
        COMMAND_TIMEOUT
    )
    assert [r["source"] for r in started["results"]] == ["partner"]
    assert started["response_url"] == f"{emsp.url}/ocpi/2.2.1/sender/commands/{started['id']}"

    session_id = session_id_at_cpo(cpo, started["request"]["authorization_reference"])
    status, stopped = command(emsp, "stop-session", "--session", session_id)
    assert (status, stopped["outcome"]) == (0, "ACCEPTED")

    status, again = command(emsp, "stop-session", "--session", session_id)
    assert (status, again["outcome"], again["state"]) == (1, "UNKNOWN_SESSION", "REFUSED")

    received = [json.loads(payload) for payload, _, _ in cpo.documents("command_received")]
    assert [(r["type"], r["charger_answer"]) for r in received[:2]] == [
        ("START_SESSION", "ACCEPTED"),
        ("STOP_SESSION", "ACCEPTED"),
    ]


def test_reserve_and_cancel_reservation(nodes: tuple[SimulatedCpo, NodeProcess]) -> None:
    _, emsp = nodes
    args = ("--location", site.LOCATION_ID, "--evse", site.DC_EVSE, "--token", TOKEN, "--minutes", "600")
    status, reserved = command(emsp, "reserve", *args, "--reservation-id", "R-77")
    assert (status, reserved["outcome"]) == (0, "ACCEPTED")
    status, cancelled = command(emsp, "cancel-reservation", "--reservation-id", "R-77")
    assert (status, cancelled["outcome"]) == (0, "ACCEPTED")
    status, unknown = command(emsp, "cancel-reservation", "--reservation-id", "R-77")
    assert (status, unknown["outcome"]) == (1, "UNKNOWN_RESERVATION")


def test_unlock_connector(nodes: tuple[SimulatedCpo, NodeProcess]) -> None:
    _, emsp = nodes
    status, unlocked = command(
        emsp, "unlock", "--location", site.LOCATION_ID, "--evse", site.AC_EVSES[0], "--connector", "1"
    )
    assert (status, unlocked["outcome"]) == (0, "ACCEPTED")
    status, unknown = command(
        emsp, "unlock", "--location", site.LOCATION_ID, "--evse", "NO-SUCH-EVSE", "--connector", "1"
    )
    assert (status, unknown["outcome"], unknown["state"]) == (1, "REJECTED", "REFUSED")
    assert "2003" in unknown["error"]


def test_a_charger_that_never_answers_gives_timeout_at_the_emsp(
    nodes: tuple[SimulatedCpo, NodeProcess],
) -> None:
    cpo, emsp = nodes
    begun = time.monotonic()
    status, record = command(
        emsp, "unlock", "--location", site.LOCATION_ID, "--evse", OFFLINE, "--connector", "1"
    )
    assert (status, record["outcome"]) == (1, "TIMEOUT")
    assert record["response"]["result"] == "ACCEPTED"  # the CPO forwarded it, then gave up waiting
    assert [r["source"] for r in record["results"]] == ["partner"]  # the CPO reported the TIMEOUT
    assert time.monotonic() - begun >= int(COMMAND_TIMEOUT)
    (received,) = [
        r
        for r in cpo.json("commands", "list", "--received")
        if r["id"] and r["request"].get("evse") == OFFLINE
    ]
    assert (received["charger_answer"], received["result"]["result"]) == ("NO_ANSWER", "TIMEOUT")


def test_the_emsp_decides_timeout_when_the_cpo_goes_away(nodes: tuple[SimulatedCpo, NodeProcess]) -> None:
    cpo, emsp = nodes
    status, record = command(
        emsp,
        "start-session",
        "--location",
        site.LOCATION_ID,
        "--evse",
        OFFLINE,
        "--token",
        TOKEN,
        "--no-wait",
    )
    assert (status, record["state"]) == (0, "WAITING")
    cpo.kill()  # the CPO will never POST a result
    deadline = int(COMMAND_TIMEOUT) + 1  # the announced timeout plus EVROAM_COMMANDS_GRACE
    time.sleep(deadline + 0.2)
    shown = emsp.json("commands", "show", record["id"])
    assert shown["outcome"] == "TIMEOUT"
    assert [r["source"] for r in shown["results"]] == ["local"]
