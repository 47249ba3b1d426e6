"""The CPO's authorization decision: may this token charge here, now?

:class:`AuthorizationService` follows OCPI's whitelist table (:func:`~evroam.modules.tokens.rules.route_for`):

==================  ==========================================================================
whitelist           decision
==================  ==========================================================================
ALWAYS              from the stored token (``valid`` → ALLOWED, else BLOCKED); no call
ALLOWED             the CPO's choice (``allowed_real_time``): from the stored token by default;
                    when real-time is chosen, the stored token answers if the eMSP is unreachable
ALLOWED_OFFLINE     real-time call to the eMSP; the stored token answers only when the eMSP
                    cannot be reached
NEVER               real-time call, always; eMSP unreachable → ``EMSP_UNREACHABLE`` (never allowed)
unknown token       real-time call to the eMSP that issued it, when known (``issuer``, or the
                    partner owning the party an eMAID-shaped uid starts with); else ``UNKNOWN_TOKEN``
==================  ==========================================================================

"Unreachable" means no answer (connection refused, timeout after ``timeout`` seconds) or a server
error from the eMSP (HTTP 5xx / OCPI 3xxx). Whatever happens, the outcome is an
:class:`AuthorizationDecision` that says what was decided, how, and why; ``allowed`` is true only for
``ALLOWED``. A token the eMSP returns in its answer (OCPI 2.2+) is stored, so the CPO learns tokens
it did not have.

The real-time call (:class:`OcpiRealTime`) goes through :class:`~evroam.http.client.OcpiClient` to
the eMSP's tokens SENDER endpoint. This service is called by the CPO's own systems (the CLI, a
charge-point backend), never from inside one of our OCPI request handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.errors import ClientApiUnreachable, PartnerError
from evroam.core.status import StatusCode
from evroam.http.client import OcpiClient
from evroam.model.enums import Role
from evroam.model.tokens import AuthorizationInfo, LocationReferences, Token
from evroam.ocpi.registry import spec_for
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.registration.model import Partner, PartnerStatus
from evroam.store.port import Store

from .._shared import partner_owns
from .convert import token_converters
from .ports import PartnerLookup, RealTimeAuthorizer
from .repository import DEFAULT_TYPE, TokenRecord, load_token_record, save_token
from .rules import Route, local_verdict, route_for
from .service import describe

__all__ = [
    "AuthorizationDecision",
    "AuthorizationService",
    "OcpiRealTime",
    "Outcome",
    "issuer_from_uid",
]

log = logging.getLogger(__name__)

_EMAID = re.compile(r"^([A-Za-z]{2})[-*]?([A-Za-z0-9]{3})[-*]?[A-Za-z0-9]")


class Outcome(StrEnum):
    """What the decision came to: OCPI's AllowedType values, or why there is no answer."""

    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    EXPIRED = "EXPIRED"
    NO_CREDIT = "NO_CREDIT"
    NOT_ALLOWED = "NOT_ALLOWED"
    UNKNOWN_TOKEN = "UNKNOWN_TOKEN"
    """Neither we nor the eMSP know the token (or we cannot tell which eMSP to ask)."""
    LOCATION_REQUIRED = "LOCATION_REQUIRED"
    """The eMSP needs to know where (OCPI 2002): ask again with a location."""
    EMSP_UNREACHABLE = "EMSP_UNREACHABLE"
    """A real-time answer was required and the eMSP could not be reached: cannot authorize."""
    EMSP_ERROR = "EMSP_ERROR"
    """The eMSP answered with another error."""


class AuthorizationDecision(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of :meth:`AuthorizationService.authorize`.

    ``source`` is ``"local"`` (stored token), ``"eMSP"`` (real-time answer), ``"local, eMSP
    unreachable"`` (the fallback of ALLOWED_OFFLINE / ALLOWED) or ``"none"`` (no decision possible).
    """

    outcome: Outcome
    route: Route | None
    source: str
    reason: str
    token: Token | None = None
    emsp: str | None = None
    """The eMSP partner's name, when one is involved."""
    location: LocationReferences | None = None
    """Where the token may charge (only the permitted EVSEs), when allowed."""
    authorization_reference: str | None = None
    """The eMSP's reference, to copy into the Session and CDR."""

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED


def issuer_from_uid(uid: str) -> tuple[str, str] | None:
    """The ``(country_code, party_id)`` an eMAID-shaped uid (``NL-ABC-C12345678-X``, ``NLABC...``)
    starts with, or ``None``."""
    found = _EMAID.match(uid)
    if found is None or len(uid) < 8:
        return None
    return found.group(1).upper(), found.group(2).upper()


class OcpiRealTime:
    """:class:`~evroam.modules.tokens.ports.RealTimeAuthorizer` over OCPI: ``POST
    {tokens SENDER}/{uid}/authorize?type=`` with the LocationReferences as body, through the node's
    ``httpx.AsyncClient`` (``http``)."""

    def __init__(self, http: Any, *, clock: Clock, ids: IdGenerator) -> None:
        self._http = http
        self._clock = clock
        self._ids = ids

    async def authorize(
        self,
        partner: Partner,
        uid: str,
        token_type: str,
        where: LocationReferences | None,
        *,
        us: PartyRef | None,
        them: PartyRef | None,
    ) -> AuthorizationInfo:
        endpoint = partner.endpoint("tokens", "SENDER")
        if endpoint is None or partner.version is None or partner.token is None:
            raise ClientApiUnreachable(f"partner {partner.name} offers no tokens SENDER endpoint")
        wire = token_converters(partner.version)
        client = OcpiClient(
            self._http,
            spec=spec_for(partner.version),
            token=partner.token,
            token_encoding=TokenEncoding(partner.token_encoding),
            us=us,
            them=them,
            ids=self._ids,
            clock=self._clock,
        )
        url = f"{endpoint.url.rstrip('/')}/{quote(uid, safe='')}/authorize"
        body = None if where is None else wire.location_references_from_model(where)
        answer = await client.request(
            "POST",
            url,
            module="tokens",
            data_type=wire.models["AuthorizationInfo"],
            body=body,
            params={"type": token_type},
        )
        return wire.authorization_info_to_model(answer.data)


def _unreachable(exc: Exception) -> bool:
    if isinstance(exc, ClientApiUnreachable | TimeoutError):
        return True
    if isinstance(exc, PartnerError):
        return exc.http_status >= 500 or 3000 <= int(exc.ocpi_status) < 4000
    return False


class AuthorizationService:
    """The CPO's decision (see the module docstring).

    ``store`` holds the tokens eMSPs pushed; ``partners`` the partner records; ``realtime`` makes the
    call to an eMSP (:class:`OcpiRealTime`); ``parties`` are our CPO parties (the first one is named
    in the routing headers of the call). ``allowed_real_time`` makes ALLOWED tokens ask the eMSP too;
    ``timeout`` (seconds) bounds the wait for the eMSP.
    """

    def __init__(
        self,
        store: Store,
        partners: PartnerLookup,
        realtime: RealTimeAuthorizer,
        *,
        parties: Sequence[tuple[str, str]] = (),
        allowed_real_time: bool = False,
        timeout: float = 5.0,
    ) -> None:
        self._store = store
        self._partners = partners
        self._realtime = realtime
        self._us: PartyRef | None = None
        for cc, pid in parties:
            with contextlib.suppress(ValueError):
                self._us = PartyRef.of(cc, pid)
                break
        self.allowed_real_time = allowed_real_time
        self.timeout = timeout

    async def _emsps(self) -> list[Partner]:
        return [
            partner
            for partner in await self._partners.list_partners()
            if partner.status is PartnerStatus.REGISTERED
        ]

    async def _stored(
        self, uid: str, token_type: str, issuer: tuple[str, str] | None
    ) -> tuple[TokenRecord, Partner] | None:
        for partner in await self._emsps():
            for role in partner.roles:
                if (role.role or "").upper() == "CPO":
                    continue
                if issuer is not None and (role.country_code.upper(), role.party_id.upper()) != issuer:
                    continue
                record = await load_token_record(
                    self._store, role.country_code, role.party_id, uid, token_type
                )
                if record is not None and record.partner_id == partner.id:
                    return record, partner
        return None

    async def _issuer(self, issuer: tuple[str, str] | None) -> Partner | None:
        if issuer is None:
            return None
        for partner in await self._emsps():
            if partner_owns(partner, *issuer, Role.EMSP) and partner.endpoint("tokens", "SENDER") is not None:
                return partner
        return None

    async def authorize(
        self,
        uid: str,
        token_type: str = DEFAULT_TYPE,
        where: LocationReferences | None = None,
        *,
        issuer: tuple[str, str] | None = None,
    ) -> AuthorizationDecision:
        """Decide for token ``uid`` of ``token_type`` at ``where`` (optional). ``issuer`` is the eMSP
        party that issued the token, when known (it narrows the search and says whom to ask about an
        unknown token)."""
        if issuer is not None:
            issuer = (issuer[0].upper(), issuer[1].upper())
        name = describe(uid, token_type)
        found = await self._stored(uid, token_type, issuer)
        if found is None:
            issuer = issuer or issuer_from_uid(uid)
            partner = await self._issuer(issuer)
            if partner is None or issuer is None:
                return AuthorizationDecision(
                    outcome=Outcome.UNKNOWN_TOKEN,
                    route=None,
                    source="none",
                    reason=f"unknown token {name} and no known eMSP to ask about it",
                )
            return await self._ask(partner, uid, token_type, where, None, Route.REAL_TIME, issuer)
        record, partner = found
        route = route_for(record.token.whitelist, allowed_real_time=self.allowed_real_time)
        if route is Route.LOCAL:
            return self._local(record.token, where, route, "local", partner)
        owner = (str(record.token.country_code), str(record.token.party_id))
        return await self._ask(partner, uid, token_type, where, record.token, route, owner)

    def _local(
        self,
        token: Token,
        where: LocationReferences | None,
        route: Route,
        source: str,
        partner: Partner | None,
        why: str = "",
    ) -> AuthorizationDecision:
        verdict = local_verdict(token, where)
        return AuthorizationDecision(
            outcome=Outcome(verdict.allowed.value),
            route=route,
            source=source,
            reason=verdict.reason + why,
            token=token,
            emsp=None if partner is None else partner.name,
            location=verdict.location,
        )

    async def _ask(
        self,
        partner: Partner,
        uid: str,
        token_type: str,
        where: LocationReferences | None,
        stored: Token | None,
        route: Route,
        owner: tuple[str, str],
    ) -> AuthorizationDecision:
        them: PartyRef | None = None
        with contextlib.suppress(ValueError):
            them = PartyRef.of(*owner)
        try:
            info = await asyncio.wait_for(
                self._realtime.authorize(partner, uid, token_type, where, us=self._us, them=them),
                self.timeout,
            )
        except (ClientApiUnreachable, PartnerError, TimeoutError) as exc:
            return self._failed(partner, uid, token_type, stored, route, where, exc)
        if info.token is not None:
            await self._learn(partner, uid, token_type, info.token)
        outcome = Outcome(info.allowed.value)
        reason = "answered by the eMSP" + (f": {info.info.text}" if info.info is not None else "")
        return AuthorizationDecision(
            outcome=outcome,
            route=route,
            source="eMSP",
            reason=reason,
            token=info.token or stored,
            emsp=partner.name,
            location=info.location if outcome is Outcome.ALLOWED else None,
            authorization_reference=None
            if info.authorization_reference is None
            else str(info.authorization_reference),
        )

    def _failed(
        self,
        partner: Partner,
        uid: str,
        token_type: str,
        stored: Token | None,
        route: Route,
        where: LocationReferences | None,
        exc: Exception,
    ) -> AuthorizationDecision:
        name = describe(uid, token_type)
        text = str(exc) or f"no answer within {self.timeout:g} s"
        if _unreachable(exc):
            if route is Route.REAL_TIME_OR_LOCAL and stored is not None:
                log.warning(
                    "authorize %s: eMSP %s unreachable, decided locally: %s", name, partner.name, text
                )
                return self._local(
                    stored,
                    where,
                    route,
                    "local, eMSP unreachable",
                    partner,
                    f" (eMSP {partner.name} unreachable: {text})",
                )
            log.error("authorize %s: cannot authorize, eMSP %s unreachable: %s", name, partner.name, text)
            return AuthorizationDecision(
                outcome=Outcome.EMSP_UNREACHABLE,
                route=route,
                source="none",
                reason=f"cannot authorize: eMSP {partner.name} unreachable ({text})",
                token=stored,
                emsp=partner.name,
            )
        assert isinstance(exc, PartnerError)
        if exc.http_status == 404 or exc.ocpi_status == StatusCode.UNKNOWN_TOKEN:
            outcome, reason = Outcome.UNKNOWN_TOKEN, f"eMSP {partner.name} does not know token {name}"
        elif exc.ocpi_status == StatusCode.NOT_ENOUGH_INFORMATION:
            outcome = Outcome.LOCATION_REQUIRED
            reason = f"eMSP {partner.name} needs to know the location to authorize {name}"
        else:
            outcome, reason = Outcome.EMSP_ERROR, f"eMSP {partner.name} refused the request: {text}"
        return AuthorizationDecision(
            outcome=outcome, route=route, source="eMSP", reason=reason, token=stored, emsp=partner.name
        )

    async def _learn(self, partner: Partner, uid: str, token_type: str, token: Token) -> None:
        """Keep the token the eMSP sent with its answer (when it is the one asked about and lies
        under the partner's own party); an older copy never replaces a newer one."""
        same = token.uid == uid and str(token.type).casefold() == token_type.casefold()
        if not same or not partner_owns(partner, token.country_code, token.party_id, Role.EMSP):
            return
        async with self._store.transaction() as tx:
            record = await load_token_record(
                tx, token.country_code, token.party_id, token.uid, token.type, for_update=True
            )
            if record is not None and record.partner_id != partner.id:
                return
            await save_token(tx, token, partner_id=partner.id, check_stale=True)
