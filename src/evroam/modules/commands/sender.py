"""The eMSP side of commands: send one, record it, match the result that comes back, wait for it.

:class:`CommandSender` implements :class:`~evroam.modules.commands.ports.CommandSenderPort`:

1. a command gets an id and its own ``response_url`` — ``{node url}/ocpi/{version}/sender/commands/{id}``
   — and is recorded (kind ``command_sent``) *before* it is sent, so a result that overtakes the
   synchronous answer still finds it;
2. the CPO's synchronous :class:`~evroam.model.CommandResponse` is recorded: not ``ACCEPTED`` means no
   result will follow (state ``REFUSED``); an unreachable CPO or an error answer gives ``FAILED``;
3. the :class:`~evroam.model.CommandResult` POSTed to the ``response_url`` is recorded and matched to
   its command by the id in the URL (only the partner the command went to may post it);
4. when no result arrived by the deadline (the CPO's ``timeout`` plus ``grace`` seconds), the command's
   result is ``TIMEOUT`` (decided here, marked ``source="local"``). :meth:`CommandSender.wait` waits for
   either; any read of an overdue command records the TIMEOUT too.

StartSession carries an ``authorization_reference`` generated here: the CPO copies it into the Session
and the CDR, which ties them to the command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.codec import encode
from evroam.core.errors import (
    ClientApiUnreachable,
    EvroamError,
    NotFound,
    PartnerError,
    ValidationFailed,
    Violation,
)
from evroam.core.types import CiString, DateTime
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
from evroam.model.common import DisplayText, NotRepresentable
from evroam.model.enums import CommandResponseType, CommandResultType
from evroam.model.tokens import Token
from evroam.modules.kit import module_path
from evroam.ocpi.table import InterfaceRole
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.registration.model import Partner, PartnerStatus
from evroam.store.port import Store

from .convert import command_converters
from .records import (
    CommandRecord,
    CommandState,
    CommandType,
    Direction,
    ResultEvent,
    list_records,
    load_record,
    save_record,
)

__all__ = [
    "DEFAULT_GRACE",
    "DEFAULT_RESULT_TIMEOUT",
    "CommandError",
    "CommandSender",
    "PartnerFinder",
    "TokenFinder",
]

DEFAULT_GRACE = 10.0
"""Seconds added to the CPO's ``timeout`` before the eMSP gives up on a result."""
DEFAULT_RESULT_TIMEOUT = 60
"""Seconds to wait for a result when the CPO announced no ``timeout`` (OCPI 2.1.1)."""

_RESERVATION_COUNTER = "commands.reservation_counter"


class CommandError(EvroamError):
    """The command cannot be sent (unknown partner or token, no commands endpoint, not connected)."""

    http_status = 400


class PartnerFinder(Protocol):
    async def get(self, name: str) -> Partner:
        """The partner called ``name`` (an error naming it when unknown)."""
        ...


class TokenFinder(Protocol):
    async def own_token(self, uid: str, token_type: str | None = None) -> Token | None:
        """One of our own tokens by uid (and type, when given), or ``None``."""
        ...


def _text(message: str) -> tuple[DisplayText, ...]:
    return (DisplayText(language="en", text=message[:512]),)


class CommandSender:
    """Commands to CPO partners, over the store and the node's HTTP client.

    ``base_url`` is the node's public URL (the CPO POSTs results there); ``parties`` our own eMSP
    parties ``(country_code, party_id)`` (the sender of commands that carry no token); ``tokens``
    finds our tokens for StartSession / ReserveNow. ``sleep`` is how :meth:`wait` pauses (tests).
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
        tokens: TokenFinder | None = None,
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
        self._tokens = tokens
        self.grace = grace
        self.default_timeout = default_timeout
        self._sleep = sleep

    def now(self) -> DateTime:
        """The service's clock."""
        return self._clock.now()

    # -- the five commands -------------------------------------------------------------------------

    async def start_session(
        self,
        partner: str,
        *,
        location_id: str,
        token_uid: str,
        evse_uid: str | None = None,
        connector_id: str | None = None,
        token_type: str | None = None,
        to: str | None = None,
        authorization_reference: str | None = None,
    ) -> CommandRecord:
        """START_SESSION at ``location_id`` (an EVSE / connector of it when given) for our token;
        ``to`` (``CC*PID``) names the CPO party when the partner is a hub reaching several;
        ``authorization_reference`` (36 characters at most) is a new id unless given."""
        if connector_id is not None and evse_uid is None:
            raise ValidationFailed([Violation("evse_uid", "a connector needs its EVSE (--evse)")])
        token = await self._token(token_uid, token_type)
        reference = (authorization_reference or self._ids.new_id())[:36]

        def build(response_url: str) -> StartSession:
            return StartSession(
                response_url=response_url,
                token=token,
                location_id=CiString(location_id),
                evse_uid=None if evse_uid is None else CiString(evse_uid),
                connector_id=None if connector_id is None else CiString(connector_id),
                authorization_reference=CiString(reference),
            )

        summary = {"location": location_id, "token": token_uid, "authorization_reference": reference}
        summary.update({k: v for k, v in (("evse", evse_uid), ("connector", connector_id)) if v})
        return await self._send(partner, CommandType.START_SESSION, build, summary, owner=token, to=to)

    async def stop_session(self, partner: str, *, session_id: str) -> CommandRecord:
        def build(response_url: str) -> StopSession:
            return StopSession(response_url=response_url, session_id=CiString(session_id))

        return await self._send(partner, CommandType.STOP_SESSION, build, {"session": session_id})

    async def reserve_now(
        self,
        partner: str,
        *,
        location_id: str,
        token_uid: str,
        expiry_date: datetime,
        evse_uid: str | None = None,
        reservation_id: str | None = None,
        token_type: str | None = None,
    ) -> CommandRecord:
        """RESERVE_NOW until ``expiry_date``; ``reservation_id`` defaults to the next number of ours
        (a number fits every version: 2.1.1 ids are integers)."""
        token = await self._token(token_uid, token_type)
        if reservation_id is None:
            reservation_id = await self._next_reservation_id()
        expiry = DateTime.from_datetime(expiry_date)
        reference = self._ids.new_id()[:36]
        chosen = reservation_id

        def build(response_url: str) -> ReserveNow:
            return ReserveNow(
                response_url=response_url,
                token=token,
                expiry_date=expiry,
                reservation_id=CiString(chosen),
                location_id=CiString(location_id),
                evse_uid=None if evse_uid is None else CiString(evse_uid),
                authorization_reference=CiString(reference),
            )

        summary = {
            "location": location_id,
            "token": token_uid,
            "reservation": reservation_id,
            "expires": expiry.to_json(),
        }
        if evse_uid:
            summary["evse"] = evse_uid
        return await self._send(partner, CommandType.RESERVE_NOW, build, summary, owner=token)

    async def cancel_reservation(self, partner: str, *, reservation_id: str) -> CommandRecord:
        def build(response_url: str) -> CancelReservation:
            return CancelReservation(response_url=response_url, reservation_id=CiString(reservation_id))

        return await self._send(
            partner, CommandType.CANCEL_RESERVATION, build, {"reservation": reservation_id}
        )

    async def unlock_connector(
        self, partner: str, *, location_id: str, evse_uid: str, connector_id: str
    ) -> CommandRecord:
        def build(response_url: str) -> UnlockConnector:
            return UnlockConnector(
                response_url=response_url,
                location_id=CiString(location_id),
                evse_uid=CiString(evse_uid),
                connector_id=CiString(connector_id),
            )

        summary = {"location": location_id, "evse": evse_uid, "connector": connector_id}
        return await self._send(partner, CommandType.UNLOCK_CONNECTOR, build, summary)

    # -- results -----------------------------------------------------------------------------------

    async def receive_result(self, partner: Partner, command_id: str, result: CommandResult) -> CommandRecord:
        """Record a result POSTed to a command's response_url by ``partner``.

        ``NotFound`` when there is no such command, or when it was sent to another partner (a
        partner learns nothing about other partners' commands).
        """
        async with self._store.transaction() as tx:
            record = await load_record(tx, Direction.SENT, command_id, for_update=True)
            if record is None or record.partner_id != partner.id:
                raise NotFound(f"no command {command_id!r} awaits a result from {partner.name}")
            now = self._clock.now()
            event = ResultEvent(at=now, result=result, source="partner")
            changes: dict[str, Any] = {"results": (*record.results, event), "last_updated": now}
            if record.result is None:
                changes.update(result=result, finished=now)
                if record.state is not CommandState.SENDING:
                    changes["state"] = CommandState.DONE
            record = msgspec.structs.replace(record, **changes)
            await save_record(tx, record)
            return record

    async def get(self, command_id: str) -> CommandRecord:
        """One sent command (an overdue one gets its TIMEOUT now); ``NotFound`` when unknown."""
        record = await load_record(self._store, Direction.SENT, command_id)
        if record is None:
            raise NotFound(f"no command {command_id!r} (see `evroam commands list`)")
        return await self._expire(record)

    async def list(self, *, limit: int | None = 50) -> list[CommandRecord]:
        """The newest sent commands, oldest first (overdue ones get their TIMEOUT now)."""
        out = []
        for record in await list_records(self._store, Direction.SENT, limit=limit):
            out.append(await self._expire(record))
        return out

    async def wait(self, command_id: str, *, poll: float = 0.1) -> CommandRecord:
        """Wait until the command is settled: its result, its refusal, its failure, or TIMEOUT."""
        while True:
            record = await self.get(command_id)
            if record.final:
                return record
            await self._sleep(poll)

    # -- internals ---------------------------------------------------------------------------------

    async def _token(self, uid: str, token_type: str | None) -> Token:
        if self._tokens is None:
            raise CommandError("this node keeps no tokens: commands that carry a token cannot be sent")
        token = await self._tokens.own_token(uid, token_type)
        if token is None:
            raise CommandError(f"no token {uid!r} of ours (see `evroam tokens list`)")
        if not token.valid:
            raise CommandError(f"token {uid!r} is blocked (valid: false): it cannot start or reserve")
        return token

    async def _next_reservation_id(self) -> str:
        async with self._store.transaction() as tx:
            current = int(await tx.get_setting(_RESERVATION_COUNTER) or "0") + 1
            await tx.set_setting(_RESERVATION_COUNTER, str(current))
        return str(current)

    async def _partner(self, name: str) -> Partner:
        try:
            partner = await self._partners.get(name)
        except EvroamError as exc:
            raise CommandError(exc.message) from None
        if partner.status is not PartnerStatus.REGISTERED or partner.version is None or partner.token is None:
            raise CommandError(f"partner {partner.name} is not connected ({partner.status.value})")
        return partner

    def _sender_party(self, owner: Token | None) -> tuple[str, str]:
        if owner is not None:
            return str(owner.country_code), str(owner.party_id)
        if not self._parties:
            raise CommandError("this node has no eMSP party to send commands for")
        return self._parties[0]

    async def _send(
        self,
        partner_name: str,
        kind: CommandType,
        build: Callable[[str], Any],
        summary: dict[str, str],
        *,
        owner: Token | None = None,
        to: str | None = None,
    ) -> CommandRecord:
        them: PartyRef | None = None
        if to is not None:
            cc, _, pid = to.partition("*")
            them = _party_ref(cc, pid)
            if them is None:
                raise ValidationFailed([Violation("to", f"{to!r} is not a party such as NL*CPO")])
        partner = await self._partner(partner_name)
        version = partner.version or ""
        wire = command_converters(version)
        if not wire.supports(kind):
            raise CommandError(f"OCPI {version} (spoken with {partner.name}) has no {kind.value} command")
        endpoint = partner.endpoint("commands", InterfaceRole.RECEIVER.value)
        if endpoint is None:
            raise CommandError(f"partner {partner.name} lists no commands RECEIVER endpoint")
        command_id = self._ids.new_id()
        module = wire.spec.modules["commands"]
        response_url = f"{self._base_url}{module_path(wire.spec, module, InterfaceRole.SENDER)}/{command_id}"
        command = build(response_url)
        try:
            body = wire.command_out(kind, command)
        except NotRepresentable as exc:
            raise CommandError(f"cannot send {kind.value} in OCPI {version}: {exc}") from None
        cc, pid = self._sender_party(owner)
        now = self._clock.now()
        record = CommandRecord(
            id=command_id,
            direction=Direction.SENT,
            type=kind,
            partner_id=partner.id,
            partner_name=partner.name,
            version=version,
            country_code=cc,
            party_id=pid,
            response_url=response_url,
            request=msgspec.Raw(encode(command)),
            summary=summary,
            state=CommandState.SENDING,
            created=now,
            deadline=self._after(now, self.default_timeout),
            last_updated=now,
        )
        await save_record(self._store, record)
        client = OcpiClient(
            self._http,
            spec=wire.spec,
            token=partner.token or "",
            token_encoding=TokenEncoding(partner.token_encoding),
            us=_party_ref(cc, pid),
            them=them or _cpo_of(partner),
            ids=self._ids,
            clock=self._clock,
        )
        url = f"{endpoint.url.rstrip('/')}/{kind.value}"
        response: CommandResponse | None = None
        error: str | None = None
        try:
            answer = await client.post(url, body, wire.response_model, module="commands")
            response = wire.response_in(answer)
        except PartnerError as exc:
            error = str(exc)
            response = CommandResponse(
                result=CommandResponseType.REJECTED, message=_text(f"the CPO answered with an error: {exc}")
            )
        except ClientApiUnreachable as exc:
            error = str(exc)
        return await self._answered(command_id, response, error)

    async def _answered(
        self, command_id: str, response: CommandResponse | None, error: str | None
    ) -> CommandRecord:
        async with self._store.transaction() as tx:
            record = await load_record(tx, Direction.SENT, command_id, for_update=True)
            if record is None:  # pragma: no cover - records are never deleted
                raise NotFound(command_id)
            now = self._clock.now()
            changes: dict[str, Any] = {"response": response, "answered": now, "last_updated": now}
            if error is not None:
                changes["error"] = error
            if response is None:
                changes.update(state=CommandState.FAILED, finished=now)
            elif record.result is not None:  # the result overtook the answer
                changes["state"] = CommandState.DONE
            elif response.result is CommandResponseType.ACCEPTED:
                timeout = response.timeout if response.timeout is not None else self.default_timeout
                changes.update(state=CommandState.WAITING, deadline=self._after(now, timeout))
            else:
                changes.update(state=CommandState.REFUSED, finished=now)
            record = msgspec.structs.replace(record, **changes)
            await save_record(tx, record)
            return record

    def _after(self, now: datetime, timeout: float) -> DateTime:
        return DateTime.from_datetime(now + timedelta(seconds=timeout + self.grace))

    async def _expire(self, record: CommandRecord) -> CommandRecord:
        """Give an overdue open command its TIMEOUT result (once, under a lock)."""
        if record.final or record.deadline is None or self._clock.now() < record.deadline:
            return record
        async with self._store.transaction() as tx:
            current = await load_record(tx, Direction.SENT, record.id, for_update=True)
            if current is None or current.final:
                return current or record
            now = self._clock.now()
            timeout = CommandResult(
                result=CommandResultType.TIMEOUT,
                message=_text(f"no result from {current.partner_name} by {current.deadline}"),
            )
            current = msgspec.structs.replace(
                current,
                state=CommandState.DONE,
                result=timeout,
                results=(*current.results, ResultEvent(at=now, result=timeout, source="local")),
                finished=now,
                last_updated=now,
            )
            await save_record(tx, current)
            return current


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
