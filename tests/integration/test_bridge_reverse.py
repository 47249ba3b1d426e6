"""The gateway's other direction over real sockets: an OICP EMP charges at a charger it knows only through
the hub, which knows it only through the gateway, which knows it only from an OCPI CPO.

Four processes: the OICP test hub (mutual TLS, every message checked against Hubject's OpenAPI files); an
OCPI CPO (``evroam simulate``: simulated chargers); the gateway (``evroam serve --oicp-port --gateway``: an
OICP CPO connection ``DE*GWY``, an OCPI eMSP party registered with the CPO); an OICP EMP node
(``evroam serve --oicp-port``). The EMP pulls the CPO's EVSEs from the hub under the gateway's OperatorID,
starts a session by AuthorizeRemoteStart (an OCPI START_SESSION at the CPO), stops it by
AuthorizeRemoteStop, and receives the charging notifications and the OICP CDR, with the energy of the
CPO's OCPI CDR.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from evroam.core.clock import SystemClock
from evroam.sim import site
from tests.conftest import shared_path
from tests.integration.nodes import REPO_ROOT, NodeProcess, free_port, stop_all, wait_until
from tests.integration.test_bridge_gateway import PER_KWH, START_FEE, _connect, _tariffs_of, _traffic
from tests.integration.test_commands_e2e import SimulatedCpo
from tests.integration.test_oicp_cli import _listening
from tests.support.oicp_certs import Certificates

pytestmark = pytest.mark.slow

OPERATOR, PROVIDER = "DE*GWY", "DE-XYZ"
CONTRACT = "DE-XYZ-C12345678-9"
EVSE_AT_HUB = "DE*GWY*ENLCPOE1"  # the CPO's NL*CPO*E1 under the gateway's OperatorID


@pytest.fixture
def processes() -> Iterator[list[Any]]:
    started: list[Any] = []
    try:
        yield started
    finally:
        stop_all([p for p in started if isinstance(p, NodeProcess)])
        for p in started:
            if isinstance(p, subprocess.Popen):
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                if p.stderr is not None:
                    p.stderr.close()


def test_an_oicp_emp_charges_at_a_charger_known_only_through_ocpi(
    tmp_path: Path, processes: list[Any]
) -> None:
    certs = Certificates(tmp_path / "pki")
    hub_tls, gw_tls, emp_tls = certs.issue("hub"), certs.issue(OPERATOR), certs.issue(PROVIDER)
    hub_port, gw_oicp, emp_oicp = free_port(), free_port(), free_port()
    traffic = tmp_path / "traffic.jsonl"
    env = {"EVROAM_PUSH_POLL_INTERVAL": "0.05", "EVROAM_COMMANDS_GRACE": "1"}
    hub = subprocess.Popen(
        [
            sys.executable, "-m", "evroam", "oicp", "test-hub", "--port", str(hub_port),
            "--cert", hub_tls.cert, "--key", hub_tls.key, "--ca", hub_tls.ca,
            "--openapi", str(shared_path("spec", "oicp", "openapi")), "--traffic", str(traffic),
            "--partner", f"CPO:{OPERATOR}:https://127.0.0.1:{gw_oicp}",
            "--partner", f"EMP:{PROVIDER}:https://127.0.0.1:{emp_oicp}",
        ],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    processes.append(hub)
    hub_url = f"https://127.0.0.1:{hub_port}/api/oicp"

    cpo = SimulatedCpo("cpo", tmp_path / "cpo", free_port(), env=env)
    cpo.simulate_args = ("--speed", "60")
    gateway = NodeProcess("gateway", tmp_path / "gateway", free_port(), env=env)
    emp = NodeProcess("emp", tmp_path / "emp", free_port(), env=env)

    cpo.init("NL", "CPO", "CPO")
    (tmp_path / "locations.json").write_text(
        json.dumps(site.demo_locations("NL", "CPO", SystemClock().now()))
    )
    (tmp_path / "tariffs.json").write_text(json.dumps(_tariffs_of("NL", "CPO")))
    cpo.evroam("tariffs", "import", str(tmp_path / "tariffs.json"))
    cpo.evroam("locations", "import", str(tmp_path / "locations.json"))
    gateway.init("DE", "GWY", "CPO", "--role", "EMSP")
    emp.init("DE", "XYZ", "EMSP")

    wait_until(lambda: _listening(hub_port), timeout=30, what="the test hub")
    _connect(gateway, gw_tls, hub_url, "--operator-id", OPERATOR, "--name", "Gateway")
    _connect(emp, emp_tls, hub_url, "--provider-id", PROVIDER)

    cpo.start()
    processes.append(cpo)
    gateway.start(
        "--oicp-port", str(gw_oicp), "--gateway", "--gateway-every", "1", "--gateway-data-every", "2"
    )
    processes.append(gateway)
    emp.start("--oicp-port", str(emp_oicp))
    processes.append(emp)
    for node in (cpo, gateway, emp):
        node.wait_ready()
    invitation = cpo.json("partners", "invite", "gateway")
    gateway.evroam(
        "partners", "register", "--versions-url", invitation["versions_url"], "--name", "cpo",
        "--token", invitation["token"],
    )  # fmt: skip
    gateway.evroam("sync", "tariffs", "--partner", "cpo")
    gateway.evroam("sync", "locations", "--partner", "cpo")

    # -- the EMP finds the CPO's EVSEs at the hub, under the gateway's OperatorID ----------------------
    def at_hub() -> list[dict[str, Any]] | None:
        done = emp.evroam("oicp", "pull", "evse-data", "--full", "--json", check=False)
        if done.returncode != 0:
            return None
        found = [r for r in json.loads(done.stdout) if r.get("EvseID") == EVSE_AT_HUB]
        return found or None

    (record,) = wait_until(at_hub, timeout=60, what="the CPO's EVSE at the hub", interval=1.0)
    assert record["OperatorID"] == OPERATOR
    emp.evroam("oicp", "pull", "pricing", "--operator-id", OPERATOR)  # the CPO's tariffs, as the gateway's

    # -- AuthorizeRemoteStart at the hub: START_SESSION at the OCPI CPO -----------------------------
    started = json.loads(emp.evroam("oicp", "remote-start", EVSE_AT_HUB, CONTRACT).stdout)
    assert started["Result"] is True, started
    sid = started["SessionID"]

    def cpo_session() -> dict[str, Any] | None:
        for payload, _, _ in cpo.documents("session", own=True):
            session = json.loads(payload)
            if session.get("authorization_reference") == sid and Decimal(str(session["kwh"])) > 0:
                return dict(session)
        return None

    session = wait_until(cpo_session, timeout=60, what="the session charging at the OCPI CPO")
    assert (session["location_id"], session["evse_uid"]) == (site.LOCATION_ID, site.AC_EVSES[0])
    assert (session["cdr_token"]["country_code"], session["cdr_token"]["party_id"]) == ("DE", "GWY")
    assert session["cdr_token"]["contract_id"] == CONTRACT

    # the gateway has taken the session up (its own Session, for the hub's notifications) before the stop
    wait_until(
        lambda: [p for p, _, _ in gateway.documents("session", own=True) if sid.encode() in p],
        timeout=30,
        what="the gateway's own session",
    )
    stopped = json.loads(emp.evroam("oicp", "remote-stop", sid).stdout)
    assert stopped["Result"] is True, stopped

    def cpo_cdr() -> dict[str, Any] | None:
        for payload, _, _ in cpo.documents("cdr", own=True):
            found = json.loads(payload)["cdr"]
            if found.get("authorization_reference") == sid:
                return dict(found)
        return None

    ocpi_cdr = wait_until(cpo_cdr, timeout=60, what="the CPO's CDR")

    def emp_cdr() -> dict[str, Any] | None:
        done = emp.evroam("oicp", "cdrs", "list", "--json", check=False)
        if done.returncode != 0:
            return None
        return next((c for c in json.loads(done.stdout) if c["SessionID"] == sid), None)

    kept = wait_until(emp_cdr, timeout=60, what="the OICP CDR at the EMP", interval=0.5)
    assert kept["EvseID"] == EVSE_AT_HUB
    energy = Decimal(str(ocpi_cdr["total_energy"]))
    assert energy > 0 and Decimal(kept["ConsumedEnergy"]) == energy
    # priced by the EMP from the pricing products the gateway pushed (the CPO's tariff): as at the CPO
    expected = (START_FEE + PER_KWH * energy).quantize(Decimal("0.01"))
    assert Decimal(kept["price_excl_vat"]) == expected
    assert Decimal(str(ocpi_cdr["total_cost"]["before_taxes"])) == expected

    hub.terminate()
    hub.wait(timeout=30)
    exchanges = _traffic(traffic)
    assert [x for x in exchanges if x.get("errors")] == []
    notified = [
        x["request"]["Type"]
        for x in exchanges
        if x["operation"] == "eRoamingChargingNotifications" and x["direction"] == "in"
    ]
    assert notified[0] == "Start" and notified[-1] == "End"
