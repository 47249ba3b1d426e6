"""A party behind a hub: the routing headers checked against the caller's credentials and our parties,
and HubClientInfo making the parties a hub reaches its parties (in-process, the locations harness:
our node hosts NL*CPO and NL*MSP; partner ``cpo`` holds BE*BEC)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evroam.modules.hubclientinfo import reachable

from .locations_harness import CPO_TOKEN, Harness, location_json, running


def routed(sender: tuple[str, str], receiver: tuple[str, str]) -> dict[str, str]:
    return {
        "OCPI-from-country-code": sender[0],
        "OCPI-from-party-id": sender[1],
        "OCPI-to-country-code": receiver[0],
        "OCPI-to-party-id": receiver[1],
    }


async def put_location(h: Harness, party: tuple[str, str], headers: dict[str, str]) -> Any:
    body = location_json("L1", country_code=party[0], party_id=party[1])
    auth = h.auth(CPO_TOKEN, "2.2.1")
    return await h.client.put(
        f"/ocpi/2.2.1/receiver/locations/{party[0]}/{party[1]}/L1",
        json=body,
        headers={**auth, **headers},
    )


async def test_ocpi_from_must_be_a_party_of_the_callers_credentials(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        ok = await put_location(h, ("BE", "BEC"), routed(("BE", "BEC"), ("NL", "MSP")))
        refused = await put_location(h, ("BE", "BEC"), routed(("FR", "OTH"), ("NL", "MSP")))
    assert ok.json()["status_code"] == 1000
    assert refused.status_code == 403 and "FR*OTH" in refused.json()["status_message"]


async def test_ocpi_to_must_name_a_party_hosted_here(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        refused = await put_location(h, ("BE", "BEC"), routed(("BE", "BEC"), ("DE", "ELS")))
    assert refused.json()["status_code"] == 4001
    assert "DE*ELS" in refused.json()["status_message"]


@pytest.mark.parametrize("status", ["CONNECTED", "OFFLINE"])
async def test_a_party_the_hub_reaches_is_accepted_from_the_hub(tmp_path: Path, status: str) -> None:
    """Partner ``cpo`` plays the hub: it tells us FR*CPX is reachable through it."""
    async with running(tmp_path) as h:
        before = await put_location(h, ("FR", "CPX"), routed(("FR", "CPX"), ("NL", "MSP")))
        info = {
            "country_code": "FR",
            "party_id": "CPX",
            "role": "CPO",
            "status": status,
            "last_updated": "2026-03-01T12:00:00Z",
        }
        put = await h.call("PUT", "hubclientinfo/FR/CPX", token=CPO_TOKEN, body=info)
        got = await h.call("GET", "hubclientinfo/FR/CPX", token=CPO_TOKEN)
        after = await put_location(h, ("FR", "CPX"), routed(("FR", "CPX"), ("NL", "MSP")))
        known = await reachable(h.store)
    assert before.status_code == 403  # not a party of its credentials yet
    assert put.json()["status_code"] == 1000 and got.json()["data"] == info
    assert after.json()["status_code"] == 1000
    assert [(hub, str(i.party_id), i.status.value) for hub, i in known] == [("p-cpo", "CPX", status)]


async def test_a_client_info_of_our_own_party_does_not_make_the_hub_its_owner(tmp_path: Path) -> None:
    async with running(tmp_path) as h:
        info = {
            "country_code": "NL",
            "party_id": "MSP",
            "role": "EMSP",
            "status": "CONNECTED",
            "last_updated": "2026-03-01T12:00:00Z",
        }
        await h.call("PUT", "hubclientinfo/NL/MSP", token=CPO_TOKEN, body=info)
        partner = await h.node.registration.get("cpo")
    assert [f"{r.country_code}*{r.party_id}" for r in partner.roles] == ["BE*BEC"]
