"""The CPO side of charging profiles: check, answer at once, ask the charger, queue the result.

:class:`ProfileReceiver` implements :class:`~evroam.modules.chargingprofiles.ports.ProfileReceiverPort`:

1. the request is checked: the session is one of ours and running on a charger (else
   ``UNKNOWN_SESSION``), the caller owns the session's token or is a smart charging service provider
   (else ``UNKNOWN_SESSION`` too: a partner learns nothing about other partners' sessions), the charger
   connection takes limits and the EVSE does not leave out ``CHARGING_PROFILE_CAPABLE`` (else
   ``NOT_SUPPORTED``), a set or clear comes at least ``min_interval`` seconds after the session's last
   accepted one (else ``TOO_OFTEN``);
2. the synchronous ChargingProfileResponse says ``ACCEPTED`` with ``timeout``, or why not;
3. an accepted request goes to the charger in a background task: a set or clear sends the charger the
   **composite** of every sender's profile on the session (:mod:`.composite`: the lowest limit wins),
   a get asks for the charger's active limit. Its answer becomes the result — or ``REJECTED`` when the
   charger did not answer within ``timeout`` seconds (the result types have no TIMEOUT; REJECTED is the
   one that tells the sender that nothing changed);
4. the result is stored with the request and queued in the outbox **in the same transaction**: the push
   worker POSTs it to the request's ``response_url`` (retried, never lost across a restart);
5. whenever the charger reports that the limit it applies to a session changed
   (:class:`~evroam.chargepoint.LimitChanged`), the ActiveChargingProfile is queued for every sender
   that set a profile on that session successfully at least once (and for a sender right after its
   set succeeded).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import msgspec

from evroam.chargepoint.port import (
    ActiveLimit,
    ActiveLimitRequest,
    Answer,
    ChargePointEvent,
    ClearLimitRequest,
    LimitChanged,
    LimitRequest,
    SmartCharging,
)
from evroam.core.clock import Clock, IdGenerator
from evroam.core.codec import encode
from evroam.core.types import DateTime
from evroam.model.chargingprofiles import (
    ActiveChargingProfile,
    ChargingProfileResponse,
    SetChargingProfile,
)
from evroam.model.enums import (
    ChargingProfileResponseType,
    ChargingProfileResultType,
    PowerType,
    SessionStatus,
)
from evroam.model.locations import EVSE, Connector
from evroam.model.sessions import Session
from evroam.modules.locations import LOCATIONS
from evroam.modules.sessions import SESSIONS
from evroam.registration.model import Partner
from evroam.store.outbox import ObjectChange, object_group
from evroam.store.port import Operations, Store

from .._shared import partner_owns, token_owner
from .composite import active_profile_of, composite
from .convert import MODULE
from .records import (
    Direction,
    ProfileRecord,
    ProfileState,
    RequestType,
    SenderProfile,
    SenderRef,
    SessionProfiles,
    load_record,
    load_session_profiles,
    save_record,
    save_session_profiles,
)

__all__ = [
    "CAPABILITY",
    "DEFAULT_MIN_INTERVAL",
    "DEFAULT_TIMEOUT",
    "ProfileReceiver",
    "Requester",
    "active_job",
    "result_job",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30
"""Seconds the charger gets to answer (and the ``timeout`` announced to the sender)."""
DEFAULT_MIN_INTERVAL = 10.0
"""Seconds between two accepted sets / clears on one session (a quicker one is ``TOO_OFTEN``)."""
CAPABILITY = "CHARGING_PROFILE_CAPABLE"
_FINAL = frozenset({SessionStatus.COMPLETED, SessionStatus.INVALID})


@dataclass(frozen=True, slots=True)
class Requester:
    """Who sent a request: the partner, the OCPI version of the call and the party it speaks for."""

    partner: Partner
    version: str
    party: tuple[str, str]


def result_job(request_id: str) -> str:
    """The outbox object id of a request's result POST."""
    return f"result:{request_id}"


def active_job(session_id: str) -> str:
    """The outbox object id of a session's ActiveChargingProfile PUT (one group per session: pending
    updates coalesce into the latest)."""
    return f"active:{session_id}"


async def enqueue(
    ops: Any, partner_id: str, country_code: str, party_id: str, object_id: str, now: DateTime
) -> None:
    change = ObjectChange(
        module=MODULE, country_code=country_code, party_id=party_id, object_id=object_id, method="PUT"
    )
    await ops.outbox_enqueue(
        partner_id, MODULE, object_group(country_code, party_id, object_id), encode(change), now
    )


def _result_of(kind: RequestType, answer: Answer | None) -> ChargingProfileResultType:
    if answer is Answer.ACCEPTED:
        return ChargingProfileResultType.ACCEPTED
    if answer is Answer.UNKNOWN and kind is not RequestType.SET:
        return ChargingProfileResultType.UNKNOWN
    return ChargingProfileResultType.REJECTED


def _phases_volts(connector: Connector | None) -> tuple[int, Decimal]:
    if connector is None:
        return 3, Decimal(230)
    phases = 3 if connector.power_type == PowerType.AC_3_PHASE else 1
    volts = Decimal(connector.max_voltage) if connector.max_voltage else Decimal(230)
    if connector.power_type == PowerType.AC_3_PHASE and volts > 300:
        volts = (volts / Decimal("1.7320508")).quantize(Decimal(1))  # a line-to-line voltage given
    return phases, volts


class ProfileReceiver:
    """:class:`~evroam.modules.chargingprofiles.ports.ProfileReceiverPort` over the store and a charger.

    ``parties`` are our CPO parties; ``charge_point`` the charger connection (without
    :class:`~evroam.chargepoint.SmartCharging`: every request is NOT_SUPPORTED); ``timeout`` (seconds)
    bounds the wait for the charger; ``min_interval`` (seconds) is the rate limit per session;
    ``on_queued`` is called after a push was queued (the node wakes its push worker).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        ids: IdGenerator,
        *,
        parties: Sequence[tuple[str, str]],
        charge_point: Any = None,
        timeout: int = DEFAULT_TIMEOUT,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        if timeout < 1:
            raise ValueError("the charging profile timeout is at least 1 second")
        self._store = store
        self._clock = clock
        self._ids = ids
        self._parties = tuple(parties)
        self.charge_point = charge_point
        self.timeout = timeout
        self.min_interval = max(0.0, min_interval)
        self._on_queued = on_queued
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    # -- the three requests ------------------------------------------------------------------------

    async def set_profile(
        self, requester: Requester, session_id: str, request: SetChargingProfile
    ) -> ChargingProfileResponse:
        session, refusal = await self._check(requester, session_id, change=True)
        if refusal is None and any(
            p.limit < 0 for p in request.charging_profile.charging_profile_period or ()
        ):
            refusal = self._answer(ChargingProfileResponseType.REJECTED)
        profile = request.charging_profile
        summary = {"unit": profile.charging_rate_unit.value}
        if profile.charging_profile_period:
            summary["limit"] = str(profile.charging_profile_period[0].limit)
        return await self._accept(
            requester,
            RequestType.SET,
            session,
            session_id,
            request.response_url,
            refusal,
            summary,
            profile=profile,
        )

    async def get_active(
        self, requester: Requester, session_id: str, *, duration: int, response_url: str
    ) -> ChargingProfileResponse:
        session, refusal = await self._check(requester, session_id, change=False)
        return await self._accept(
            requester,
            RequestType.GET,
            session,
            session_id,
            response_url,
            refusal,
            {"duration": str(duration)},
            duration=duration,
        )

    async def clear_profile(
        self, requester: Requester, session_id: str, *, response_url: str
    ) -> ChargingProfileResponse:
        session, refusal = await self._check(requester, session_id, change=True)
        return await self._accept(
            requester, RequestType.CLEAR, session, session_id, response_url, refusal, {}
        )

    # -- checks ------------------------------------------------------------------------------------

    def _answer(self, result: ChargingProfileResponseType) -> ChargingProfileResponse:
        return ChargingProfileResponse(result=result, timeout=self.timeout)

    async def _check(
        self, requester: Requester, session_id: str, *, change: bool
    ) -> tuple[Session | None, ChargingProfileResponse | None]:
        record = await SESSIONS.lookups.find_session(self._store, self._parties, session_id)
        session = None if record is None else record.session
        owner = None if session is None else token_owner(session.cdr_token)
        allowed = owner is not None and partner_owns(requester.partner, *owner)
        allowed = allowed or any(r.role == "SCSP" for r in requester.partner.roles)
        if session is None or not allowed or session.status in _FINAL:
            return session, self._answer(ChargingProfileResponseType.UNKNOWN_SESSION)
        if not isinstance(self.charge_point, SmartCharging):
            return session, self._answer(ChargingProfileResponseType.NOT_SUPPORTED)
        evse, _ = await self._evse(session)
        if evse is not None and evse.capabilities and CAPABILITY not in evse.capabilities:
            return session, self._answer(ChargingProfileResponseType.NOT_SUPPORTED)
        charger: Any = self.charge_point  # a ChargePoint as well: it knows its transactions
        if charger.transaction(str(session.id)) is None:
            return session, self._answer(ChargingProfileResponseType.UNKNOWN_SESSION)
        if change and self.min_interval > 0:
            state = await load_session_profiles(
                self._store, str(session.country_code), str(session.party_id), str(session.id)
            )
            last = None if state is None else state.last_change
            if last is not None and self._clock.now() - last < timedelta(seconds=self.min_interval):
                return session, self._answer(ChargingProfileResponseType.TOO_OFTEN)
        return session, None

    async def _evse(self, session: Session) -> tuple[EVSE | None, Connector | None]:
        location = await LOCATIONS.lookups.load_location(
            self._store, session.country_code, session.party_id, session.location_id
        )
        evse = None if location is None or session.evse_uid is None else location.evse(session.evse_uid)
        connector = None
        if evse is not None:
            connector = next((c for c in evse.connectors if c.id == session.connector_id), None)
        return evse, connector

    # -- answering and forwarding ------------------------------------------------------------------

    async def _accept(
        self,
        requester: Requester,
        kind: RequestType,
        session: Session | None,
        session_id: str,
        response_url: str,
        refusal: ChargingProfileResponse | None,
        summary: dict[str, str],
        **request: Any,
    ) -> ChargingProfileResponse:
        now = self._clock.now()
        response = refusal or self._answer(ChargingProfileResponseType.ACCEPTED)
        cc, pid = requester.party
        record = ProfileRecord(
            id=self._ids.new_id(),
            direction=Direction.RECEIVED,
            type=kind,
            partner_id=requester.partner.id,
            partner_name=requester.partner.name,
            version=requester.version,
            country_code=cc,
            party_id=pid,
            session_id=session_id,
            response_url=response_url,
            summary=summary,
            state=ProfileState.WAITING if refusal is None else ProfileState.REFUSED,
            response=response,
            created=now,
            answered=now,
            finished=None if refusal is None else now,
            last_updated=now,
            **request,
        )
        async with self._store.transaction() as tx:
            await save_record(tx, record)
            if refusal is None and kind is not RequestType.GET and session is not None:
                state = await self._state(tx, session, for_update=True)
                await save_session_profiles(
                    tx,
                    msgspec.structs.replace(
                        state, last_change=now, last_updated=max(state.last_updated, now)
                    ),
                )
        log.info(
            "charging profile %s %s on session %s from %s: %s",
            kind.value,
            record.id,
            session_id,
            requester.partner.name,
            response.result.value,
        )
        if refusal is None and session is not None:
            task = asyncio.get_running_loop().create_task(
                self._forward(record, session), name=f"evroam-profile-{record.id}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return response

    async def _state(self, ops: Operations, session: Session, *, for_update: bool = False) -> SessionProfiles:
        cc, pid, sid = str(session.country_code), str(session.party_id), str(session.id)
        found = await load_session_profiles(ops, cc, pid, sid, for_update=for_update)
        return found or SessionProfiles(
            country_code=cc, party_id=pid, session_id=sid, last_updated=self._clock.now()
        )

    def _lock(self, session_id: str) -> asyncio.Lock:
        return self._locks.setdefault(session_id.casefold(), asyncio.Lock())

    async def _bounded(self, call: Callable[[], Awaitable[Any]]) -> tuple[Any, str]:
        """The charger's answer (``None``: none within the timeout) and how to record it."""
        try:
            answer = await asyncio.wait_for(call(), self.timeout)
        except TimeoutError:
            return None, "NO_ANSWER"
        except Exception:  # a broken bridge must still produce a result
            log.exception("charger failed on a charging profile request")
            return Answer.REJECTED, "FAILED"
        if isinstance(answer, Answer):
            return answer, answer.value
        return answer, Answer.ACCEPTED.value

    async def _forward(self, record: ProfileRecord, session: Session) -> None:
        cp = self.charge_point
        assert isinstance(cp, SmartCharging)
        tid = str(session.id)
        sender = SenderRef(
            partner_id=record.partner_id,
            partner_name=record.partner_name,
            country_code=record.country_code,
            party_id=record.party_id,
        )
        async with self._lock(tid):
            state = await self._state(self._store, session)
            mine = next((p for p in state.profiles if p.sender.partner_id == record.partner_id), None)
            others = [p for p in state.profiles if p.sender.partner_id != record.partner_id]
            active: ActiveChargingProfile | None = None
            kept: tuple[SenderProfile, ...] | None = None
            if record.type is RequestType.GET:
                answer, said = await self._bounded(
                    lambda: cp.active_limit(
                        ActiveLimitRequest(transaction_id=tid, duration=record.duration or 900)
                    )
                )
                if isinstance(answer, ActiveLimit):
                    active = active_profile_of(answer)
                    answer = Answer.ACCEPTED
                result = _result_of(record.type, answer)
            elif record.type is RequestType.CLEAR and mine is None:
                said, result = "NOT_ASKED", ChargingProfileResultType.UNKNOWN
            else:
                now = self._clock.now()
                if record.type is RequestType.SET:
                    assert record.profile is not None
                    start = record.profile.start_date_time or now
                    new = SenderProfile(sender=sender, profile=record.profile, start=start, set_at=now)
                    kept = (*others, new)
                else:
                    kept = tuple(others)
                _, connector = await self._evse(session)
                phases, volts = _phases_volts(connector)
                limit = composite([(p.profile, p.start) for p in kept], phases=phases, volts=volts)
                if limit is None:
                    answer, said = await self._bounded(
                        lambda: cp.clear_limit(ClearLimitRequest(transaction_id=tid))
                    )
                else:
                    answer, said = await self._bounded(
                        lambda: cp.set_limit(LimitRequest(transaction_id=tid, limit=limit))
                    )
                result = _result_of(record.type, answer)
            await self._settle(record, session, sender, result, said, active, kept)

    async def _settle(
        self,
        record: ProfileRecord,
        session: Session,
        sender: SenderRef,
        result: ChargingProfileResultType,
        said: str,
        active: ActiveChargingProfile | None,
        kept: tuple[SenderProfile, ...] | None,
    ) -> None:
        """Record the result and queue its POST (one transaction); a set or clear the charger accepted
        changes the session's profiles, and a sender whose set succeeded gets the active profile."""
        cc, pid = str(session.country_code), str(session.party_id)
        async with self._store.transaction() as tx:
            now = self._clock.now()
            current = await load_record(tx, Direction.RECEIVED, record.id, for_update=True)
            if current is None:  # pragma: no cover - records are never deleted
                return
            await save_record(
                tx,
                msgspec.structs.replace(
                    current,
                    state=ProfileState.DONE,
                    result=result,
                    result_source="charger",
                    active=active,
                    charger_answer=said,
                    finished=now,
                    last_updated=max(current.last_updated, now),
                ),
            )
            await enqueue(tx, record.partner_id, cc, pid, result_job(record.id), now)
            if kept is not None and result is ChargingProfileResultType.ACCEPTED:
                state = await self._state(tx, session, for_update=True)
                senders = state.senders
                if record.type is RequestType.SET and not any(
                    s.partner_id == sender.partner_id for s in senders
                ):
                    senders = (*senders, sender)
                state = msgspec.structs.replace(
                    state, profiles=kept, senders=senders, last_updated=max(state.last_updated, now)
                )
                await save_session_profiles(tx, state)
                if record.type is RequestType.SET and state.active is not None:
                    await enqueue(tx, record.partner_id, cc, pid, active_job(str(session.id)), now)
        log.info(
            "charging profile %s %s on session %s: charger %s, result %s queued for %s",
            record.type.value,
            record.id,
            record.session_id,
            said,
            result.value,
            record.partner_name,
        )
        self._queued()

    def _queued(self) -> None:
        if self._on_queued is not None:
            self._on_queued()

    # -- the charger's reports ---------------------------------------------------------------------

    async def on_event(self, event: ChargePointEvent) -> None:
        """Charge point listener: a :class:`~evroam.chargepoint.LimitChanged` is kept as the session's
        active profile and queued for the senders that set a profile on it."""
        if not isinstance(event, LimitChanged):
            return
        record = await SESSIONS.lookups.find_session(self._store, self._parties, event.transaction_id)
        if record is None:
            return
        session = record.session
        cc, pid = str(session.country_code), str(session.party_id)
        active = active_profile_of(event.active)
        async with self._store.transaction() as tx:
            now = self._clock.now()
            state = await self._state(tx, session, for_update=True)
            state = msgspec.structs.replace(state, active=active, last_updated=max(state.last_updated, now))
            await save_session_profiles(tx, state)
            for sender in state.senders:
                await enqueue(tx, sender.partner_id, cc, pid, active_job(str(session.id)), now)
        if state.senders:
            log.info(
                "session %s: active limit changed, queued for %s",
                session.id,
                ", ".join(s.partner_name for s in state.senders),
            )
            self._queued()

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every accepted request's result is decided and queued."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
