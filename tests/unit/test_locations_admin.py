"""The CPO's own locations: the management service's outbox rows, and the CLI on a real data directory."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evroam.cli import cli
from evroam.core.codec import decode, encode
from evroam.core.errors import NotFound, ValidationFailed
from evroam.core.types import DateTime
from evroam.model.enums import Status
from evroam.modules.locations.repository import CHANGE_LOG_KEY, load_location
from evroam.modules.locations.service import LocationAdmin
from evroam.modules.locations.validation import parse_locations
from evroam.registration.directory import RegisteredPartners
from evroam.registration.model import Partner, PartnerEndpoint, PartnerStatus, PartyRole
from evroam.store.factory import create_store
from evroam.store.outbox import ObjectChange
from evroam.store.port import Store, Transaction

from .locations_harness import Harness, location_json, register, running

OURS = [("NL", "CPO")]


def ours(location_id: str, **kw: Any) -> dict[str, Any]:
    kw.setdefault("evses", (f"{location_id}-E1",))
    return location_json(location_id, country_code="NL", party_id="CPO", **kw)


def parsed(*objects: dict[str, Any]) -> list[Any]:
    return parse_locations(encode(list(objects)), "2.2.1")


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    store = create_store(None, tmp_path)
    try:
        async with running(tmp_path, store=store) as harness:
            # a second partner receiving locations, and one without any Receiver endpoint
            now = harness.clock.now()
            extra = Partner(
                id="p-emsp2",
                name="emsp2",
                status=PartnerStatus.REGISTERED,
                initiated_by="us",
                created=now,
                updated=now,
                version="2.1.1",
                token="t2",
                roles=(PartyRole(role="EMSP", country_code="FR", party_id="FRE", name="Roule SA"),),
                endpoints=(PartnerEndpoint(module="locations", url="http://emsp2.test/locations"),),
            )
            await register(harness.store, harness.clock, [(extra, "issued-to-emsp2")])
            yield harness
    finally:
        await store.close()


def admin(store: Store, h: Harness) -> LocationAdmin:
    return LocationAdmin(store, h.clock, RegisteredPartners(), OURS)


async def test_set_status_writes_one_outbox_row_per_receiving_partner_in_its_transaction(h: Harness) -> None:
    service = admin(h.store, h)
    report = await service.import_locations(parsed(ours("L1", evses=("E1", "E2"))))
    assert report.created == ["L1"]
    assert report.outbox_rows == 2  # emsp and emsp2 receive locations; the CPO partner does not
    before = len(await h.store.outbox_list())

    location = await service.set_status("E2", Status.CHARGING)

    rows = (await h.store.outbox_list())[before:]
    assert sorted(row.partner_id for row in rows) == ["p-emsp", "p-emsp2"]
    for row in rows:
        change = decode(row.payload, ObjectChange)
        assert (change.module, change.method, change.object_id, change.evse_uid) == (
            "locations",
            "PATCH",
            "L1",
            "E2",
        )
        assert change.patch is not None
        assert json.loads(change.patch) == {"status": "CHARGING", "last_updated": "2026-03-01T12:00:00Z"}
    stored = await load_location(h.store, "NL", "CPO", "L1")
    assert stored == location
    e2 = stored.evse("E2")
    assert e2 is not None and e2.status == Status.CHARGING
    assert e2.last_updated == stored.last_updated == DateTime.parse("2026-03-01T12:00:00Z")
    assert stored.evse("E1").status == Status.AVAILABLE  # type: ignore[union-attr]


async def test_setting_the_same_status_again_writes_nothing(h: Harness) -> None:
    service = admin(h.store, h)
    await service.import_locations(parsed(ours("L1", evses=("E1",))))
    count = len(await h.store.outbox_list())
    await service.set_status("E1", Status.AVAILABLE)
    assert len(await h.store.outbox_list()) == count


class FailingOutbox:
    """A store whose transactions fail when writing their second outbox row."""

    def __init__(self, inner: Store) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        async with self._inner.transaction() as tx:
            yield _SecondRowFails(tx)


class _SecondRowFails:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        self.rows = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)

    async def outbox_enqueue(self, *args: Any, **kwargs: Any) -> int:
        self.rows += 1
        if self.rows == 2:
            raise RuntimeError("disk full")
        return await self._tx.outbox_enqueue(*args, **kwargs)


async def test_a_failing_transaction_writes_neither_the_change_nor_any_row(h: Harness) -> None:
    await admin(h.store, h).import_locations(parsed(ours("L1", evses=("E1",))))
    rows = len(await h.store.outbox_list())
    before = await h.store.get(CHANGE_LOG_KEY)
    failing = admin(FailingOutbox(h.store), h)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="disk full"):
        await failing.set_status("E1", Status.OUTOFORDER)
    with pytest.raises(RuntimeError, match="disk full"):
        await failing.import_locations(parsed(ours("L2", publish=False, allowed_issuers=("X",))))
    assert len(await h.store.outbox_list()) == rows
    stored = await load_location(h.store, "NL", "CPO", "L1")
    assert stored is not None and stored.evse("E1").status == Status.AVAILABLE  # type: ignore[union-attr]
    assert await load_location(h.store, "NL", "CPO", "L2") is None
    assert await h.store.get(CHANGE_LOG_KEY) == before


async def test_import_refuses_everything_when_one_location_is_not_acceptable(h: Harness) -> None:
    service = admin(h.store, h)
    await service.import_locations(parsed(ours("L1", evses=("E1",))))
    with pytest.raises(ValidationFailed) as refused:
        await service.import_locations(
            parsed(
                ours("L2", evses=("E2",)),
                ours("L3", evses=("E1",)),  # E1 already lives in L1
                location_json("L4", country_code="DE", party_id="XYZ"),  # not our party
            )
        )
    # every violation at once: the EVSE taken and the party not ours
    assert sorted(refused.value.paths) == ["$[1].evses[0].uid", "$[2].country_code"]
    with pytest.raises(ValidationFailed) as refused:
        await service.import_locations(parsed(ours("L2", evses=("E2",)), ours("L3", evses=("E1",))))
    assert refused.value.paths == ["$[1].evses[0].uid"]
    assert [str(loc.id) for loc in await service.list_locations()] == ["L1"]


async def test_a_reimport_reports_unchanged_updated_and_stale(h: Harness) -> None:
    service = admin(h.store, h)
    await service.import_locations(
        parsed(ours("A"), ours("B"), ours("C", last_updated="2026-02-05T00:00:00Z"))
    )
    rows = len(await h.store.outbox_list())
    report = await service.import_locations(
        parsed(ours("A"), ours("B", last_updated="2026-02-02T00:00:00Z"), ours("C"))
    )
    assert (report.unchanged, report.updated, report.stale, report.created) == (["A"], ["B"], ["C"], [])
    assert len(await h.store.outbox_list()) == rows + 2  # B only, to each receiving partner


async def test_unknown_evse_is_not_found(h: Harness) -> None:
    with pytest.raises(NotFound):
        await admin(h.store, h).set_status("NOPE", Status.CHARGING)


def test_parse_reports_every_violation_of_every_object() -> None:
    bad_coordinates = dict(ours("L2"), coordinates={"latitude": "north", "longitude": "3.729944"})
    no_city = {k: v for k, v in ours("L3").items() if k != "city"}
    twin = ours("L1")
    twin["evses"][0]["connectors"].append(dict(twin["evses"][0]["connectors"][0]))
    published_but_allowed = ours("L5", allowed_issuers=("X",))
    with pytest.raises(ValidationFailed) as refused:
        parse_locations(encode([ours("L1"), bad_coordinates, no_city, twin, published_but_allowed]), "2.2.1")
    assert sorted(refused.value.paths) == [
        "$[1].coordinates.latitude",
        "$[2].city",
        "$[3].evses[0].connectors[1].id",
        "$[3].evses[0].uid",
        "$[3].id",
        "$[4].publish_allowed_to",
    ]
    with pytest.raises(ValidationFailed) as refused:
        parse_locations(b'{"not": "a list"}', "2.2.1")
    assert refused.value.paths == ["$"]


# -- the CLI -----------------------------------------------------------------------------------------


def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_import_list_show_set_status(tmp_path: Path) -> None:
    code, out, err = run(
        tmp_path, "init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO",
        "--url", "http://127.0.0.1:8100", "--ocpi-version", "2.2.1", "--ocpi-version", "2.3.0",
    )  # fmt: skip
    assert code == 0, err
    good = tmp_path / "locations.json"
    good.write_bytes(encode([ours("L1", evses=("E1", "E2"), version="2.3.0"), ours("L2", version="2.3.0")]))
    code, out, err = run(tmp_path, "locations", "import", str(good), "--json")  # default: 2.3.0
    assert code == 0, err
    assert json.loads(out) == {
        "created": ["L1", "L2"],
        "updated": [],
        "unchanged": [],
        "stale": [],
        "outbox_rows": 0,
    }

    bad = tmp_path / "bad.json"
    bad.write_bytes(encode([ours("L3", version="2.3.0"), {"id": "L4"}, dict(ours("L5"), publish="yes")]))
    code, out, err = run(tmp_path, "locations", "import", str(bad))
    assert code == 1
    assert "nothing imported" in err
    for path in ("$[1].address", "$[1].coordinates", "$[2].publish"):
        assert path in err

    many = tmp_path / "many.json"
    many.write_bytes(encode([{"id": f"L{i}"} for i in range(60)]))
    code, out, err = run(tmp_path, "locations", "import", str(many))
    assert code == 1
    assert len([line for line in err.splitlines() if line.startswith("  $[")]) == 50  # the cap
    assert re.search(r"\.\.\. and \d+ more not listed", err)

    code, out, err = run(tmp_path, "locations", "list", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert [(loc["id"], loc["evses"], loc["statuses"]) for loc in listed] == [
        ("L1", 2, {"AVAILABLE": 2}),
        ("L2", 1, {"AVAILABLE": 1}),
    ]

    code, out, err = run(tmp_path, "locations", "set-status", "e2", "charging", "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "CHARGING"

    code, out, err = run(tmp_path, "locations", "show", "L1", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert [evse["status"] for evse in shown["evses"]] == ["AVAILABLE", "CHARGING"]
    assert shown["country_code"] == "NL"
    code, out, err = run(tmp_path, "locations", "list")
    assert code == 0 and "1 AVAILABLE, 1 CHARGING" in out

    code, out, err = run(tmp_path, "locations", "show", "L9")
    assert code == 3 and "no location 'L9'" in err
    code, out, err = run(tmp_path, "locations", "stats", "--json")
    assert code == 0, err
    assert json.loads(out) == {"own": 2, "received": {}, "stale_updates_ignored": {"total": 0}}
