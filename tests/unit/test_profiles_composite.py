"""The composite of several senders' profiles (the lowest wins) and the simulator obeying limits:
W and A per phase, a transaction's and its EVSE's limit, a schedule's next period as a new reading."""

from __future__ import annotations

import json
from decimal import Decimal

from evroam import model as m
from evroam.chargepoint import (
    ChargePointEvent,
    ChargingLimit,
    ClearLimitRequest,
    LimitChanged,
    LimitPeriod,
    LimitRequest,
    LimitUnit,
    MeterValues,
    StartRequest,
)
from evroam.core.types import DateTime
from evroam.modules.chargingprofiles import composite
from evroam.modules.locations import parse_locations
from evroam.sim import ManualTime, Simulator, site
from evroam.testing import SequentialIds

T0 = DateTime.parse("2026-01-05T08:00:00Z")


def at(seconds: int) -> DateTime:
    from datetime import timedelta

    return DateTime.from_datetime(T0 + timedelta(seconds=seconds))


def profile(unit: str, *periods: tuple[int, str], duration: int | None = None) -> m.ChargingProfile:
    return m.ChargingProfile(
        charging_rate_unit=m.ChargingRateUnit(unit),
        duration=duration,
        charging_profile_period=tuple(
            m.ChargingProfilePeriod(start_period=s, limit=Decimal(v)) for s, v in periods
        ),
    )


def test_the_lowest_limit_wins_at_every_moment() -> None:
    a = profile("W", (0, "7000"), (600, "3000"))
    b = profile("W", (0, "5000"), duration=1200)
    limit = composite([(a, T0), (b, T0)])
    assert limit is not None and limit.unit is LimitUnit.W
    assert [(p.start, p.limit) for p in limit.periods] == [(T0, 5000), (at(600), 3000)]
    # b ends at 1200 s: a's 3000 W stays the lowest
    assert limit.limit_at(at(1500)) == 3000


def test_a_profile_that_ends_leaves_no_limit_and_mixed_units_compare_in_watts() -> None:
    only = composite([(profile("W", (0, "3700"), duration=600), T0)])
    assert only is not None and [(p.start, p.limit) for p in only.periods] == [(T0, 3700), (at(600), None)]
    mixed = composite(
        [(profile("A", (0, "16")), T0), (profile("W", (0, "10000")), T0)], phases=3, volts=Decimal(230)
    )
    assert (
        mixed is not None and mixed.unit is LimitUnit.W and mixed.periods[0].limit == 10000
    )  # 16 A = 11040 W
    amps = composite([(profile("A", (0, "16")), T0), (profile("A", (0, "10")), T0)])
    assert amps is not None and amps.unit is LimitUnit.A and amps.periods[0].limit == 10
    assert composite([]) is None


async def test_the_simulated_car_follows_the_limit() -> None:
    locations = parse_locations(json.dumps(site.demo_locations("NL", "CPO", T0)).encode(), "2.2.1")
    time = ManualTime(T0)
    sim = Simulator(locations, time=time, ids=SequentialIds("tx"))
    events: list[ChargePointEvent] = []

    async def listen(event: ChargePointEvent) -> None:
        events.append(event)

    sim.subscribe(listen)
    token = m.Token(
        country_code="DE", party_id="EMS", uid="A", type="APP_USER", contract_id="C", issuer="i", valid=True,
        whitelist=m.WhitelistType.ALLOWED, last_updated=T0,
    )  # fmt: skip
    await sim.start(
        StartRequest(location_id=site.LOCATION_ID, evse_uid=site.AC_EVSES[0], connector_id=None, token=token)
    )
    await time.advance(30)  # plugged in
    (tx,) = sim.transactions
    start = time.now()
    # 10 A per phase on three phases: 6.9 kW; after 600 s 5 kW (W); the EVSE's own limit of 4 kW is lower
    schedule = ChargingLimit(unit=LimitUnit.A, periods=(LimitPeriod(start=start, limit=Decimal(10)),))
    assert (
        await sim.set_limit(LimitRequest(transaction_id=tx.transaction_id, limit=schedule))
    ).value == "ACCEPTED"
    later = ChargingLimit(unit=LimitUnit.W, periods=(LimitPeriod(start=at(30 + 600), limit=Decimal(4000)),))
    assert (
        await sim.set_limit(
            LimitRequest(location_id=site.LOCATION_ID, evse_uid=site.AC_EVSES[0], limit=later)
        )
    ).value == "ACCEPTED"
    await time.advance(1200)
    readings = [e for e in events if isinstance(e, MeterValues)]
    powers = [(r.at, r.power) for r in readings]
    assert (start, Decimal("6.90")) in powers  # a reading when the limit was set
    assert (at(630), Decimal("4.00")) in powers  # and one when the EVSE's limit began
    first = next(r for r in readings if r.at == start)
    boundary = next(r for r in readings if r.at == at(630))
    assert boundary.energy - first.energy == Decimal("1.150")  # 6.9 kW for 600 s
    changes = [e for e in events if isinstance(e, LimitChanged)]
    assert [c.active.periods[0].limit for c in changes][-1] == Decimal("4000.0")
    assert (
        await sim.clear_limit(ClearLimitRequest(location_id=site.LOCATION_ID, evse_uid=site.AC_EVSES[0]))
    ).value == "ACCEPTED"
    assert (await sim.clear_limit(ClearLimitRequest(transaction_id=tx.transaction_id))).value == "ACCEPTED"
    assert [e for e in events if isinstance(e, MeterValues)][-1].power == Decimal("11.00")  # full power again
    await sim.close()
