"""The gateway's other direction: chargers an OCPI CPO publishes to this node (an eMSP) are republished to
the OICP hub, and OICP drivers charge there.

* :func:`mirror_ocpi` copies the locations (and the tariffs their connectors name) received from OCPI CPO
  partners into the node's own, under its CPO party. Hubject takes an EVSE only under the OperatorID of the
  CPO that pushes it, so each EVSE gets an EvseID under ours (:func:`reverse_evse_id`: ``DE*GWY*E`` and the
  source's party and EVSE id, letters and digits only); the source's own ``evse_id`` is kept nowhere on the
  OICP side (a loss the docs name). The OICP CPO connection's outbox relay then pushes them to the hub as EVSE
  data, status and pricing, as for any own location. The source of each copy is stored (kind
  ``bridge_src``).
* :class:`OcpiRemoteChargePoint` is the charge point port for those copies: an OICP remote start (which
  the node's CPO endpoint turns into a port ``start``) becomes an OCPI START_SESSION at the source CPO, for a
  token of our eMSP party carrying the driver's contract ID, with Hubject's SessionID as
  ``authorization_reference``; the OCPI result (asynchronous, at our ``response_url``) is awaited within
  ``timeout`` seconds, because OICP answers the remote start synchronously (Hubject closes after 60 s).
  A remote stop becomes STOP_SESSION of the CPO's session.
* :meth:`OcpiRemoteChargePoint.poll` turns what the CPO pushes back (its Session, then its CDR, found by
  that ``authorization_reference``) into the port's events: the node's sink makes our own Session and
  CDR from them, and the relay sends them to the hub as charging notifications and the OICP CDR.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from decimal import Decimal
from typing import Any

import msgspec

from evroam.bridge.gateway import MirrorReport, mirror_id, republish
from evroam.chargepoint.port import (
    Answer,
    CancelRequest,
    ChargePointEvent,
    EventListener,
    MeterValues,
    ReserveRequest,
    StartRequest,
    StopReason,
    StopRequest,
    TransactionInfo,
    TransactionStarted,
    TransactionStopped,
    UnlockRequest,
)
from evroam.core.clock import Clock
from evroam.core.codec import decode, encode
from evroam.core.types import CiString, DateTime
from evroam.model.cdrs import CDR
from evroam.model.enums import AuthMethod, SessionStatus, WhitelistType
from evroam.model.locations import Location
from evroam.model.sessions import Session
from evroam.model.tariffs import Tariff
from evroam.model.tokens import Token
from evroam.modules.cdrs import CDRS
from evroam.modules.commands import CommandSender
from evroam.modules.locations import LOCATIONS
from evroam.modules.oicp.cpo import progress_at_of
from evroam.modules.sessions import SESSIONS
from evroam.modules.tariffs import TARIFFS
from evroam.oicp.ids import normalize_id
from evroam.registration.repository import StorePartnerRepository
from evroam.store.port import ObjectKey, Store

__all__ = ["GatewayPort", "MirrorSource", "OcpiRemoteChargePoint", "mirror_ocpi", "reverse_evse_id"]

log = logging.getLogger(__name__)

SOURCE_KIND = "bridge_src"
RTX_KIND = "bridge_rtx"
_ZERO = Decimal(0)


def reverse_evse_id(operator_id: str, *parts: str) -> str:
    """An EvseID under our ``operator_id`` (``DE*GWY``) for an EVSE known by ``parts`` (its eMI3 id, else
    its CPO's party and uid): ``DE*GWY*E`` and those in letters and digits, 30 at most (longer: cut, and a
    hash). ``NL*CPO*E1`` becomes ``DE*GWY*ENLCPOE1``."""
    body = re.sub(r"[^A-Za-z0-9]", "", "".join(parts)).upper()
    if len(body) > 30:
        body = body[:21] + hashlib.sha1(body.encode()).hexdigest()[:9].upper()
    return f"{operator_id}*E{body}"


class MirrorSource(msgspec.Struct, kw_only=True):
    """Where one of our republished locations comes from."""

    location_id: str
    """Ours."""
    partner_id: str
    partner_name: str
    country_code: str
    party_id: str
    source_location_id: str
    evses: dict[str, str]
    """Our EVSE uid -> the source's."""


def _src_key(location_id: str) -> ObjectKey:
    return ObjectKey(SOURCE_KIND, "", "", location_id.casefold())


async def load_source(store: Store, location_id: str) -> MirrorSource | None:
    found = await store.get(_src_key(location_id))
    return None if found is None else decode(found.payload, MirrorSource)


async def mirror_ocpi(store: Store, clock: Clock, party: tuple[str, str], operator_id: str) -> MirrorReport:
    """Republish what OCPI CPO partners published to us as our own locations and tariffs under ``party``
    (see the module docstring); only what changed is written."""
    report = MirrorReport()
    locations: list[Location] = []
    tariffs: dict[str, Tariff] = {}
    sources: list[MirrorSource] = []
    for partner in await StorePartnerRepository(store, clock).list_partners():
        if not any(role.role == "CPO" for role in partner.roles):
            continue
        held = {
            (str(t.country_code), str(t.party_id), str(t.id)): t
            async for t in TARIFFS.lookups.iter_tariffs(store, partners=[partner.id])
        }
        async for received in LOCATIONS.lookups.iter_locations(store, partners=[partner.id]):
            cc, pid = str(received.country_code), str(received.party_id)
            prefix = f"{cc}{pid}"
            evses = []
            mapping: dict[str, str] = {}
            for evse in received.evses or ():
                uid = mirror_id(prefix, str(evse.uid))
                mapping[uid] = str(evse.uid)
                connectors = []
                for connector in evse.connectors:
                    ids = []
                    for tariff_id in connector.tariff_ids or ():
                        tariff = held.get((cc, pid, str(tariff_id)))
                        if tariff is None:
                            continue
                        ours = mirror_id(prefix, str(tariff_id))
                        tariffs[ours] = msgspec.structs.replace(
                            tariff,
                            country_code=CiString(party[0]),
                            party_id=CiString(party[1]),
                            id=CiString(ours),
                        )
                        ids.append(CiString(ours))
                    connectors.append(msgspec.structs.replace(connector, tariff_ids=tuple(ids) or None))
                evses.append(
                    msgspec.structs.replace(
                        evse,
                        uid=CiString(uid),
                        evse_id=CiString(
                            reverse_evse_id(operator_id, str(evse.evse_id or f"{prefix}{evse.uid}"))
                        ),
                        connectors=tuple(connectors),
                    )
                )
            own_id = mirror_id(prefix, str(received.id))
            locations.append(
                msgspec.structs.replace(
                    received,
                    country_code=CiString(party[0]),
                    party_id=CiString(party[1]),
                    id=CiString(own_id),
                    evses=tuple(evses),
                )
            )
            sources.append(
                MirrorSource(
                    location_id=own_id,
                    partner_id=partner.id,
                    partner_name=partner.name,
                    country_code=cc,
                    party_id=pid,
                    source_location_id=str(received.id),
                    evses=mapping,
                )
            )
    for source in sources:  # before the locations: a command may follow their push at once
        await store.put(_src_key(source.location_id), encode(source), clock.now(), check_stale=False)
    await republish(store, clock, party, locations, list(tariffs.values()), report)
    return report


class RemoteTransaction(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A remote start the gateway carried to an OCPI CPO, and what became of it."""

    reference: str
    """Hubject's SessionID: the ``authorization_reference`` at the CPO, our transaction (and Session) id."""
    location_id: str
    evse_uid: str
    connector_id: str
    token: Token
    partner_name: str
    partner_id: str
    session_id: str | None = None
    """The CPO's Session id, once it pushed the Session."""
    started: bool = False
    started_at: DateTime | None = None
    """The CPO's Session start, once it pushed it."""
    energy: Decimal = _ZERO
    read_at: DateTime | None = None
    """When the last reading we made of it was taken (on the CPO's charger clock)."""
    stopped: bool = False
    stop_requested: bool = False


def _rtx_key(reference: str) -> ObjectKey:
    return ObjectKey(RTX_KIND, "", "", reference.casefold())


_RESULTS = {
    "ACCEPTED": Answer.ACCEPTED,
    "EVSE_OCCUPIED": Answer.OCCUPIED,
    "EVSE_INOPERATIVE": Answer.INOPERATIVE,
    "UNKNOWN_SESSION": Answer.UNKNOWN,
    "UNKNOWN_RESERVATION": Answer.UNKNOWN,
    "NOT_SUPPORTED": Answer.NOT_SUPPORTED,
    "REJECTED": Answer.REJECTED,
}


class OcpiRemoteChargePoint:
    """The charge point port of the locations :func:`mirror_ocpi` republished (see the module docstring).
    ``emsp_party`` is our eMSP party: the tokens of the commands are its. It is also the commands sender's
    :class:`~evroam.modules.commands.sender.TokenFinder` (give it as ``tokens``)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        emsp_party: tuple[str, str],
        *,
        timeout: float = 50.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.emsp_party = emsp_party
        self.timeout = timeout
        self.sender: CommandSender | None = None
        self._listeners: list[EventListener] = []
        self._running: dict[str, RemoteTransaction] = {}
        self._tokens: dict[str, Token] = {}
        self._lock = asyncio.Lock()

    async def handles(self, location_id: str) -> bool:
        return await load_source(self.store, location_id) is not None

    async def own_token(self, uid: str, token_type: str | None = None) -> Token | None:
        return self._tokens.get(uid)

    def subscribe(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    async def _emit(self, event: ChargePointEvent) -> None:
        for listener in self._listeners:
            await listener(event)

    def _token(self, driver: Token) -> Token:
        """The driver's token as ours: the CPO takes commands for tokens of the eMSP that sends them."""
        return Token(
            country_code=CiString(self.emsp_party[0]),
            party_id=CiString(self.emsp_party[1]),
            uid=CiString(normalize_id(str(driver.contract_id))[:36]),
            type="APP_USER",
            contract_id=driver.contract_id,
            issuer=f"OICP {driver.country_code}-{driver.party_id}"[:64],
            valid=True,
            whitelist=WhitelistType.ALLOWED,
            last_updated=DateTime.from_datetime(self.clock.now()),
        )

    async def _settled(self, command_id: str) -> Answer:
        assert self.sender is not None
        try:
            record = await asyncio.wait_for(self.sender.wait(command_id), self.timeout)
        except TimeoutError:
            return Answer.FAILED
        if record.result is not None:
            return _RESULTS.get(record.result.result.value, Answer.FAILED)
        if record.response is not None:
            return _RESULTS.get(record.response.result.value, Answer.FAILED)
        return Answer.FAILED

    async def start(self, request: StartRequest) -> Answer:
        source = await load_source(self.store, request.location_id)
        if source is None or self.sender is None or not request.authorization_reference:
            return Answer.UNKNOWN if source is None else Answer.REJECTED
        evse_uid = request.evse_uid
        if evse_uid is None or evse_uid not in source.evses:
            return Answer.UNKNOWN
        token = self._token(request.token)
        self._tokens[str(token.uid)] = token
        try:
            record = await self.sender.start_session(
                source.partner_name,
                location_id=source.source_location_id,
                evse_uid=source.evses[evse_uid],
                connector_id=None,
                token_uid=str(token.uid),
                token_type="APP_USER",
                to=f"{source.country_code}*{source.party_id}",
                authorization_reference=request.authorization_reference,
            )
        except Exception as exc:  # the CPO unreachable, the command refused before it was sent
            log.warning("gateway: START_SESSION at %s: %s", source.partner_name, exc)
            return Answer.FAILED
        answer = await self._settled(record.id)
        log.info(
            "gateway: START_SESSION %s at %s: %s",
            request.authorization_reference,
            source.partner_name,
            answer,
        )
        if answer is Answer.ACCEPTED:
            tx = RemoteTransaction(
                reference=request.authorization_reference,
                location_id=request.location_id,
                evse_uid=evse_uid,
                connector_id=request.connector_id or "1",
                token=request.token,
                partner_name=source.partner_name,
                partner_id=source.partner_id,
            )
            await self._save(tx)
        return answer

    async def stop(self, request: StopRequest) -> Answer:
        tx = self._running.get(request.transaction_id.casefold()) or await self._load(request.transaction_id)
        if tx is None or tx.stopped or tx.session_id is None or self.sender is None:
            return Answer.UNKNOWN
        try:
            record = await self.sender.stop_session(tx.partner_name, session_id=tx.session_id)
        except Exception as exc:
            log.warning("gateway: STOP_SESSION at %s: %s", tx.partner_name, exc)
            return Answer.FAILED
        answer = await self._settled(record.id)
        if answer is Answer.ACCEPTED:
            tx.stop_requested = True
            await self._save(tx)
        return answer

    async def reserve(self, request: ReserveRequest) -> Answer:
        return Answer.NOT_SUPPORTED  # not carried across yet (docs/bridge.md)

    async def cancel_reservation(self, request: CancelRequest) -> Answer:
        return Answer.NOT_SUPPORTED

    async def unlock(self, request: UnlockRequest) -> Answer:
        return Answer.NOT_SUPPORTED

    def transaction(self, transaction_id: str) -> TransactionInfo | None:
        tx = self._running.get(transaction_id.casefold())
        if tx is None or not tx.started:
            return None
        return TransactionInfo(
            transaction_id=tx.reference,
            location_id=tx.location_id,
            evse_uid=tx.evse_uid,
            connector_id=tx.connector_id,
            token=tx.token,
            started=tx.started_at or DateTime.from_datetime(self.clock.now()),
            authorization_reference=tx.reference,
        )

    async def _load(self, reference: str) -> RemoteTransaction | None:
        found = await self.store.get(_rtx_key(reference))
        return None if found is None else decode(found.payload, RemoteTransaction)

    async def _save(self, tx: RemoteTransaction) -> None:
        await self.store.put(_rtx_key(tx.reference), encode(tx), self.clock.now(), check_stale=False)
        if tx.stopped:
            self._running.pop(tx.reference.casefold(), None)
        else:
            self._running[tx.reference.casefold()] = tx

    async def load(self, resume: Any = None) -> int:
        """Take up what a previous process left open; ``resume``: the sink's, for the started ones."""
        found = await self.store.find(RTX_KIND)
        count = 0
        for item in found.items:
            tx: RemoteTransaction = decode(item.payload, RemoteTransaction)
            if tx.stopped:
                continue
            self._running[tx.reference.casefold()] = tx
            if tx.started and resume is not None:
                at = tx.started_at or DateTime.from_datetime(self.clock.now())
                readings = [MeterValues(transaction_id=tx.reference, at=at, energy=_ZERO, power=_ZERO)]
                if tx.read_at is not None and tx.read_at > at and tx.energy > 0:
                    readings.append(
                        MeterValues(transaction_id=tx.reference, at=tx.read_at, energy=tx.energy, power=_ZERO)
                    )
                await resume(self._started(tx, at), readings)
            count += 1
        return count

    def _started(self, tx: RemoteTransaction, at: DateTime) -> TransactionStarted:
        return TransactionStarted(
            transaction_id=tx.reference,
            location_id=tx.location_id,
            evse_uid=tx.evse_uid,
            connector_id=tx.connector_id,
            token=tx.token,
            auth_method=AuthMethod.COMMAND,
            meter_start=_ZERO,
            at=at,
            authorization_reference=tx.reference,
        )

    async def poll(self) -> int:
        """Read what the CPOs pushed of the open transactions (Sessions, CDRs) into events; how many
        transactions moved."""
        if not self._running:
            return 0
        async with self._lock:
            moved = 0
            wanted = {ref: tx for ref, tx in self._running.items()}
            sessions: dict[str, Session] = {}
            async for record in SESSIONS.lookups.iter_session_records(self.store):
                session = record.session
                ref = str(session.authorization_reference or "").casefold()
                if ref in wanted and record.partner_id == wanted[ref].partner_id:
                    sessions[ref] = session
            cdrs: dict[str, CDR] = {}
            async for cdr_record in CDRS.lookups.iter_cdr_records(self.store):
                cdr = cdr_record.cdr
                ref = str(cdr.authorization_reference or "").casefold()
                if ref in wanted and cdr_record.partner_id == wanted[ref].partner_id:
                    cdrs[ref] = cdr
            for ref, tx in wanted.items():
                found = sessions.get(ref)
                closed = cdrs.get(ref)
                before = (tx.started, tx.energy, tx.stopped)
                if found is not None and not tx.started:
                    tx.session_id = str(found.id)
                    tx.started, tx.read_at = True, found.start_date_time
                    tx.started_at = found.start_date_time
                    await self._save(tx)
                    await self._emit(self._started(tx, found.start_date_time))
                    await self._emit(
                        MeterValues(
                            transaction_id=tx.reference, at=found.start_date_time, energy=_ZERO, power=_ZERO
                        )
                    )
                if found is not None and found.kwh > tx.energy and found.status is SessionStatus.ACTIVE:
                    at = progress_at_of(found)  # its latest reading, on the charger's clock (as its start)
                    if tx.read_at is None or at > tx.read_at:
                        tx.energy, tx.read_at = Decimal(found.kwh), at
                        await self._save(tx)
                        await self._emit(
                            MeterValues(transaction_id=tx.reference, at=at, energy=tx.energy, power=_ZERO)
                        )
                if closed is not None:
                    if not tx.started:
                        tx.started, tx.read_at = True, closed.start_date_time
                        tx.started_at = closed.start_date_time
                        tx.session_id = str(closed.session_id or "") or None
                        await self._save(tx)
                        await self._emit(self._started(tx, closed.start_date_time))
                        await self._emit(
                            MeterValues(
                                transaction_id=tx.reference,
                                at=closed.start_date_time,
                                energy=_ZERO,
                                power=_ZERO,
                            )
                        )
                    tx.energy = Decimal(closed.total_energy)
                    tx.stopped = True
                    await self._save(tx)
                    if tx.read_at is None or closed.end_date_time > tx.read_at:
                        await self._emit(
                            MeterValues(
                                transaction_id=tx.reference,
                                at=closed.end_date_time,
                                energy=tx.energy,
                                power=_ZERO,
                            )
                        )
                    await self._emit(
                        TransactionStopped(
                            transaction_id=tx.reference,
                            at=closed.end_date_time,
                            meter_stop=tx.energy,
                            reason=StopReason.REMOTE if tx.stop_requested else StopReason.LOCAL,
                        )
                    )
                if (tx.started, tx.energy, tx.stopped) != before:
                    moved += 1
            return moved


class GatewayPort:
    """The charge point port of a gateway serving both directions: a location :func:`mirror_ocpi`
    republished goes to ``ocpi`` (its OCPI CPO), any other to ``oicp`` (the chargers found at the hub)."""

    def __init__(self, oicp: Any, ocpi: OcpiRemoteChargePoint) -> None:
        self.oicp = oicp
        self.ocpi = ocpi

    def subscribe(self, listener: EventListener) -> None:
        self.oicp.subscribe(listener)
        self.ocpi.subscribe(listener)

    async def _side(self, location_id: str) -> Any:
        return self.ocpi if await self.ocpi.handles(location_id) else self.oicp

    async def start(self, request: StartRequest) -> Answer:
        side = await self._side(request.location_id)
        answer: Answer = await side.start(request)
        return answer

    async def stop(self, request: StopRequest) -> Answer:
        side = self.ocpi if self.ocpi.transaction(request.transaction_id) is not None else self.oicp
        answer: Answer = await side.stop(request)
        return answer

    async def reserve(self, request: ReserveRequest) -> Answer:
        side = await self._side(request.location_id)
        answer: Answer = await side.reserve(request)
        return answer

    async def cancel_reservation(self, request: CancelRequest) -> Answer:
        answer: Answer = await self.oicp.cancel_reservation(request)
        return answer

    async def unlock(self, request: UnlockRequest) -> Answer:
        return Answer.NOT_SUPPORTED  # neither side can: OICP has no unlock, and it is not carried to OCPI

    def transaction(self, transaction_id: str) -> TransactionInfo | None:
        found: TransactionInfo | None = self.ocpi.transaction(transaction_id) or self.oicp.transaction(
            transaction_id
        )
        return found
