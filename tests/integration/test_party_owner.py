"""One owner per party, over real sockets: a CPO node, the eMSP platform holding DE*MSP, and a second
eMSP platform that tries to register (then to update its credentials) claiming DE*MSP too.

Everything goes through the command line, as operators type it; three node processes on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evroam.testing import NodePair, NodeProcess, free_port

pytestmark = pytest.mark.slow


def accepted(node: NodeProcess, token: str) -> bool:
    header = "Token " + base64.b64encode(token.encode()).decode()
    return httpx.get(node.versions_url, headers={"Authorization": header}, timeout=10).status_code == 200


def claim(node: NodeProcess, country_code: str, party_id: str) -> None:
    """Change the party a node's credentials name (what its next handshake or rotation sends)."""
    path = node.data_dir / "node.json"
    config = json.loads(path.read_text())
    config["parties"][0].update(country_code=country_code, party_id=party_id)
    path.write_text(json.dumps(config))


def partner(node: NodeProcess, name: str) -> dict[str, Any]:
    shown: dict[str, Any] = node.json("partners", "show", name)
    return shown


@pytest.fixture
def platforms(tmp_path: Path) -> Iterator[tuple[NodePair, NodeProcess]]:
    with NodePair(tmp_path, emsp_party=("DE", "MSP")) as pair:
        pair.up()
        intruder = NodeProcess("intruder", tmp_path / "intruder", free_port())
        intruder.init("DE", "MSP", "EMSP")
        intruder.start()
        try:
            intruder.wait_ready()
            yield pair, intruder
        finally:
            intruder.stop()


def test_a_second_platform_cannot_take_a_registered_party(platforms: tuple[NodePair, NodeProcess]) -> None:
    pair, intruder = platforms
    cpo, owner = pair.cpo, pair.emsp
    owner_token = owner.partner_token("cpo")

    # registering with DE*MSP, which the eMSP platform holds at the CPO: refused, nothing stored
    invitation = cpo.json("partners", "invite", "intruder")
    register = ("partners", "register", "--versions-url", cpo.versions_url, "--token", invitation["token"])
    refused = intruder.evroam(*register, "--name", "cpo", check=False)
    assert refused.returncode != 0
    assert "DE*MSP (EMSP) is held by another platform registered here" in refused.stderr
    assert partner(cpo, "intruder")["status"] == "INVITED"
    assert partner(cpo, "intruder")["roles"] == []
    assert partner(cpo, "emsp")["status"] == "REGISTERED"
    assert accepted(cpo, owner_token)

    # with a party of its own it registers (the same token A: the refusal changed nothing) ...
    claim(intruder, "DE", "OTH")
    assert intruder.json(*register, "--name", "cpo")["status"] == "REGISTERED"
    intruder_token = intruder.partner_token("cpo")

    # ... but cannot move onto DE*MSP with a credentials update either
    claim(intruder, "DE", "MSP")
    rotated = intruder.evroam("partners", "rotate", "cpo", check=False)
    assert rotated.returncode != 0
    assert "DE*MSP (EMSP) is held by another platform registered here" in rotated.stderr
    roles = partner(cpo, "intruder")["roles"]
    assert [(r["country_code"], r["party_id"], r["role"]) for r in roles] == [("DE", "OTH", "EMSP")]
    assert accepted(cpo, intruder_token)
    assert accepted(cpo, owner_token)
    assert [(r["country_code"], r["party_id"]) for r in partner(cpo, "emsp")["roles"]] == [("DE", "MSP")]
