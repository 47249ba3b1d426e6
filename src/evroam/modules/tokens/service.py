"""The tokens services of both sides: plain Python over the store, no HTTP.

* :class:`TokenSender` (eMSP) — pages of our own tokens and the real-time authorization answer;
* :class:`TokenReceiver` (CPO) — what eMSPs push, under their own parties only, with the stale-update
  rule;
* :class:`TokenAdmin` (eMSP) — import, block / unblock and listings of our own tokens; every change
  writes its outbox rows (:func:`evroam.store.outbox.enqueue_change`) in the same transaction.

Privacy: our own tokens are shown (Sender list) and authorized only for partners that may hold tokens
— a partner with a CPO role, a hub, or a partner whose role we do not know (OCPI 2.1.1 credentials name
none, they are recorded as OTHER). Tokens a CPO received from an eMSP are never in the Sender list
(that shows only our own, ``partner_id`` ``None``), and through the Receiver interface each eMSP
reads only the tokens it pushed itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.codec import encode
from evroam.core.errors import Forbidden, NotFound, UnknownToken, ValidationFailed, Violation
from evroam.core.types import CiString
from evroam.model.common import DisplayText
from evroam.model.enums import AllowedType, Role
from evroam.model.tokens import AuthorizationInfo, LocationReferences, Token
from evroam.ocpi.transport import PartyRef
from evroam.ocpi.transport.pagination import PageRequest
from evroam.registration.model import Partner
from evroam.store.outbox import ObjectChange, enqueue_change
from evroam.store.port import Operations, PutOutcome, Store, Transaction

from .._shared import PartyAdmin, check_url_id, count_stale, require_party, stale_counts
from .ports import AuthorizationPolicy, ImportedToken, TokenImportReport, TokenPage
from .repository import (
    DEFAULT_TYPE,
    TOKEN_KIND,
    TokenRecord,
    iter_tokens,
    load_token_record,
    page_tokens,
    save_token,
    token_object_id,
)
from .rules import AuthorizationRules, Verdict, judge

__all__ = [
    "ALL_TYPES",
    "MODULE",
    "TOKEN_HOLDING_ROLES",
    "StoredRules",
    "TokenAdmin",
    "TokenReceiver",
    "TokenSender",
    "describe",
    "may_hold_tokens",
]

log = logging.getLogger(__name__)

MODULE = "tokens"

#: Partner roles that may see and authorize our tokens (OTHER: a 2.1.1 partner, whose role is unknown).
TOKEN_HOLDING_ROLES = frozenset({"CPO", "HUB", "OTHER"})

#: The token types tried, in order, when a request names none and the version keys tokens by uid only
#: (OCPI 2.1.1 Receiver URLs).
ALL_TYPES = ("RFID", "OTHER", "AD_HOC_USER", "APP_USER", "EMAID")


def may_hold_tokens(partner: Partner) -> bool:
    """Whether ``partner`` may list and authorize our tokens (see the module docstring)."""
    return any((role.role or "").upper() in TOKEN_HOLDING_ROLES for role in partner.roles)


def describe(uid: str, token_type: str) -> str:
    """``"<uid> (<type>)"``, as reports and messages name a token."""
    return f"{uid} ({token_type})"


def _owned(parties: Iterable[tuple[str, str]], country_code: str, party_id: str) -> bool:
    key = (country_code.casefold(), party_id.casefold())
    return any((cc.casefold(), pid.casefold()) == key for cc, pid in parties)


class StoredRules:
    """:class:`~evroam.modules.tokens.ports.AuthorizationPolicy` from the token's stored rules
    (:func:`~evroam.modules.tokens.rules.judge`)."""

    async def decide(
        self,
        token: Token,
        rules: AuthorizationRules | None,
        where: LocationReferences | None,
        now: datetime,
    ) -> Verdict:
        return judge(token, rules, where, now)


class TokenSender:
    """:class:`~evroam.modules.tokens.ports.TokenSenderPort`: the eMSP's own tokens (``parties``: its eMSP
    parties). ``ids`` gives each ALLOWED answer a fresh ``authorization_reference``."""

    def __init__(
        self,
        store: Store,
        parties: Sequence[tuple[str, str]],
        *,
        clock: Clock,
        ids: IdGenerator,
        policy: AuthorizationPolicy | None = None,
    ) -> None:
        self._store = store
        self._parties = tuple(parties)
        self._clock = clock
        self._ids = ids
        self._policy = policy or StoredRules()

    async def page(self, partner: Partner, request: PageRequest) -> TokenPage:
        if not may_hold_tokens(partner):
            return TokenPage([], 0)
        items, total = await page_tokens(
            self._store,
            partners=[None],
            date_from=request.date_from,
            date_to=request.date_to,
            offset=request.offset,
            limit=request.limit,
        )
        return TokenPage(items, total)

    async def _find(self, uid: str, token_type: str, to: PartyRef | None) -> TokenRecord | None:
        parties = self._parties
        if to is not None and _owned(parties, to.country_code, to.party_id):
            parties = ((str(to.country_code), str(to.party_id)),)
        for cc, pid in parties:
            record = await load_token_record(self._store, cc, pid, uid, token_type)
            if record is not None and record.partner_id is None:
                return record
        return None

    async def authorize(
        self,
        partner: Partner,
        uid: str,
        token_type: str,
        where: LocationReferences | None,
        *,
        to: PartyRef | None = None,
    ) -> AuthorizationInfo:
        """The answer to ``POST {uid}/authorize?type=``: raises :class:`UnknownToken` (HTTP 404, OCPI
        2004) for a token we do not know (or that this partner may not see) and
        :class:`~evroam.core.errors.NotEnoughInformation` (2002) when the token's rules need a location."""
        record = await self._find(uid, token_type, to) if may_hold_tokens(partner) else None
        if record is None:
            raise UnknownToken(f"unknown token {describe(uid, token_type)}")
        verdict = await self._policy.decide(record.token, record.rules, where, self._clock.now())
        allowed = verdict.allowed is AllowedType.ALLOWED
        log.debug("authorize %s for %s: %s", describe(uid, token_type), partner.name, verdict.allowed)
        return AuthorizationInfo(
            allowed=verdict.allowed,
            token=record.token,
            location=verdict.location if allowed else None,
            authorization_reference=CiString(self._ids.new_id()) if allowed else None,
            info=None if allowed else DisplayText(language="en", text=verdict.reason),
        )


class TokenReceiver:
    """:class:`~evroam.modules.tokens.ports.TokenReceiverPort` over the store (``partner_id`` = sender)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def _load(
        self,
        ops: Operations,
        country_code: str,
        party_id: str,
        uid: str,
        token_type: str | None,
        *,
        for_update: bool = False,
    ) -> TokenRecord | None:
        for candidate in (token_type,) if token_type is not None else ALL_TYPES:
            record = await load_token_record(
                ops, country_code, party_id, uid, candidate, for_update=for_update
            )
            if record is not None:
                return record
        return None

    async def _mine(
        self,
        ops: Operations,
        partner: Partner,
        country_code: str,
        party_id: str,
        uid: str,
        token_type: str | None,
    ) -> TokenRecord | None:
        record = await self._load(ops, country_code, party_id, uid, token_type, for_update=True)
        if record is not None and record.partner_id != partner.id:
            raise Forbidden(f"token {uid!r} of {country_code}*{party_id} was not stored by this partner")
        return record

    async def get(
        self, partner: Partner, country_code: str, party_id: str, uid: str, token_type: str | None
    ) -> Token:
        require_party(partner, country_code, party_id, Role.EMSP)
        record = await self._load(self._store, country_code, party_id, uid, token_type)
        if record is None or record.partner_id != partner.id:
            raise NotFound(f"no token {uid!r} of {country_code}*{party_id}")
        return record.token

    async def put(
        self, partner: Partner, country_code: str, party_id: str, uid: str, token_type: str, token: Token
    ) -> PutOutcome:
        require_party(partner, country_code, party_id, Role.EMSP)
        check_url_id("country_code", country_code, token.country_code)
        check_url_id("party_id", party_id, token.party_id)
        check_url_id("uid", uid, token.uid)
        check_url_id("type", token_type, token.type)
        async with self._store.transaction() as tx:
            record = await self._mine(tx, partner, country_code, party_id, uid, token_type)
            if record is not None and record.token.last_updated > token.last_updated:
                await count_stale(tx, MODULE, partner.id)
                return PutOutcome.STALE
            return await save_token(tx, token, partner_id=partner.id, check_stale=False)

    async def patch(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        uid: str,
        token_type: str | None,
        last_updated: datetime,
        apply: Callable[[Token], Token],
    ) -> PutOutcome:
        require_party(partner, country_code, party_id, Role.EMSP)
        async with self._store.transaction() as tx:
            record = await self._mine(tx, partner, country_code, party_id, uid, token_type)
            if record is None:
                raise NotFound(f"no token {uid!r} of {country_code}*{party_id}: PUT it first")
            if record.token.last_updated > last_updated:
                await count_stale(tx, MODULE, partner.id)
                return PutOutcome.STALE
            token = apply(record.token)
            check_url_id("uid", uid, token.uid)
            check_url_id("type", record.token.type, token.type)
            check_url_id("country_code", country_code, token.country_code)
            check_url_id("party_id", party_id, token.party_id)
            await save_token(tx, token, partner_id=partner.id, check_stale=False)
            return PutOutcome.UPDATED

    async def stale_updates(self, partner_ids: Sequence[str] = ()) -> dict[str, int]:
        """Stale updates ignored so far: ``{"total": n, <partner_id>: n ...}``."""
        return await stale_counts(self._store, MODULE, partner_ids)


class TokenAdmin(PartyAdmin):
    """:class:`~evroam.modules.tokens.ports.TokenAdminPort`: the eMSP's own tokens (``parties``: its eMSP
    parties). Every change is queued for the partners with a tokens RECEIVER endpoint."""

    async def _enqueue(self, tx: Transaction, token: Token, method: str, patch: bytes | None = None) -> int:
        change = ObjectChange(
            module=MODULE,
            country_code=str(token.country_code),
            party_id=str(token.party_id),
            object_id=token_object_id(token.uid, token.type),
            method=method,
            patch=patch,
        )
        return await enqueue_change(tx, self._partners, change, self._clock.now())

    async def import_tokens(self, tokens: Sequence[ImportedToken]) -> TokenImportReport:
        """Create or replace each token in one transaction; nothing is written when one is refused."""
        violations = [
            Violation(
                f"$[{i}].country_code",
                f"{item.token.country_code}*{item.token.party_id} is not an eMSP party of this node",
            )
            for i, item in enumerate(tokens)
            if not _owned(self._parties, item.token.country_code, item.token.party_id)
        ]
        if violations:
            raise ValidationFailed(violations, "tokens refused, nothing imported")
        report = TokenImportReport()
        rows = 0
        async with self._store.transaction() as tx:
            for item in tokens:
                token = item.token
                name = describe(token.uid, token.type)
                record = await load_token_record(
                    tx, token.country_code, token.party_id, token.uid, token.type, for_update=True
                )
                if record is not None and record.partner_id is not None:
                    raise ValidationFailed(
                        f"token {name} of {token.country_code}*{token.party_id} is a partner's, not ours"
                    )
                if record is not None and record.token == token and record.rules == item.rules:
                    report.unchanged.append(name)
                    continue
                if record is not None and record.token.last_updated > token.last_updated:
                    report.stale.append(name)
                    continue
                await save_token(tx, token, rules=item.rules, check_stale=False)
                (report.updated if record is not None else report.created).append(name)
                if record is None or record.token != token:  # rules alone are never pushed
                    rows += await self._enqueue(tx, token, "PUT")
        return msgspec.structs.replace(report, outbox_rows=rows)

    async def _own(self, ops: Operations, uid: str, token_type: str, *, for_update: bool) -> TokenRecord:
        for cc, pid in self._parties:
            record = await load_token_record(ops, cc, pid, uid, token_type, for_update=for_update)
            if record is not None and record.partner_id is None:
                return record
        raise NotFound(f"no token {describe(uid, token_type)} of ours (see `evroam tokens list`)")

    async def set_valid(self, uid: str, token_type: str, valid: bool) -> tuple[Token, int]:
        """Block (``valid`` false) or unblock the token; returns it and the pushes queued (a PATCH of
        ``valid`` + ``last_updated``; none when it already had that state)."""
        async with self._store.transaction() as tx:
            record = await self._own(tx, uid, token_type, for_update=True)
            if record.token.valid is valid:
                return record.token, 0
            now = max(self._clock.now(), record.token.last_updated)
            token = msgspec.structs.replace(record.token, valid=valid, last_updated=now)
            await save_token(tx, token, rules=record.rules, check_stale=False)
            patch = encode({"valid": valid, "last_updated": now})
            return token, await self._enqueue(tx, token, "PATCH", patch)

    async def list_tokens(self) -> list[ImportedToken]:
        return [
            ImportedToken(token=document.token, rules=document.rules)
            async for _, document in iter_tokens(self._store, partners=[None])
        ]

    async def get_token(self, uid: str, token_type: str = DEFAULT_TYPE) -> ImportedToken:
        record = await self._own(self._store, uid, token_type, for_update=False)
        return ImportedToken(token=record.token, rules=record.rules)

    async def count(self) -> int:
        return await self._store.count(TOKEN_KIND, partners=[None])
