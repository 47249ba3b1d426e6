"""Sessions and CDRs kept in memory and logged (:class:`LoggedRecords`), for tests and tools that need
no store. A node's records go to its sessions and CDRs modules (:func:`evroam.node.charging.records_for`).
"""

from __future__ import annotations

import logging

from evroam.model.cdrs import CDR, ChargingPeriod
from evroam.model.sessions import Session

__all__ = ["LoggedRecords"]

log = logging.getLogger(__name__)


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
