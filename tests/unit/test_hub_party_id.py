"""OCPI 2.3.0 hubs (no role HUB): the hub names itself with ``hub_party_id`` and lists the parties it
reaches in ``roles``, kept current as platforms join and leave; a platform behind it recognises the hub
by ``hub_party_id`` and keeps the listed parties as reachable through it. 2.2.1 stays as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from evroam.registration.model import PartnerStatus

from .test_registration_service import Network, NodeUnderTest, make_node


@dataclass
class Star:
    hub: NodeUnderTest
    cpo: NodeUnderTest
    emsp: NodeUnderTest


async def _star(tmp_path: Path, version: str) -> AsyncIterator[Star]:
    network = Network()
    nodes = Star(
        hub=make_node(network, tmp_path, "hub", "hub.test", "HUB", "HUB", versions=(version,)),
        cpo=make_node(network, tmp_path, "cpo", "cpo.test", "CPO", "CPO", versions=(version,)),
        emsp=make_node(network, tmp_path, "emsp", "emsp.test", "EMSP", "MSP", versions=(version,)),
    )
    every = (nodes.hub, nodes.cpo, nodes.emsp)
    for n in every:
        await n.node.start()
    try:
        yield nodes
    finally:
        for n in every:
            await n.client.aclose()
            await n.node.close()


@pytest.fixture
async def star(tmp_path: Path) -> AsyncIterator[Star]:
    async for nodes in _star(tmp_path, "2.3.0"):
        yield nodes


@pytest.fixture
async def star_2_2_1(tmp_path: Path) -> AsyncIterator[Star]:
    async for nodes in _star(tmp_path, "2.2.1"):
        yield nodes


async def join(star: Star, platform: NodeUnderTest) -> Any:
    invitation = await star.hub.service.invite(platform.name)
    return await platform.service.register(invitation.versions_url, invitation.token, "hub")


def parties(roles: Any) -> list[tuple[str, str, str | None]]:
    """``(country_code, party_id, role)`` of wire roles (dicts) or records."""
    out = []
    for r in roles:
        if isinstance(r, dict):
            out.append((r["country_code"], r["party_id"], r["role"]))
        else:
            out.append((str(r.country_code), str(r.party_id), None if r.role is None else r.role.value))
    return out


async def hub_credentials(star: Star, platform: NodeUnderTest, version: str = "2.3.0") -> dict[str, Any]:
    """GET of the hub's credentials with the token the hub gave ``platform``."""
    record = await platform.service.get("hub")
    response = await star.hub.call("GET", f"/ocpi/{version}/credentials", record.token)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_a_2_3_0_hub_names_itself_with_hub_party_id_and_lists_the_parties_it_reaches(
    star: Star,
) -> None:
    # the first platform: nothing reachable yet, the hub lists its own party (roles may not be empty)
    first = await join(star, star.cpo)
    assert parties(first.roles) == [("NL", "HUB", "HUB")]
    alone = await hub_credentials(star, star.cpo)
    assert alone["hub_party_id"] == "NLHUB"
    assert parties(alone["roles"]) == [("NL", "HUB", "OTHER")]

    # the second platform learns the first one's party at registration, and the first one on GET
    second = await join(star, star.emsp)
    assert parties(second.roles) == [("NL", "HUB", "HUB"), ("NL", "CPO", "CPO")]
    for_cpo = await hub_credentials(star, star.cpo)
    assert for_cpo["hub_party_id"] == "NLHUB"
    assert parties(for_cpo["roles"]) == [("NL", "MSP", "EMSP")]
    for_emsp = await hub_credentials(star, star.emsp)
    assert parties(for_emsp["roles"]) == [("NL", "CPO", "CPO")]
    assert for_emsp["roles"][0]["business_details"]["name"] == "cpo B.V."

    # a credentials update by the CPO (PUT to the hub) brings its record up to date
    updated = await star.cpo.service.rotate("hub")
    assert parties(updated.roles) == [("NL", "HUB", "HUB"), ("NL", "MSP", "EMSP")]

    # a platform that leaves is no longer listed
    await star.emsp.service.unregister("hub")
    assert (await star.hub.service.get("emsp")).status is PartnerStatus.UNREGISTERED
    assert parties((await hub_credentials(star, star.cpo))["roles"]) == [("NL", "HUB", "OTHER")]


async def test_a_platform_registered_by_the_hub_learns_the_reachable_parties_too(star: Star) -> None:
    await join(star, star.cpo)
    # the hub starts the handshake with the eMSP: its POSTed credentials list the CPO
    invitation = await star.emsp.service.invite("hub")
    await star.hub.service.register(invitation.versions_url, invitation.token, "emsp")
    at_emsp = await star.emsp.service.get("hub")
    assert parties(at_emsp.roles) == [("NL", "HUB", "HUB"), ("NL", "CPO", "CPO")]
    # and the hub keeps the eMSP's own party as the eMSP's, not as reachable through anyone
    assert parties((await star.hub.service.get("emsp")).roles) == [("NL", "MSP", "EMSP")]


async def test_a_2_2_1_hub_still_reports_only_itself(star_2_2_1: Star) -> None:
    star = star_2_2_1
    await join(star, star.cpo)
    await join(star, star.emsp)
    creds = await hub_credentials(star, star.cpo, "2.2.1")
    assert "hub_party_id" not in creds
    assert parties(creds["roles"]) == [("NL", "HUB", "HUB")]
    assert parties((await star.emsp.service.get("hub")).roles) == [("NL", "HUB", "HUB")]


async def test_a_listed_party_that_is_ours_or_held_directly_is_not_taken_from_its_owner(star: Star) -> None:
    # the eMSP is connected directly with the CPO, then joins a hub that also reaches the CPO
    await join(star, star.cpo)
    invitation = await star.cpo.service.invite("emsp")
    await star.emsp.service.register(invitation.versions_url, invitation.token, "cpo-direct")
    at_emsp = await join(star, star.emsp)
    assert at_emsp.status is PartnerStatus.REGISTERED
    assert parties(at_emsp.roles) == [("NL", "HUB", "HUB")]  # NL*CPO stays the direct partner's
    direct = await star.emsp.service.get("cpo-direct")
    assert parties(direct.roles) == [("NL", "CPO", "CPO")]
