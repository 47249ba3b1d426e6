"""Hostile bodies cost a bounded amount of work: deep nesting is refused as invalid JSON (400, never
500), the violations of a body are listed up to a cap and the rest counted without being walked,
the search for them has a time budget, and big bodies are decoded off the event loop."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

import msgspec
import pytest

from evroam.core import codec
from evroam.core.codec import MAX_DEPTH, check_depth, decode
from evroam.core.errors import MAX_VIOLATIONS, InvalidJson, ValidationFailed, Violation
from evroam.http import bodies
from evroam.http.server import module_path
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import InterfaceRole
from evroam.ocpi.transport import error_message
from evroam.ocpi.v2_2_1 import Location

from .locations_harness import CPO_TOKEN, VERSIONS, location_json, running


def nested(depth: int) -> bytes:
    return b'{"token": ' + b"[" * depth + b"]" * depth + b"}"


# -- nesting depth --------------------------------------------------------------------------------


def test_the_depth_limit_counts_arrays_and_objects_alike() -> None:
    check_depth(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    check_depth(b'{"a": ' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}")
    with pytest.raises(InvalidJson, match=f"deeper than {MAX_DEPTH}"):
        check_depth(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    with pytest.raises(InvalidJson):
        check_depth(b'{"a": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}")
    with pytest.raises(InvalidJson):
        check_depth(("[{" * 40 + "}]" * 40).encode())


def test_brackets_inside_strings_neither_count_nor_hide_depth() -> None:
    check_depth(b'{"a": "' + b"[" * 1000 + b'", "b": "\\"[[[["}')
    with pytest.raises(InvalidJson):
        check_depth(b'["' + b"]" * 1000 + b'", ' + b"[" * 100 + b"]" * 100 + b"]")


def test_deep_json_into_a_model_is_invalid_json_not_a_recursion_error() -> None:
    with pytest.raises(InvalidJson):
        decode(nested(1000), Location)
    with pytest.raises(InvalidJson):
        decode(nested(5000), Any)


def _placeholders(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", lambda m: "BEC" if m.group(0) == "{party_id}" else "BE", path)


async def test_every_route_with_a_body_answers_deep_json_with_400_not_500() -> None:
    answered: dict[str, int] = {}
    async with running() as harness:
        for version in VERSIONS:
            spec = spec_for(version)
            for module in spec.modules.values():
                for interface in InterfaceRole:
                    for endpoint in module.endpoints(interface):
                        if endpoint.request is None:
                            continue
                        base = module_path(spec, module, interface).removeprefix(f"/ocpi/{version}/")
                        path = base + ("/" + _placeholders(endpoint.path) if endpoint.path else "")
                        answer = await harness.call(
                            endpoint.method, path, token=CPO_TOKEN, version=version, body=nested(1000)
                        )
                        if answer.status_code == 404 and answer.json()["status_message"].startswith(
                            "no OCPI endpoint"
                        ):
                            continue  # not bound on this node
                        assert (answer.status_code, answer.json()["status_code"]) == (400, 2000), (
                            endpoint.method,
                            path,
                            answer.text,
                        )
                        assert "nested deeper than" in answer.json()["status_message"]
                        answered[f"{endpoint.method} {version}/{path}"] = answer.status_code
    assert "POST 2.2.1/credentials" in answered
    assert "PUT 2.2.1/receiver/locations/BE/BEC/BE" in answered
    assert len(answered) >= 20, len(answered)


# -- many violations ------------------------------------------------------------------------------


def _bad_evses(count: int) -> bytes:
    body = location_json("LOC1")
    body["evses"] = [{"uid": 12, "status": "NOPE", "connectors": "x", "last_updated": "no"}] * count
    return msgspec.json.encode(body)


def test_violations_are_capped_and_the_rest_counted() -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode(_bad_evses(2000), Location)
    error = caught.value
    assert len(error.violations) == MAX_VIOLATIONS
    assert error.violations[0].path == "$.evses[0].uid"
    # each EVSE has four problems: 13 EVSEs were walked, the 1987 others were counted, one each
    assert error.omitted >= 1987
    message = error_message(error)
    assert message.endswith(f"and {error.omitted} more not listed")
    assert len(message) < 8000


def test_the_work_past_the_cap_is_one_check_per_invalid_value(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = codec._check

    def counting(raw: Any, tp: Any) -> msgspec.ValidationError | None:
        nonlocal calls
        calls += 1
        return real(raw, tp)

    monkeypatch.setattr(codec, "_check", counting)
    with pytest.raises(ValidationFailed):
        decode(_bad_evses(2000), Location)
    # walking every EVSE's fields would take about five checks per EVSE (over 10,000)
    assert calls < 2000 + 200


def test_the_search_for_violations_stops_at_its_time_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "VALIDATION_BUDGET", -1.0)
    with pytest.raises(ValidationFailed) as caught:
        decode(_bad_evses(2000), Location)
    # nothing walked: msgspec's own first finding, and the rest counted as not looked at
    assert len(caught.value.violations) == 1 and caught.value.omitted == 1


def test_every_source_of_violations_is_capped() -> None:
    error = ValidationFailed([Violation(f"$[{i}].id", "is given twice") for i in range(16000)])
    assert len(error.violations) == MAX_VIOLATIONS and error.omitted == 16000 - MAX_VIOLATIONS
    assert error.message.endswith(f"and {16000 - MAX_VIOLATIONS} more not listed")
    assert len(ValidationFailed([Violation("$", "one")]).violations) == 1


async def test_a_put_with_thousands_of_invalid_evses_gets_a_short_2001() -> None:
    async with running() as harness:
        answer = await harness.call(
            "PUT", "receiver/locations/BE/BEC/LOC1", token=CPO_TOKEN, body=_bad_evses(16000)
        )
    assert (answer.status_code, answer.json()["status_code"]) == (400, 2001)
    assert len(answer.content) < 8000
    assert "$.evses[0].uid" in answer.json()["status_message"]
    assert re.search(r"and \d{5} more not listed$", answer.json()["status_message"])


# -- big bodies off the event loop ----------------------------------------------------------------


async def test_big_bodies_are_decoded_in_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []

    def recording(raw: bytes, tp: Any) -> Any:
        threads.append(threading.get_ident())
        return codec.decode(raw, tp)

    monkeypatch.setattr(bodies, "decode", recording)
    small = b'["' + b"x" * 100 + b'"]'
    big = b'["' + b"x" * (bodies.OFFLOAD_BYTES + 1) + b'"]'
    assert await bodies.decode_body(small, list[str]) == ["x" * 100]
    assert await bodies.decode_body(big, list[str]) == ["x" * (bodies.OFFLOAD_BYTES + 1)]
    loop_thread = threading.get_ident()
    assert threads[0] == loop_thread and threads[1] != loop_thread
    with pytest.raises(ValidationFailed):
        await bodies.decode_body(big, list[int])
    await asyncio.sleep(0)
