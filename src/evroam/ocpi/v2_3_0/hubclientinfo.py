"""HubClientInfo module (OCPI 2.3.0): as 2.2.1, with the 2.3.0 Role enum."""

from __future__ import annotations

from evroam.core.types import CiString2, CiString3, DateTime
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_3_0.enums import ConnectionStatus, Role

__all__ = ["ClientInfo"]


class ClientInfo(WireModel, kw_only=True):
    party_id: CiString3
    country_code: CiString2
    role: Role
    status: ConnectionStatus
    last_updated: DateTime
