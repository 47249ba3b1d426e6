"""Canonical Token, AuthorizationInfo and LocationReferences.

Canonical name ``contract_id`` (2.1.1 ``auth_id``). Identity ``(country_code, party_id, uid, type)``;
a 2.1.1 Token has no owner, so the converter takes the eMSP's ``country_code``/``party_id``.
"""

from __future__ import annotations

from evroam.core.types import CiString, DateTime
from evroam.model.common import CanonicalModel, DisplayText
from evroam.model.enums import AllowedType, ProfileType, TokenTypeName, WhitelistType

__all__ = ["AuthorizationInfo", "EnergyContract", "LocationReferences", "Token"]


class EnergyContract(CanonicalModel, frozen=True):
    """2.2+."""

    supplier_name: str
    contract_id: str | None = None


class Token(CanonicalModel, frozen=True):
    country_code: CiString
    party_id: CiString
    uid: CiString
    type: TokenTypeName
    contract_id: CiString
    issuer: str
    valid: bool
    whitelist: WhitelistType
    last_updated: DateTime
    visual_number: str | None = None
    group_id: CiString | None = None
    language: str | None = None
    default_profile_type: ProfileType | None = None
    energy_contract: EnergyContract | None = None


class LocationReferences(CanonicalModel, frozen=True):
    """Where a token wants to charge. ``connector_ids`` is 2.1.1 only."""

    location_id: CiString
    evse_uids: tuple[CiString, ...] | None = None
    connector_ids: tuple[CiString, ...] | None = None


class AuthorizationInfo(CanonicalModel, frozen=True):
    """Answer to a real-time authorization. ``token`` (required in 2.2+) is ``None`` from 2.1.1."""

    allowed: AllowedType
    token: Token | None = None
    location: LocationReferences | None = None
    authorization_reference: CiString | None = None
    info: DisplayText | None = None
