"""From simulated charger events to OCPI objects: EVSE statuses, the Session and a CDR priced by the
tariff engine (the demo site's tariffs, prices worked out by hand)."""

from __future__ import annotations

import json
from decimal import Decimal

from evroam import model as m
from evroam.chargepoint import StartRequest, StopRequest
from evroam.chargepoint.records import LoggedRecords
from evroam.chargepoint.sink import OcpiSink, engine_tariffs
from evroam.core.types import DateTime
from evroam.modules.locations.repository import save_location
from evroam.modules.locations.validation import parse_locations
from evroam.modules.tariffs.repository import save_tariff
from evroam.modules.tariffs.validation import parse_tariffs
from evroam.node.charging import StoredCatalogue
from evroam.sim import CarProfile, SimOptions, Simulator
from evroam.sim.site import AC_EVSES, DC_EVSE, LOCATION_ID, demo_locations, demo_tariffs
from evroam.tariffs import Session as EngineSession
from evroam.tariffs import price
from evroam.tariffs.adapt import session_from_json
from evroam.testing import ManualTime, MemoryStore, SequentialIds

T0 = "2026-01-05T08:00:00Z"
CPO = ("NL", "CPO")


class Statuses:
    def __init__(self) -> None:
        self.seen: list[tuple[str, m.Status, tuple[str, str] | None]] = []

    async def set_status(
        self, evse_uid: str, status: m.Status, *, party: tuple[str, str] | None = None
    ) -> m.Location:
        self.seen.append((evse_uid, status, party))
        return None  # type: ignore[return-value]  # the sink does not use the answer


def token() -> m.Token:
    return m.Token(
        country_code="DE",
        party_id="MSP",
        uid="APP1",
        type="APP_USER",
        contract_id="DE-MSP-C12345",
        issuer="MSP GmbH",
        valid=True,
        whitelist=m.WhitelistType.ALLOWED,
        last_updated=DateTime.parse(T0),
    )


class Rig:
    async def setup(self, **options: object) -> Rig:
        self.store = MemoryStore()
        await self.store.migrate()
        at = DateTime.parse(T0)
        self.locations = parse_locations(json.dumps(demo_locations(*CPO, at)).encode(), "2.2.1")
        self.tariffs = parse_tariffs(json.dumps(demo_tariffs(*CPO, at)).encode(), "2.2.1")
        for loc in self.locations:
            await save_location(self.store, loc, check_stale=False)
        for tariff in self.tariffs:
            await save_tariff(self.store, tariff, check_stale=False)
        self.time = ManualTime(T0)
        self.sim = Simulator(
            self.locations, time=self.time, ids=SequentialIds("S"), options=SimOptions(**options)
        )  # type: ignore[arg-type]
        self.statuses = Statuses()
        self.records = LoggedRecords()
        self.sink = OcpiSink(StoredCatalogue(self.store, [CPO]), statuses=self.statuses, records=self.records)
        self.sim.subscribe(self.sink)
        await self.sim.power_on()
        return self

    async def charge(self, evse: str, seconds: float) -> m.CDR:
        request = StartRequest(
            location_id=LOCATION_ID,
            evse_uid=evse,
            connector_id=None,
            token=token(),
            authorization_reference="REF-1",
        )
        await self.sim.start(request)
        await self.time.advance(self.sim.options.plug_delay)
        (running,) = self.sim.transactions
        await self.time.advance(seconds)
        await self.sim.stop(StopRequest(transaction_id=running.transaction_id))
        (cdr,) = self.records.cdrs
        return cdr


async def test_status_changes_go_to_the_locations_of_their_owner() -> None:
    rig = await Rig().setup(plug_delay=30.0, unplug_delay=60.0)
    await rig.charge(AC_EVSES[0], 600)
    await rig.time.advance(60)
    assert rig.statuses.seen == [
        ("DEMO-AC-1", m.Status.CHARGING, CPO),
        ("DEMO-AC-1", m.Status.AVAILABLE, CPO),
    ]


async def test_one_hour_of_ac_charging_becomes_a_session_and_a_priced_cdr() -> None:
    rig = await Rig().setup(plug_delay=30.0, meter_interval=300.0)
    cdr = await rig.charge(AC_EVSES[0], 3600)

    session = rig.records.sessions[str(cdr.session_id)]
    assert session.status is m.SessionStatus.COMPLETED
    assert (session.country_code, session.party_id, session.location_id) == ("NL", "CPO", LOCATION_ID)
    assert (session.evse_uid, session.connector_id, session.authorization_reference) == (
        "DEMO-AC-1",
        "1",
        "REF-1",
    )
    assert session.auth_method is m.AuthMethod.COMMAND
    assert session.cdr_token == m.CdrToken(
        contract_id="DE-MSP-C12345", uid="APP1", type="APP_USER", country_code="DE", party_id="MSP"
    )
    assert session.start_date_time == DateTime.parse("2026-01-05T08:00:30Z")
    assert session.end_date_time == DateTime.parse("2026-01-05T09:00:30Z")
    assert session.kwh == Decimal("11.000")  # the car's 11 kW for one hour
    periods = session.charging_periods or ()
    assert len(periods) == 12  # one per 5-minute reading
    assert sum(
        next(d.volume for d in p.dimensions if d.type is m.CdrDimensionType.ENERGY) for p in periods
    ) == Decimal("11.000")

    # AC-STANDARD: 0.50 start + 11 kWh x 0.35 + 1 h x 1.00 = 5.35 excl. VAT; 21 % VAT: 6.4735 -> 6.47
    assert cdr.currency == "EUR"
    assert cdr.total_cost.before_taxes == Decimal("5.35")
    assert cdr.total_cost.after_taxes == Decimal("6.47")
    assert cdr.total_fixed_cost is not None and cdr.total_fixed_cost.before_taxes == Decimal("0.50")
    assert cdr.total_energy_cost is not None and cdr.total_energy_cost.before_taxes == Decimal("3.85")
    assert cdr.total_time_cost is not None and cdr.total_time_cost.before_taxes == Decimal("1.00")
    assert (cdr.total_energy, cdr.total_time) == (Decimal("11.000"), Decimal(1))
    assert session.total_cost == cdr.total_cost
    assert cdr.tariffs is not None and [t.id for t in cdr.tariffs] == ["AC-STANDARD"]
    assert cdr.cdr_location.evse_id == "NL*CPO*E1" and cdr.cdr_location.connector_standard == "IEC_62196_T2"
    assert (cdr.id, cdr.start_date_time, cdr.end_date_time) == (
        session.id,
        session.start_date_time,
        session.end_date_time,
    )

    # the CDR's total is the engine's price of the CDR's own charging periods
    again = price(engine_tariffs(cdr.tariffs), _periods_of(cdr), "Europe/Amsterdam").rounded(2)
    assert again.total_cost.excl_vat == cdr.total_cost.before_taxes
    assert again.total_cost.incl_vat == cdr.total_cost.after_taxes


async def test_the_running_cost_is_estimated_on_each_update() -> None:
    rig = await Rig().setup(plug_delay=30.0, meter_interval=900.0)
    request = StartRequest(location_id=LOCATION_ID, evse_uid=AC_EVSES[1], connector_id=None, token=token())
    await rig.sim.start(request)
    await rig.time.advance(30 + 1800)
    (session,) = rig.records.sessions.values()
    assert session.status is m.SessionStatus.ACTIVE
    assert session.kwh == Decimal("5.500")
    # half an hour: 0.50 + 5.5 x 0.35 + 0.5 x 1.00 = 2.925 -> 2.93 (VAT 21 %: 3.53925 -> 3.54)
    assert session.total_cost is not None
    assert (session.total_cost.before_taxes, session.total_cost.after_taxes) == (
        Decimal("2.93"),
        Decimal("3.54"),
    )


async def test_a_full_car_pays_parking_at_the_dc_charger() -> None:
    car = CarProfile(battery_kwh=20.0, start_soc=0.5, max_dc_kw=100.0, taper_from=1.0)
    rig = await Rig().setup(plug_delay=30.0, meter_interval=300.0, car=car)
    cdr = await rig.charge(DC_EVSE, 1800)
    # 10 kWh at 50 kW take 12 minutes; the reading at 15 minutes is the first to see a full car, so the
    # last 15 minutes are parking. DC-FAST: 0.59 per kWh and 12.00 per hour of parking:
    # 5.90 + 3.00 = 8.90 excl. VAT, 10.769 -> 10.77 incl. 21 %
    assert cdr.total_energy == Decimal("10.000")
    assert cdr.total_parking_time == Decimal("0.25")
    assert cdr.total_energy_cost is not None and cdr.total_energy_cost.before_taxes == Decimal("5.90")
    assert cdr.total_parking_cost is not None and cdr.total_parking_cost.before_taxes == Decimal("3.00")
    assert (cdr.total_cost.before_taxes, cdr.total_cost.after_taxes) == (Decimal("8.90"), Decimal("10.77"))


def _periods_of(cdr: m.CDR) -> EngineSession:
    """The CDR's charging periods read back as an engine session (through the JSON adapter)."""
    raw = {
        "start_date_time": cdr.start_date_time.to_json(),
        "end_date_time": cdr.end_date_time.to_json(),
        "charging_periods": [
            {
                "start_date_time": p.start_date_time.to_json(),
                "dimensions": [{"type": d.type.value, "volume": str(d.volume)} for d in p.dimensions],
                **({"tariff_id": str(p.tariff_id)} if p.tariff_id else {}),
            }
            for p in cdr.charging_periods
        ],
    }
    return session_from_json(raw, "2.2.1")
