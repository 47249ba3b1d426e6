"""The request body cap (``EVROAM_MAX_BODY_BYTES``): a larger body is answered 413 with an OCPI envelope
(2000) as soon as its Content-Length, or the bytes read so far, exceed it; nothing is stored, and the
connection is closed after the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest

from evroam.http.bodies import MAX_BODY_BYTES, max_body_bytes_from_env
from evroam.modules.locations.repository import location_key

from .locations_harness import CPO_TOKEN, location_json, running

LIMIT = 4000
PATH = "/ocpi/2.2.1/receiver/locations/BE/BEC/LOC1"


def padded(size: int) -> bytes:
    """A valid Location body of ``size`` bytes (padded with trailing white space)."""
    body = msgspec.json.encode(location_json("LOC1"))
    return body + b" " * max(0, size - len(body))


@pytest.fixture(autouse=True)
def limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVROAM_MAX_BODY_BYTES", str(LIMIT))


async def test_a_body_announced_larger_than_the_limit_is_413_and_nothing_is_stored() -> None:
    async with running() as h:
        answer = await h.call(
            "PUT", PATH.removeprefix("/ocpi/2.2.1/"), token=CPO_TOKEN, body=padded(LIMIT + 1)
        )
        assert answer.status_code == 413
        assert answer.json()["status_code"] == 2000
        assert f"larger than {LIMIT} bytes" in answer.json()["status_message"]
        assert "EVROAM_MAX_BODY_BYTES" in answer.json()["status_message"]
        assert answer.headers["connection"] == "close"
        assert await h.store.get(location_key("BE", "BEC", "LOC1")) is None

        fits = await h.call(
            "PUT", PATH.removeprefix("/ocpi/2.2.1/"), token=CPO_TOKEN, body=padded(LIMIT - 10)
        )
        assert fits.status_code == 201, fits.text


async def test_a_streamed_body_is_cut_off_while_it_is_read() -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        for _ in range(100):
            sent.append(1000)
            yield b" " * 1000

    async with running() as h:
        headers = {**h.auth(CPO_TOKEN, "2.2.1"), "Content-Type": "application/json"}
        answer = await h.client.put(PATH, headers=headers, content=chunks())
    assert answer.status_code == 413
    assert answer.json()["status_code"] == 2000
    assert answer.headers["connection"] == "close"
    # the app stopped reading once the limit was passed, not at the end of the 100 kB
    assert LIMIT < sum(sent) <= LIMIT + 2000


async def test_an_answer_given_before_the_body_was_read_closes_the_connection() -> None:
    async with running() as h:
        answer = await h.call("PUT", PATH.removeprefix("/ocpi/2.2.1/"), token="unknown", body=padded(100))
        assert answer.status_code == 401
        assert answer.headers["connection"] == "close"
        healthy = await h.client.get("/healthz")
        assert "connection" not in healthy.headers


def test_the_limit_comes_from_the_environment() -> None:
    assert max_body_bytes_from_env({}) == MAX_BODY_BYTES == 4 * 1024 * 1024
    assert max_body_bytes_from_env({"EVROAM_MAX_BODY_BYTES": " 1000 "}) == 1000
    for bad in ("lots", "0", "-5", "1.5"):
        with pytest.raises(ValueError, match="EVROAM_MAX_BODY_BYTES"):
            max_body_bytes_from_env({"EVROAM_MAX_BODY_BYTES": bad})
