"""Charging profiles between evroam and extrawest-ocpi (OCPI 2.2.1, the only version in which the library
has the module), over real sockets on 127.0.0.1.

* evroam as the CPO (chargers simulated by ``evroam simulate``), the peer as the eMSP. The library has
  no client that sends a SetChargingProfile (it only serves the eMSP's result and ActiveChargingProfile
  routes), so the requests are made here as the peer would make them: with the peer's credentials, in
  the library's own model (``charging_profile_period`` one object, ``min_charge_rate`` required), a
  ``response_url`` on the peer's chargingprofiles endpoint. evroam's results and ActiveChargingProfile
  updates land in the peer's store.
* evroam as the eMSP (``evroam profiles set|get|clear``), the peer as the CPO: the peer's synchronous
  ChargingProfileResponse, and the result its background task POSTs to evroam's per-request URL.

What the library does differently from the OCPI text, and what evroam does about it, is in
``docs/interop.md`` (tolerance ``charging-profile-period-object``).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from evroam.core.clock import SystemClock
from evroam.sim import site
from tests.integration.nodes import NodeProcess, wait_until

from .compare import differences
from .conftest import PeerProcess, restart_simulated

pytestmark = pytest.mark.slow

ENV = {
    "EVROAM_PUSH_BASE_DELAY": "0.2",
    "EVROAM_PUSH_MAX_DELAY": "1",
    "EVROAM_PUSH_POLL_INTERVAL": "0.05",
    "EVROAM_PROFILES_TIMEOUT": "5",
    "EVROAM_PROFILES_GRACE": "5",
    "EVROAM_PROFILES_MIN_INTERVAL": "0",
}
EVSE = site.AC_EVSES[0]
PEER_TOKEN = {
    "country_code": "US",
    "party_id": "PEE",
    "uid": "PEERDRIVER1",
    "type": "RFID",
    "contract_id": "US-PEE-C00000009",
    "issuer": "Extrawest peer",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2025-06-01T10:00:00Z",
}


def _write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def _peer_auth(peer: PeerProcess) -> dict[str, str]:
    """The Authorization header the peer sends to its one partner (2.2.1: the token in Base64)."""
    (partner,) = peer.state()["partners"]
    return {"Authorization": f"Token {base64.b64encode(partner['their_token'].encode()).decode()}"}


def _peer_profile(limit: float) -> dict[str, Any]:
    """A ChargingProfile as the library's model has it."""
    return {
        "charging_rate_unit": "W",
        "min_charge_rate": 0,
        "charging_profile_period": {"start_period": 0, "limit": limit},
    }


def _as_the_text_has_it(profile: dict[str, Any]) -> dict[str, Any]:
    """The same profile in OCPI 2.2.1 shape: a list of periods, ``min_charging_rate``."""
    out = {k: v for k, v in profile.items() if k not in ("min_charge_rate", "charging_profile_period")}
    out["charging_profile_period"] = [profile["charging_profile_period"]]
    if profile.get("min_charge_rate") is not None:
        out["min_charging_rate"] = profile["min_charge_rate"]
    return out


def _peer_shaped(profile: dict[str, Any]) -> dict[str, Any]:
    """An OCPI profile of one period as the peer can hold it."""
    out = {k: v for k, v in profile.items() if k not in ("min_charging_rate", "charging_profile_period")}
    (out["charging_profile_period"],) = profile["charging_profile_period"]
    out["min_charge_rate"] = profile.get("min_charging_rate", 0)
    return out


# -- evroam as the CPO -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cpo_pair(
    peer_factory: Any, node_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PeerProcess, NodeProcess, str]:
    """The peer as eMSP, a simulated evroam CPO registered with it, and a session of the peer's driver
    charging on a CHARGING_PROFILE_CAPABLE EVSE (started by a START_SESSION made as the peer)."""
    tmp = tmp_path_factory.mktemp("profiles-cpo")
    peer: PeerProcess = peer_factory(roles=["emsp"], party_id="PEE")
    cpo: NodeProcess = node_factory("profiles-cpo", "NL", "CPO", "CPO", env=ENV)
    now = SystemClock().now()
    cpo.evroam("tariffs", "import", _write(tmp, "tariffs.json", site.demo_tariffs("NL", "CPO", now)))
    cpo.evroam("locations", "import", _write(tmp, "locations.json", site.demo_locations("NL", "CPO", now)))
    cpo.evroam("compat", "set", "peer", "--profile", "extrawest-ocpi")
    registered = cpo.json(
        "partners", "register", "--versions-url", peer.versions_url, "--token", peer.token_a, "--name", "peer"
    )
    assert ("chargingprofiles", "SENDER") in {(e["module"], e["role"]) for e in registered["endpoints"]}
    restart_simulated(cpo, "--speed", "60", "--meter-interval", "300", "--plug-delay", "1")

    command = {
        "response_url": f"{peer.url}/ocpi/emsp/2.2.1/commands/PROFILES-START",
        "token": PEER_TOKEN,
        "location_id": site.LOCATION_ID,
        "evse_uid": EVSE,
    }
    started = httpx.post(
        f"{cpo.url}/ocpi/2.2.1/receiver/commands/START_SESSION",
        json=command,
        headers=_peer_auth(peer),
        timeout=30,
    )
    assert started.status_code == 200 and started.json()["data"]["result"] == "ACCEPTED", started.text

    def charging() -> str | None:
        for payload, _, _ in cpo.documents("session", own=True):
            session = json.loads(payload)
            if session["evse_uid"] == EVSE and session["status"] == "ACTIVE":
                return str(session["id"])
        return None

    session_id = wait_until(charging, timeout=30, what="the peer's driver's session to be charging")
    return peer, cpo, session_id


def _results_at_peer(peer: PeerProcess, request: str) -> dict[str, Any] | None:
    found = [r for r in peer.state()["profile_results"] if r["query"].get("request") == request]
    return found[-1]["result"] if found else None


def _active_at_peer(peer: PeerProcess, session_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = peer.state()["active_profiles"].get(session_id.casefold())
    return found


def test_the_peer_sets_gets_and_clears_a_profile_on_an_evroam_cpo(
    cpo_pair: tuple[PeerProcess, NodeProcess, str],
) -> None:
    peer, cpo, session_id = cpo_pair
    url = f"{cpo.url}/ocpi/2.2.1/receiver/chargingprofiles/{session_id}"
    results = f"{peer.url}/ocpi/emsp/2.2.1/chargingprofiles/"
    sent = {"charging_profile": _peer_profile(3700.0), "response_url": f"{results}?request=set-1"}

    # held to the text, the peer's body is invalid: one period object where OCPI has a list (the
    # serving node reads the switches again within a few seconds: probed on a session it does not have)
    probe_url = f"{cpo.url}/ocpi/2.2.1/receiver/chargingprofiles/PROBE"

    def probe(status: int) -> httpx.Response | None:
        answer = httpx.put(probe_url, json=sent, headers=_peer_auth(peer), timeout=10)
        return answer if answer.status_code == status else None

    cpo.evroam("compat", "set", "peer", "--disable", "charging-profile-period-object")
    try:
        refused = wait_until(lambda: probe(400), timeout=20, what="the tolerance to be off")
        assert refused.json()["status_code"] == 2001
        assert "charging_profile_period" in refused.json()["status_message"]
        assert httpx.put(url, json=sent, headers=_peer_auth(peer), timeout=10).status_code == 400
    finally:
        cpo.evroam("compat", "set", "peer", "--enable", "charging-profile-period-object")
    wait_until(lambda: probe(200), timeout=20, what="the tolerance to be on again")

    answer = httpx.put(url, json=sent, headers=_peer_auth(peer), timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"] == {"result": "ACCEPTED", "timeout": 5}
    result = wait_until(
        lambda: _results_at_peer(peer, "set-1"), timeout=20, what="the set result at the peer"
    )
    assert result == {"result": "ACCEPTED"}

    # what evroam stored is what the peer sent, in OCPI's shape
    received = cpo.json("profiles", "list", "--received")["requests"]
    (record,) = [r for r in received if r["type"] == "SET" and r["session"] == session_id]
    assert (record["partner"], record["session"], record["charger_answer"]) == (
        "peer",
        session_id,
        "ACCEPTED",
    )
    assert record["response_url"] == sent["response_url"]
    assert differences(_as_the_text_has_it(sent["charging_profile"]), record["profile"]) == []

    # the charger applies it; the ActiveChargingProfile reaches the peer in the peer's model
    def limited() -> dict[str, Any] | None:
        active = _active_at_peer(peer, session_id)
        period = None if active is None else active["charging_profile"]["charging_profile_period"]
        return active if period is not None and period["limit"] == 3700.0 else None

    active = wait_until(limited, timeout=20, what="the ActiveChargingProfile at the peer")
    assert active["charging_profile"]["charging_rate_unit"] == "W"
    assert active["charging_profile"]["charging_profile_period"]["start_period"] == 0

    # GET: the result (an ActiveChargingProfileResult) is POSTed to the peer's URL
    got = httpx.get(
        url,
        params={"duration": "900", "response_url": f"{results}?request=get-1"},
        headers=_peer_auth(peer),
        timeout=10,
    )
    assert got.status_code == 200 and got.json()["data"]["result"] == "ACCEPTED", got.text
    result = wait_until(
        lambda: _results_at_peer(peer, "get-1"), timeout=20, what="the get result at the peer"
    )
    assert result["result"] == "ACCEPTED"
    profile = result["profile"]["charging_profile"]
    assert profile["charging_profile_period"]["limit"] == 3700.0  # (the peer's model, through compat)

    # DELETE: cleared, the charger back at the EVSE's maximum, and the peer told so
    cleared = httpx.delete(
        url, params={"response_url": f"{results}?request=clear-1"}, headers=_peer_auth(peer), timeout=10
    )
    assert cleared.status_code == 200 and cleared.json()["data"]["result"] == "ACCEPTED", cleared.text
    result = wait_until(lambda: _results_at_peer(peer, "clear-1"), timeout=20, what="the clear result")
    assert result == {"result": "ACCEPTED"}

    def restored() -> dict[str, Any] | None:
        active = _active_at_peer(peer, session_id)
        period = None if active is None else active["charging_profile"]["charging_profile_period"]
        return active if period is not None and period["limit"] > 3700.0 else None

    active = wait_until(restored, timeout=20, what="the ActiveChargingProfile after the clear")
    assert active["charging_profile"]["charging_profile_period"]["limit"] == 22080.0
    parked = cpo.json("outbox", "list", "--status", "parked")
    assert parked == [], parked


def test_an_unknown_session_is_refused_to_the_peer(cpo_pair: tuple[PeerProcess, NodeProcess, str]) -> None:
    peer, cpo, _ = cpo_pair
    sent = {
        "charging_profile": _peer_profile(1000.0),
        "response_url": f"{peer.url}/ocpi/emsp/2.2.1/chargingprofiles/?request=unknown",
    }
    answer = httpx.put(
        f"{cpo.url}/ocpi/2.2.1/receiver/chargingprofiles/NO-SUCH-SESSION",
        json=sent,
        headers=_peer_auth(peer),
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.json()["data"]["result"] == "UNKNOWN_SESSION"


# -- evroam as the eMSP ------------------------------------------------------------------------------

PEER_SESSION_ID = "PEERPROFILESESSION1"


@pytest.fixture(scope="module")
def emsp_pair(peer_factory: Any, node_factory: Any) -> tuple[PeerProcess, NodeProcess]:
    """The peer as CPO with a charging session of evroam's driver, an evroam eMSP registered with it."""
    peer: PeerProcess = peer_factory(roles=["cpo"], party_id="PCP")
    session = {
        "country_code": "US",
        "party_id": "PCP",
        "id": PEER_SESSION_ID,
        "start_date_time": "2025-06-03T08:00:00Z",
        "kwh": 1.5,
        "cdr_token": {
            "country_code": "DE",
            "party_id": "MSP",
            "uid": "EVROAMTOKEN1",
            "type": "RFID",
            "contract_id": "DE-MSP-C00000001",
        },
        "auth_method": "COMMAND",
        "location_id": "LOC1",
        "evse_uid": "EVSE1",
        "connector_id": "1",
        "currency": "EUR",
        "status": "ACTIVE",
        "last_updated": "2025-06-03T08:10:00Z",
    }
    peer.seed("sessions", [session])
    emsp: NodeProcess = node_factory("profiles-emsp", "DE", "MSP", "EMSP", env=ENV)
    emsp.evroam("compat", "set", "peer", "--profile", "extrawest-ocpi", "--url", peer.versions_url)
    registered = emsp.json(
        "partners", "register", "--versions-url", peer.versions_url, "--token", peer.token_a, "--name", "peer"
    )
    assert ("chargingprofiles", "RECEIVER") in {(e["module"], e["role"]) for e in registered["endpoints"]}
    return peer, emsp


def _run(node: NodeProcess, *args: str, timeout: float = 60) -> tuple[int, dict[str, Any]]:
    done = node.evroam(*args, "--json", check=False, timeout=timeout)
    assert done.stdout, f"no output (exit {done.returncode}): {done.stderr[-2000:]}"
    return done.returncode, json.loads(done.stdout)


def _answers(peer: PeerProcess, **answers: Any) -> None:
    httpx.post(f"{peer.url}/_peer/profile-answers", json=answers, timeout=10).raise_for_status()


def test_evroam_sets_gets_and_clears_a_profile_at_the_peer(
    emsp_pair: tuple[PeerProcess, NodeProcess],
) -> None:
    peer, emsp = emsp_pair
    _answers(peer, response={"result": "ACCEPTED", "timeout": 90}, charger_answered=True)
    profiles = ("profiles", "set", PEER_SESSION_ID, "--partner", "peer")
    status, sent = _run(emsp, *profiles, "--limit-kw", "3.7", "--no-wait")
    assert status == 0, sent
    # the peer's ChargingProfileResponse (a one-element list, unwrapped by compat)
    assert sent["response"] == {"result": "ACCEPTED", "timeout": 90}
    assert sent["state"] == "WAITING"

    # what the peer received: evroam's SetChargingProfile, in the peer's model (one period object)
    (request,) = peer.state()["profile_requests"]
    assert (request["action"], request["session_id"].casefold()) == ("SET", PEER_SESSION_ID.casefold())
    assert request["response_url"] == sent["response_url"]
    assert request["response_url"] == f"{emsp.url}/ocpi/2.2.1/sender/chargingprofiles/set/{sent['id']}"
    assert differences(_peer_shaped(sent["profile"]), request["body"]["charging_profile"]) == []

    # GET: the peer's charge point applies the profile just set; its result reaches evroam
    status, asked = _run(emsp, "profiles", "get", PEER_SESSION_ID, "--partner", "peer", "--duration", "900")
    assert (status, asked["outcome"], asked["result_source"]) == (0, "ACCEPTED", "partner"), asked
    active = asked["active"]
    assert active["charging_profile"]["charging_profile_period"] == [{"start_period": 0, "limit": 3700.0}]
    assert active["charging_profile"]["duration"] == 900
    assert peer.state()["profile_requests"][-1]["duration"] == 900

    # the set's result: the library polls its charge point every 2 s and posts ACCEPTED only after
    # 30 polls that all found an answer (docs/interop.md) - about a minute
    def settled() -> dict[str, Any] | None:
        record = _run(emsp, "profiles", "show", sent["id"])[1]
        return record if record["state"] != "WAITING" else None

    done = wait_until(settled, timeout=150, what="the peer's result of the set")
    assert (done["state"], done["outcome"], done["result_source"]) == ("DONE", "ACCEPTED", "partner"), done

    # with no answer from its charge point the library's logic is inverted: a clear is ACCEPTED at
    # once, a set REJECTED at once
    _answers(peer, charger_answered=False)
    status, cleared = _run(emsp, "profiles", "clear", PEER_SESSION_ID, "--partner", "peer")
    assert (status, cleared["outcome"], cleared["result_source"]) == (0, "ACCEPTED", "partner"), cleared
    assert peer.state()["profile_requests"][-1]["action"] == "CLEAR"
    status, rejected = _run(emsp, *profiles, "--limit-kw", "5")
    assert (status, rejected["outcome"], rejected["result_source"]) == (1, "REJECTED", "partner"), rejected


def test_what_the_peer_cannot_take(emsp_pair: tuple[PeerProcess, NodeProcess], tmp_path: Path) -> None:
    peer, emsp = emsp_pair
    before = len(peer.state()["profile_requests"])
    # several periods: not expressible in the peer's model; it answers HTTP 422, read as 2001
    periods = [{"start_period": 0, "limit": 3000}, {"start_period": 600, "limit": 6000}]
    path = _write(tmp_path, "periods.json", periods)
    status, several = _run(emsp, "profiles", "set", PEER_SESSION_ID, "--partner", "peer", "--periods", path)
    assert (status, several["state"]) == (1, "FAILED"), several
    assert "2001" in several["error"] and "charging_profile_period" in several["error"], several["error"]

    # a session the peer does not know: HTTP 200 with OCPI 2000 (not UNKNOWN_SESSION) - a failure
    status, unknown = _run(emsp, "profiles", "set", "NO-SUCH-SESSION", "--partner", "peer", "--limit-kw", "3")
    assert (status, unknown["state"]) == (1, "FAILED"), unknown
    assert "2000" in unknown["error"], unknown["error"]
    assert len(peer.state()["profile_requests"]) == before  # neither reached the peer's backend
