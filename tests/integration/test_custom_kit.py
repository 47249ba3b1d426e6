"""A module kit defined in the tests (``notices``, :mod:`tests.integration.notices_kit`) runs on two real
nodes with no change to evroam: the CPO serves its Sender, the eMSP its Receiver, the partners' endpoint
lists name it, a change is pushed through the outbox, and ``evroam sync notices`` pulls the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.nodes import NodeProcess, free_port, stop_all, wait_until

pytestmark = pytest.mark.slow

KITS = {"EVROAM_KITS": "tests.integration.notices_kit:NOTICES", "EVROAM_PUSH_POLL_INTERVAL": "0.05"}


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    root = tmp_path_factory.mktemp("kit")
    cpo = NodeProcess("cpo", root / "cpo", free_port(), env=dict(KITS))
    emsp = NodeProcess("emsp", root / "emsp", free_port(), env=dict(KITS))
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            inits = [
                pool.submit(
                    cpo.evroam,
                    "init",
                    "--country-code",
                    "NL",
                    "--party-id",
                    "CPO",
                    "--role",
                    "CPO",
                    "--url",
                    cpo.url,
                ),
                pool.submit(
                    emsp.evroam,
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
            ]
            for done in inits:
                done.result()
        # a notice published before any partner is registered: it can only arrive by pull
        assert "0 push(es) queued" in cpo.evroam("notices", "add", "N0", "before anyone").stdout
        for node in (cpo, emsp):
            node.start()
        for node in (cpo, emsp):
            node.wait_ready()
        invitation = cpo.json("partners", "invite", "emsp")
        emsp.evroam(
            "partners",
            "register",
            "--versions-url",
            invitation["versions_url"],
            "--name",
            "cpo",
            "--token",
            invitation["token"],
        )
        yield cpo, emsp
    finally:
        stop_all((cpo, emsp))


def _partner(node: NodeProcess, name: str) -> dict[str, Any]:
    [found] = [p for p in node.json("partners", "list") if p["name"] == name]
    return found


def _notices(node: NodeProcess) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in json.loads(node.evroam("notices", "list").stdout)}


def test_the_custom_module_is_served_and_listed_in_the_endpoints(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    cpo, emsp = nodes
    cpo_as_seen = _partner(emsp, "cpo")
    emsp_as_seen = _partner(cpo, "emsp")
    assert cpo_as_seen["status"] == emsp_as_seen["status"] == "REGISTERED"
    cpo_endpoints = {(e["module"], e.get("role")) for e in cpo_as_seen["endpoints"]}
    emsp_endpoints = {(e["module"], e.get("role")) for e in emsp_as_seen["endpoints"]}
    assert ("notices", "SENDER") in cpo_endpoints and ("notices", "RECEIVER") not in cpo_endpoints
    assert ("notices", "RECEIVER") in emsp_endpoints and ("notices", "SENDER") not in emsp_endpoints
    assert "notices" in cpo.evroam("--help").stdout
    assert "notices" in emsp.evroam("sync", "--help").stdout


def test_a_change_is_pushed_through_the_outbox_and_the_rest_pulled_by_sync(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    cpo, emsp = nodes
    assert "1 push(es) queued" in cpo.evroam("notices", "add", "N1", "pushed").stdout
    pushed = wait_until(lambda: _notices(emsp).get("N1"), timeout=30, what="N1 pushed to the eMSP")
    assert pushed["text"] == "pushed" and pushed["partner_id"] is not None
    assert "N0" not in _notices(emsp)
    assert wait_until(
        lambda: cpo.outbox_counts().get("delivered"), timeout=30, what="the outbox row delivered"
    )
    assert cpo.outbox_counts().get("pending", 0) == 0

    for n in range(2, 5):  # with N0 and N1, five notices: three pages of at most two
        cpo.evroam("notices", "add", f"N{n}", f"notice {n}")
    wait_until(lambda: len(_notices(emsp)) == 4 or None, timeout=30, what="N2..N4 pushed")
    result = emsp.json("sync", "notices", "--partner", "cpo")
    assert (result["fetched"], result["pages"], result["total_count"]) == (5, 3, 5)
    assert (result["created"], result["unchanged"], result["refused"]) == (1, 4, 0)
    held = _notices(emsp)
    assert sorted(held) == ["N0", "N1", "N2", "N3", "N4"]
    assert held["N0"]["text"] == "before anyone"
    assert {n["partner_id"] for n in held.values()} == {pushed["partner_id"]}
    assert {n["partner_id"] for n in _notices(cpo).values()} == {None}


def test_a_node_without_the_kit_does_not_serve_it(tmp_path: Path) -> None:
    plain = NodeProcess("plain", tmp_path / "plain", free_port())
    plain.evroam("init", "--country-code", "NL", "--party-id", "PLN", "--role", "CPO", "--url", plain.url)
    done = plain.evroam("notices", "list", check=False)
    assert done.returncode != 0 and "No such command 'notices'" in done.stderr
