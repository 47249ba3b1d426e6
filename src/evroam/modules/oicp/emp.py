"""evroam as an OICP EMP.

:class:`EmpService` calls the hub: EVSE data (paged; with ``LastCall`` only what changed since the
previous pull) and EVSE status (all, by id, by operator) are stored as locations received from the hub
(through the locations kit, so the OCPI side and the dashboard see them); the node's tokens are pushed
as authentication data; remote start/stop and reservations; CDRs fetched page by page; pricing pulled.

It also serves what the hub calls on an EMP: authorize start/stop answered from the tokens module
(through its kit's lookups), CDRs and charging notifications received. A CDR is kept once per SessionID
(never twice, whether pushed by the hub or fetched) and priced with the tariff engine from the pulled
pricing product of its EVSE (OICP CDRs carry no money).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import msgspec

from evroam.chargepoint.sink import engine_tariffs
from evroam.core.clock import Clock
from evroam.core.types import DateTime
from evroam.model.enums import Status
from evroam.model.tokens import Token
from evroam.modules.locations import LOCATIONS
from evroam.modules.oicp.hub import HubClients, refusal
from evroam.modules.oicp.records import (
    HUB_PARTNER_ID,
    Connection,
    EmpCdr,
    OicpSession,
    list_emp_cdrs,
    load_connection,
    load_emp_cdr,
    load_pricing,
    load_session,
    load_state,
    save_emp_cdr,
    save_pricing,
    save_session,
    save_state,
)
from evroam.modules.tokens import TOKENS
from evroam.oicp import codec
from evroam.oicp import messages as m
from evroam.oicp.convert import identification_of, locations_of, status_from_oicp, tariff_of
from evroam.oicp.ids import evse_operator, normalize_id, party_of_provider
from evroam.oicp.operations import by_name, status
from evroam.store.port import Store
from evroam.tariffs import Period, Session, State, TariffError, price

__all__ = ["EmpFallback", "EmpListener", "EmpService", "PricingData"]

log = logging.getLogger(__name__)

#: Told of every charging notification the hub sends and of every CDR kept (once per SessionID, pushed
#: or fetched), after it is stored; what it raises is logged, the hub still gets its answer.
EmpListener = Callable[[object], Awaitable[None]]
#: Asked about an AuthorizeStart whose identification none of our own tokens is: its answer, or ``None``
#: (then: not authorized). The gateway's forwards an RFID card to the OCPI eMSP that issued it.
EmpFallback = Callable[[m.AuthorizeStart], Awaitable[m.AuthorizationStart | None]]

PULL_DATA = by_name("eRoamingPullEvseData")
PULL_STATUS = by_name("eRoamingPullEvseStatus")
PULL_STATUS_BY_ID = by_name("eRoamingPullEvseStatusByID")
PULL_STATUS_BY_OPERATOR = by_name("eRoamingPullEvseStatusByOperatorID")
REMOTE_START = by_name("eRoamingAuthorizeRemoteStart")
REMOTE_STOP = by_name("eRoamingAuthorizeRemoteStop")
RESERVE = by_name("eRoamingAuthorizeRemoteReservationStart")
CANCEL = by_name("eRoamingAuthorizeRemoteReservationStop")
PUSH_AUTH = by_name("eRoamingPushAuthenticationData")
GET_CDRS = by_name("eRoamingGetChargeDetailRecords")
PULL_PRODUCTS = by_name("eRoamingPullPricingProductData")
PULL_PRICING = by_name("eRoamingPullEVSEPricing")

_CENT = Decimal("0.01")


class PricingData(msgspec.Struct, kw_only=True):
    """What the EMP pulled of the CPOs' pricing (E11 + E12)."""

    products: list[m.PricingProductData] = msgspec.field(default_factory=list)
    evse_pricing: list[m.OperatorEvsePricing] = msgspec.field(default_factory=list)


class EmpService:
    """See the module docstring. ``store``, ``clock`` and the hub ``clients`` are the node's."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        clients: HubClients | None = None,
        listeners: Sequence[EmpListener] = (),
        fallback: EmpFallback | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.clients = clients or HubClients()
        self.listeners = list(listeners)
        self.fallback = fallback

    async def _tell(self, body: object) -> None:
        for listener in self.listeners:
            try:
                await listener(body)
            except Exception:
                log.exception("OICP EMP: a listener failed on %s", type(body).__name__)

    async def connection(self) -> Connection:
        connection = await load_connection(self.store, "EMP")
        if connection is None:
            raise ValueError("no OICP EMP connection (evroam oicp connect --provider-id ...)")
        return connection

    # -- EVSE data and status -------------------------------------------------------------------------

    async def pull_evse_data(self, *, full: bool = False, size: int = 100) -> list[m.PullEvseDataRecord]:
        """E1, page by page: everything (``full`` or the first time), else what changed since the last
        pull (``LastCall``). Stored as locations received from the hub; returns the records."""
        connection = await self.connection()
        state = await load_state(self.store, "EMP")
        now = self.clock.now()
        request = m.PullEvseData(
            ProviderID=connection.id,
            GeoCoordinatesResponseFormat=m.GeoCoordinatesResponseFormat.DECIMAL_DEGREE,
            LastCall=None if full else state.last_pull,
        )
        records: list[m.PullEvseDataRecord] = []
        page = 0
        while True:
            answer = await self.clients.get(connection).call(
                PULL_DATA, connection.id, request, page=page, size=size
            )
            if (note := refusal(answer, "EVSE data pull")) is not None:
                raise ValueError(note)
            records.extend(answer.content)
            if answer.last or not answer.content:
                break
            page += 1
        await self._store_records(records)
        state.last_pull = now
        await save_state(self.store, "EMP", state, now)
        return records

    async def _store_records(self, records: list[m.PullEvseDataRecord]) -> None:
        assert LOCATIONS.pull is not None
        at = DateTime.from_datetime(self.clock.now())
        for location in locations_of(records, at):
            stored = await LOCATIONS.pull.load(self.store, location)
            if stored is not None and stored.obj.evses:  # keep what a delta does not carry
                merged = {str(e.uid): e for e in stored.obj.evses}
                merged.update({str(e.uid): e for e in location.evses or ()})
                location = msgspec.structs.replace(location, evses=tuple(merged.values()))
            await LOCATIONS.pull.save(self.store, location, HUB_PARTNER_ID)

    async def pull_evse_status(
        self, *, evse_ids: list[str] | None = None, operator_ids: list[str] | None = None
    ) -> list[tuple[str, m.EvseStatus]]:
        """E2 (all), E3 (``evse_ids``, at most 100) or E4 (``operator_ids``); the stored EVSEs take the
        statuses. Returns ``(EvseID, status)`` in the hub's order."""
        connection = await self.connection()
        client = self.clients.get(connection)
        pairs: list[tuple[str, m.EvseStatus]] = []
        if evse_ids:
            by_id = await client.call(
                PULL_STATUS_BY_ID,
                connection.id,
                m.PullEvseStatusById(ProviderID=connection.id, EvseID=evse_ids),
            )
            pairs = [(r.EvseID, r.EvseStatus) for r in by_id.EVSEStatusRecords.EvseStatusRecord]
        else:
            if operator_ids:
                answer = await client.call(
                    PULL_STATUS_BY_OPERATOR,
                    connection.id,
                    m.PullEvseStatusByOperatorId(ProviderID=connection.id, OperatorID=operator_ids),
                )
            else:
                answer = await client.call(
                    PULL_STATUS, connection.id, m.PullEvseStatus(ProviderID=connection.id)
                )
            for group in answer.EvseStatuses.OperatorEvseStatus:
                pairs.extend((r.EvseID, r.EvseStatus) for r in group.EvseStatusRecord)
        await self._apply_statuses(dict(pairs))
        return pairs

    async def _apply_statuses(self, statuses: Mapping[str, m.EvseStatus]) -> None:
        wanted = {normalize_id(k): status_from_oicp(v) for k, v in statuses.items()}
        at = DateTime.from_datetime(self.clock.now())
        async for location in LOCATIONS.lookups.iter_locations(self.store, partners=[HUB_PARTNER_ID]):
            evses = []
            changed = False
            for evse in location.evses or ():
                new = wanted.get(normalize_id(str(evse.evse_id or "")))
                if new is not None and new != evse.status and evse.status is not Status.REMOVED:
                    evse = msgspec.structs.replace(evse, status=new, last_updated=at)
                    changed = True
                evses.append(evse)
            if changed:
                assert LOCATIONS.pull is not None
                updated = msgspec.structs.replace(location, evses=tuple(evses), last_updated=at)
                await LOCATIONS.pull.save(self.store, updated, HUB_PARTNER_ID)

    # -- authentication data ----------------------------------------------------------------------

    async def own_tokens(self) -> list[Token]:
        return [doc.token async for _item, doc in TOKENS.lookups.iter_tokens(self.store, partners=[None])]

    async def push_authentication_data(self) -> tuple[int, str | None]:
        """E9 ``fullLoad`` of our valid tokens (an offline EMP's authorization data)."""
        connection = await self.connection()
        flat = normalize_id(connection.id)
        records = []
        for token in await self.own_tokens():
            if not token.valid:
                continue
            ident = identification_of(token)
            evco = ident.evco_id()
            if evco is not None and normalize_id(evco)[:5] != flat:
                continue  # not under our ProviderID: Hubject would answer 019
            records.append(m.AuthenticationDataRecord(Identification=ident))
        body = m.PushAuthenticationData(
            ActionType=m.ActionType.FULL_LOAD,
            ProviderAuthenticationData=m.ProviderAuthenticationData(
                ProviderID=connection.id, AuthenticationDataRecord=records
            ),
        )
        answer = await self.clients.get(connection).call(PUSH_AUTH, connection.id, body)
        return len(records), refusal(answer, "authentication data")

    # -- remote start / stop, reservations ----------------------------------------------------------

    async def remote_start(
        self, evse_id: str, contract_id: str, product: str | None = None
    ) -> m.Acknowledgement:
        connection = await self.connection()
        ident = m.Identification(RemoteIdentification=m.RemoteIdentification(EvcoID=contract_id))
        body = m.AuthorizeRemoteStart(
            ProviderID=connection.id, EvseID=evse_id, Identification=ident, PartnerProductID=product
        )
        answer: m.Acknowledgement = await self.clients.get(connection).call(REMOTE_START, connection.id, body)
        if answer.Result and answer.SessionID:
            await save_session(
                self.store,
                OicpSession(
                    id=answer.SessionID,
                    role="EMP",
                    evse_id=evse_id,
                    identification=codec.encode(ident),
                    provider_id=connection.id,
                ),
                self.clock.now(),
            )
        return answer

    async def remote_stop(self, session_id: str) -> m.Acknowledgement:
        connection = await self.connection()
        ours = await load_session(self.store, "EMP", session_id)
        if ours is None or ours.evse_id is None:
            raise ValueError(f"no remote session {session_id}")
        body = m.AuthorizeRemoteStop(SessionID=session_id, ProviderID=connection.id, EvseID=ours.evse_id)
        answer: m.Acknowledgement = await self.clients.get(connection).call(REMOTE_STOP, connection.id, body)
        return answer

    async def reserve(self, evse_id: str, contract_id: str, minutes: int | None = None) -> m.Acknowledgement:
        connection = await self.connection()
        ident = m.Identification(RemoteIdentification=m.RemoteIdentification(EvcoID=contract_id))
        body = m.AuthorizeRemoteReservationStart(
            ProviderID=connection.id, EvseID=evse_id, Identification=ident, Duration=minutes
        )
        answer: m.Acknowledgement = await self.clients.get(connection).call(RESERVE, connection.id, body)
        if answer.Result and answer.SessionID:
            await save_session(
                self.store,
                OicpSession(
                    id=answer.SessionID,
                    role="EMP",
                    evse_id=evse_id,
                    identification=codec.encode(ident),
                    provider_id=connection.id,
                    reservation=True,
                ),
                self.clock.now(),
            )
        return answer

    async def cancel_reservation(self, session_id: str) -> m.Acknowledgement:
        connection = await self.connection()
        ours = await load_session(self.store, "EMP", session_id)
        if ours is None or ours.evse_id is None:
            raise ValueError(f"no reservation {session_id}")
        body = m.AuthorizeRemoteReservationStop(
            SessionID=session_id, ProviderID=connection.id, EvseID=ours.evse_id
        )
        answer: m.Acknowledgement = await self.clients.get(connection).call(CANCEL, connection.id, body)
        return answer

    # -- CDRs ----------------------------------------------------------------------------------------

    async def get_cdrs(self, start: datetime, end: datetime, *, size: int = 100) -> list[EmpCdr]:
        """E10 page by page; the CDRs not kept yet are kept (priced). Returns the new ones."""
        connection = await self.connection()
        body = m.GetChargeDetailRecords(ProviderID=connection.id, From=start, To=end)
        new: list[EmpCdr] = []
        page = 0
        while True:
            answer = await self.clients.get(connection).call(
                GET_CDRS, connection.id, body, page=page, size=size
            )
            if (note := refusal(answer, "CDR pull")) is not None:
                raise ValueError(note)
            for cdr in answer.content:
                kept = await self._keep_cdr(cdr, "pull")
                if kept is not None:
                    new.append(kept)
            if answer.last or not answer.content:
                break
            page += 1
        return new

    async def cdrs(self) -> list[EmpCdr]:
        return await list_emp_cdrs(self.store)

    async def _keep_cdr(self, cdr: m.ChargeDetailRecord, source: str) -> EmpCdr | None:
        if await load_emp_cdr(self.store, cdr.SessionID) is not None:
            return None  # never twice
        currency, amount, product, note = await self._price(cdr)
        kept = EmpCdr(
            session_id=cdr.SessionID,
            cdr=codec.encode(cdr),
            received=self.clock.now(),
            source=source,
            currency=currency,
            price_excl_vat=amount,
            product_id=product,
            pricing_note=note,
        )
        await save_emp_cdr(self.store, kept)
        await self._tell(cdr)
        return kept

    async def _price(
        self, cdr: m.ChargeDetailRecord
    ) -> tuple[str | None, Decimal | None, str | None, str | None]:
        """The CDR priced by the tariff engine with the pricing product its EVSE has for us."""
        raw = await load_pricing(self.store)
        if raw is None:
            return None, None, None, "no pricing pulled (evroam oicp pull pricing)"
        pricing: PricingData = codec.decode(raw, PricingData)
        connection = await self.connection()
        us = normalize_id(connection.id)
        operator = evse_operator(cdr.EvseID)
        products: list[str] = []
        for group in pricing.evse_pricing:
            for entry in group.EVSEPricing:
                if normalize_id(entry.EvseID) == normalize_id(cdr.EvseID) and entry.ProviderID in (
                    "*",
                    connection.id,
                ):
                    products.extend(entry.EvseIDProductList)
        if cdr.PartnerProductID and cdr.PartnerProductID in products:
            products.insert(0, cdr.PartnerProductID)
        for data in pricing.products:
            for_us = data.ProviderID == "*" or normalize_id(data.ProviderID) == us
            if normalize_id(data.OperatorID) != operator or not for_us:
                continue
            for record in data.PricingProductDataRecords:
                if record.ProductID in products:
                    tariff = tariff_of(record, data.OperatorID, DateTime.from_datetime(self.clock.now()))
                    session = _engine_session(cdr)
                    try:
                        result = price(engine_tariffs([tariff]), session, "UTC")
                    except TariffError as exc:
                        return record.ProductPriceCurrency, None, record.ProductID, str(exc)
                    total = result.total_cost.excl_vat or Decimal(0)
                    return (
                        record.ProductPriceCurrency,
                        total.quantize(_CENT, ROUND_HALF_UP),
                        record.ProductID,
                        None,
                    )
        return None, None, None, f"no pricing product for {cdr.EvseID}"

    # -- pricing -------------------------------------------------------------------------------------

    async def pull_pricing(self, operator_ids: list[str]) -> PricingData:
        """E11 and E12 for ``operator_ids``; kept for pricing CDRs."""
        connection = await self.connection()
        client = self.clients.get(connection)
        products = await client.call(
            PULL_PRODUCTS, connection.id, m.PullPricingProductData(OperatorIDs=operator_ids)
        )
        evse = await client.call(
            PULL_PRICING, connection.id, m.PullEvsePricing(ProviderID=connection.id, OperatorIDs=operator_ids)
        )
        data = PricingData(products=products.PricingProductData, evse_pricing=evse.EVSEPricing)
        await save_pricing(self.store, codec.encode(data), self.clock.now())
        return data

    # -- what the hub calls on an EMP ----------------------------------------------------------------

    def handlers(self) -> dict[str, Any]:
        return {
            "eRoamingAuthorizeStart": self.authorize_start,
            "eRoamingAuthorizeStop": self.authorize_stop,
            "eRoamingChargeDetailRecord": self.receive_cdr,
            "eRoamingChargingNotifications": self.receive_notification,
        }

    async def _token_for(self, ident: m.Identification) -> Token | None:
        connection = await self.connection()
        cc, pid = party_of_provider(connection.id)
        uid = ident.uid()
        if uid is not None:
            for token_type in ("RFID", "OTHER"):
                record = await TOKENS.lookups.load_token_record(self.store, cc, pid, uid, token_type)
                if record is not None and record.partner_id is None:
                    return record.token
            return None
        evco = ident.evco_id()
        for token in await self.own_tokens():
            if evco is not None and normalize_id(str(token.contract_id)) == normalize_id(evco):
                return token
        return None

    async def authorize_start(
        self, body: m.AuthorizeStart, ident: str | None, q: Mapping[str, str]
    ) -> m.AuthorizationStart:
        connection = await self.connection()
        token = await self._token_for(body.Identification)
        if token is None and self.fallback is not None:
            forwarded = await self.fallback(body)
            if forwarded is not None:
                return forwarded
        if token is None or not token.valid:
            code = "102" if body.Identification.uid() else "106"
            return m.AuthorizationStart(
                AuthorizationStatus=m.AuthorizationStatus.NOT_AUTHORIZED,
                StatusCode=status(code),
                SessionID=body.SessionID,
            )
        if body.SessionID:
            await save_session(
                self.store,
                OicpSession(
                    id=body.SessionID,
                    role="EMP",
                    evse_id=body.EvseID,
                    identification=codec.encode(body.Identification),
                    provider_id=connection.id,
                    operator_id=body.OperatorID,
                ),
                self.clock.now(),
            )
        return m.AuthorizationStart(
            AuthorizationStatus=m.AuthorizationStatus.AUTHORIZED,
            StatusCode=status("000"),
            SessionID=body.SessionID,
            ProviderID=connection.id,
            AuthorizationStopIdentifications=[body.Identification],
        )

    async def authorize_stop(
        self, body: m.AuthorizeStop, ident: str | None, q: Mapping[str, str]
    ) -> m.AuthorizationStop:
        connection = await self.connection()
        ours = await load_session(self.store, "EMP", body.SessionID)
        if ours is None or ours.identification is None:
            return m.AuthorizationStop(
                AuthorizationStatus=m.AuthorizationStatus.NOT_AUTHORIZED,
                StatusCode=status("400"),
                SessionID=body.SessionID,
            )
        same: bool = codec.decode(ours.identification, m.Identification) == body.Identification
        token = await self._token_for(body.Identification)
        if not same and token is None:
            return m.AuthorizationStop(
                AuthorizationStatus=m.AuthorizationStatus.NOT_AUTHORIZED,
                StatusCode=status("102"),
                SessionID=body.SessionID,
            )
        return m.AuthorizationStop(
            AuthorizationStatus=m.AuthorizationStatus.AUTHORIZED,
            StatusCode=status("000"),
            SessionID=body.SessionID,
            ProviderID=connection.id,
        )

    async def receive_cdr(
        self, body: m.ChargeDetailRecord, ident: str | None, q: Mapping[str, str]
    ) -> m.Acknowledgement:
        await self._keep_cdr(body, "push")
        return m.Acknowledgement(Result=True, StatusCode=status("000"), SessionID=body.SessionID)

    async def receive_notification(
        self, body: Any, ident: str | None, q: Mapping[str, str]
    ) -> m.Acknowledgement:
        kind = type(body).__name__.removeprefix("ChargingNotification")
        ours = await load_session(self.store, "EMP", body.SessionID)
        if ours is None:
            ours = OicpSession(
                id=body.SessionID, role="EMP", evse_id=body.EvseID, operator_id=body.OperatorID
            )
        ours.notifications.append(kind)
        await save_session(self.store, ours, self.clock.now())
        await self._tell(body)
        return m.Acknowledgement(Result=True, StatusCode=status("000"), SessionID=body.SessionID)


def _engine_session(cdr: m.ChargeDetailRecord) -> Session:
    """An OICP CDR as the engine's session: parked before charging, charging (all the energy), parked
    after; the times in UTC."""
    periods = []
    if cdr.SessionStart < cdr.ChargingStart:
        periods.append(Period(start=cdr.SessionStart, state=State.PARKING))
    periods.append(Period(start=cdr.ChargingStart, state=State.CHARGING, energy=Decimal(cdr.ConsumedEnergy)))
    if cdr.ChargingEnd < cdr.SessionEnd:
        periods.append(Period(start=cdr.ChargingEnd, state=State.PARKING))
    return Session(
        start=min(cdr.SessionStart, cdr.ChargingStart),
        end=max(cdr.SessionEnd, cdr.ChargingEnd),
        periods=tuple(periods),
    )
