"""The sessions Sender (CPO) over the node's ASGI app: ``date_from`` required, each partner sees only
the sessions of its own tokens (privacy), pages, and charging preferences with their answers."""

from __future__ import annotations

from evroam.model.enums import SessionStatus
from evroam.modules.sessions.repository import load_preferences
from evroam.modules.sessions.service import SessionAdmin
from evroam.registration.directory import RegisteredPartners
from tests.unit.test_sessions_support import (
    CPO_TOKEN,
    EMSP_TOKEN,
    OTHER_TOKEN,
    OUR_CPO,
    T0,
    Harness,
    envelope,
    our_session,
    running,
    store_our_location,
)

LIST = "sender/sessions"


def admin(h: Harness) -> SessionAdmin:
    return SessionAdmin(h.store, h.clock, RegisteredPartners(), [OUR_CPO])


async def start(h: Harness, session_id: str, owner: tuple[str, str], evse_uid: str = "E1") -> None:
    await admin(h).start(our_session(session_id, owner=owner, evse_uid=evse_uid))
    h.clock.advance(60)


async def listed(h: Harness, token: str, **params: str) -> tuple[list[str], str | None, str | None]:
    answer = await h.call("GET", LIST, token=token, params={"date_from": T0, **params})
    http, code, data = envelope(answer)
    assert (http, code) == (200, 1000), answer.text
    assert isinstance(data, list)
    return [item["id"] for item in data], answer.headers.get("X-Total-Count"), answer.headers.get("Link")


async def test_the_list_without_date_from_is_2001() -> None:
    async with running() as h:
        await start(h, "S1", ("DE", "EMS"))
        answer = await h.call("GET", LIST, token=EMSP_TOKEN)
        assert envelope(answer)[:2] == (400, 2001)
        assert "date_from" in answer.json()["status_message"]


async def test_each_partner_sees_only_the_sessions_of_its_own_tokens() -> None:
    async with running() as h:
        await start(h, "S1", ("DE", "EMS"))
        await start(h, "S2", ("DE", "OTH"))
        await start(h, "S3", ("de", "ems"))  # the owner compares case-insensitively
        assert await listed(h, EMSP_TOKEN) == (["S1", "S3"], "2", None)
        assert await listed(h, OTHER_TOKEN) == (["S2"], "1", None)
        assert await listed(h, CPO_TOKEN) == ([], "0", None)  # a CPO partner holds none of these tokens


async def test_pages_and_date_window_of_one_partners_sessions() -> None:
    async with running() as h:
        for n in range(1, 6):
            await start(h, f"S{n}", ("DE", "EMS"))
        await start(h, "X1", ("DE", "OTH"))
        ids, total, link = await listed(h, EMSP_TOKEN, limit="2")
        assert (ids, total) == (["S1", "S2"], "5")
        assert link is not None and "offset=2" in link and "date_from=" in link
        ids, _, link = await listed(h, EMSP_TOKEN, limit="2", offset="4")
        assert (ids, link) == (["S5"], None)
        # last_updated of S<n> is T0 + (n - 1) minutes: [12:01, 12:03) holds S2 and S3
        window = {"date_from": "2026-03-01T12:01:00Z", "date_to": "2026-03-01T12:03:00Z"}
        answer = await h.call("GET", LIST, token=EMSP_TOKEN, params=window)
        assert [s["id"] for s in answer.json()["data"]] == ["S2", "S3"]


async def test_the_2_1_1_list_embeds_our_location() -> None:
    async with running() as h:
        await store_our_location(h.store)
        await start(h, "S1", ("DE", "EMS"))
        answer = await h.call("GET", LIST, token=EMSP_TOKEN, version="2.1.1", params={"date_from": T0})
        [session] = answer.json()["data"]
        assert session["location"]["id"] == "LOC1"
        assert [e["uid"] for e in session["location"]["evses"]] == ["E1"]  # only the session's EVSE


def prefs_url(session_id: str) -> str:
    return f"{LIST}/{session_id}/charging_preferences"


PREFS = {"profile_type": "FAST", "departure_time": "2026-03-01T18:00:00Z", "energy_need": 20}


async def test_charging_preferences_on_a_capable_evse_are_accepted_and_kept() -> None:
    async with running() as h:
        await store_our_location(h.store)
        await start(h, "S1", ("DE", "EMS"), evse_uid="E1")
        answer = await h.call("PUT", prefs_url("S1"), token=EMSP_TOKEN, body=PREFS)
        assert envelope(answer) == (200, 1000, "ACCEPTED")
        kept = await load_preferences(h.store, *OUR_CPO, "S1")
        assert kept is not None and kept.profile_type.value == "FAST" and kept.energy_need == 20


async def test_charging_preferences_on_an_evse_without_the_capability_are_404_2001() -> None:
    async with running() as h:
        await store_our_location(h.store)
        await start(h, "S1", ("DE", "EMS"), evse_uid="E2")
        answer = await h.call("PUT", prefs_url("S1"), token=EMSP_TOKEN, body=PREFS)
        assert envelope(answer)[:2] == (404, 2001)
        assert await load_preferences(h.store, *OUR_CPO, "S1") is None


async def test_charging_preferences_of_another_partners_session_or_an_unknown_one_are_404() -> None:
    async with running() as h:
        await store_our_location(h.store)
        await start(h, "S1", ("DE", "EMS"))
        assert envelope(await h.call("PUT", prefs_url("S1"), token=OTHER_TOKEN, body=PREFS))[:2] == (
            404,
            2003,
        )
        assert envelope(await h.call("PUT", prefs_url("NOPE"), token=EMSP_TOKEN, body=PREFS))[:2] == (
            404,
            2003,
        )
        assert await load_preferences(h.store, *OUR_CPO, "S1") is None


async def test_charging_preferences_of_a_finished_session_are_not_possible() -> None:
    async with running() as h:
        await store_our_location(h.store)
        await start(h, "S1", ("DE", "EMS"))
        await admin(h).stop("S1", status=SessionStatus.COMPLETED)
        answer = await h.call("PUT", prefs_url("S1"), token=EMSP_TOKEN, body=PREFS)
        assert envelope(answer) == (200, 1000, "NOT_POSSIBLE")
        assert await load_preferences(h.store, *OUR_CPO, "S1") is None


async def test_invalid_charging_preferences_are_2001() -> None:
    async with running() as h:
        await store_our_location(h.store)
        await start(h, "S1", ("DE", "EMS"))
        answer = await h.call("PUT", prefs_url("S1"), token=EMSP_TOKEN, body={"profile_type": "TURBO"})
        assert envelope(answer)[:2] == (400, 2001)
