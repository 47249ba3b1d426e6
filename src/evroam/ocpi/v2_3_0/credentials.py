"""Credentials module (OCPI 2.3.0): Role without HUB, and ``hub_party_id``."""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import CiString2, CiString3, CiString5, String64, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_3_0.common import BusinessDetails
from evroam.ocpi.v2_3_0.enums import Role

__all__ = ["Credentials", "CredentialsRole"]


class CredentialsRole(WireModel, kw_only=True):
    role: Role
    business_details: BusinessDetails
    party_id: CiString3
    country_code: CiString2


class Credentials(WireModel, kw_only=True):
    token: String64
    url: Url
    hub_party_id: CiString5 | None = None  # country code + party id of the hub, e.g. "NLHUB"
    roles: Annotated[list[CredentialsRole], msgspec.Meta(min_length=1)]
