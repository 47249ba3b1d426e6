"""The CDR services: plain Python over the store, no HTTP.

* :class:`CdrSender` (CPO) — pages of our own CDRs, each partner seeing only the CDRs of its tokens;
* :class:`CdrReceiver` (eMSP) — CDRs CPOs POST, under their own parties only. CDRs are immutable: a
  second POST of the same ``(country_code, party_id, id)`` is refused with
  :class:`~evroam.core.errors.Conflict` (HTTP 409, OCPI 2000) and changes nothing. Credit CDRs
  (``credit`` true, ``credit_reference_id``, negative totals) are accepted like any other;
* :class:`CdrAdmin` (CPO) — creates our final CDRs (from an OCPI object, from one of our completed
  sessions, or as the credit of an earlier one) and queues their POST in the same transaction, for
  the partner holding the token's party only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import msgspec

from evroam.core.errors import Conflict, NotFound, ValidationFailed, Violation
from evroam.core.types import CiString
from evroam.model.cdrs import CDR, CdrLocation
from evroam.model.common import Price
from evroam.model.enums import Role, SessionStatus
from evroam.model.locations import Location
from evroam.modules.locations import LOCATIONS
from evroam.modules.sessions import SESSIONS
from evroam.ocpi.transport.pagination import PageRequest
from evroam.registration.model import Partner
from evroam.store.outbox import ObjectChange, enqueue_change
from evroam.store.port import Operations, Store

from .._shared import PartyAdmin, PartyPartners, partner_scopes, require_party, token_owner
from .ports import CdrCreated, CdrPage
from .repository import (
    CdrDocument,
    CdrRecord,
    cdr_scope,
    iter_cdr_records,
    load_cdr_record,
    page_cdrs,
    save_cdr,
)

__all__ = ["CREDIT_SUFFIX", "MODULE", "CdrAdmin", "CdrReceiver", "CdrSender", "credit_of", "find_cdr"]

MODULE = "cdrs"
CREDIT_SUFFIX = "-C"
_HOURS = Decimal("0.0001")
NOT_AVAILABLE = "#NA"
"""What OCPI puts in a required string that genuinely has no value (an EVSE without ``evse_id``)."""


def _credit_violations(cdr: CDR) -> list[Violation]:
    if cdr.credit and not cdr.credit_reference_id:
        return [Violation("$.credit_reference_id", "a credit CDR must name the CDR it credits")]
    if not cdr.credit and cdr.credit_reference_id:
        return [Violation("$.credit", "credit_reference_id is only for a credit CDR (credit: true)")]
    return []


async def find_cdr(
    ops: Operations, parties: Sequence[tuple[str, str]], cdr_id: str, *, party: tuple[str, str] | None = None
) -> CdrRecord | None:
    """One of our own CDRs by id, looked up under ``party`` or each of our CPO ``parties``."""
    for cc, pid in [party] if party is not None else parties:
        record = await load_cdr_record(ops, cc, pid, cdr_id)
        if record is not None and record.own:
            return record
    return None


# -- CPO: Sender --------------------------------------------------------------------------------------


class CdrSender:
    """:class:`~evroam.modules.cdrs.ports.CdrSenderPort`: our CDRs of the partner's tokens, oldest first."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def page(self, partner: Partner, request: PageRequest) -> CdrPage:
        items, total = await page_cdrs(
            self._store,
            partners=partner_scopes(partner, Role.EMSP),
            date_from=request.date_from,
            date_to=request.date_to,
            offset=request.offset,
            limit=request.limit,
        )
        return CdrPage(items, total)

    async def location_of(self, cdr: CDR) -> Location | None:
        """Our stored Location of the CDR (OCPI 2.1.1 embeds it)."""
        return await LOCATIONS.lookups.load_location(
            self._store, cdr.country_code, cdr.party_id, cdr.cdr_location.id
        )


# -- eMSP: Receiver -----------------------------------------------------------------------------------


class CdrReceiver:
    """:class:`~evroam.modules.cdrs.ports.CdrReceiverPort` over the store (``partner_id`` = sender)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def post(self, partner: Partner, cdr: CDR, location_url: str) -> None:
        """Store a new CDR and the URL answered for it.

        403 when the CDR's owner is not one of the partner's parties; 2001 for a credit CDR without
        ``credit_reference_id``; 409 (:class:`Conflict`, OCPI 2000) when a CDR with that owner and id is
        stored already (CDRs never change), nothing written.
        """
        require_party(partner, cdr.country_code, cdr.party_id, Role.CPO)
        violations = _credit_violations(cdr)
        if violations:
            raise ValidationFailed(violations, "credit CDR refused")
        async with self._store.transaction() as tx:
            existing = await load_cdr_record(tx, cdr.country_code, cdr.party_id, cdr.id, for_update=True)
            if existing is not None:
                raise Conflict(
                    f"CDR {cdr.id} of {cdr.country_code}*{cdr.party_id} was received already; "
                    "CDRs never change (send a credit CDR to correct one)"
                )
            await save_cdr(tx, CdrDocument(cdr=cdr, location_url=location_url), partner_id=partner.id)

    async def get(self, partner: Partner, country_code: str, party_id: str, cdr_id: str) -> CDR:
        """A CDR the partner posted (404 for any other)."""
        require_party(partner, country_code, party_id, Role.CPO)
        record = await load_cdr_record(self._store, country_code, party_id, cdr_id)
        if record is None or record.partner_id != partner.id:
            raise NotFound(f"no CDR {cdr_id!r} of {country_code}*{party_id}")
        return record.cdr


# -- CPO: our own CDRs --------------------------------------------------------------------------------


def _negate(price: Price | None) -> Price | None:
    if price is None:
        return None
    taxes = None
    if price.taxes is not None:
        taxes = tuple(msgspec.structs.replace(t, amount=-t.amount) for t in price.taxes)
    return Price(
        before_taxes=-price.before_taxes,
        taxes=taxes,
        after_taxes=None if price.after_taxes is None else -price.after_taxes,
    )


def credit_of(cdr: CDR, credit_id: CiString, now: datetime) -> CDR:
    """The credit CDR of ``cdr``: id ``credit_id``, ``credit`` true, ``credit_reference_id`` = the
    original id, every cost negated; energy, times, periods and location as in the original."""
    return msgspec.structs.replace(
        cdr,
        id=credit_id,
        credit=True,
        credit_reference_id=cdr.id,
        total_cost=_negate(cdr.total_cost),
        total_fixed_cost=_negate(cdr.total_fixed_cost),
        total_energy_cost=_negate(cdr.total_energy_cost),
        total_time_cost=_negate(cdr.total_time_cost),
        total_parking_cost=_negate(cdr.total_parking_cost),
        total_reservation_cost=_negate(cdr.total_reservation_cost),
        invoice_reference_id=None,
        last_updated=now,
    )


class CdrAdmin(PartyAdmin):
    """:class:`~evroam.modules.cdrs.ports.CdrAdminPort`: the CPO's own CDRs."""

    async def create(self, cdr: CDR) -> CdrCreated:
        """Store a final CDR of ours (``last_updated`` = now) and queue its POST.

        Refused (2001) when its owner is not one of our CPO parties, its ``cdr_token`` does not name
        the token's owner, or the credit fields are inconsistent (a credit CDR must reference one of
        our CDRs); refused with 409 when a CDR with that id exists (CDRs never change).
        """
        violations = []
        if not self._ours(cdr.country_code, cdr.party_id):
            violations.append(
                Violation(
                    "$.country_code", f"{cdr.country_code}*{cdr.party_id} is not a CPO party of this node"
                )
            )
        owner = token_owner(cdr.cdr_token)
        if owner is None:
            violations.append(
                Violation("$.cdr_token", "must name the token's owner (country_code and party_id)")
            )
        violations.extend(_credit_violations(cdr))
        if violations:
            raise ValidationFailed(violations, "CDR refused")
        assert owner is not None
        async with self._store.transaction() as tx:
            if await load_cdr_record(tx, cdr.country_code, cdr.party_id, cdr.id, for_update=True) is not None:
                raise Conflict(f"CDR {cdr.id} of {cdr.country_code}*{cdr.party_id} exists; CDRs never change")
            if cdr.credit and cdr.credit_reference_id is not None:
                original = await load_cdr_record(tx, cdr.country_code, cdr.party_id, cdr.credit_reference_id)
                if original is None or not original.own:
                    raise ValidationFailed(
                        [Violation("$.credit_reference_id", f"no CDR {cdr.credit_reference_id} of ours")],
                        "credit CDR refused",
                    )
            cdr = msgspec.structs.replace(cdr, last_updated=self._clock.now())
            await save_cdr(tx, CdrDocument(cdr=cdr), partner_id=cdr_scope(cdr))
            change = ObjectChange(
                module=MODULE,
                country_code=str(cdr.country_code),
                party_id=str(cdr.party_id),
                object_id=str(cdr.id),
                method="PUT",  # "send the CDR": the CDR pusher POSTs it to the module URL
            )
            rows = await enqueue_change(
                tx, PartyPartners(self._partners, *owner, Role.EMSP), change, self._clock.now()
            )
        return CdrCreated(cdr, rows)

    async def from_session(
        self,
        session_id: str,
        *,
        cdr_id: str | None = None,
        total_cost: Price | None = None,
        party: tuple[str, str] | None = None,
    ) -> CdrCreated:
        """The CDR of one of our COMPLETED sessions (id: the session's unless ``cdr_id``).

            Its location is our stored Location's EVSE and connector of the session (``evse_id`` ``#NA`` when
        the EVSE has none), its periods the
            session's, ``total_energy`` the session's kWh, ``total_time`` its duration in hours and
            ``total_cost`` the given one, else the session's. Refused (2001) when the session is not
            completed, has no charging period, no price, or its EVSE/connector is not in our Location.
        """
        record = await SESSIONS.lookups.find_session(self._store, self._parties, session_id, party=party)
        if record is None:
            raise NotFound(f"no session {session_id!r} of ours (see `evroam sessions list`)")
        session = record.session
        violations = []
        if session.status is not SessionStatus.COMPLETED or session.end_date_time is None:
            violations.append(
                Violation("$.status", f"session {session_id} is {session.status.value}, not COMPLETED")
            )
        if not session.charging_periods:
            violations.append(Violation("$.charging_periods", "the session has no charging period"))
        cost = total_cost if total_cost is not None else session.total_cost
        if cost is None:
            violations.append(Violation("$.total_cost", "the session has no total_cost: give one"))
        location = await LOCATIONS.lookups.load_location(
            self._store, session.country_code, session.party_id, session.location_id
        )
        cdr_location = (
            None if location is None else _cdr_location(location, session.evse_uid, session.connector_id)
        )
        if cdr_location is None:
            violations.append(
                Violation(
                    "$.location_id",
                    f"EVSE {session.evse_uid} / connector {session.connector_id} is not in our location "
                    f"{session.location_id}",
                )
            )
        if violations:
            raise ValidationFailed(violations, f"no CDR can be made of session {session_id}")
        assert session.end_date_time is not None and cost is not None and cdr_location is not None
        hours = Decimal((session.end_date_time - session.start_date_time).total_seconds()) / 3600
        cdr = CDR(
            country_code=session.country_code,
            party_id=session.party_id,
            id=CiString(cdr_id) if cdr_id else session.id,
            start_date_time=session.start_date_time,
            end_date_time=session.end_date_time,
            session_id=session.id,
            cdr_token=session.cdr_token,
            auth_method=session.auth_method,
            authorization_reference=session.authorization_reference,
            cdr_location=cdr_location,
            meter_id=session.meter_id,
            currency=session.currency,
            charging_periods=session.charging_periods or (),
            total_cost=cost,
            total_energy=session.kwh,
            total_time=hours.quantize(_HOURS),
            last_updated=self._clock.now(),
        )
        return await self.create(cdr)

    async def credit(self, cdr_id: str, *, credit_id: str | None = None) -> CdrCreated:
        """Create and queue the credit CDR of one of our CDRs (id: the original's + ``-C``)."""
        record = await find_cdr(self._store, self._parties, cdr_id)
        if record is None:
            raise NotFound(f"no CDR {cdr_id!r} of ours (see `evroam cdrs list`)")
        if record.cdr.credit:
            raise ValidationFailed([Violation("$.credit", f"CDR {cdr_id} is a credit CDR itself")])
        new_id = CiString(credit_id or f"{record.cdr.id}{CREDIT_SUFFIX}")
        return await self.create(credit_of(record.cdr, new_id, self._clock.now()))

    async def get(self, cdr_id: str, *, party: tuple[str, str] | None = None) -> CdrRecord:
        """One CDR the node holds by id: ours first, else one received from a partner."""
        record = await find_cdr(self._store, self._parties, cdr_id, party=party)
        if record is not None:
            return record
        async for found in iter_cdr_records(self._store):
            if found.cdr.id == cdr_id and (
                party is None or (found.cdr.country_code, found.cdr.party_id) == party
            ):
                return found
        raise NotFound(f"no CDR {cdr_id!r} here (see `evroam cdrs list`)")

    async def records(self) -> list[CdrRecord]:
        """Every CDR the node holds (ours and received), in creation order."""
        return [record async for record in iter_cdr_records(self._store)]


def _cdr_location(location: Location, evse_uid: str | None, connector_id: str | None) -> CdrLocation | None:
    evse = None if evse_uid is None else location.evse(evse_uid)
    if evse is None or not evse.connectors:
        return None
    connector = (
        next((c for c in evse.connectors if c.id == connector_id), None)
        if connector_id
        else evse.connectors[0]
    )
    if connector is None:
        return None
    return CdrLocation(
        id=location.id,
        name=location.name,
        address=location.address,
        city=location.city,
        postal_code=location.postal_code,
        state=location.state,
        country=location.country,
        coordinates=location.coordinates,
        evse_uid=evse.uid,
        evse_id=evse.evse_id if evse.evse_id is not None else CiString(NOT_AVAILABLE),
        connector_id=connector.id,
        connector_standard=connector.standard,
        connector_format=connector.format,
        connector_power_type=connector.power_type,
    )
