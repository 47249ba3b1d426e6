"""An eMSP after a sync lists, shows and filters the locations and tariffs it received, in the CLI.

Two real nodes (:class:`evroam.testing.NodePair`): the CPO imports locations and tariffs, the eMSP pulls
them with ``evroam sync``, then reads them with ``locations list|show`` and ``tariffs list|show`` and
their ``--received`` / ``--partner`` / ``--status`` / ``--party`` / ``--offset`` / ``--limit`` options.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evroam.testing import NodePair

from ..unit.locations_harness import tariff_json
from .locations_data import generate_locations
from .nodes import NodeProcess


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[NodePair]:
    with NodePair(tmp_path, node_class=NodeProcess).up() as nodes:
        yield nodes


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, default=str))
    return path


def test_an_emsp_lists_shows_and_filters_what_it_received(pair: NodePair, tmp_path: Path) -> None:
    cpo, emsp = pair.nodes
    generated = [loc for loc in generate_locations(8, seed=19) if loc["publish"]]
    cpo.json("locations", "import", str(_write(tmp_path / "locations.json", generated)))
    tariffs = [
        tariff_json("T-CHEAP", country_code="NL", party_id="CPO", price="0.25"),
        tariff_json("T-DEAR", country_code="NL", party_id="CPO", price="0.59"),
    ]
    cpo.json("tariffs", "import", str(_write(tmp_path / "tariffs.json", tariffs)))
    assert emsp.json("sync", "locations", "--partner", "cpo")["fetched"] == len(generated)
    assert emsp.json("sync", "tariffs", "--partner", "cpo")["fetched"] == 2

    # Its own listing is empty, and says where the received ones are.
    assert emsp.json("locations", "list") == []
    said = emsp.evroam("locations", "list").stdout
    assert f"{len(generated)} received from partners" in said and "--received" in said

    received = emsp.json("locations", "list", "--received")
    # the pair is registered: the import's pushes race the sync, so the order of arrival may differ
    assert sorted(loc["id"] for loc in received) == sorted(loc["id"] for loc in generated)
    assert {loc["received_from"] for loc in received} == {"cpo"}
    assert emsp.json("locations", "list", "--partner", "cpo") == received
    assert emsp.json("locations", "list", "--received", "--party", "NL:CPO") == received
    assert emsp.json("locations", "list", "--received", "--party", "DE:XXX") == []

    # Filters: an EVSE status, as OCPI writes it.
    status = generated[0]["evses"][0]["status"]
    with_status = [loc["id"] for loc in generated if any(e["status"] == status for e in loc["evses"])]
    filtered = emsp.json("locations", "list", "--received", "--status", status)
    assert sorted(loc["id"] for loc in filtered) == sorted(with_status)
    assert all(status in loc["statuses"] for loc in filtered)

    # Paging.
    page = emsp.json("locations", "list", "--received", "--offset", "1", "--limit", "2")
    assert [loc["id"] for loc in page] == [loc["id"] for loc in received[1:3]]
    text = emsp.evroam("locations", "list", "--received", "--limit", "2").stdout
    assert f"(locations 1-2 of {len(generated)}; --offset 2 for more)" in text

    # Show one, as OCPI writes it; an unknown one is a JSON error with exit status 3.
    shown = emsp.json("locations", "show", generated[0]["id"], "--partner", "cpo")
    assert shown["id"] == generated[0]["id"] and shown["evses"][0]["uid"] == generated[0]["evses"][0]["uid"]
    missing = emsp.evroam("locations", "show", "NOPE", "--received", "--json", check=False)
    assert missing.returncode == 3
    error = json.loads(missing.stdout)["error"]
    assert error["type"] == "not_found" and "NOPE" in error["message"]
    unknown = emsp.evroam("locations", "list", "--partner", "nobody", "--json", check=False)
    assert unknown.returncode == 3 and "nobody" in json.loads(unknown.stdout)["error"]["message"]

    # Tariffs the same way, with their prices and what they say of VAT.
    assert emsp.json("tariffs", "list") == []
    listed = emsp.json("tariffs", "list", "--received")
    assert [(t["id"], t["prices"], t["vat"]) for t in listed] == [
        ("T-CHEAP", "ENERGY 0.25/kWh", "excl. VAT"),
        ("T-DEAR", "ENERGY 0.59/kWh", "excl. VAT"),
    ]
    assert "ENERGY 0.59/kWh EUR excl. VAT\tfrom cpo" in emsp.evroam("tariffs", "list", "--received").stdout
    shown_tariff = emsp.json("tariffs", "show", "t-dear", "--partner", "cpo")
    assert (
        shown_tariff["id"] == "T-DEAR" and shown_tariff["elements"][0]["price_components"][0]["price"] == 0.59
    )
    assert emsp.json("tariffs", "list", "--received", "--limit", "1", "--offset", "1")[0]["id"] == "T-DEAR"
