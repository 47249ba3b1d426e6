"""Canonical ClientInfo (HubClientInfo module, 2.2+)."""

from __future__ import annotations

from evroam.core.types import CiString, DateTime
from evroam.model.common import CanonicalModel
from evroam.model.enums import ConnectionStatus, Role

__all__ = ["ClientInfo"]


class ClientInfo(CanonicalModel, frozen=True):
    party_id: CiString
    country_code: CiString
    role: Role
    status: ConnectionStatus
    last_updated: DateTime
