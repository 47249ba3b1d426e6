"""Tokens module (OCPI 2.1.1): Token, its PATCH body, and real-time authorization.

In 2.1.1 the contract id is called ``auth_id``; there are no owner fields, no ``group_id`` and no
``token`` in AuthorizationInfo. LocationReferences still carries ``connector_ids`` (removed in 2.2).
"""

from __future__ import annotations

from evroam.core.types import DateTime, String2, String36, String39, String64
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_1_1.common import DisplayText
from evroam.ocpi.v2_1_1.enums import Allowed, TokenType, WhitelistType

__all__ = ["AuthorizationInfo", "LocationReferences", "Token", "TokenPatch"]


class Token(WireModel, kw_only=True):
    uid: String36
    type: TokenType
    auth_id: String36  # the eMSP's contract id (eMA ID)
    visual_number: String64 | None = None
    issuer: String64
    valid: bool
    whitelist: WhitelistType
    language: String2 | None = None  # ISO 639-1
    last_updated: DateTime


class TokenPatch(WireModel, kw_only=True):
    """PATCH body for a Token: every field optional; absent fields stay unchanged."""

    uid: String36 | None = None
    type: TokenType | None = None
    auth_id: String36 | None = None
    visual_number: String64 | None = None
    issuer: String64 | None = None
    valid: bool | None = None
    whitelist: WhitelistType | None = None
    language: String2 | None = None
    last_updated: DateTime | None = None


class LocationReferences(WireModel, kw_only=True):
    """Where a token asks to charge (request) or may charge (in the answer)."""

    location_id: String39
    evse_uids: list[String39] | None = None
    connector_ids: list[String36] | None = None


class AuthorizationInfo(WireModel, kw_only=True):
    """``data`` of the real-time authorization answer."""

    allowed: Allowed
    location: LocationReferences | None = None
    info: DisplayText | None = None
