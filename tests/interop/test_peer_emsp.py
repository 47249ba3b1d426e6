"""extrawest-ocpi as the eMSP, an evroam node as the CPO, over real sockets on 127.0.0.1.

The peer cannot start a handshake, so evroam registers with it (token A handed over by the peer's
operator), with the peer's tolerances switched on for it (``evroam compat set peer --profile
extrawest-ocpi``). Then evroam's outbox worker pushes Locations (PUT, then PATCHes of EVSE statuses)
and Tariffs, and the peer's store must hold what evroam sent.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.locations_data import generate_locations
from tests.integration.nodes import NodeProcess, wait_until

from .compare import differences
from .conftest import PeerProcess, evroam_failing, restart_simulated

pytestmark = pytest.mark.slow

PUSH_ENV = {
    "EVROAM_PUSH_BASE_DELAY": "0.2",
    "EVROAM_PUSH_MAX_DELAY": "1",
    "EVROAM_PUSH_POLL_INTERVAL": "0.05",
}
SCHEDULE = [
    {"period_begin": "2025-07-01T08:00:00Z", "period_end": "2025-07-01T12:00:00Z", "status": "BLOCKED"},
    {"period_begin": "2025-07-02T08:00:00Z", "status": "INOPERATIVE"},
]


@pytest.fixture(scope="module")
def pair(peer_factory: Any, node_factory: Any) -> tuple[PeerProcess, NodeProcess, dict[str, Any]]:
    peer: PeerProcess = peer_factory(roles=["emsp"])
    cpo: NodeProcess = node_factory("cpo", "NL", "CPO", "CPO", env=PUSH_ENV)
    switched = cpo.json("compat", "set", "peer", "--profile", "extrawest-ocpi")
    assert switched["partner"] == "peer" and "list-wrapped-objects" in switched["quirks"]
    registered = cpo.json(
        "partners", "register", "--versions-url", peer.versions_url, "--token", peer.token_a, "--name", "peer"
    )
    return peer, cpo, registered


def _write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def _soon() -> str:
    """A last_updated a little after now (the peer keeps whole seconds)."""
    return (
        (datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    )


def _settled(node: NodeProcess) -> bool:
    counts = node.outbox_counts()
    return counts.get("pending", 0) + counts.get("in_flight", 0) == 0


def test_evroam_cpo_registers_with_the_peer(pair: tuple[PeerProcess, NodeProcess, dict[str, Any]]) -> None:
    peer, cpo, registered = pair
    assert registered["status"] == "REGISTERED"
    assert registered["version"] == "2.2.1"
    roles = {(r["role"], r["country_code"].upper(), r["party_id"].upper()) for r in registered["roles"]}
    assert roles == {("EMSP", "US", "PEE")}
    modules = {(e["module"], e["role"]) for e in registered["endpoints"]}
    assert {("credentials", "RECEIVER"), ("locations", "RECEIVER"), ("tokens", "SENDER")} <= modules

    # the peer called us back with the token we issued and stored what our version details said
    (partner,) = peer.state()["partners"]
    assert partner["versions_url"] == cpo.versions_url
    assert partner["version"] == "2.2.1"
    ours = {(e["identifier"], e["role"]): e["url"] for e in partner["endpoints"]["endpoints"]}
    assert (
        ours[("locations", "SENDER")] == f"{cpo.url}/ocpi/2.2.1/sender/locations/"
    )  # trailing slash: compat
    (role,) = partner["credentials"]["roles"]
    assert (role["role"], role["country_code"].upper(), role["party_id"].upper()) == ("CPO", "NL", "CPO")

    # GET credentials with the token the peer gave us answers with the peer's credentials
    listed = cpo.json("partners", "list")
    assert [(p["name"], p["status"]) for p in listed] == [("peer", "REGISTERED")]


def test_locations_are_pushed_and_status_changes_patched(
    pair: tuple[PeerProcess, NodeProcess, dict[str, Any]], tmp_path: Path
) -> None:
    peer, cpo, _ = pair
    generated = generate_locations(24, seed=7)
    for location in generated:
        location["publish"] = True
        location.pop("publish_allowed_to", None)
    hidden = generated[-1]
    hidden["publish"] = False
    scheduled = generated[0]["evses"][0]
    scheduled["status_schedule"] = SCHEDULE
    imported = cpo.json("locations", "import", _write(tmp_path, "locations.json", generated))
    assert len(imported["created"]) == 24
    shown = generated[:-1]

    def arrived() -> dict[str, Any] | None:
        stored = peer.objects("locations", "received")
        return stored if len(stored) >= len(shown) else None

    stored = wait_until(arrived, timeout=20, what="the locations at the peer")
    assert set(stored) == {f"nl/cpo/{loc['id'].casefold()}" for loc in shown}  # not the unpublished one
    for location in shown:
        sent = copy.deepcopy(location)
        sent.pop("publish_allowed_to", None)
        theirs = stored[f"nl/cpo/{location['id'].casefold()}"]
        for evse in sent["evses"]:
            # the peer models one StatusSchedule, not a list: it gets the first entry (compat)
            if evse.get("status_schedule"):
                evse["status_schedule"] = evse["status_schedule"][0]
        assert differences(sent, theirs) == [], location["id"]
    wait_until(lambda: _settled(cpo), timeout=10, what="the CPO's outbox to settle")
    assert cpo.outbox_counts().get("parked", 0) == 0

    # EVSE status changes go out as PATCHes and land in the peer's copy
    target = shown[3]
    for status in ("CHARGING", "BLOCKED"):
        cpo.evroam("locations", "set-status", target["evses"][0]["uid"], status)

    def status_at_peer() -> str | None:
        location = peer.objects("locations", "received")[f"nl/cpo/{target['id'].casefold()}"]
        evse = next(e for e in location["evses"] if e["uid"] == target["evses"][0]["uid"].casefold())
        return evse["status"] if evse["status"] == "BLOCKED" else None

    wait_until(status_at_peer, timeout=15, what="the last status at the peer")
    wait_until(lambda: _settled(cpo), timeout=10, what="the CPO's outbox to settle")
    delivered = cpo.json("outbox", "list", "--status", "all", "--limit", "1000")
    assert {row["status"] for row in delivered} == {"delivered"}
    assert any(row["method"] == "PATCH" for row in delivered)


TARIFFS = [
    {
        "country_code": "NL",
        "party_id": "CPO",
        "id": "AC1",
        "currency": "EUR",
        "type": "REGULAR",
        "tariff_alt_text": [{"language": "en", "text": "0.30 EUR/kWh, 2 EUR/h parking after 2 h"}],
        "elements": [
            {"price_components": [{"type": "ENERGY", "price": "0.30", "vat": "21.0", "step_size": 1}]},
            {
                "price_components": [{"type": "PARKING_TIME", "price": "2.00", "step_size": 300}],
                "restrictions": {"min_duration": 7200},
            },
        ],
        "last_updated": "2025-06-01T10:00:00Z",
    },
    {
        "country_code": "NL",
        "party_id": "CPO",
        "id": "DC1",
        "currency": "EUR",
        "min_price": {"excl_vat": "1.00", "incl_vat": "1.21"},
        "elements": [
            {"price_components": [{"type": "FLAT", "price": "0.50", "step_size": 1}]},
            {"price_components": [{"type": "ENERGY", "price": "0.59", "step_size": 1}]},
        ],
        "last_updated": "2025-06-01T10:00:00Z",
    },
]


def test_tariffs_are_pushed(pair: tuple[PeerProcess, NodeProcess, dict[str, Any]], tmp_path: Path) -> None:
    peer, cpo, _ = pair
    imported = cpo.json("tariffs", "import", _write(tmp_path, "tariffs.json", TARIFFS))
    assert sorted(imported["created"]) == ["AC1", "DC1"]

    def arrived() -> dict[str, Any] | None:
        stored = peer.objects("tariffs", "received")
        return stored if len(stored) == 2 else None

    stored = wait_until(arrived, timeout=15, what="the tariffs at the peer")
    for tariff in TARIFFS:
        assert differences(tariff, stored[f"nl/cpo/{tariff['id'].casefold()}"]) == [], tariff["id"]


PEER_TOKEN = {
    "country_code": "US",
    "party_id": "PEE",
    "uid": "PEERTOKEN01",
    "type": "RFID",
    "contract_id": "US-PEE-C00000001",
    "visual_number": "0001",
    "issuer": "Extrawest peer",
    "valid": True,
    "whitelist": "ALLOWED_OFFLINE",
    "last_updated": "2025-06-01T10:00:00Z",
}


def test_real_time_authorization_asks_the_peer(pair: tuple[PeerProcess, NodeProcess, dict[str, Any]]) -> None:
    peer, cpo, _ = pair
    peer.seed("tokens", [PEER_TOKEN, {**PEER_TOKEN, "uid": "PEERBLOCKED", "valid": False}])
    location = "LOC00000"
    where = ("--location", location, "--issuer", "US:PEE")
    allowed = cpo.json("tokens", "authorize", "PEERTOKEN01", *where)
    assert (allowed["outcome"], allowed["route"], allowed["source"]) == ("ALLOWED", "real-time", "eMSP")
    assert allowed["authorization_reference"]  # the peer's reference (unwrapped from its one-element list)
    assert allowed["token"]["uid"].upper() == "PEERTOKEN01"
    (asked,) = peer.state()["authorizations"]
    assert asked["token_uid"] == "peertoken01" and asked["token_type"] == "RFID"
    assert asked["location_reference"]["location_id"] == location.casefold()

    blocked = json.loads(evroam_failing(cpo, "tokens", "authorize", "PEERBLOCKED", *where, "--json"))
    assert (blocked["outcome"], blocked["source"]) == ("BLOCKED", "eMSP")
    # unknown to the peer: HTTP 404 without an envelope, read as 2004 through the tolerance
    unknown = json.loads(evroam_failing(cpo, "tokens", "authorize", "NOSUCHTOKEN", *where, "--json"))
    assert unknown["outcome"] == "UNKNOWN_TOKEN", unknown


SESSION = {
    "country_code": "NL",
    "party_id": "CPO",
    "id": "SESSION1",
    "start_date_time": "2025-06-02T09:00:00Z",
    "kwh": "0",
    "cdr_token": {
        "country_code": "US",
        "party_id": "PEE",
        "uid": "PEERTOKEN01",
        "type": "RFID",
        "contract_id": "US-PEE-C00000001",
    },
    "auth_method": "WHITELIST",
    "location_id": "LOC00003",
    "evse_uid": "PLACEHOLDER",
    "connector_id": "1",
    "currency": "EUR",
    "status": "ACTIVE",
    "last_updated": "2025-06-02T09:00:00Z",
}


def test_a_session_and_its_cdr_reach_the_peer(
    pair: tuple[PeerProcess, NodeProcess, dict[str, Any]], tmp_path: Path
) -> None:
    peer, cpo, _ = pair
    location = cpo.json("locations", "show", "LOC00003")
    session = {**SESSION, "evse_uid": location["evses"][0]["uid"]}
    session["connector_id"] = location["evses"][0]["connectors"][0]["id"]
    started = cpo.json("sessions", "start", _write(tmp_path, "session.json", session))
    assert (started["token_owner"], started["outbox_rows"]) == ("US*PEE", 1)
    periods = [
        {"start_date_time": "2025-06-02T09:00:00Z", "dimensions": [{"type": "ENERGY", "volume": "3.5"}]},
        {"start_date_time": "2025-06-02T09:30:00Z", "dimensions": [{"type": "ENERGY", "volume": "4.0"}]},
    ]
    update = ["sessions", "update", "SESSION1", "--kwh", "7.5"]
    cpo.json(*update, "--period", json.dumps(periods[0]), "--period", json.dumps(periods[1]))
    stop = ["sessions", "stop", "SESSION1", "--end", "2025-06-02T10:00:00Z", "--kwh", "7.5"]
    cpo.json(*stop, "--total-cost", "2.50")
    created = cpo.json("cdrs", "create", "--from-session", "SESSION1")
    assert (created["total_cost"], created["outbox_rows"]) == ("2.50", 1)
    wait_until(lambda: _settled(cpo), timeout=15, what="the CPO's outbox to settle")
    rows = cpo.query(
        "SELECT kind, status, payload FROM evroam_outbox WHERE kind IN ('sessions', 'cdrs') ORDER BY id"
    )
    changes = [(kind, json.loads(payload)["method"], status) for kind, status, payload in rows]
    assert changes == [
        ("sessions", "PUT", "delivered"),
        ("sessions", "PATCH", "delivered"),
        ("sessions", "PATCH", "delivered"),
        ("cdrs", "PUT", "delivered"),  # "send the current state": a POST for CDRs
    ], changes

    expected = {
        **session,
        "kwh": "7.5",
        "end_date_time": "2025-06-02T10:00:00Z",
        "status": "COMPLETED",
        "charging_periods": periods,
        "total_cost": {"excl_vat": "2.50"},
    }
    del expected["last_updated"]
    received = peer.objects("sessions", "received")["nl/cpo/session1"]
    assert differences(expected, received) == []

    # the CDR: POSTed once, stored by the peer as evroam made it, its URL kept from the Location header
    shown = cpo.json("cdrs", "show", "SESSION1")
    cdr = shown["cdr"]
    received_cdr = peer.objects("cdrs", "received")["nl/cpo/session1"]
    sent = {k: v for k, v in cdr.items() if k != "last_updated"}
    # the peer's CdrLocation has no evse_uid (OCPI 2.2.1 requires it): it drops it (docs/interop.md)
    sent["cdr_location"] = {k: v for k, v in cdr["cdr_location"].items() if k != "evse_uid"}
    assert "evse_uid" not in received_cdr["cdr_location"]
    assert differences(sent, received_cdr) == []
    (delivery,) = shown["summary"]["deliveries"]
    assert delivery["url"] == f"{peer.url}/ocpi/emsp/2.2.1/cdrs/session1"  # rebuilt: compat
    (partner,) = peer.state()["partners"]
    token = base64.b64encode(partner["token_c"].encode()).decode()
    again = httpx.get(delivery["url"], headers={"Authorization": f"Token {token}"}, timeout=10)
    assert again.status_code == 200 and again.json()["data"][0]["id"] == "session1"


def test_command_results_are_posted_to_the_peer(
    pair: tuple[PeerProcess, NodeProcess, dict[str, Any]],
) -> None:
    """The peer never sends commands itself; its operator's request is made here with the peer's own
    credentials, naming the peer's commands endpoint as response_url. evroam's CPO (simulated
    chargers) answers, starts the session, and POSTs the CommandResult to the peer."""
    peer, cpo, _ = pair
    restart_simulated(cpo, "--speed", "3600", "--plug-delay", "1")
    (partner,) = peer.state()["partners"]
    token = base64.b64encode(partner["their_token"].encode()).decode()
    location, evse = next(
        (loc, evse)
        for loc in generate_locations(24, seed=7)[4:-1]
        for evse in loc["evses"]
        if "REMOTE_START_STOP_CAPABLE" in evse.get("capabilities", ()) and evse["status"] == "AVAILABLE"
    )
    response_url = f"{peer.url}/ocpi/emsp/2.2.1/commands/CMD-START-1"
    command = {
        "response_url": response_url,
        "token": PEER_TOKEN,
        "location_id": location["id"],
        "evse_uid": evse["uid"],
    }
    answer = httpx.post(
        f"{cpo.url}/ocpi/2.2.1/receiver/commands/START_SESSION",
        json=command,
        headers={"Authorization": f"Token {token}"},
        timeout=30,
    )
    assert answer.status_code == 200
    assert answer.json()["data"]["result"] == "ACCEPTED"
    result = wait_until(
        lambda: peer.state()["command_results"].get("CMD-START-1"), timeout=20, what="the result at the peer"
    )
    assert result["result"] == "ACCEPTED"


def _tokens_from(node: NodeProcess, partner_id_like: str = "%") -> dict[str, dict[str, Any]]:
    """The tokens the node keeps from partners (canonical JSON), by folded uid."""
    rows = node.query(
        "SELECT payload FROM evroam_objects WHERE kind = 'token' AND partner_id LIKE ?", (partner_id_like,)
    )
    return {json.loads(p)["token"]["uid"].casefold(): json.loads(p)["token"] for (p,) in rows}


def test_evroam_cpo_pulls_the_peers_token_list(pair: tuple[PeerProcess, NodeProcess, dict[str, Any]]) -> None:
    peer, cpo, _ = pair
    listed = [
        {**PEER_TOKEN, "uid": f"PULLED{n:03d}", "contract_id": f"US-PEE-P{n:07d}", "visual_number": f"P{n}"}
        for n in range(60)
    ]
    peer.seed("tokens", listed)
    at_peer = peer.objects("tokens", "own")  # with the tokens earlier tests seeded

    synced = cpo.json("sync", "tokens", "--partner", "peer", "--page-limit", "25", timeout=120)
    assert (synced["full"], synced["fetched"], synced["total_count"]) == (True, len(at_peer), len(at_peer))
    assert synced["pages"] == -(-len(at_peer) // 25)  # the peer's next links (on its cpo path) by offset
    assert (synced["refused"], synced["removed"], synced["issues"]) == (0, 0, [])
    assert synced["created"] + synced["updated"] + synced["unchanged"] == len(at_peer)
    stored = _tokens_from(cpo)
    assert set(stored) >= set(at_peer)
    for token in listed:
        assert differences(token, stored[token["uid"].casefold()]) == [], token["uid"]

    # incremental: only what changed since the first sync started
    changed = {**listed[0], "whitelist": "NEVER", "last_updated": _soon()}
    peer.seed("tokens", [changed])
    again = cpo.json("sync", "tokens", "--partner", "peer")
    assert (again["full"], again["fetched"], again["updated"], again["removed"]) == (False, 1, 1, 0)
    assert again["date_from"] == synced["started_at"]
    assert _tokens_from(cpo)["pulled000"]["whitelist"] == "NEVER"

    # a full sync is the whole list: a token the peer no longer lists becomes invalid (kept)
    peer.unseed("tokens", "PULLED001")
    full = cpo.json("sync", "tokens", "--partner", "peer", "--full")
    assert (full["full"], full["fetched"], full["removed"]) == (True, len(at_peer) - 1, 1)
    after = _tokens_from(cpo)
    assert after["pulled001"]["valid"] is False
    assert after["pulled002"]["valid"] is True
