"""The eMSP's tokens Sender through the node's ASGI app: the paginated list and its privacy rule, and
real-time authorization (every answer and error code, with HTTP and OCPI status)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from evroam import model as m
from evroam.core.types import CiString, DateTime
from evroam.modules.tokens.rules import AuthorizationRules, LocationRule
from evroam.ocpi.transport.pagination import next_link

from .locations_harness import CPO_TOKEN, EMSP_TOKEN, Harness, running
from .test_tokens_support import own_token, token

LIST = "sender/tokens"


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with running() as harness:
        yield harness


def codes(r: Any) -> tuple[int, int]:
    return r.status_code, r.json()["status_code"]


async def authorize(
    h: Harness, uid: str, *, token_type: str | None = None, body: Any = None, version: str = "2.2.1"
) -> Any:
    query = "" if token_type is None else f"?type={token_type}"
    return await h.call("POST", f"{LIST}/{uid}/authorize{query}", token=CPO_TOKEN, version=version, body=body)


async def test_the_list_pages_our_own_tokens_for_a_cpo_partner(h: Harness) -> None:
    for i in range(5):
        await own_token(h.store, token(f"T{i}", last_updated=f"2026-02-0{i + 1}T00:00:00Z"))
    r = await h.call("GET", f"{LIST}?limit=2", token=CPO_TOKEN)
    assert codes(r) == (200, 1000)
    assert [t["uid"] for t in r.json()["data"]] == ["T0", "T1"]
    assert r.headers["X-Total-Count"] == "5"
    link = next_link(r.headers.get_list("Link"))
    assert link is not None and "offset=2" in link
    r = await h.call("GET", f"{LIST}?date_from=2026-02-04T00:00:00Z", token=CPO_TOKEN, version="2.1.1")
    assert [(t["uid"], t["auth_id"]) for t in r.json()["data"]] == [("T3", "NL-MSP-T3"), ("T4", "NL-MSP-T4")]
    assert "country_code" not in r.json()["data"][0]


async def test_privacy_the_list_never_shows_received_tokens_nor_tokens_to_an_emsp(h: Harness) -> None:
    await own_token(h.store, token("MINE"))
    # a token the CPO side of this node received from the eMSP partner DE*EMS
    r = await h.call(
        "PUT",
        "receiver/tokens/DE/EMS/THEIRS",
        token=EMSP_TOKEN,
        body={
            "country_code": "DE",
            "party_id": "EMS",
            "uid": "THEIRS",
            "type": "RFID",
            "contract_id": "DE-EMS-1",
            "issuer": "Drive GmbH",
            "valid": True,
            "whitelist": "ALWAYS",
            "last_updated": "2026-02-01T00:00:00Z",
        },
    )
    assert codes(r) == (201, 1000)
    r = await h.call("GET", LIST, token=CPO_TOKEN)
    assert [t["uid"] for t in r.json()["data"]] == ["MINE"]
    assert r.headers["X-Total-Count"] == "1"
    # an eMSP partner is no CPO: it sees none of our tokens, and cannot authorize them
    r = await h.call("GET", LIST, token=EMSP_TOKEN)
    assert codes(r) == (200, 1000)
    assert r.json()["data"] == [] and r.headers["X-Total-Count"] == "0"
    r = await h.call("POST", f"{LIST}/MINE/authorize", token=EMSP_TOKEN)
    assert codes(r) == (404, 2004)


async def test_without_credentials_the_answer_is_401(h: Harness) -> None:
    r = await h.client.post("/ocpi/2.2.1/sender/tokens/T1/authorize")
    assert r.status_code == 401
    r = await h.call("POST", f"{LIST}/T1/authorize", token="not-a-token")
    assert r.status_code == 401


async def test_allowed_answers_carry_the_token_and_a_fresh_reference(h: Harness) -> None:
    await own_token(h.store, token("T1"))
    first = await authorize(h, "T1")  # no body at all: LocationReferences are optional
    second = await authorize(h, "t1", body={"location_id": "L1", "evse_uids": ["E1"]})
    for r in (first, second):
        assert codes(r) == (200, 1000)
        assert r.json()["data"]["allowed"] == "ALLOWED"
        assert r.json()["data"]["token"]["uid"] == "T1"
    refs = [first.json()["data"]["authorization_reference"], second.json()["data"]["authorization_reference"]]
    assert refs[0] and refs[1] and refs[0] != refs[1]
    assert "location" not in first.json()["data"]
    assert second.json()["data"]["location"] == {"location_id": "L1", "evse_uids": ["E1"]}


async def test_an_unknown_token_is_http_404_with_2004(h: Harness) -> None:
    await own_token(h.store, token("T1"))
    for version in ("2.2.1", "2.3.0"):
        r = await authorize(h, "NOPE", version=version)
        assert codes(r) == (404, 2004)
        assert "data" not in r.json()
    # uid + type is the identity: T1 exists as RFID, not as APP_USER
    r = await authorize(h, "T1", token_type="APP_USER")
    assert codes(r) == (404, 2004)


async def test_ocpi_2_1_1_has_no_2004_an_unknown_token_is_404_with_2000(h: Harness) -> None:
    r = await authorize(h, "NOPE", version="2.1.1")
    assert codes(r) == (404, 2000)
    await own_token(h.store, token("T1"))
    r = await authorize(h, "T1", version="2.1.1", body={"location_id": "L1", "connector_ids": ["1"]})
    assert codes(r) == (200, 1000)
    # 2.1.1 answers carry neither the token nor a reference; the request's location is echoed
    assert r.json()["data"] == {
        "allowed": "ALLOWED",
        "location": {"location_id": "L1", "connector_ids": ["1"]},
    }


async def test_the_type_parameter_selects_the_token(h: Harness) -> None:
    await own_token(h.store, token("SAME", valid=False))
    await own_token(h.store, token("SAME", token_type="APP_USER"))
    r = await authorize(h, "SAME")
    assert r.json()["data"]["allowed"] == "BLOCKED"
    r = await authorize(h, "SAME", token_type="APP_USER")
    assert r.json()["data"]["allowed"] == "ALLOWED"
    assert r.json()["data"]["token"]["type"] == "APP_USER"
    r = await authorize(h, "SAME", token_type="BICYCLE")
    assert codes(r) == (400, 2001)


@pytest.mark.parametrize(
    ("valid", "rules", "allowed"),
    [
        (False, None, "BLOCKED"),
        (True, AuthorizationRules(valid_until=DateTime.parse("2026-03-01T00:00:00Z")), "EXPIRED"),
        (True, AuthorizationRules(no_credit=True), "NO_CREDIT"),
        (True, AuthorizationRules(locations=(LocationRule(location_id=CiString("L9")),)), "NOT_ALLOWED"),
    ],
)
async def test_refusals_carry_no_reference_and_say_why(
    h: Harness, valid: bool, rules: AuthorizationRules | None, allowed: str
) -> None:
    await own_token(h.store, token("T1", valid=valid), rules)
    r = await authorize(h, "T1", body={"location_id": "L1"})
    assert codes(r) == (200, 1000)
    data = r.json()["data"]
    assert data["allowed"] == allowed
    assert "authorization_reference" not in data and "location" not in data
    assert data["info"]["text"]


async def test_location_rules_2002_without_location_and_only_permitted_evses(h: Harness) -> None:
    only = LocationRule(location_id=CiString("L1"), evse_uids=(CiString("E1"), CiString("E2")))
    await own_token(
        h.store, token("T1", whitelist=m.WhitelistType.NEVER), AuthorizationRules(locations=(only,))
    )
    r = await authorize(h, "T1")
    assert codes(r) == (400, 2002)
    r = await authorize(h, "T1", body={"location_id": "L1", "evse_uids": ["E2", "E3"]})
    assert codes(r) == (200, 1000)
    assert r.json()["data"]["allowed"] == "ALLOWED"
    assert r.json()["data"]["location"] == {"location_id": "L1", "evse_uids": ["E2"]}
    r = await authorize(h, "T1", body={"location_id": "L1", "evse_uids": ["E3"]})
    assert r.json()["data"]["allowed"] == "NOT_ALLOWED"


async def test_a_malformed_location_body_is_2001(h: Harness) -> None:
    await own_token(h.store, token("T1"))
    r = await authorize(h, "T1", body={"evse_uids": ["E1"]})
    assert codes(r) == (400, 2001)
    r = await authorize(h, "T1", body=b"{not json")
    assert r.status_code == 400
