"""An evroam hub, two evroam CPOs and two evroam eMSPs over real sockets, each registered only with the
hub: HubClientInfo, broadcast of locations and status changes, a merged and paginated GET-all, a
real-time authorization and a command through the hub, a session and CDR for one eMSP only, an eMSP
seen OFFLINE and back, and a platform claiming a party another holds, refused."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from evroam.sim import site
from tests.integration.nodes import NodeProcess, free_port, stop_all, wait_until
from tests.integration.test_commands_e2e import SimulatedCpo

pytestmark = pytest.mark.slow

T0 = "2026-03-01T12:00:00Z"
ENV = {"EVROAM_PUSH_POLL_INTERVAL": "0.05", "EVROAM_PUSH_BASE_DELAY": "0.2", "EVROAM_PUSH_MAX_DELAY": "0.5"}
HUB_ENV = {**ENV, "EVROAM_HUB_SILENCE": "1", "EVROAM_HUB_TICK": "0.3", "EVROAM_HUB_TIMEOUT": "3"}


def token(party: str, uid: str) -> dict[str, Any]:
    return {
        "country_code": "DE",
        "party_id": party,
        "uid": uid,
        "type": "RFID",
        "contract_id": f"DE-{party}-C{uid}",
        "issuer": f"eMSP {party}",
        "valid": True,
        "whitelist": "NEVER",
        "last_updated": T0,
    }


def session_json(session_id: str, reference: str) -> dict[str, Any]:
    return {
        "country_code": "NL",
        "party_id": "CP2",
        "id": session_id,
        "start_date_time": T0,
        "kwh": 0,
        "cdr_token": {
            "country_code": "DE",
            "party_id": "MS1",
            "uid": "T1",
            "type": "RFID",
            "contract_id": "DE-MS1-CT1",
        },
        "auth_method": "AUTH_REQUEST",
        "authorization_reference": reference,
        "location_id": site.LOCATION_ID,
        "evse_uid": site.AC_EVSES[0],
        "connector_id": "1",
        "currency": "EUR",
        "status": "ACTIVE",
        "last_updated": T0,
    }


def auth(node: NodeProcess, partner: str) -> str:
    return "Token " + base64.b64encode(node.partner_token(partner).encode()).decode()


def received(node: NodeProcess, kind: str) -> list[dict[str, Any]]:
    return [json.loads(p) for p, _, _ in node.documents(kind, own=False)]


def statuses(node: NodeProcess) -> dict[str, str]:
    """The parties a hub told the node about, with their status (read from its database)."""
    infos = [json.loads(p) for p, _, _ in node.documents("hubclientinfo")]
    return {f"{i['country_code']}*{i['party_id']}": i["status"] for i in infos}


def token_uids(node: NodeProcess) -> list[str]:
    """The uids of the tokens the node received."""
    records = [json.loads(p) for p, _, _ in node.documents("token", own=False)]
    return [str(r.get("token", r)["uid"]) for r in records]


@pytest.fixture
def network(tmp_path: Path) -> Iterator[dict[str, NodeProcess]]:
    hub = NodeProcess("hub", tmp_path / "hub", free_port(), env=HUB_ENV)
    cpo1 = SimulatedCpo("cpo1", tmp_path / "cpo1", free_port(), env=ENV)
    cpo1.simulate_args = ("--speed", "60")
    cpo2 = NodeProcess("cpo2", tmp_path / "cpo2", free_port(), env=ENV)
    emsp1 = NodeProcess("emsp1", tmp_path / "emsp1", free_port(), env=ENV)
    emsp2 = NodeProcess("emsp2", tmp_path / "emsp2", free_port(), env=ENV)
    nodes = {"hub": hub, "cpo1": cpo1, "cpo2": cpo2, "emsp1": emsp1, "emsp2": emsp2}
    parties = {"hub": ("NL", "HUB", "HUB"), "cpo1": ("NL", "CP1", "CPO"), "cpo2": ("NL", "CP2", "CPO")}
    parties.update({"emsp1": ("DE", "MS1", "EMSP"), "emsp2": ("DE", "MS2", "EMSP")})
    try:
        with ThreadPoolExecutor(max_workers=5) as pool:
            list(pool.map(lambda n: nodes[n].init(*parties[n]), nodes))
            early = tmp_path / "early.json"  # the simulator needs its chargers when it starts
            early.write_text(json.dumps(site.demo_locations("NL", "CP1", _now())))
            cpo1.evroam("locations", "import", str(early))
            for node in nodes.values():
                node.start()
            for node in nodes.values():
                node.wait_ready()

            def join(name: str) -> dict[str, Any]:
                invitation = hub.json("partners", "invite", name)
                register = ("partners", "register", "--versions-url", hub.versions_url, "--name", "hub")
                result: dict[str, Any] = nodes[name].json(*register, "--token", invitation["token"])
                return result

            joined = list(pool.map(join, ["cpo1", "cpo2", "emsp1", "emsp2"]))
        assert [j["status"] for j in joined] == ["REGISTERED"] * 4
        yield nodes
    finally:
        stop_all(nodes.values())


def test_five_nodes_through_one_hub(network: dict[str, NodeProcess], tmp_path: Path) -> None:
    hub, cpo1, cpo2, emsp1, emsp2 = (network[n] for n in ("hub", "cpo1", "cpo2", "emsp1", "emsp2"))
    everyone = ("NL*CP1", "NL*CP2", "DE*MS1", "DE*MS2")

    # -- HubClientInfo: every party knows the three others, CONNECTED ------------------------------
    for node, own in ((cpo1, "NL*CP1"), (cpo2, "NL*CP2"), (emsp1, "DE*MS1"), (emsp2, "DE*MS2")):
        others = {p: "CONNECTED" for p in everyone if p != own}
        wait_until(lambda n=node, o=others: statuses(n) == o, timeout=20, what=f"ClientInfo at {node.name}")

    pulled = cpo2.json("sync", "hubclientinfo", "--partner", "hub")
    assert (pulled["fetched"], pulled["refused"]) == (3, 0)
    listed = {r["party"]: (r["role"], r["status"], r["hub"]) for r in cpo2.json("hubclientinfo", "list")}
    assert listed["DE*MS1"] == ("EMSP", "CONNECTED", "hub") and "NL*CP2" not in listed

    # -- the ownership rule: a platform claiming NL*CP1 is refused, nothing learnt --------------------
    invitation = hub.json("partners", "invite", "impostor")
    claim = {
        "token": "impostor-token-0001",
        "url": "http://127.0.0.1:9/ocpi/versions",
        "roles": [
            {
                "role": "CPO",
                "party_id": "CP1",
                "country_code": "NL",
                "business_details": {"name": "Impostor"},
            }
        ],
    }
    refused = httpx.post(
        f"{hub.url}/ocpi/2.2.1/credentials",
        json=claim,
        headers={"Authorization": "Token " + base64.b64encode(invitation["token"].encode()).decode()},
        timeout=10,
    )
    assert refused.status_code == 409 and "NL*CP1" in refused.json()["status_message"]

    # -- locations of both CPOs broadcast to both eMSPs ----------------------------------------------
    for cpo, party in ((cpo1, "CP1"), (cpo2, "CP2")):
        path = tmp_path / f"{party}.json"
        path.write_text(json.dumps(site.demo_locations("NL", party, _now())))
        cpo.evroam("locations", "import", str(path))
    for emsp in (emsp1, emsp2):
        wait_until(
            lambda e=emsp: sorted(loc["party_id"] for loc in received(e, "location")) == ["CP1", "CP2"],
            timeout=20,
            what=f"both CPOs' locations at {emsp.name}",
        )
    evse = site.AC_EVSES[1]
    cpo2.evroam("locations", "set-status", evse, "BLOCKED")

    def blocked(emsp: NodeProcess) -> bool:
        [loc] = [loc for loc in received(emsp, "location") if loc["party_id"] == "CP2"]
        return any(e["uid"] == evse and e["status"] == "BLOCKED" for e in loc["evses"])

    for emsp in (emsp1, emsp2):
        wait_until(lambda e=emsp: blocked(e), timeout=20, what=f"the status change at {emsp.name}")

    # -- GET-all through the hub: both CPOs' locations, one per page ---------------------------------
    headers = {
        "Authorization": auth(emsp1, "hub"),
        "OCPI-from-country-code": "DE",
        "OCPI-from-party-id": "MS1",
        "OCPI-to-country-code": "NL",
        "OCPI-to-party-id": "HUB",
        "X-Request-ID": "r1",
        "X-Correlation-ID": "c1",
    }
    first = httpx.get(f"{hub.url}/ocpi/2.2.1/sender/locations?limit=1", headers=headers, timeout=10)
    assert first.status_code == 200 and first.headers["X-Total-Count"] == "2"
    assert first.headers["X-Correlation-ID"] == "c1"
    link = first.headers["Link"].split(";")[0].strip("<>")
    second = httpx.get(link, headers=headers, timeout=10)
    pages = [first.json()["data"], second.json()["data"]]
    assert [len(p) for p in pages] == [1, 1] and "Link" not in second.headers
    assert sorted(p[0]["party_id"] for p in pages) == ["CP1", "CP2"]

    # -- a token of eMSP 1 authorized in real time at CPO 2 through the hub -------------------------
    tokens = tmp_path / "tokens1.json"
    tokens.write_text(json.dumps([token("MS1", "T1")]))
    emsp1.evroam("tokens", "import", str(tokens))
    wait_until(
        lambda: "T1" in token_uids(cpo2),
        timeout=20,
        what="T1 at CPO 2",
    )
    decision = cpo2.json("tokens", "authorize", "T1", "--location", site.LOCATION_ID, "--evse", evse)
    assert (decision["outcome"], decision["source"]) == ("ALLOWED", "eMSP")

    # -- START_SESSION from eMSP 2 at CPO 1, with its asynchronous result -----------------------------
    tokens2 = tmp_path / "tokens2.json"
    tokens2.write_text(json.dumps([token("MS2", "T2")]))
    emsp2.evroam("tokens", "import", str(tokens2))
    wait_until(
        lambda: "T2" in token_uids(cpo1),
        timeout=20,
        what="T2",
    )
    started = emsp2.json(
        "commands",
        "start-session",
        "--partner",
        "hub",
        "--to",
        "NL*CP1",
        "--location",
        site.LOCATION_ID,
        "--evse",
        site.AC_EVSES[0],
        "--token",
        "T2",
    )
    assert (started["outcome"], started["state"]) == ("ACCEPTED", "DONE")
    assert [r["source"] for r in started["results"]] == ["partner"]

    # -- a session and its CDR at CPO 2 reach eMSP 1 (the token's) only ------------------------------
    session = tmp_path / "s1.json"
    session.write_text(json.dumps(session_json("S1", decision["authorization_reference"])))
    cpo2.json("sessions", "start", str(session))
    period = {"start_date_time": T0, "dimensions": [{"type": "ENERGY", "volume": 5}]}
    cpo2.json("sessions", "update", "S1", "--kwh", "5", "--period", json.dumps(period))
    cpo2.json("sessions", "stop", "S1", "--end", "2026-03-01T13:00:00Z", "--kwh", "5", "--total-cost", "2.10")
    cpo2.json("cdrs", "create", "--from-session", "S1")
    wait_until(lambda: [c for c in received(emsp1, "cdr")], timeout=20, what="the CDR at eMSP 1")
    assert [s["id"] for s in received(emsp1, "session") if s["party_id"] == "CP2"] == ["S1"]
    assert [s for s in received(emsp2, "session") if s["party_id"] == "CP2"] == []
    assert received(emsp2, "cdr") == []

    # -- eMSP 2 stopped: OFFLINE for the others, 4003 meanwhile, CONNECTED again after restart -------
    emsp2.stop()
    for node in (cpo1, emsp1):
        wait_until(lambda n=node: statuses(n).get("DE*MS2") == "OFFLINE", timeout=20, what="OFFLINE")
    meanwhile = httpx.get(
        f"{hub.url}/ocpi/2.2.1/sender/tokens",
        headers={
            **headers,
            "Authorization": auth(cpo1, "hub"),
            "OCPI-from-country-code": "NL",
            "OCPI-from-party-id": "CP1",
            "OCPI-to-country-code": "DE",
            "OCPI-to-party-id": "MS2",
        },
        timeout=10,
    )
    assert meanwhile.json()["status_code"] == 4003
    emsp2.start()
    emsp2.wait_ready()
    for node in (cpo1, emsp1):
        wait_until(lambda n=node: statuses(n).get("DE*MS2") == "CONNECTED", timeout=20, what="CONNECTED")

    # -- the hub's view: its parties and its routed traffic ------------------------------------------
    shown = {r["party"]: (r["role"], r["platform"], r["status"]) for r in hub.json("hub", "parties")}
    assert shown == {
        "NL*CP1": ("CPO", "cpo1", "CONNECTED"),
        "NL*CP2": ("CPO", "cpo2", "CONNECTED"),
        "DE*MS1": ("EMSP", "emsp1", "CONNECTED"),
        "DE*MS2": ("EMSP", "emsp2", "CONNECTED"),
    }
    routed = {(r["module"], r["interface"], r["kind"]): r["requests"] for r in hub.json("hub", "stats")}
    assert (
        routed[("locations", "RECEIVER", "broadcast")] >= 3 and routed[("locations", "SENDER", "merged")] == 2
    )
    assert routed[("tokens", "SENDER", "forward")] >= 1 and routed[("commands", "SENDER", "relay")] >= 1
    assert routed[("cdrs", "RECEIVER", "forward")] >= 1


def _now() -> Any:
    from evroam.core.clock import SystemClock

    return SystemClock().now()
