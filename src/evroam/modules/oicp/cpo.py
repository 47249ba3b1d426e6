"""evroam as an OICP CPO: the same services as OCPI drive it.

* :class:`OicpPusher` is the oicp kit's pusher. A CPO's connection is an outbox *relay*
  (:class:`~evroam.store.outbox.Relay`): every change the locations, sessions, CDRs and tariffs services
  queue for their OCPI partners is queued for the hub too, in the same transaction, and the push worker
  hands it to this pusher, one change after the other in the order they happened (all of the relay's
  rows share one object key). A location change becomes EVSE data ``insert``/``update``/``delete`` and EVSE
  status pushes (a status-only PATCH: one status push); a session change a charging notification
  (Start, Progress at most every 5 minutes, End); a CDR the OICP CDR (once: a CDR the hub already holds
  counts as delivered); a tariff change the pricing products and the EVSE pricing. A transport failure
  or a transient refusal raises, and the worker retries under the kit's terms (forever: CDRs are money).
* :class:`CpoEndpoint` serves what the hub calls on a CPO (remote start/stop, reservation start/stop)
  through the charge point port, as the OCPI commands module does, and authorizes an RFID card swiped
  at a charger with the hub (:meth:`CpoEndpoint.swipe`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from evroam.chargepoint.port import (
    Answer,
    CancelRequest,
    ChargePoint,
    ChargePointEvent,
    ReserveRequest,
    StartRequest,
    StopReason,
    StopRequest,
    TransactionStarted,
    TransactionStopped,
)
from evroam.core.clock import Clock, SystemClock
from evroam.core.types import DateTime
from evroam.http.oicp import OicpError
from evroam.model.cdrs import ChargingPeriod
from evroam.model.enums import CdrDimensionType, SessionStatus, Status
from evroam.model.locations import Location
from evroam.model.sessions import Session
from evroam.modules.cdrs import CDRS
from evroam.modules.locations import LOCATIONS
from evroam.modules.oicp.hub import HubClients, refusal
from evroam.modules.oicp.records import (
    Connection,
    OicpSession,
    load_connection,
    load_session,
    load_state,
    save_session,
    save_state,
)
from evroam.modules.sessions import SESSIONS
from evroam.modules.tariffs import TARIFFS
from evroam.oicp import codec
from evroam.oicp import messages as m
from evroam.oicp.convert import (
    OperatorProfile,
    charge_detail_record,
    evse_record,
    evse_records,
    pricing_record_of,
    status_to_oicp,
    token_of,
)
from evroam.oicp.ids import normalize_id
from evroam.oicp.operations import by_name, status
from evroam.store.outbox import ObjectChange, PartnerTarget, relay_targets
from evroam.store.port import Operations, Store

log = logging.getLogger(__name__)

__all__ = ["CpoEndpoint", "OicpPusher", "find_evse", "push_all_evse_data"]

PUSH_DATA = by_name("eRoamingPushEvseData")
PUSH_STATUS = by_name("eRoamingPushEvseStatus")
NOTIFY = by_name("eRoamingChargingNotifications")
SEND_CDR = by_name("eRoamingChargeDetailRecord")
PUSH_PRODUCTS = by_name("eRoamingPushPricingProductData")
PUSH_PRICING = by_name("eRoamingPushEVSEPricing")
AUTHORIZE_START = by_name("eRoamingAuthorizeStart")

#: Progress notifications of one session at least this far apart (OICP).
PROGRESS_EVERY = timedelta(minutes=5)
_FINAL = frozenset({SessionStatus.COMPLETED, SessionStatus.INVALID})


def charging_end_of(periods: Sequence[ChargingPeriod], end: datetime) -> DateTime:
    """When charging stopped (OICP ``ChargingEnd``): where the last charging period that delivered energy
    ends (the start of the period after it, or ``end`` when it is the last one); ``end`` when no period
    delivered any. The periods after it are the car standing full or idle, part of the session only."""
    charging_end = end
    for index, period in enumerate(periods):
        if any(d.type is CdrDimensionType.ENERGY and d.volume > 0 for d in period.dimensions):
            charging_end = periods[index + 1].start_date_time if index + 1 < len(periods) else end
    return DateTime.from_datetime(charging_end)


def progress_at_of(session: Session) -> DateTime:
    """When the latest meter reading of a running session was taken (OICP ``EventOccurred`` of a
    Progress notification), on the clock of ``start_date_time`` (the charger's): the end of its last
    charging period, i.e. its start plus its TIME or PARKING_TIME hours. A session without such a period
    falls back to ``last_updated`` (the node's clock). Never before the session's start, so that
    ``ChargingDuration`` (EventOccurred - ChargingStart) is never negative."""
    at: datetime = session.last_updated
    periods = session.charging_periods or ()
    if periods:
        last = periods[-1]
        hours = [
            d.volume
            for d in last.dimensions
            if d.type in (CdrDimensionType.TIME, CdrDimensionType.PARKING_TIME)
        ]
        if hours:
            at = last.start_date_time + timedelta(seconds=float(hours[0] * 3600))
    return DateTime.from_datetime(max(at, session.start_date_time))


def profile_of(connection: Connection) -> OperatorProfile:
    return OperatorProfile(
        operator_id=connection.id, operator_name=connection.name, hotline=connection.hotline
    )


def _location_key(change_or_location: Any) -> str:
    c = change_or_location
    object_id = getattr(c, "object_id", None) or c.id
    return f"{c.country_code}/{c.party_id}/{object_id}".casefold()


def _data(connection: Connection, action: m.ActionType, records: list[m.EvseDataRecord]) -> m.PushEvseData:
    return m.PushEvseData(
        ActionType=action,
        OperatorEvseData=m.OperatorEvseData(
            OperatorID=connection.id, OperatorName=connection.name[:100], EvseDataRecord=records
        ),
    )


def _statuses(
    connection: Connection, action: m.ActionType, pairs: Sequence[tuple[str, m.EvseStatus]]
) -> m.PushEvseStatus:
    return m.PushEvseStatus(
        ActionType=action,
        OperatorEvseStatus=m.OperatorEvseStatus(
            OperatorID=connection.id,
            OperatorName=connection.name[:100],
            EvseStatusRecord=[m.EvseStatusRecord(EvseID=e, EvseStatus=s) for e, s in pairs],
        ),
    )


async def _own_locations(ops: Operations) -> list[Location]:
    return [loc async for loc in LOCATIONS.lookups.iter_locations(ops, partners=[None])]


async def find_evse(ops: Operations, evse_id: str) -> tuple[Location, str] | None:
    """Our location and EVSE uid of an EvseID (compared without separators, case-insensitively)."""
    wanted = normalize_id(evse_id)
    for location in await _own_locations(ops):
        for evse in location.evses or ():
            if evse.evse_id and normalize_id(str(evse.evse_id)) == wanted:
                return location, str(evse.uid)
    return None


async def push_all_evse_data(
    ops: Operations, connection: Connection, clients: HubClients, now: datetime
) -> list[str]:
    """``fullLoad`` of EVSE data and EVSE status of all our locations (``evroam oicp push evse-data --full``,
    and on connecting); returns notes (skipped EVSEs, refusals)."""
    client = clients.get(connection)
    profile = profile_of(connection)
    locations = await _own_locations(ops)
    records, notes = evse_records(locations, profile, now)
    state = await load_state(ops, "CPO")
    answer = await client.call(PUSH_DATA, connection.id, _data(connection, m.ActionType.FULL_LOAD, records))
    if (note := refusal(answer, "EVSE data fullLoad")) is not None:
        notes.append(note)
    else:
        pairs = []
        state.pushed = {}
        for location in locations:
            ids = [r.EvseID for r in evse_records([location], profile, now)[0]]
            if ids:
                state.pushed[_location_key(location)] = ids
            for evse in location.evses or ():
                oicp = status_to_oicp(evse.status)
                if evse.evse_id and str(evse.evse_id) in ids and oicp is not None:
                    pairs.append((str(evse.evse_id), oicp))
        answer = await client.call(
            PUSH_STATUS, connection.id, _statuses(connection, m.ActionType.FULL_LOAD, pairs)
        )
        if (note := refusal(answer, "EVSE status fullLoad")) is not None:
            notes.append(note)
    state.last_push, state.last_push_operation = now, PUSH_DATA.name
    if notes:
        state.last_error, state.last_error_at = "; ".join(notes)[:1000], now
    await save_state(ops, "CPO", state, now)
    return notes


class OicpPusher:
    """The oicp kit's pusher: delivers a CPO's relayed changes to the hub (see the module docstring)."""

    module = "oicp"

    def __init__(self, clients: HubClients | None = None, clock: Clock | None = None) -> None:
        self.clients = clients or HubClients()
        self._clock = clock or SystemClock()

    async def target(self, ops: Operations, partner_id: str) -> PartnerTarget | None:
        for target in await relay_targets(ops):
            if target.partner_id == partner_id:
                return target
        return None

    async def prepare(self, *args: Any) -> Any:  # pragma: no cover - the worker calls deliver instead
        raise NotImplementedError("the oicp pusher delivers its changes itself")

    async def deliver(self, ops: Store, target: PartnerTarget, change: ObjectChange) -> str | None:
        connection = await load_connection(ops, "CPO")
        if connection is None:
            return "no OICP CPO connection: not sent"
        now = self._clock.now()
        handler = {
            "locations": self._location,
            "sessions": self._session,
            "cdrs": self._cdr,
            "tariffs": self._tariffs,
        }.get(change.module)
        if handler is None:
            return f"{change.module} is not relayed to OICP"
        try:
            note = await handler(ops, connection, change, now)
        except Exception as exc:
            state = await load_state(ops, "CPO")
            state.last_error, state.last_error_at = f"{change.module} {change.object_id}: {exc}"[:1000], now
            await save_state(ops, "CPO", state, now)
            raise
        state = await load_state(ops, "CPO")
        state.last_push = now
        state.last_push_operation = change.module
        if note is not None and "refused" in note:
            state.last_error, state.last_error_at = note[:1000], now
            state.refused += 1
        await save_state(ops, "CPO", state, now)
        return note

    # -- locations -> EVSE data and status ----------------------------------------------------------

    async def _location(
        self, ops: Store, connection: Connection, change: ObjectChange, now: datetime
    ) -> str | None:
        client = self.clients.get(connection)
        state = await load_state(ops, "CPO")
        key = _location_key(change)
        pushed = list(state.pushed.get(key, []))
        record = await LOCATIONS.lookups.load_location_record(
            ops, change.country_code, change.party_id, change.object_id
        )
        location = record.location if record is not None and record.partner_id is None else None
        if location is None:
            return "location gone: its EVSEs stay on the hub until a fullLoad" if pushed else "not published"
        profile = profile_of(connection)
        patch = codec.parse(change.patch) if change.patch else {}
        status_only = (
            change.method == "PATCH"
            and change.evse_uid is not None
            and set(patch) <= {"status", "last_updated"}
        )
        if status_only:
            evse = location.evse(str(change.evse_uid))
            if evse is not None and evse.evse_id and str(evse.evse_id) in pushed:
                # the status the change set (not the current one): after an outage every change arrives
                oicp = status_to_oicp(Status(patch.get("status", evse.status)))
                if oicp is not None:
                    answer = await client.call(
                        PUSH_STATUS,
                        connection.id,
                        _statuses(connection, m.ActionType.UPDATE, [(str(evse.evse_id), oicp)]),
                    )
                    return refusal(answer, f"status of {evse.evse_id}")
        current, skipped = evse_records([location], profile, location.last_updated)
        ids = [r.EvseID for r in current]
        notes = list(skipped)
        inserts = [r for r in current if r.EvseID not in pushed]
        updates = [r for r in current if r.EvseID in pushed]
        gone = [
            e
            for e in location.evses or ()
            if e.evse_id and str(e.evse_id) in pushed and str(e.evse_id) not in ids
        ]
        for action, records in ((m.ActionType.INSERT, inserts), (m.ActionType.UPDATE, updates)):
            if records:
                answer = await client.call(PUSH_DATA, connection.id, _data(connection, action, records))
                if (note := refusal(answer, f"EVSE data {action.value}")) is not None:
                    notes.append(note)
        deletes = []
        for evse in gone:
            try:
                deletes.append(evse_record(location, evse, profile, location.last_updated))
            except ValueError as exc:
                notes.append(str(exc))
        if deletes:
            answer = await client.call(
                PUSH_DATA, connection.id, _data(connection, m.ActionType.DELETE, deletes)
            )
            if (note := refusal(answer, "EVSE data delete")) is not None:
                notes.append(note)
        pairs = []
        for evse in location.evses or ():
            oicp = status_to_oicp(evse.status)
            if evse.evse_id and str(evse.evse_id) in ids and oicp is not None:
                pairs.append((str(evse.evse_id), oicp))
        if pairs:
            answer = await client.call(
                PUSH_STATUS, connection.id, _statuses(connection, m.ActionType.UPDATE, pairs)
            )
            if (note := refusal(answer, "EVSE status")) is not None:
                notes.append(note)
        state = await load_state(ops, "CPO")
        if ids:
            state.pushed[key] = ids
        else:
            state.pushed.pop(key, None)
        await save_state(ops, "CPO", state, now)
        return "; ".join(notes) or None

    # -- sessions -> charging notifications ---------------------------------------------------------

    async def _session(
        self, ops: Store, connection: Connection, change: ObjectChange, now: datetime
    ) -> str | None:
        record = await SESSIONS.lookups.find_session(
            ops, [(change.country_code, change.party_id)], change.object_id
        )
        if record is None:
            return "session gone"
        session = record.session
        sid = str(session.authorization_reference or "")
        ours = await load_session(ops, "CPO", sid) if sid else None
        if ours is None or ours.evse_id is None:
            return "not an OICP session"
        client = self.clients.get(connection)
        ident = codec.decode(ours.identification, m.Identification) if ours.identification else None
        common: dict[str, Any] = {
            "SessionID": sid,
            "EvseID": ours.evse_id,
            "OperatorID": connection.id,
            "Identification": ident,
        }
        notes = []
        final = session.status in _FINAL
        if "Start" not in ours.notifications:
            start = m.ChargingNotificationStart(
                **common, ChargingStart=session.start_date_time, SessionStart=session.start_date_time
            )
            answer = await client.call(NOTIFY, None, start)
            notes.append(refusal(answer, "Start notification"))
            ours.notifications.append("Start")
        elif not final and session.kwh > 0:
            # spaced on the node's clock (what the hub's rate limit counts), dated on the charger's
            stored = session.last_updated
            if (
                ours.progress_at is None
                or stored - DateTime.from_datetime(ours.progress_at) >= PROGRESS_EVERY
            ):
                event = progress_at_of(session)
                progress = m.ChargingNotificationProgress(
                    **common,
                    ChargingStart=session.start_date_time,
                    EventOccurred=event,
                    ChargingDuration=(event - session.start_date_time) // timedelta(milliseconds=1),
                    ConsumedEnergyProgress=session.kwh.quantize(Decimal("0.001")),
                )
                answer = await client.call(NOTIFY, None, progress)
                notes.append(refusal(answer, "Progress notification"))
                ours.notifications.append("Progress")
                ours.progress_at = stored
        if final and "End" not in ours.notifications:
            end_at = session.end_date_time or session.last_updated
            end = m.ChargingNotificationEnd(
                **common,
                ChargingStart=session.start_date_time,
                ChargingEnd=charging_end_of(session.charging_periods or (), end_at),  # as the CDR says
                SessionStart=session.start_date_time,
                SessionEnd=end_at,
                ConsumedEnergy=session.kwh.quantize(Decimal("0.001")),
            )
            answer = await client.call(NOTIFY, None, end)
            notes.append(refusal(answer, "End notification"))
            ours.notifications.append("End")
        await save_session(ops, ours, now)
        return "; ".join(n for n in notes if n) or None

    # -- CDRs ---------------------------------------------------------------------------------------

    async def _cdr(
        self, ops: Store, connection: Connection, change: ObjectChange, now: datetime
    ) -> str | None:
        record = await CDRS.lookups.load_cdr_record(
            ops, change.country_code, change.party_id, change.object_id
        )
        if record is None or not record.own:
            return "not one of our CDRs"
        cdr = record.document.cdr
        sid = str(cdr.authorization_reference or "")
        ours = await load_session(ops, "CPO", sid) if sid else None
        if ours is None or ours.evse_id is None or ours.identification is None:
            return "not an OICP session"
        if ours.cdr_sent:
            return "already sent to the hub"
        charging_end = charging_end_of(cdr.charging_periods, cdr.end_date_time)
        oicp = charge_detail_record(
            session_id=sid,
            evse_id=ours.evse_id,
            identification=codec.decode(ours.identification, m.Identification),
            session_start=cdr.start_date_time,
            session_end=cdr.end_date_time,
            charging_start=cdr.charging_periods[0].start_date_time
            if cdr.charging_periods
            else cdr.start_date_time,
            charging_end=charging_end,
            meter_start=Decimal(0),
            meter_end=cdr.total_energy,
            product_id=str(cdr.tariffs[0].id)[:50] if cdr.tariffs else None,
        )
        answer = await self.clients.get(connection).call(SEND_CDR, connection.id, oicp)
        note = refusal(answer, f"CDR {sid}")
        if note is None or "already" in note:
            ours.cdr_sent = True  # never twice: a CDR the hub holds is delivered
            await save_session(ops, ours, now)
            return None if note is None else "the hub already held it"
        return note

    # -- tariffs -> pricing -------------------------------------------------------------------------

    async def _tariffs(
        self, ops: Store, connection: Connection, change: ObjectChange, now: datetime
    ) -> str | None:
        return await push_pricing(ops, connection, self.clients)


async def push_pricing(ops: Operations, connection: Connection, clients: HubClients) -> str | None:
    """``fullLoad`` of our tariffs as pricing products (for every EMP, ``*``) and of the EVSE pricing
    (each EVSE's products: its connectors' tariffs)."""
    client = clients.get(connection)
    locations = await _own_locations(ops)
    products: dict[str, m.PricingProductDataRecord] = {}
    pricing = []
    notes = []
    for location in locations:
        for evse in location.evses or ():
            ids = []
            for connector in evse.connectors:
                for tariff_id in connector.tariff_ids or ():
                    tariff = await TARIFFS.lookups.load_tariff(
                        ops, location.country_code, location.party_id, tariff_id
                    )
                    if tariff is None:
                        continue
                    try:
                        products.setdefault(str(tariff.id), pricing_record_of(tariff))
                    except ValueError as exc:
                        notes.append(str(exc))
                        continue
                    ids.append(str(tariff.id)[:50])
            if evse.evse_id and ids and evse.status is not Status.REMOVED:
                pricing.append(
                    m.EvsePricing(
                        EvseID=str(evse.evse_id), ProviderID="*", EvseIDProductList=sorted(set(ids))
                    )
                )
    if not products:
        return "; ".join(notes) or "no tariff to price with"
    first = next(iter(products.values()))
    data = m.PricingProductData(
        OperatorID=connection.id,
        OperatorName=connection.name[:100],
        ProviderID="*",
        PricingDefaultPrice=first.PricePerReferenceUnit,
        PricingDefaultPriceCurrency=first.ProductPriceCurrency,
        PricingDefaultReferenceUnit=first.ReferenceUnit,
        PricingProductDataRecords=list(products.values()),
    )
    answer = await client.call(
        PUSH_PRODUCTS,
        connection.id,
        m.PushPricingProductData(ActionType=m.ActionType.FULL_LOAD, PricingProductData=data),
    )
    if (note := refusal(answer, "pricing products")) is not None:
        notes.append(note)
    answer = await client.call(
        PUSH_PRICING, connection.id, m.PushEvsePricing(ActionType=m.ActionType.FULL_LOAD, EVSEPricing=pricing)
    )
    if (note := refusal(answer, "EVSE pricing")) is not None:
        notes.append(note)
    return "; ".join(notes) or None


# -- what the hub calls on a CPO ---------------------------------------------------------------------

_ANSWERS: dict[Answer, str] = {
    Answer.ACCEPTED: "000",
    Answer.OCCUPIED: "602",
    Answer.INOPERATIVE: "700",
    Answer.UNKNOWN: "603",
    Answer.FAILED: "501",
    Answer.REJECTED: "501",
    Answer.NOT_SUPPORTED: "320",
}


_UNREACHABLE = "no charger connection on this node"


def _ack(answer: Answer | None, session_id: str | None, info: str | None = None) -> m.Acknowledgement:
    code = "501" if answer is None else _ANSWERS[answer]
    return m.Acknowledgement(Result=code == "000", StatusCode=status(code, info), SessionID=session_id)


class CpoEndpoint:
    """The CPO's OICP endpoints (C9-C12) and its RFID authorization with the hub, over the charge point
    port. ``answer_within`` bounds a charger's answer (Hubject closes a remote start after 60 s).
    ``charge_point`` ``None`` (no charger connection plugged into the node): every command is answered
    ``501`` (communication to the EVSE failed)."""

    def __init__(
        self,
        store: Store,
        charge_point: ChargePoint | None,
        clock: Clock,
        clients: HubClients | None = None,
        *,
        answer_within: float = 50.0,
        reservation_minutes: int = 15,
    ) -> None:
        self.store = store
        self.charge_point = charge_point
        self.clock = clock
        self.clients = clients or HubClients()
        self.answer_within = answer_within
        self.reservation_minutes = reservation_minutes
        self._hubject_sessions: dict[str, str] = {}
        """Transactions started here for a Hubject session -> its SessionID (for an Error notification)."""
        if charge_point is not None:
            charge_point.subscribe(self._on_event)

    def handlers(self) -> dict[str, Any]:
        return {
            "eRoamingAuthorizeRemoteStart": self.remote_start,
            "eRoamingAuthorizeRemoteStop": self.remote_stop,
            "eRoamingAuthorizeRemoteReservationStart": self.reservation_start,
            "eRoamingAuthorizeRemoteReservationStop": self.reservation_stop,
        }

    async def _on_event(self, event: ChargePointEvent) -> None:
        """A transaction started for a Hubject session: remember it (remote stop needs it). One of them
        stopped by a fault of the EVSE: an Error notification (CriticalError) to the hub."""
        if isinstance(event, TransactionStarted) and event.authorization_reference:
            ours = await load_session(self.store, "CPO", event.authorization_reference)
            if ours is not None:
                ours.transaction_id = event.transaction_id
                await save_session(self.store, ours, self.clock.now())
                self._hubject_sessions[event.transaction_id.casefold()] = ours.id
        elif isinstance(event, TransactionStopped):
            sid = self._hubject_sessions.pop(event.transaction_id.casefold(), None)
            if sid is not None and event.reason is StopReason.FAULT:
                await self._notify_error(sid, "the EVSE faulted; charging stopped")

    async def _notify_error(self, sid: str, info: str) -> None:
        """Sent when it happens, not through the outbox: a hub that does not take it is logged, not
        retried."""
        connection = await load_connection(self.store, "CPO")
        ours = await load_session(self.store, "CPO", sid)
        if connection is None or ours is None or ours.evse_id is None:
            return
        error = m.ChargingNotificationError(
            SessionID=sid,
            EvseID=ours.evse_id,
            OperatorID=connection.id,
            Identification=codec.decode(ours.identification, m.Identification)
            if ours.identification
            else None,
            ErrorType=m.ErrorType.CRITICAL_ERROR,
            ErrorAdditionalInfo=info,
        )
        try:
            answer = await self.clients.get(connection).call(NOTIFY, None, error)
        except OicpError as exc:
            log.warning("OICP Error notification of session %s not delivered: %s", sid, exc)
            return
        if (note := refusal(answer, "Error notification")) is not None:
            log.warning("OICP Error notification of session %s: %s", sid, note)
        # the session record is not written here: the pusher writes it too (its Start/Progress/End marks)

    async def _bounded(self, command: Any) -> Answer | None:
        try:
            result: Answer = await asyncio.wait_for(command, self.answer_within)
        except TimeoutError:
            return None
        return result

    async def remote_start(
        self, body: m.AuthorizeRemoteStart, ident: str | None, q: Mapping[str, str]
    ) -> m.Acknowledgement:
        if body.SessionID is None:
            return _ack(Answer.REJECTED, None, "no SessionID (the hub sets it)")
        found = await find_evse(self.store, body.EvseID)
        if found is None:
            return _ack(Answer.UNKNOWN, body.SessionID)
        location, evse_uid = found
        if self.charge_point is None:
            return _ack(None, body.SessionID, _UNREACHABLE)
        now = self.clock.now()
        await save_session(
            self.store,
            OicpSession(
                id=body.SessionID,
                role="CPO",
                evse_id=body.EvseID,
                identification=codec.encode(body.Identification),
                provider_id=body.ProviderID,
            ),
            now,
        )
        token = token_of(body.Identification, body.ProviderID, DateTime.from_datetime(now))
        answer = await self._bounded(
            self.charge_point.start(
                StartRequest(
                    location_id=str(location.id),
                    evse_uid=evse_uid,
                    connector_id=None,
                    token=token,
                    authorization_reference=body.SessionID,
                )
            )
        )
        return _ack(answer, body.SessionID)

    async def remote_stop(
        self, body: m.AuthorizeRemoteStop, ident: str | None, q: Mapping[str, str]
    ) -> m.Acknowledgement:
        ours = await load_session(self.store, "CPO", body.SessionID)
        if ours is None or ours.transaction_id is None:
            return m.Acknowledgement(Result=False, StatusCode=status("400"), SessionID=body.SessionID)
        if self.charge_point is None:
            return _ack(None, body.SessionID, _UNREACHABLE)
        answer = await self._bounded(self.charge_point.stop(StopRequest(transaction_id=ours.transaction_id)))
        return _ack(answer, body.SessionID)

    async def reservation_start(
        self, body: m.AuthorizeRemoteReservationStart, ident: str | None, q: Mapping[str, str]
    ) -> m.Acknowledgement:
        if body.SessionID is None:
            return _ack(Answer.REJECTED, None, "no SessionID (the hub sets it)")
        found = await find_evse(self.store, body.EvseID)
        if found is None:
            return _ack(Answer.UNKNOWN, body.SessionID)
        location, evse_uid = found
        if self.charge_point is None:
            return _ack(None, body.SessionID, _UNREACHABLE)
        now = self.clock.now()
        await save_session(
            self.store,
            OicpSession(
                id=body.SessionID,
                role="CPO",
                evse_id=body.EvseID,
                identification=codec.encode(body.Identification),
                provider_id=body.ProviderID,
                reservation=True,
            ),
            now,
        )
        minutes = body.Duration or self.reservation_minutes
        answer = await self._bounded(
            self.charge_point.reserve(
                ReserveRequest(
                    reservation_id=body.SessionID,
                    location_id=str(location.id),
                    evse_uid=evse_uid,
                    token=token_of(body.Identification, body.ProviderID, DateTime.from_datetime(now)),
                    expiry_date=DateTime.from_datetime(now + timedelta(minutes=minutes)),
                    authorization_reference=body.SessionID,
                )
            )
        )
        return _ack(answer, body.SessionID)

    async def reservation_stop(
        self, body: m.AuthorizeRemoteReservationStop, ident: str | None, q: Mapping[str, str]
    ) -> m.Acknowledgement:
        ours = await load_session(self.store, "CPO", body.SessionID)
        if ours is None or not ours.reservation:
            return m.Acknowledgement(Result=False, StatusCode=status("400"), SessionID=body.SessionID)
        if self.charge_point is None:
            return _ack(None, body.SessionID, _UNREACHABLE)
        answer = await self._bounded(
            self.charge_point.cancel_reservation(CancelRequest(reservation_id=body.SessionID))
        )
        return _ack(answer, body.SessionID)

    async def swipe(self, evse_id: str, uid: str) -> tuple[m.AuthorizationStart, Answer | None]:
        """An RFID card at a charger: authorize it at the hub (AuthorizeStart); if the hub says
        Authorized, start charging for it under Hubject's SessionID."""
        connection = await load_connection(self.store, "CPO")
        if connection is None:
            raise ValueError("no OICP CPO connection (evroam oicp connect --operator-id ...)")
        found = await find_evse(self.store, evse_id)
        if found is None:
            raise ValueError(f"no EVSE {evse_id} in our locations")
        location, evse_uid = found
        if self.charge_point is None:
            raise ValueError(_UNREACHABLE)
        ident = m.Identification(
            RFIDMifareFamilyIdentification=m.RFIDMifareFamilyIdentification(UID=uid.upper())
        )
        request = m.AuthorizeStart(OperatorID=connection.id, EvseID=evse_id, Identification=ident)
        answer: m.AuthorizationStart = await self.clients.get(connection).call(
            AUTHORIZE_START, connection.id, request
        )
        if answer.AuthorizationStatus is not m.AuthorizationStatus.AUTHORIZED or answer.SessionID is None:
            return answer, None
        now = self.clock.now()
        await save_session(
            self.store,
            OicpSession(
                id=answer.SessionID,
                role="CPO",
                evse_id=evse_id,
                identification=codec.encode(ident),
                provider_id=answer.ProviderID,
                operator_id=connection.id,
            ),
            now,
        )
        token = token_of(ident, answer.ProviderID, DateTime.from_datetime(now))
        started = await self._bounded(
            self.charge_point.start(
                StartRequest(
                    location_id=str(location.id),
                    evse_uid=evse_uid,
                    connector_id=None,
                    token=token,
                    authorization_reference=answer.SessionID,
                )
            )
        )
        return answer, started
