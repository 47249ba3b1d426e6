"""Real chargers over real WebSockets: a CPO node served with ``evroam serve --ocpp-port`` and an eMSP node,
registered with each other; the chargers are the ``ocpp`` library's own ChargePoint classes, one OCPP 1.6J
and one 2.0.1, in this process.

What the issue asks to see: boot and status changes at the eMSP; an RFID swipe authorized in real time
by the eMSP; a remote start from the eMSP starting a transaction, meter values becoming the eMSP's
session periods, a remote stop ending it and the CDR at the eMSP carrying the tariff engine's price
(checked against a price worked out by hand); a charging profile from the eMSP reaching the charger as
SetChargingProfile; a charger disconnected mid-transaction (readings taken during a 30 s gap, by their
timestamps) losing nothing; a transaction started offline and reported on reconnection making one session
and one CDR; and the CPO node restarted while a charger is connected losing nothing it acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from evroam.core.clock import SystemClock
from evroam.core.types import DateTime
from evroam.sim import site
from tests.integration.nodes import NodeProcess, free_port, stop_all
from tests.integration.ocpp_chargers import basic, open_charger

pytestmark = pytest.mark.slow

T = TypeVar("T")

APP_TOKEN = "APP-0001"
RFID_UID = "04A1B2C3D4E5"
PASSWORD16 = "secret-of-cp16-abc"
PASSWORD201 = "secret-of-cs201-xyz"
AC1, AC2 = site.AC_EVSES
DC = site.DC_EVSE


def tokens_json(uid: str, token_type: str, whitelist: str) -> list[dict[str, Any]]:
    return [
        {
            "country_code": "DE",
            "party_id": "MSP",
            "uid": uid,
            "type": token_type,
            "contract_id": f"DE-MSP-{uid}",
            "issuer": "eMSP GmbH",
            "valid": True,
            "whitelist": whitelist,
            "last_updated": "2026-01-01T00:00:00Z",
        }
    ]


class OcppCpo(NodeProcess):
    ocpp_port: int = 0

    @property
    def ocpp_url(self) -> str:
        return f"ws://127.0.0.1:{self.ocpp_port}/ocpp/"

    def serve(self) -> None:
        self.start("--ocpp-port", str(self.ocpp_port))
        self.wait_ready()

    def add_charger(self, charger_id: str, password: str, *maps: str) -> dict[str, Any]:
        args = ["chargers", "add", charger_id, "--location", site.LOCATION_ID, "--password-stdin", "--json"]
        for item in maps:
            args += ["--evse-map", item]
        done = subprocess.run(
            self._command(*args),
            input=password + "\n",
            capture_output=True,
            text=True,
            env=self.environ(),
            cwd=self.cwd,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        data: dict[str, Any] = json.loads(done.stdout)
        return data


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OcppCpo, NodeProcess]]:
    tmp = tmp_path_factory.mktemp("ocpp")
    env = {"EVROAM_PUSH_POLL_INTERVAL": "0.05", "EVROAM_COMMANDS_GRACE": "1"}
    cpo = OcppCpo("cpo", tmp / "cpo", free_port(), env=env)
    cpo.ocpp_port = free_port()
    emsp = NodeProcess("emsp", tmp / "emsp", free_port(), env=env)
    try:
        now = SystemClock().now()
        (tmp / "locations.json").write_text(json.dumps(site.demo_locations("NL", "CPO", now)))
        (tmp / "tariffs.json").write_text(json.dumps(site.demo_tariffs("NL", "CPO", now)))
        (tmp / "app.json").write_text(json.dumps(tokens_json(APP_TOKEN, "APP_USER", "ALLOWED")))
        (tmp / "rfid.json").write_text(json.dumps(tokens_json(RFID_UID, "RFID", "NEVER")))
        cpo.evroam("init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--url", cpo.url)
        cpo.evroam("tariffs", "import", str(tmp / "tariffs.json"))
        cpo.evroam("locations", "import", str(tmp / "locations.json"))
        added = cpo.add_charger("CP16", PASSWORD16, f"1={AC1}/1", f"2={AC2}/1")
        assert added["auth"] == "basic" and added["evse_map"] == {"1": f"{AC1}/1", "2": f"{AC2}/1"}
        cpo.add_charger("CS201", PASSWORD201, f"1={DC}/1")
        emsp.evroam("init", "--country-code", "DE", "--party-id", "MSP", "--role", "EMSP", "--url", emsp.url)
        emsp.evroam("tokens", "import", str(tmp / "app.json"))
        cpo.serve()
        emsp.start()
        emsp.wait_ready()
        invitation = cpo.json("partners", "invite", "emsp")
        register = ("partners", "register", "--versions-url", invitation["versions_url"], "--name", "cpo")
        emsp.evroam(*register, "--token", invitation["token"])
        emsp.evroam("tokens", "import", str(tmp / "rfid.json"))  # pushed to the CPO: NEVER, real-time
        yield cpo, emsp
    finally:
        stop_all([emsp, cpo])


# -- helpers ---------------------------------------------------------------------------------------------


async def until(probe: Callable[[], T | None], what: str, within: float = 30) -> T:
    """Poll ``probe`` (in a thread: it reads a database) until it gives something."""
    async with asyncio.timeout(within):
        while True:
            found = await asyncio.to_thread(probe)
            if found:
                return found
            await asyncio.sleep(0.1)
    raise AssertionError(what)  # pragma: no cover


def received(emsp: NodeProcess, kind: str) -> list[dict[str, Any]]:
    return [json.loads(payload) for payload, _, _ in emsp.documents(kind)]


def emsp_session(emsp: NodeProcess, session_id: str) -> dict[str, Any] | None:
    return next((s for s in received(emsp, "session") if s["id"] == session_id), None)


def emsp_cdrs(emsp: NodeProcess, session_id: str) -> list[dict[str, Any]]:
    """The CDRs the eMSP received for a session (the canonical CDR of each stored record)."""
    cdrs = [record.get("cdr", record) for record in received(emsp, "cdr")]
    return [c for c in cdrs if c.get("session_id") == session_id]


def evse_status(emsp: NodeProcess, uid: str) -> str | None:
    for location in received(emsp, "location"):
        for evse in location.get("evses") or ():
            if evse["uid"] == uid:
                return str(evse["status"])
    return None


async def emsp_command(emsp: NodeProcess, *args: str) -> dict[str, Any]:
    done = await asyncio.to_thread(emsp.evroam, *args, "--partner", "cpo", "--json", check=False, timeout=90)
    assert done.stdout, done.stderr[-2000:]
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def at(base: DateTime, minutes: float) -> str:
    return (base + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def mv16(stamp: str, wh: int, watts: int) -> dict[str, Any]:
    return {
        "timestamp": stamp,
        "sampled_value": [
            {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": str(watts), "measurand": "Power.Active.Import", "unit": "W"},
        ],
    }


def mv201(stamp: str, wh: int, watts: int) -> dict[str, Any]:
    return {
        "timestamp": stamp,
        "sampled_value": [
            {"value": wh, "measurand": "Energy.Active.Import.Register", "unit_of_measure": {"unit": "Wh"}},
            {"value": watts, "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "W"}},
        ],
    }


def ac_price(kwh: Decimal, minutes: int) -> Decimal:
    """AC-STANDARD worked out by hand: 0.50 start, 0.35 per kWh, 1.00 per hour (per minute), to the cent."""
    exact = Decimal("0.50") + kwh * Decimal("0.35") + Decimal(minutes) / 60 * Decimal("1.00")
    return exact.quantize(Decimal("0.01"))


# -- the registry ----------------------------------------------------------------------------------------


def test_the_charger_registry_commands(nodes: tuple[OcppCpo, NodeProcess]) -> None:
    cpo, _ = nodes
    cpo.add_charger("SPARE-1", "spare-password-1", f"1={AC1}/1")
    listed = {c["id"]: c for c in cpo.json("chargers", "list")}
    assert {"CP16", "CS201", "SPARE-1"} <= set(listed)
    assert listed["SPARE-1"]["connected"] is False and listed["SPARE-1"]["auth"] == "basic"
    stored = cpo.query(
        "SELECT payload FROM evroam_objects WHERE kind = 'ocpp_charger' AND object_id = 'SPARE-1'"
    )
    assert b"spare-password-1" not in bytes(stored[0][0]) and b"scrypt$" in bytes(stored[0][0])
    assert cpo.json("chargers", "remove", "SPARE-1") == {"removed": "SPARE-1"}
    missing = cpo.evroam("chargers", "show", "SPARE-1", check=False)
    assert missing.returncode == 3
    bad = cpo.evroam(
        "chargers",
        "add",
        "SPARE-2",
        "--location",
        site.LOCATION_ID,
        "--evse-map",
        "1=NO-EVSE/1",
        "--no-auth",
        check=False,
    )
    assert bad.returncode != 0 and "no EVSE NO-EVSE" in bad.stderr


# -- OCPP 1.6J -------------------------------------------------------------------------------------------


async def test_handshake_refuses_unknown_ids_wrong_passwords_and_missing_subprotocols(
    nodes: tuple[OcppCpo, NodeProcess],
) -> None:
    cpo, _ = nodes
    refusals = [
        ("NOBODY", ["ocpp1.6"], basic("NOBODY", "whatever-password")),
        ("CP16", ["ocpp1.6"], basic("CP16", "not-the-password")),
        ("CP16", ["ocpp1.6"], None),
        ("CP16", ["ocpp1.5"], basic("CP16", PASSWORD16)),
    ]
    statuses = []
    for charger_id, protocols, header in refusals:
        headers = {} if header is None else {"Authorization": header}
        with pytest.raises(InvalidStatus) as refused:
            async with connect(cpo.ocpp_url + charger_id, subprotocols=protocols, additional_headers=headers):  # type: ignore[arg-type]
                pass
        statuses.append(refused.value.response.status_code)
    assert statuses == [404, 401, 401, 400]


async def test_ocpp16_boot_swipe_remote_start_meter_values_gap_profile_remote_stop_and_priced_cdr(
    nodes: tuple[OcppCpo, NodeProcess],
) -> None:
    cpo, emsp = nodes
    t0 = DateTime.from_datetime(SystemClock().now() - timedelta(hours=2)).replace(microsecond=0)
    async with open_charger(cpo.ocpp_url, "CP16", PASSWORD16) as cp:
        # -- boot and status changes reach the eMSP ------------------------------------------------
        from ocpp.v16 import call

        boot = await cp.call(call.BootNotification(charge_point_model="Wallbox", charge_point_vendor="ACME"))
        assert boot.status == "Accepted"
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Available"))
        await cp.call(call.StatusNotification(connector_id=2, error_code="GroundFailure", status="Faulted"))
        await until(lambda: evse_status(emsp, AC2) == "OUTOFORDER", "AC2 OUTOFORDER at the eMSP")
        await cp.call(call.StatusNotification(connector_id=2, error_code="NoError", status="Available"))
        await until(lambda: evse_status(emsp, AC2) == "AVAILABLE", "AC2 AVAILABLE at the eMSP")
        listed = await asyncio.to_thread(cpo.json, "chargers", "show", "CP16")
        assert (listed["connected"], listed["protocol"], listed["vendor"]) == (True, "ocpp1.6", "ACME")

        # -- an RFID swipe, decided in real time by the eMSP --------------------------------------
        swipe = await cp.call(call.Authorize(id_tag=RFID_UID))
        assert swipe.id_tag_info["status"] == "Accepted"
        unknown = await cp.call(call.Authorize(id_tag="FFFF0000"))
        assert unknown.id_tag_info["status"] == "Invalid"
        rfid_start = await cp.call(
            call.StartTransaction(connector_id=2, id_tag=RFID_UID, meter_start=0, timestamp=at(t0, 0))
        )
        rfid_session = str(rfid_start.transaction_id)
        assert rfid_start.id_tag_info["status"] == "Accepted"
        at_emsp = await until(lambda: emsp_session(emsp, rfid_session), "the RFID session at the eMSP")
        assert at_emsp["auth_method"] == "AUTH_REQUEST"  # the eMSP was asked (whitelist NEVER)
        assert at_emsp["authorization_reference"]  # and gave its reference
        assert at_emsp["cdr_token"]["uid"] == RFID_UID and at_emsp["evse_uid"] == AC2
        await cp.call(
            call.StopTransaction(meter_stop=2000, timestamp=at(t0, 6), transaction_id=int(rfid_session))
        )

        # -- a remote start from the eMSP ---------------------------------------------------------
        started = await emsp_command(
            emsp,
            "commands",
            "start-session",
            "--location",
            site.LOCATION_ID,
            "--evse",
            AC1,
            "--token",
            APP_TOKEN,
        )
        assert started["outcome"] == "ACCEPTED", started
        remote = await cp.wait_for("RemoteStartTransaction")
        assert (remote["id_tag"], remote["connector_id"]) == (APP_TOKEN, 1)
        start = await cp.call(
            call.StartTransaction(connector_id=1, id_tag=APP_TOKEN, meter_start=1000, timestamp=at(t0, 0))
        )
        session_id = str(start.transaction_id)
        assert start.id_tag_info["status"] == "Accepted"
        again = await cp.call(  # the same StartTransaction sent again: the same transaction
            call.StartTransaction(connector_id=1, id_tag=APP_TOKEN, meter_start=1000, timestamp=at(t0, 0))
        )
        assert again.transaction_id == start.transaction_id
        await cp.call(call.StatusNotification(connector_id=1, error_code="NoError", status="Charging"))
        await until(lambda: evse_status(emsp, AC1) == "CHARGING", "AC1 CHARGING at the eMSP")
        session = await until(lambda: emsp_session(emsp, session_id), "the session at the eMSP")
        assert session["auth_method"] == "COMMAND"
        assert session["authorization_reference"] == started["request"]["authorization_reference"]

        # -- meter values become charging periods at the eMSP -------------------------------------
        for minute, wh in ((5, 2500), (10, 4000)):
            await cp.call(
                call.MeterValues(
                    connector_id=1,
                    transaction_id=int(session_id),
                    meter_value=[mv16(at(t0, minute), wh, 18000)],
                )
            )
        await cp.call(  # a repetition: nothing new
            call.MeterValues(
                connector_id=1, transaction_id=int(session_id), meter_value=[mv16(at(t0, 10), 4000, 18000)]
            )
        )
        session = await until(
            lambda: (s := emsp_session(emsp, session_id)) and len(s.get("charging_periods") or ()) == 2 and s,
            "two charging periods at the eMSP",
        )
        assert Decimal(str(session["kwh"])) == Decimal(3)

        # -- a charging profile from the eMSP reaches the charger ---------------------------------
        profile = await emsp_command(emsp, "profiles", "set", session_id, "--limit-kw", "11")
        assert profile.get("error") is None and profile["outcome"] == "ACCEPTED", profile
        sent = await cp.wait_for("SetChargingProfile")
        assert sent["connector_id"] == 1
        cs_profile = sent["cs_charging_profiles"]
        assert cs_profile["charging_profile_purpose"] == "TxProfile"
        assert cs_profile["transaction_id"] == int(session_id)
        periods = cs_profile["charging_schedule"]["charging_schedule_period"]
        assert cs_profile["charging_schedule"]["charging_rate_unit"] == "W"
        assert [Decimal(str(p["limit"])) for p in periods][-1] == Decimal(11000)

    # -- disconnected: the charger keeps reading for 30 s, and reconnects ---------------------------
    await until(lambda: not cpo.json("chargers", "show", "CP16")["connected"], "CP16 offline in the registry")
    gap = [mv16(at(t0, 10.25), 4200, 18000), mv16(at(t0, 10.5), 4400, 18000)]  # the 30 s offline
    async with open_charger(cpo.ocpp_url, "CP16", PASSWORD16) as cp:
        from ocpp.v16 import call

        await cp.call(call.BootNotification(charge_point_model="Wallbox", charge_point_vendor="ACME"))
        await cp.call(call.MeterValues(connector_id=1, transaction_id=int(session_id), meter_value=gap))
        await cp.call(
            call.MeterValues(
                connector_id=1, transaction_id=int(session_id), meter_value=[mv16(at(t0, 20), 7000, 15000)]
            )
        )
        session = await until(
            lambda: (s := emsp_session(emsp, session_id)) and len(s.get("charging_periods") or ()) == 5 and s,
            "five charging periods at the eMSP (the gap's two included)",
        )
        starts = [p["start_date_time"] for p in session["charging_periods"]]
        assert starts == [at(t0, m) for m in (0, 5, 10, 10.25, 10.5)]

        # -- a remote stop from the eMSP, the CDR priced by the engine ----------------------------
        stopped = await emsp_command(emsp, "commands", "stop-session", "--session", session_id)
        assert stopped["outcome"] == "ACCEPTED", stopped
        stop_request = await cp.wait_for("RemoteStopTransaction")
        assert stop_request["transaction_id"] == int(session_id)
        stop = call.StopTransaction(
            meter_stop=11000, timestamp=at(t0, 30), transaction_id=int(session_id), reason="Remote"
        )
        await cp.call(stop)
        await cp.call(stop)  # sent again (no answer seen): still one CDR
        cdr = (await until(lambda: emsp_cdrs(emsp, session_id), "the CDR at the eMSP"))[0]
        session = await until(
            lambda: (s := emsp_session(emsp, session_id)) and s["status"] == "COMPLETED" and s,
            "the session COMPLETED at the eMSP",
        )
    # 10 kWh (1000 -> 11000 Wh) in 30 minutes of charging at AC-STANDARD
    assert Decimal(str(cdr["total_energy"])) == Decimal(10)
    assert Decimal(str(cdr["total_cost"]["before_taxes"])) == ac_price(Decimal(10), 30) == Decimal("4.50")
    assert Decimal(str(session["kwh"])) == Decimal(10)
    await asyncio.sleep(0.5)  # let any second CDR arrive, were there one
    assert len(await asyncio.to_thread(emsp_cdrs, emsp, session_id)) == 1
    rfid_cdr = await until(lambda: emsp_cdrs(emsp, rfid_session), "the RFID session's CDR")
    assert Decimal(str(rfid_cdr[0]["total_cost"]["before_taxes"])) == ac_price(Decimal(2), 6)


# -- OCPP 2.0.1 ------------------------------------------------------------------------------------------


def tx_event(event_type: str, stamp: str, seq_no: int, tx_id: str, trigger: str, **extra: Any) -> Any:
    from ocpp.v201 import call

    info = {"transaction_id": tx_id, **extra.pop("info", {})}
    return call.TransactionEvent(
        event_type=event_type,
        timestamp=stamp,
        trigger_reason=trigger,
        seq_no=seq_no,
        transaction_info=info,
        **extra,
    )


async def test_ocpp201_remote_start_periods_profile_stop_and_an_offline_transaction(
    nodes: tuple[OcppCpo, NodeProcess],
) -> None:
    cpo, emsp = nodes
    from ocpp.v201 import call

    t0 = DateTime.from_datetime(SystemClock().now() - timedelta(hours=3)).replace(microsecond=0)
    async with open_charger(cpo.ocpp_url, "CS201", PASSWORD201, version="2.0.1") as cs:
        boot = await cs.call(
            call.BootNotification(charging_station={"model": "DC50", "vendor_name": "ACME"}, reason="PowerUp")
        )
        assert boot.status == "Accepted"
        await cs.call(
            call.StatusNotification(
                timestamp=at(t0, 0), connector_status="Faulted", evse_id=1, connector_id=1
            )
        )
        await until(lambda: evse_status(emsp, DC) == "OUTOFORDER", "DC OUTOFORDER at the eMSP")
        await cs.call(
            call.StatusNotification(
                timestamp=at(t0, 0), connector_status="Available", evse_id=1, connector_id=1
            )
        )
        await until(lambda: evse_status(emsp, DC) == "AVAILABLE", "DC AVAILABLE at the eMSP")
        swipe = await cs.call(call.Authorize(id_token={"id_token": RFID_UID, "type": "ISO14443"}))
        assert swipe.id_token_info["status"] == "Accepted"

        # -- remote start, meter values, profile, remote stop -------------------------------------
        started = await emsp_command(
            emsp,
            "commands",
            "start-session",
            "--location",
            site.LOCATION_ID,
            "--evse",
            DC,
            "--token",
            APP_TOKEN,
        )
        assert started["outcome"] == "ACCEPTED", started
        request = await cs.wait_for("RequestStartTransaction")
        assert request["evse_id"] == 1 and request["id_token"]["id_token"] == APP_TOKEN
        tx = "TX-201-A"
        begin = tx_event(
            "Started",
            at(t0, 0),
            0,
            tx,
            "RemoteStart",
            info={"remote_start_id": request["remote_start_id"], "charging_state": "Charging"},
            evse={"id": 1, "connector_id": 1},
            id_token={"id_token": APP_TOKEN, "type": "Central"},
            meter_value=[mv201(at(t0, 0), 50000, 0)],
        )
        answer = await cs.call(begin)
        assert answer.id_token_info["status"] == "Accepted"
        await cs.call(begin)  # the same event again (same seq_no): nothing new
        sessions = await until(
            lambda: [
                s for s in received(emsp, "session") if s["evse_uid"] == DC and s["auth_method"] == "COMMAND"
            ],
            "the 2.0.1 session at the eMSP",
        )
        assert len(sessions) == 1
        session_id = sessions[0]["id"]
        for seq, minute, wh in ((1, 10, 58000), (2, 20, 66000)):
            await cs.call(
                tx_event(
                    "Updated",
                    at(t0, minute),
                    seq,
                    tx,
                    "MeterValuePeriodic",
                    meter_value=[mv201(at(t0, minute), wh, 48000)],
                )
            )
        await until(
            lambda: (s := emsp_session(emsp, session_id)) and len(s.get("charging_periods") or ()) == 2 and s,
            "two charging periods at the eMSP",
        )
        profile = await emsp_command(emsp, "profiles", "set", session_id, "--limit-kw", "30")
        assert profile.get("error") is None and profile["outcome"] == "ACCEPTED", profile
        sent = await cs.wait_for("SetChargingProfile")
        assert sent["evse_id"] == 1
        assert sent["charging_profile"]["transaction_id"] == tx
        schedule = sent["charging_profile"]["charging_schedule"][0]
        assert Decimal(str(schedule["charging_schedule_period"][-1]["limit"])) == Decimal(30000)

        stopped = await emsp_command(emsp, "commands", "stop-session", "--session", session_id)
        assert stopped["outcome"] == "ACCEPTED", stopped
        assert (await cs.wait_for("RequestStopTransaction"))["transaction_id"] == tx
        end = tx_event(
            "Ended",
            at(t0, 25),
            3,
            tx,
            "RemoteStop",
            info={"stopped_reason": "Remote"},
            meter_value=[mv201(at(t0, 25), 70000, 0)],
        )
        await cs.call(end)
        await cs.call(end)
        cdr = (await until(lambda: emsp_cdrs(emsp, session_id), "the 2.0.1 CDR at the eMSP"))[0]
        # DC-FAST: 0.59 per kWh, 20 kWh (50 -> 70 kWh), no parking
        assert Decimal(str(cdr["total_energy"])) == Decimal(20)
        assert Decimal(str(cdr["total_cost"]["before_taxes"])) == Decimal("20") * Decimal("0.59")

    # -- a transaction that ran while the station was offline, reported when it is back -------------
    async with open_charger(cpo.ocpp_url, "CS201", PASSWORD201, version="2.0.1") as cs:
        offline = "TX-201-OFFLINE"
        events = [
            tx_event(
                "Started",
                at(t0, 60),
                0,
                offline,
                "Authorized",
                offline=True,
                info={"charging_state": "Charging"},
                evse={"id": 1, "connector_id": 1},
                id_token={"id_token": RFID_UID, "type": "ISO14443"},
                meter_value=[mv201(at(t0, 60), 70000, 0)],
            ),
            tx_event(
                "Updated",
                at(t0, 70),
                1,
                offline,
                "MeterValuePeriodic",
                offline=True,
                meter_value=[mv201(at(t0, 70), 75000, 30000)],
            ),
            tx_event(
                "Ended",
                at(t0, 80),
                2,
                offline,
                "EVCommunicationLost",
                offline=True,
                info={"stopped_reason": "EVDisconnected"},
                meter_value=[mv201(at(t0, 80), 80000, 0)],
            ),
        ]
        for event in events:
            await cs.call(event)
        for event in events:  # the station was not sure they arrived: all again
            await cs.call(event)

        def offline_records() -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
            found = [s for s in received(emsp, "session") if s["start_date_time"] == at(t0, 60)]
            cdrs = [c for s in found for c in emsp_cdrs(emsp, s["id"])]
            return (found, cdrs) if found and cdrs else None

        found, cdrs = await until(offline_records, "the offline transaction's session and CDR")
        await asyncio.sleep(0.5)
        found, cdrs = await asyncio.to_thread(offline_records) or ([], [])
        assert len(found) == 1 and len(cdrs) == 1
        assert found[0]["status"] == "COMPLETED" and Decimal(str(found[0]["kwh"])) == Decimal(10)
        assert Decimal(str(cdrs[0]["total_cost"]["before_taxes"])) == Decimal(10) * Decimal("0.59")


# -- the node restarts while a charger is connected -----------------------------------------------------


async def test_a_node_restart_while_charging_loses_nothing_acknowledged(
    nodes: tuple[OcppCpo, NodeProcess],
) -> None:
    cpo, emsp = nodes
    from ocpp.v16 import call

    t0 = DateTime.from_datetime(SystemClock().now() - timedelta(hours=5)).replace(microsecond=0)
    async with open_charger(cpo.ocpp_url, "CP16", PASSWORD16) as cp:
        await cp.call(call.Authorize(id_tag=RFID_UID))
        start = await cp.call(
            call.StartTransaction(connector_id=2, id_tag=RFID_UID, meter_start=20000, timestamp=at(t0, 0))
        )
        session_id = str(start.transaction_id)
        await cp.call(
            call.MeterValues(
                connector_id=2,
                transaction_id=start.transaction_id,
                meter_value=[mv16(at(t0, 5), 21000, 12000)],
            )
        )
        await asyncio.to_thread(cpo.stop)  # acknowledged: the start and one reading
    await asyncio.to_thread(cpo.serve)
    async with open_charger(cpo.ocpp_url, "CP16", PASSWORD16) as cp:
        await cp.call(
            call.MeterValues(
                connector_id=2,
                transaction_id=start.transaction_id,
                meter_value=[mv16(at(t0, 10), 22000, 12000)],
            )
        )
        await cp.call(
            call.StopTransaction(meter_stop=24000, timestamp=at(t0, 20), transaction_id=start.transaction_id)
        )
    cdr = (await until(lambda: emsp_cdrs(emsp, session_id), "the CDR after the restart"))[0]
    session = await until(
        lambda: (s := emsp_session(emsp, session_id)) and s["status"] == "COMPLETED" and s, "COMPLETED"
    )
    assert [p["start_date_time"] for p in session["charging_periods"]] == [at(t0, m) for m in (0, 5, 10)]
    assert Decimal(str(cdr["total_energy"])) == Decimal(4)
    assert Decimal(str(cdr["total_cost"]["before_taxes"])) == ac_price(Decimal(4), 20)
