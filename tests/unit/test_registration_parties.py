"""One owner per party: credentials claiming a party (country_code, party_id, role) that this node or
another registered platform holds are refused (HTTP 409, OCPI 2000, ``PartyTaken``), nothing stored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from evroam.registration.model import PartnerStatus
from evroam.registration.service import RegistrationError

from .test_registration_service import Pair, fake_partner, pair, register_emsp_with_cpo

__all__ = ["pair"]  # the fixture, imported for pytest


def claiming(role: str, country_code: str, party_id: str, token: str = "fake-token-b") -> dict[str, Any]:
    return {
        "token": token,
        "url": "http://fake.test/ocpi/versions",
        "roles": [
            {
                "role": role,
                "party_id": party_id,
                "country_code": country_code,
                "business_details": {"name": "Intruder Ltd"},
            }
        ],
    }


def counting(pair: Pair) -> list[httpx.Request]:
    """Install the fake partner at fake.test; the list fills with the requests the CPO makes to it."""
    inner = fake_partner()
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return inner.handler(request)  # type: ignore[no-any-return]

    pair.network.hosts["fake.test"] = httpx.MockTransport(handle)
    return seen


async def test_a_second_platform_cannot_register_a_party_another_one_holds(pair: Pair) -> None:
    await register_emsp_with_cpo(pair)  # the eMSP node holds NL*MSP (EMSP) at the CPO
    seen = counting(pair)
    invitation = await pair.cpo.service.invite("intruder")
    response = await pair.cpo.call(
        "POST", "/ocpi/2.2.1/credentials", invitation.token, claiming("EMSP", "nl", "msp")
    )
    assert response.status_code == 409
    body = response.json()
    assert body["status_code"] == 2000
    assert "NL*MSP" in body["status_message"].upper()
    assert "emsp" not in body["status_message"].replace("EMSP", "")  # the holder is not named
    # nothing stored, nothing called: the invitation still stands, the real owner is untouched
    assert seen == []
    intruder = await pair.cpo.service.get("intruder")
    assert intruder.status is PartnerStatus.INVITED
    assert intruder.roles == ()
    assert (await pair.cpo.call("GET", "/ocpi/versions", invitation.token)).status_code == 200
    owner = await pair.cpo.service.get("emsp")
    assert owner.status is PartnerStatus.REGISTERED
    assert [str(r) for r in owner.roles] == ["NL*MSP (EMSP)"]


async def test_a_party_of_this_node_cannot_be_claimed(pair: Pair) -> None:
    counting(pair)
    invitation = await pair.cpo.service.invite("intruder")
    response = await pair.cpo.call(
        "POST", "/ocpi/2.2.1/credentials", invitation.token, claiming("CPO", "NL", "CPO")
    )
    assert response.status_code == 409
    assert "party of this node" in response.json()["status_message"]
    assert (await pair.cpo.service.get("intruder")).status is PartnerStatus.INVITED


async def test_the_same_party_in_another_role_is_another_owner(pair: Pair) -> None:
    await register_emsp_with_cpo(pair)
    counting(pair)
    invitation = await pair.cpo.service.invite("cpo-side")
    response = await pair.cpo.call(
        "POST", "/ocpi/2.2.1/credentials", invitation.token, claiming("CPO", "NL", "MSP")
    )
    assert response.status_code == 200, response.text
    assert (await pair.cpo.service.get("cpo-side")).status is PartnerStatus.REGISTERED


async def test_a_credentials_update_cannot_take_another_platforms_party(pair: Pair) -> None:
    await register_emsp_with_cpo(pair)
    counting(pair)
    invitation = await pair.cpo.service.invite("other")
    first = await pair.cpo.call(
        "POST", "/ocpi/2.2.1/credentials", invitation.token, claiming("EMSP", "DE", "OTH")
    )
    assert first.status_code == 200, first.text
    token = first.json()["data"]["token"]
    before = await pair.cpo.service.get("other")

    response = await pair.cpo.call(
        "PUT", "/ocpi/2.2.1/credentials", token, claiming("EMSP", "NL", "MSP", token="fake-token-2")
    )

    assert response.status_code == 409
    assert response.json()["status_code"] == 2000
    after = await pair.cpo.service.get("other")
    assert after.roles == before.roles
    assert after.token == before.token
    assert after.issued == before.issued
    assert (await pair.cpo.call("GET", "/ocpi/versions", token)).status_code == 200


async def test_registering_with_a_partner_whose_answer_claims_a_held_party_is_refused(pair: Pair) -> None:
    # the CPO node first gets a partner holding DE*FAK (EMSP) ...
    counting(pair)
    invitation = await pair.cpo.service.invite("fake-first")
    first = await pair.cpo.call(
        "POST", "/ocpi/2.2.1/credentials", invitation.token, claiming("EMSP", "DE", "FAK")
    )
    assert first.status_code == 200, first.text

    # ... then registers with another platform whose credentials answer claims DE*FAK (EMSP) too
    def answer(request: httpx.Request) -> httpx.Response:
        data = claiming("EMSP", "DE", "FAK", token="their-token-c")
        return httpx.Response(
            200, json={"data": data, "status_code": 1000, "timestamp": "2026-03-01T12:00:00Z"}
        )

    pair.network.hosts["fake.test"] = fake_partner(on_credentials=answer)
    with pytest.raises(RegistrationError) as caught:
        await pair.cpo.service.register("http://fake.test/ocpi/versions", "their-token-a", "second")
    assert "held by another platform" in caught.value.message
    assert await pair.cpo.service.find("second") is None
    assert [p.name for p in await pair.cpo.service.partners()] == ["fake-first"]
