"""The OCPI <-> OICP gateway over real sockets: an OCPI eMSP starts a session at a charger it knows only
through the gateway, which knows it only through the OICP hub.

Four processes: the OICP test hub (mutual TLS, every message checked against Hubject's OpenAPI files), an
OICP CPO (``evroam simulate --oicp-port``: simulated chargers, EVSE data and pricing pushed to the hub), the
gateway (``evroam serve --oicp-port --gateway``: an OICP EMP connection, an OCPI CPO party) and an OCPI eMSP
registered with the gateway only. The eMSP receives the CPO's EVSEs from the gateway (eMI3 EVSE ids kept),
starts a session by START_SESSION, stops it by STOP_SESSION, and receives the OCPI Session and the CDR,
priced with the pricing product the CPO pushed to the hub. Then a card of the eMSP (whitelist NEVER) swiped
at an OICP charger: the hub asks the gateway's EMP, which asks the eMSP in real time, and the session's CDR
reaches the eMSP as an OCPI CDR (AUTH_REQUEST).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from evroam.core.clock import SystemClock
from evroam.http.oicp import OicpClient
from evroam.oicp import messages as om
from evroam.oicp.operations import by_name
from evroam.sim import site
from tests.conftest import shared_path
from tests.integration.nodes import REPO_ROOT, NodeProcess, free_port, stop_all, wait_until
from tests.integration.test_commands_e2e import SimulatedCpo
from tests.integration.test_oicp_cli import _listening
from tests.support.oicp_certs import Certificates

pytestmark = pytest.mark.slow

OPERATOR, PROVIDER = "DE*ABC", "DE-GWY"
TOKEN_UID = "APP-USER-0001"
CONTRACT = "DE-MSP-C12345678-1"  # an EvcoID: OICP starts by contract ID
START_FEE, PER_KWH = Decimal("1.00"), Decimal("0.30")


def _tariffs_of(country_code: str, party_id: str) -> list[dict[str, Any]]:
    """A CPO's tariffs: 1.00 to start plus 0.30 per kWh (both OICP can carry as a pricing product)."""
    stamp = "2026-03-02T09:00:00Z"
    return [
        {
            "country_code": country_code,
            "party_id": party_id,
            "id": tariff_id,
            "currency": "EUR",
            "elements": [
                {
                    "price_components": [
                        {"type": "FLAT", "price": float(START_FEE), "step_size": 1},
                        {"type": "ENERGY", "price": float(PER_KWH), "step_size": 1},
                    ]
                }
            ],
            "last_updated": stamp,
        }
        for tariff_id in (site.AC_TARIFF, site.DC_TARIFF)
    ]


def _token(path: Path) -> None:
    token = {
        "country_code": "DE",
        "party_id": "MSP",
        "uid": TOKEN_UID,
        "type": "APP_USER",
        "contract_id": CONTRACT,
        "issuer": "MSP",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2026-03-02T09:00:00Z",
    }
    path.write_text(json.dumps([token]))


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


CARD_UID = "AABBCCDD"
CARD_ENERGY = Decimal("12.5")


def _card(path: Path) -> None:
    token = {
        "country_code": "DE",
        "party_id": "MSP",
        "uid": CARD_UID,
        "type": "RFID",
        "contract_id": "DE-MSP-C87654321-2",
        "issuer": "MSP",
        "valid": True,
        "whitelist": "NEVER",  # the CPO (here the gateway) must ask the eMSP every time
        "last_updated": "2026-03-02T09:00:00Z",
    }
    path.write_text(json.dumps([token]))


async def _swipe_and_charge(hub_port: int, cpo_tls: Any) -> str:
    """Play the OICP CPO at the hub: the card at E3 (AuthorizeStart), charging (Start), the CDR."""
    card = om.Identification(RFIDMifareFamilyIdentification=om.RFIDMifareFamilyIdentification(UID=CARD_UID))
    start = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    async with OicpClient(f"https://127.0.0.1:{hub_port}", cpo_tls, rate_limits=False) as hub:
        answer = await hub.call(
            by_name("eRoamingAuthorizeStart"),
            OPERATOR,
            om.AuthorizeStart(OperatorID=OPERATOR, EvseID="DE*ABC*E3", Identification=card),
        )
        assert answer.AuthorizationStatus is om.AuthorizationStatus.AUTHORIZED, answer
        assert answer.ProviderID == PROVIDER and answer.SessionID
        sid = str(answer.SessionID)
        common = {"SessionID": sid, "EvseID": "DE*ABC*E3", "OperatorID": OPERATOR, "Identification": card}
        ack = await hub.call(
            by_name("eRoamingChargingNotifications"),
            None,
            om.ChargingNotificationStart(**common, ChargingStart=start, SessionStart=start),
        )
        assert ack.Result, ack
        cdr = om.ChargeDetailRecord(
            SessionID=sid,
            EvseID="DE*ABC*E3",
            Identification=card,
            ChargingStart=start,
            ChargingEnd=start + timedelta(minutes=20),
            SessionStart=start,
            SessionEnd=start + timedelta(minutes=25),
            ConsumedEnergy=CARD_ENERGY,
        )
        ack = await hub.call(by_name("eRoamingChargeDetailRecord"), OPERATOR, cdr)
        assert ack.Result, ack
    return sid


def _connect(node: NodeProcess, tls: Any, hub_url: str, *extra: str) -> None:
    node.evroam(
        "oicp", "connect", "--hub-url", hub_url, *extra, "--cert", tls.cert, "--key", tls.key, "--ca", tls.ca,
    )  # fmt: skip


def _traffic(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_an_ocpi_emsp_charges_at_a_charger_known_only_through_oicp(
    tmp_path: Path, processes: list[Any]
) -> None:
    certs = Certificates(tmp_path / "pki")
    hub_tls, cpo_tls, gw_tls = certs.issue("hub"), certs.issue(OPERATOR), certs.issue(PROVIDER)
    hub_port, cpo_oicp, gw_oicp = free_port(), free_port(), free_port()
    traffic = tmp_path / "traffic.jsonl"
    env = {"EVROAM_PUSH_POLL_INTERVAL": "0.05"}
    hub = subprocess.Popen(
        [
            sys.executable, "-m", "evroam", "oicp", "test-hub", "--port", str(hub_port),
            "--cert", hub_tls.cert, "--key", hub_tls.key, "--ca", hub_tls.ca,
            "--openapi", str(shared_path("spec", "oicp", "openapi")), "--traffic", str(traffic),
            "--partner", f"CPO:{OPERATOR}:https://127.0.0.1:{cpo_oicp}",
            "--partner", f"EMP:{PROVIDER}:https://127.0.0.1:{gw_oicp}",
        ],
        cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    processes.append(hub)
    hub_url = f"https://127.0.0.1:{hub_port}/api/oicp"

    cpo = SimulatedCpo("cpo", tmp_path / "cpo", free_port(), env=env)
    cpo.simulate_args = ("--speed", "60")
    gateway = NodeProcess("gateway", tmp_path / "gateway", free_port(), env=env)
    emsp = NodeProcess("emsp", tmp_path / "emsp", free_port(), env=env)

    cpo.init("DE", "ABC", "CPO")
    (tmp_path / "locations.json").write_text(
        json.dumps(site.demo_locations("DE", "ABC", SystemClock().now()))
    )
    (tmp_path / "tariffs.json").write_text(json.dumps(_tariffs_of("DE", "ABC")))
    cpo.evroam("tariffs", "import", str(tmp_path / "tariffs.json"))
    cpo.evroam("locations", "import", str(tmp_path / "locations.json"))
    gateway.init("DE", "GWY", "CPO")
    emsp.init("DE", "MSP", "EMSP")
    _token(tmp_path / "tokens.json")
    emsp.evroam("tokens", "import", str(tmp_path / "tokens.json"))

    wait_until(lambda: _listening(hub_port), timeout=30, what="the test hub")
    _connect(cpo, cpo_tls, hub_url, "--operator-id", OPERATOR, "--name", "ABC Charging")
    assert cpo.evroam("oicp", "push", "evse-data", "--full").stdout.strip() == "pushed"
    cpo.evroam("oicp", "push", "pricing")
    _connect(gateway, gw_tls, hub_url, "--provider-id", PROVIDER)

    cpo.start("--oicp-port", str(cpo_oicp))
    processes.append(cpo)
    gateway.start(
        "--oicp-port", str(gw_oicp), "--gateway", "--gateway-every", "1", "--gateway-data-every", "2"
    )
    processes.append(gateway)
    emsp.start()
    processes.append(emsp)
    for node in (cpo, gateway, emsp):
        node.wait_ready()
    invitation = gateway.json("partners", "invite", "emsp")
    emsp.evroam(
        "partners", "register", "--versions-url", invitation["versions_url"], "--name", "gateway",
        "--token", invitation["token"],
    )  # fmt: skip

    # -- the eMSP sees the CPO's EVSEs, known to the gateway only through the hub ---------------------
    emsp.evroam("sync", "tariffs", "--partner", "gateway")
    emsp.evroam("sync", "locations", "--partner", "gateway")

    def received_location() -> dict[str, Any] | None:
        for payload, _, _ in emsp.documents("location", own=False):
            location = json.loads(payload)
            ids = sorted(str(e.get("evse_id")) for e in location.get("evses", []))
            if ids == ["DE*ABC*E1", "DE*ABC*E2", "DE*ABC*E3"] and all(
                e["status"] == "AVAILABLE" for e in location["evses"]
            ):
                return location
        return None

    location = wait_until(received_location, timeout=60, what="the CPO's location at the eMSP")
    assert (location["country_code"], location["party_id"]) == ("DE", "GWY")
    assert location["operator"]["name"] == "ABC Charging"
    evse = next(e for e in location["evses"] if e["evse_id"] == "DE*ABC*E1")
    assert "REMOTE_START_STOP_CAPABLE" in evse["capabilities"]
    tariff_ids = evse["connectors"][0]["tariff_ids"]
    assert tariff_ids  # the CPO's pricing product for this EVSE, as a tariff of the gateway
    tariffs = [json.loads(p) for p, _, _ in emsp.documents("tariff", own=False)]
    tariff = next(t for t in tariffs if t["id"] == tariff_ids[0])
    components = {c["type"]: Decimal(str(c["price"])) for c in tariff["elements"][0]["price_components"]}
    assert components == {"FLAT": START_FEE, "ENERGY": PER_KWH}

    # -- a status change at the CPO: pushed to the hub, pulled by the gateway, PATCHed to the eMSP -------
    cpo.evroam("locations", "set-status", site.AC_EVSES[1], "INOPERATIVE")

    def e2_status() -> str | None:
        for payload, _, _ in emsp.documents("location", own=False):
            for e in json.loads(payload).get("evses", []):
                if e.get("evse_id") == "DE*ABC*E2" and e["status"] != "AVAILABLE":
                    return str(e["status"])
        return None

    assert wait_until(e2_status, timeout=60, what="E2's new status at the eMSP") == "OUTOFORDER"

    # -- START_SESSION at the gateway becomes an OICP remote start at the CPO ---------------------------
    done = emsp.evroam(
        "commands", "start-session", "--location", location["id"], "--evse", evse["uid"],
        "--token", TOKEN_UID, "--partner", "gateway", "--json", check=False,
    )  # fmt: skip
    started = json.loads(done.stdout)
    assert (done.returncode, started["outcome"]) == (0, "ACCEPTED"), started

    def active_session() -> dict[str, Any] | None:
        for payload, _, _ in emsp.documents("session", own=False):
            session = json.loads(payload)
            if session["status"] == "ACTIVE" and Decimal(str(session["kwh"])) > 0:
                return session
        return None

    session = wait_until(active_session, timeout=60, what="the OCPI session, charging, at the eMSP")
    assert session["location_id"] == location["id"] and session["evse_uid"] == evse["uid"]
    assert session["cdr_token"]["uid"] == TOKEN_UID and session["auth_method"] == "COMMAND"
    hubject_session = session["id"]  # Hubject's SessionID is the OCPI session id

    # -- STOP_SESSION: an OICP remote stop; the CPO's CDR comes back as an OCPI CDR -------------------
    done = emsp.evroam(
        "commands",
        "stop-session",
        "--session",
        hubject_session,
        "--partner",
        "gateway",
        "--json",
        check=False,
    )
    stopped = json.loads(done.stdout)
    assert (done.returncode, stopped["outcome"]) == (0, "ACCEPTED"), stopped

    def received_cdr() -> dict[str, Any] | None:
        for payload, _, _ in emsp.documents("cdr", own=False):
            return dict(json.loads(payload)["cdr"])
        return None

    cdr = wait_until(received_cdr, timeout=60, what="the CDR at the eMSP")
    assert cdr["session_id"] == hubject_session and cdr["cdr_token"]["uid"] == TOKEN_UID
    assert cdr["cdr_location"]["evse_id"] == "DE*ABC*E1"
    energy = Decimal(str(cdr["total_energy"]))
    assert energy > 0
    expected = (START_FEE + PER_KWH * energy).quantize(Decimal("0.01"))
    assert Decimal(str(cdr["total_cost"]["before_taxes"])) == expected

    session_done = wait_until(
        lambda: next(
            (
                json.loads(p)
                for p, _, _ in emsp.documents("session", own=False)
                if json.loads(p)["status"] == "COMPLETED"
            ),
            None,
        ),
        timeout=30,
        what="the session COMPLETED at the eMSP",
    )
    assert session_done["id"] == hubject_session

    # -- a card swiped at an OICP charger: the gateway's EMP asks the OCPI eMSP that issued it ----------
    _card(tmp_path / "card.json")
    emsp.evroam("tokens", "import", str(tmp_path / "card.json"))  # pushed to the gateway (whitelist NEVER)
    wait_until(
        lambda: [p for p, _, _ in gateway.documents("token") if CARD_UID.encode() in p],
        timeout=30,
        what="the eMSP's card at the gateway",
    )
    card_session = asyncio.run(_swipe_and_charge(hub_port, cpo_tls))

    def card_cdr() -> dict[str, Any] | None:
        for payload, _, _ in emsp.documents("cdr", own=False):
            found = json.loads(payload)["cdr"]
            if found["session_id"] == card_session:
                return dict(found)
        return None

    cdr2 = wait_until(card_cdr, timeout=30, what="the card session's CDR at the eMSP")
    assert cdr2["cdr_token"]["uid"] == CARD_UID and cdr2["auth_method"] == "AUTH_REQUEST"
    assert cdr2["cdr_location"]["evse_id"] == "DE*ABC*E3"
    assert Decimal(str(cdr2["total_energy"])) == CARD_ENERGY
    assert Decimal(str(cdr2["total_cost"]["before_taxes"])) == START_FEE + PER_KWH * CARD_ENERGY  # 4.75

    # -- what crossed the hub (its traffic is written when it stops) -----------------------------------
    hub.terminate()
    hub.wait(timeout=30)
    exchanges = _traffic(traffic)
    assert [x for x in exchanges if x.get("errors")] == []
    starts = [
        x["request"]
        for x in exchanges
        if x["operation"] == "eRoamingAuthorizeRemoteStart" and x["direction"] == "in"
    ]
    assert [(s["EvseID"], s["Identification"]["RemoteIdentification"]["EvcoID"]) for s in starts] == [
        ("DE*ABC*E1", CONTRACT)
    ]
    stops = [
        x["request"]
        for x in exchanges
        if x["operation"] == "eRoamingAuthorizeRemoteStop" and x["direction"] == "in"
    ]
    assert [s["SessionID"] for s in stops] == [hubject_session]
    oicp_cdrs = [
        x["request"]
        for x in exchanges
        if x["operation"] == "eRoamingChargeDetailRecord" and x["direction"] == "in"
    ]
    assert [c["SessionID"] for c in oicp_cdrs] == [hubject_session, card_session]
    # the OCPI CDR carries the OICP CDR's energy
    assert Decimal(str(oicp_cdrs[0]["ConsumedEnergy"])) == energy
    authorizations = [
        x for x in exchanges if x["operation"] == "eRoamingAuthorizeStart" and x["direction"] == "out"
    ]
    assert [x["answer"]["AuthorizationStatus"] for x in authorizations] == ["Authorized"]


def test_serve_refuses_a_gateway_it_cannot_be_in_one_line(tmp_path: Path) -> None:
    node = NodeProcess("gw", tmp_path / "gw", free_port())
    node.init("DE", "GWY", "CPO")
    no_port = node.evroam("serve", "--gateway", check=False, timeout=30)
    assert no_port.returncode == 2 and "--gateway needs --oicp-port" in no_port.stderr
    port = str(free_port())
    nothing = node.evroam("serve", "--oicp-port", port, "--gateway", check=False, timeout=30)
    assert nothing.returncode == 1
    assert nothing.stderr.strip().splitlines() == [
        "Error: --oicp-port: no OICP connection to serve "
        "(evroam oicp connect --operator-id ... | --provider-id ...)"
    ]
    # a CPO connection alone is not enough: the other direction also needs an eMSP party
    certs = Certificates(tmp_path / "pki")
    _connect(
        node,
        certs.issue(OPERATOR),
        "https://127.0.0.1:1/api/oicp",
        "--operator-id",
        OPERATOR,
        "--name",
        "ABC",
    )
    cpo_only = node.evroam("serve", "--oicp-port", port, "--gateway", check=False, timeout=30)
    assert cpo_only.returncode == 1 and "--gateway needs an OICP EMP connection" in cpo_only.stderr
    assert "Traceback" not in cpo_only.stderr
