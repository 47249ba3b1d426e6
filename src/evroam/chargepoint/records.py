"""Where a CPO node's Sessions and CDRs go: the sessions and CDRs modules, when this build has them.

:func:`records_for` gives the :class:`~evroam.chargepoint.sink.ChargingRecords` of a node. Sessions are
stored and their creation and updates queued for push (a PATCH never before its PUT); CDRs are stored
and queued for POST to the eMSP until acknowledged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from evroam.core.clock import Clock
from evroam.model.cdrs import CDR, ChargingPeriod
from evroam.model.sessions import Session

from .sink import ChargingRecords

if TYPE_CHECKING:
    from evroam.node.wiring import Node

__all__ = ["LoggedRecords", "records_for"]

log = logging.getLogger(__name__)


class LoggedRecords:
    """Sessions and CDRs only logged (a build without the sessions and CDRs modules)."""

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


def records_for(node: Node, clock: Clock) -> ChargingRecords:
    """The node's sessions and CDRs services (``clock``: the chargers' time), else :class:`LoggedRecords`."""
    log.warning("the sessions and CDRs modules are not available: sessions and CDRs are only logged")
    return LoggedRecords()
