"""What the registration service keeps about partners, independent of any OCPI version.

Credentials and a partner's roles are the canonical :class:`~evroam.model.Credentials` and
:class:`~evroam.model.CredentialsRole`; the wire shapes (``Credentials`` and ``Endpoint`` of each
version) are converted to and from them in :mod:`evroam.registration.wire`, credentials through the
versions' converters (:mod:`evroam.ocpi.converters`). The service itself never touches wire models.

Two kinds of secret appear here:

* ``Partner.token`` — the token the *partner* gave us; we send it when we call them. It is kept as is,
  because we must be able to send it.
* tokens *we* issued (token A, and B or C) — only their SHA-256 digest is kept (:class:`IssuedToken`).
  An incoming token is hashed and looked up; the raw value is never stored.

``repr()`` of these records never shows a token value.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum

import msgspec

from evroam.core.types import CiString, DateTime
from evroam.model import BusinessDetails, CredentialsRole, Role

__all__ = [
    "Caller",
    "IssuedToken",
    "Partner",
    "PartnerEndpoint",
    "PartnerStatus",
    "PartyRole",
    "TokenUse",
    "token_digest",
]


def token_digest(token: str) -> str:
    """The SHA-256 hex digest a token we issued is stored and looked up by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class PartnerStatus(StrEnum):
    """Where a partner stands in the credentials handshake."""

    INVITED = "INVITED"
    """We issued token A and wait for the partner to POST its credentials."""
    REGISTERING = "REGISTERING"
    """We are POSTing our credentials to the partner; it may call back with the token we issued."""
    REGISTERED = "REGISTERED"
    """Both sides hold a working token."""
    UNREGISTERED = "UNREGISTERED"
    """One side ended the connection; no traffic in either direction."""


class TokenUse(StrEnum):
    """What a token we issued allows."""

    REGISTRATION = "REGISTRATION"
    """Token A: versions, version details and credentials only, until the handshake is done."""
    PEER = "PEER"
    """The token of a connected partner (B when we started the handshake, C when they did)."""


def PartyRole(  # the former record's name and keywords, kept for callers written against it
    *, role: str, country_code: str, party_id: str, name: str, website: str | None = None
) -> CredentialsRole:
    """A party's role as the canonical :class:`~evroam.model.CredentialsRole` (``role`` must be a
    :class:`~evroam.model.Role` value). New code builds ``CredentialsRole`` directly."""
    return CredentialsRole(
        business_details=BusinessDetails(name=name, website=website),
        party_id=CiString(party_id),
        country_code=CiString(country_code),
        role=Role(role),
    )


class PartnerEndpoint(msgspec.Struct, frozen=True, kw_only=True):
    """One endpoint from a partner's version details (``role`` is ``None`` in OCPI 2.1.1)."""

    module: str
    url: str
    role: str | None = None


class Partner(msgspec.Struct, kw_only=True):
    """A partner platform and the state of our connection with it."""

    id: str
    name: str
    status: PartnerStatus
    initiated_by: str
    """``"us"`` (we POSTed our credentials) or ``"them"`` (they POSTed to us with our token A)."""
    created: DateTime
    updated: DateTime
    version: str | None = None
    versions_url: str | None = None
    token: str | None = None
    """The token the partner issued to us: we call them with it. ``None`` when there is none."""
    token_encoding: str = "base64"
    """How ``token`` goes into the Authorization header towards this partner (``base64`` or ``raw``)."""
    roles: tuple[CredentialsRole, ...] = ()
    """The partner's parties, from the credentials it sent (a 2.1.1 partner's one role is ``OTHER``)."""
    endpoints: tuple[PartnerEndpoint, ...] = ()
    offered_versions: tuple[str, ...] = ()
    issued: tuple[str, ...] = ()
    """Digests of the tokens we issued to this partner that are currently valid."""

    def __repr__(self) -> str:
        return (
            f"Partner(id={self.id!r}, name={self.name!r}, status={self.status.value}, "
            f"version={self.version!r}, token={'<redacted>' if self.token else None})"
        )

    def endpoint(self, module: str, role: str | None = None) -> PartnerEndpoint | None:
        """The partner's endpoint of ``module`` (and ``role`` when given), if it has one."""
        for endpoint in self.endpoints:
            if endpoint.module == module and (role is None or endpoint.role in (None, role)):
                return endpoint
        return None


class IssuedToken(msgspec.Struct, frozen=True, kw_only=True):
    """A token we issued, known only by its digest."""

    digest: str
    partner_id: str
    use: TokenUse
    issued_at: DateTime


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: the partner a presented token belongs to, and what that token allows."""

    partner: Partner
    use: TokenUse
    digest: str
    token: str
    """The token as presented (needed to answer GET credentials). Never shown by ``repr``."""

    def __repr__(self) -> str:
        return f"Caller(partner={self.partner.name!r}, use={self.use.value})"
