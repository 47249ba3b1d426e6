"""The eMSP's locations Receiver interface, through the node's real ASGI app: each rule of issue 4 point 2.

Partner ``cpo`` owns BE*BEC. Every refusal is checked for its HTTP status, its OCPI status code, and
that the store holds exactly what it held before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from evroam.core.codec import decode
from evroam.core.types import DateTime
from evroam.model.locations import Location
from evroam.modules.locations.repository import location_key
from evroam.modules.locations.service import LocationReceiver
from evroam.store.port import StoredObject

from .locations_harness import CPO_TOKEN, EMSP_TOKEN, Harness, evse_json, location_json, running

URL = "receiver/locations/BE/BEC"


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with running() as harness:
        yield harness


async def stored(
    h: Harness, location_id: str = "LOC1", cc: str = "BE", pid: str = "BEC"
) -> StoredObject | None:
    return await h.store.get(location_key(cc, pid, location_id))


async def stored_location(h: Harness, location_id: str = "LOC1") -> Location:
    found = await stored(h, location_id)
    assert found is not None
    return decode(found.payload, Location)


def ocpi(response: Any) -> int:
    code: int = response.json()["status_code"]
    return code


async def put_loc1(h: Harness, **kw: Any) -> None:
    body = location_json("LOC1", evses=("E1", "E2"), **kw)
    r = await h.call("PUT", f"{URL}/LOC1", token=CPO_TOKEN, body=body)
    assert (r.status_code, ocpi(r)) == (201, 1000), r.text


# -- only under the partner's own parties ------------------------------------------------------------


async def test_a_put_under_another_party_is_refused_and_stores_nothing(h: Harness) -> None:
    for path, body in [
        ("receiver/locations/NL/CPO/LOC1", location_json("LOC1", country_code="NL", party_id="CPO")),
        ("receiver/locations/DE/EMS/LOC1", location_json("LOC1", country_code="DE", party_id="EMS")),
    ]:
        r = await h.call("PUT", path, token=CPO_TOKEN, body=body)
        assert (r.status_code, ocpi(r)) == (403, 2000)
        assert "not a party of partner cpo" in r.json()["status_message"]
    assert await stored(h, cc="NL", pid="CPO") is None
    assert await stored(h, cc="DE", pid="EMS") is None


async def test_a_party_the_partner_holds_in_another_role_is_not_its_to_send_locations_for(h: Harness) -> None:
    # partner emsp holds DE*EMS as EMSP: a CPO of DE*EMS may be another platform, which alone speaks for it
    body = location_json("LOC1", country_code="DE", party_id="EMS")
    r = await h.call("PUT", "receiver/locations/DE/EMS/LOC1", token=EMSP_TOKEN, body=body)
    assert (r.status_code, ocpi(r)) == (403, 2000)
    assert "not a party of partner emsp as CPO" in r.json()["status_message"]
    assert await stored(h, cc="DE", pid="EMS") is None


async def test_a_body_owned_by_another_party_than_the_url_is_2001(h: Harness) -> None:
    body = location_json("LOC1", country_code="NL", party_id="CPO")
    r = await h.call("PUT", f"{URL}/LOC1", token=CPO_TOKEN, body=body)
    assert (r.status_code, ocpi(r)) == (400, 2001)
    assert await stored(h) is None
    assert await stored(h, cc="NL", pid="CPO") is None


async def test_patches_and_child_puts_under_another_party_change_nothing(h: Harness) -> None:
    await put_loc1(h)
    # the eMSP partner (DE*EMS) tries to change the CPO partner's location
    before = await stored(h)
    new = "2026-02-02T00:00:00Z"
    attempts = [
        ("PATCH", f"{URL}/LOC1", {"name": "hijacked", "last_updated": new}),
        ("PATCH", f"{URL}/LOC1/E1", {"status": "REMOVED", "last_updated": new}),
        ("PATCH", f"{URL}/LOC1/E1/1", {"max_voltage": 1, "last_updated": new}),
        ("PUT", f"{URL}/LOC1/E3", evse_json("E3", last_updated=new)),
        ("PUT", f"{URL}/LOC1", location_json("LOC1", last_updated=new)),
    ]
    for method, path, body in attempts:
        r = await h.call(method, path, token=EMSP_TOKEN, body=body)
        assert (r.status_code, ocpi(r)) == (403, 2000), (method, path)
    assert await stored(h) == before


async def test_a_partner_cannot_read_another_partys_objects(h: Harness) -> None:
    await put_loc1(h)
    r = await h.call("GET", f"{URL}/LOC1", token=EMSP_TOKEN)
    assert (r.status_code, ocpi(r)) == (403, 2000)


# -- PATCH needs last_updated ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [("LOC1", {"name": "renamed"}), ("LOC1/E1", {"status": "CHARGING"}), ("LOC1/E1/1", {"max_amperage": 16})],
)
@pytest.mark.parametrize("version", ["2.1.1", "2.2.1", "2.3.0"])
async def test_a_patch_without_last_updated_is_2001_and_changes_nothing(
    h: Harness, path: str, body: dict[str, Any], version: str
) -> None:
    await put_loc1(h)
    before = await stored(h)
    r = await h.call(
        "PATCH", f"receiver/locations/BE/BEC/{path}", token=CPO_TOKEN, version=version, body=body
    )
    assert (r.status_code, ocpi(r)) == (400, 2001), r.text
    assert "last_updated" in r.json()["status_message"]
    assert await stored(h) == before


# -- PATCH / PUT of a child bumps its parents' last_updated ------------------------------------------


async def test_an_evse_patch_bumps_the_location(h: Harness) -> None:
    await put_loc1(h)
    r = await h.call(
        "PATCH",
        f"{URL}/LOC1/E1",
        token=CPO_TOKEN,
        body={"status": "CHARGING", "last_updated": "2026-02-05T10:00:00Z"},
    )
    assert (r.status_code, ocpi(r)) == (200, 1000)
    location = await stored_location(h)
    e1, e2 = location.evses or ()
    assert e1.status == "CHARGING"
    assert e1.last_updated == DateTime.parse("2026-02-05T10:00:00Z")
    assert location.last_updated == DateTime.parse("2026-02-05T10:00:00Z")
    assert e2.status == "AVAILABLE" and e2.last_updated == DateTime.parse("2026-02-01T00:00:00Z")
    assert e1.connectors[0].last_updated == DateTime.parse("2026-02-01T00:00:00Z")  # children untouched
    found = await stored(h)
    assert found is not None and found.last_updated == DateTime.parse(
        "2026-02-05T10:00:00Z"
    )  # date filters see it


async def test_a_connector_patch_bumps_the_evse_and_the_location(h: Harness) -> None:
    await put_loc1(h)
    r = await h.call(
        "PATCH",
        f"{URL}/LOC1/E2/1",
        token=CPO_TOKEN,
        body={"max_amperage": 16, "last_updated": "2026-02-06T00:00:00Z"},
    )
    assert (r.status_code, ocpi(r)) == (200, 1000)
    location = await stored_location(h)
    e2 = location.evse("E2")
    assert e2 is not None
    assert e2.connectors[0].max_amperage == 16
    assert e2.connectors[0].max_voltage == 230  # a PATCH leaves other fields alone
    assert e2.last_updated == location.last_updated == DateTime.parse("2026-02-06T00:00:00Z")


async def test_evse_and_connector_puts_bump_their_parents(h: Harness) -> None:
    await put_loc1(h)
    r = await h.call(
        "PUT", f"{URL}/LOC1/E1", token=CPO_TOKEN, body=evse_json("E1", "BLOCKED", "2026-02-07T00:00:00Z")
    )
    assert (r.status_code, ocpi(r)) == (200, 1000)
    assert (await stored_location(h)).last_updated == DateTime.parse("2026-02-07T00:00:00Z")
    connector = evse_json("E2", last_updated="2026-02-08T00:00:00Z")["connectors"][0]
    r = await h.call("PUT", f"{URL}/LOC1/E2/1", token=CPO_TOKEN, body=connector)
    assert (r.status_code, ocpi(r)) == (200, 1000)
    location = await stored_location(h)
    e2 = location.evse("E2")
    assert e2 is not None and e2.last_updated == DateTime.parse("2026-02-08T00:00:00Z")
    assert location.last_updated == DateTime.parse("2026-02-08T00:00:00Z")


async def test_an_older_child_update_never_moves_the_parent_back(h: Harness) -> None:
    await put_loc1(h, last_updated="2026-02-01T00:00:00Z")
    await h.call(
        "PATCH", f"{URL}/LOC1", token=CPO_TOKEN, body={"name": "N", "last_updated": "2026-03-01T00:00:00Z"}
    )
    r = await h.call(
        "PATCH",
        f"{URL}/LOC1/E1",
        token=CPO_TOKEN,
        body={"status": "CHARGING", "last_updated": "2026-02-10T00:00:00Z"},
    )
    assert (r.status_code, ocpi(r)) == (200, 1000)
    location = await stored_location(h)
    assert location.evse("E1") is not None and location.evse("E1").status == "CHARGING"  # type: ignore[union-attr]
    assert location.last_updated == DateTime.parse("2026-03-01T00:00:00Z")


# -- stale updates: acknowledged, ignored, counted ---------------------------------------------------


async def test_stale_updates_are_acknowledged_ignored_and_counted(h: Harness) -> None:
    await put_loc1(h, last_updated="2026-02-10T00:00:00Z")
    before = await stored(h)
    older = "2026-02-09T00:00:00Z"
    attempts = [
        ("PUT", f"{URL}/LOC1", location_json("LOC1", evses=("E9",), last_updated=older)),
        ("PATCH", f"{URL}/LOC1", {"name": "old name", "last_updated": older}),
        ("PATCH", f"{URL}/LOC1/E1", {"status": "OUTOFORDER", "last_updated": older}),
        ("PUT", f"{URL}/LOC1/E1", evse_json("E1", "OUTOFORDER", older)),
        ("PATCH", f"{URL}/LOC1/E1/1", {"max_voltage": 400, "last_updated": older}),
        (
            "PUT",
            f"{URL}/LOC1/E1/1",
            dict(evse_json("E1", last_updated=older)["connectors"][0], max_voltage=400),
        ),
    ]
    for method, path, body in attempts:
        r = await h.call(method, path, token=CPO_TOKEN, body=body)
        assert (r.status_code, ocpi(r)) == (200, 1000), (method, path, r.text)
        assert "ignored" in r.json()["status_message"]
    assert await stored(h) == before
    counts = await LocationReceiver(h.store).stale_updates(["p-cpo", "p-emsp"])
    assert counts == {"total": 6, "p-cpo": 6, "p-emsp": 0}
    # the counter is a persisted setting, not process memory
    assert await h.store.get_setting("locations.stale_updates") == "6"


async def test_an_update_with_the_same_last_updated_is_applied(h: Harness) -> None:
    await put_loc1(h, last_updated="2026-02-10T00:00:00Z")
    body = location_json("LOC1", evses=("E1",), last_updated="2026-02-10T00:00:00Z")
    body["name"] = "Same instant"
    r = await h.call("PUT", f"{URL}/LOC1", token=CPO_TOKEN, body=body)
    assert (r.status_code, ocpi(r)) == (200, 1000)
    assert r.json().get("status_message") is None
    assert (await stored_location(h)).name == "Same instant"


# -- 201 on create, 200 on update --------------------------------------------------------------------


async def test_create_is_201_and_update_is_200_for_each_level(h: Harness) -> None:
    lu = "2026-02-02T00:00:00Z"
    steps = [
        ("PUT", f"{URL}/LOC1", location_json("LOC1", evses=("E1",)), 201),
        ("PUT", f"{URL}/LOC1", location_json("LOC1", evses=("E1",), last_updated=lu), 200),
        ("PUT", f"{URL}/LOC1/E2", evse_json("E2", last_updated=lu), 201),
        ("PUT", f"{URL}/LOC1/E2", evse_json("E2", "CHARGING", lu), 200),
        ("PUT", f"{URL}/LOC1/E2/2", dict(evse_json("E2", last_updated=lu)["connectors"][0], id="2"), 201),
        ("PUT", f"{URL}/LOC1/E2/2", dict(evse_json("E2", last_updated=lu)["connectors"][0], id="2"), 200),
        ("PATCH", f"{URL}/LOC1/E2", {"status": "AVAILABLE", "last_updated": lu}, 200),
    ]
    for method, path, body, status in steps:
        r = await h.call(method, path, token=CPO_TOKEN, body=body)
        assert (r.status_code, ocpi(r)) == (status, 1000), (method, path, r.text)
    e2 = (await stored_location(h)).evse("E2")
    assert e2 is not None
    assert [str(c.id) for c in e2.connectors] == ["1", "2"]


@pytest.mark.parametrize("version", ["2.1.1", "2.3.0"])
async def test_other_versions_are_served_by_the_same_rules(h: Harness, version: str) -> None:
    body = location_json("LOC7", version=version)
    r = await h.call("PUT", f"{URL}/LOC7", token=CPO_TOKEN, version=version, body=body)
    assert (r.status_code, ocpi(r)) == (201, 1000), r.text
    location = await stored_location(h, "LOC7")
    assert (location.country_code, location.party_id) == ("BE", "BEC")  # 2.1.1: the owner comes from the URL
    r = await h.call("GET", f"{URL}/LOC7/E1", token=CPO_TOKEN, version=version)
    assert (r.status_code, ocpi(r)) == (200, 1000)
    assert r.json()["data"]["uid"] == "E1"


# -- unknown objects: 2003 ---------------------------------------------------------------------------


async def test_get_of_unknown_objects_is_404_2003(h: Harness) -> None:
    await put_loc1(h)
    for path in ("LOC2", "LOC1/E9", "LOC1/E1/9"):
        r = await h.call("GET", f"{URL}/{path}", token=CPO_TOKEN)
        assert (r.status_code, ocpi(r)) == (404, 2003), path
    r = await h.call("GET", f"{URL}/LOC1/E1/1", token=CPO_TOKEN)
    assert (r.status_code, ocpi(r)) == (200, 1000)
    assert r.json()["data"]["id"] == "1"


async def test_writes_to_children_of_unknown_objects_are_2003_and_store_nothing(h: Harness) -> None:
    lu = "2026-02-02T00:00:00Z"
    for method, path, body in [
        ("PUT", f"{URL}/LOC9/E1", evse_json("E1", last_updated=lu)),
        ("PATCH", f"{URL}/LOC9", {"name": "x", "last_updated": lu}),
        ("PATCH", f"{URL}/LOC9/E1", {"status": "CHARGING", "last_updated": lu}),
    ]:
        r = await h.call(method, path, token=CPO_TOKEN, body=body)
        assert (r.status_code, ocpi(r)) == (404, 2003), (method, path)
    assert await stored(h, "LOC9") is None


# -- the URL's object id must be the body's ---------------------------------------------------------


async def test_a_url_id_differing_from_the_body_is_2001_and_changes_nothing(h: Harness) -> None:
    await put_loc1(h)
    before = await stored(h)
    lu = "2026-02-03T00:00:00Z"
    for method, path, body in [
        ("PUT", f"{URL}/LOC2", location_json("LOC1", last_updated=lu)),
        ("PUT", f"{URL}/LOC1/E1", evse_json("E7", last_updated=lu)),
        ("PUT", f"{URL}/LOC1/E1/1", dict(evse_json("E1", last_updated=lu)["connectors"][0], id="5")),
        ("PATCH", f"{URL}/LOC1", {"id": "LOC3", "last_updated": lu}),
        ("PATCH", f"{URL}/LOC1/E1", {"uid": "E8", "last_updated": lu}),
        ("PATCH", f"{URL}/LOC1/E1/1", {"id": "8", "last_updated": lu}),
    ]:
        r = await h.call(method, path, token=CPO_TOKEN, body=body)
        assert (r.status_code, ocpi(r)) == (400, 2001), (method, path, r.text)
    assert await stored(h) == before
    assert await stored(h, "LOC2") is None


async def test_ids_compare_case_insensitively(h: Harness) -> None:
    r = await h.call("PUT", f"{URL}/loc1", token=CPO_TOKEN, body=location_json("LOC1"))
    assert (r.status_code, ocpi(r)) == (201, 1000)
    r = await h.call("GET", "receiver/locations/be/bec/Loc1", token=CPO_TOKEN)
    assert (r.status_code, ocpi(r)) == (200, 1000)
    assert r.json()["data"]["id"] == "LOC1"  # the spelling of the object


async def test_two_processes_patching_the_same_location_lose_nothing(h: Harness) -> None:
    await put_loc1(h)
    cpo = next(p for p in await h.node.registration.partners() if p.name == "cpo")
    first, second = LocationReceiver(h.store), LocationReceiver(h.store)  # each keeps decoded documents

    def status(value: str, at: str) -> Any:
        def apply(evse: Any) -> Any:
            return msgspec.structs.replace(evse, status=value, last_updated=DateTime.parse(at))

        return apply

    await first.patch_evse(
        cpo,
        "BE",
        "BEC",
        "LOC1",
        "E1",
        DateTime.parse("2026-02-02T00:00:00Z"),
        status("CHARGING", "2026-02-02T00:00:00Z"),
    )
    await second.patch_evse(
        cpo,
        "BE",
        "BEC",
        "LOC1",
        "E2",
        DateTime.parse("2026-02-03T00:00:00Z"),
        status("BLOCKED", "2026-02-03T00:00:00Z"),
    )
    await first.patch_evse(
        cpo,
        "BE",
        "BEC",
        "LOC1",
        "E1",
        DateTime.parse("2026-02-04T00:00:00Z"),
        status("AVAILABLE", "2026-02-04T00:00:00Z"),
    )
    location = await stored_location(h)
    assert [(str(e.uid), e.status.value) for e in location.evses or ()] == [
        ("E1", "AVAILABLE"),
        ("E2", "BLOCKED"),
    ]
