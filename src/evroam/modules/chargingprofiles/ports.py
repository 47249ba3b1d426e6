"""The charging profiles module's ports: one typed protocol per role.

* :class:`ProfileReceiverPort` — the CPO side that takes requests on its sessions (OCPI's Receiver
  interface);
* :class:`ProfileSenderPort` — the eMSP / SCSP side that sends them and receives their results and the
  ActiveChargingProfile updates (OCPI's Sender interface).

Both work on canonical objects (:mod:`evroam.model.chargingprofiles`); the bindings convert.
"""

from __future__ import annotations

import builtins
from typing import Any, Protocol

from evroam.model.chargingprofiles import (
    ActiveChargingProfile,
    ChargingProfile,
    ChargingProfileResponse,
    SetChargingProfile,
)
from evroam.registration.model import Partner

from .receiver import Requester
from .records import ProfileRecord, ReceivedActive, RequestType

__all__ = ["ProfileReceiverPort", "ProfileResults", "ProfileSenderPort"]


class ProfileReceiverPort(Protocol):
    """CPO: answer each request at once; its result follows on the request's ``response_url``."""

    async def set_profile(
        self, requester: Requester, session_id: str, request: SetChargingProfile
    ) -> ChargingProfileResponse: ...

    async def get_active(
        self, requester: Requester, session_id: str, *, duration: int, response_url: str
    ) -> ChargingProfileResponse: ...

    async def clear_profile(
        self, requester: Requester, session_id: str, *, response_url: str
    ) -> ChargingProfileResponse: ...


class ProfileResults(Protocol):
    """eMSP / SCSP: where the CPO's results and ActiveChargingProfile updates go."""

    async def receive_result(
        self, partner: Partner, kind: RequestType, request_id: str, result: Any
    ) -> ProfileRecord: ...

    async def receive_active(
        self, partner: Partner, session_id: str, active: ActiveChargingProfile
    ) -> ReceivedActive: ...


class ProfileSenderPort(ProfileResults, Protocol):
    """eMSP / SCSP: send requests to a CPO partner (by name) and follow them until they are settled."""

    async def set_profile(self, partner: str, session_id: str, profile: ChargingProfile) -> ProfileRecord: ...

    async def get_active(self, partner: str, session_id: str, *, duration: int = 900) -> ProfileRecord: ...

    async def clear_profile(self, partner: str, session_id: str) -> ProfileRecord: ...

    async def get(self, request_id: str) -> ProfileRecord: ...

    async def list(self, *, limit: int | None = 50) -> list[ProfileRecord]: ...

    async def actives(self) -> builtins.list[ReceivedActive]: ...

    async def wait(self, request_id: str, *, poll: float = 0.1) -> ProfileRecord: ...
