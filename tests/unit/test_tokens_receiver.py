"""The CPO's tokens Receiver through the node's ASGI app: PUT / PATCH / GET with ``?type=``, the party
rule, last_updated, stale updates, and privacy between eMSPs (HTTP + OCPI status, nothing changed on
refusal)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from evroam.modules.tokens.repository import token_key
from evroam.modules.tokens.service import TokenReceiver
from evroam.store.port import StoredObject

from .locations_harness import CPO_TOKEN, EMSP_TOKEN, Harness, running
from .test_tokens_support import OTHER_EMSP_TOKEN, add_partner, other_emsp, token_json

URL = "receiver/tokens/DE/EMS"


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with running() as harness:
        yield harness


def codes(r: Any) -> tuple[int, int]:
    return r.status_code, r.json()["status_code"]


def theirs(uid: str, **kw: Any) -> dict[str, Any]:
    return token_json(uid, **{"country_code": "DE", "party_id": "EMS", **kw})


async def stored(h: Harness, uid: str = "T1", token_type: str = "RFID") -> StoredObject | None:
    return await h.store.get(token_key("DE", "EMS", uid, token_type))


async def test_put_creates_201_updates_200_and_get_reads_back_by_type(h: Harness) -> None:
    r = await h.call("PUT", f"{URL}/T1", token=EMSP_TOKEN, body=theirs("T1"))
    assert codes(r) == (201, 1000)
    r = await h.call("PUT", f"{URL}/T1?type=RFID", token=EMSP_TOKEN, body=theirs("T1", whitelist="NEVER"))
    assert codes(r) == (200, 1000)
    r = await h.call(
        "PUT", f"{URL}/T1?type=APP_USER", token=EMSP_TOKEN, body=theirs("T1", token_type="APP_USER")
    )
    assert codes(r) == (201, 1000)  # same uid, other type: another token
    r = await h.call("GET", f"{URL}/t1", token=EMSP_TOKEN)
    assert codes(r) == (200, 1000)
    assert (r.json()["data"]["type"], r.json()["data"]["whitelist"]) == ("RFID", "NEVER")
    r = await h.call("GET", f"{URL}/T1?type=APP_USER", token=EMSP_TOKEN)
    assert (r.json()["data"]["type"], r.json()["data"]["whitelist"]) == ("APP_USER", "ALLOWED")
    stored_item = await stored(h)
    assert stored_item is not None and stored_item.partner_id == "p-emsp"


async def test_get_of_an_unknown_token_is_404_2003(h: Harness) -> None:
    r = await h.call("GET", f"{URL}/NOPE", token=EMSP_TOKEN)
    assert codes(r) == (404, 2003)
    await h.call("PUT", f"{URL}/T1", token=EMSP_TOKEN, body=theirs("T1"))
    r = await h.call("GET", f"{URL}/T1?type=AD_HOC_USER", token=EMSP_TOKEN)
    assert codes(r) == (404, 2003)


async def test_writes_under_another_party_are_403_and_change_nothing(h: Harness) -> None:
    await h.call("PUT", f"{URL}/T1", token=EMSP_TOKEN, body=theirs("T1"))
    before = await stored(h)
    # the CPO partner BE*BEC writing under DE*EMS
    body = theirs("T1", valid=False, last_updated="2026-02-09T00:00:00Z")
    r = await h.call("PUT", f"{URL}/T1", token=CPO_TOKEN, body=body)
    assert codes(r) == (403, 2000)
    r = await h.call(
        "PATCH", f"{URL}/T1", token=CPO_TOKEN, body={"valid": False, "last_updated": "2026-02-09T00:00:00Z"}
    )
    assert codes(r) == (403, 2000)
    r = await h.call("GET", f"{URL}/T1", token=CPO_TOKEN)
    assert codes(r) == (403, 2000)
    # the eMSP partner writing under a party that is not its own
    r = await h.call(
        "PUT", "receiver/tokens/NL/MSP/T1", token=EMSP_TOKEN, body=token_json("T1", country_code="NL")
    )
    assert codes(r) == (403, 2000)
    assert await stored(h) == before
    assert await h.store.get(token_key("NL", "MSP", "T1")) is None


async def test_url_and_body_must_agree_2001(h: Harness) -> None:
    for path, body in [
        (f"{URL}/T2", theirs("T1")),
        (f"{URL}/T1", theirs("T1", party_id="XXX")),
        (f"{URL}/T1?type=APP_USER", theirs("T1")),
        (f"{URL}/T1?type=NOT_A_TYPE", theirs("T1")),
    ]:
        r = await h.call("PUT", path, token=EMSP_TOKEN, body=body)
        assert codes(r) == (400, 2001), path
    body = theirs("T1")
    del body["whitelist"]
    r = await h.call("PUT", f"{URL}/T1", token=EMSP_TOKEN, body=body)
    assert codes(r) == (400, 2001)
    assert "whitelist" in r.json()["status_message"]
    assert await stored(h) is None and await stored(h, "T2") is None


async def test_patch_needs_last_updated_and_an_existing_token(h: Harness) -> None:
    r = await h.call(
        "PATCH", f"{URL}/T1", token=EMSP_TOKEN, body={"valid": False, "last_updated": "2026-02-09T00:00:00Z"}
    )
    assert codes(r) == (404, 2003)
    await h.call("PUT", f"{URL}/T1", token=EMSP_TOKEN, body=theirs("T1"))
    before = await stored(h)
    r = await h.call("PATCH", f"{URL}/T1", token=EMSP_TOKEN, body={"valid": False})
    assert codes(r) == (400, 2001)
    assert await stored(h) == before
    r = await h.call(
        "PATCH", f"{URL}/T1", token=EMSP_TOKEN, body={"uid": "T9", "last_updated": "2026-02-09T00:00:00Z"}
    )
    assert codes(r) == (400, 2001)
    assert await stored(h) == before
    r = await h.call(
        "PATCH",
        f"{URL}/T1?type=RFID",
        token=EMSP_TOKEN,
        body={"valid": False, "last_updated": "2026-02-09T00:00:00Z"},
    )
    assert codes(r) == (200, 1000)
    r = await h.call("GET", f"{URL}/T1", token=EMSP_TOKEN)
    assert (r.json()["data"]["valid"], r.json()["data"]["last_updated"]) == (False, "2026-02-09T00:00:00Z")


async def test_stale_updates_are_acknowledged_ignored_and_counted(h: Harness) -> None:
    await h.call("PUT", f"{URL}/T1", token=EMSP_TOKEN, body=theirs("T1", last_updated="2026-02-05T00:00:00Z"))
    before = await stored(h)
    r = await h.call(
        "PUT",
        f"{URL}/T1",
        token=EMSP_TOKEN,
        body=theirs("T1", valid=False, last_updated="2026-02-04T00:00:00Z"),
    )
    assert codes(r) == (200, 1000)
    assert "ignored" in r.json()["status_message"]
    r = await h.call(
        "PATCH", f"{URL}/T1", token=EMSP_TOKEN, body={"valid": False, "last_updated": "2026-02-04T00:00:00Z"}
    )
    assert codes(r) == (200, 1000)
    assert "ignored" in r.json()["status_message"]
    assert await stored(h) == before
    assert await TokenReceiver(h.store).stale_updates(["p-emsp"]) == {"total": 2, "p-emsp": 2}


async def test_ocpi_2_1_1_urls_carry_no_type(h: Harness) -> None:
    body = theirs("T1", token_type="OTHER", version="2.1.1")
    r = await h.call("PUT", f"{URL}/T1", token=EMSP_TOKEN, version="2.1.1", body=body)
    assert codes(r) == (201, 1000)
    assert await stored(h, "T1", "OTHER") is not None
    r = await h.call("GET", f"{URL}/T1", token=EMSP_TOKEN, version="2.1.1")
    assert codes(r) == (200, 1000)
    assert r.json()["data"]["auth_id"] == "NL-MSP-T1" and "country_code" not in r.json()["data"]
    r = await h.call("PATCH", f"{URL}/T1", token=EMSP_TOKEN, version="2.1.1", body={"valid": False})
    assert codes(r) == (400, 2001)  # evroam wants last_updated on every PATCH
    r = await h.call(
        "PATCH",
        f"{URL}/T1",
        token=EMSP_TOKEN,
        version="2.1.1",
        body={"valid": False, "last_updated": "2026-02-09T00:00:00"},
    )
    assert codes(r) == (200, 1000)
    r = await h.call("GET", f"{URL}/T1?type=OTHER", token=EMSP_TOKEN)
    assert r.json()["data"]["valid"] is False


async def test_privacy_a_token_from_emsp_x_is_never_visible_to_emsp_y(h: Harness) -> None:
    await h.call("PUT", f"{URL}/SECRET", token=EMSP_TOKEN, body=theirs("SECRET"))
    # Y with its own party: X's URL is not under its parties
    await add_partner(h.store, h.clock, other_emsp(h.clock), OTHER_EMSP_TOKEN)
    r = await h.call("GET", f"{URL}/SECRET", token=OTHER_EMSP_TOKEN)
    assert codes(r) == (403, 2000)
    assert "data" not in r.json()


async def test_privacy_holds_even_when_y_claims_xs_party(h: Harness) -> None:
    await h.call("PUT", f"{URL}/SECRET", token=EMSP_TOKEN, body=theirs("SECRET"))
    before = await stored(h, "SECRET")
    # a second partner record claiming DE*EMS (e.g. a re-registration under a new name)
    await add_partner(h.store, h.clock, other_emsp(h.clock, party=("DE", "EMS")), OTHER_EMSP_TOKEN)
    r = await h.call("GET", f"{URL}/SECRET", token=OTHER_EMSP_TOKEN)
    assert codes(r) == (404, 2003)
    assert "data" not in r.json()
    r = await h.call(
        "PUT",
        f"{URL}/SECRET",
        token=OTHER_EMSP_TOKEN,
        body=theirs("SECRET", last_updated="2026-02-09T00:00:00Z"),
    )
    assert codes(r) == (403, 2000)
    r = await h.call(
        "PATCH",
        f"{URL}/SECRET",
        token=OTHER_EMSP_TOKEN,
        body={"valid": False, "last_updated": "2026-02-09T00:00:00Z"},
    )
    assert codes(r) == (403, 2000)
    assert await stored(h, "SECRET") == before
    # and the Sender list of this node (its own tokens) never shows it either
    r = await h.call("GET", "sender/tokens", token=CPO_TOKEN)
    assert r.json()["data"] == []
