"""Two evroam nodes as separate processes on 127.0.0.1 register with each other, both ways.

Everything goes through the command line (``python -m evroam ...``) exactly as an operator types it;
the test reads the SQLite files only to learn the token values, so that it can check which of them the
other node accepts, and to look for them in the logs (every process runs at DEBUG).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evroam.testing import NodePair, NodeProcess, free_port

pytestmark = pytest.mark.slow


def status_with(node: NodeProcess, token: str, path: str = "/ocpi/versions") -> int:
    header = "Token " + base64.b64encode(token.encode()).decode()
    return httpx.get(node.url + path, headers={"Authorization": header}, timeout=10).status_code


def advertised_endpoints(node: NodeProcess, token: str) -> list[dict[str, str]]:
    header = "Token " + base64.b64encode(token.encode()).decode()
    answer = httpx.get(node.url + "/ocpi/2.2.1/details", headers={"Authorization": header}, timeout=10)
    endpoints = answer.json()["data"]["endpoints"]
    return [{"module": e["identifier"], "role": e["role"], "url": e["url"]} for e in endpoints]


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    with NodePair(tmp_path, log_level="DEBUG") as pair:
        pair.init().start()
        yield pair.cpo, pair.emsp


def test_two_processes_register_both_ways_rotate_and_unregister(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    cpo, emsp = nodes
    seen_tokens: set[str] = set()

    # -- the CPO invites, the eMSP registers --------------------------------------------------
    invitation = cpo.json("partners", "invite", "emsp")
    assert invitation["versions_url"] == cpo.versions_url
    token_a = invitation["token"]
    seen_tokens.add(token_a)
    registered = emsp.json(
        "partners", "register", "--versions-url", cpo.versions_url, "--token", token_a, "--name", "cpo"
    )
    assert registered["status"] == "REGISTERED"
    shown = json.dumps(registered).replace('"has_token"', "").replace('"token_encoding"', "")
    # the tokens module's name and URLs are not secrets
    assert "token" not in shown.replace('"tokens"', "").replace("/tokens", "")

    at_emsp = emsp.json("partners", "show", "cpo")
    at_cpo = cpo.json("partners", "show", "emsp")
    assert at_emsp["status"] == at_cpo["status"] == "REGISTERED"
    assert at_emsp["version"] == at_cpo["version"] == "2.2.1"
    assert {"module": "credentials", "role": "SENDER", "url": f"{cpo.url}/ocpi/2.2.1/credentials"} in (
        at_emsp["endpoints"]
    )
    assert {"module": "credentials", "role": "SENDER", "url": f"{emsp.url}/ocpi/2.2.1/credentials"} in (
        at_cpo["endpoints"]
    )
    assert [(r["country_code"], r["party_id"], r["role"]) for r in at_emsp["roles"]] == [("NL", "CPO", "CPO")]
    assert [(r["country_code"], r["party_id"], r["role"]) for r in at_cpo["roles"]] == [("DE", "MSP", "EMSP")]

    token_c = emsp.partner_token("cpo")  # what the eMSP calls the CPO with
    token_b = cpo.partner_token("emsp")  # what the CPO calls the eMSP with
    assert token_b and token_c
    seen_tokens |= {token_b, token_c}
    assert status_with(cpo, token_c) == 200
    assert status_with(emsp, token_b) == 200
    # Each side holds exactly the endpoints the other one advertises in its version details.
    assert at_emsp["endpoints"] == advertised_endpoints(cpo, token_c)
    assert at_cpo["endpoints"] == advertised_endpoints(emsp, token_b)
    assert status_with(cpo, token_a) == 401  # token A is retired

    # -- rotation: both tokens renewed, the old ones refused ---------------------------------
    emsp.evroam("partners", "rotate", "cpo")
    new_c = emsp.partner_token("cpo")
    new_b = cpo.partner_token("emsp")
    assert new_c and new_b and new_c != token_c and new_b != token_b
    seen_tokens |= {new_b, new_c}
    assert status_with(cpo, token_c) == 401
    assert status_with(emsp, token_b) == 401
    assert status_with(cpo, new_c) == 200
    assert status_with(emsp, new_b) == 200

    # -- unregister: no traffic either way ----------------------------------------------------
    emsp.evroam("partners", "unregister", "cpo")
    assert emsp.json("partners", "show", "cpo")["status"] == "UNREGISTERED"
    assert cpo.json("partners", "show", "emsp")["status"] == "UNREGISTERED"
    assert status_with(cpo, new_c) == 401
    assert status_with(emsp, new_b) == 401

    # -- the other direction: the eMSP invites, the CPO registers -----------------------------
    invitation = emsp.json("partners", "invite", "cpo")
    seen_tokens.add(invitation["token"])
    cpo.json(
        "partners",
        "register",
        "--versions-url",
        emsp.versions_url,
        "--token",
        invitation["token"],
        "--name",
        "emsp",
    )
    assert cpo.json("partners", "show", "emsp")["status"] == "REGISTERED"
    assert emsp.json("partners", "show", "cpo")["status"] == "REGISTERED"
    back_b = cpo.partner_token("emsp")  # issued by the eMSP (token C of this handshake)
    back_c = emsp.partner_token("cpo")  # issued by the CPO (token B of this handshake)
    assert back_b and back_c
    seen_tokens |= {back_b, back_c}
    assert status_with(emsp, back_b) == 200
    assert status_with(cpo, back_c) == 200
    assert status_with(emsp, invitation["token"]) == 401

    listed = cpo.json("partners", "list")
    assert [(p["name"], p["status"]) for p in listed] == [("emsp", "REGISTERED")]

    # -- no token value in any log line (every process ran at DEBUG) -------------------------
    cpo.stop()
    emsp.stop()
    forms = seen_tokens | {base64.b64encode(t.encode()).decode() for t in seen_tokens}
    logs = {log.name: log.read_text() for log in cpo.logs + emsp.logs}
    serve_logs = logs[cpo.serve_log.name] + logs[emsp.serve_log.name]
    assert (
        "DEBUG" in serve_logs and "/ocpi/2.2.1/credentials" in serve_logs
    )  # the logs did record the traffic
    for name, text in logs.items():
        for token in forms:
            assert token not in text, f"a token value appears in {name}"


def test_register_prints_one_actionable_line_when_the_partner_is_unreachable(tmp_path: Path) -> None:
    node = NodeProcess("lonely", tmp_path / "lonely", free_port(), log_level="DEBUG")
    node.evroam("init", "--country-code", "NL", "--party-id", "LON", "--role", "EMSP", "--url", node.url)
    dead = free_port()
    done = node.evroam(
        "partners",
        "register",
        "--versions-url",
        f"http://127.0.0.1:{dead}/ocpi/versions",
        "--token",
        "abc123",
        check=False,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert f"cannot reach the partner's versions URL http://127.0.0.1:{dead}/ocpi/versions" in errors[0]
    assert done.stdout == ""
