"""The tokens module's ports: one typed protocol per role.

* :class:`TokenSenderPort` — the eMSP side CPOs call: GET list, and POST ``{uid}/authorize`` (real-time
  authorization);
* :class:`TokenReceiverPort` — the CPO side eMSPs push to (GET / PUT / PATCH, under their own parties);
* :class:`TokenAdminPort` — the eMSP's own tokens (import, block / unblock, listing);
* :class:`AuthorizationPolicy` — how an eMSP judges a known token (the default reads the token's
  stored :class:`~evroam.modules.tokens.rules.AuthorizationRules`; plug in a billing system here);
* :class:`RealTimeAuthorizer` and :class:`PartnerLookup` — what the CPO's decision service needs to
  ask an eMSP.

Methods work on canonical objects (:mod:`evroam.model.tokens`); writes answer with the store's
:class:`~evroam.store.PutOutcome` (``CREATED`` / ``UPDATED`` / ``STALE``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

import msgspec

from evroam.model.tokens import AuthorizationInfo, LocationReferences, Token
from evroam.ocpi.transport import PartyRef
from evroam.ocpi.transport.pagination import PageRequest
from evroam.registration.model import Partner
from evroam.store.port import PutOutcome, StoredObject

from .rules import AuthorizationRules, Verdict

__all__ = [
    "AuthorizationPolicy",
    "ImportedToken",
    "PartnerLookup",
    "RealTimeAuthorizer",
    "TokenAdminPort",
    "TokenImportReport",
    "TokenPage",
    "TokenReceiverPort",
    "TokenSenderPort",
]


class TokenPage(msgspec.Struct, frozen=True):
    """One page of token documents, and how many match in total."""

    items: list[StoredObject]
    total: int


class ImportedToken(msgspec.Struct, frozen=True, kw_only=True):
    """One token of an import file, with the eMSP's own rules for it (if the file gave any)."""

    token: Token
    rules: AuthorizationRules | None = None


class TokenImportReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an import did, by ``"<uid> (<type>)"``."""

    created: list[str] = msgspec.field(default_factory=list)
    updated: list[str] = msgspec.field(default_factory=list)
    unchanged: list[str] = msgspec.field(default_factory=list)
    stale: list[str] = msgspec.field(default_factory=list)
    outbox_rows: int = 0


class TokenSenderPort(Protocol):
    """eMSP, Sender interface."""

    async def page(self, partner: Partner, request: PageRequest) -> TokenPage: ...

    async def authorize(
        self,
        partner: Partner,
        uid: str,
        token_type: str,
        where: LocationReferences | None,
        *,
        to: PartyRef | None = None,
    ) -> AuthorizationInfo: ...


class TokenReceiverPort(Protocol):
    """CPO, Receiver interface: tokens eMSPs push, under their own parties only.

    ``token_type`` ``None`` (OCPI 2.1.1, whose Receiver URLs carry no type) means "whichever type".
    """

    async def get(
        self, partner: Partner, country_code: str, party_id: str, uid: str, token_type: str | None
    ) -> Token: ...

    async def put(
        self, partner: Partner, country_code: str, party_id: str, uid: str, token_type: str, token: Token
    ) -> PutOutcome: ...

    async def patch(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        uid: str,
        token_type: str | None,
        last_updated: datetime,
        apply: Callable[[Token], Token],
    ) -> PutOutcome: ...


class TokenAdminPort(Protocol):
    """eMSP: the node's own tokens."""

    async def import_tokens(self, tokens: Sequence[ImportedToken]) -> TokenImportReport: ...

    async def set_valid(self, uid: str, token_type: str, valid: bool) -> tuple[Token, int]: ...

    async def list_tokens(self) -> list[ImportedToken]: ...

    async def get_token(self, uid: str, token_type: str) -> ImportedToken: ...


class AuthorizationPolicy(Protocol):
    """How the eMSP judges a known token for a real-time authorization."""

    async def decide(
        self,
        token: Token,
        rules: AuthorizationRules | None,
        where: LocationReferences | None,
        now: datetime,
    ) -> Verdict:
        """The answer; may raise :class:`~evroam.core.errors.NotEnoughInformation` (OCPI 2002)."""
        ...


class PartnerLookup(Protocol):
    """Read access to the partner records (the registration repository implements it)."""

    async def get_partner(self, partner_id: str) -> Partner | None: ...

    async def list_partners(self) -> list[Partner]: ...


class RealTimeAuthorizer(Protocol):
    """The call to an eMSP's ``POST {tokens}/{uid}/authorize``.

    Raises :class:`~evroam.core.errors.ClientApiUnreachable` when the eMSP cannot be reached and
    :class:`~evroam.core.errors.PartnerError` when it answers with an error.
    """

    async def authorize(
        self,
        partner: Partner,
        uid: str,
        token_type: str,
        where: LocationReferences | None,
        *,
        us: PartyRef | None,
        them: PartyRef | None,
    ) -> AuthorizationInfo: ...
