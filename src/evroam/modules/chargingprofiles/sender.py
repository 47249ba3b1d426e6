"""The eMSP / SCSP side of charging profiles: send a request, record it, match the result, wait.

:class:`ProfileSender` implements :class:`~evroam.modules.chargingprofiles.ports.ProfileSenderPort`,
the way :class:`~evroam.modules.commands.CommandSender` does for commands:

1. a request (set a profile on a session, get the active one, clear ours) gets an id and its own
   ``response_url`` — ``{node url}/ocpi/{version}/sender/chargingprofiles/{set|active|clear}/{id}`` —
   and is recorded (kind ``profile_sent``) *before* it is sent, so a result that overtakes the
   synchronous answer still finds it;
2. the CPO's ChargingProfileResponse is recorded: not ``ACCEPTED`` means no result follows
   (``REFUSED``); an unreachable CPO or an error answer gives ``FAILED``;
3. the result POSTed to the ``response_url`` is matched by the id in the URL (only the partner the
   request went to may post it, and only the result type of the request);
4. without a result by the deadline (the CPO's ``timeout`` plus ``grace``), the state is ``TIMEOUT``;
5. the ActiveChargingProfile a CPO PUTs for a session (after a set of ours succeeded, whenever the
   charger's limit changes) is kept per partner and session (:class:`~.records.ReceivedActive`).
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.errors import ClientApiUnreachable, EvroamError, NotFound, PartnerError
from evroam.core.types import DateTime
from evroam.http.client import OcpiClient
from evroam.model.chargingprofiles import (
    ActiveChargingProfile,
    ActiveChargingProfileResult,
    ChargingProfile,
    ChargingProfileResponse,
    SetChargingProfile,
)
from evroam.model.enums import ChargingProfileResponseType
from evroam.modules.kit import module_path
from evroam.ocpi.table import InterfaceRole
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.registration.model import Partner, PartnerStatus
from evroam.store.port import Store

from .convert import MODULE, profile_converters, supports_profiles
from .records import (
    Direction,
    ProfileRecord,
    ProfileState,
    ReceivedActive,
    RequestType,
    list_active,
    list_records,
    load_active,
    load_record,
    save_active,
    save_record,
)

__all__ = ["DEFAULT_GRACE", "DEFAULT_RESULT_TIMEOUT", "PartnerFinder", "ProfileError", "ProfileSender"]

DEFAULT_GRACE = 10.0
"""Seconds added to the CPO's ``timeout`` before the sender gives up on a result."""
DEFAULT_RESULT_TIMEOUT = 60
"""Seconds to wait for the CPO's synchronous answer's ``timeout`` before it arrived."""


class ProfileError(EvroamError):
    """The request cannot be sent (unknown partner, no chargingprofiles endpoint, not connected)."""

    http_status = 400


class PartnerFinder(Protocol):
    async def get(self, name: str) -> Partner:
        """The partner called ``name`` (an error naming it when unknown)."""
        ...


def _party_ref(country_code: str, party_id: str) -> PartyRef | None:
    try:
        return PartyRef.of(country_code, party_id)
    except ValueError:
        return None


def _cpo_of(partner: Partner) -> PartyRef | None:
    for role in sorted(partner.roles, key=lambda r: r.role != "CPO"):
        ref = _party_ref(role.country_code, role.party_id)
        if ref is not None:
            return ref
    return None


class ProfileSender:
    """Charging profile requests to CPO partners, over the store and the node's HTTP client.

    ``base_url`` is the node's public URL (results are POSTed there); ``parties`` our own eMSP / SCSP
    parties (the first one speaks in the routing headers); ``sleep`` is how :meth:`wait` pauses.
    """

    def __init__(
        self,
        store: Store,
        http: Any,
        clock: Clock,
        ids: IdGenerator,
        *,
        base_url: str,
        partners: PartnerFinder,
        parties: Sequence[tuple[str, str]],
        grace: float = DEFAULT_GRACE,
        default_timeout: int = DEFAULT_RESULT_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._http = http
        self._clock = clock
        self._ids = ids
        self._base_url = base_url.rstrip("/")
        self._partners = partners
        self._parties = tuple(parties)
        self.grace = grace
        self.default_timeout = default_timeout
        self._sleep = sleep

    # -- the three requests ------------------------------------------------------------------------

    async def set_profile(self, partner: str, session_id: str, profile: ChargingProfile) -> ProfileRecord:
        """PUT ``profile`` on the CPO's session ``session_id`` (replacing ours there)."""
        summary = {"unit": profile.charging_rate_unit.value}
        if profile.charging_profile_period:
            summary["limit"] = str(profile.charging_profile_period[0].limit)
        if profile.duration is not None:
            summary["duration"] = str(profile.duration)
        return await self._send(partner, RequestType.SET, session_id, summary, profile=profile)

    async def get_active(self, partner: str, session_id: str, *, duration: int = 900) -> ProfileRecord:
        """Ask for the limit the charger will apply in the next ``duration`` seconds."""
        if duration < 1:
            raise ProfileError("the duration is at least 1 second")
        return await self._send(
            partner, RequestType.GET, session_id, {"duration": str(duration)}, duration=duration
        )

    async def clear_profile(self, partner: str, session_id: str) -> ProfileRecord:
        """Remove the profile we set on the CPO's session."""
        return await self._send(partner, RequestType.CLEAR, session_id, {})

    # -- what the CPO sends us ---------------------------------------------------------------------

    async def receive_result(
        self, partner: Partner, kind: RequestType, request_id: str, result: Any
    ) -> ProfileRecord:
        """Record a result POSTed to one of our response URLs by ``partner``; ``NotFound`` when there
        is no such request of that type to that partner."""
        async with self._store.transaction() as tx:
            record = await load_record(tx, Direction.SENT, request_id, for_update=True)
            if record is None or record.partner_id != partner.id or record.type is not kind:
                raise NotFound(
                    f"no charging profile request {request_id!r} awaits a result from {partner.name}"
                )
            now = self._clock.now()
            changes: dict[str, Any] = {
                "result": result.result,
                "result_source": "partner",
                "finished": now,
                "last_updated": now,
            }
            if isinstance(result, ActiveChargingProfileResult):
                changes["active"] = result.profile
            if record.state is not ProfileState.SENDING:
                changes["state"] = ProfileState.DONE
            record = msgspec.structs.replace(record, **changes)
            await save_record(tx, record)
            return record

    async def receive_active(
        self, partner: Partner, session_id: str, active: ActiveChargingProfile
    ) -> ReceivedActive:
        """Keep the ActiveChargingProfile a CPO PUT for one of its sessions."""
        async with self._store.transaction() as tx:
            before = await load_active(tx, partner.id, session_id, for_update=True)
            received = ReceivedActive(
                partner_id=partner.id,
                partner_name=partner.name,
                session_id=session_id,
                active=active,
                received=self._clock.now(),
                updates=1 if before is None else before.updates + 1,
            )
            await save_active(tx, received)
            return received

    # -- reading -----------------------------------------------------------------------------------

    async def get(self, request_id: str) -> ProfileRecord:
        """One sent request (an overdue one gets its TIMEOUT now); ``NotFound`` when unknown."""
        record = await load_record(self._store, Direction.SENT, request_id)
        if record is None:
            raise NotFound(f"no charging profile request {request_id!r} (see `evroam profiles list`)")
        return await self._expire(record)

    async def list(self, *, limit: int | None = 50) -> list[ProfileRecord]:
        return [await self._expire(r) for r in await list_records(self._store, Direction.SENT, limit=limit)]

    async def actives(self) -> builtins.list[ReceivedActive]:
        """The latest ActiveChargingProfile of each CPO session we got one for."""
        return await list_active(self._store)

    async def wait(self, request_id: str, *, poll: float = 0.1) -> ProfileRecord:
        """Wait until the request is settled: its result, refusal, failure or TIMEOUT."""
        while True:
            record = await self.get(request_id)
            if record.final:
                return record
            await self._sleep(poll)

    # -- internals ---------------------------------------------------------------------------------

    async def _partner(self, name: str) -> Partner:
        try:
            partner = await self._partners.get(name)
        except EvroamError as exc:
            raise ProfileError(exc.message) from None
        if partner.status is not PartnerStatus.REGISTERED or partner.version is None or partner.token is None:
            raise ProfileError(f"partner {partner.name} is not connected ({partner.status.value})")
        return partner

    async def _send(
        self, partner_name: str, kind: RequestType, session_id: str, summary: dict[str, str], **request: Any
    ) -> ProfileRecord:
        if not self._parties:
            raise ProfileError("this node has no eMSP or SCSP party to send charging profiles for")
        partner = await self._partner(partner_name)
        version = partner.version or ""
        if not supports_profiles(version):
            raise ProfileError(f"OCPI {version} (spoken with {partner.name}) has no ChargingProfiles module")
        endpoint = partner.endpoint(MODULE, InterfaceRole.RECEIVER.value)
        if endpoint is None:
            raise ProfileError(f"partner {partner.name} lists no chargingprofiles RECEIVER endpoint")
        wire = profile_converters(version)
        request_id = self._ids.new_id()
        module = wire.spec.modules[MODULE]
        base = f"{self._base_url}{module_path(wire.spec, module, InterfaceRole.SENDER)}"
        response_url = f"{base}/{kind.segment}/{request_id}"
        cc, pid = self._parties[0]
        now = self._clock.now()
        record = ProfileRecord(
            id=request_id,
            direction=Direction.SENT,
            type=kind,
            partner_id=partner.id,
            partner_name=partner.name,
            version=version,
            country_code=cc,
            party_id=pid,
            session_id=session_id,
            response_url=response_url,
            summary=summary,
            state=ProfileState.SENDING,
            created=now,
            deadline=self._after(now, self.default_timeout),
            last_updated=now,
            **request,
        )
        await save_record(self._store, record)
        client = OcpiClient(
            self._http,
            spec=wire.spec,
            token=partner.token or "",
            token_encoding=TokenEncoding(partner.token_encoding),
            us=_party_ref(cc, pid),
            them=_cpo_of(partner),
            ids=self._ids,
            clock=self._clock,
        )
        url = f"{endpoint.url.rstrip('/')}/{quote(session_id, safe='')}"
        response: ChargingProfileResponse | None = None
        error: str | None = None
        try:
            if kind is RequestType.SET:
                assert record.profile is not None
                body = wire.set_out(
                    SetChargingProfile(charging_profile=record.profile, response_url=response_url)
                )
                answer = await client.request(
                    "PUT", url, module=MODULE, data_type=wire.response_model, body=body
                )
            elif kind is RequestType.GET:
                params = {"duration": str(record.duration), "response_url": response_url}
                answer = await client.request(
                    "GET", url, module=MODULE, data_type=wire.response_model, params=params
                )
            else:
                params = {"response_url": response_url}
                answer = await client.request(
                    "DELETE", url, module=MODULE, data_type=wire.response_model, params=params
                )
            response = wire.response_in(answer.data)
        except PartnerError as exc:
            error = str(exc)
        except ClientApiUnreachable as exc:
            error = str(exc)
        return await self._answered(request_id, response, error)

    async def _answered(
        self, request_id: str, response: ChargingProfileResponse | None, error: str | None
    ) -> ProfileRecord:
        async with self._store.transaction() as tx:
            record = await load_record(tx, Direction.SENT, request_id, for_update=True)
            if record is None:  # pragma: no cover - records are never deleted
                raise NotFound(request_id)
            now = self._clock.now()
            changes: dict[str, Any] = {"response": response, "answered": now, "last_updated": now}
            if error is not None:
                changes["error"] = error
            if response is None:
                changes.update(state=ProfileState.FAILED, finished=now)
            elif record.result is not None:  # the result overtook the answer
                changes["state"] = ProfileState.DONE
            elif response.result is ChargingProfileResponseType.ACCEPTED:
                changes.update(state=ProfileState.WAITING, deadline=self._after(now, response.timeout))
            else:
                changes.update(state=ProfileState.REFUSED, finished=now)
            record = msgspec.structs.replace(record, **changes)
            await save_record(tx, record)
            return record

    def _after(self, now: datetime, timeout: float) -> DateTime:
        return DateTime.from_datetime(now + timedelta(seconds=timeout + self.grace))

    async def _expire(self, record: ProfileRecord) -> ProfileRecord:
        """An overdue open request becomes TIMEOUT (once, under a lock)."""
        if record.final or record.deadline is None or self._clock.now() < record.deadline:
            return record
        async with self._store.transaction() as tx:
            current = await load_record(tx, Direction.SENT, record.id, for_update=True)
            if current is None or current.final:
                return current or record
            now = self._clock.now()
            current = msgspec.structs.replace(
                current,
                state=ProfileState.TIMEOUT,
                result_source="local",
                error=f"no result from {current.partner_name} by {current.deadline}",
                finished=now,
                last_updated=now,
            )
            await save_record(tx, current)
            return current
