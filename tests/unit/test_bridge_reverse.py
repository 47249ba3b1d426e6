"""The gateway's other direction on its own (:mod:`evroam.bridge.reverse`): OCPI CPO locations republished
under our OperatorID, and OICP remote starts carried to the CPO as START_SESSION (a fake commands sender
stands for the CPO: it records the commands and settles them as told)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import msgspec

from evroam import model as m
from evroam.bridge.reverse import (
    GatewayPort,
    OcpiRemoteChargePoint,
    load_source,
    mirror_ocpi,
    reverse_evse_id,
)
from evroam.chargepoint.port import Answer, StartRequest, StopRequest
from evroam.modules.locations.repository import load_location_record, save_location
from evroam.modules.tariffs.repository import load_tariff_record, save_tariff
from evroam.testing import FixedClock, MemoryStore
from tests.unit.push_support import T0, cpo_partner, location, register, tariff

PARTY = ("DE", "GWY")


def test_evse_ids_go_under_our_operator_id() -> None:
    assert reverse_evse_id("DE*GWY", "NL*CPO*E1") == "DE*GWY*ENLCPOE1"
    assert reverse_evse_id("DE*GWY", "BECPO", "EVSE-1") == "DE*GWY*EBECPOEVSE1"
    long = reverse_evse_id("DE*GWY", "X" * 40)
    assert long.startswith("DE*GWY*E") and len(long) == len("DE*GWY*E") + 30
    assert long != reverse_evse_id("DE*GWY", "X" * 41)


async def _store_with_cpo_data() -> tuple[MemoryStore, FixedClock]:
    store, clock = MemoryStore(), FixedClock()
    await store.migrate()
    partner = cpo_partner(clock)  # BE*CPO
    await register(store, clock, partner)
    at = clock.now()
    loc = location("LOC1", at, owner=("BE", "CPO"))
    evses = tuple(
        msgspec.structs.replace(
            e,
            evse_id=f"BE*CPO*E{i}",
            connectors=tuple(msgspec.structs.replace(c, tariff_ids=("T1",)) for c in e.connectors),
        )
        for i, e in enumerate(loc.evses or (), start=1)
    )
    await save_location(
        store, msgspec.structs.replace(loc, evses=evses), partner_id=partner.id, check_stale=False
    )
    await save_tariff(store, tariff("T1", at, owner=("BE", "CPO")), partner_id=partner.id, check_stale=False)
    return store, clock


async def test_mirror_ocpi_republishes_under_our_party_and_operator_id() -> None:
    store, clock = await _store_with_cpo_data()
    report = await mirror_ocpi(store, clock, PARTY, "DE*GWY")
    assert report.locations_put == ["BECPO-LOC1"] and report.tariffs_put == ["BECPO-T1"]
    record = await load_location_record(store, "DE", "GWY", "BECPO-LOC1")
    assert record is not None and record.partner_id is None
    evses = record.location.evses or ()
    assert [(str(e.uid), str(e.evse_id)) for e in evses] == [
        ("BECPO-E1", "DE*GWY*EBECPOE1"),
        ("BECPO-E2", "DE*GWY*EBECPOE2"),
    ]
    assert evses[0].connectors[0].tariff_ids == ("BECPO-T1",)
    held = await load_tariff_record(store, "DE", "GWY", "BECPO-T1")
    assert held is not None and held.partner_id is None
    source = await load_source(store, "BECPO-LOC1")
    assert source is not None
    assert (source.partner_name, source.country_code, source.party_id, source.source_location_id) == (
        "cpo",
        "BE",
        "CPO",
        "LOC1",
    )
    assert source.evses == {"BECPO-E1": "E1", "BECPO-E2": "E2"}
    clock.advance(timedelta(minutes=1))
    again = await mirror_ocpi(store, clock, PARTY, "DE*GWY")
    assert (again.locations_put, again.tariffs_put, again.unchanged) == ([], [], 1)


class Sender:
    """The commands sender as the reverse port uses it: commands recorded, settled with ``result``."""

    def __init__(self, result: str | None) -> None:
        self.result = result
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def start_session(self, partner: str, **kwargs: Any) -> Any:
        self.sent.append((partner, kwargs))
        return SimpleNamespace(id=f"cmd-{len(self.sent)}")

    async def stop_session(self, partner: str, **kwargs: Any) -> Any:
        self.sent.append((partner, kwargs))
        return SimpleNamespace(id=f"cmd-{len(self.sent)}")

    async def wait(self, command_id: str) -> Any:
        result = None if self.result is None else SimpleNamespace(result=SimpleNamespace(value=self.result))
        return SimpleNamespace(result=result, response=None)


def driver() -> m.Token:
    return m.Token(
        country_code="DE",
        party_id="XYZ",
        uid="DE-XYZ-C12345678-9",
        type="APP_USER",
        contract_id="DE-XYZ-C12345678-9",
        issuer="DE-XYZ",
        valid=True,
        whitelist=m.WhitelistType.NEVER,
        last_updated=T0,
    )


def remote_start(evse: str = "BECPO-E1") -> StartRequest:
    return StartRequest(
        location_id="BECPO-LOC1",
        evse_uid=evse,
        connector_id=None,
        token=driver(),
        authorization_reference="b2f0c3d4-0000-4000-8000-0000000000aa",
    )


async def test_a_remote_start_is_a_start_session_at_the_source_cpo() -> None:
    store, clock = await _store_with_cpo_data()
    await mirror_ocpi(store, clock, PARTY, "DE*GWY")
    port = OcpiRemoteChargePoint(store, clock, PARTY)
    sender = Sender("ACCEPTED")
    port.sender = sender  # type: ignore[assignment]
    assert await port.start(remote_start()) is Answer.ACCEPTED
    ((partner, sent),) = sender.sent
    assert partner == "cpo"
    assert (sent["location_id"], sent["evse_uid"], sent["to"]) == ("LOC1", "E1", "BE*CPO")
    assert sent["authorization_reference"] == "b2f0c3d4-0000-4000-8000-0000000000aa"  # Hubject's SessionID
    # the command carries a token of our eMSP party with the driver's contract ID
    token = await port.own_token(sent["token_uid"])
    assert token is not None
    assert (token.country_code, token.party_id, token.contract_id) == ("DE", "GWY", "DE-XYZ-C12345678-9")
    # nothing to stop before the CPO reports its session
    assert (
        await port.stop(StopRequest(transaction_id="b2f0c3d4-0000-4000-8000-0000000000aa")) is Answer.UNKNOWN
    )


async def test_the_cpo_result_is_the_answer_and_an_unknown_evse_never_leaves() -> None:
    store, clock = await _store_with_cpo_data()
    await mirror_ocpi(store, clock, PARTY, "DE*GWY")
    port = OcpiRemoteChargePoint(store, clock, PARTY)
    for result, answer in (
        ("EVSE_OCCUPIED", Answer.OCCUPIED),
        ("REJECTED", Answer.REJECTED),
        (None, Answer.FAILED),
    ):
        sender = Sender(result)
        port.sender = sender  # type: ignore[assignment]
        assert await port.start(remote_start()) is answer
    sender = Sender("ACCEPTED")
    port.sender = sender  # type: ignore[assignment]
    assert await port.start(remote_start(evse="BECPO-E9")) is Answer.UNKNOWN
    assert sender.sent == []


class Side:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[str] = []

    def subscribe(self, listener: Any) -> None:
        self.calls.append("subscribe")

    async def start(self, request: StartRequest) -> Answer:
        self.calls.append(f"start {request.location_id}")
        return Answer.ACCEPTED

    def transaction(self, transaction_id: str) -> Any:
        return None


async def test_the_gateway_port_sends_each_location_to_its_side() -> None:
    store, clock = await _store_with_cpo_data()
    await mirror_ocpi(store, clock, PARTY, "DE*GWY")
    oicp = Side("oicp")
    ocpi = OcpiRemoteChargePoint(store, clock, PARTY)
    sender = Sender("ACCEPTED")
    ocpi.sender = sender  # type: ignore[assignment]
    port = GatewayPort(oicp, ocpi)
    assert await port.start(remote_start()) is Answer.ACCEPTED  # an OCPI CPO's location
    assert len(sender.sent) == 1 and oicp.calls == []
    other = msgspec.structs.replace(remote_start(), location_id="DEABC-STATION-1")
    assert await port.start(other) is Answer.ACCEPTED  # anything else: the hub's chargers
    assert oicp.calls == ["start DEABC-STATION-1"] and len(sender.sent) == 1
