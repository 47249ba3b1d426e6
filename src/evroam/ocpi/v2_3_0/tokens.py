"""Tokens module (OCPI 2.3.0): TokenType is open (EMAID added); the rest is as in 2.2.1."""

from __future__ import annotations

from evroam.core.types import CiString2, CiString3, CiString36, DateTime, String2, String64
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.tokens import EnergyContract, LocationReferences
from evroam.ocpi.v2_3_0.common import DisplayText
from evroam.ocpi.v2_3_0.enums import AllowedType, OpenTokenType, ProfileType, WhitelistType

__all__ = ["AuthorizationInfo", "EnergyContract", "LocationReferences", "Token", "TokenPatch"]


class Token(WireModel, kw_only=True):
    country_code: CiString2
    party_id: CiString3
    uid: CiString36
    type: OpenTokenType
    contract_id: CiString36
    visual_number: String64 | None = None
    issuer: String64
    group_id: CiString36 | None = None
    valid: bool
    whitelist: WhitelistType
    language: String2 | None = None
    default_profile_type: ProfileType | None = None
    energy_contract: EnergyContract | None = None
    last_updated: DateTime


class TokenPatch(WireModel, kw_only=True):
    country_code: CiString2 | None = None
    party_id: CiString3 | None = None
    uid: CiString36 | None = None
    type: OpenTokenType | None = None
    contract_id: CiString36 | None = None
    visual_number: String64 | None = None
    issuer: String64 | None = None
    group_id: CiString36 | None = None
    valid: bool | None = None
    whitelist: WhitelistType | None = None
    language: String2 | None = None
    default_profile_type: ProfileType | None = None
    energy_contract: EnergyContract | None = None
    last_updated: DateTime


class AuthorizationInfo(WireModel, kw_only=True):
    allowed: AllowedType
    token: Token
    location: LocationReferences | None = None
    authorization_reference: CiString36 | None = None
    info: DisplayText | None = None
