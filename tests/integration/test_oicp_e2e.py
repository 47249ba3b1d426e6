"""OICP end to end over real sockets with mutual TLS: an evroam CPO <-> the test hub <-> an evroam EMP.

Every party listens on 127.0.0.1 (ephemeral ports) with its own certificate from one test CA, and
checks the other side's. The CPO is a node with simulated chargers; its EVSE, session and CDR changes
reach the hub through the node's outbox (the oicp relay) and its push worker. Every message of the run
is checked by the hub against Hubject's OpenAPI files, and the test ends by asserting that none failed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from evroam import model as cm
from evroam.chargepoint.sink import OcpiSink
from evroam.core.clock import SequentialIds
from evroam.core.types import DateTime
from evroam.http.oicp import OicpClient, OicpError, dispatcher, start_server
from evroam.modules.cdrs import CDRS
from evroam.modules.locations import LOCATIONS
from evroam.modules.locations.service import LocationAdmin
from evroam.modules.oicp import (
    HUB_PARTNER_ID,
    Connection,
    CpoEndpoint,
    EmpService,
    push_all_evse_data,
    push_pricing,
)
from evroam.modules.oicp.hub import HubClients
from evroam.modules.oicp.kit import PUSHER
from evroam.modules.oicp.records import list_emp_cdrs, load_session, save_connection
from evroam.modules.tariffs.service import TariffAdmin
from evroam.modules.tokens import ImportedToken
from evroam.modules.tokens.service import TokenAdmin
from evroam.node.charging import StoredCatalogue, records_for
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import Node, build_node
from evroam.oicp import codec
from evroam.oicp import messages as m
from evroam.oicp.operations import by_name
from evroam.oicp.tls import TlsFiles, server_context
from evroam.registration.directory import RegisteredPartners
from evroam.sim import SimOptions, Simulator
from evroam.store.port import OutboxStatus
from evroam.testing import ManualTime, MemoryStore
from evroam.testing.oicp_hub import OicpTestHub
from tests.conftest import shared_path
from tests.support.oicp_certs import Certificates

T0 = "2026-03-02T09:00:00Z"
CPO_ID, EMP_ID = "DE*ABC", "DE-XYZ"
RFID_UID = "AABBCCDD"
CONTRACT = "DE-XYZ-C12345678-9"
E1, E2 = "DE*ABC*E1", "DE*ABC*E2"
# the tariff of both EVSEs: 0.30 EUR per kWh plus a 1.00 EUR start fee (net)
ENERGY_PRICE, START_FEE = Decimal("0.30"), Decimal("1.00")


def _node(tmp: Path, name: str, role: str, cc: str, pid: str, clock: ManualTime) -> Node:
    config = NodeConfig(
        url=f"http://{name}.test", parties=[PartyConfig(country_code=cc, party_id=pid, role=role, name=name)]
    )
    return build_node(
        Settings(data_dir=tmp / name),
        config=config,
        store=MemoryStore(),
        clock=clock,
        ids=SequentialIds(name),
    )


def _location(at: DateTime) -> cm.Location:
    def connector() -> cm.Connector:
        return cm.Connector(
            id="1",
            standard="IEC_62196_T2",
            format=cm.ConnectorFormat.SOCKET,
            power_type=cm.PowerType.AC_3_PHASE,
            max_voltage=230,
            max_amperage=16,
            max_electric_power=11000,
            tariff_ids=("AC3",),
            last_updated=at,
        )

    return cm.Location(
        country_code="DE",
        party_id="ABC",
        id="LOC1",
        address="Hauptstrasse 5",
        city="Berlin",
        country="DEU",
        postal_code="10115",
        coordinates=cm.GeoLocation(latitude="52.52", longitude="13.405"),
        last_updated=at,
        name="Hauptstrasse",
        time_zone="Europe/Berlin",
        evses=tuple(
            cm.EVSE(
                uid=uid,
                evse_id=eid,
                status=cm.Status.AVAILABLE,
                connectors=(connector(),),
                last_updated=at,
                capabilities=("RFID_READER", "REMOTE_START_STOP_CAPABLE", "RESERVABLE"),
            )
            for uid, eid in (("E1", E1), ("E2", E2))
        ),
    )


def _tariff(at: DateTime) -> cm.Tariff:
    return cm.Tariff(
        country_code="DE",
        party_id="ABC",
        id="AC3",
        currency="EUR",
        last_updated=at,
        elements=(
            cm.TariffElement(
                price_components=(
                    cm.PriceComponent(type=cm.TariffDimensionType.ENERGY, price=ENERGY_PRICE, step_size=1),
                    cm.PriceComponent(type=cm.TariffDimensionType.FLAT, price=START_FEE, step_size=1),
                )
            ),
        ),
    )


def _token(uid: str, kind: str, at: DateTime, contract: str) -> cm.Token:
    return cm.Token(
        country_code="DE",
        party_id="XYZ",
        uid=uid,
        type=kind,
        contract_id=contract,
        issuer="XYZ",
        valid=True,
        whitelist=cm.WhitelistType.NEVER,
        last_updated=at,
    )


@dataclass
class World:
    hub: OicpTestHub
    certs: Certificates
    time: ManualTime
    cpo: Node
    emp: Node
    sim: Simulator
    endpoint: CpoEndpoint
    service: EmpService
    admin: LocationAdmin
    clients: HubClients

    async def deliver(self) -> None:
        """The CPO's push worker delivers what is due."""
        await self.time.settle()
        await self.cpo.push_worker().drain()

    def pushed_statuses(self, since: int = 0) -> list[tuple[str, str]]:
        out = []
        for x in self.hub.traffic[since:]:
            if (
                x.operation == "eRoamingPushEvseStatus"
                and x.direction == "in"
                and x.request["ActionType"] == "update"
            ):
                out += [
                    (r["EvseID"], r["EvseStatus"])
                    for r in x.request["OperatorEvseStatus"]["EvseStatusRecord"]
                ]
        return out


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    certs = Certificates(tmp_path / "pki")
    time = ManualTime(T0)
    hub = OicpTestHub(openapi=shared_path("spec", "oicp", "openapi"), tls=certs.issue("hub"), clock=time)
    await hub.start()
    cpo_tls, emp_tls = certs.issue(CPO_ID), certs.issue(EMP_ID)

    cpo = _node(tmp_path, "cpo", "CPO", "DE", "ABC", time)
    emp = _node(tmp_path, "emp", "EMSP", "DE", "XYZ", time)
    for node in (cpo, emp):
        await node.start()
    at = time.now()
    await save_connection(
        cpo.store,
        Connection(
            role="CPO",
            hub_url=hub.url + "/api/oicp",
            id=CPO_ID,
            name="ABC Charging",
            cert=cpo_tls.cert,
            key=cpo_tls.key,
            ca=cpo_tls.ca,
            hotline="+4930123456",
        ),
        at,
    )
    await save_connection(
        emp.store,
        Connection(
            role="EMP",
            hub_url=hub.url,
            id=EMP_ID,
            name="XYZ Mobility",
            cert=emp_tls.cert,
            key=emp_tls.key,
            ca=emp_tls.ca,
        ),
        at,
    )
    parties = [("DE", "ABC")]
    admin = LocationAdmin(cpo.store, cpo.clock, RegisteredPartners(), parties)
    await TariffAdmin(cpo.store, cpo.clock, RegisteredPartners(), parties).import_tariffs([_tariff(at)])
    await admin.import_locations([_location(at)])
    await TokenAdmin(emp.store, emp.clock, RegisteredPartners(), [("DE", "XYZ")]).import_tokens(
        [
            ImportedToken(token=_token(RFID_UID, "RFID", at, "DE-XYZ-C87654321-1")),
            ImportedToken(token=_token("APP1", "APP_USER", at, CONTRACT)),
        ]
    )

    sim = Simulator(
        (), time=time, ids=SequentialIds("tx"), options=SimOptions(plug_delay=30, meter_interval=300)
    )
    sim.subscribe(
        OcpiSink(StoredCatalogue(cpo.store, parties), statuses=admin, records=records_for(cpo, cpo.clock))
    )
    cpo.charge_point = sim
    sim.add_locations(await admin.list_locations())
    await sim.power_on()

    clients = HubClients()
    endpoint = CpoEndpoint(cpo.store, sim, time, clients)
    service = EmpService(emp.store, time, clients)
    cpo_server = await start_server(dispatcher(endpoint.handlers()), "127.0.0.1", 0, server_context(cpo_tls))
    emp_server = await start_server(dispatcher(service.handlers()), "127.0.0.1", 0, server_context(emp_tls))
    hub.register("CPO", CPO_ID, f"https://127.0.0.1:{cpo_server.sockets[0].getsockname()[1]}")
    # the EMP tells the hub its URL itself, over mutual TLS (what Hubject's portal is for)
    import httpx

    from evroam.oicp.tls import client_context

    async with httpx.AsyncClient(verify=client_context(emp_tls)) as http:
        answer = await http.post(
            hub.url + "/hub/partners",
            json={
                "Role": "EMP",
                "ID": EMP_ID,
                "URL": f"https://127.0.0.1:{emp_server.sockets[0].getsockname()[1]}",
            },
        )
        assert answer.status_code == 200
        refused = await http.post(
            hub.url + "/hub/partners", json={"Role": "EMP", "ID": "DE-OTH", "URL": "https://x"}
        )
        assert refused.status_code == 403  # an ID not in the certificate
    try:
        yield World(hub, certs, time, cpo, emp, sim, endpoint, service, admin, clients)
    finally:
        for server in (cpo_server, emp_server):
            server.close()
        await sim.close()
        await clients.aclose()
        await hub.close()
        await cpo.push_worker().stop()
        await PUSHER.clients.aclose()  # what the node's app does when it stops (the kit's on_shutdown)
        for node in (cpo, emp):
            await node.close()


async def test_cpo_hub_emp(world: World) -> None:
    w = world
    # -- a full EVSE data load, then the EMP pulls it ---------------------------------------------------
    cpo_conn = await _connection(w.cpo, "CPO")
    notes = await push_all_evse_data(w.cpo.store, cpo_conn, w.clients, w.time.now())
    assert notes == []
    await w.deliver()  # what the import queued for the hub: the same EVSEs again, as updates
    records = await w.service.pull_evse_data(full=True, size=1)  # one record per page: two pages
    assert sorted(r.EvseID for r in records) == [E1, E2]
    assert [x.answer["number"] for x in w.hub.traffic if x.operation == "eRoamingPullEvseData"] == [0, 1]
    assert await w.service.pull_evse_status() == [(E1, m.EvseStatus.AVAILABLE), (E2, m.EvseStatus.AVAILABLE)]
    received = [loc async for loc in LOCATIONS.lookups.iter_locations(w.emp.store, partners=[HUB_PARTNER_ID])]
    assert [(str(e.evse_id), e.status) for e in received[0].evses or ()] == [
        (E1, cm.Status.AVAILABLE),
        (E2, cm.Status.AVAILABLE),
    ]

    # -- status changes arrive at the EMP in order ---------------------------------------------------
    mark = len(w.hub.traffic)
    seen = []
    for uid, status in (
        ("E2", cm.Status.OUTOFORDER),
        ("E2", cm.Status.AVAILABLE),
        ("E1", cm.Status.RESERVED),
        ("E1", cm.Status.AVAILABLE),
    ):
        await w.admin.set_status(uid, status)
        await w.deliver()
        seen += await w.service.pull_evse_status(evse_ids=[f"DE*ABC*{uid}"])
    expected = [(E2, "OutOfService"), (E2, "Available"), (E1, "Reserved"), (E1, "Available")]
    assert w.pushed_statuses(mark) == expected
    assert [(e, s.value) for e, s in seen] == expected
    since_delta = await _state_last_pull(w)
    await w.time.advance(1)
    delta = await w.service.pull_evse_data()  # LastCall: only what changed since the full pull
    assert {r.EvseID for r in delta} <= {E1, E2} and all(r.deltaType is m.DeltaType.UPDATE for r in delta)
    assert since_delta is not None

    # -- an RFID card at the CPO's charger, answered by the EMP through the hub ----------------------
    unknown, started = await w.endpoint.swipe(E2, "0102030405060708090A")
    assert (unknown.AuthorizationStatus, unknown.StatusCode.Code, started) == (
        m.AuthorizationStatus.NOT_AUTHORIZED,
        "102",
        None,
    )
    answer, started = await w.endpoint.swipe(E2, RFID_UID)
    assert answer.AuthorizationStatus is m.AuthorizationStatus.AUTHORIZED and answer.ProviderID == EMP_ID
    assert started is not None and started.value == "ACCEPTED"
    emp_side = [x for x in w.hub.traffic if x.direction == "out" and x.operation == "eRoamingAuthorizeStart"]
    assert emp_side[-1].partner == EMP_ID and emp_side[-1].answer["AuthorizationStatus"] == "Authorized"
    await w.time.advance(30)  # the driver plugs in
    (swiped,) = w.sim.transactions
    assert swiped.authorization_reference == answer.SessionID
    await w.time.advance(120)
    await w.sim.stop_local(swiped.transaction_id)
    await w.time.advance(61)
    await w.deliver()

    # -- remote start from the EMP: a session at the simulator, notifications, remote stop, the CDR ---
    assert await push_pricing(w.cpo.store, cpo_conn, w.clients) is None
    await w.service.pull_pricing([CPO_ID])
    ack = await w.service.remote_start(E1, CONTRACT)
    assert ack.Result is True and ack.StatusCode.Code == "000" and ack.SessionID is not None
    sid = ack.SessionID
    await w.time.advance(30)
    (running,) = w.sim.transactions
    assert (running.evse_uid, running.authorization_reference, str(running.token.contract_id)) == (
        "E1",
        sid,
        CONTRACT,
    )
    await w.deliver()
    for _ in range(3):  # three meter readings, five minutes apart
        await w.time.advance(300)
        await w.deliver()
    stop = await w.service.remote_stop(sid)
    assert stop.Result is True
    assert w.sim.transactions == []
    await w.time.advance(61)
    await w.deliver()
    emp_session = await load_session(w.emp.store, "EMP", sid)
    assert emp_session is not None
    assert emp_session.notifications[0] == "Start" and emp_session.notifications[-1] == "End"
    assert "Progress" in emp_session.notifications
    kept = {c.session_id: c for c in await list_emp_cdrs(w.emp.store)}
    assert set(kept) == {answer.SessionID, sid}
    cdr = codec.decode(kept[sid].cdr, m.ChargeDetailRecord)
    cpo_cdr = await _cpo_cdr(w, sid)
    assert cdr.ConsumedEnergy == cpo_cdr.total_energy.quantize(Decimal("0.001")) and cdr.ConsumedEnergy > 0
    # the EMP priced it with the tariff engine from the CPO's pricing product: by hand, 1.00 + 0.30/kWh
    by_hand = (START_FEE + ENERGY_PRICE * cdr.ConsumedEnergy).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert (kept[sid].price_excl_vat, kept[sid].currency, kept[sid].product_id) == (by_hand, "EUR", "AC3")
    assert kept[sid].source == "push"

    # -- the EMP gets its CDRs page by page (one per page); nothing is kept twice ---------------------
    mark = len(w.hub.traffic)
    new = await w.service.get_cdrs(
        w.time.now() - timedelta(days=1), w.time.now() + timedelta(minutes=1), size=1
    )
    assert new == []  # both came pushed already
    pages = [x.answer for x in w.hub.traffic[mark:] if x.operation == "eRoamingGetChargeDetailRecords"]
    assert [(p["number"], p["totalElements"], p["last"]) for p in pages] == [(0, 2, False), (1, 2, True)]
    assert {p["content"][0]["SessionID"] for p in pages} == {answer.SessionID, sid}

    # -- a reservation from the EMP, cancelled ---------------------------------------------------------
    reserved = await w.service.reserve(E2, CONTRACT, minutes=20)
    assert reserved.Result is True and reserved.SessionID is not None
    assert w.sim.status("E2") is cm.Status.RESERVED
    cancelled = await w.service.cancel_reservation(reserved.SessionID)
    assert cancelled.Result is True and w.sim.status("E2") is cm.Status.AVAILABLE
    assert (await w.service.pull_evse_status(operator_ids=[CPO_ID]))[0][0] == E1

    # -- an offline EMP's authentication data: the hub authorizes the card without asking the EMP ------
    assert await w.service.push_authentication_data() == (2, None)
    asked = len(
        [x for x in w.hub.traffic if x.direction == "out" and x.operation == "eRoamingAuthorizeStart"]
    )
    offline, _ = await w.endpoint.swipe(E2, RFID_UID)
    assert offline.AuthorizationStatus is m.AuthorizationStatus.AUTHORIZED and offline.ProviderID == EMP_ID
    assert (
        len([x for x in w.hub.traffic if x.direction == "out" and x.operation == "eRoamingAuthorizeStart"])
        == asked
    )

    # -- a client without a valid certificate is refused ---------------------------------------------
    import ssl

    bare = ssl.create_default_context(cafile=w.certs.ca_path)
    stranger = Certificates(w.certs.folder.parent / "stranger").issue(CPO_ID)
    for tls in (bare, TlsFiles(cert=stranger.cert, key=stranger.key, ca=str(w.certs.ca_path))):
        async with OicpClient(w.hub.url, tls) as client:
            with pytest.raises(OicpError):
                await client.call(
                    by_name("eRoamingPullEvseStatus"), EMP_ID, m.PullEvseStatus(ProviderID=EMP_ID)
                )
    # a valid certificate of another party cannot use our ID (017)
    async with OicpClient(w.hub.url, w.certs.issue("DE-OTH")) as client:
        other = await client.call(
            by_name("eRoamingPullEvseStatus"), EMP_ID, m.PullEvseStatus(ProviderID=EMP_ID)
        )
        assert other.StatusCode is not None and other.StatusCode.Code == "017"

    # -- every message of the run passed the hub's OpenAPI check -------------------------------------
    used = {x.operation for x in w.hub.traffic}
    assert {
        "eRoamingPushEvseData",
        "eRoamingPushEvseStatus",
        "eRoamingPullEvseData",
        "eRoamingPullEvseStatus",
        "eRoamingPullEvseStatusByID",
        "eRoamingAuthorizeStart",
        "eRoamingAuthorizeRemoteStart",
        "eRoamingAuthorizeRemoteStop",
        "eRoamingChargingNotifications",
        "eRoamingChargeDetailRecord",
        "eRoamingGetChargeDetailRecords",
        "eRoamingPushPricingProductData",
        "eRoamingPushEVSEPricing",
        "eRoamingPullPricingProductData",
        "eRoamingPullEVSEPricing",
    } <= used
    assert w.hub.invalid == []
    assert await w.cpo.store.outbox_list(status=OutboxStatus.PARKED) == []


async def test_hub_down_then_back(world: World) -> None:
    """The hub is down for a while: the CPO's status pushes and its CDR wait in the outbox and reach the
    hub, in the order they happened, once it is back."""
    w = world
    cpo_conn = await _connection(w.cpo, "CPO")
    await push_all_evse_data(w.cpo.store, cpo_conn, w.clients, w.time.now())
    await w.deliver()
    ack = await w.service.remote_start(E1, CONTRACT)
    assert ack.Result and ack.SessionID
    sid = ack.SessionID
    await w.time.advance(30)
    await w.deliver()
    await w.time.advance(300)
    await w.deliver()

    await w.hub.stop()
    (running,) = w.sim.transactions
    await w.admin.set_status("E2", cm.Status.OUTOFORDER)
    await w.admin.set_status("E2", cm.Status.AVAILABLE)
    await w.sim.stop_local(
        running.transaction_id
    )  # the session ends and its CDR is made while the hub is down
    await w.time.advance(61)
    await w.admin.set_status("E2", cm.Status.INOPERATIVE)
    await w.deliver()
    waiting = await w.cpo.store.outbox_list(partner_id=HUB_PARTNER_ID, status=OutboxStatus.PENDING)
    modules = [json.loads(item.payload)["module"] for item in waiting]
    assert "cdrs" in modules and modules.count("locations") >= 3
    assert (await _state(w)).last_error is not None  # `evroam oicp status` shows why

    mark = len(w.hub.traffic)
    await w.hub.start()  # same port, same stored data
    await w.time.advance(3600)  # past the retry delay
    await w.deliver()
    assert await w.cpo.store.outbox_list(partner_id=HUB_PARTNER_ID, status=OutboxStatus.PENDING) == []
    e2 = [s for e, s in w.pushed_statuses(mark) if e == E2]
    assert e2 == ["OutOfService", "Available", "OutOfService"]  # every change, in order
    after = [x for x in w.hub.traffic[mark:] if x.direction == "in"]
    ops = [x.operation for x in after]
    end = next(
        i
        for i, x in enumerate(after)
        if x.operation == "eRoamingChargingNotifications" and x.request["Type"] == "End"
    )
    cdr_at = ops.index("eRoamingChargeDetailRecord")
    last_e2 = max(
        i
        for i, x in enumerate(after)
        if x.operation == "eRoamingPushEvseStatus"
        and any(
            r["EvseID"] == E2 and r["EvseStatus"] == "OutOfService"
            for r in x.request["OperatorEvseStatus"]["EvseStatusRecord"]
        )
        and i > cdr_at
    )
    assert end < cdr_at < last_e2  # the session's end, then its CDR, then the change made after them
    assert after[cdr_at].answer["Result"] is True
    kept = {c.session_id for c in await list_emp_cdrs(w.emp.store)}
    assert sid in kept
    # delivered once: a second delivery attempt of the same CDR is not made
    assert ops.count("eRoamingChargeDetailRecord") == 1
    assert w.hub.invalid == []


async def _connection(node: Node, role: str) -> Connection:
    from evroam.modules.oicp.records import load_connection

    found = await load_connection(node.store, role)
    assert found is not None
    return found


async def _state(w: World) -> Any:
    from evroam.modules.oicp.records import load_state

    return await load_state(w.cpo.store, "CPO")


async def _state_last_pull(w: World) -> Any:
    from evroam.modules.oicp.records import load_state

    return (await load_state(w.emp.store, "EMP")).last_pull


async def _cpo_cdr(w: World, sid: str) -> cm.CDR:
    page = await w.cpo.store.find("cdr")
    for item in page.items:
        record = await CDRS.lookups.load_cdr_record(
            w.cpo.store, item.country_code, item.party_id, item.object_id
        )
        if record is not None and str(record.document.cdr.authorization_reference) == sid:
            return record.document.cdr
    raise AssertionError(f"no CPO CDR for {sid}")


async def test_error_notification_when_the_evse_faults(world: World) -> None:
    """A Hubject session stopped by a fault of the EVSE: an Error notification (CriticalError) reaches
    the EMP through the hub, then the session's End as usual; a remote stop sends no Error."""
    w = world
    cpo_conn = await _connection(w.cpo, "CPO")
    await push_all_evse_data(w.cpo.store, cpo_conn, w.clients, w.time.now())
    await w.deliver()
    ack = await w.service.remote_start(E1, CONTRACT)
    assert ack.Result and ack.SessionID
    sid = ack.SessionID
    await w.time.advance(30)
    await w.deliver()
    await w.sim.fault("E1")
    assert w.sim.transactions == []
    await w.time.advance(61)
    await w.deliver()

    notes = [
        x for x in w.hub.traffic if x.direction == "in" and x.operation == "eRoamingChargingNotifications"
    ]
    assert [x.request["Type"] for x in notes if x.request["SessionID"] == sid] == ["Start", "Error", "End"]
    (error,) = [x for x in notes if x.request["Type"] == "Error"]
    assert error.request["ErrorType"] == "CriticalError" and error.request["EvseID"] == E1
    assert error.errors == () and error.answer["Result"] is True
    emp_session = await load_session(w.emp.store, "EMP", sid)
    assert emp_session is not None and "Error" in emp_session.notifications

    # a session ended by a remote stop: no Error
    again = await w.service.remote_start(E2, CONTRACT)
    assert again.Result and again.SessionID
    await w.time.advance(30)
    await w.deliver()
    assert (await w.service.remote_stop(again.SessionID)).Result is True
    await w.time.advance(61)
    await w.deliver()
    types = [x.request["Type"] for x in w.hub.traffic
             if x.operation == "eRoamingChargingNotifications" and x.direction == "in"
             and x.request["SessionID"] == again.SessionID]  # fmt: skip
    assert types[0] == "Start" and types[-1] == "End" and "Error" not in types
    assert w.hub.invalid == []
