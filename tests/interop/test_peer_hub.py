"""extrawest-ocpi as a CPO behind an evroam hub, with an evroam eMSP behind the same hub, over real
sockets: the registrations, the peer's locations reaching the eMSP through the hub (its own push and
the eMSP's pull), and a session the peer pushes reaching the eMSP of its token."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.locations_data import generate_locations
from tests.integration.nodes import NodeProcess, wait_until

from .conftest import PeerProcess
from .test_peer_cpo import PEER_SESSION, _peer_shaped

pytestmark = pytest.mark.slow

HUB_ENV = {"EVROAM_HUB_SILENCE": "5", "EVROAM_HUB_TICK": "0.3"}


def _received(node: NodeProcess, kind: str) -> list[dict[str, Any]]:
    return [json.loads(p) for p, _, _ in node.documents(kind, own=False)]


def test_the_peer_behind_an_evroam_hub(peer_factory: Any, node_factory: Any) -> None:
    peer: PeerProcess = peer_factory(roles=["cpo"])
    locations = [
        _peer_shaped(loc) for loc in generate_locations(3, seed=5, country_code="US", party_id="PEE")
    ]
    for location in locations:
        location["publish"] = True
        location.pop("publish_allowed_to", None)
        for evse in location["evses"]:
            # the peer writes it as one object; the hub forwards bodies untouched, and the eMSP knows the
            # hub, not the peer, as its partner (the compatibility profile is the peer's partner's business)
            evse.pop("status_schedule", None)
    peer.seed("locations", locations)
    hub: NodeProcess = node_factory("hub", "NL", "HUB", "HUB", env=HUB_ENV)
    emsp: NodeProcess = node_factory("emsp", "DE", "MSP", "EMSP")

    # -- registration: the hub with the peer (token A of the peer), the eMSP with the hub ---------------
    hub.evroam("compat", "set", "peer", "--profile", "extrawest-ocpi", "--url", peer.versions_url)
    joined = hub.json(
        "partners", "register", "--versions-url", peer.versions_url, "--token", peer.token_a, "--name", "peer"
    )
    assert joined["status"] == "REGISTERED"
    invitation = hub.json("partners", "invite", "emsp")
    registered = emsp.json(
        "partners",
        "register",
        "--versions-url",
        hub.versions_url,
        "--token",
        invitation["token"],
        "--name",
        "hub",
    )
    assert registered["status"] == "REGISTERED"
    wait_until(
        lambda: [i for i in _received(emsp, "hubclientinfo") if i["party_id"].upper() == "PEE"],
        timeout=20,
        what="the peer's ClientInfo at the eMSP",
    )

    # -- locations: the peer's own push, broadcast by the hub; the eMSP's pull through the hub ----------
    result = peer.push("locations", locations[0]["id"])
    (answer,) = result["receiver_responses"]
    assert answer["response"]["status_code"] == 1000, answer
    [pushed] = _received(emsp, "location")
    assert (pushed["id"].casefold(), pushed["party_id"].upper()) == (locations[0]["id"].casefold(), "PEE")
    synced = emsp.json("sync", "locations", "--partner", "hub")
    assert (synced["fetched"], synced["refused"]) == (3, 0), synced
    assert sorted(loc["id"].casefold() for loc in _received(emsp, "location")) == sorted(
        loc["id"].casefold() for loc in locations
    )

    # -- a session of the eMSP's token, pushed by the peer, reaches the eMSP ----------------------------
    evse = locations[0]["evses"][0]
    session = {
        **PEER_SESSION,
        "location_id": locations[0]["id"],
        "evse_uid": evse["uid"],
        "connector_id": evse["connectors"][0]["id"],
    }
    peer.seed("sessions", [session])
    result = peer.push("sessions", session["id"])
    (answer,) = result["receiver_responses"]
    assert answer["response"]["status_code"] == 1000, answer
    [stored] = _received(emsp, "session")
    assert stored["id"].upper() == "PEERSESSION1" and stored["party_id"].upper() == "PEE"
    assert stored["cdr_token"]["party_id"].upper() == "MSP"
