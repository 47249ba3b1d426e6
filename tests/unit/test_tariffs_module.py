"""The tariffs module through the node's ASGI app: Receiver rules (eMSP), Sender list (CPO), CLI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from evroam.cli import cli
from evroam.core.codec import decode, encode
from evroam.modules.tariffs.cli import admin_for
from evroam.modules.tariffs.repository import tariff_key
from evroam.modules.tariffs.service import TariffReceiver
from evroam.modules.tariffs.validation import parse_tariffs
from evroam.ocpi.transport.pagination import next_link
from evroam.store.outbox import ObjectChange
from evroam.store.port import StoredObject

from .locations_harness import CPO_TOKEN, EMSP_TOKEN, Harness, running, tariff_json

URL = "receiver/tariffs/BE/BEC"


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with running() as harness:
        yield harness


async def stored(h: Harness, tariff_id: str = "T1", cc: str = "BE", pid: str = "BEC") -> StoredObject | None:
    return await h.store.get(tariff_key(cc, pid, tariff_id))


def codes(r: Any) -> tuple[int, int]:
    return r.status_code, r.json()["status_code"]


async def test_put_creates_with_201_updates_with_200_and_get_reads_it_back(h: Harness) -> None:
    r = await h.call("PUT", f"{URL}/T1", token=CPO_TOKEN, body=tariff_json("T1"))
    assert codes(r) == (201, 1000)
    r = await h.call("PUT", f"{URL}/T1", token=CPO_TOKEN, body=tariff_json("T1", price="0.30"))
    assert codes(r) == (200, 1000)
    r = await h.call("GET", f"{URL}/t1", token=CPO_TOKEN)
    assert codes(r) == (200, 1000)
    assert r.json()["data"]["elements"][0]["price_components"][0]["price"] == 0.3


async def test_get_of_an_unknown_tariff_is_404_2003(h: Harness) -> None:
    r = await h.call("GET", f"{URL}/NOPE", token=CPO_TOKEN)
    assert codes(r) == (404, 2003)


async def test_writes_under_another_party_are_refused_and_change_nothing(h: Harness) -> None:
    await h.call("PUT", f"{URL}/T1", token=CPO_TOKEN, body=tariff_json("T1"))
    before = await stored(h)
    r = await h.call(
        "PUT", f"{URL}/T1", token=EMSP_TOKEN, body=tariff_json("T1", last_updated="2026-02-09T00:00:00Z")
    )
    assert codes(r) == (403, 2000)
    r = await h.call("DELETE", f"{URL}/T1", token=EMSP_TOKEN)
    assert codes(r) == (403, 2000)
    r = await h.call(
        "PUT",
        "receiver/tariffs/NL/CPO/T1",
        token=CPO_TOKEN,
        body=tariff_json("T1", country_code="NL", party_id="CPO"),
    )
    assert codes(r) == (403, 2000)
    assert await stored(h) == before
    assert await stored(h, cc="NL", pid="CPO") is None


async def test_a_url_id_or_owner_differing_from_the_body_is_2001(h: Harness) -> None:
    for path, body in [
        (f"{URL}/T2", tariff_json("T1")),
        (f"{URL}/T1", tariff_json("T1", party_id="XXX")),
    ]:
        r = await h.call("PUT", path, token=CPO_TOKEN, body=body)
        assert codes(r) == (400, 2001)
    assert await stored(h) is None and await stored(h, "T2") is None


async def test_a_stale_put_is_acknowledged_ignored_and_counted(h: Harness) -> None:
    await h.call(
        "PUT", f"{URL}/T1", token=CPO_TOKEN, body=tariff_json("T1", last_updated="2026-02-05T00:00:00Z")
    )
    before = await stored(h)
    r = await h.call(
        "PUT",
        f"{URL}/T1",
        token=CPO_TOKEN,
        body=tariff_json("T1", price="9", last_updated="2026-02-04T00:00:00Z"),
    )
    assert codes(r) == (200, 1000)
    assert "ignored" in r.json()["status_message"]
    assert await stored(h) == before
    assert await TariffReceiver(h.store).stale_updates(["p-cpo"]) == {"total": 1, "p-cpo": 1}


async def test_delete_removes_only_the_partners_own_tariff_and_is_repeatable(h: Harness) -> None:
    await h.call("PUT", f"{URL}/T1", token=CPO_TOKEN, body=tariff_json("T1"))
    r = await h.call("DELETE", f"{URL}/T1", token=CPO_TOKEN)
    assert codes(r) == (200, 1000)
    assert await stored(h) is None
    r = await h.call("DELETE", f"{URL}/T1", token=CPO_TOKEN)
    assert codes(r) == (200, 1000)
    assert r.json()["status_message"] == "no such tariff: nothing to delete"


async def test_ocpi_2_1_1_put_and_patch(h: Harness) -> None:
    body = tariff_json("T1", version="2.1.1")
    r = await h.call("PUT", f"{URL}/T1", token=CPO_TOKEN, version="2.1.1", body=body)
    assert codes(r) == (201, 1000)
    r = await h.call("PATCH", f"{URL}/T1", token=CPO_TOKEN, version="2.1.1", body={"currency": "CHF"})
    assert codes(r) == (400, 2001)
    r = await h.call(
        "PATCH", f"{URL}/T1", token=CPO_TOKEN, version="2.1.1",
        body={"currency": "CHF", "last_updated": "2026-02-02T00:00:00Z"},
    )  # fmt: skip
    assert codes(r) == (200, 1000)
    found = await stored(h)
    assert found is not None
    tariff = decode(found.payload, dict[str, Any])
    assert (tariff["currency"], tariff["country_code"], tariff["last_updated"]) == (
        "CHF",
        "BE",
        "2026-02-02T00:00:00Z",
    )
    assert tariff["elements"][0]["price_components"][0]["price"] == 0.25  # untouched by the PATCH


async def test_sender_lists_our_tariffs_in_pages(h: Harness) -> None:
    found = parse_tariffs(
        encode([tariff_json(f"T{i}", country_code="NL", party_id="CPO") for i in range(5)]), "2.2.1"
    )
    report = await admin_for(h.node).import_tariffs(found)
    assert report.created == [f"T{i}" for i in range(5)]
    assert report.outbox_rows == 5  # the eMSP partner has a tariffs Receiver
    rows = await h.store.outbox_list()
    assert {decode(row.payload, ObjectChange).method for row in rows} == {"PUT"}
    r = await h.call("GET", "sender/tariffs?limit=2", token=EMSP_TOKEN)
    assert r.headers["X-Total-Count"] == "5"
    ids = [t["id"] for t in r.json()["data"]]
    link = next_link(r.headers.get("link"))
    while link is not None:
        r = await h.client.get(link, headers=h.auth(EMSP_TOKEN, "2.2.1"))
        ids.extend(t["id"] for t in r.json()["data"])
        link = next_link(r.headers.get("link"))
    assert ids == [f"T{i}" for i in range(5)]
    r = await h.call("GET", "sender/tariffs", token=EMSP_TOKEN, version="2.3.0")
    assert {t["tax_included"] for t in r.json()["data"]} == {"NO"}


def test_cli_import_list_show(tmp_path: Path) -> None:
    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), *args])
        return result.exit_code, result.stdout, result.stderr

    code, _, err = run(
        "init",
        "--country-code",
        "NL",
        "--party-id",
        "CPO",
        "--role",
        "CPO",
        "--url",
        "http://h:1",
        "--ocpi-version",
        "2.2.1",
    )
    assert code == 0, err
    good = tmp_path / "tariffs.json"
    good.write_bytes(encode([tariff_json("T1", country_code="NL", party_id="CPO")]))
    code, out, err = run("tariffs", "import", str(good), "--json")
    assert code == 0, err
    assert json.loads(out)["created"] == ["T1"]
    bad = tmp_path / "bad.json"
    bad.write_bytes(
        encode([tariff_json("T2", country_code="NL", party_id="CPO"), {"id": "T3", "currency": "EUR"}])
    )
    code, _, err = run("tariffs", "import", str(bad))
    assert code == 1
    assert "$[1].elements" in err and "$[1].last_updated" in err
    code, out, err = run("tariffs", "list", "--json")
    assert code == 0, err
    assert [(t["id"], t["currency"]) for t in json.loads(out)] == [("T1", "EUR")]
    code, out, err = run("tariffs", "show", "T1", "--json")
    assert code == 0, err
    assert json.loads(out)["elements"][0]["price_components"][0] == {
        "type": "ENERGY",
        "price": 0.25,
        "step_size": 1,
    }
