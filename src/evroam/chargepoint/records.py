"""Where a CPO node's Sessions and CDRs go: the sessions and CDRs modules.

:func:`records_for` gives the :class:`~evroam.chargepoint.sink.ChargingRecords` of a node: Sessions are
stored and their creation and updates queued for push (a PATCH never before its PUT) by the sessions
module's :class:`~evroam.modules.sessions.SessionAdmin`; CDRs are stored and queued for POST to the
eMSP, retried until acknowledged, by the CDRs module's :class:`~evroam.modules.cdrs.CdrAdmin`. Both
stamp ``last_updated`` (and the outbox rows) with the clock given, the node's own: the charging
facts keep the chargers' times.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from evroam.core.clock import Clock
from evroam.model.cdrs import CDR, ChargingPeriod
from evroam.model.enums import SessionStatus
from evroam.model.sessions import Session
from evroam.modules.cdrs import CdrAdmin
from evroam.modules.sessions import SessionAdmin, SessionUpdate

from .sink import ChargingRecords

if TYPE_CHECKING:
    from evroam.node.wiring import Node

__all__ = ["LoggedRecords", "ModuleRecords", "records_for"]

log = logging.getLogger(__name__)

_FINAL = frozenset({SessionStatus.COMPLETED, SessionStatus.INVALID})


class LoggedRecords:
    """Sessions and CDRs kept in memory and logged only (tests, tools that need no store)."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.cdrs: list[CDR] = []

    async def session_changed(
        self, session: Session, *, created: bool, new_periods: tuple[ChargingPeriod, ...]
    ) -> None:
        self.sessions[str(session.id)] = session
        log.info(
            "session %s %s: %s, %s kWh",
            session.id,
            "created" if created else "updated",
            session.status,
            session.kwh,
        )

    async def cdr_created(self, cdr: CDR) -> None:
        self.cdrs.append(cdr)
        log.info("CDR %s: %s %s", cdr.id, cdr.total_cost.before_taxes, cdr.currency)


class ModuleRecords:
    """:class:`~evroam.chargepoint.sink.ChargingRecords` over the sessions and CDRs admin services."""

    def __init__(self, sessions: SessionAdmin, cdrs: CdrAdmin) -> None:
        self._sessions = sessions
        self._cdrs = cdrs

    async def session_changed(
        self, session: Session, *, created: bool, new_periods: tuple[ChargingPeriod, ...]
    ) -> None:
        party = (str(session.country_code), str(session.party_id))
        if created:
            await self._sessions.start(session)
        elif session.status in _FINAL:
            await self._sessions.stop(
                str(session.id),
                end_date_time=session.end_date_time,
                kwh=session.kwh,
                total_cost=session.total_cost,
                status=session.status,
                party=party,
            )
        else:
            update = SessionUpdate(
                kwh=session.kwh, total_cost=session.total_cost, charging_periods=new_periods
            )
            await self._sessions.update(str(session.id), update, party=party)

    async def cdr_created(self, cdr: CDR) -> None:
        await self._cdrs.create(cdr)


def records_for(node: Node, clock: Clock) -> ChargingRecords:
    """The node's sessions and CDRs services; ``clock`` stamps ``last_updated`` and the outbox rows (use
    the node's clock: a simulated clock running ahead would leave the pushes due in the future)."""
    from evroam.node.wiring import cpo_parties
    from evroam.push.outbox import RegisteredPartners

    parties = cpo_parties(node.config)
    partners = RegisteredPartners()
    return ModuleRecords(
        SessionAdmin(node.store, clock, partners, parties), CdrAdmin(node.store, clock, partners, parties)
    )
