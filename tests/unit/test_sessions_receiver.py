"""The sessions Receiver (eMSP) over the node's ASGI app: PUT / PATCH / GET, party rules, stale
updates, PATCH appending charging periods, and what each refusal answers (nothing changed)."""

from __future__ import annotations

from decimal import Decimal

from evroam.modules.sessions.repository import load_session_record, session_key
from evroam.modules.sessions.service import SessionReceiver
from tests.unit.test_sessions_support import (
    CPO_TOKEN,
    EMSP_TOKEN,
    RIVAL_TOKEN,
    Harness,
    envelope,
    period_json,
    register_twin,
    running,
    session_json,
    session_json_211,
)

URL = "receiver/sessions/BE/BEC/S1"


async def stored(h: Harness, session_id: str = "S1") -> tuple[bytes, int] | None:
    found = await h.store.get(session_key("BE", "BEC", session_id))
    return None if found is None else (found.payload, found.revision)


async def put(
    h: Harness, body: dict[str, object], url: str = URL, token: str = CPO_TOKEN
) -> tuple[int, int, object]:
    return envelope(await h.call("PUT", url, token=token, body=body))


async def test_put_creates_then_replaces_and_get_returns_it() -> None:
    async with running() as h:
        assert (await put(h, session_json(periods=[period_json(0, "1")])))[:2] == (201, 1000)
        http, code, data = envelope(await h.call("GET", URL, token=CPO_TOKEN))
        assert (http, code) == (200, 1000)
        assert isinstance(data, dict) and data["id"] == "S1" and len(data["charging_periods"]) == 1

        # a PUT replaces everything, charging periods included
        again = session_json(kwh="3", last_updated="2026-03-01T12:10:00Z", periods=[period_json(5, "3")])
        assert (await put(h, again))[:2] == (200, 1000)
        record = await load_session_record(h.store, "BE", "BEC", "S1")
        assert record is not None and record.partner_id == "p-cpo"
        assert record.session.kwh == Decimal("3")
        assert [p.dimensions[0].volume for p in record.session.charging_periods or ()] == [Decimal("3")]


async def test_put_under_another_partys_url_is_forbidden_and_stores_nothing() -> None:
    async with running() as h:
        http, code, _ = await put(h, session_json(party=("FR", "RIV")), url="receiver/sessions/FR/RIV/S1")
        assert (http, code) == (403, 2000)  # FR*RIV is the rival's party, not the caller's
        assert await load_session_record(h.store, "FR", "RIV", "S1") is None


async def test_put_whose_body_names_another_object_is_2001_and_stores_nothing() -> None:
    async with running() as h:
        assert (await put(h, session_json("S2")))[:2] == (400, 2001)  # URL S1, body S2
        assert (await put(h, session_json(party=("BE", "XXX"))))[:2] == (400, 2001)  # party differs
        assert await stored(h, "S1") is None and await stored(h, "S2") is None


async def test_a_session_stored_by_another_partner_cannot_be_replaced_nor_read_by_it() -> None:
    async with running() as h:
        assert (await put(h, session_json()))[:2] == (201, 1000)
        before = await stored(h)
        # the rival CPO is refused the URL of BE*BEC (not its party) for writes and reads alike
        assert (await put(h, session_json(), token=RIVAL_TOKEN))[:2] == (403, 2000)
        assert envelope(await h.call("GET", URL, token=RIVAL_TOKEN))[:2] == (403, 2000)
        # an eMSP partner does not read a CPO's sessions on our Receiver either
        assert envelope(await h.call("GET", URL, token=EMSP_TOKEN))[:2] == (403, 2000)
        assert await stored(h) == before


async def test_get_of_an_unknown_session_is_404_2003() -> None:
    async with running() as h:
        assert envelope(await h.call("GET", URL, token=CPO_TOKEN))[:2] == (404, 2003)


async def test_an_older_put_is_acknowledged_ignored_and_counted() -> None:
    async with running() as h:
        await put(h, session_json(kwh="5", last_updated="2026-03-01T12:30:00Z"))
        before = await stored(h)
        http, code, _ = await put(h, session_json(kwh="1", last_updated="2026-03-01T12:00:00Z"))
        assert (http, code) == (200, 1000)
        assert await stored(h) == before
        assert (await SessionReceiver(h.store).stale_updates(["p-cpo"])) == {"total": 1, "p-cpo": 1}


async def patch(
    h: Harness, body: dict[str, object], version: str = "2.2.1", url: str = URL
) -> tuple[int, int]:
    http, code, _ = envelope(await h.call("PATCH", url, token=CPO_TOKEN, body=body, version=version))
    return http, code


async def test_patch_appends_charging_periods_and_changes_only_the_given_fields() -> None:
    async with running() as h:
        await put(h, session_json(periods=[period_json(0, "1")], kwh="1"))
        body = {
            "kwh": Decimal("2.5"),
            "charging_periods": [period_json(15, "1.5")],
            "last_updated": "2026-03-01T12:15:00Z",
        }
        assert await patch(h, body) == (200, 1000)
        record = await load_session_record(h.store, "BE", "BEC", "S1")
        assert record is not None
        session = record.session
        assert session.kwh == Decimal("2.5")
        assert [p.start_date_time.minute for p in session.charging_periods or ()] == [0, 15]
        assert session.status.value == "ACTIVE" and session.location_id == "THEIRLOC"  # untouched

        # a PATCH without periods keeps them; one with an empty list too
        assert await patch(h, {"status": "COMPLETED", "last_updated": "2026-03-01T12:20:00Z"}) == (200, 1000)
        assert await patch(h, {"charging_periods": [], "last_updated": "2026-03-01T12:21:00Z"}) == (200, 1000)
        record = await load_session_record(h.store, "BE", "BEC", "S1")
        assert record is not None and record.session.status.value == "COMPLETED"
        assert len(record.session.charging_periods or ()) == 2


async def test_a_patch_delivered_twice_appends_its_periods_once() -> None:
    async with running() as h:
        await put(h, session_json(periods=[period_json(0, "1")]))
        body = {
            "charging_periods": [period_json(15, "1.5"), period_json(30, "2")],
            "last_updated": "2026-03-01T12:30:00Z",
        }
        assert await patch(h, body) == (200, 1000)
        assert await patch(h, body) == (200, 1000)
        record = await load_session_record(h.store, "BE", "BEC", "S1")
        assert record is not None
        assert [p.start_date_time.minute for p in record.session.charging_periods or ()] == [0, 15, 30]


async def test_a_patch_without_last_updated_is_2001_and_changes_nothing() -> None:
    async with running() as h:
        await put(h, session_json())
        before = await stored(h)
        assert await patch(h, {"kwh": Decimal("9")}) == (400, 2001)
        assert await stored(h) == before


async def test_a_patch_of_an_unknown_session_is_404_2003() -> None:
    async with running() as h:
        assert await patch(h, {"kwh": Decimal("9"), "last_updated": "2026-03-01T12:30:00Z"}) == (404, 2003)
        assert await stored(h) is None


async def test_an_older_patch_is_acknowledged_and_ignored() -> None:
    async with running() as h:
        await put(h, session_json(last_updated="2026-03-01T12:30:00Z"))
        before = await stored(h)
        body = {
            "kwh": Decimal("9"),
            "charging_periods": [period_json(1, "1")],
            "last_updated": "2026-03-01T12:00:00Z",
        }
        assert await patch(h, body) == (200, 1000)
        assert await stored(h) == before


async def test_ocpi_2_1_1_put_and_patch_take_the_owner_from_the_url() -> None:
    async with running() as h:
        url = "receiver/sessions/BE/BEC/S1"
        http, code, _ = envelope(
            await h.call("PUT", url, token=CPO_TOKEN, version="2.1.1", body=session_json_211())
        )
        assert (http, code) == (201, 1000)
        body = {
            "kwh": Decimal("4"),
            "charging_periods": [period_json(10, "4")],
            "last_updated": "2026-03-01T12:10:00Z",
        }
        assert await patch(h, body, version="2.1.1") == (200, 1000)
        record = await load_session_record(h.store, "BE", "BEC", "S1")
        assert record is not None and record.partner_id == "p-cpo"
        assert record.session.kwh == Decimal("4") and record.session.evse_uid == "EV1"
        assert len(record.session.charging_periods or ()) == 1
        _, _, data = envelope(await h.call("GET", url, token=CPO_TOKEN, version="2.1.1"))
        assert isinstance(data, dict) and data["auth_id"] == "C1" and data["location"]["id"] == "THEIRLOC"


async def test_another_partner_under_the_same_party_neither_reads_nor_replaces_a_session() -> None:
    async with running() as h:
        twin = await register_twin(h.store, h.clock)
        assert (await put(h, session_json()))[:2] == (201, 1000)
        before = await stored(h)
        assert envelope(await h.call("GET", URL, token=twin))[:2] == (404, 2003)  # not what it pushed
        assert (await put(h, session_json(last_updated="2026-03-01T13:00:00Z"), token=twin))[:2] == (
            403,
            2000,
        )
        body = {"kwh": Decimal("9"), "last_updated": "2026-03-01T13:00:00Z"}
        assert envelope(await h.call("PATCH", URL, token=twin, body=body))[:2] == (403, 2000)
        assert await stored(h) == before
