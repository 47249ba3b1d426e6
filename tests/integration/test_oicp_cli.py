"""`evroam oicp ...` from the command line: a CPO node process connects to `evroam oicp test-hub` (another
process, mutual TLS), its imported locations are queued for the hub through the outbox relay, pushed by
`evroam worker --once`, and `oicp status` tells the backlog and the last push."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from evroam import model as cm
from evroam.core.codec import encode
from evroam.core.types import DateTime
from tests.conftest import shared_path
from tests.integration.nodes import REPO_ROOT, NodeProcess, free_port, stop_all, wait_until
from tests.support.oicp_certs import Certificates

pytestmark = pytest.mark.slow


def _locations(path: Path) -> None:
    at = DateTime.parse("2026-03-02T09:00:00Z")
    connector = cm.Connector(
        id="1",
        standard="IEC_62196_T2",
        format=cm.ConnectorFormat.SOCKET,
        power_type=cm.PowerType.AC_3_PHASE,
        max_voltage=230,
        max_amperage=16,
        last_updated=at,
    )
    location = {
        "country_code": "DE",
        "party_id": "ABC",
        "id": "LOC1",
        "publish": True,
        "address": "Hauptstrasse 5",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DEU",
        "coordinates": {"latitude": "52.52000", "longitude": "13.40500"},
        "time_zone": "Europe/Berlin",
        "last_updated": "2026-03-02T09:00:00Z",
        "evses": [
            {
                "uid": f"E{i}",
                "evse_id": f"DE*ABC*E{i}",
                "status": "AVAILABLE",
                "last_updated": "2026-03-02T09:00:00Z",
                "connectors": [json.loads(encode(connector))],
            }
            for i in (1, 2)
        ],
    }
    path.write_text(json.dumps([location]))


def test_connect_status_push_and_worker(tmp_path: Path) -> None:
    certs = Certificates(tmp_path / "pki")
    hub_tls, cpo_tls = certs.issue("hub"), certs.issue("DE*ABC")
    port = free_port()
    traffic = tmp_path / "traffic.jsonl"
    hub = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evroam",
            "oicp",
            "test-hub",
            "--port",
            str(port),
            "--cert",
            hub_tls.cert,
            "--key",
            hub_tls.key,
            "--ca",
            hub_tls.ca,
            "--openapi",
            str(shared_path("spec", "oicp", "openapi")),
            "--traffic",
            str(traffic),
        ],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    node = NodeProcess("cpo", tmp_path / "cpo", free_port())
    try:
        node.init("DE", "ABC", "CPO")
        url = f"https://127.0.0.1:{port}/api/oicp"
        wait_until(lambda: _listening(port), timeout=30, what="the test hub")
        connected = node.json(
            "oicp",
            "connect",
            "--hub-url",
            url,
            "--operator-id",
            "DE*ABC",
            "--name",
            "ABC",
            "--cert",
            cpo_tls.cert,
            "--key",
            cpo_tls.key,
            "--ca",
            cpo_tls.ca,
            "--json",
        )
        assert connected == {"role": "CPO", "id": "DE*ABC", "hub_url": url}
        _locations(tmp_path / "locations.json")
        node.evroam("locations", "import", str(tmp_path / "locations.json"))
        status = node.json("oicp", "status", "--json")
        assert status["CPO"]["backlog"] == 1  # the import queued the location for the hub too
        assert status["CPO"]["last_push"] is None
        pushed = node.evroam("oicp", "push", "evse-data", "--full")
        assert pushed.stdout.strip() == "pushed"
        node.evroam("worker", "--once")  # the relay's row: the location as EVSE data updates and statuses
        status = node.json("oicp", "status", "--json")
        assert status["CPO"]["backlog"] == 0 and status["CPO"]["parked"] == 0
        assert status["CPO"]["last_push"] is not None and status["CPO"]["last_error"] is None
        assert status["CPO"]["evses_pushed"] == 2
        bad = node.evroam(
            "oicp",
            "connect",
            "--hub-url",
            url,
            "--operator-id",
            "nonsense",
            "--cert",
            cpo_tls.cert,
            "--key",
            cpo_tls.key,
            "--ca",
            cpo_tls.ca,
            check=False,
        )
        assert bad.returncode != 0 and "not an OICP OperatorID" in bad.stderr
    finally:
        stop_all([node])
        hub.send_signal(signal.SIGTERM)  # a service's stop; Ctrl-C (SIGINT) takes the same way
        try:
            _, err = hub.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            hub.kill()  # then fail, with the pipe closed (no stray ResourceWarning in a later test)
            hub.communicate()
            raise
    exchanges = [json.loads(line) for line in traffic.read_text().splitlines()]
    assert [x["operation"] for x in exchanges] == [
        "eRoamingPushEvseData",
        "eRoamingPushEvseStatus",  # the fullLoad
        "eRoamingPushEvseData",
        "eRoamingPushEvseStatus",  # the relayed import: updates
    ]
    assert [x["request"]["ActionType"] for x in exchanges] == ["fullLoad", "fullLoad", "update", "update"]
    assert all(x["errors"] == [] and x["answer"]["Result"] is True for x in exchanges)
    assert "4 message(s), 0 invalid" in err


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
