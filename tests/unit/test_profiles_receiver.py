"""The CPO's charging profiles receiver in front of the simulator, on hand-moved simulated time: a
charger that never answers gives the sender REJECTED after the timeout (through the outbox, retried
after a failed POST); a set is carried out and its ActiveChargingProfile queued; refusals."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import httpx
import msgspec

from evroam import model as m
from evroam.chargepoint import StartRequest
from evroam.chargepoint.sink import OcpiSink
from evroam.core.types import DateTime
from evroam.modules.cdrs import CdrAdmin
from evroam.modules.chargingprofiles import (
    Direction,
    ProfilePusher,
    ProfileReceiver,
    Requester,
    list_records,
    load_session_profiles,
)
from evroam.modules.locations import LocationAdmin, parse_locations
from evroam.modules.sessions import SessionAdmin
from evroam.node.charging import ModuleRecords, StoredCatalogue
from evroam.push.worker import PushWorker
from evroam.registration import StorePartnerRepository
from evroam.registration.directory import RegisteredPartners
from evroam.registration.model import PartnerEndpoint
from evroam.sim import ManualTime, SimOptions, Simulator, site
from evroam.testing import FakePartner, FixedClock, MemoryStore, SequentialIds

T0 = "2026-01-05T08:00:00Z"
US = [("NL", "CPO")]
RESPONSE_URL = "https://emsp.test/ocpi/2.2.1/sender/chargingprofiles/set/r1"


def token() -> m.Token:
    return m.Token(
        country_code="DE",
        party_id="EMS",
        uid="APP1",
        type="APP_USER",
        contract_id="DE-EMS-APP1",
        issuer="eMSP",
        valid=True,
        whitelist=m.WhitelistType.ALLOWED,
        last_updated=DateTime.parse(T0),
    )


async def cpo(
    options: SimOptions,
) -> tuple[ProfileReceiver, Simulator, MemoryStore, FixedClock, FakePartner, str]:
    clock = FixedClock(T0)
    store = MemoryStore()
    await store.migrate()
    emsp = FakePartner("https://emsp.test/ocpi", role="EMSP", clock=clock)
    record = emsp.record(clock, receives=("sessions",))
    sender = PartnerEndpoint(
        module="chargingprofiles", url=emsp.module_url("chargingprofiles"), role="SENDER"
    )
    record = msgspec.structs.replace(record, endpoints=(*record.endpoints, sender))
    await StorePartnerRepository(store, clock).commit(save=[record])
    locations = parse_locations(json.dumps(site.demo_locations("NL", "CPO", clock.now())).encode(), "2.2.1")
    statuses = LocationAdmin(store, clock, RegisteredPartners(), US)
    await statuses.import_locations(locations)
    time = ManualTime(T0)
    sim = Simulator(locations, time=time, ids=SequentialIds("tx"), options=options)
    records = ModuleRecords(
        SessionAdmin(store, clock, RegisteredPartners(), US), CdrAdmin(store, clock, RegisteredPartners(), US)
    )
    sim.subscribe(OcpiSink(StoredCatalogue(store, US), statuses=statuses, records=records))
    receiver = ProfileReceiver(
        store, clock, SequentialIds("in"), parties=US, charge_point=sim, timeout=1, min_interval=0
    )
    sim.subscribe(receiver.on_event)
    request = StartRequest(
        location_id=site.LOCATION_ID, evse_uid=site.AC_EVSES[0], connector_id=None, token=token()
    )
    assert (await sim.start(request)).value == "ACCEPTED"
    await time.advance(60)  # the driver plugs in: the transaction (and the session) starts
    (tx,) = sim.transactions
    return receiver, sim, store, clock, emsp, tx.transaction_id


def set_profile(kw: str) -> m.SetChargingProfile:
    return m.SetChargingProfile(
        charging_profile=m.ChargingProfile(
            charging_rate_unit=m.ChargingRateUnit.W,
            charging_profile_period=(m.ChargingProfilePeriod(start_period=0, limit=Decimal(kw) * 1000),),
        ),
        response_url=RESPONSE_URL,
    )


def worker(store: MemoryStore, clock: FixedClock, emsp: FakePartner) -> PushWorker:
    return PushWorker(
        store,
        httpx.AsyncClient(transport=emsp.transport()),
        clock=clock,
        ids=SequentialIds("w"),
        rng=random.Random(1),
        pushers={"chargingprofiles": ProfilePusher()},
    )


async def test_a_charger_that_never_answers_gives_rejected_after_the_timeout() -> None:
    receiver, sim, store, clock, emsp, tid = await cpo(SimOptions(never_answer=frozenset({"profile"})))
    requester = Requester(partner=emsp.record(clock), version="2.2.1", party=("DE", "EMS"))
    response = await receiver.set_profile(requester, tid, set_profile("3.7"))
    assert (response.result, response.timeout) == (m.ChargingProfileResponseType.ACCEPTED, 1)
    await receiver.drain()  # the charger's 1 s are over
    (record,) = await list_records(store, Direction.RECEIVED)
    assert (record.result, record.charger_answer) == (m.ChargingProfileResultType.REJECTED, "NO_ANSWER")
    assert sim.limit_of(tid) is None
    state = await load_session_profiles(store, "NL", "CPO", tid)
    assert state is not None and state.profiles == () and state.senders == ()  # nothing in force

    # the result goes out through the outbox: a failed POST is retried, not lost
    emsp.fail(1, http_status=503)
    push = worker(store, clock, emsp)
    assert (await push.drain()).failed == 1
    clock.advance(120)
    assert (await push.drain()).delivered == 1
    posts = [r for r in emsp.seen if r.method == "POST"]
    assert [str(r.path) for r in posts][-1].endswith("/sender/chargingprofiles/set/r1")
    assert posts[-1].body == {"result": "REJECTED"}
    await sim.close()


async def test_an_accepted_set_limits_the_charger_and_queues_the_active_profile() -> None:
    receiver, sim, store, clock, emsp, tid = await cpo(SimOptions())
    requester = Requester(partner=emsp.record(clock), version="2.2.1", party=("DE", "EMS"))
    assert (await receiver.set_profile(requester, tid, set_profile("3.7"))).result.value == "ACCEPTED"
    await receiver.drain()
    (record,) = await list_records(store, Direction.RECEIVED)
    assert (record.result, record.charger_answer) == (m.ChargingProfileResultType.ACCEPTED, "ACCEPTED")
    limit = sim.limit_of(tid)
    assert limit is not None and limit.periods[0].limit == Decimal(3700)
    state = await load_session_profiles(store, "NL", "CPO", tid)
    assert state is not None and [s.partner_id for s in state.senders] == [emsp.record(clock).id]
    assert state.active is not None
    assert state.active.charging_profile.charging_profile_period[0].limit == Decimal(3700)
    await worker(store, clock, emsp).drain()
    kinds = sorted((r.method, r.path.rsplit("/", 2)[-2]) for r in emsp.seen)
    assert ("POST", "set") in kinds and ("PUT", "chargingprofiles") in kinds
    await sim.close()


async def test_refusals() -> None:
    receiver, sim, _store, clock, emsp, tid = await cpo(SimOptions())
    requester = Requester(partner=emsp.record(clock), version="2.2.1", party=("DE", "EMS"))
    unknown = await receiver.set_profile(requester, "NO-SUCH", set_profile("3"))
    assert unknown.result is m.ChargingProfileResponseType.UNKNOWN_SESSION
    stranger = emsp.record(clock)
    stranger = type(stranger)(
        **{**{f: getattr(stranger, f) for f in stranger.__struct_fields__}, "roles": ()}
    )
    other = await receiver.set_profile(
        Requester(partner=stranger, version="2.2.1", party=("FR", "X")), tid, set_profile("3")
    )
    assert other.result is m.ChargingProfileResponseType.UNKNOWN_SESSION  # not its token: learns nothing
    receiver.min_interval = 60
    assert (await receiver.set_profile(requester, tid, set_profile("3"))).result.value == "ACCEPTED"
    too_often = await receiver.clear_profile(requester, tid, response_url=RESPONSE_URL)
    assert too_often.result is m.ChargingProfileResponseType.TOO_OFTEN
    clock.advance(61)
    assert (
        await receiver.clear_profile(requester, tid, response_url=RESPONSE_URL)
    ).result.value == "ACCEPTED"
    await receiver.drain()
    assert sim.limit_of(tid) is None
    sim.configure(smart_charging=False)
    receiver.charge_point = object()  # a charger connection without smart charging
    assert (
        await receiver.get_active(requester, tid, duration=900, response_url=RESPONSE_URL)
    ).result.value == "NOT_SUPPORTED"
    await sim.close()
