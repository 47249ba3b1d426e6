"""The CDRs Receiver (eMSP) and Sender (CPO) over the node's ASGI app: POST answered with
``Location``, GET by that URL, immutability (a second POST is 409 and changes nothing), credit CDRs,
party rules, and each partner seeing only the CDRs of its own tokens."""

from __future__ import annotations

from decimal import Decimal

import httpx

from evroam.model.common import Price
from evroam.modules.cdrs.repository import cdr_key, load_cdr_record
from evroam.modules.cdrs.service import CdrAdmin
from evroam.modules.sessions.service import SessionAdmin
from evroam.registration.directory import RegisteredPartners
from tests.unit.test_sessions_support import (
    BASE,
    CPO_TOKEN,
    EMSP_TOKEN,
    OTHER_TOKEN,
    OUR_CPO,
    RIVAL_TOKEN,
    Harness,
    cdr_json,
    envelope,
    location_json_211,
    our_session,
    period,
    register_twin,
    running,
    store_our_location,
)

POST = "receiver/cdrs"


async def snapshot(h: Harness, cdr_id: str = "CDR1", party: tuple[str, str] = ("BE", "BEC")) -> object:
    found = await h.store.get(cdr_key(*party, cdr_id))
    return None if found is None else (found.payload, found.revision, found.partner_id)


async def test_post_stores_the_cdr_and_answers_with_its_location_which_get_reads_back() -> None:
    async with running() as h:
        answer = await h.call("POST", POST, token=CPO_TOKEN, body=cdr_json())
        assert envelope(answer)[:2] == (201, 1000)
        location = answer.headers["Location"]
        assert location == f"{BASE}/ocpi/2.2.1/receiver/cdrs/BE/BEC/CDR1"
        record = await load_cdr_record(h.store, "BE", "BEC", "CDR1")
        assert record is not None and record.partner_id == "p-cpo"
        assert record.document.location_url == location  # the eMSP keeps the URL it answered

        http, code, data = envelope(await h.call("GET", location, token=CPO_TOKEN))
        assert (http, code) == (200, 1000)
        assert isinstance(data, dict) and data["id"] == "CDR1" and data["total_cost"]["excl_vat"] == 4.2


async def test_a_second_post_of_the_same_cdr_is_409_and_changes_nothing() -> None:
    async with running() as h:
        await h.call("POST", POST, token=CPO_TOKEN, body=cdr_json())
        before = await snapshot(h)
        again = await h.call("POST", POST, token=CPO_TOKEN, body=cdr_json(total="9.99"))
        assert envelope(again)[:2] == (409, 2000)
        assert "Location" not in again.headers
        # the same key spelled in another case is the same CDR
        lower = {**cdr_json(), "id": "cdr1", "country_code": "be", "party_id": "bec"}
        assert envelope(await h.call("POST", POST, token=CPO_TOKEN, body=lower))[:2] == (409, 2000)
        assert await snapshot(h) == before


async def test_a_credit_cdr_is_accepted_beside_the_one_it_credits() -> None:
    async with running() as h:
        await h.call("POST", POST, token=CPO_TOKEN, body=cdr_json())
        credit = cdr_json("CDR1-C", total="-4.20", credit_of="CDR1")
        answer = await h.call("POST", POST, token=CPO_TOKEN, body=credit)
        assert envelope(answer)[:2] == (201, 1000)
        record = await load_cdr_record(h.store, "BE", "BEC", "CDR1-C")
        assert record is not None and record.cdr.credit is True
        assert record.cdr.credit_reference_id == "CDR1" and record.cdr.total_cost.before_taxes == Decimal(
            "-4.20"
        )
        assert await load_cdr_record(h.store, "BE", "BEC", "CDR1") is not None  # the original stays


async def test_a_credit_cdr_without_its_reference_is_2001_and_stores_nothing() -> None:
    async with running() as h:
        body = {**cdr_json("CDR1-C", total="-4.20"), "credit": True}
        assert envelope(await h.call("POST", POST, token=CPO_TOKEN, body=body))[:2] == (400, 2001)
        assert await snapshot(h, "CDR1-C") is None


async def test_a_cdr_of_another_party_is_403_and_stores_nothing() -> None:
    async with running() as h:
        answer = await h.call("POST", POST, token=CPO_TOKEN, body=cdr_json(party=("FR", "RIV")))
        assert envelope(answer)[:2] == (403, 2000)
        assert await snapshot(h, party=("FR", "RIV")) is None


async def test_get_shows_a_partner_only_what_it_posted() -> None:
    async with running() as h:
        await h.call("POST", POST, token=CPO_TOKEN, body=cdr_json())
        url = f"{POST}/BE/BEC/CDR1"
        assert envelope(await h.call("GET", url, token=RIVAL_TOKEN))[:2] == (403, 2000)  # not its party
        assert envelope(await h.call("GET", url, token=EMSP_TOKEN))[:2] == (403, 2000)
        assert envelope(await h.call("GET", f"{POST}/BE/BEC/NOPE", token=CPO_TOKEN))[:2] == (404, 2003)


async def test_another_partner_under_the_same_party_cannot_read_a_cdr_nor_post_it_again() -> None:
    async with running() as h:
        twin = await register_twin(h.store, h.clock)
        await h.call("POST", POST, token=CPO_TOKEN, body=cdr_json())
        before = await snapshot(h)
        assert envelope(await h.call("GET", f"{POST}/BE/BEC/CDR1", token=twin))[:2] == (404, 2003)
        assert envelope(await h.call("POST", POST, token=twin, body=cdr_json()))[:2] == (409, 2000)
        assert await snapshot(h) == before


async def test_an_invalid_cdr_is_2001_and_not_json_is_2000() -> None:
    async with running() as h:
        body = {**cdr_json(), "charging_periods": []}
        assert envelope(await h.call("POST", POST, token=CPO_TOKEN, body=body))[:2] == (400, 2001)
        assert envelope(await h.call("POST", POST, token=CPO_TOKEN, body=b"{not json"))[:2] == (400, 2000)
        assert await snapshot(h) is None


async def test_an_ocpi_2_1_1_cdr_belongs_to_the_posting_cpo() -> None:
    async with running() as h:
        body = {
            "id": "OLD1",
            "start_date_time": "2026-03-01T12:00:00Z",
            "stop_date_time": "2026-03-01T13:00:00Z",
            "auth_id": "C1",
            "auth_method": "WHITELIST",
            "location": location_json_211(),
            "currency": "EUR",
            "charging_periods": [
                {"start_date_time": "2026-03-01T12:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 5}]}
            ],
            "total_cost": 2.5,
            "total_energy": 5,
            "total_time": 1,
            "last_updated": "2026-03-01T13:00:00Z",
        }
        answer = await h.call("POST", POST, token=CPO_TOKEN, version="2.1.1", body=body)
        assert envelope(answer)[:2] == (201, 1000)
        assert answer.headers["Location"] == f"{BASE}/ocpi/2.1.1/receiver/cdrs/BE/BEC/OLD1"
        data = envelope(await h.call("GET", answer.headers["Location"], token=CPO_TOKEN, version="2.1.1"))[2]
        assert isinstance(data, dict) and data["id"] == "OLD1" and data["location"]["id"] == "THEIRLOC"


# -- the Sender list ---------------------------------------------------------------------------------------


async def test_the_sender_list_shows_each_partner_only_the_cdrs_of_its_tokens() -> None:
    async with running() as h:
        await store_our_location(h.store)
        cdrs = CdrAdmin(h.store, h.clock, RegisteredPartners(), [OUR_CPO])
        sessions = SessionAdmin(h.store, h.clock, RegisteredPartners(), [OUR_CPO])
        for session_id, owner in (("S1", ("DE", "EMS")), ("S2", ("DE", "OTH")), ("S3", ("DE", "EMS"))):
            await sessions.start(our_session(session_id, owner=owner, periods=(period(0, "3"),)))
            h.clock.advance(3600)
            await sessions.stop(session_id, kwh=Decimal("3"))
            await cdrs.from_session(session_id, total_cost=Price(before_taxes=Decimal("1")))

        def ids(answer: httpx.Response) -> list[str]:
            return [c["id"] for c in answer.json()["data"]]

        mine = await h.call("GET", "sender/cdrs", token=EMSP_TOKEN)
        assert (ids(mine), mine.headers["X-Total-Count"]) == (["S1", "S3"], "2")
        assert ids(await h.call("GET", "sender/cdrs", token=OTHER_TOKEN)) == ["S2"]
        assert ids(await h.call("GET", "sender/cdrs", token=CPO_TOKEN)) == []
        page = await h.call("GET", "sender/cdrs", token=EMSP_TOKEN, params={"limit": "1"})
        assert ids(page) == ["S1"] and "offset=1" in page.headers["Link"]
