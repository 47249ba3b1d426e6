"""The CPO's locations Sender interface through the node's ASGI app: pages, filters, visibility."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from evroam.core.codec import decode, encode
from evroam.model.enums import Status
from evroam.model.locations import Location
from evroam.modules.locations import repository
from evroam.modules.locations.cli import admin_for
from evroam.modules.locations.repository import ChangeLog
from evroam.modules.locations.service import LocationSender
from evroam.modules.locations.validation import parse_locations
from evroam.ocpi.transport.pagination import PageRequest, next_link

from .locations_harness import EMSP_TOKEN, Harness, location_json, running

LIST = "sender/locations"


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with running() as harness:
        yield harness


async def load(h: Harness, *objects: dict[str, Any]) -> None:
    """Import our own locations (NL*CPO) the way the CLI does."""
    found = parse_locations(encode(list(objects)), "2.2.1")
    await admin_for(h.node).import_locations(found)


def ours(location_id: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("evses", (f"{location_id}-E1",))
    return location_json(location_id, country_code="NL", party_id="CPO", **kw)


async def get(h: Harness, path: str, *, version: str = "2.2.1", token: str = EMSP_TOKEN) -> httpx.Response:
    if path.startswith("http://"):
        return await h.client.get(path, headers=h.auth(token, version))
    return await h.call("GET", path, token=token, version=version)


async def test_pages_follow_links_in_creation_order_with_counts(h: Harness) -> None:
    # created in this order, last_updated deliberately not in that order
    days = [5, 1, 4, 2, 3, 9, 7]
    await load(h, *(ours(f"L{i}", last_updated=f"2026-02-0{d}T00:00:00Z") for i, d in enumerate(days)))
    r = await get(h, f"{LIST}?limit=3")
    assert r.status_code == 200
    assert r.headers["X-Total-Count"] == "7"
    assert r.headers["X-Limit"] == "500"
    seen = [loc["id"] for loc in r.json()["data"]]
    link = next_link(r.headers.get("link"))
    assert link == "http://node.test/ocpi/2.2.1/sender/locations?offset=3&limit=3"
    while link is not None:
        r = await get(h, link)
        assert r.headers["X-Total-Count"] == "7"
        seen.extend(loc["id"] for loc in r.json()["data"])
        link = next_link(r.headers.get("link"))
    assert seen == [f"L{i}" for i in range(7)]


async def test_date_filters_are_inclusive_from_and_exclusive_to(h: Harness) -> None:
    await load(h, *(ours(f"L{d}", last_updated=f"2026-02-0{d}T00:00:00Z") for d in range(1, 8)))
    r = await get(h, f"{LIST}?date_from=2026-02-03T00:00:00Z&date_to=2026-02-06T00:00:00Z&limit=2")
    assert r.headers["X-Total-Count"] == "3"
    assert [loc["id"] for loc in r.json()["data"]] == ["L3", "L4"]
    link = next_link(r.headers.get("link"))
    assert link is not None and "date_from=2026-02-03T00%3A00%3A00Z" in link and "offset=2" in link
    r = await get(h, link)
    assert [loc["id"] for loc in r.json()["data"]] == ["L5"]
    assert next_link(r.headers.get("link")) is None


async def test_unpublished_locations_are_shown_only_to_partners_named_in_publish_allowed_to(
    h: Harness,
) -> None:
    await load(
        h,
        ours("PUB1"),
        ours("HIDDEN", publish=False, allowed_issuers=("Someone Else",)),
        ours("PUB2"),
        ours("FORDRIVE", publish=False, allowed_issuers=("drive gmbh",)),  # the eMSP partner's business name
        ours("PUB3"),
    )
    r = await get(h, f"{LIST}?limit=2")
    assert r.headers["X-Total-Count"] == "4"
    ids = [loc["id"] for loc in r.json()["data"]]
    link = next_link(r.headers.get("link"))
    assert link is not None
    ids.extend(loc["id"] for loc in (await get(h, link)).json()["data"])
    assert ids == ["PUB1", "PUB2", "FORDRIVE", "PUB3"]
    r = await get(h, f"{LIST}/HIDDEN")
    assert (r.status_code, r.json()["status_code"]) == (404, 2003)
    r = await get(h, f"{LIST}/FORDRIVE")
    assert (r.status_code, r.json()["data"]["publish"]) == (200, False)


async def test_publishing_a_hidden_location_shows_it(h: Harness) -> None:
    await load(h, ours("A"), ours("B", publish=False, allowed_issuers=("Nobody",)))
    assert (await get(h, LIST)).headers["X-Total-Count"] == "1"
    await load(h, ours("B", last_updated="2026-02-03T00:00:00Z"))
    r = await get(h, LIST)
    assert [loc["id"] for loc in r.json()["data"]] == ["A", "B"]


async def test_one_location_evse_and_connector_and_2003_for_unknown(h: Harness) -> None:
    await load(h, ours("L1", evses=("E1", "E2")))
    r = await get(h, f"{LIST}/L1")
    assert r.status_code == 200
    assert r.json()["data"]["id"] == "L1" and len(r.json()["data"]["evses"]) == 2
    r = await get(h, f"{LIST}/l1/e2")
    assert r.json()["data"]["uid"] == "E2"
    r = await get(h, f"{LIST}/L1/E2/1")
    assert r.json()["data"]["id"] == "1"
    for path in ("L9", "L1/E9", "L1/E1/9"):
        r = await get(h, f"{LIST}/{path}")
        assert (r.status_code, r.json()["status_code"]) == (404, 2003), path


async def test_a_status_change_is_seen_on_the_next_page_in_every_version(h: Harness) -> None:
    await load(h, ours("L1", evses=("E1",)))
    before = {
        v: (await get(h, LIST, version=v)).json()["data"][0]["evses"][0]["status"] for v in ("2.1.1", "2.3.0")
    }
    assert before == {"2.1.1": "AVAILABLE", "2.3.0": "AVAILABLE"}
    await admin_for(h.node).set_status("E1", Status.CHARGING)
    for version in ("2.1.1", "2.2.1", "2.3.0"):
        r = await get(h, LIST, version=version)
        location = r.json()["data"][0]
        assert location["evses"][0]["status"] == "CHARGING", version
        assert location["last_updated"] == "2026-03-01T12:00:00Z"  # the node's clock
        assert ("country_code" in location) is (version != "2.1.1")


async def test_only_our_own_locations_are_listed(h: Harness) -> None:
    await load(h, ours("MINE"))
    # a location the CPO partner pushed to our eMSP side is not ours to publish
    r = await h.call(
        "PUT",
        "receiver/locations/BE/BEC/THEIRS",
        token="token-of-the-cpo-partner",
        body=location_json("THEIRS"),
    )
    assert r.status_code == 201
    r = await get(h, LIST)
    assert [loc["id"] for loc in r.json()["data"]] == ["MINE"]
    assert (await get(h, f"{LIST}/THEIRS")).status_code == 404


async def test_bad_paging_parameters_are_2001(h: Harness) -> None:
    r = await get(h, f"{LIST}?offset=-1&limit=x&date_from=yesterday")
    assert (r.status_code, r.json()["status_code"]) == (400, 2001)
    message = r.json()["status_message"]
    assert "offset" in message and "limit" in message and "date_from" in message


# -- the per-process index stays exact across processes ----------------------------------------------


def names(page: Any) -> list[tuple[str, str]]:
    out = []
    for entry in page.items:
        location = decode(entry.document, Location)
        out.append((str(location.id), ",".join(e.status.value for e in location.evses or ())))
    return out


async def test_a_second_process_sees_every_change_of_another(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    emsp = next(p for p in await h.node.registration.partners() if p.name == "emsp")
    request = PageRequest(limit=10)
    other = LocationSender(h.store, [("NL", "CPO")])  # e.g. another worker on the same database
    await load(h, ours("A", evses=("A1",)), ours("B", evses=("B1",)))
    assert names(await other.page(emsp, request)) == [("A", "AVAILABLE"), ("B", "AVAILABLE")]

    admin = admin_for(h.node)  # the CLI's process
    await admin.set_status("B1", Status.CHARGING)
    await load(
        h, ours("C", evses=("C1",)), ours("A", evses=("A1", "A2"), last_updated="2026-02-03T00:00:00Z")
    )
    assert names(await other.page(emsp, request)) == [
        ("A", "AVAILABLE,AVAILABLE"),
        ("B", "CHARGING"),
        ("C", "AVAILABLE"),
    ]
    # more changes than the log keeps: the index reloads everything
    monkeypatch.setattr(repository, "CHANGE_LOG_SIZE", 3)
    for status in (Status.BLOCKED, Status.AVAILABLE, Status.RESERVED, Status.OUTOFORDER):
        await admin.set_status("C1", status)
    await admin.set_status("A2", Status.REMOVED)
    assert names(await other.page(emsp, request)) == [
        ("A", "AVAILABLE,REMOVED"),
        ("B", "CHARGING"),
        ("C", "OUTOFORDER"),
    ]


def test_the_change_log_says_what_changed_since_a_generation_or_that_it_cannot() -> None:
    log = ChangeLog(5, ((3, ("nl", "cpo", "a")), (4, ("nl", "cpo", "b")), (5, ("nl", "cpo", "a"))))
    assert log.since(5) == set()
    assert log.since(4) == {("nl", "cpo", "a")}
    assert log.since(2) == {("nl", "cpo", "a"), ("nl", "cpo", "b")}
    assert log.since(1) is None  # generation 2 is no longer in the log
    assert log.since(6) is None  # a store that was reset
    assert ChangeLog(7).since(6) is None  # a big change keeps no keys
