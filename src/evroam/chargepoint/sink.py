"""From charger events to OCPI objects: EVSE statuses, Sessions, and a priced CDR at the end.

:class:`OcpiSink` is a :data:`~evroam.chargepoint.EventListener` for a CPO node:

* :class:`~evroam.chargepoint.StatusChanged` → the EVSE status of our own location
  (:class:`EvseStatuses`; the locations service stores it and queues its PATCH for the partners);
* :class:`~evroam.chargepoint.TransactionStarted` → a new ACTIVE :class:`~evroam.model.Session` (id = the
  transaction id) with the token, the ``authorization_reference`` of the StartSession and the location,
  EVSE and connector;
* each :class:`~evroam.chargepoint.MeterValues` → the Session updated: ``kwh``, one more
  :class:`~evroam.model.ChargingPeriod` for the interval since the previous reading (ENERGY kWh, TIME or
  PARKING_TIME hours, MAX_POWER kW) and the running ``total_cost`` estimated by the tariff engine;
* :class:`~evroam.chargepoint.TransactionStopped` → the Session COMPLETED, and a :class:`~evroam.model.CDR`
  priced by the tariff engine (:mod:`evroam.tariffs`) from the transaction's meter readings, with the
  connector's tariffs (``tariff_ids``) evaluated in the location's time zone. The CDR's charging
  periods, totals and costs are the engine's, money rounded to the cent.

Where the Sessions and CDRs go is a port (:class:`ChargingRecords`): the sessions and CDRs modules
store them and push them to the eMSP. Times are the charger's (the simulator's clock).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

import msgspec

from evroam.core.types import CiString, DateTime
from evroam.model.cdrs import CDR, CdrDimension, CdrLocation, CdrToken, ChargingPeriod
from evroam.model.common import Price, TaxAmount
from evroam.model.enums import CdrDimensionType, SessionStatus, Status
from evroam.model.locations import Location
from evroam.model.sessions import Session
from evroam.model.tariffs import Tariff
from evroam.tariffs import MeterValue as EngineReading
from evroam.tariffs import Price as EnginePrice
from evroam.tariffs import PricingResult, State, TariffError, estimate, price
from evroam.tariffs import Session as EngineSession
from evroam.tariffs import Tariff as EngineTariff
from evroam.tariffs.adapt import tariff_from_wire

from .port import (
    ChargePointEvent,
    ChargeState,
    MeterValues,
    StatusChanged,
    TransactionStarted,
    TransactionStopped,
)

__all__ = [
    "Catalogue",
    "ChargingRecords",
    "EvseStatuses",
    "OcpiSink",
    "cdr_price",
    "engine_session",
    "engine_tariffs",
]

log = logging.getLogger(__name__)

_HOURS = Decimal(3600)
_CENT = Decimal("0.01")
_VOLUME = Decimal("0.000001")
_DEFAULT_CURRENCY = "EUR"


class EvseStatuses(Protocol):
    """Where EVSE status changes go (the CPO's locations management)."""

    async def set_status(
        self, evse_uid: str, status: Status, *, party: tuple[str, str] | None = None
    ) -> Location: ...


class ChargingRecords(Protocol):
    """Where Sessions and CDRs go (the sessions and CDRs modules: stored, then pushed)."""

    async def session_changed(
        self, session: Session, *, created: bool, new_periods: tuple[ChargingPeriod, ...]
    ) -> None:
        """A Session was created (``created``) or updated; ``new_periods`` were appended to it."""
        ...

    async def cdr_created(self, cdr: CDR) -> None: ...


def engine_tariffs(tariffs: Sequence[Tariff]) -> list[EngineTariff]:
    """Canonical tariffs as the engine reads them (through their OCPI 2.3.0 form, which keeps
    ``tax_included`` and every VAT rate)."""
    from evroam.ocpi.v2_3_0.convert import tariff_from_model

    return [tariff_from_wire(tariff_from_model(t)) for t in tariffs]


def engine_session(readings: Sequence[MeterValues], end: DateTime) -> EngineSession:
    """A transaction's meter readings as the engine's session (each reading opens a period)."""
    return EngineSession.from_meter_values(
        [
            EngineReading(
                time=r.at,
                energy=r.energy,
                state=State.CHARGING if r.state is ChargeState.CHARGING else State.PARKING,
                power=r.power,
                current=r.current,
            )
            for r in readings
        ],
        end,
    )


def _money(value: EnginePrice) -> Price:
    """An engine amount (rounded to the cent) as a canonical Price."""
    before = value.excl_vat if value.excl_vat is not None else Decimal(0)
    taxes = tuple(
        TaxAmount(name=t.name, amount=t.amount.quantize(_CENT, ROUND_HALF_UP), percentage=t.percentage)
        for t in value.taxes
    )
    return Price(
        before_taxes=before.quantize(_CENT, ROUND_HALF_UP),
        taxes=taxes or None,
        after_taxes=None if value.incl_vat is None else value.incl_vat.quantize(_CENT, ROUND_HALF_UP),
    )


def _volume(value: Decimal) -> Decimal:
    """A CDR quantity (kWh, hours) to six decimals (a few milliseconds), trailing zeros dropped."""
    quantized = value.quantize(_VOLUME, ROUND_HALF_UP).normalize()
    return quantized.quantize(Decimal(1)) if quantized == quantized.to_integral() else quantized


def cdr_price(result: PricingResult) -> dict[str, object]:
    """The CDR fields the engine's result gives: charging periods, totals (quantities to six decimals)
    and costs (to the cent)."""
    rounded = result.rounded(2)
    periods = tuple(
        ChargingPeriod(
            start_date_time=DateTime.from_datetime(p.start),
            dimensions=tuple(
                CdrDimension(type=CdrDimensionType(d.type), volume=_volume(d.volume)) for d in p.dimensions
            ),
            tariff_id=None if p.tariff_id is None else CiString(p.tariff_id),
        )
        for p in rounded.charging_periods
    )
    return {
        "charging_periods": periods,
        "total_cost": _money(rounded.total_cost),
        "total_fixed_cost": _money(rounded.total_fixed_cost),
        "total_energy": _volume(rounded.total_energy),
        "total_energy_cost": _money(rounded.total_energy_cost),
        "total_time": _volume(rounded.total_time),
        "total_time_cost": _money(rounded.total_time_cost),
        "total_parking_time": _volume(rounded.total_parking_time),
        "total_parking_cost": _money(rounded.total_parking_cost),
    }


@dataclass
class _Running:
    session: Session
    location: Location
    tariffs: tuple[Tariff, ...]
    meter_start: Decimal
    readings: list[MeterValues] = field(default_factory=list)
    engine: list[EngineTariff] | None = None
    """``tariffs`` as the engine reads them, converted once (each reading is estimated with them)."""

    def engine_tariffs(self) -> list[EngineTariff]:
        if self.engine is None:
            self.engine = engine_tariffs(self.tariffs)
        return self.engine


class Catalogue(Protocol):
    """Where the sink finds the CPO's own locations and tariffs (the node gives it the modules' ones)."""

    async def own_location(self, location_id: str) -> Location | None:
        """Our own location of that id (under any of our CPO parties), ``None`` when there is none."""
        ...

    async def own_tariff(self, country_code: str, party_id: str, tariff_id: str) -> Tariff | None:
        """Our own tariff, ``None`` when there is none."""
        ...


class OcpiSink:
    """Turns one CPO's charger events into EVSE statuses, Sessions and CDRs.

    ``catalogue`` finds our own locations (those the chargers belong to) and their tariffs.
    """

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        statuses: EvseStatuses,
        records: ChargingRecords,
    ) -> None:
        self._catalogue = catalogue
        self._statuses = statuses
        self._records = records
        self._running: dict[str, _Running] = {}
        self.cdrs: list[CDR] = []
        """The CDRs produced so far by this process (newest last)."""

    async def __call__(self, event: ChargePointEvent) -> None:
        if isinstance(event, StatusChanged):
            await self._status(event)
        elif isinstance(event, TransactionStarted):
            await self._started(event)
        elif isinstance(event, MeterValues):
            await self._reading(event)
        elif isinstance(event, TransactionStopped):
            await self._stopped(event)
        # LimitChanged: the readings around it carry the power; the chargingprofiles module reports it

    # -- locations ---------------------------------------------------------------------------------

    async def _location(self, location_id: str) -> Location | None:
        return await self._catalogue.own_location(location_id)

    async def _status(self, event: StatusChanged) -> None:
        location = await self._location(event.location_id)
        if location is None:
            log.warning("status of EVSE %s: location %s is not ours", event.evse_uid, event.location_id)
            return
        await self._statuses.set_status(
            event.evse_uid, event.status, party=(str(location.country_code), str(location.party_id))
        )

    async def _tariffs(self, location: Location, evse_uid: str, connector_id: str) -> tuple[Tariff, ...]:
        evse = location.evse(evse_uid)
        connector = None if evse is None else next((c for c in evse.connectors if c.id == connector_id), None)
        found: list[Tariff] = []
        for tariff_id in (connector.tariff_ids if connector is not None else None) or ():
            tariff = await self._catalogue.own_tariff(
                str(location.country_code), str(location.party_id), str(tariff_id)
            )
            if tariff is not None:
                found.append(tariff)
        return tuple(found)

    # -- sessions ----------------------------------------------------------------------------------

    async def resume(self, started: TransactionStarted, readings: Sequence[MeterValues]) -> bool:
        """Take up a transaction that a previous process began (its Session is stored already): rebuild
        its running state from its start and its readings, without storing or pushing anything. A
        charger bridge that keeps what its chargers sent calls it at start-up; ``False``: the location
        is not ours (no session was made then either)."""
        running = await self._running_of(started)
        if running is None:
            return False
        for reading in readings:
            self._step(running, reading)
        self._running[started.transaction_id.casefold()] = running
        return True

    async def _running_of(self, event: TransactionStarted) -> _Running | None:
        location = await self._location(event.location_id)
        if location is None:
            log.error(
                "transaction %s at unknown location %s: no session", event.transaction_id, event.location_id
            )
            return None
        tariffs = await self._tariffs(location, event.evse_uid, event.connector_id)
        token = event.token
        session = Session(
            country_code=location.country_code,
            party_id=location.party_id,
            id=CiString(event.transaction_id),
            start_date_time=event.at,
            kwh=Decimal(0),
            cdr_token=CdrToken(
                contract_id=token.contract_id,
                uid=token.uid,
                type=token.type,
                country_code=token.country_code,
                party_id=token.party_id,
            ),
            auth_method=event.auth_method,
            authorization_reference=None
            if event.authorization_reference is None
            else CiString(event.authorization_reference),
            location_id=location.id,
            evse_uid=CiString(event.evse_uid),
            connector_id=CiString(event.connector_id),
            currency=tariffs[0].currency if tariffs else _DEFAULT_CURRENCY,
            status=SessionStatus.ACTIVE,
            charging_periods=(),
            last_updated=event.at,
        )
        return _Running(session=session, location=location, tariffs=tariffs, meter_start=event.meter_start)

    async def _started(self, event: TransactionStarted) -> None:
        running = await self._running_of(event)
        if running is None:
            return
        self._running[event.transaction_id.casefold()] = running
        await self._records.session_changed(running.session, created=True, new_periods=())

    def _period(self, previous: MeterValues, current: MeterValues) -> ChargingPeriod:
        hours = Decimal(str((current.at - previous.at).total_seconds())) / _HOURS
        time_dimension = (
            CdrDimensionType.TIME if previous.state is ChargeState.CHARGING else CdrDimensionType.PARKING_TIME
        )
        return ChargingPeriod(
            start_date_time=previous.at,
            dimensions=(
                CdrDimension(type=CdrDimensionType.ENERGY, volume=current.energy - previous.energy),
                CdrDimension(type=time_dimension, volume=hours.quantize(Decimal("0.000001"))),
                CdrDimension(type=CdrDimensionType.MAX_POWER, volume=previous.power),
            ),
        )

    def _estimate(self, running: _Running, now: DateTime) -> Price | None:
        if not running.tariffs or not running.readings:
            return None
        try:
            result = estimate(
                running.engine_tariffs(),
                engine_session(running.readings, now),
                now,
                running.location.time_zone or "UTC",
            )
        except (TariffError, ValueError) as exc:
            log.warning("session %s: no cost estimate: %s", running.session.id, exc)
            return None
        return _money(result.rounded(2).total_cost)

    def _step(self, running: _Running, event: MeterValues) -> ChargingPeriod | None:
        """Add a reading to a running transaction; the new charging period of its Session, if any."""
        previous = running.readings[-1] if running.readings else None
        running.readings.append(event)
        if previous is None or event.at <= previous.at:
            return None  # the reading at the start: nothing happened yet
        period = self._period(previous, event)
        running.session = msgspec.structs.replace(
            running.session,
            kwh=event.energy - running.meter_start,
            charging_periods=(*(running.session.charging_periods or ()), period),
            total_cost=self._estimate(running, event.at),
            last_updated=event.at,
        )
        return period

    async def _reading(self, event: MeterValues) -> None:
        running = self._running.get(event.transaction_id.casefold())
        if running is None:
            return
        period = self._step(running, event)
        if period is not None:
            await self._records.session_changed(running.session, created=False, new_periods=(period,))

    async def _stopped(self, event: TransactionStopped) -> None:
        running = self._running.pop(event.transaction_id.casefold(), None)
        if running is None:
            return
        cdr = self._cdr(running, event)
        session = msgspec.structs.replace(
            running.session,
            kwh=event.meter_stop - running.meter_start,
            end_date_time=event.at,
            status=SessionStatus.COMPLETED,
            total_cost=cdr.total_cost,
            last_updated=event.at,
        )
        running.session = session
        await self._records.session_changed(session, created=False, new_periods=())
        self.cdrs.append(cdr)
        await self._records.cdr_created(cdr)

    def _cdr(self, running: _Running, event: TransactionStopped) -> CDR:
        session = running.session
        location = running.location
        evse = location.evse(str(session.evse_uid)) if session.evse_uid is not None else None
        connector = (
            None if evse is None else next((c for c in evse.connectors if c.id == session.connector_id), None)
        )
        cdr_location = CdrLocation(
            id=location.id,
            name=location.name,
            address=location.address,
            city=location.city,
            postal_code=location.postal_code,
            state=location.state,
            country=location.country,
            coordinates=location.coordinates,
            evse_uid=session.evse_uid,
            evse_id=None if evse is None else evse.evse_id,
            connector_id=session.connector_id,
            connector_standard=None if connector is None else connector.standard,
            connector_format=None if connector is None else connector.format,
            connector_power_type=None if connector is None else connector.power_type,
        )
        readings = running.readings or [
            MeterValues(
                transaction_id=str(session.id),
                at=session.start_date_time,
                energy=running.meter_start,
                power=Decimal(0),
            )
        ]
        fields: dict[str, object]
        if running.tariffs:
            result = price(
                running.engine_tariffs(),
                engine_session(readings, event.at),
                location.time_zone or "UTC",
            )
            fields = cdr_price(result)
        else:
            log.warning("session %s: the connector has no tariff of ours: the CDR costs nothing", session.id)
            energy = event.meter_stop - running.meter_start
            hours = Decimal(str((event.at - session.start_date_time).total_seconds())) / _HOURS
            zero = Price(before_taxes=Decimal("0.00"))
            fields = {
                "charging_periods": tuple(session.charging_periods or ()),
                "total_cost": zero,
                "total_energy": energy,
                "total_time": hours.quantize(Decimal("0.000001")),
            }
        return CDR(
            country_code=session.country_code,
            party_id=session.party_id,
            id=session.id,
            start_date_time=session.start_date_time,
            end_date_time=event.at,
            session_id=session.id,
            cdr_token=session.cdr_token,
            auth_method=session.auth_method,
            authorization_reference=session.authorization_reference,
            cdr_location=cdr_location,
            currency=session.currency,
            tariffs=running.tariffs or None,
            last_updated=event.at,
            **fields,  # type: ignore[arg-type]
        )
