"""The public test kit :mod:`evroam.testing`: its public names, the fake partner (records, stores, pages and
fails as told, also behind a real node's push worker), the helpers around real nodes, and a real node pair
that registers (both sides see each other as REGISTERED)."""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import evroam
import evroam.testing
import evroam.testing.pytest as kit_pytest
from evroam.modules.locations import LocationAdmin, parse_locations
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import build_node, cpo_parties
from evroam.registration import StorePartnerRepository
from evroam.registration.directory import RegisteredPartners
from evroam.sim.site import demo_locations
from evroam.testing import (
    FakePartner,
    FakeReceiver,
    FakeSender,
    FixedClock,
    MemoryStore,
    NodeFailure,
    NodePair,
    NodeProcess,
    ReceivedRequest,
    SequentialIds,
    WaitTimeout,
    free_port,
    wait_until,
)
from evroam.testing.pytest import node_pair_fixture

PUBLIC = {
    "FakePartner",
    "FakeReceiver",
    "FakeSender",
    "FixedClock",
    "ManualTime",
    "MemoryStore",
    "NodeFailure",
    "NodePair",
    "NodeProcess",
    "OicpTestHub",
    "ReceivedRequest",
    "SequentialIds",
    "WaitTimeout",
    "free_port",
    "stop_all",
    "wait_until",
}
OUR_CPO = PartyConfig(country_code="NL", party_id="CPO", role="CPO", name="Our CPO")
URL = "https://emsp.test/ocpi/2.2.1/locations/NL/CPO/LOC1"


# -- the public API -----------------------------------------------------------------------------------


def test_all_lists_exactly_the_public_names() -> None:
    assert set(evroam.testing.__all__) == PUBLIC
    assert len(evroam.testing.__all__) == len(PUBLIC)  # no name twice
    assert sorted(evroam.testing.__all__) == list(evroam.testing.__all__)
    for name in PUBLIC:
        assert getattr(evroam.testing, name) is not None
    public_attributes = {n for n in vars(evroam.testing) if not n.startswith("_")}
    # besides __all__ only its submodules are visible (``pytest`` is imported only on demand)
    assert public_attributes - PUBLIC <= {"nodes", "oicp_hub", "partner", "pytest"}
    assert kit_pytest.__all__ == ["node_pair", "node_pair_fixture"]


def test_the_kit_reexports_the_real_fakes_not_copies() -> None:
    from evroam.core.clock import FixedClock as CoreFixedClock
    from evroam.sim import ManualTime
    from evroam.store import MemoryStore as StoreMemoryStore

    assert evroam.testing.FixedClock is CoreFixedClock
    assert evroam.testing.MemoryStore is StoreMemoryStore
    assert evroam.testing.ManualTime is ManualTime


def test_importing_the_kit_does_not_import_pytest() -> None:
    code = "import sys, evroam.testing; print('pytest' in sys.modules, '_pytest' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_nothing_in_evroam_imports_the_kit() -> None:
    root = Path(evroam.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.is_relative_to(root / "testing"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if any(n == "evroam.testing" or n.startswith("evroam.testing.") for n in names):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


# -- the fake receiver --------------------------------------------------------------------------------


async def test_the_receiver_records_stores_and_answers_with_an_envelope() -> None:
    clock = FixedClock("2026-04-01T08:00:00Z")
    receiver = FakeReceiver(clock=clock)
    async with httpx.AsyncClient(transport=receiver.transport()) as http:
        put = await http.put(URL, json={"id": "LOC1", "name": "old", "publish": True})
        patch = await http.patch(URL, json={"name": "new"}, headers={"Authorization": "Token abc"})
        got = await http.get(URL)
        posted = await http.post("https://emsp.test/ocpi/2.2.1/cdrs", json={"id": "CDR1"})
        deleted = await http.delete(URL)
        gone = await http.get(URL, params={"x": "1"})
    assert put.status_code == 200
    assert put.json() == {"status_code": 1000, "timestamp": "2026-04-01T08:00:00Z"}
    assert (patch.status_code, posted.status_code, deleted.status_code) == (200, 200, 200)
    assert got.json()["data"] == {"id": "LOC1", "name": "new", "publish": True}  # PUT, then PATCH merged
    assert (gone.status_code, gone.json()["status_code"]) == (404, 2003)
    path = "/ocpi/2.2.1/locations/NL/CPO/LOC1"
    assert receiver.requests() == [
        ("PUT", path),
        ("PATCH", path),
        ("GET", path),
        ("POST", "/ocpi/2.2.1/cdrs"),
        ("DELETE", path),
        ("GET", path),
    ]
    assert receiver.seen[1].body == {"name": "new"}
    assert receiver.seen[1].headers["Authorization"] == "Token abc"
    assert receiver.seen[3].body == {"id": "CDR1"}
    assert receiver.seen[5].query == {"x": "1"}
    assert receiver.seen[2].body is None
    assert receiver.objects == {}
    assert receiver.arrived.is_set()
    assert receiver.max_in_flight_per_object == 1


async def test_the_receiver_fails_as_many_times_as_told_then_succeeds() -> None:
    receiver = FakeReceiver()
    receiver.fail(2, http_status=503, ocpi_status=3001)
    assert receiver.failures_left == 2
    async with httpx.AsyncClient(transport=receiver.transport()) as http:
        answers = [await http.put(URL, json={"n": n}) for n in range(4)]
    assert [(a.status_code, a.json()["status_code"]) for a in answers] == [
        (503, 3001),
        (503, 3001),
        (200, 1000),
        (200, 1000),
    ]
    assert receiver.failures_left == 0
    assert [s.body for s in receiver.seen] == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]  # failed ones too
    assert receiver.objects == {"/ocpi/2.2.1/locations/NL/CPO/LOC1": {"n": 3}}  # only successes stored


async def test_the_receiver_refuses_when_told_or_down_and_follows_its_answer_function() -> None:
    def answer(request: ReceivedRequest) -> tuple[int, int] | None:
        return (200, 2001) if request.body == {"bad": True} else None

    receiver = FakeReceiver(answer=answer)
    receiver.fail(1, refuse=True)
    async with httpx.AsyncClient(transport=receiver.transport()) as http:
        with pytest.raises(httpx.ConnectError):
            await http.put(URL, json={})
        assert receiver.seen == []  # a refused request never arrived
        bad = await http.put(URL, json={"bad": True})
        good = await http.put(URL, json={"bad": False})
        receiver.down = True
        with pytest.raises(httpx.ConnectError):
            await http.put(URL, json={})
    assert (bad.status_code, bad.json()["status_code"]) == (200, 2001)
    assert good.json()["status_code"] == 1000
    assert len(receiver.seen) == 2
    with pytest.raises(ValueError, match="negative"):
        receiver.fail(-1)


# -- the fake sender ----------------------------------------------------------------------------------


def _objects(n: int) -> list[dict[str, Any]]:
    return [{"id": f"T{i}", "last_updated": f"2026-03-01T12:{i:02d}:00Z"} for i in range(n)]


async def test_the_sender_pages_by_link_and_filters_by_date() -> None:
    base = "https://cpo.test/ocpi/2.2.1/tariffs"
    sender = FakeSender(base, _objects(5), cap=2)
    fetched: list[str] = []
    pages = 0
    async with httpx.AsyncClient(transport=sender.transport()) as http:
        url: str | None = f"{base}?limit=10"
        while url is not None:
            answer = await http.get(url)
            assert answer.headers["X-Total-Count"] == "5"
            assert answer.headers["X-Limit"] == "2"
            fetched += [o["id"] for o in answer.json()["data"]]
            pages += 1
            url = answer.links.get("next", {}).get("url")
        since = await http.get(base, params={"date_from": "2026-03-01T12:03:00Z"})
        until = await http.get(base, params={"date_to": "2026-03-01T12:01:00Z"})
        other = await http.get("https://cpo.test/ocpi/2.2.1/locations")
    assert (fetched, pages) == (["T0", "T1", "T2", "T3", "T4"], 3)
    assert [q.get("offset", "0") for q in sender.queries[:3]] == ["0", "2", "4"]
    assert [o["id"] for o in since.json()["data"]] == ["T3", "T4"]  # date_from inclusive
    assert [o["id"] for o in until.json()["data"]] == ["T0"]  # date_to exclusive
    assert other.status_code == 404


async def test_the_sender_fails_as_told() -> None:
    base = "https://cpo.test/ocpi/2.2.1/tariffs"
    sender = FakeSender(base, _objects(3), cap=2, fail_at_offset=2)
    sender.fail(1)
    async with httpx.AsyncClient(transport=sender.transport()) as http:
        first = await http.get(base)
        second = await http.get(base)
        beyond = await http.get(base, params={"offset": "2"})
    assert (first.status_code, first.json()["status_code"]) == (500, 3000)
    assert [o["id"] for o in second.json()["data"]] == ["T0", "T1"]
    assert (beyond.status_code, beyond.json()["status_code"]) == (500, 3000)
    assert len(sender.queries) == 3


# -- the fake partner, alone and behind a real node ---------------------------------------------------


async def test_the_partner_routes_served_lists_to_senders_and_the_rest_to_its_receiver() -> None:
    partner = FakePartner("https://cpo.test/ocpi", role="CPO", country_code="BE", party_id="BEC")
    served = partner.serve("tariffs", _objects(3))
    partner.fail(1, http_status=502)
    async with httpx.AsyncClient(transport=partner.transport()) as http:
        listed = await http.get(partner.module_url("tariffs"))
        refused = await http.put(f"{partner.module_url('tokens')}/NL/MSP/TOKEN1", json={"uid": "TOKEN1"})
        stored = await http.put(f"{partner.module_url('tokens')}/NL/MSP/TOKEN1", json={"uid": "TOKEN1"})
    assert [o["id"] for o in listed.json()["data"]] == ["T0", "T1", "T2"]
    assert served.queries == [{}]
    assert (refused.status_code, stored.status_code) == (502, 200)
    assert [s.method for s in partner.seen] == ["PUT", "PUT"]  # the list GET is not the receiver's

    record = partner.record(FixedClock(), partner_id="p-cpo", name="cpo", receives=("tokens",))
    assert record.status.value == "REGISTERED"
    assert [(e.module, e.role, e.url) for e in record.endpoints] == [
        ("tariffs", "SENDER", "https://cpo.test/ocpi/2.2.1/tariffs"),
        ("tokens", "RECEIVER", "https://cpo.test/ocpi/2.2.1/tokens"),
    ]
    assert [(r.country_code, r.party_id, r.role) for r in record.roles] == [("BE", "BEC", "CPO")]


async def test_a_node_pushes_to_the_fake_partner_and_retries_after_the_told_failure(tmp_path: Path) -> None:
    clock = FixedClock("2026-03-01T12:00:00Z")
    partner = FakePartner("https://emsp.test/ocpi", clock=clock)
    node = build_node(
        Settings(data_dir=tmp_path),
        config=NodeConfig(
            url="http://node.test",
            parties=[PartyConfig(country_code="NL", party_id="CPO", role="CPO", name="C")],
        ),
        store=MemoryStore(),
        transport=partner.transport(),
        clock=clock,
        ids=SequentialIds("t"),
    )
    await node.start()
    try:
        record = partner.record(clock, token="secret-token", receives=("locations",))
        await StorePartnerRepository(node.store, clock).commit(save=[record])
        admin = LocationAdmin(node.store, clock, RegisteredPartners(), cpo_parties(node.config))
        locations = parse_locations(json.dumps(demo_locations("NL", "CPO", clock.now())).encode(), "2.2.1")
        await admin.import_locations(locations)
        partner.fail(1, http_status=503)
        failed = await node.push_worker().drain()
        clock.advance(60)  # the retry is due
        report = await node.push_worker().drain()
    finally:
        await node.close()
    location_id = locations[0].id
    path = f"/ocpi/2.2.1/locations/NL/CPO/{location_id}"
    assert (failed.failed, failed.delivered, report.delivered) == (1, 0, 1)
    assert partner.receiver.requests() == [("PUT", path), ("PUT", path)]
    seen = partner.seen[-1]
    assert seen.headers["Authorization"] == "Token " + base64.b64encode(b"secret-token").decode()
    assert partner.receiver.objects[path]["id"] == location_id


# -- helpers around real nodes ------------------------------------------------------------------------


def test_wait_until_returns_the_first_true_result_and_gives_up_on_empty_ones() -> None:
    answers = iter([None, [], [1]])
    assert wait_until(lambda: next(answers), timeout=60, what="a list", interval=0) == [1]
    with pytest.raises(WaitTimeout, match="waiting for nothing"):
        wait_until(lambda: [], timeout=0, what="nothing", interval=0)
    assert issubclass(WaitTimeout, AssertionError) and issubclass(NodeFailure, AssertionError)


def test_free_port_is_bindable() -> None:
    import socket

    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_a_failing_command_raises_with_its_stderr_and_is_logged(tmp_path: Path) -> None:
    node = NodeProcess("lone", tmp_path / "lone", free_port())
    with pytest.raises(NodeFailure, match="no-such-command"):
        node.evroam("no-such-command")
    done = node.evroam("no-such-command", check=False)
    assert done.returncode != 0
    assert [p.name for p in node.logs] == ["lone-cli-0.log", "lone-cli-1.log"]
    assert "no-such-command" in node.logs[1].read_text()
    with pytest.raises(NodeFailure, match="not started"):
        node.wait_ready(timeout=1)


# -- a real pair of nodes -----------------------------------------------------------------------------

node_pair = node_pair_fixture(name="node_pair", scope="module")


def _token_header(token: str) -> dict[str, str]:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


@pytest.mark.slow
def test_the_node_pair_registers_both_sides(node_pair: NodePair) -> None:
    cpo, emsp = node_pair.nodes
    at_cpo = cpo.json("partners", "show", "emsp")
    at_emsp = emsp.json("partners", "show", "cpo")
    assert at_cpo["status"] == at_emsp["status"] == "REGISTERED"
    assert [(r["country_code"], r["party_id"], r["role"]) for r in at_cpo["roles"]] == [("DE", "MSP", "EMSP")]
    assert [(r["country_code"], r["party_id"], r["role"]) for r in at_emsp["roles"]] == [("NL", "CPO", "CPO")]
    # each side's token opens the other's versions endpoint
    assert httpx.get(cpo.versions_url, headers=_token_header(emsp.partner_token("cpo"))).status_code == 200
    assert httpx.get(emsp.versions_url, headers=_token_header(cpo.partner_token("emsp"))).status_code == 200
    assert httpx.get(cpo.versions_url, headers=_token_header("not-a-token")).status_code == 401


@pytest.mark.slow
def test_a_pair_used_directly_is_stopped_when_its_block_ends(tmp_path: Path) -> None:
    with NodePair(tmp_path, cpo_party=("BE", "CPB"), emsp_party=("FR", "MSF")).up(register=False) as pair:
        assert pair.cpo.running and pair.emsp.running
        assert pair.cpo.json("partners", "list") == [] and pair.emsp.json("partners", "list") == []
        assert pair.register()["status"] == "REGISTERED"
        roles = pair.emsp.json("partners", "show", "cpo")["roles"]
        assert [(r["country_code"], r["party_id"]) for r in roles] == [("BE", "CPB")]
    assert not pair.cpo.running and not pair.emsp.running
    assert pair.cpo.serve_log.exists() and pair.emsp.serve_log.exists()
