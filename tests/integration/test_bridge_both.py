"""One CPO, both protocols, over real sockets: an OCPI eMSP and an OICP EMP (through the test hub, mutual
TLS) charge at the same site of one CPO whose chargers are simulated.

* the CPO is ``evroam simulate --oicp-port`` (a node process): OCPI partner of an eMSP node process,
  connected to the test hub (in this process) as ``DE*ABC``;
* the OCPI eMSP (``DE*MSP``) is ``evroam serve``, registered with the CPO, its locations pulled once;
* the OICP EMP (``DE-XYZ``) is ``evroam serve --oicp-port`` (its endpoints take the hub's CDRs and
  notifications), driven with ``evroam oicp ...``.

Both see the same EVSEs (same eMI3 ids, same statuses); a status change at the CPO reaches both (each
side's latency is printed and recorded as a test property, never asserted); the eMSP starts a session
with OCPI START_SESSION at E1, the EMP one with OICP AuthorizeRemoteStart at E2; each session's data and
CDR go out only in the protocol of the driver's provider; the two CDRs' totals are equal, and equal to
the amount worked out by hand below.

Deterministic charging at simulated speed: every simulated car brings a 60 kWh battery at 20 % and
charges until it is full (the simulator's car, ``CarProfile``), so each session delivers exactly
48 kWh whenever it is stopped after the battery is full. The tariff has no time component (energy plus a
start fee), so the two totals do not depend on the sessions' real-time durations, which differ by the
few hundred milliseconds between the two starts and the two stops.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from evroam.core.codec import decode
from evroam.model.locations import Location
from evroam.model.sessions import Session
from evroam.modules.cdrs.repository import CdrDocument
from evroam.modules.oicp import HUB_PARTNER_ID
from evroam.oicp.tls import TlsFiles
from evroam.testing.oicp_hub import OicpTestHub
from tests.conftest import shared_path
from tests.integration.nodes import NodeProcess, free_port, stop_all
from tests.integration.test_commands_e2e import SimulatedCpo
from tests.support.oicp_certs import Certificates

pytestmark = pytest.mark.slow

T = TypeVar("T")

T0 = "2026-03-02T09:00:00Z"
CPO_ID, EMP_ID = "DE*ABC", "DE-XYZ"
EVSE_IDS = {"E1": "DE*ABC*E1", "E2": "DE*ABC*E2", "E3": "DE*ABC*E3"}
OCPI_TOKEN, OCPI_CONTRACT = "APP-0001", "DE-MSP-C00001-1"
EVCO_ID = "DE-XYZ-C12345678-9"
PUSH_ENV = {
    "EVROAM_PUSH_POLL_INTERVAL": "0.05",
    "EVROAM_PUSH_BASE_DELAY": "0.2",
    "EVROAM_PUSH_MAX_DELAY": "1",
}

# -- the amount, by hand ---------------------------------------------------------------------------
# The tariff AC3: 0.30 EUR per kWh plus a 1.00 EUR start fee, excl. VAT.
# Each car: a 60 kWh battery from 20 % to full = 0.8 x 60 = 48 kWh.
# 1.00 + 48 x 0.30 = 1.00 + 14.40 = 15.40 EUR excl. VAT, for each of the two sessions.
KWH = Decimal("48.000")
TOTAL_EXCL_VAT = Decimal("15.40")

# OCPI status -> OICP EvseStatus, as the two sides must agree (written out here, not taken from the code)
SAME_STATUS = {"AVAILABLE": "Available", "CHARGING": "Occupied", "OUTOFORDER": "OutOfService"}


def _connector() -> dict[str, Any]:
    return {
        "id": "1",
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 230,
        "max_amperage": 16,
        "max_electric_power": 11000,
        "tariff_ids": ["AC3"],
        "last_updated": T0,
    }


def _location() -> dict[str, Any]:
    return {
        "country_code": "DE",
        "party_id": "ABC",
        "id": "LOC1",
        "publish": True,
        "name": "Hauptstrasse",
        "address": "Hauptstrasse 5",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DEU",
        "coordinates": {"latitude": "52.520000", "longitude": "13.405000"},
        "time_zone": "Europe/Berlin",
        "last_updated": T0,
        "evses": [
            {
                "uid": uid,
                "evse_id": evse_id,
                "status": "AVAILABLE",
                "capabilities": ["RFID_READER", "REMOTE_START_STOP_CAPABLE"],
                "connectors": [_connector()],
                "last_updated": T0,
            }
            for uid, evse_id in EVSE_IDS.items()
        ],
    }


def _tariff() -> dict[str, Any]:
    return {
        "country_code": "DE",
        "party_id": "ABC",
        "id": "AC3",
        "currency": "EUR",
        "elements": [
            {
                "price_components": [
                    {"type": "ENERGY", "price": 0.30, "step_size": 1},
                    {"type": "FLAT", "price": 1.00, "step_size": 1},
                ]
            }
        ],
        "last_updated": T0,
    }


def _token() -> dict[str, Any]:
    return {
        "country_code": "DE",
        "party_id": "MSP",
        "uid": OCPI_TOKEN,
        "type": "APP_USER",
        "contract_id": OCPI_CONTRACT,
        "issuer": "MSP Mobility",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": T0,
    }


def _write(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


# -- views of the nodes' databases -------------------------------------------------------------------


def _stored_location(payload: bytes) -> Location:
    location: Location = decode(payload, Location)
    return location


def received_evses(node: NodeProcess) -> dict[str, str]:
    """EvseID -> OCPI status of the EVSEs a node received (from its OCPI partner or from the hub)."""
    out: dict[str, str] = {}
    for payload, _, _ in node.documents("location", own=False):
        for evse in _stored_location(payload).evses or ():
            out[str(evse.evse_id)] = evse.status.value
    return out


def received_sites(node: NodeProcess) -> list[tuple[Any, ...]]:
    """What a driver is told of each received EVSE: the site's address and position, the plugs."""
    out = []
    for payload, _, _ in node.documents("location", own=False):
        loc = _stored_location(payload)
        site = (loc.name, loc.address, loc.city, loc.postal_code, loc.country, loc.coordinates)
        for evse in loc.evses or ():
            plugs = [
                (c.standard, c.format, c.power_type, c.max_voltage, c.max_amperage, c.max_electric_power)
                for c in evse.connectors
            ]
            out.append((str(evse.evse_id), *site, plugs, sorted(evse.capabilities or ())))
    return sorted(out)


def sessions(node: NodeProcess, *, own: bool) -> list[Session]:
    return [decode(p, Session) for p, _, _ in node.documents("session", own=own)]


def cdrs(node: NodeProcess, *, own: bool) -> list[CdrDocument]:
    return [decode(p, CdrDocument) for p, _, _ in node.documents("cdr", own=own)]


def outbox(node: NodeProcess) -> list[tuple[str, dict[str, Any]]]:
    """``(partner_id, change)`` of every outbox row the node ever wrote."""
    return [
        (pid, json.loads(bytes(p))) for pid, p in node.query("SELECT partner_id, payload FROM evroam_outbox")
    ]


# -- waiting without blocking the hub (it runs in this event loop) -----------------------------------


async def eventually(probe: Callable[[], T | None], *, within: float, what: str, interval: float = 0.05) -> T:
    deadline = time.monotonic() + within
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(interval)


async def cli(node: NodeProcess, *args: str) -> str:
    """``evroam ARGS`` on ``node`` in a thread (the hub in this loop must keep answering)."""
    done = await asyncio.to_thread(node.evroam, *args)
    return done.stdout


async def cli_json(node: NodeProcess, *args: str) -> Any:
    return json.loads(await cli(node, *args, "--json"))


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def hub_statuses(hub: OicpTestHub) -> list[tuple[str, str]]:
    """Every (EvseID, EvseStatus) the CPO pushed to the hub, in order."""
    out = []
    for x in hub.traffic:
        if x.direction == "in" and x.operation == "eRoamingPushEvseStatus":
            out += [
                (r["EvseID"], r["EvseStatus"]) for r in x.request["OperatorEvseStatus"]["EvseStatusRecord"]
            ]
    return out


def hub_requests(hub: OicpTestHub, operation: str, direction: str = "in") -> list[dict[str, Any]]:
    return [x.request for x in hub.traffic if x.operation == operation and x.direction == direction]


@pytest.fixture
def nodes() -> Iterator[list[NodeProcess]]:
    started: list[NodeProcess] = []
    try:
        yield started
    finally:
        stop_all(started)


async def test_one_cpo_an_ocpi_emsp_and_an_oicp_emp(
    tmp_path: Path, nodes: list[NodeProcess], record_property: Callable[[str, object], None]
) -> None:
    certs = Certificates(tmp_path / "pki")
    hub = OicpTestHub(openapi=shared_path("spec", "oicp", "openapi"), tls=certs.issue("hub"))
    await hub.start()
    cpo_tls, emp_tls = certs.issue(CPO_ID), certs.issue(EMP_ID)
    cpo = SimulatedCpo("cpo", tmp_path / "cpo", free_port(), env=dict(PUSH_ENV))
    # an hour of simulated charging per second; a meter reading every simulated half hour
    cpo.simulate_args = ("--speed", "3600", "--meter-interval", "1800")
    emsp = NodeProcess("emsp", tmp_path / "emsp", free_port(), env=dict(PUSH_ENV))
    emp = NodeProcess("emp", tmp_path / "emp", free_port(), env=dict(PUSH_ENV))
    try:
        await _setup(tmp_path, hub, cpo, emsp, emp, cpo_tls, emp_tls, nodes)
        await _same_evses(hub, emsp, emp)
        await _status_change(hub, cpo, emsp, emp, record_property)
        await _a_session_from_each_side(hub, cpo, emsp, emp)
        assert hub.invalid == []
    finally:
        stop_all(nodes)
        await hub.close()


async def _setup(
    tmp: Path,
    hub: OicpTestHub,
    cpo: SimulatedCpo,
    emsp: NodeProcess,
    emp: NodeProcess,
    cpo_tls: TlsFiles,
    emp_tls: TlsFiles,
    nodes: list[NodeProcess],
) -> None:
    hub_url = hub.url + "/api/oicp"
    tls = ("--cert", cpo_tls.cert, "--key", cpo_tls.key, "--ca", cpo_tls.ca)
    emp_files = ("--cert", emp_tls.cert, "--key", emp_tls.key, "--ca", emp_tls.ca)

    async def cpo_setup() -> None:
        await asyncio.to_thread(cpo.init, "DE", "ABC", "CPO")
        # connected first: the imports below are queued for the hub too (the outbox relay)
        await cli(cpo, "oicp", "connect", "--hub-url", hub_url, "--operator-id", CPO_ID,
                  "--name", "ABC Charging", "--hotline", "+4930123456", *tls)  # fmt: skip
        await cli(cpo, "tariffs", "import", _write(tmp / "tariffs.json", [_tariff()]))
        await cli(cpo, "locations", "import", _write(tmp / "locations.json", [_location()]))

    async def emsp_setup() -> None:
        await asyncio.to_thread(emsp.init, "DE", "MSP", "EMSP")
        await cli(emsp, "tokens", "import", _write(tmp / "tokens.json", [_token()]))

    async def emp_setup() -> None:
        await asyncio.to_thread(emp.init, "DE", "XYZ", "EMSP")
        await cli(emp, "oicp", "connect", "--hub-url", hub_url, "--provider-id", EMP_ID, *emp_files)

    await asyncio.gather(cpo_setup(), emsp_setup(), emp_setup())
    cpo_oicp, emp_oicp = free_port(), free_port()
    cpo.start("--oicp-port", str(cpo_oicp))
    nodes.append(cpo)
    emsp.start()
    nodes.append(emsp)
    emp.start("--oicp-port", str(emp_oicp))
    nodes.append(emp)
    for node in (cpo, emsp, emp):
        await asyncio.to_thread(node.wait_ready)
    hub.register("CPO", CPO_ID, f"https://127.0.0.1:{cpo_oicp}")
    hub.register("EMP", EMP_ID, f"https://127.0.0.1:{emp_oicp}")

    # OCPI: the CPO invites the eMSP, which registers and pulls the locations once
    invitation = await cli_json(cpo, "partners", "invite", "emsp")
    registered = await cli_json(emsp, "partners", "register", "--versions-url", cpo.versions_url,
                                "--token", invitation["token"], "--name", "cpo")  # fmt: skip
    assert registered["status"] == "REGISTERED"
    synced = await cli_json(emsp, "sync", "locations", "--partner", "cpo")
    assert synced["created"] == 1

    # OICP: the CPO's worker delivers what the imports queued for the hub (EVSE data, status, pricing)
    await eventually(
        lambda: hub_requests(hub, "eRoamingPushEVSEPricing") and len(set(hub_statuses(hub))) >= 3,
        within=30,
        what="the CPO's EVSE data, status and pricing at the hub",
    )


async def _same_evses(hub: OicpTestHub, emsp: NodeProcess, emp: NodeProcess) -> None:
    pulled = await cli_json(emp, "oicp", "pull", "evse-data", "--full")
    assert sorted(r["EvseID"] for r in pulled) == sorted(EVSE_IDS.values())
    by_id = [a for e in EVSE_IDS.values() for a in ("--evse-id", e)]
    statuses = await cli_json(emp, "oicp", "pull", "evse-status", *by_id)
    emp_view = {r["EvseID"]: r["EvseStatus"] for r in statuses}
    emsp_view = received_evses(emsp)
    assert sorted(emsp_view) == sorted(emp_view) == sorted(EVSE_IDS.values())
    assert {e: SAME_STATUS[s] for e, s in emsp_view.items()} == emp_view
    assert set(emp_view.values()) == {"Available"}
    # the EMP keeps the pulled EVSEs as locations received from the hub: the same ids and statuses again,
    # at the same address and position, with the same plugs
    assert received_evses(emp) == emsp_view
    assert received_sites(emp) == received_sites(emsp) and len(received_sites(emsp)) == 3


async def _status_change(
    hub: OicpTestHub,
    cpo: NodeProcess,
    emsp: NodeProcess,
    emp: NodeProcess,
    record_property: Callable[[str, object], None],
) -> None:
    """E3 out of order at the CPO (``locations set-status``): the eMSP's copy (OCPI PATCH) and the hub's
    (PushEvseStatus) follow. Each latency is from the change's commit (the EVSE's ``last_updated``, the
    CPO's clock) to the moment this test saw it arrive (polled every 10 ms). Made by another process, the
    change reaches the CPO's push worker by its outbox poll (``EVROAM_PUSH_POLL_INTERVAL``, 0.05 s here);
    ``bench/bridge.py`` measures the same on a quiet machine, also for a change made at the charger."""
    evse_id = EVSE_IDS["E3"]
    seen: dict[str, float] = {}
    pushed_before = len(hub_statuses(hub))

    async def watch() -> None:
        while len(seen) < 2:
            if "ocpi" not in seen and received_evses(emsp).get(evse_id) == "OUTOFORDER":
                seen["ocpi"] = time.time()
            if "oicp" not in seen and (evse_id, "OutOfService") in hub_statuses(hub)[pushed_before:]:
                seen["oicp"] = time.time()
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        await cli(cpo, "locations", "set-status", "E3", "OUTOFORDER")
        await asyncio.wait_for(asyncio.shield(watcher), timeout=30)
    finally:
        watcher.cancel()
    (payload, _, _), *_ = cpo.documents("location", own=True)
    (evse,) = [e for e in _stored_location(payload).evses or () if str(e.uid) == "E3"]
    changed = evse.last_updated.timestamp()
    latency = {side: round(at - changed, 3) for side, at in seen.items()}
    print(f"status change latency: OCPI eMSP {latency['ocpi']} s, OICP hub {latency['oicp']} s")
    record_property("status_latency_ocpi_s", latency["ocpi"])
    record_property("status_latency_oicp_hub_s", latency["oicp"])
    # ... and the EMP sees it with its status pull
    (pulled,) = await cli_json(emp, "oicp", "pull", "evse-status", "--evse-id", evse_id)
    assert pulled == {"EvseID": evse_id, "EvseStatus": "OutOfService"}
    await cli(cpo, "locations", "set-status", "E3", "AVAILABLE")
    await eventually(
        lambda: (
            received_evses(emsp).get(evse_id) == "AVAILABLE"
            and hub_statuses(hub)[-1] == (evse_id, "Available")
        ),
        within=30,
        what="E3 available again on both sides",
    )


def _own_session(cpo: NodeProcess, reference: str) -> Session | None:
    return next((s for s in sessions(cpo, own=True) if str(s.authorization_reference) == reference), None)


async def _a_session_from_each_side(
    hub: OicpTestHub, cpo: NodeProcess, emsp: NodeProcess, emp: NodeProcess
) -> None:
    # the EMP prices CDRs with the pricing products it pulled from the hub
    assert (
        await cli(emp, "oicp", "pull", "pricing", "--operator-id", CPO_ID)
    ).strip() == "1 pricing product(s)"

    # -- start: OCPI START_SESSION at E1 from the eMSP, OICP AuthorizeRemoteStart at E2 from the EMP ----
    started, remote = await asyncio.gather(
        cli_json(emsp, "commands", "start-session", "--partner", "cpo", "--location", "LOC1", "--evse", "E1",
                 "--token", OCPI_TOKEN),
        cli(emp, "oicp", "remote-start", EVSE_IDS["E2"], EVCO_ID),
    )  # fmt: skip
    assert started["outcome"] == "ACCEPTED", started
    reference = started["request"]["authorization_reference"]
    ack = json.loads(remote)
    assert ack["Result"] is True and ack["StatusCode"]["Code"] == "000", ack
    sid = ack["SessionID"]

    # both EVSEs charge, seen on both sides
    await eventually(
        lambda: (
            received_evses(emsp).get(EVSE_IDS["E1"]) == "CHARGING"
            and received_evses(emsp).get(EVSE_IDS["E2"]) == "CHARGING"
            and {(EVSE_IDS["E1"], "Occupied"), (EVSE_IDS["E2"], "Occupied")} <= set(hub_statuses(hub))
        ),
        within=30,
        what="E1 and E2 charging on both sides",
    )
    # both cars full: 48 kWh each (about 7 simulated hours, 7 s at 3600x)
    ocpi_session, oicp_session = await eventually(
        lambda: (
            (a, b)
            if (a := _own_session(cpo, reference)) is not None
            and (b := _own_session(cpo, sid)) is not None
            and a.kwh == b.kwh == KWH
            else None
        ),
        within=120,
        what="both cars full at the CPO",
    )

    # -- stop, each from its own side -------------------------------------------------------------------
    stopped, remote_stop = await asyncio.gather(
        cli_json(emsp, "commands", "stop-session", "--partner", "cpo", "--session", str(ocpi_session.id)),
        cli(emp, "oicp", "remote-stop", sid),
    )
    assert stopped["outcome"] == "ACCEPTED", stopped
    assert json.loads(remote_stop)["Result"] is True

    # -- each CDR arrives in its own protocol ------------------------------------------------------------
    (emsp_cdr,) = await eventually(lambda: cdrs(emsp, own=False), within=60, what="the OCPI CDR at the eMSP")
    await eventually(
        lambda: [
            x for x in hub.traffic if x.operation == "eRoamingChargeDetailRecord" and x.direction == "out"
        ],
        within=60,
        what="the OICP CDR forwarded by the hub to the EMP",
    )
    (emp_cdr,) = await cli_json(emp, "oicp", "cdrs", "list")

    # the OCPI driver's session and CDR: to the eMSP only, never to the hub
    cdr = emsp_cdr.cdr
    assert str(cdr.authorization_reference) == reference and str(cdr.session_id) == str(ocpi_session.id)
    assert [str(s.id) for s in sessions(emsp, own=False)] == [str(ocpi_session.id)]
    assert cdr.total_energy == KWH
    assert cdr.currency == "EUR" and cdr.total_cost.before_taxes == TOTAL_EXCL_VAT

    # the OICP driver's session and CDR: to the hub only (notifications, the CDR), never over OCPI
    assert emp_cdr["SessionID"] == sid and emp_cdr["EvseID"] == EVSE_IDS["E2"]
    assert Decimal(emp_cdr["ConsumedEnergy"]) == KWH
    assert (emp_cdr["currency"], emp_cdr["product"], emp_cdr["source"]) == ("EUR", "AC3", "push")
    assert Decimal(emp_cdr["price_excl_vat"]) == TOTAL_EXCL_VAT == cdr.total_cost.before_taxes
    assert [c["SessionID"] for c in hub_requests(hub, "eRoamingChargeDetailRecord")] == [sid]
    notified = hub_requests(hub, "eRoamingChargingNotifications")
    assert {n["SessionID"] for n in notified} == {sid}
    types = [n["Type"] for n in notified]
    assert types[0] == "Start" and types[-1] == "End" and "Progress" in types
    # the notifications tell the times the CDR tells: the charger's (fixed: see test_oicp_cpo_times.py)
    (oicp_cdr,) = hub_requests(hub, "eRoamingChargeDetailRecord")
    for progress in (n for n in notified if n["Type"] == "Progress"):
        start, event = _at(progress["ChargingStart"]), _at(progress["EventOccurred"])
        assert start == _at(oicp_cdr["ChargingStart"]) and event >= start
        assert progress["ChargingDuration"] == (event - start) // timedelta(milliseconds=1)
    end = notified[-1]
    assert [_at(end[k]) for k in ("ChargingStart", "ChargingEnd", "SessionEnd")] == [
        _at(oicp_cdr[k]) for k in ("ChargingStart", "ChargingEnd", "SessionEnd")
    ]
    assert _at(oicp_cdr["ChargingEnd"]) < _at(oicp_cdr["SessionEnd"])  # the car stood full before the stop
    assert Decimal(str(end["ConsumedEnergy"])) == KWH
    # the CPO priced the Hubject session with the same engine and tariff: the same total
    (cpo_oicp_cdr,) = [c for c in cdrs(cpo, own=True) if str(c.cdr.authorization_reference) == sid]
    assert cpo_oicp_cdr.cdr.total_cost.before_taxes == TOTAL_EXCL_VAT and cpo_oicp_cdr.cdr.total_energy == KWH

    # the EMP node got nothing over OCPI (it is no OCPI partner of the CPO)
    assert sessions(emp, own=False) == [] and cdrs(emp, own=False) == []

    # the drivers gone, both sides see every EVSE available again
    await eventually(
        lambda: (
            set(received_evses(emsp).values()) == {"AVAILABLE"}
            and dict(hub_statuses(hub)) == dict.fromkeys(EVSE_IDS.values(), "Available")  # the last of each
        ),
        within=60,
        what="every EVSE available again",
    )
    by_id = [a for e in EVSE_IDS.values() for a in ("--evse-id", e)]
    final = await cli_json(emp, "oicp", "pull", "evse-status", *by_id)
    assert {r["EvseID"]: r["EvseStatus"] for r in final} == dict.fromkeys(EVSE_IDS.values(), "Available")

    # the CPO's outbox: the Hubject session and its CDR were queued for the hub and for no OCPI partner
    oicp_ids = {str(oicp_session.id), str(cpo_oicp_cdr.cdr.id)}
    ocpi_ids = {str(ocpi_session.id), str(cdr.id)}
    rows = [(pid, change) for pid, change in outbox(cpo) if change.get("module") in ("sessions", "cdrs")]
    assert {pid for pid, change in rows if change["object_id"] in oicp_ids} == {HUB_PARTNER_ID}
    # the OCPI session's rows reach the relay too, but the hub is sent nothing for it (checked above)
    assert {pid for pid, change in rows if change["object_id"] in ocpi_ids} - {HUB_PARTNER_ID}
