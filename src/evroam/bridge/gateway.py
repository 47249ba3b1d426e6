"""The OCPI <-> OICP gateway: a node connected to Hubject as an **EMP** serves the chargers it learns of
there to its **OCPI** partners as their **CPO**.

* :func:`mirror` republishes what the EMP pulled (EVSE data, statuses, pricing products) as the node's own
  OCPI locations and tariffs, under its CPO party: a location per charging station, each EVSE with its
  eMI3 ``evse_id`` kept, each connector with the pricing product the hub assigns to that EVSE for us. The
  locations and tariffs services queue the changes for the OCPI partners as for any own object, so
  partners get a PUT for a new or changed location and a PATCH for a status change.
* :class:`OicpChargePoint` is the node's charge point port over the hub: an OCPI START_SESSION at a
  mirrored EVSE becomes an ``AuthorizeRemoteStart`` (contract ID from the token), STOP_SESSION an
  ``AuthorizeRemoteStop``, RESERVE_NOW / CANCEL_RESERVATION the remote reservations. OICP answers
  synchronously and the commands module sends the OCPI result to the eMSP's ``response_url`` from that
  answer. Hubject's SessionID is the transaction id, hence the OCPI Session id (36 characters fit).
* What the CPO reports through the hub becomes the port's events (:meth:`OicpChargePoint.on_emp_event`,
  an EMP listener): a Start notification starts the transaction, Progress is a meter reading, End the last
  reading, and the CDR closes the transaction with its times and energy; the node's sink then makes the
  OCPI Session and a CDR priced by the tariff engine from the mirrored tariffs, pushed to the token's
  eMSP. A CDR without any notification before it is enough; a notification that arrives before the
  remote start's answer is held until the answer names the session.

Transactions are stored (kind ``bridge_tx``) before they are acted on, so a restart takes them up again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import msgspec

from evroam.chargepoint.port import (
    Answer,
    CancelRequest,
    ChargePointEvent,
    ChargeState,
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
from evroam.model.enums import AuthMethod, Status
from evroam.model.locations import EVSE, Connector, Location
from evroam.model.tariffs import Tariff
from evroam.model.tokens import LocationReferences, Token
from evroam.modules.locations import LOCATIONS, LocationAdmin
from evroam.modules.oicp import HUB_PARTNER_ID, EmpService, PricingData
from evroam.modules.oicp.records import load_emp_cdr, load_pricing
from evroam.modules.tariffs import TariffAdmin
from evroam.oicp import codec as oicp_codec
from evroam.oicp import messages as m
from evroam.oicp.convert import tariff_of
from evroam.oicp.ids import EVCO_ID, normalize_id
from evroam.oicp.operations import status as om_status
from evroam.registration.directory import RegisteredPartners
from evroam.store.port import ObjectKey, Store

__all__ = [
    "GatewayTransaction",
    "MirrorReport",
    "OicpChargePoint",
    "mirror",
    "mirror_id",
    "refresh",
    "republish",
]

log = logging.getLogger(__name__)

TX_KIND = "bridge_tx"
_ZERO = Decimal(0)


def mirror_id(*parts: str) -> str:
    """An OCPI id (36 characters at most) for the mirror of an object known by ``parts`` (the operator's
    party and its own id): readable when it fits, else its start and a hash."""
    value = "-".join(p for p in parts if p)
    return value if len(value) <= 36 else value[:27] + hashlib.sha1(value.encode()).hexdigest()[:9]


# -- republishing -------------------------------------------------------------------------------------------


@dataclass
class MirrorReport:
    """What one :func:`mirror` did."""

    locations_put: list[str] = field(default_factory=list)
    statuses_patched: int = 0
    tariffs_put: list[str] = field(default_factory=list)
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)


def _builtins(value: Any) -> Any:
    return msgspec.json.decode(encode(value))


def _strip(value: Any) -> Any:
    """``value`` (builtins) without the ``last_updated`` stamps and the EVSE statuses, to compare content."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in ("last_updated", "status")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _products_for_us(pricing: PricingData, provider_id: str) -> dict[str, list[tuple[str, str]]]:
    """EvseID (normalised) -> [(OperatorID, ProductID)] of the products the hub assigns to that EVSE for
    us (our ProviderID or ``*``), ours first."""
    us = normalize_id(provider_id)
    found: dict[str, list[tuple[str, str]]] = {}
    for group in pricing.evse_pricing:
        for entry in group.EVSEPricing:
            if entry.ProviderID != "*" and normalize_id(entry.ProviderID) != us:
                continue
            listed = found.setdefault(normalize_id(entry.EvseID), [])
            pairs = [(group.OperatorID, p) for p in entry.EvseIDProductList]
            if entry.ProviderID == "*":
                listed.extend(pairs)
            else:
                listed[:0] = pairs
    return found


def _mirror_tariffs(
    pricing: PricingData, provider_id: str, party: tuple[str, str], at: DateTime
) -> dict[tuple[str, str], Tariff]:
    """(operator normalised, ProductID) -> the product as our tariff; a product for us wins over ``*``."""
    us = normalize_id(provider_id)
    out: dict[tuple[str, str], Tariff] = {}
    mine: set[tuple[str, str]] = set()
    for data in pricing.products:
        for_us = normalize_id(data.ProviderID) == us
        if not for_us and data.ProviderID != "*":
            continue
        operator = normalize_id(data.OperatorID)
        for record in data.PricingProductDataRecords:
            key = (operator, record.ProductID)
            if key in mine:
                continue
            try:
                tariff = tariff_of(record, data.OperatorID, at)
            except ValueError as exc:
                log.warning("gateway: pricing product %s of %s: %s", record.ProductID, data.OperatorID, exc)
                continue
            out[key] = msgspec.structs.replace(
                tariff,
                country_code=CiString(party[0]),
                party_id=CiString(party[1]),
                id=CiString(mirror_id(operator, record.ProductID)),
            )
            if for_us:
                mine.add(key)
    return out


def _mirror_location(
    location: Location,
    party: tuple[str, str],
    tariff_ids: dict[str, str],
    time_zone: str,
) -> Location:
    def connector(c: Connector, evse: EVSE) -> Connector:
        tariff = tariff_ids.get(normalize_id(str(evse.evse_id or "")))
        return msgspec.structs.replace(c, tariff_ids=(CiString(tariff),) if tariff else None)

    evses = tuple(
        msgspec.structs.replace(e, connectors=tuple(connector(c, e) for c in e.connectors))
        for e in location.evses or ()
    )
    return msgspec.structs.replace(
        location,
        country_code=CiString(party[0]),
        party_id=CiString(party[1]),
        id=CiString(mirror_id(f"{location.country_code}{location.party_id}", str(location.id))),
        time_zone=location.time_zone or time_zone,
        evses=evses,
    )


async def mirror(
    store: Store,
    clock: Clock,
    party: tuple[str, str],
    provider_id: str,
    *,
    time_zone: str = "UTC",
) -> MirrorReport:
    """Republish the locations received from the hub (and the pricing products the hub assigns to their
    EVSEs for ``provider_id``) as our own, under our CPO ``party``: only what changed is written, a
    status-only change as a status PATCH. ``time_zone``: for locations whose OICP offset has no IANA zone."""
    report = MirrorReport()
    now = DateTime.from_datetime(clock.now())
    raw = await load_pricing(store)
    pricing = PricingData() if raw is None else oicp_codec.decode(raw, PricingData)
    tariffs = _mirror_tariffs(pricing, provider_id, party, now)
    assigned = _products_for_us(pricing, provider_id)
    tariff_of_evse: dict[str, str] = {}
    used: dict[str, Tariff] = {}
    for evse_id, products in assigned.items():
        for operator, product in products:
            tariff = tariffs.get((normalize_id(operator), product))
            if tariff is not None:
                tariff_of_evse[evse_id] = str(tariff.id)
                used[str(tariff.id)] = tariff
                break
    await republish(
        store,
        clock,
        party,
        [
            _mirror_location(received, party, tariff_of_evse, time_zone)
            async for received in LOCATIONS.lookups.iter_locations(store, partners=[HUB_PARTNER_ID])
        ],
        list(used.values()),
        report,
    )
    return report


async def republish(
    store: Store,
    clock: Clock,
    party: tuple[str, str],
    locations: Sequence[Location],
    tariffs: Sequence[Tariff],
    report: MirrorReport,
) -> None:
    """Write ``locations`` and ``tariffs`` (ours, under ``party``) where they differ from what is stored:
    a tariff or location that changed is imported (a PUT for the partners), an EVSE whose status alone
    changed gets a status PATCH; the ``last_updated`` stamps do not count as a change."""
    now = DateTime.from_datetime(clock.now())
    partners = RegisteredPartners()
    changed = []
    for tariff in tariffs:
        held = await _load_tariff(store, party, str(tariff.id))
        if held is None or _strip(_builtins(held)) != _strip(_builtins(tariff)):
            changed.append(tariff)
    if changed:
        await TariffAdmin(store, clock, partners, [party]).import_tariffs(changed)
        report.tariffs_put.extend(str(t.id) for t in changed)
    admin_locations = LocationAdmin(store, clock, partners, [party])
    puts: list[Location] = []
    patches: list[tuple[str, Status]] = []
    for own in locations:
        record = await LOCATIONS.lookups.load_location_record(store, party[0], party[1], str(own.id))
        if record is not None and record.partner_id is not None:
            report.notes.append(f"location {own.id} is a partner's: not mirrored")
            continue
        old = None if record is None else record.location
        if old is None or _strip(_builtins(old)) != _strip(_builtins(own)):
            stamp = now if old is None else max(now, old.last_updated)
            puts.append(msgspec.structs.replace(own, last_updated=stamp))
            continue
        for evse in own.evses or ():
            before = old.evse(str(evse.uid))
            if before is not None and before.status != evse.status:
                patches.append((str(evse.uid), evse.status))
        report.unchanged += 1
    if puts:
        result = await admin_locations.import_locations(puts)
        report.locations_put.extend([*result.created, *result.updated])
    for evse_uid, status in patches:
        await admin_locations.set_status(evse_uid, status, party=party)
        report.statuses_patched += 1


async def _own_locations(store: Store, country_code: str, party_id: str) -> list[Location]:
    return [
        location
        async for location in LOCATIONS.lookups.iter_locations(store, partners=[None])
        if (str(location.country_code), str(location.party_id)) == (country_code, party_id)
    ]


async def _load_tariff(store: Store, party: tuple[str, str], tariff_id: str) -> Tariff | None:
    from evroam.modules.tariffs import TARIFFS

    record = await TARIFFS.lookups.load_tariff_record(store, party[0], party[1], tariff_id)
    return None if record is None or record.partner_id is not None else record.tariff


async def refresh(
    emp: EmpService,
    party: tuple[str, str],
    *,
    data: bool = True,
    full: bool = False,
    time_zone: str = "UTC",
) -> MirrorReport:
    """One round of the gateway: with ``data`` EVSE data (what changed since the last pull; everything
    with ``full``) and the pricing of its operators, then their statuses; then :func:`mirror`."""
    connection = await emp.connection()
    if data:
        await emp.pull_evse_data(full=full)
    operators = sorted(
        {
            f"{location.country_code}*{location.party_id}"
            async for location in LOCATIONS.lookups.iter_locations(emp.store, partners=[HUB_PARTNER_ID])
        }
    )
    if operators:
        if data:
            await emp.pull_pricing(operators)
        # by operator: Hubject allows 75 of these a minute, against 6 pulls of every status
        await emp.pull_evse_status(operator_ids=operators)
    return await mirror(emp.store, emp.clock, party, connection.id, time_zone=time_zone)


# -- the charge point port over the hub ---------------------------------------------------------------------


class Reading(msgspec.Struct, frozen=True):
    at: DateTime
    energy: Decimal
    state: ChargeState = ChargeState.CHARGING


class GatewayTransaction(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A remote start (or reservation) the gateway made at the hub, and what became of it."""

    session_id: str
    """Hubject's SessionID: the transaction id, and the OCPI Session id."""
    evse_id: str
    location_id: str
    evse_uid: str
    connector_id: str
    token: Token
    authorization_reference: str | None = None
    reservation_id: str | None = None
    """The commands module's reservation id, for a remote reservation."""
    started: bool = False
    readings: list[Reading] = msgspec.field(default_factory=list)
    stopped: bool = False
    stop_requested: bool = False
    auth_method: AuthMethod = AuthMethod.COMMAND
    """COMMAND for a remote start; AUTH_REQUEST / WHITELIST for a card the gateway authorized."""


def _tx_key(session_id: str) -> ObjectKey:
    return ObjectKey(TX_KIND, "", "", session_id.casefold())


def _answer_of(ack: m.Acknowledgement) -> Answer:
    if ack.Result:
        return Answer.ACCEPTED
    code = ack.StatusCode.Code
    if code == "602":
        return Answer.OCCUPIED
    if code == "700":
        return Answer.INOPERATIVE
    if code in ("603", "604", "400"):
        return Answer.UNKNOWN
    if code in ("501", "510", "300", "310", "320"):
        return Answer.FAILED
    return Answer.REJECTED


def _dt(value: datetime) -> DateTime:
    return DateTime.from_datetime(value)


class CardDecision(Protocol):
    @property
    def allowed(self) -> bool: ...

    @property
    def token(self) -> Token | None: ...

    @property
    def source(self) -> str: ...

    @property
    def authorization_reference(self) -> str | None: ...


class CardAuthorizer(Protocol):
    """The tokens module's decision (``AuthorizationService``): stored tokens, or the eMSP in real time."""

    async def authorize(
        self, uid: str, token_type: str, where: LocationReferences | None
    ) -> CardDecision: ...


class OicpChargePoint:
    """The charge point port of a gateway node: its "chargers" are the EVSEs mirrored from the hub (see
    the module docstring). ``parties``: the node's CPO parties (where the mirrored locations are)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        emp: EmpService,
        parties: Sequence[tuple[str, str]],
        authorizer: CardAuthorizer | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.emp = emp
        self.parties = tuple(parties)
        self.authorizer = authorizer
        self._listeners: list[EventListener] = []
        self._running: dict[str, GatewayTransaction] = {}
        self._early: dict[str, list[object]] = {}
        self._lock = asyncio.Lock()

    # -- the port ------------------------------------------------------------------------------------

    def subscribe(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    async def _emit(self, event: ChargePointEvent) -> None:
        for listener in self._listeners:
            await listener(event)

    async def _where(self, location_id: str, evse_uid: str | None) -> tuple[Location, EVSE] | Answer:
        for cc, pid in self.parties:
            record = await LOCATIONS.lookups.load_location_record(self.store, cc, pid, location_id)
            if record is None or record.partner_id is not None:
                continue
            location = record.location
            if evse_uid is not None:
                evse = location.evse(evse_uid)
                return Answer.UNKNOWN if evse is None or not evse.evse_id else (location, evse)
            free = [e for e in location.evses or () if e.evse_id and e.status is Status.AVAILABLE]
            return (location, free[0]) if free else Answer.OCCUPIED
        return Answer.UNKNOWN

    def _contract(self, token: Token) -> str | None:
        contract = str(token.contract_id)
        return contract if re.match(EVCO_ID, contract) else None

    async def _evse_by_id(self, evse_id: str) -> tuple[Location, EVSE] | None:
        wanted = normalize_id(evse_id)
        for cc, pid in self.parties:
            for location in await _own_locations(self.store, cc, pid):
                for evse in location.evses or ():
                    if evse.evse_id and normalize_id(str(evse.evse_id)) == wanted:
                        return location, evse
        return None

    async def authorize_start(self, body: m.AuthorizeStart) -> m.AuthorizationStart | None:
        """An EMP fallback: a card at one of the chargers we republish, which none of our own tokens is,
        is decided by the tokens module (a token an OCPI eMSP pushed to us, or that eMSP asked in real
        time). Authorized, the session is ours to carry: its notifications and CDR become the OCPI
        Session and CDR of that eMSP. ``None`` (not authorized) for what is not ours to decide."""
        uid = body.Identification.uid()
        if self.authorizer is None or uid is None or body.EvseID is None:
            return None
        found = await self._evse_by_id(body.EvseID)
        if found is None:
            return None
        location, evse = found
        where = LocationReferences(location_id=location.id, evse_uids=(evse.uid,))
        decision = await self.authorizer.authorize(uid, "RFID", where)
        if not decision.allowed or decision.token is None:
            log.info("gateway: card %s at %s not authorized (%s)", uid, body.EvseID, decision.source)
            return m.AuthorizationStart(
                AuthorizationStatus=m.AuthorizationStatus.NOT_AUTHORIZED,
                StatusCode=om_status("102"),
                SessionID=body.SessionID,
            )
        if body.SessionID:
            tx = GatewayTransaction(
                session_id=body.SessionID,
                evse_id=str(evse.evse_id),
                location_id=str(location.id),
                evse_uid=str(evse.uid),
                connector_id=str(evse.connectors[0].id) if evse.connectors else "1",
                token=decision.token,
                authorization_reference=decision.authorization_reference,
                auth_method=AuthMethod.AUTH_REQUEST if decision.source == "eMSP" else AuthMethod.WHITELIST,
            )
            await self._adopt(tx)
        connection = await self.emp.connection()
        return m.AuthorizationStart(
            AuthorizationStatus=m.AuthorizationStatus.AUTHORIZED,
            StatusCode=om_status("000"),
            SessionID=body.SessionID,
            ProviderID=connection.id,
            AuthorizationStopIdentifications=[body.Identification],
        )

    async def _adopt(self, tx: GatewayTransaction) -> None:
        """Store a new transaction, then play what the hub sent of it before we knew it."""
        async with self._lock:
            await self._save(tx)
            early = self._early.pop(tx.session_id.casefold(), [])
        for body in early:
            await self.on_emp_event(body)

    async def start(self, request: StartRequest) -> Answer:
        where = await self._where(request.location_id, request.evse_uid)
        if isinstance(where, Answer):
            return where
        location, evse = where
        contract = self._contract(request.token)
        if contract is None:
            log.warning(
                "gateway: token %s has contract id %r, not an EvcoID: OICP cannot start with it",
                request.token.uid,
                str(request.token.contract_id),
            )
            return Answer.REJECTED
        try:
            ack = await self.emp.remote_start(str(evse.evse_id), contract)
        except Exception as exc:  # the hub unreachable, a refusal of the request
            log.warning("gateway: remote start at %s: %s", evse.evse_id, exc)
            return Answer.FAILED
        answer = _answer_of(ack)
        if answer is not Answer.ACCEPTED or not ack.SessionID:
            log.info("gateway: remote start at %s: %s (%s)", evse.evse_id, answer.value, ack.StatusCode.Code)
            return answer if answer is not Answer.ACCEPTED else Answer.FAILED
        connector = request.connector_id or (str(evse.connectors[0].id) if evse.connectors else "1")
        tx = GatewayTransaction(
            session_id=ack.SessionID,
            evse_id=str(evse.evse_id),
            location_id=str(location.id),
            evse_uid=str(evse.uid),
            connector_id=connector,
            token=request.token,
            authorization_reference=request.authorization_reference,
        )
        await self._adopt(tx)
        return Answer.ACCEPTED

    async def stop(self, request: StopRequest) -> Answer:
        tx = await self._load(request.transaction_id)
        if tx is None or tx.stopped:
            return Answer.UNKNOWN
        try:
            ack = await self.emp.remote_stop(tx.session_id)
        except Exception as exc:
            log.warning("gateway: remote stop of %s: %s", tx.session_id, exc)
            return Answer.FAILED
        answer = _answer_of(ack)
        if answer is Answer.ACCEPTED:
            tx.stop_requested = True
            await self._save(tx)
        return answer

    async def reserve(self, request: ReserveRequest) -> Answer:
        where = await self._where(request.location_id, request.evse_uid)
        if isinstance(where, Answer):
            return where
        location, evse = where
        contract = self._contract(request.token)
        if contract is None:
            return Answer.REJECTED
        minutes = max(1, math.ceil((request.expiry_date - self.clock.now()).total_seconds() / 60))
        try:
            ack = await self.emp.reserve(str(evse.evse_id), contract, minutes)
        except Exception as exc:
            log.warning("gateway: remote reservation at %s: %s", evse.evse_id, exc)
            return Answer.FAILED
        answer = _answer_of(ack)
        if answer is Answer.ACCEPTED and ack.SessionID:
            await self._save(
                GatewayTransaction(
                    session_id=ack.SessionID,
                    evse_id=str(evse.evse_id),
                    location_id=str(location.id),
                    evse_uid=str(evse.uid),
                    connector_id=str(evse.connectors[0].id) if evse.connectors else "1",
                    token=request.token,
                    authorization_reference=request.authorization_reference,
                    reservation_id=request.reservation_id,
                )
            )
        return answer

    async def cancel_reservation(self, request: CancelRequest) -> Answer:
        found = await self.store.find(TX_KIND)
        for item in found.items:
            tx: GatewayTransaction = decode(item.payload, GatewayTransaction)
            if tx.reservation_id == request.reservation_id and not tx.started:
                try:
                    ack = await self.emp.cancel_reservation(tx.session_id)
                except Exception as exc:
                    log.warning("gateway: cancelling reservation %s: %s", tx.session_id, exc)
                    return Answer.FAILED
                return _answer_of(ack)
        return Answer.UNKNOWN

    async def unlock(self, request: UnlockRequest) -> Answer:
        return Answer.NOT_SUPPORTED  # OICP has no unlock

    def transaction(self, transaction_id: str) -> TransactionInfo | None:
        tx = self._running.get(transaction_id.casefold())
        if tx is None:
            return None
        return TransactionInfo(
            transaction_id=tx.session_id,
            location_id=tx.location_id,
            evse_uid=tx.evse_uid,
            connector_id=tx.connector_id,
            token=tx.token,
            started=tx.readings[0].at if tx.readings else _dt(self.clock.now()),
            authorization_reference=tx.authorization_reference,
        )

    # -- store ---------------------------------------------------------------------------------------

    async def _load(self, session_id: str) -> GatewayTransaction | None:
        found = await self.store.get(_tx_key(session_id))
        return None if found is None else decode(found.payload, GatewayTransaction)

    async def _save(self, tx: GatewayTransaction) -> None:
        await self.store.put(_tx_key(tx.session_id), encode(tx), self.clock.now(), check_stale=False)
        if tx.started and not tx.stopped:
            self._running[tx.session_id.casefold()] = tx
        else:
            self._running.pop(tx.session_id.casefold(), None)

    async def load(self, resume: Any = None) -> int:
        """Take up the transactions a previous process left running (``resume``: the sink's, which
        rebuilds their Sessions' state); returns how many."""
        found = await self.store.find(TX_KIND)
        count = 0
        for item in found.items:
            tx: GatewayTransaction = decode(item.payload, GatewayTransaction)
            if not tx.started or tx.stopped:
                continue
            self._running[tx.session_id.casefold()] = tx
            if resume is not None and tx.readings:
                await resume(
                    self._started(tx, tx.readings[0].at), [self._reading(tx, r) for r in tx.readings]
                )
            count += 1
        return count

    async def catch_up(self) -> int:
        """Close the open transactions whose CDR the EMP kept without telling us (a crash in between, a
        CDR fetched by ``oicp cdrs get``); returns how many."""
        found = await self.store.find(TX_KIND)
        closed = 0
        for item in found.items:
            tx: GatewayTransaction = decode(item.payload, GatewayTransaction)
            if tx.stopped:
                continue
            kept = await load_emp_cdr(self.store, tx.session_id)
            if kept is not None:
                await self.on_emp_event(oicp_codec.decode(kept.cdr, m.ChargeDetailRecord))
                closed += 1
        return closed

    # -- what the CPO reports through the hub ---------------------------------------------------------

    def _started(self, tx: GatewayTransaction, at: DateTime) -> TransactionStarted:
        return TransactionStarted(
            transaction_id=tx.session_id,
            location_id=tx.location_id,
            evse_uid=tx.evse_uid,
            connector_id=tx.connector_id,
            token=tx.token,
            auth_method=tx.auth_method,
            meter_start=_ZERO,
            at=at,
            authorization_reference=tx.authorization_reference,
        )

    def _reading(
        self, tx: GatewayTransaction, reading: Reading, previous: Reading | None = None
    ) -> MeterValues:
        power = _ZERO
        if previous is not None and reading.at > previous.at:
            hours = Decimal(str((reading.at - previous.at).total_seconds())) / Decimal(3600)
            power = ((reading.energy - previous.energy) / hours).quantize(Decimal("0.001"))
        return MeterValues(
            transaction_id=tx.session_id,
            at=reading.at,
            energy=reading.energy,
            power=power,
            state=reading.state,
        )

    async def _start(self, tx: GatewayTransaction, at: DateTime, charging: DateTime | None = None) -> None:
        """Started at ``at``; plugged in but not charging until ``charging`` when that is later."""
        if tx.started:
            return
        tx.started = True
        parked = charging is not None and charging > at
        tx.readings = [
            Reading(at=at, energy=_ZERO, state=ChargeState.SUSPENDED_EV if parked else ChargeState.CHARGING)
        ]
        await self._save(tx)
        await self._emit(self._started(tx, at))
        await self._emit(self._reading(tx, tx.readings[0]))
        if parked and charging is not None:
            await self._read(tx, charging, _ZERO, ChargeState.CHARGING)

    async def _read(self, tx: GatewayTransaction, at: DateTime, energy: Decimal, state: ChargeState) -> None:
        previous = tx.readings[-1] if tx.readings else None
        if previous is not None and (at <= previous.at or energy < previous.energy):
            return  # a repeat, or older than what we have
        reading = Reading(at=at, energy=energy, state=state)
        tx.readings.append(reading)
        await self._save(tx)
        await self._emit(self._reading(tx, reading, previous))

    async def on_emp_event(self, body: object) -> None:
        """An EMP listener: a charging notification or a CDR the hub sent (see the module docstring)."""
        session_id = getattr(body, "SessionID", None)
        if not isinstance(session_id, str):
            return
        async with self._lock:
            tx = await self._load(session_id)
            if tx is None:
                if isinstance(body, m.ChargingNotificationStart | m.ChargingNotificationProgress):
                    # may come before the remote start's answer: kept until it names the session
                    self._early.setdefault(session_id.casefold(), []).append(body)
                else:
                    log.info("gateway: %s of session %s: not one of ours", type(body).__name__, session_id)
                return
            if tx.stopped:
                return
            if isinstance(body, m.ChargingNotificationStart):
                session_start = body.SessionStart or body.ChargingStart
                await self._start(tx, _dt(min(session_start, body.ChargingStart)), _dt(body.ChargingStart))
            elif isinstance(body, m.ChargingNotificationProgress):
                await self._start(tx, _dt(body.ChargingStart))
                if body.ConsumedEnergyProgress is not None:
                    await self._read(
                        tx,
                        _dt(body.EventOccurred),
                        Decimal(body.ConsumedEnergyProgress),
                        ChargeState.CHARGING,
                    )
            elif isinstance(body, m.ChargingNotificationEnd):
                await self._start(tx, _dt(body.ChargingStart or body.SessionStart or body.ChargingEnd))
                if body.ConsumedEnergy is not None:
                    await self._read(
                        tx, _dt(body.ChargingEnd), Decimal(body.ConsumedEnergy), ChargeState.SUSPENDED_EV
                    )
            elif isinstance(body, m.ChargingNotificationError):
                log.warning(
                    "gateway: session %s: the CPO reports %s (%s); it is closed by its CDR",
                    session_id,
                    body.ErrorType,
                    body.ErrorAdditionalInfo or "",
                )
            elif isinstance(body, m.ChargeDetailRecord):
                await self._close(tx, body)

    async def _close(self, tx: GatewayTransaction, cdr: m.ChargeDetailRecord) -> None:
        """The CDR: charging from ChargingStart to ChargingEnd (all its energy), parked until SessionEnd."""
        start = _dt(min(cdr.ChargingStart, cdr.SessionStart))
        await self._start(tx, start, _dt(cdr.ChargingStart))
        energy = Decimal(cdr.ConsumedEnergy)
        charging_end = _dt(cdr.ChargingEnd)
        session_end = _dt(max(cdr.SessionEnd, cdr.ChargingEnd))
        last = tx.readings[-1]
        if charging_end > last.at:
            await self._read(tx, charging_end, energy, ChargeState.SUSPENDED_EV)
        elif energy > last.energy:  # the notifications ran past ChargingEnd: the CDR's energy counts
            await self._read(tx, _dt(last.at + timedelta(seconds=1)), energy, ChargeState.SUSPENDED_EV)
        stop_at = max(session_end, tx.readings[-1].at)
        tx.stopped = True
        await self._save(tx)
        await self._emit(
            TransactionStopped(
                transaction_id=tx.session_id,
                at=stop_at,
                meter_stop=energy,
                reason=StopReason.REMOTE if tx.stop_requested else StopReason.LOCAL,
            )
        )
