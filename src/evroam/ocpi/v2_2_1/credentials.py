"""Credentials module (OCPI 2.2.1)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import CiString2, CiString3, String64, Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.common import BusinessDetails
from evroam.ocpi.v2_2_1.enums import Role

__all__ = ["Credentials", "CredentialsRole"]


class CredentialsRole(WireModel, kw_only=True):
    role: Role
    business_details: BusinessDetails
    party_id: CiString3
    country_code: CiString2


class Credentials(WireModel, kw_only=True):
    token: String64
    url: Url
    roles: Annotated[list[CredentialsRole], msgspec.Meta(min_length=1)]
