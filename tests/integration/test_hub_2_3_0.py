"""An evroam hub serving OCPI 2.3.0 (no role HUB: ``hub_party_id`` and the reachable parties in
``roles``) with an evroam CPO and an evroam eMSP behind it, over real sockets: registration, the hub's
credentials, a location broadcast, a token and a real-time authorization routed through the hub."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evroam.sim import site
from tests.integration.nodes import NodeProcess, free_port, stop_all, wait_until
from tests.integration.test_hub_e2e import ENV, HUB_ENV, _now, received, statuses, token, token_uids

pytestmark = pytest.mark.slow

V230 = {"EVROAM_INIT_OCPI_VERSION": "2.3.0"}


@pytest.fixture
def star(tmp_path: Path) -> Iterator[dict[str, NodeProcess]]:
    nodes = {
        "hub": NodeProcess("hub", tmp_path / "hub", free_port(), env={**HUB_ENV, **V230}),
        "cpo": NodeProcess("cpo", tmp_path / "cpo", free_port(), env={**ENV, **V230}),
        "emsp": NodeProcess("emsp", tmp_path / "emsp", free_port(), env={**ENV, **V230}),
    }
    parties = {"hub": ("NL", "HUB", "HUB"), "cpo": ("NL", "CP1", "CPO"), "emsp": ("DE", "MS1", "EMSP")}
    try:
        for name, node in nodes.items():
            node.init(*parties[name])
            node.start()
        for node in nodes.values():
            node.wait_ready()
        yield nodes
    finally:
        stop_all(nodes.values())


def join(hub: NodeProcess, platform: NodeProcess) -> dict[str, Any]:
    invitation = hub.json("partners", "invite", platform.name)
    result: dict[str, Any] = platform.json(
        "partners",
        "register",
        "--versions-url",
        hub.versions_url,
        "--name",
        "hub",
        "--token",
        invitation["token"],
    )
    return result


def roles_of(shown: dict[str, Any]) -> list[str]:
    return sorted(f"{r['country_code']}*{r['party_id']} {r['role']}" for r in shown["roles"])


def test_a_2_3_0_hub_with_a_cpo_and_an_emsp(star: dict[str, NodeProcess], tmp_path: Path) -> None:
    hub, cpo, emsp = star["hub"], star["cpo"], star["emsp"]
    assert join(hub, cpo)["version"] == "2.3.0"
    joined = join(hub, emsp)
    assert joined["version"] == "2.3.0"

    # the hub's credentials: itself by hub_party_id, the party it reaches in roles
    record = emsp.partner_token("hub")
    answer = httpx.get(
        f"{hub.url}/ocpi/2.3.0/credentials",
        headers={"Authorization": "Token " + base64.b64encode(record.encode()).decode()},
        timeout=10,
    ).json()["data"]
    assert answer["hub_party_id"] == "NLHUB"
    assert [(r["country_code"], r["party_id"], r["role"]) for r in answer["roles"]] == [("NL", "CP1", "CPO")]
    # the eMSP recognised the hub and keeps the CPO as reachable through it (registered after the CPO)
    assert roles_of(emsp.json("partners", "show", "hub")) == ["NL*CP1 CPO", "NL*HUB HUB"]
    # the CPO, registered first, learns the eMSP by the hub's ClientInfo push
    wait_until(lambda: statuses(cpo) == {"DE*MS1": "CONNECTED"}, timeout=20, what="ClientInfo at the CPO")
    assert roles_of(cpo.json("partners", "show", "hub")) == ["DE*MS1 EMSP", "NL*HUB HUB"]

    # a location of the CPO is broadcast by the hub to the eMSP
    path = tmp_path / "locations.json"
    path.write_text(json.dumps(site.demo_locations("NL", "CP1", _now())))
    cpo.evroam("locations", "import", str(path))
    wait_until(
        lambda: [loc["party_id"] for loc in received(emsp, "location")] == ["CP1"],
        timeout=20,
        what="the CPO's location at the eMSP",
    )

    # a token of the eMSP reaches the CPO, and is authorized in real time by the eMSP through the hub
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps([token("MS1", "T1")]))
    emsp.evroam("tokens", "import", str(tokens))
    wait_until(lambda: "T1" in token_uids(cpo), timeout=20, what="T1 at the CPO")
    decision = cpo.json(
        "tokens", "authorize", "T1", "--location", site.LOCATION_ID, "--evse", site.AC_EVSES[0]
    )
    assert (decision["outcome"], decision["source"]) == ("ALLOWED", "eMSP")

    routed = {(r["module"], r["interface"], r["kind"]): r["requests"] for r in hub.json("hub", "stats")}
    assert routed[("locations", "RECEIVER", "broadcast")] >= 1
    assert routed[("tokens", "SENDER", "forward")] >= 1
