"""The CPO side of commands: validate, answer at once, ask the charger, POST the result.

:class:`CommandReceiver` implements :class:`~evroam.modules.commands.ports.CommandReceiverPort`:

1. the command is checked against our own locations (unknown location, EVSE or connector: OCPI 2003
   with ``REJECTED``), the EVSE's capabilities (``NOT_SUPPORTED``), the caller's parties (an eMSP only
   uses its own tokens and stops only its own sessions) and the charger connection;
2. the synchronous :class:`~evroam.model.CommandResponse` says ``ACCEPTED`` (with ``timeout``: how long
   the eMSP should wait for the result), ``REJECTED``, ``UNKNOWN_SESSION`` or ``NOT_SUPPORTED``;
3. an accepted command goes to the charger (:class:`~evroam.chargepoint.ChargePoint`) in a background
   task; its answer becomes a :class:`~evroam.model.CommandResult`, or ``TIMEOUT`` when the charger
   does not answer within ``timeout`` seconds, which is POSTed to the command's ``response_url`` (a few
   attempts when the eMSP cannot be reached; OCPI itself has no retry).

Every received command is recorded (kind ``command_received``, :mod:`.records`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from evroam.chargepoint.port import (
    Answer,
    CancelRequest,
    ChargePoint,
    NoChargePoint,
    ReserveRequest,
    StartRequest,
    StopRequest,
    UnlockRequest,
)
from evroam.core.clock import Clock, IdGenerator
from evroam.core.codec import encode
from evroam.core.errors import EvroamError, UnknownLocation
from evroam.http.client import OcpiClient
from evroam.model.commands import (
    CancelReservation,
    CommandResponse,
    CommandResult,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from evroam.model.common import DisplayText
from evroam.model.enums import CommandResponseType, CommandResultType
from evroam.model.locations import EVSE, Location
from evroam.modules.locations import LOCATIONS
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.registration.model import Partner
from evroam.store.port import Store

from .convert import command_converters
from .records import (
    CommandRecord,
    CommandState,
    CommandType,
    Direction,
    ResultEvent,
    load_record,
    save_record,
)

__all__ = ["DEFAULT_TIMEOUT", "CommandReceiver", "Requester", "charger_reservation_id", "result_for"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30
"""Seconds the charger gets to answer (and the ``timeout`` announced to the eMSP)."""

#: The EVSE capability each command needs, checked when the EVSE lists its capabilities.
_CAPABILITY = {
    CommandType.START_SESSION: "REMOTE_START_STOP_CAPABLE",
    CommandType.RESERVE_NOW: "RESERVABLE",
    CommandType.UNLOCK_CONNECTOR: "UNLOCK_CAPABLE",
}


@dataclass(frozen=True, slots=True)
class Requester:
    """Who sent a command: the partner, the OCPI version of the call, and the eMSP party it speaks for
    (``OCPI-from-*`` in 2.2+, else the partner's first non-CPO party)."""

    partner: Partner
    version: str
    party: tuple[str, str]


def charger_reservation_id(partner: Partner, reservation_id: str) -> str:
    """The reservation id sent to the charger: unique per CPO, whichever eMSP chose ``reservation_id``."""
    return f"{partner.id}/{reservation_id.casefold()}"


def _text(message: str) -> tuple[DisplayText, ...]:
    return (DisplayText(language="en", text=message[:512]),)


def result_for(command: CommandType, answer: Answer | None) -> CommandResult:
    """The CommandResult of the charger's answer (``None``: it did not answer in time)."""
    if answer is None:
        return CommandResult(result=CommandResultType.TIMEOUT, message=_text("the charger did not answer"))
    mapped = {
        Answer.ACCEPTED: CommandResultType.ACCEPTED,
        Answer.REJECTED: CommandResultType.REJECTED,
        Answer.OCCUPIED: CommandResultType.EVSE_OCCUPIED,
        Answer.INOPERATIVE: CommandResultType.EVSE_INOPERATIVE,
        Answer.FAILED: CommandResultType.FAILED,
        Answer.NOT_SUPPORTED: CommandResultType.NOT_SUPPORTED,
    }
    if answer is Answer.UNKNOWN:
        if command is CommandType.STOP_SESSION:
            return CommandResult(result=CommandResultType.UNKNOWN_SESSION, message=_text("unknown session"))
        if command is CommandType.CANCEL_RESERVATION:
            return CommandResult(
                result=CommandResultType.UNKNOWN_RESERVATION, message=_text("unknown reservation")
            )
        return CommandResult(result=CommandResultType.REJECTED, message=_text("unknown to the charger"))
    return CommandResult(result=mapped[answer], message=_text(f"charger answered {answer.value}"))


class CommandReceiver:
    """:class:`~evroam.modules.commands.ports.CommandReceiverPort` over the store and a charger.

    ``parties`` are our own CPO parties (the owners of the locations commands may name); ``http`` is
    the node's ``httpx.AsyncClient`` (for the result POSTs); ``timeout`` (seconds) bounds the wait for
    the charger; ``post_attempts`` / ``retry_delay`` (seconds) shape the result POST's retries.
    """

    def __init__(
        self,
        store: Store,
        http: Any,
        clock: Clock,
        ids: IdGenerator,
        *,
        parties: Sequence[tuple[str, str]],
        charge_point: ChargePoint | None = None,
        timeout: int = DEFAULT_TIMEOUT,
        post_attempts: int = 3,
        retry_delay: float = 1.0,
    ) -> None:
        if timeout < 1:
            raise ValueError("the command timeout is at least 1 second")
        self._store = store
        self._http = http
        self._clock = clock
        self._ids = ids
        self._parties = tuple(parties)
        self.charge_point: ChargePoint = charge_point or NoChargePoint()
        self.timeout = timeout
        self._post_attempts = max(1, post_attempts)
        self._retry_delay = retry_delay
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the five commands -------------------------------------------------------------------------

    async def start_session(self, requester: Requester, command: StartSession) -> CommandResponse:
        kind = CommandType.START_SESSION
        location, evse = await self._where(command.location_id, command.evse_uid, command.connector_id)
        refusal = self._owner_refusal(requester, command.token.country_code, command.token.party_id, "token")
        refusal = refusal or self._capability_refusal(kind, evse)
        summary = _summary(
            location=command.location_id,
            evse=command.evse_uid,
            connector=command.connector_id,
            token=command.token.uid,
            authorization_reference=command.authorization_reference,
        )
        request = StartRequest(
            location_id=str(location.id),
            evse_uid=None if evse is None else str(evse.uid),
            connector_id=None if command.connector_id is None else str(command.connector_id),
            token=command.token,
            authorization_reference=command.authorization_reference,
        )
        return await self._accept(
            requester,
            kind,
            command,
            summary,
            refusal,
            functools.partial(self.charge_point.start, request),
            owner=(str(command.token.country_code), str(command.token.party_id)),
        )

    async def stop_session(self, requester: Requester, command: StopSession) -> CommandResponse:
        kind = CommandType.STOP_SESSION
        summary = _summary(session=command.session_id)
        running = self.charge_point.transaction(str(command.session_id))
        refusal: CommandResponse | None = None
        if isinstance(self.charge_point, NoChargePoint):
            refusal = _not_supported(NoChargePoint.reason)
        elif running is None or not _owned_by(
            requester.partner, running.token.country_code, running.token.party_id
        ):
            refusal = CommandResponse(
                result=CommandResponseType.UNKNOWN_SESSION,
                timeout=self.timeout,
                message=_text(f"no running session {command.session_id} of yours"),
            )
        request = StopRequest(transaction_id=str(command.session_id))
        return await self._accept(
            requester, kind, command, summary, refusal, functools.partial(self.charge_point.stop, request)
        )

    async def reserve_now(self, requester: Requester, command: ReserveNow) -> CommandResponse:
        kind = CommandType.RESERVE_NOW
        location, evse = await self._where(command.location_id, command.evse_uid, None)
        refusal = self._owner_refusal(requester, command.token.country_code, command.token.party_id, "token")
        refusal = refusal or self._capability_refusal(kind, evse)
        if refusal is None and command.expiry_date <= self._clock.now():
            refusal = CommandResponse(
                result=CommandResponseType.REJECTED,
                timeout=self.timeout,
                message=_text("expiry_date is in the past"),
            )
        summary = _summary(
            location=command.location_id,
            evse=command.evse_uid,
            token=command.token.uid,
            reservation=command.reservation_id,
            expires=command.expiry_date.to_json(),
        )
        request = ReserveRequest(
            reservation_id=charger_reservation_id(requester.partner, command.reservation_id),
            location_id=str(location.id),
            evse_uid=None if evse is None else str(evse.uid),
            token=command.token,
            expiry_date=command.expiry_date,
            authorization_reference=command.authorization_reference,
        )
        return await self._accept(
            requester,
            kind,
            command,
            summary,
            refusal,
            functools.partial(self.charge_point.reserve, request),
            owner=(str(command.token.country_code), str(command.token.party_id)),
        )

    async def cancel_reservation(self, requester: Requester, command: CancelReservation) -> CommandResponse:
        kind = CommandType.CANCEL_RESERVATION
        refusal = None
        if isinstance(self.charge_point, NoChargePoint):
            refusal = _not_supported(NoChargePoint.reason)
        request = CancelRequest(
            reservation_id=charger_reservation_id(requester.partner, command.reservation_id)
        )
        return await self._accept(
            requester,
            kind,
            command,
            _summary(reservation=command.reservation_id),
            refusal,
            functools.partial(self.charge_point.cancel_reservation, request),
        )

    async def unlock_connector(self, requester: Requester, command: UnlockConnector) -> CommandResponse:
        kind = CommandType.UNLOCK_CONNECTOR
        location, evse = await self._where(command.location_id, command.evse_uid, command.connector_id)
        refusal = self._capability_refusal(kind, evse)
        request = UnlockRequest(
            location_id=str(location.id),
            evse_uid=str(command.evse_uid),
            connector_id=str(command.connector_id),
        )
        return await self._accept(
            requester,
            kind,
            command,
            _summary(location=command.location_id, evse=command.evse_uid, connector=command.connector_id),
            refusal,
            functools.partial(self.charge_point.unlock, request),
        )

    # -- checks ------------------------------------------------------------------------------------

    async def _where(
        self, location_id: str, evse_uid: str | None, connector_id: str | None
    ) -> tuple[Location, EVSE | None]:
        """Our location (and EVSE, and its connector) named by a command; ``UnknownLocation`` otherwise."""
        location: Location | None = None
        for cc, pid in self._parties:
            record = await LOCATIONS.lookups.load_location_record(self._store, cc, pid, location_id)
            if record is not None and record.partner_id is None:
                location = record.location
                break
        if location is None:
            raise UnknownLocation(f"unknown location {location_id!r}")
        if evse_uid is None:
            return location, None
        evse = location.evse(evse_uid)
        if evse is None:
            raise UnknownLocation(f"unknown EVSE {evse_uid!r} in location {location_id!r}")
        if connector_id is not None and not any(c.id == connector_id for c in evse.connectors):
            raise UnknownLocation(f"unknown connector {connector_id!r} on EVSE {evse_uid!r}")
        return location, evse

    def _owner_refusal(
        self, requester: Requester, country_code: str | None, party_id: str | None, what: str
    ) -> CommandResponse | None:
        if country_code is None or party_id is None or _owned_by(requester.partner, country_code, party_id):
            return None
        return CommandResponse(
            result=CommandResponseType.REJECTED,
            timeout=self.timeout,
            message=_text(
                f"the {what} belongs to {country_code}*{party_id}, not to {requester.partner.name}"
            ),
        )

    def _capability_refusal(self, kind: CommandType, evse: EVSE | None) -> CommandResponse | None:
        if isinstance(self.charge_point, NoChargePoint):
            return _not_supported(NoChargePoint.reason)
        needed = _CAPABILITY.get(kind)
        if evse is None or needed is None or not evse.capabilities:
            return None
        if needed in evse.capabilities:
            return None
        return _not_supported(f"EVSE {evse.uid} is not {needed}", timeout=self.timeout)

    # -- answering and forwarding ------------------------------------------------------------------

    async def _accept(
        self,
        requester: Requester,
        kind: CommandType,
        command: Any,
        summary: dict[str, str],
        refusal: CommandResponse | None,
        call: Callable[[], Awaitable[Answer]],
        *,
        owner: tuple[str, str] | None = None,
    ) -> CommandResponse:
        now = self._clock.now()
        response = refusal or CommandResponse(result=CommandResponseType.ACCEPTED, timeout=self.timeout)
        if response.timeout is None:
            response = msgspec.structs.replace(response, timeout=self.timeout)
        cc, pid = owner or requester.party
        record = CommandRecord(
            id=self._ids.new_id(),
            direction=Direction.RECEIVED,
            type=kind,
            partner_id=requester.partner.id,
            partner_name=requester.partner.name,
            version=requester.version,
            country_code=cc,
            party_id=pid,
            response_url=command.response_url,
            request=msgspec.Raw(encode(command)),
            summary=summary,
            state=CommandState.WAITING if refusal is None else CommandState.REFUSED,
            response=response,
            created=now,
            answered=now,
            finished=None if refusal is None else now,
            last_updated=now,
        )
        await save_record(self._store, record)
        log.info(
            "command %s %s from %s: %s",
            kind.value,
            record.id,
            requester.partner.name,
            response.result.value,
        )
        if refusal is None:
            task = asyncio.get_running_loop().create_task(
                self._forward(record, requester.partner, call), name=f"evroam-command-{record.id}"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return response

    async def _forward(
        self, record: CommandRecord, partner: Partner, call: Callable[[], Awaitable[Answer]]
    ) -> None:
        answer: Answer | None
        try:
            answer = await asyncio.wait_for(call(), self.timeout)
        except TimeoutError:
            answer = None
        except Exception:  # a broken bridge must still produce a result
            log.exception("charger failed on command %s %s", record.type.value, record.id)
            answer = Answer.FAILED
        result = result_for(record.type, answer)
        record = await self._update(
            record.id,
            charger_answer="NO_ANSWER" if answer is None else answer.value,
            result=result,
        )
        error = await self._post_result(record, partner, result)
        await self._update(
            record.id,
            state=CommandState.FAILED if error else CommandState.DONE,
            error=error,
            finished=self._clock.now(),
        )

    async def _post_result(
        self, record: CommandRecord, partner: Partner, result: CommandResult
    ) -> str | None:
        """POST the result to the command's response_url; the error text when every attempt failed."""
        if partner.token is None:
            return f"partner {partner.name} has no token for us any more"
        wire = command_converters(record.version)
        client = OcpiClient(
            self._http,
            spec=wire.spec,
            token=partner.token,
            token_encoding=TokenEncoding(partner.token_encoding),
            us=self._us(),
            them=_party_ref(record.country_code, record.party_id),
            ids=self._ids,
            clock=self._clock,
        )
        body = wire.result_out(result)
        error = ""
        for attempt in range(1, self._post_attempts + 1):
            try:
                await client.post(record.response_url, body, module="commands")
            except EvroamError as exc:
                error = f"result POST to {record.response_url} failed (attempt {attempt}): {exc}"
                log.warning("command %s %s: %s", record.type.value, record.id, error)
                if attempt < self._post_attempts:
                    await asyncio.sleep(self._retry_delay * attempt)
                continue
            log.info(
                "command %s %s: result %s posted to %s",
                record.type.value,
                record.id,
                result.result.value,
                partner.name,
            )
            return None
        log.error(
            "command %s %s: result %s not delivered: %s", record.type.value, record.id, result.result, error
        )
        return error

    def _us(self) -> PartyRef | None:
        for cc, pid in self._parties:
            ref = _party_ref(cc, pid)
            if ref is not None:
                return ref
        return None

    async def _update(self, command_id: str, **changes: Any) -> CommandRecord:
        async with self._store.transaction() as tx:
            current = await load_record(tx, Direction.RECEIVED, command_id, for_update=True)
            if current is None:  # pragma: no cover - records are never deleted
                raise KeyError(command_id)
            now = self._clock.now()
            if "result" in changes and changes["result"] is not None:
                changes["results"] = (
                    *current.results,
                    ResultEvent(at=now, result=changes["result"], source="charger"),
                )
            updated = msgspec.structs.replace(current, last_updated=max(current.last_updated, now), **changes)
            await save_record(tx, updated)
            return updated

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Commands still waiting for the charger or for their result POST."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every accepted command's result has been POSTed (or given up)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop waiting for chargers (the eMSP will see its own TIMEOUT)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _owned_by(partner: Partner, country_code: str, party_id: str) -> bool:
    cc, pid = str(country_code).casefold(), str(party_id).casefold()
    return any(r.country_code.casefold() == cc and r.party_id.casefold() == pid for r in partner.roles)


def _party_ref(country_code: str, party_id: str) -> PartyRef | None:
    try:
        return PartyRef.of(country_code, party_id)
    except ValueError:
        return None


def _not_supported(message: str, *, timeout: int | None = None) -> CommandResponse:
    return CommandResponse(result=CommandResponseType.NOT_SUPPORTED, timeout=timeout, message=_text(message))


def _summary(**values: str | None) -> dict[str, str]:
    return {name: str(value) for name, value in values.items() if value is not None}
