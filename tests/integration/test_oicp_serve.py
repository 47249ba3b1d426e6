"""`evroam serve --oicp-port` (also `simulate --oicp-port`, and beside `--ocpp-port`): node processes
serving their OICP endpoints over real sockets with mutual TLS, called by the test hub, and refusing a
caller whose certificate comes from the same CA but is not the hub's.

The EMP node answers an RFID AuthorizeStart that the hub routes to it from its tokens; the CPO node,
with no charger connection plugged in, answers a remote start that the hub routes to it with 501
(communication to the EVSE failed). The EMP checks the hub by the certificate's name (``--hub-name``),
the CPO by its fingerprint (``--hub-fingerprint``): a second certificate of the same CA is answered
017 by both. Every message through the hub passes its OpenAPI check.
"""

from __future__ import annotations

import hashlib
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evroam.http.oicp import OicpClient
from evroam.oicp import codec
from evroam.oicp import messages as m
from evroam.oicp.operations import Operation, by_name
from evroam.oicp.tls import TlsFiles
from evroam.testing.oicp_hub import OicpTestHub
from tests.conftest import shared_path
from tests.integration.nodes import NodeProcess, free_port, stop_all
from tests.integration.test_oicp_cli import _locations
from tests.support.oicp_certs import Certificates

pytestmark = pytest.mark.slow

CPO_ID, EMP_ID = "DE*ABC", "DE-XYZ"
RFID_UID = "AABBCCDD"
UNKNOWN_UID = "11223344"


@pytest.fixture
def nodes() -> Iterator[list[NodeProcess]]:
    started: list[NodeProcess] = []
    try:
        yield started
    finally:
        stop_all(started)


def _tokens(path: Path) -> None:
    token = {
        "country_code": "DE",
        "party_id": "XYZ",
        "uid": RFID_UID,
        "type": "RFID",
        "contract_id": "DE-XYZ-C87654321-1",
        "issuer": "XYZ",
        "valid": True,
        "whitelist": "NEVER",
        "last_updated": "2026-03-02T09:00:00Z",
    }
    path.write_text(json.dumps([token]))


def _connect(node: NodeProcess, tls: TlsFiles, hub_url: str, *extra: str) -> None:
    node.evroam(
        "oicp", "connect", "--hub-url", hub_url, *extra,
        "--cert", tls.cert, "--key", tls.key, "--ca", tls.ca,
    )  # fmt: skip


def _der_fingerprint(pem_path: str) -> str:
    pem = Path(pem_path).read_text()
    first = pem[: pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest()


async def _direct(
    hub: OicpTestHub, role: str, port: int, tls: TlsFiles, op: Operation, originator: str, body: Any
) -> Any:
    """Call a node's OICP port directly with ``tls``; the answer, checked against ``role``'s OpenAPI."""
    async with OicpClient(f"https://127.0.0.1:{port}", tls, rate_limits=False) as client:
        raw = await client.call_raw(op, originator, codec.encode(body))
    assert hub.schemas.errors(role, op, True, json.loads(raw)) == []
    return codec.decode(raw, op.response)


async def test_serve_oicp_port_answers_the_hub_only(tmp_path: Path, nodes: list[NodeProcess]) -> None:
    certs = Certificates(tmp_path / "pki")
    hub_tls = certs.issue("hub")
    hub = OicpTestHub(openapi=shared_path("spec", "oicp", "openapi"), tls=hub_tls)
    await hub.start()
    cpo_tls, emp_tls, intruder = certs.issue(CPO_ID), certs.issue(EMP_ID), certs.issue("intruder")
    try:
        emp = NodeProcess("emp", tmp_path / "emp", free_port())
        cpo = NodeProcess("cpo", tmp_path / "cpo", free_port())
        emp.init("DE", "XYZ", "EMSP")
        cpo.init("DE", "ABC", "CPO")
        _tokens(tmp_path / "tokens.json")
        emp.evroam("tokens", "import", str(tmp_path / "tokens.json"))
        _locations(tmp_path / "locations.json")
        cpo.evroam("locations", "import", str(tmp_path / "locations.json"))
        hub_url = hub.url + "/api/oicp"
        _connect(emp, emp_tls, hub_url, "--provider-id", EMP_ID, "--hub-name", "hub")
        fingerprint = _der_fingerprint(hub_tls.cert)
        colons = ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
        _connect(cpo, cpo_tls, hub_url, "--operator-id", CPO_ID, "--hub-fingerprint", colons)

        emp_port, cpo_port = free_port(), free_port()
        emp.start("--oicp-port", str(emp_port), "--no-worker")
        nodes.append(emp)
        cpo.env["EVROAM_OICP_PORT"] = str(cpo_port)  # the environment variable works as the option
        cpo.start("--no-worker")
        nodes.append(cpo)
        emp.wait_ready()
        cpo.wait_ready()
        hub.register("EMP", EMP_ID, f"https://127.0.0.1:{emp_port}")
        hub.register("CPO", CPO_ID, f"https://127.0.0.1:{cpo_port}")

        # -- the hub routes a CPO's RFID authorization to the EMP node, which answers from its tokens --
        authorize = by_name("eRoamingAuthorizeStart")
        card = m.Identification(RFIDMifareFamilyIdentification=m.RFIDMifareFamilyIdentification(UID=RFID_UID))
        async with OicpClient(hub.url, cpo_tls, rate_limits=False) as as_cpo:
            known = await as_cpo.call(
                authorize,
                CPO_ID,
                m.AuthorizeStart(OperatorID=CPO_ID, EvseID="DE*ABC*E1", Identification=card),
            )
            stranger = m.Identification(
                RFIDMifareFamilyIdentification=m.RFIDMifareFamilyIdentification(UID=UNKNOWN_UID)
            )
            unknown = await as_cpo.call(
                authorize,
                CPO_ID,
                m.AuthorizeStart(OperatorID=CPO_ID, EvseID="DE*ABC*E1", Identification=stranger),
            )
        assert known.AuthorizationStatus is m.AuthorizationStatus.AUTHORIZED
        assert known.StatusCode.Code == "000" and known.ProviderID == EMP_ID
        assert unknown.AuthorizationStatus is m.AuthorizationStatus.NOT_AUTHORIZED
        to_emp = [x for x in hub.traffic if x.direction == "out" and x.operation == "eRoamingAuthorizeStart"]
        assert len(to_emp) == 2  # both were answered by the EMP node, not by the hub itself
        assert [x.answer["AuthorizationStatus"] for x in to_emp] == ["Authorized", "NotAuthorized"]

        # -- the hub routes an EMP's remote start to the CPO node: no charger connection, 501 ----------
        remote = by_name("eRoamingAuthorizeRemoteStart")
        contract = m.Identification(RemoteIdentification=m.RemoteIdentification(EvcoID="DE-XYZ-C12345678-9"))
        async with OicpClient(hub.url, emp_tls, rate_limits=False) as as_emp:
            started = await as_emp.call(
                remote,
                EMP_ID,
                m.AuthorizeRemoteStart(ProviderID=EMP_ID, EvseID="DE*ABC*E1", Identification=contract),
            )
            unknown_evse = await as_emp.call(
                remote,
                EMP_ID,
                m.AuthorizeRemoteStart(ProviderID=EMP_ID, EvseID="DE*ABC*E9", Identification=contract),
            )
        assert started.Result is False and started.StatusCode.Code == "501"
        assert started.SessionID is not None
        assert unknown_evse.Result is False and unknown_evse.StatusCode.Code == "603"
        to_cpo = [
            x for x in hub.traffic if x.direction == "out" and x.operation == "eRoamingAuthorizeRemoteStart"
        ]
        assert [x.answer["StatusCode"]["Code"] for x in to_cpo] == ["501", "603"]

        # -- a certificate of the same CA that is not the hub's: 017 from both nodes -------------------
        sid = ["11111111-aaaa-bbbb-cccc-00000000000" + str(n) for n in range(4)]
        card_at_e1 = m.AuthorizeStart(
            OperatorID=CPO_ID, EvseID="DE*ABC*E1", Identification=card, SessionID=sid[0]
        )
        refused = await _direct(hub, "EMP", emp_port, intruder, authorize, CPO_ID, card_at_e1)
        assert refused.AuthorizationStatus is m.AuthorizationStatus.NOT_AUTHORIZED
        assert refused.StatusCode.Code == "017" and refused.SessionID == sid[0]
        start_e1 = m.AuthorizeRemoteStart(
            ProviderID=EMP_ID, EvseID="DE*ABC*E1", Identification=contract, SessionID=sid[1]
        )
        refused_start = await _direct(hub, "CPO", cpo_port, intruder, remote, EMP_ID, start_e1)
        assert refused_start.Result is False and refused_start.StatusCode.Code == "017"
        assert refused_start.SessionID == sid[1]
        # the EMP node's own certificate is from the same CA, and not the hub's either
        not_hub = await _direct(hub, "CPO", cpo_port, emp_tls, remote, EMP_ID, start_e1)
        assert not_hub.Result is False and not_hub.StatusCode.Code == "017"
        # the hub's certificate is accepted on the node's port directly too (the check is the certificate)
        accepted = await _direct(hub, "EMP", emp_port, hub_tls, authorize, CPO_ID, card_at_e1)
        assert accepted.AuthorizationStatus is m.AuthorizationStatus.AUTHORIZED

        assert hub.invalid == []
        assert {x.operation for x in hub.traffic} == {
            "eRoamingAuthorizeStart",
            "eRoamingAuthorizeRemoteStart",
        }
    finally:
        stop_all(nodes)
        await hub.close()
    logs = "".join(p.read_text(errors="replace") for p in emp.logs + cpo.logs)
    assert "OICP EMP endpoints on https://" in logs and "OICP CPO endpoints on https://" in logs
    assert "no charger connection: commands are answered 501" in logs
    assert logs.count("refused: the client certificate") == 3


async def test_simulate_oicp_port_starts_at_the_simulator(tmp_path: Path, nodes: list[NodeProcess]) -> None:
    """`evroam simulate --oicp-port` serves the same endpoints over the simulator: a remote start routed
    by the hub is accepted by a simulated charger. The hub is recognised by the default check (the host
    name of --hub-url, 127.0.0.1, is in its certificate)."""
    from tests.integration.test_commands_e2e import SimulatedCpo

    certs = Certificates(tmp_path / "pki")
    hub = OicpTestHub(openapi=shared_path("spec", "oicp", "openapi"), tls=certs.issue("hub"))
    await hub.start()
    cpo_tls, emp_tls = certs.issue(CPO_ID), certs.issue(EMP_ID)
    try:
        cpo = SimulatedCpo("cpo", tmp_path / "cpo", free_port())
        cpo.init("DE", "ABC", "CPO")
        _locations(tmp_path / "locations.json")
        cpo.evroam("locations", "import", str(tmp_path / "locations.json"))
        _connect(cpo, cpo_tls, hub.url, "--operator-id", CPO_ID)
        cpo_port = free_port()
        cpo.start("--oicp-port", str(cpo_port), "--no-worker")
        nodes.append(cpo)
        cpo.wait_ready()
        hub.register("CPO", CPO_ID, f"https://127.0.0.1:{cpo_port}")
        contract = m.Identification(RemoteIdentification=m.RemoteIdentification(EvcoID="DE-XYZ-C12345678-9"))
        async with OicpClient(hub.url, emp_tls, rate_limits=False) as as_emp:
            started = await as_emp.call(
                by_name("eRoamingAuthorizeRemoteStart"),
                EMP_ID,
                m.AuthorizeRemoteStart(ProviderID=EMP_ID, EvseID="DE*ABC*E1", Identification=contract),
            )
        assert started.Result is True and started.StatusCode.Code == "000" and started.SessionID
        assert hub.invalid == []
    finally:
        stop_all(nodes)
        await hub.close()


def _add_charger(node: NodeProcess, charger_id: str, password: str, location: str, evse_map: str) -> None:
    """`evroam chargers add` (the password on stdin)."""
    import subprocess

    added = subprocess.run(
        node._command(
            "chargers", "add", charger_id, "--location", location, "--password-stdin", "--evse-map", evse_map
        ),
        input=password + "\n", capture_output=True, text=True, env=node.environ(), timeout=60, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr[-2000:]


async def test_serve_ocpp_and_oicp_ports_remote_start_reaches_an_ocpp_charger(
    tmp_path: Path, nodes: list[NodeProcess]
) -> None:
    """`evroam serve --ocpp-port --oicp-port`: the charge point port is the OCPP central system, so a remote
    start the hub routes to the node reaches a real OCPP 1.6 charger over its WebSocket, and the charger's
    answer is the OICP answer."""
    from ocpp.v16 import call

    from evroam.core.clock import SystemClock
    from evroam.sim import site
    from tests.integration.ocpp_chargers import open_charger

    certs = Certificates(tmp_path / "pki")
    hub = OicpTestHub(openapi=shared_path("spec", "oicp", "openapi"), tls=certs.issue("hub"))
    await hub.start()
    operator = "NL*CPO"
    cpo_tls, emp_tls = certs.issue(operator), certs.issue(EMP_ID)
    password = "secret-of-cp16-oicp"
    try:
        cpo = NodeProcess("cpo", tmp_path / "cpo", free_port())
        cpo.init("NL", "CPO", "CPO")
        locations = tmp_path / "locations.json"
        locations.write_text(json.dumps(site.demo_locations("NL", "CPO", SystemClock().now())))
        cpo.evroam("locations", "import", str(locations))
        _add_charger(cpo, "CP16", password, site.LOCATION_ID, f"1={site.AC_EVSES[0]}/1")
        _connect(cpo, cpo_tls, hub.url, "--operator-id", operator)
        ocpp_port, oicp_port = free_port(), free_port()
        cpo.start("--ocpp-port", str(ocpp_port), "--oicp-port", str(oicp_port), "--no-worker")
        nodes.append(cpo)
        cpo.wait_ready()
        hub.register("CPO", operator, f"https://127.0.0.1:{oicp_port}")
        async with open_charger(f"ws://127.0.0.1:{ocpp_port}/ocpp/", "CP16", password) as charger:
            boot = await charger.call(
                call.BootNotification(charge_point_model="Wallbox", charge_point_vendor="ACME")
            )
            assert boot.status == "Accepted"
            await charger.call(
                call.StatusNotification(connector_id=1, error_code="NoError", status="Available")
            )
            contract = m.Identification(
                RemoteIdentification=m.RemoteIdentification(EvcoID="DE-XYZ-C12345678-9")
            )
            async with OicpClient(hub.url, emp_tls, rate_limits=False) as as_emp:
                started = await as_emp.call(
                    by_name("eRoamingAuthorizeRemoteStart"),
                    EMP_ID,
                    m.AuthorizeRemoteStart(ProviderID=EMP_ID, EvseID="NL*CPO*E1", Identification=contract),
                )
            request = await charger.wait_for("RemoteStartTransaction")
        assert started.Result is True and started.StatusCode.Code == "000"
        assert request["connector_id"] == 1
        assert hub.invalid == []
    finally:
        stop_all(nodes)
        await hub.close()
