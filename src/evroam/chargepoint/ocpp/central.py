"""The central system: the chargers connected over OCPP, as one :class:`~evroam.chargepoint.ChargePoint`
(and :class:`~evroam.chargepoint.SmartCharging`) of the node.

What a charger sends comes in through its connection (:mod:`.v16`, :mod:`.v201`) as version-neutral
calls (``boot``, ``status``, ``authorize``, ``transaction_started``, ``reading``,
``transaction_stopped``); each is written to the :class:`~.journal.Journal` first, then handed to the
listeners as the port's events (one event at a time, in order), and only then answered. What the OCPI
side asks (commands, limits) goes out through the charger's connection, and the charger's answer
comes back as the port's :class:`~evroam.chargepoint.Answer`.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

import msgspec

from evroam.core.clock import Clock
from evroam.core.types import CiString, DateTime
from evroam.model.enums import AuthMethod, Status
from evroam.model.tokens import LocationReferences, Token

from ..port import (
    ActiveLimit,
    ActiveLimitRequest,
    Answer,
    CancelRequest,
    ChargePointEvent,
    ChargeState,
    ClearLimitRequest,
    EventListener,
    LimitChanged,
    LimitPeriod,
    LimitRequest,
    MeterValues,
    PreferencesRequest,
    ReserveRequest,
    StartRequest,
    StatusChanged,
    StopReason,
    StopRequest,
    TransactionInfo,
    TransactionStarted,
    TransactionStopped,
    UnlockRequest,
)
from .journal import Journal, TransactionRecord
from .mapping import Reading, reservation_number
from .registry import ChargerRecord, ChargerRegistry

__all__ = ["Authorizer", "CentralSystem", "Decision", "Link", "Resume"]

log = logging.getLogger(__name__)

_ACTIVE_HORIZON = 3600


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The tokens module's decision on a token, as the central system needs it.

    ``outcome``: OCPI AllowedType (``ALLOWED`` ...) or why there is none (``UNKNOWN_TOKEN``,
    ``EMSP_UNREACHABLE`` ...); ``token``: the token to put in the Session (the stored or the eMSP's,
    or one made of the id tag); ``source``: ``eMSP`` for a real-time answer."""

    outcome: str
    token: Token
    source: str = "local"
    authorization_reference: str | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome == "ALLOWED"


Authorizer = Callable[[str, str, LocationReferences | None], Awaitable[Decision]]
"""``(uid, OCPI token type, where)`` -> the decision (the node wires the tokens module's service)."""

Resume = Callable[[TransactionStarted, Sequence[MeterValues]], Awaitable[bool]]
"""Takes up an open transaction after a restart (``OcpiSink.resume``)."""


class Link(Protocol):
    """A charger's live connection, version-specific (:mod:`.v16`, :mod:`.v201`): the calls the
    central system makes. Each answers the port's :class:`Answer`; a charger that does not answer in
    time raises ``TimeoutError``."""

    protocol: str

    async def remote_start(
        self, number: int, connector: int | None, id_tag: str, remote_id: int, token_type: str
    ) -> Answer: ...

    async def remote_stop(self, ocpp_id: str) -> Answer: ...

    async def reserve(
        self, number: int | None, id_tag: str, expiry: DateTime, reservation: int, token_type: str
    ) -> Answer: ...

    async def cancel_reservation(self, reservation: int) -> Answer: ...

    async def unlock(self, number: int, connector: int | None) -> Answer: ...

    async def set_profile(
        self, number: int, request: LimitRequest, profile_id: int, ocpp_id: str | None
    ) -> Answer: ...

    async def clear_profile(self, profile_id: int) -> Answer: ...

    async def composite(self, number: int, duration: int, transaction_id: str) -> ActiveLimit | Answer: ...

    async def close(self) -> None: ...


@dataclass
class _Pending:
    """A remote start sent to a charger, waiting for the transaction it starts."""

    request: StartRequest
    charger_id: str
    number: int
    remote_id: int
    at: DateTime


@dataclass
class _Charger:
    record: ChargerRecord
    link: Link | None = None
    statuses: dict[int, str] = field(default_factory=dict)
    """The last OCPP status of each connector (1.6) / EVSE (2.0.1)."""
    decisions: dict[str, Decision] = field(default_factory=dict)
    """The last decision per id tag (casefolded): the Authorize before a StartTransaction."""


class CentralSystem:
    """The OCPP chargers of one node behind the charge point port (see the module docstring).

    ``authorizer`` decides on id tags (the tokens module); ``resume`` takes up open transactions after a
    restart; ``heartbeat`` is the interval (seconds) a BootNotification's answer asks for.
    """

    def __init__(
        self,
        registry: ChargerRegistry,
        journal: Journal,
        clock: Clock,
        *,
        authorizer: Authorizer,
        resume: Resume | None = None,
        heartbeat: int = 300,
    ) -> None:
        self.registry = registry
        self.journal = journal
        self._clock = clock
        self._authorizer = authorizer
        self._resume = resume
        self.heartbeat = heartbeat
        self._listeners: list[EventListener] = []
        self._events: dict[str, asyncio.Lock] = {}
        self._chargers: dict[str, _Charger] = {}
        self._open: dict[str, TransactionRecord] = {}
        """The open transactions by session id (casefolded)."""
        self._open_ids: dict[tuple[str, str], TransactionRecord] = {}
        """The same by (charger id casefolded, OCPP transaction id)."""
        self._locks: dict[str, asyncio.Lock] = {}
        self._numbering = asyncio.Lock()
        """One start at a time takes a session number (a read-modify-write of the counter)."""
        self._pending: list[_Pending] = []
        self._remote_ids = 0

    # -- start-up ----------------------------------------------------------------------------------

    async def load(self) -> None:
        """Load the registry and take up the transactions open when the node stopped."""
        for record in await self.registry.all():
            self._chargers[record.id.casefold()] = _Charger(record)
            if record.connected:  # the previous process stopped with it connected
                record.connected = False
                await self.registry.save(record)
        open_transactions = await self.journal.open_transactions()
        for tx in open_transactions:
            self._keep_open(tx)
            if not tx.announced:  # the previous process stopped between the journal and the session
                await self._emit(f"tx:{tx.session_id}", tx.started)
                await self._announced(tx)
            if self._resume is not None:
                await self._resume(tx.started, tx.readings)
        if open_transactions:
            log.info("OCPP: took up %d open transaction(s)", len(open_transactions))
        self._remote_ids = int(self._clock.now().timestamp()) % 1_000_000 * 1000

    def subscribe(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    async def _emit(self, key: str, *events: ChargePointEvent) -> None:
        """Hand ``events`` to every listener, in order. Events of one ``key`` go one at a time and in the
        order they came: a location's statuses (they share its document; key ``location:ID``), a
        transaction's start, readings and stop (``tx:ID``). Others may be handled at once, so that the
        store's group commit can batch their writes."""
        lock = self._events.setdefault(key.casefold(), asyncio.Lock())
        async with lock:
            for event in events:
                for listener in self._listeners:
                    try:
                        await listener(event)
                    except Exception:  # the charger's message is kept (journal): it is not its fault
                        log.exception("OCPP: a listener failed on %s", type(event).__name__)
        if events and isinstance(events[-1], TransactionStopped) and not lock.locked():
            self._events.pop(key.casefold(), None)

    def _lock(self, charger_id: str) -> asyncio.Lock:
        return self._locks.setdefault(charger_id.casefold(), asyncio.Lock())

    # -- connections -------------------------------------------------------------------------------

    async def known(self, charger_id: str) -> ChargerRecord | None:
        """The registered charger of that id (read from the store: the CLI may have added it)."""
        record = await self.registry.get(charger_id)
        if record is None:
            self._chargers.pop(charger_id.casefold(), None)
            return None
        entry = self._chargers.get(charger_id.casefold())
        if entry is None:
            self._chargers[charger_id.casefold()] = _Charger(record)
        else:
            entry.record = record
        return record

    async def connected(self, charger_id: str, link: Link) -> None:
        entry = self._chargers[charger_id.casefold()]
        previous = entry.link
        entry.link = link
        if previous is not None and previous is not link:
            await previous.close()
        now = self._clock.now()
        record = entry.record
        record.connected, record.connected_at, record.last_seen = True, now, now
        record.protocol = link.protocol
        await self.registry.save(record)
        log.info("OCPP: %s connected (%s)", charger_id, link.protocol)

    async def disconnected(self, charger_id: str, link: Link) -> None:
        entry = self._chargers.get(charger_id.casefold())
        if entry is None or entry.link is not link:
            return
        entry.link = None
        record = entry.record
        record.connected, record.disconnected_at = False, self._clock.now()
        await self.registry.save(record)
        log.info("OCPP: %s disconnected", charger_id)

    def is_connected(self, charger_id: str) -> bool:
        entry = self._chargers.get(charger_id.casefold())
        return entry is not None and entry.link is not None

    def now(self) -> DateTime:
        """The central system's clock (for times a charger did not give)."""
        return self._clock.now()

    def status_of(self, charger_id: str, number: int) -> str | None:
        """The last OCPP status a charger reported for its connector (1.6) / EVSE (2.0.1)."""
        entry = self._chargers.get(charger_id.casefold())
        return None if entry is None else entry.statuses.get(number)

    def _entry(self, charger_id: str) -> _Charger:
        return self._chargers[charger_id.casefold()]

    # -- what chargers send ------------------------------------------------------------------------

    async def boot(
        self,
        charger_id: str,
        *,
        vendor: str | None,
        model: str | None,
        serial_number: str | None,
        firmware_version: str | None,
    ) -> DateTime:
        """A BootNotification: kept with the charger; the current time is the answer's."""
        now = self._clock.now()
        record = self._entry(charger_id).record
        record.vendor, record.model = vendor, model
        record.serial_number, record.firmware_version = serial_number, firmware_version
        record.booted_at = record.last_seen = now
        await self.registry.save(record)
        return now

    async def heartbeat_from(self, charger_id: str) -> DateTime:
        """A Heartbeat: the charger's last sign of life, kept (what `evroam chargers list` shows)."""
        now = self._clock.now()
        record = self._entry(charger_id).record
        record.last_seen = now
        await self.registry.save(record)
        return now

    async def status(
        self,
        charger_id: str,
        number: int,
        connector: int | None,
        ocpp_status: str,
        status: Status,
        at: DateTime,
    ) -> None:
        """A StatusNotification: the EVSE(s) it concerns get ``status`` (number 0: the whole charger)."""
        entry = self._entry(charger_id)
        entry.statuses[number] = ocpp_status
        record = entry.record
        if number == 0:
            uids = record.evse_uids() if status in (Status.INOPERATIVE, Status.OUTOFORDER) else []
        else:
            target = record.target(number, connector)
            uids = [] if target is None else [target.evse_uid]
            if target is None:
                log.warning("OCPP: %s reports connector %s, which is not in its evse map", charger_id, number)
        await self._emit(
            f"location:{record.location_id}",
            *(
                StatusChanged(location_id=record.location_id, evse_uid=uid, status=status, at=at)
                for uid in uids
            ),
        )

    async def authorize(self, charger_id: str, id_tag: str, token_type: str) -> Decision:
        """An Authorize (or an id token in a 2.0.1 TransactionEvent): a remote start's token is its own;
        else the tokens module decides (locally, or in real time at the eMSP)."""
        pending = self._pending_for(charger_id, id_tag=id_tag)
        if pending is not None:
            return _remote_decision(pending.request)
        record = self._entry(charger_id).record
        where = LocationReferences(
            location_id=CiString(record.location_id),
            evse_uids=tuple(CiString(u) for u in record.evse_uids()),
        )
        decision = await self._authorizer(id_tag, token_type, where)
        self._entry(charger_id).decisions[id_tag.casefold()] = decision
        return decision

    def _pending_for(
        self, charger_id: str, *, id_tag: str | None = None, remote_id: int | None = None
    ) -> _Pending | None:
        horizon = self._clock.now() - timedelta(minutes=10)
        self._pending = [p for p in self._pending if p.at >= horizon]
        for pending in self._pending:
            if pending.charger_id.casefold() != charger_id.casefold():
                continue
            if remote_id is not None and pending.remote_id == remote_id:
                return pending
            if id_tag is not None and str(pending.request.token.uid).casefold() == id_tag.casefold():
                return pending
        return None

    async def transaction_started(
        self,
        charger_id: str,
        *,
        number: int,
        connector: int | None,
        id_tag: str,
        token_type: str,
        meter_start: Decimal,
        at: DateTime,
        ocpp_id: str | None = None,
        start_key: str | None = None,
        remote_id: int | None = None,
        offline: bool = False,
    ) -> tuple[TransactionRecord, Decision]:
        """A transaction began: the session it makes (once: a repeated start finds the first one).

        1.6 gives ``start_key`` (the StartTransaction's content) and gets ``ocpp_id`` = the session number;
        2.0.1 gives the charger's ``ocpp_id``."""
        async with self._lock(charger_id):
            existing = None
            if ocpp_id is not None:
                existing = await self.journal.by_ocpp_id(charger_id, ocpp_id)
            elif start_key is not None:
                existing = await self.journal.by_start(charger_id, start_key)
            pending = self._pending_for(charger_id, id_tag=id_tag, remote_id=remote_id)
            if existing is not None:
                return existing, self._decision_of(existing)
            if pending is not None:
                self._pending.remove(pending)
                decision = _remote_decision(pending.request)
                method = AuthMethod.COMMAND
            else:
                entry = self._entry(charger_id)
                known = entry.decisions.pop(id_tag.casefold(), None)
                decision = known or await self.authorize(charger_id, id_tag, token_type)
                method = AuthMethod.AUTH_REQUEST if decision.source == "eMSP" else AuthMethod.WHITELIST
            record = self._entry(charger_id).record
            target = record.target(number, connector)
            if target is None:
                raise UnknownConnector(f"{charger_id} has no connector {number} in its evse map")
            async with self._numbering, self.journal.store.transaction() as ops:
                session_number = await self.journal.next_number(ops)
                session_id = str(session_number)
                started = TransactionStarted(
                    transaction_id=session_id,
                    location_id=record.location_id,
                    evse_uid=target.evse_uid,
                    connector_id=target.connector_id,
                    token=decision.token,
                    auth_method=method,
                    meter_start=meter_start,
                    at=at,
                    authorization_reference=decision.authorization_reference,
                )
                first = MeterValues(transaction_id=session_id, at=at, energy=meter_start, power=Decimal(0))
                tx = TransactionRecord(
                    session_id=session_id,
                    charger_id=record.id,
                    ocpp_id=ocpp_id if ocpp_id is not None else session_id,
                    number=number,
                    connector=connector,
                    id_tag=id_tag,
                    started=started,
                    readings=[first],
                    offline=offline,
                )
                await self.journal.save(tx, ops)
                await self.journal.index(tx, ops, start_key=start_key)
            self._keep_open(tx)
            await self._emit(f"tx:{session_id}", started, first)
            await self._announced(tx)
            log.info("OCPP: %s started transaction %s (session %s)", charger_id, tx.ocpp_id, session_id)
            return tx, decision

    async def _announced(self, tx: TransactionRecord) -> None:
        """Its session was made: a restart need not make it again."""
        tx.announced = True
        await self.journal.save(tx)

    def _decision_of(self, tx: TransactionRecord) -> Decision:
        return Decision(
            outcome="ALLOWED",
            token=tx.started.token,
            authorization_reference=tx.started.authorization_reference,
        )

    def _keep_open(self, tx: TransactionRecord) -> None:
        self._open[tx.session_id.casefold()] = tx
        self._open_ids[(tx.charger_id.casefold(), tx.ocpp_id)] = tx

    async def find(self, charger_id: str, ocpp_id: str) -> TransactionRecord | None:
        """The transaction a charger knows as ``ocpp_id`` (open or not)."""
        tx = self._open_ids.get((charger_id.casefold(), ocpp_id))
        return tx if tx is not None else await self.journal.by_ocpp_id(charger_id, ocpp_id)

    async def reading(
        self,
        charger_id: str,
        ocpp_id: str,
        reading: Reading,
        *,
        state: ChargeState | None = None,
        seq_no: int | None = None,
    ) -> TransactionRecord | None:
        """A meter reading of a running transaction (kept once: a reading not later than the last one
        is a repetition)."""
        async with self._lock(charger_id):
            tx = await self.find(charger_id, ocpp_id)
            if tx is None or tx.stopped is not None:
                return tx
            return await self._add_reading(tx, reading, state, seq_no)

    async def _add_reading(
        self, tx: TransactionRecord, reading: Reading, state: ChargeState | None, seq_no: int | None
    ) -> TransactionRecord:
        last = tx.readings[-1]
        if seq_no is not None and seq_no in tx.seq_nos:
            return tx
        if seq_no is not None:
            tx.seq_nos.append(seq_no)
        if reading.at <= last.at or reading.energy is None:
            if seq_no is not None:
                await self.journal.save(tx)
            return tx
        if state is None:
            status = self._entry(tx.charger_id).statuses.get(tx.number) if self._known(tx) else None
            state = ChargeState.SUSPENDED_EV if status in ("SuspendedEV", "SuspendedEVSE") else last.state
        event = MeterValues(
            transaction_id=tx.session_id,
            at=reading.at,
            energy=reading.energy,
            power=reading.power if reading.power is not None else last.power,
            current=reading.current,
            state=state,
        )
        tx.readings.append(event)
        await self.journal.save(tx)
        await self._emit(f"tx:{tx.session_id}", event)
        return tx

    def _known(self, tx: TransactionRecord) -> bool:
        return tx.charger_id.casefold() in self._chargers

    async def transaction_stopped(
        self,
        charger_id: str,
        ocpp_id: str,
        *,
        at: DateTime,
        meter_stop: Decimal | None,
        reason: StopReason,
        readings: Sequence[Reading] = (),
        seq_no: int | None = None,
    ) -> TransactionRecord | None:
        """The transaction ended: its last readings, then its stop (once: a repeated stop changes
        nothing, so there is one CDR)."""
        async with self._lock(charger_id):
            tx = await self.find(charger_id, ocpp_id)
            if tx is None:
                log.warning("OCPP: %s stopped transaction %s, which never started here", charger_id, ocpp_id)
                return None
            if tx.stopped is not None:
                return tx
            for reading in sorted(readings, key=lambda r: r.at):
                await self._add_reading(tx, reading, None, None)
            last = tx.readings[-1]
            energy = meter_stop if meter_stop is not None else last.energy
            final: list[ChargePointEvent] = []
            if at > last.at:
                closing = MeterValues(
                    transaction_id=tx.session_id,
                    at=at,
                    energy=energy,
                    power=last.power,
                    current=last.current,
                    state=last.state,
                )
                tx.readings.append(closing)
                final.append(closing)
            stopped = TransactionStopped(
                transaction_id=tx.session_id, at=at, meter_stop=energy, reason=reason
            )
            tx.stopped = stopped
            if seq_no is not None:
                tx.seq_nos.append(seq_no)
            await self.journal.save(tx)
            self._open.pop(tx.session_id.casefold(), None)
            self._open_ids.pop((tx.charger_id.casefold(), tx.ocpp_id), None)
            await self._emit(f"tx:{tx.session_id}", *final, stopped)
            log.info("OCPP: %s stopped transaction %s (session %s)", charger_id, ocpp_id, tx.session_id)
            return tx

    # -- the charge point port (OCPI -> chargers) --------------------------------------------------

    def transaction(self, transaction_id: str) -> TransactionInfo | None:
        tx = self._open.get(transaction_id.casefold())
        if tx is None:
            return None
        s = tx.started
        return TransactionInfo(
            transaction_id=tx.session_id,
            location_id=s.location_id,
            evse_uid=s.evse_uid,
            connector_id=s.connector_id,
            token=s.token,
            started=s.at,
            authorization_reference=s.authorization_reference,
        )

    def _where(
        self, location_id: str, evse_uid: str | None, connector_id: str | None
    ) -> tuple[_Charger, int, int | None] | None:
        """The connected charger, OCPP number and connector of an OCPI EVSE (any free one of the
        location when ``evse_uid`` is ``None``)."""
        fallback: tuple[_Charger, int, int | None] | None = None
        for entry in self._chargers.values():
            record = entry.record
            if record.location_id.casefold() != location_id.casefold():
                continue
            uids = [evse_uid] if evse_uid is not None else record.evse_uids()
            for uid in uids:
                found = record.number_of(uid, connector_id)
                if found is None:
                    continue
                choice = (entry, found[0], found[1])
                if evse_uid is not None or entry.statuses.get(found[0]) == "Available":
                    return choice
                fallback = fallback or choice
        return fallback

    async def _ask(self, entry: _Charger, call: Callable[[Link], Awaitable[Answer]]) -> Answer:
        link = entry.link
        if link is None:
            return Answer.INOPERATIVE  # not connected: it cannot act on anything now
        return await call(link)

    async def start(self, request: StartRequest) -> Answer:
        where = self._where(request.location_id, request.evse_uid, request.connector_id)
        if where is None:
            return Answer.UNKNOWN
        entry, number, connector = where
        self._remote_ids += 1
        remote_id = self._remote_ids
        pending = _Pending(
            request=request,
            charger_id=entry.record.id,
            number=number,
            remote_id=remote_id,
            at=self._clock.now(),
        )
        self._pending.append(pending)
        answer = await self._ask(
            entry,
            lambda link: link.remote_start(
                number, connector, str(request.token.uid), remote_id, str(request.token.type)
            ),
        )
        if answer is not Answer.ACCEPTED and pending in self._pending:
            self._pending.remove(pending)
        return answer

    async def stop(self, request: StopRequest) -> Answer:
        tx = self._open.get(request.transaction_id.casefold())
        if tx is None:
            return Answer.UNKNOWN
        entry = self._chargers.get(tx.charger_id.casefold())
        if entry is None:
            return Answer.UNKNOWN
        return await self._ask(entry, lambda link: link.remote_stop(tx.ocpp_id))

    async def reserve(self, request: ReserveRequest) -> Answer:
        where = self._where(request.location_id, request.evse_uid, None)
        if where is None:
            return Answer.UNKNOWN
        entry, number, _ = where
        reservation = reservation_number(request.reservation_id)
        return await self._ask(
            entry,
            lambda link: link.reserve(
                number if request.evse_uid is not None else None,
                str(request.token.uid),
                request.expiry_date,
                reservation,
                str(request.token.type),
            ),
        )

    async def cancel_reservation(self, request: CancelRequest) -> Answer:
        reservation = reservation_number(request.reservation_id)
        answers = [
            await self._ask(entry, lambda link: link.cancel_reservation(reservation))
            for entry in list(self._chargers.values())
            if entry.link is not None
        ]
        if Answer.ACCEPTED in answers:
            return Answer.ACCEPTED
        return Answer.UNKNOWN if answers else Answer.INOPERATIVE

    async def unlock(self, request: UnlockRequest) -> Answer:
        where = self._where(request.location_id, request.evse_uid, request.connector_id)
        if where is None:
            return Answer.UNKNOWN
        entry, number, connector = where
        return await self._ask(entry, lambda link: link.unlock(number, connector))

    # -- smart charging ----------------------------------------------------------------------------

    def _limit_target(
        self, transaction_id: str | None, location_id: str | None, evse_uid: str | None
    ) -> tuple[_Charger, int, TransactionRecord | None] | None:
        if transaction_id is not None:
            tx = self._open.get(transaction_id.casefold())
            entry = None if tx is None else self._chargers.get(tx.charger_id.casefold())
            return None if tx is None or entry is None else (entry, tx.number, tx)
        if location_id is None or evse_uid is None:
            return None
        where = self._where(location_id, evse_uid, None)
        return None if where is None else (where[0], where[1], None)

    def _profile_id(self, entry: _Charger, number: int, tx: TransactionRecord | None) -> int:
        if tx is not None:
            return int(tx.session_id) % 1_000_000_000 + 1
        return 1_000_000_000 + zlib.crc32(f"{entry.record.id.casefold()}|{number}".encode()) % 1_000_000_000

    async def set_limit(self, request: LimitRequest) -> Answer:
        target = self._limit_target(request.transaction_id, request.location_id, request.evse_uid)
        if target is None:
            return Answer.UNKNOWN
        entry, number, tx = target
        profile_id = self._profile_id(entry, number, tx)
        answer = await self._ask(
            entry,
            lambda link: link.set_profile(number, request, profile_id, None if tx is None else tx.ocpp_id),
        )
        if answer is Answer.ACCEPTED and tx is not None:
            now = self._clock.now()
            periods = tuple(
                LimitPeriod(start=max(p.start, now), limit=p.limit)
                for p in request.limit.periods
                if p.limit is not None
            )
            if periods:
                active = ActiveLimit(
                    transaction_id=tx.session_id,
                    start=now,
                    duration=_ACTIVE_HORIZON,
                    unit=request.limit.unit,
                    periods=periods,
                )
                await self._emit(
                    f"tx:{tx.session_id}", LimitChanged(transaction_id=tx.session_id, at=now, active=active)
                )
        return answer

    async def clear_limit(self, request: ClearLimitRequest) -> Answer:
        target = self._limit_target(request.transaction_id, request.location_id, request.evse_uid)
        if target is None:
            return Answer.UNKNOWN
        entry, number, tx = target
        profile_id = self._profile_id(entry, number, tx)
        return await self._ask(entry, lambda link: link.clear_profile(profile_id))

    async def active_limit(self, request: ActiveLimitRequest) -> ActiveLimit | Answer:
        target = self._limit_target(request.transaction_id, None, None)
        if target is None:
            return Answer.UNKNOWN
        entry, number, tx = target
        link = entry.link
        if link is None or tx is None:
            return Answer.INOPERATIVE
        return await link.composite(number, request.duration, tx.session_id)

    async def set_preferences(self, request: PreferencesRequest) -> Answer:
        return Answer.NOT_SUPPORTED  # OCPP has no central-system message for the driver's preferences

    async def close(self) -> None:
        for entry in self._chargers.values():
            link = entry.link
            if link is not None:
                await link.close()


class UnknownConnector(LookupError):
    """A charger named a connector / EVSE that its evse map does not have."""


def _remote_decision(request: StartRequest) -> Decision:
    return Decision(
        outcome="ALLOWED",
        token=request.token,
        source="command",
        authorization_reference=request.authorization_reference,
    )
