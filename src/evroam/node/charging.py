"""Where a CPO node's chargers meet its modules: the simulator's and OCPP's sink wired to the
locations, tariffs, sessions and CDRs modules.

:func:`records_for` gives the :class:`~evroam.chargepoint.sink.ChargingRecords` of a node: Sessions are
stored and their creation and updates queued for push (a PATCH never before its PUT) by the sessions
module's :class:`~evroam.modules.sessions.SessionAdmin`; CDRs are stored and queued for POST to the
eMSP, retried until acknowledged, by the CDRs module's :class:`~evroam.modules.cdrs.CdrAdmin`. Both
stamp ``last_updated`` (and the outbox rows) with the clock given, the node's own: the charging
facts keep the chargers' times. :class:`StoredCatalogue` finds the chargers' locations and tariffs.
"""

from __future__ import annotations

from collections.abc import Sequence

from evroam.chargepoint.sink import ChargingRecords
from evroam.core.clock import Clock
from evroam.model.cdrs import CDR, ChargingPeriod
from evroam.model.enums import SessionStatus
from evroam.model.locations import Location
from evroam.model.sessions import Session
from evroam.model.tariffs import Tariff
from evroam.modules.cdrs import CdrAdmin
from evroam.modules.kit import NodeContext
from evroam.modules.locations import LOCATIONS
from evroam.modules.sessions import SessionAdmin, SessionUpdate
from evroam.modules.tariffs import TARIFFS
from evroam.registration.directory import RegisteredPartners
from evroam.store.port import Store

__all__ = ["ModuleRecords", "StoredCatalogue", "records_for"]

_FINAL = frozenset({SessionStatus.COMPLETED, SessionStatus.INVALID})


class StoredCatalogue:
    """:class:`~evroam.chargepoint.sink.Catalogue` over the locations and tariffs modules: our own
    objects (not those received from partners) under our CPO ``parties``."""

    def __init__(self, store: Store, parties: Sequence[tuple[str, str]]) -> None:
        self._store = store
        self._parties = tuple(parties)

    async def own_location(self, location_id: str) -> Location | None:
        for cc, pid in self._parties:
            record = await LOCATIONS.lookups.load_location_record(self._store, cc, pid, location_id)
            if record is not None and record.partner_id is None:
                return record.location
        return None

    async def own_tariff(self, country_code: str, party_id: str, tariff_id: str) -> Tariff | None:
        record = await TARIFFS.lookups.load_tariff_record(self._store, country_code, party_id, tariff_id)
        return record.tariff if record is not None and record.partner_id is None else None


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


def records_for(node: NodeContext, clock: Clock) -> ChargingRecords:
    """The node's sessions and CDRs services; ``clock`` stamps ``last_updated`` and the outbox rows (use
    the node's clock: a simulated clock running ahead would leave the pushes due in the future)."""
    parties = node.own.cpo_parties()
    partners = RegisteredPartners()
    return ModuleRecords(
        SessionAdmin(node.store, clock, partners, parties), CdrAdmin(node.store, clock, partners, parties)
    )
