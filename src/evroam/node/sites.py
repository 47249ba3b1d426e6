"""The smart sites of a CPO node: one energy manager per configured site, over whatever charge point
is plugged in (the simulator under ``evroam simulate``, the OCPP central system under ``evroam serve
--ocpp-port``), and an OpenADR VEN for the sites that name a VTN."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from evroam.chargepoint.port import EventListener, SmartCharging
from evroam.model.locations import Location
from evroam.node.openadr import Ven
from evroam.node.smart import SiteConfig, SiteManager, location_tariffs, stations_of
from evroam.sim.clock import SimTime
from evroam.store.port import Store
from evroam.tariffs import Tariff as EngineTariff

__all__ = ["SmartSites"]

log = logging.getLogger(__name__)


class _ManagedChargePoint(SmartCharging, Protocol):
    def subscribe(self, listener: EventListener) -> None: ...


class SmartSites:
    """The managers (and VENs) of a node's smart sites, started together and closed together."""

    def __init__(self) -> None:
        self.managers: list[SiteManager] = []
        self._vens: list[Ven] = []

    async def start(
        self,
        sites: Sequence[SiteConfig],
        locations: Sequence[Location],
        charge_point: _ManagedChargePoint,
        time: SimTime,
        *,
        store: Store,
        http: Any,
        plan_path: Callable[[str], Path] | None,
    ) -> None:
        """One manager per site whose location is among ``locations``; the others are logged."""
        for entry in sites:
            location = next(
                (loc for loc in locations if str(loc.id).casefold() == entry.location_id.casefold()), None
            )
            if location is None:
                log.warning("smart charging: no location %s to manage", entry.location_id)
                continue
            cc, pid, lid = str(location.country_code), str(location.party_id), str(location.id)

            async def load_tariffs(cc: str = cc, pid: str = pid, lid: str = lid) -> list[EngineTariff]:
                return await location_tariffs(store, cc, pid, lid)

            manager = SiteManager(
                entry,
                charge_point,
                time,
                stations_of(location),
                plan_path=None if plan_path is None else plan_path(entry.location_id),
                http=http,
                tariff_loader=load_tariffs if entry.prices_from_tariff else None,
                time_zone=location.time_zone or "UTC",
            )
            charge_point.subscribe(manager)
            manager.start()
            self.managers.append(manager)
            if entry.vtn_url and entry.ven_name:
                ven = Ven(manager, entry.vtn_url, entry.ven_name)
                await ven.start()
                self._vens.append(ven)
            log.info("smart charging: managing %s under %g kW", entry.location_id, entry.limit_kw)

    async def close(self) -> None:
        for ven in self._vens:
            await ven.stop()
        for manager in self.managers:
            await manager.close()
