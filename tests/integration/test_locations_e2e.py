"""A CPO node and an eMSP node, separate processes on 127.0.0.1: pull 2,000 locations, then push 500
EVSE status changes through an eMSP outage and a CPO crash (SIGKILL); the eMSP's copy stays exact.

Everything an operator does goes through ``python -m evroam``: ``init``, ``serve``, ``partners
invite|register``, ``locations import``, ``sync locations``, ``outbox list``. The status changes are
applied by a helper process (:mod:`tests.integration.locations_data`) through the CPO's locations
service against its data directory while the CPO serves, so that each one writes its outbox rows
exactly as ``evroam locations set-status`` does, without 500 interpreter start-ups.

The views are compared on the canonical objects each node stored (read from its SQLite file): the
eMSP's copy of every location the CPO lets it see must equal the CPO's own, and the EVSE statuses on
both sides must be the ones this test chose (it tracks them itself).
"""

from __future__ import annotations

import json
import math
import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evroam.model.locations import Location
from evroam.modules.locations.repository import decode_location
from evroam.testing import NodePair

from .locations_data import evse_statuses, generate_locations, random_changes, visible_to
from .nodes import NodeProcess, wait_until

pytestmark = pytest.mark.slow

LOCATIONS = 2000
EMSP_NAME = "Mobility Service DE"
#: Short retry delays, a short lease (so that rows claimed by a killed worker come back soon) and a
#: quick poll; never park, whatever happens.
PUSH_ENV = {
    "EVROAM_PUSH_BASE_DELAY": "0.2",
    "EVROAM_PUSH_MAX_DELAY": "1",
    "EVROAM_PUSH_MAX_ATTEMPTS": "0",
    "EVROAM_PUSH_LEASE": "2",
    "EVROAM_PUSH_POLL_INTERVAL": "0.05",
}
CONVERGE_TIMEOUT = 20.0

Key = tuple[str, str, str]


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    with NodePair(tmp_path, cpo_env=PUSH_ENV, node_class=NodeProcess) as pair:
        yield pair.nodes


# -- views --------------------------------------------------------------------------------------------


def stored_locations(node: NodeProcess, *, own: bool) -> dict[Key, Location]:
    """The locations a node stored: its own (``own``) or those received from partners."""
    owner = "partner_id IS NULL" if own else "partner_id IS NOT NULL"
    rows = node.query(f"SELECT payload FROM evroam_objects WHERE kind = 'location' AND {owner}")
    out: dict[Key, Location] = {}
    for (payload,) in rows:
        location = decode_location(payload)
        out[(str(location.country_code), str(location.party_id), str(location.id))] = location
    return out


def statuses(view: dict[Key, Location]) -> dict[str, str]:
    return {str(e.uid): e.status.value for loc in view.values() for e in loc.evses or ()}


class Views:
    """What the test expects, and how far the two nodes are from it."""

    def __init__(self, cpo: NodeProcess, emsp: NodeProcess, generated: list[dict[str, Any]]) -> None:
        self.cpo = cpo
        self.emsp = emsp
        self.visible: set[Key] = {
            (loc["country_code"], loc["party_id"], loc["id"])
            for loc in generated
            if visible_to(loc, EMSP_NAME)
        }
        self.hidden_uids = {
            e["uid"] for loc in generated if not visible_to(loc, EMSP_NAME) for e in loc["evses"]
        }
        self.expected = evse_statuses(generated)  # EVSE uid -> the status the test last set

    def differences(self) -> list[str]:
        """Empty when both nodes hold the expected state and the eMSP's copy equals the CPO's."""
        ours = stored_locations(self.cpo, own=True)
        theirs = stored_locations(self.emsp, own=False)
        problems: list[str] = []
        if statuses(ours) != self.expected:
            problems.append("the CPO's statuses are not the ones set")
        shared = {key: loc for key, loc in ours.items() if key in self.visible}
        if theirs.keys() != shared.keys():
            problems.append(f"the eMSP holds {len(theirs)} locations, the CPO shares {len(shared)}")
        differing = sorted(key[2] for key in shared.keys() & theirs.keys() if shared[key] != theirs[key])
        if differing:
            problems.append(f"{len(differing)} locations differ, e.g. {differing[:5]}")
        wanted = {uid: s for uid, s in self.expected.items() if uid not in self.hidden_uids}
        if statuses(theirs) != wanted:
            problems.append("the eMSP's statuses are not the ones set")
        return problems

    def converge(self, what: str, timeout: float = CONVERGE_TIMEOUT) -> float:
        """Wait until :meth:`differences` is empty; the seconds it took."""
        start = time.monotonic()
        deadline = start + timeout
        while problems := self.differences():
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not equal after {timeout} s: {'; '.join(problems)}")
            time.sleep(0.2)
        return time.monotonic() - start


# -- status changes -----------------------------------------------------------------------------------


def start_changes(
    cpo: NodeProcess, workdir: Path, name: str, changes: list[tuple[str, str]], pause: float = 0.0
) -> subprocess.Popen[str]:
    path = workdir / f"changes-{name}.json"
    path.write_text(json.dumps(changes))
    args = ["apply", str(cpo.data_dir), str(path), "--pause", str(pause)]
    return cpo.python("tests.integration.locations_data", *args)


def finish_changes(helper: subprocess.Popen[str], count: int) -> None:
    out, _ = helper.communicate(timeout=60)
    assert helper.returncode == 0, f"the status-change helper failed ({helper.returncode})"
    assert out.splitlines()[-1:] == [f"applied {count}"], out[-500:]


def wait_for_line(helper: subprocess.Popen[str], line: str) -> None:
    assert helper.stdout is not None
    while (got := helper.stdout.readline()) != "":
        if got.strip() == line:
            return
    pytest.fail(f"the status-change helper ended before printing {line!r}")


# -- the test -----------------------------------------------------------------------------------------


def test_pull_then_push_survives_an_emsp_outage_and_a_cpo_crash(
    nodes: tuple[NodeProcess, NodeProcess], tmp_path: Path
) -> None:
    cpo, emsp = nodes
    cpo.evroam("init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--url", cpo.url)
    emsp.evroam(
        "init",
        "--country-code",
        "DE",
        "--party-id",
        "MSP",
        "--role",
        "EMSP",
        "--url",
        emsp.url,
        "--name",
        EMSP_NAME,
    )
    cpo.start()
    emsp.start()
    cpo.wait_ready()
    emsp.wait_ready()

    # -- the CPO imports 2,000 locations (nobody to push to yet) ---------------------------------
    generated = generate_locations(LOCATIONS, seed=2024, allowed_issuer=EMSP_NAME)
    views = Views(cpo, emsp, generated)
    assert 0 < len(generated) - len(views.visible) < 100  # a few are hidden from the eMSP
    assert any(not loc["publish"] and visible_to(loc, EMSP_NAME) for loc in generated)  # some are shown to it
    source = tmp_path / "locations.json"
    source.write_text(json.dumps(generated))
    imported = cpo.json("locations", "import", str(source))
    assert (len(imported["created"]), imported["updated"], imported["outbox_rows"]) == (LOCATIONS, [], 0)

    # -- registration, then a full pull sync -------------------------------------------------------
    invitation = cpo.json("partners", "invite", "emsp")
    registered = emsp.json(
        "partners",
        "register",
        "--versions-url",
        cpo.versions_url,
        "--token",
        invitation["token"],
        "--name",
        "cpo",
    )
    assert registered["status"] == "REGISTERED"
    shared = len(views.visible)
    synced = emsp.json("sync", "locations", "--partner", "cpo", "--page-limit", "100", timeout=120)
    assert synced["full"] is True
    assert (synced["fetched"], synced["created"], synced["total_count"]) == (shared, shared, shared)
    assert synced["pages"] == math.ceil(shared / 100)
    assert (synced["updated"], synced["stale"], synced["refused"], synced["removed"]) == (0, 0, 0, 0)
    assert views.differences() == []  # complete and exact at once, nothing to wait for
    assert cpo.outbox_counts() == {}  # the pull owed nothing to push

    rng = random.Random(99)

    # -- 150 changes with both nodes up -----------------------------------------------------------
    changes = random_changes(rng, views.expected, 150)
    finish_changes(start_changes(cpo, tmp_path, "a", changes), 150)
    views.converge("changes with both nodes up")

    # -- 150 changes; the eMSP stops after the 50th and comes back after the last one --------------
    changes = random_changes(rng, views.expected, 150)
    helper = start_changes(cpo, tmp_path, "b", changes, pause=0.02)
    wait_for_line(helper, "applied 50")
    emsp.stop()
    assert helper.poll() is None  # the eMSP is down while the changes go on
    finish_changes(helper, 150)
    wait_until(
        lambda: cpo.query("SELECT count(*) FROM evroam_outbox WHERE status = 'pending' AND attempts > 0")[0][
            0
        ],
        timeout=10,
        what="failed deliveries to the stopped eMSP",
    )
    assert views.differences() != []  # the eMSP missed changes while it was down
    time.sleep(1.0)  # a few more failed attempts
    emsp.start()
    emsp.wait_ready()
    views.converge("changes made while the eMSP was down")

    # -- 200 changes; the CPO is killed (SIGKILL) while it delivers them, then started again -------
    delivered_before = cpo.outbox_counts().get("delivered", 0)
    changes = random_changes(rng, views.expected, 200)
    helper = start_changes(cpo, tmp_path, "c", changes, pause=0.005)

    def delivering() -> bool:
        counts = cpo.outbox_counts()
        busy = counts.get("pending", 0) + counts.get("in_flight", 0)
        return counts.get("delivered", 0) >= delivered_before + 20 and busy > 0

    wait_until(delivering, timeout=15, what="the CPO delivering its outbox", interval=0.02)
    cpo.kill()
    counts = cpo.outbox_counts()
    assert counts.get("pending", 0) + counts.get("in_flight", 0) > 0  # killed with work to do
    finish_changes(helper, 200)  # the changes go on while the CPO is down
    cpo.start()
    cpo.wait_ready()
    views.converge("changes around the CPO's crash")

    # -- nothing left behind -----------------------------------------------------------------------
    assert cpo.json("outbox", "list", "--status", "all", "--limit", "100000") != []
    assert cpo.json("outbox", "list") == []  # nothing pending, in flight or parked
    assert cpo.outbox_counts().get("parked", 0) == 0
    assert views.differences() == []
