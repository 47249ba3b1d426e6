"""The OICP test hub on its own: OpenAPI checks, the ID-to-certificate binding, paging and deltas."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from evroam.core.clock import FixedClock
from evroam.http.oicp import OicpClient
from evroam.oicp import codec
from evroam.oicp import messages as m
from evroam.oicp.convert import evse_records
from evroam.oicp.operations import by_name
from evroam.testing.oicp_hub import OicpTestHub
from tests.conftest import shared_path
from tests.support.oicp_certs import Certificates
from tests.unit.test_oicp_convert import PROFILE, _location

PUSH = by_name("eRoamingPushEvseData")
PULL = by_name("eRoamingPullEvseData")


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[OicpTestHub, Certificates, FixedClock]]:
    certs = Certificates(tmp_path / "pki")
    clock = FixedClock("2026-03-02T10:00:00Z")
    hub = OicpTestHub(openapi=shared_path("spec", "oicp", "openapi"), tls=certs.issue("hub"), clock=clock)
    await hub.start()
    yield hub, certs, clock
    await hub.close()


def _push(action: m.ActionType, records: list[m.EvseDataRecord]) -> m.PushEvseData:
    return m.PushEvseData(ActionType=action, OperatorEvseData=m.OperatorEvseData(
        OperatorID="DE*ABC", OperatorName="ABC", EvseDataRecord=records))  # fmt: skip


async def test_push_pull_with_deltas_and_pages(setup: Any) -> None:
    hub, certs, clock = setup
    records, _ = evse_records([_location()], PROFILE, clock.now())
    second = m.EvseDataRecord(
        **{**{f: getattr(records[0], f) for f in records[0].__struct_fields__}, "EvseID": "DE*ABC*E9"}
    )
    async with (
        OicpClient(hub.url, certs.issue("DE*ABC")) as cpo,
        OicpClient(hub.url, certs.issue("DE-XYZ")) as emp,
    ):
        ack = await cpo.call(PUSH, "DE*ABC", _push(m.ActionType.FULL_LOAD, [records[0], second]))
        assert ack.Result is True
        again = await cpo.call(PUSH, "DE*ABC", _push(m.ActionType.INSERT, [records[0]]))
        assert (again.Result, again.StatusCode.Code) == (False, "022")  # insert of an existing record
        pull = m.PullEvseData(
            ProviderID="DE-XYZ", GeoCoordinatesResponseFormat=m.GeoCoordinatesResponseFormat.DECIMAL_DEGREE
        )
        first = await emp.call(PULL, "DE-XYZ", pull, page=0, size=1)
        assert (first.totalElements, first.totalPages, first.last, len(first.content)) == (2, 2, False, 1)
        assert first.content[0].OperatorID == "DE*ABC"
        last = await emp.call(PULL, "DE-XYZ", pull, page=1, size=1)
        assert last.last and last.content[0].EvseID == "DE*ABC*E9"
        since = clock.now()
        clock.advance(60)
        await cpo.call(PUSH, "DE*ABC", _push(m.ActionType.DELETE, [second]))
        delta = await emp.call(PULL, "DE-XYZ", m.PullEvseData(ProviderID="DE-XYZ", LastCall=since,
            GeoCoordinatesResponseFormat=m.GeoCoordinatesResponseFormat.DECIMAL_DEGREE))  # fmt: skip
        assert [(r.EvseID, r.deltaType) for r in delta.content] == [("DE*ABC*E9", m.DeltaType.DELETE)]
    assert hub.invalid == []


async def test_invalid_message_and_wrong_id(setup: Any) -> None:
    hub, certs, _ = setup
    async with OicpClient(hub.url, certs.issue("DE*ABC")) as cpo:
        body = {"ActionType": "update", "OperatorEvseStatus": {"OperatorID": "DE*ABC", "EvseStatusRecord": [
            {"EvseID": "DE*ABC*E1", "EvseStatus": "Busy"}]}}  # fmt: skip
        raw = await cpo.call_raw(by_name("eRoamingPushEvseStatus"), "DE*ABC", json.dumps(body).encode())
        answer = codec.decode(raw, m.Acknowledgement)
        assert (answer.Result, answer.StatusCode.Code) == (False, "022")
        assert len(hub.invalid) == 1 and "Busy" in hub.invalid[0].errors[0]
        # a CPO pushing under another operator's ID: 017
        foreign = m.PushEvseData(ActionType=m.ActionType.FULL_LOAD, OperatorEvseData=m.OperatorEvseData(
            OperatorID="DE*OTH", OperatorName="Other", EvseDataRecord=[]))  # fmt: skip
        refused = await cpo.call(PUSH, "DE*OTH", foreign)
        assert (refused.Result, refused.StatusCode.Code) == (False, "017")
        assert hub._status == {}
    # a time stamp without its offset fails the date-time format (rfc3339-validator is installed)
    async with OicpClient(hub.url, certs.issue("DE-XYZ")) as emp:
        body = {
            "ProviderID": "DE-XYZ",
            "GeoCoordinatesResponseFormat": "DecimalDegree",
            "LastCall": "2026-03-01T10:00:00",
        }
        raw = await emp.call_raw(PULL, "DE-XYZ", json.dumps(body).encode())
        assert json.loads(raw)["StatusCode"]["Code"] == "022"
        assert "date-time" in hub.invalid[-1].errors[0]
