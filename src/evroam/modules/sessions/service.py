"""The sessions services: plain Python over the store, no HTTP.

* :class:`SessionSender` (CPO) — pages of our own sessions, each partner seeing only the sessions of
  its own tokens; charging preferences (2.2+);
* :class:`SessionReceiver` (eMSP) — what CPOs push, under their own parties only, with the
  stale-update rule; a PATCH appends charging periods;
* :class:`SessionAdmin` (CPO) — start / update / add charging periods / stop our own sessions. Every
  change writes its outbox row in the same transaction, for the partner holding the token's party
  only: the creation as a PUT, each later change as a PATCH. The push worker delivers one object's
  rows in order (a PATCH never overtakes its PUT).

A PATCH row's ``patch`` names the changed canonical fields with their new values, plus
``"charging_periods": N`` — how many periods the session had *before* the change — so that the
pusher sends only the periods added since (OCPI appends the periods of a PATCH).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from evroam.core.clock import Clock
from evroam.core.codec import encode
from evroam.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, Violation
from evroam.core.types import DateTime
from evroam.model.cdrs import ChargingPeriod
from evroam.model.common import Price
from evroam.model.enums import ChargingPreferencesResponse, ProfileType, Role, SessionStatus
from evroam.model.locations import EVSE, Location
from evroam.model.sessions import ChargingPreferences, Session
from evroam.modules.locations import LOCATIONS
from evroam.modules.tariffs import TARIFFS
from evroam.ocpi.transport.pagination import PageRequest
from evroam.registration.model import Partner
from evroam.store.outbox import ObjectChange, enqueue_change
from evroam.store.port import Operations, PutOutcome, Store, Transaction

from .._shared import (
    PartyAdmin,
    PartyPartners,
    check_url_id,
    count_stale,
    partner_owns,
    partner_scopes,
    require_party,
    stale_counts,
    token_owner,
)
from .ports import ChargingPreferencesNotCapable, SessionChange, SessionPage, SessionUpdate
from .repository import (
    SessionRecord,
    iter_session_records,
    load_session_record,
    page_sessions,
    save_preferences,
    save_session,
    session_scope,
)

__all__ = [
    "FINAL_STATUSES",
    "MODULE",
    "PREFERENCES_CAPABILITY",
    "SessionAdmin",
    "SessionReceiver",
    "SessionSender",
    "find_session",
]

MODULE = "sessions"
PREFERENCES_CAPABILITY = "CHARGING_PREFERENCES_CAPABLE"
FINAL_STATUSES = frozenset({SessionStatus.COMPLETED, SessionStatus.INVALID})


def _latest(a: datetime, b: datetime) -> datetime:
    return a if a >= b else b


async def find_session(
    ops: Operations,
    parties: Sequence[tuple[str, str]],
    session_id: str,
    *,
    party: tuple[str, str] | None = None,
    for_update: bool = False,
) -> SessionRecord | None:
    """One of our own sessions by id, looked up under ``party`` or each of our CPO ``parties``."""
    for cc, pid in [party] if party is not None else parties:
        record = await load_session_record(ops, cc, pid, session_id, for_update=for_update)
        if record is not None and record.own:
            return record
    return None


# -- CPO: Sender --------------------------------------------------------------------------------------


class SessionSender:
    """:class:`~evroam.modules.sessions.ports.SessionSenderPort` over the store.

    ``parties`` are our own CPO parties: ``set_charging_preferences`` names only a session id, which is
    looked up under each of them.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        parties: Sequence[tuple[str, str]],
        *,
        on_preferences: Callable[[Session, ChargingPreferences], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._parties = tuple(parties)
        self._on_preferences = on_preferences
        """Where accepted preferences go after they are stored (the charger, an energy manager)."""

    async def page(self, partner: Partner, request: PageRequest) -> SessionPage:
        """Our sessions whose token belongs to one of the partner's parties. ``date_from`` is required
        on this list (in every OCPI version): 2001 without it."""
        if request.date_from is None:
            raise ValidationFailed(
                [Violation("date_from", "is required on the Sessions list")], "date_from is required"
            )
        items, total = await page_sessions(
            self._store,
            partners=partner_scopes(partner, Role.EMSP),
            date_from=request.date_from,
            date_to=request.date_to,
            offset=request.offset,
            limit=request.limit,
        )
        return SessionPage(items, total)

    async def location_of(self, session: Session) -> Location | None:
        """Our stored Location of the session (OCPI 2.1.1 embeds it)."""
        return await LOCATIONS.lookups.load_location(
            self._store, session.country_code, session.party_id, session.location_id
        )

    async def set_charging_preferences(
        self, partner: Partner, session_id: str, preferences: ChargingPreferences
    ) -> ChargingPreferencesResponse:
        """Keep the driver's preferences for one of our sessions.

        * a session that is not ours, or whose token is not the partner's: 404 (2003);
        * the session's EVSE does not list ``CHARGING_PREFERENCES_CAPABLE``: 404 + 2001;
        * a session that is over (COMPLETED / INVALID), or a departure in the past: ``NOT_POSSIBLE``;
        * CHEAP and GREEN (a schedule to plan until the car leaves) without ``departure_time``:
          ``DEPARTURE_REQUIRED``, without ``energy_need``: ``ENERGY_NEED_REQUIRED``;
        * a profile type other than REGULAR on a connector whose tariffs offer profile types
          (``PROFILE_CHEAP`` / ``PROFILE_FAST`` / ``PROFILE_GREEN`` tariffs) but not this one:
          ``PROFILE_TYPE_NOT_SUPPORTED``;
        * otherwise ``ACCEPTED``: the preferences are kept and handed to ``on_preferences``.
        """
        async with self._store.transaction() as tx:
            record = await find_session(tx, self._parties, session_id)
            owner = None if record is None else token_owner(record.session.cdr_token)
            if record is None or owner is None or not partner_owns(partner, *owner, Role.EMSP):
                raise NotFound(f"no session {session_id!r} of this partner's tokens")
            session = record.session
            location = await LOCATIONS.lookups.load_location(
                tx, session.country_code, session.party_id, session.location_id
            )
            evse = None if location is None or session.evse_uid is None else location.evse(session.evse_uid)
            if evse is None or PREFERENCES_CAPABILITY not in (evse.capabilities or ()):
                raise ChargingPreferencesNotCapable(
                    [Violation("$", f"EVSE {session.evse_uid} is not {PREFERENCES_CAPABILITY}")],
                    f"the EVSE of session {session_id} does not take charging preferences",
                )
            refusal = await self._preferences_refusal(tx, session, evse, preferences)
            if refusal is not None:
                return refusal
            await save_preferences(tx, session, preferences, partner_id=partner.id, now=self._clock.now())
        if self._on_preferences is not None:
            await self._on_preferences(session, preferences)
        return ChargingPreferencesResponse.ACCEPTED

    async def _preferences_refusal(
        self, ops: Operations, session: Session, evse: EVSE, preferences: ChargingPreferences
    ) -> ChargingPreferencesResponse | None:
        if session.status in FINAL_STATUSES:
            return ChargingPreferencesResponse.NOT_POSSIBLE
        departure = preferences.departure_time
        if departure is not None and departure <= self._clock.now():
            return ChargingPreferencesResponse.NOT_POSSIBLE
        kind = preferences.profile_type
        if kind in (ProfileType.CHEAP, ProfileType.GREEN):
            if departure is None:
                return ChargingPreferencesResponse.DEPARTURE_REQUIRED
            if preferences.energy_need is None:
                return ChargingPreferencesResponse.ENERGY_NEED_REQUIRED
        if kind is ProfileType.REGULAR:
            return None
        offered: set[str] = set()
        connector = next((c for c in evse.connectors if c.id == session.connector_id), None)
        for tariff_id in (connector.tariff_ids if connector is not None else None) or ():
            tariff = await TARIFFS.lookups.load_tariff(ops, session.country_code, session.party_id, tariff_id)
            if tariff is not None and tariff.type is not None and str(tariff.type).startswith("PROFILE_"):
                offered.add(str(tariff.type).removeprefix("PROFILE_"))
        if offered and kind.value not in offered:
            return ChargingPreferencesResponse.PROFILE_TYPE_NOT_SUPPORTED
        return None


# -- eMSP: Receiver -----------------------------------------------------------------------------------


class SessionReceiver:
    """:class:`~evroam.modules.sessions.ports.SessionReceiverPort` over the store
    (``partner_id`` = sender)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def _mine(
        self, ops: Operations, partner: Partner, country_code: str, party_id: str, session_id: str
    ) -> SessionRecord | None:
        record = await load_session_record(ops, country_code, party_id, session_id, for_update=True)
        if record is not None and record.partner_id != partner.id:
            raise Forbidden(
                f"session {session_id!r} of {country_code}*{party_id} was not stored by this partner"
            )
        return record

    async def get(self, partner: Partner, country_code: str, party_id: str, session_id: str) -> Session:
        require_party(partner, country_code, party_id, Role.CPO)
        record = await load_session_record(self._store, country_code, party_id, session_id)
        if record is None or record.partner_id != partner.id:
            raise NotFound(f"no session {session_id!r} of {country_code}*{party_id}")
        return record.session

    async def put(
        self, partner: Partner, country_code: str, party_id: str, session_id: str, session: Session
    ) -> PutOutcome:
        """Create or replace (charging periods included) the session; an older one is ignored."""
        require_party(partner, country_code, party_id, Role.CPO)
        check_url_id("country_code", country_code, session.country_code)
        check_url_id("party_id", party_id, session.party_id)
        check_url_id("id", session_id, session.id)
        async with self._store.transaction() as tx:
            record = await self._mine(tx, partner, country_code, party_id, session_id)
            if record is not None and record.session.last_updated > session.last_updated:
                await count_stale(tx, MODULE, partner.id)
                return PutOutcome.STALE
            return await save_session(tx, session, partner_id=partner.id)

    async def patch(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        session_id: str,
        last_updated: datetime,
        apply: Callable[[Session], Session],
    ) -> PutOutcome:
        """Apply a PATCH (``apply`` appends its charging periods) to a session the partner pushed."""
        require_party(partner, country_code, party_id, Role.CPO)
        async with self._store.transaction() as tx:
            record = await self._mine(tx, partner, country_code, party_id, session_id)
            if record is None:
                raise NotFound(f"no session {session_id!r} of {country_code}*{party_id}: PUT it first")
            if record.session.last_updated > last_updated:
                await count_stale(tx, MODULE, partner.id)
                return PutOutcome.STALE
            session = apply(record.session)
            check_url_id("id", session_id, session.id)
            check_url_id("country_code", country_code, session.country_code)
            check_url_id("party_id", party_id, session.party_id)
            await save_session(tx, session, partner_id=partner.id)
            return PutOutcome.UPDATED

    async def stale_updates(self, partner_ids: Sequence[str] = ()) -> dict[str, int]:
        return await stale_counts(self._store, MODULE, partner_ids)


def append_periods(current: Session, periods: Sequence[ChargingPeriod]) -> Session:
    """``current`` with ``periods`` appended, leaving out any already held (a PATCH delivered twice,
    e.g. after the sender crashed before it saw the answer, appends its periods once)."""
    held = current.charging_periods or ()
    new = tuple(p for p in periods if p not in held)
    if not new:
        return current
    return msgspec.structs.replace(current, charging_periods=held + new)


# -- CPO: our own sessions ----------------------------------------------------------------------------


def _check_periods(current: Sequence[ChargingPeriod], new: Sequence[ChargingPeriod]) -> None:
    last = current[-1].start_date_time if current else None
    violations = []
    for i, period in enumerate(new):
        if last is not None and period.start_date_time < last:
            violations.append(
                Violation(
                    f"$.charging_periods[{i}].start_date_time",
                    f"{period.start_date_time.isoformat()} is before the previous period's start",
                )
            )
        last = period.start_date_time
    if violations:
        raise ValidationFailed(violations, "charging periods must be added in time order")


class SessionAdmin(PartyAdmin):
    """:class:`~evroam.modules.sessions.ports.SessionAdminPort`: the CPO's own sessions.

    ``parties`` are the node's CPO parties (the owners of its sessions); ``partners`` the directory of
    registered partners (narrowed per session to the one holding its token's party).
    """

    async def _enqueue(self, tx: Transaction, session: Session, method: str, patch: bytes | None) -> int:
        owner = token_owner(session.cdr_token)
        if owner is None:  # pragma: no cover - refused by start()
            return 0
        change = ObjectChange(
            module=MODULE,
            country_code=str(session.country_code),
            party_id=str(session.party_id),
            object_id=str(session.id),
            method=method,
            patch=patch,
        )
        return await enqueue_change(
            tx, PartyPartners(self._partners, *owner, Role.EMSP), change, self._clock.now()
        )

    async def start(self, session: Session) -> SessionChange:
        """Create one of our sessions (``last_updated`` = now) and queue its PUT.

        Refused (2001) when its owner is not one of our CPO parties or its ``cdr_token`` does not name
        the token's owner (``country_code`` / ``party_id``: whom the session concerns); refused with 409
        when a session with that id exists (use :meth:`update`).
        """
        violations = []
        if not self._ours(session.country_code, session.party_id):
            violations.append(
                Violation(
                    "$.country_code",
                    f"{session.country_code}*{session.party_id} is not a CPO party of this node",
                )
            )
        if token_owner(session.cdr_token) is None:
            violations.append(
                Violation("$.cdr_token", "must name the token's owner (country_code and party_id)")
            )
        if violations:
            raise ValidationFailed(violations, "session refused")
        async with self._store.transaction() as tx:
            existing = await load_session_record(
                tx, session.country_code, session.party_id, session.id, for_update=True
            )
            if existing is not None:
                raise Conflict(
                    f"session {session.id} of {session.country_code}*{session.party_id} exists: update it"
                )
            session = msgspec.structs.replace(session, last_updated=self._clock.now())
            await save_session(tx, session, partner_id=session_scope(session))
            rows = await self._enqueue(tx, session, "PUT", None)
        return SessionChange(session, rows)

    async def update(
        self, session_id: str, update: SessionUpdate, *, party: tuple[str, str] | None = None
    ) -> SessionChange:
        """Change a running session and queue a PATCH of what changed (``last_updated`` = now).

        Refused (2001) when nothing would change, when the session is over (COMPLETED / INVALID) or
        when a new charging period starts before the last one; 404 for a session we do not have.
        """
        if update.is_empty():
            raise ValidationFailed([Violation("$", "nothing to change")], "empty session update")
        async with self._store.transaction() as tx:
            record = await find_session(tx, self._parties, session_id, party=party, for_update=True)
            if record is None:
                raise NotFound(f"no session {session_id!r} of ours (see `evroam sessions list`)")
            current = record.session
            if current.status in FINAL_STATUSES:
                raise ValidationFailed(
                    [Violation("$.status", f"session {session_id} is {current.status.value}: final")],
                    f"session {session_id} is over and cannot change",
                )
            held = current.charging_periods or ()
            _check_periods(held, update.charging_periods)
            changes: dict[str, Any] = {
                name: value
                for name in update.__struct_fields__
                if name != "charging_periods" and (value := getattr(update, name)) is not None
            }
            if update.end_date_time is not None:
                changes["end_date_time"] = DateTime.from_datetime(update.end_date_time)
            if update.charging_periods:
                changes["charging_periods"] = held + tuple(update.charging_periods)
            now = self._clock.now()
            changes["last_updated"] = _latest(current.last_updated, now)
            session = msgspec.structs.replace(current, **changes)
            await save_session(tx, session, partner_id=record.partner_id)
            described = {name: getattr(session, name) for name in changes if name != "charging_periods"}
            patch = encode({**described, "charging_periods": len(held)})
            rows = await self._enqueue(tx, session, "PATCH", patch)
        return SessionChange(session, rows)

    async def add_charging_periods(
        self,
        session_id: str,
        periods: Sequence[ChargingPeriod],
        *,
        kwh: Decimal | None = None,
        party: tuple[str, str] | None = None,
    ) -> SessionChange:
        """Append charging periods (and the new meter reading ``kwh``)."""
        return await self.update(
            session_id, SessionUpdate(charging_periods=tuple(periods), kwh=kwh), party=party
        )

    async def stop(
        self,
        session_id: str,
        *,
        end_date_time: datetime | None = None,
        kwh: Decimal | None = None,
        total_cost: Price | None = None,
        status: SessionStatus = SessionStatus.COMPLETED,
        party: tuple[str, str] | None = None,
    ) -> SessionChange:
        """End a session: ``status`` (COMPLETED, or INVALID when it will not be billed) and
        ``end_date_time`` (default: now)."""
        if status not in FINAL_STATUSES:
            raise ValidationFailed([Violation("$.status", "a session ends COMPLETED or INVALID")])
        end = end_date_time if end_date_time is not None else self._clock.now()
        update = SessionUpdate(status=status, end_date_time=end, kwh=kwh, total_cost=total_cost)
        return await self.update(session_id, update, party=party)

    async def get(self, session_id: str, *, party: tuple[str, str] | None = None) -> SessionRecord:
        """One session the node holds by id: ours first, else one received from a partner."""
        record = await find_session(self._store, self._parties, session_id, party=party)
        if record is not None:
            return record
        async for found in iter_session_records(self._store):
            if found.session.id == session_id and (
                party is None or (found.session.country_code, found.session.party_id) == party
            ):
                return found
        raise NotFound(f"no session {session_id!r} here (see `evroam sessions list`)")

    async def records(self) -> list[SessionRecord]:
        """Every session the node holds (ours and received), in creation order."""
        return [record async for record in iter_session_records(self._store)]
