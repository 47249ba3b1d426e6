"""The sessions module's ports: one typed protocol per role.

* :class:`SessionSenderPort` — the CPO side partners pull from (GET list, ``date_from`` required) and set
  charging preferences on (PUT ``{session_id}/charging_preferences``, 2.2+);
* :class:`SessionReceiverPort` — the eMSP side CPOs push to (GET / PUT / PATCH, PATCH appending charging
  periods);
* :class:`SessionAdminPort` — the CPO's own sessions (start, update, add charging periods, stop), the API
  a charge-point connection calls; every change is pushed to the eMSP whose token it concerns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import msgspec

from evroam.core.errors import ChargingPreferencesNotCapable
from evroam.model.cdrs import ChargingPeriod
from evroam.model.common import Price
from evroam.model.enums import AuthMethod, ChargingPreferencesResponse, SessionStatus
from evroam.model.sessions import ChargingPreferences, Session
from evroam.ocpi.transport.pagination import PageRequest
from evroam.registration.model import Partner
from evroam.store.port import PutOutcome, StoredObject

__all__ = [
    "ChargingPreferencesNotCapable",
    "SessionAdminPort",
    "SessionChange",
    "SessionPage",
    "SessionReceiverPort",
    "SessionSenderPort",
    "SessionUpdate",
]


class SessionPage(msgspec.Struct, frozen=True):
    """One page of session documents, and how many match in total."""

    items: list[StoredObject]
    total: int


class SessionUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """What one update of a running session changes; ``None`` = unchanged. ``charging_periods`` are
    appended to the session's (each must start no earlier than the last one)."""

    kwh: Decimal | None = None
    status: SessionStatus | None = None
    total_cost: Price | None = None
    end_date_time: datetime | None = None
    auth_method: AuthMethod | None = None
    authorization_reference: str | None = None
    meter_id: str | None = None
    charging_periods: tuple[ChargingPeriod, ...] = ()

    def is_empty(self) -> bool:
        return not self.charging_periods and all(
            getattr(self, name) is None for name in self.__struct_fields__ if name != "charging_periods"
        )


class SessionChange(msgspec.Struct, frozen=True):
    """A session as stored after a change, and how many outbox rows the change queued."""

    session: Session
    outbox_rows: int


class SessionSenderPort(Protocol):
    """CPO, Sender interface."""

    async def page(self, partner: Partner, request: PageRequest) -> SessionPage: ...

    async def set_charging_preferences(
        self, partner: Partner, session_id: str, preferences: ChargingPreferences
    ) -> ChargingPreferencesResponse: ...


class SessionReceiverPort(Protocol):
    """eMSP, Receiver interface: sessions CPOs push, under their own parties only."""

    async def get(self, partner: Partner, country_code: str, party_id: str, session_id: str) -> Session: ...

    async def put(
        self, partner: Partner, country_code: str, party_id: str, session_id: str, session: Session
    ) -> PutOutcome: ...

    async def patch(
        self,
        partner: Partner,
        country_code: str,
        party_id: str,
        session_id: str,
        last_updated: datetime,
        apply: Callable[[Session], Session],
    ) -> PutOutcome: ...


class SessionAdminPort(Protocol):
    """CPO: the node's own sessions."""

    async def start(self, session: Session) -> SessionChange: ...

    async def update(
        self, session_id: str, update: SessionUpdate, *, party: tuple[str, str] | None = None
    ) -> SessionChange: ...

    async def add_charging_periods(
        self,
        session_id: str,
        periods: Sequence[ChargingPeriod],
        *,
        kwh: Decimal | None = None,
        party: tuple[str, str] | None = None,
    ) -> SessionChange: ...

    async def stop(
        self,
        session_id: str,
        *,
        end_date_time: datetime | None = None,
        kwh: Decimal | None = None,
        total_cost: Price | None = None,
        status: SessionStatus = SessionStatus.COMPLETED,
        party: tuple[str, str] | None = None,
    ) -> SessionChange: ...
