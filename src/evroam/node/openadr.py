"""Demand response: an OpenADR 2.0b VEN (on ``openleadr``, the ``openadr`` extra) that lowers a site's
limit for the window of each event its VTN sends.

An event's ``LOAD_CONTROL`` signal of type ``x-loadControlCapacity`` (or any signal whose payload is a
number of kW: ``setpoint``, ``x-loadControlSetpoint``) caps the site at ``signal_payload`` kW from each
interval's ``dtstart`` for its ``duration``. The VEN opts in to every event it can follow; a cancelled
event is removed. Each change makes the site's manager re-solve at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from evroam.node.smart import DemandResponseEvent, SiteManager

__all__ = ["CAPACITY_SIGNALS", "Ven", "events_of"]

log = logging.getLogger(__name__)

CAPACITY_SIGNALS = frozenset({"x-loadControlCapacity", "setpoint", "x-loadControlSetpoint"})


def events_of(event: dict[str, Any]) -> list[DemandResponseEvent]:
    """The limits an OpenADR event (openleadr's dict) asks for."""
    descriptor = event.get("event_descriptor") or {}
    event_id = str(descriptor.get("event_id", ""))
    out = []
    for signal in event.get("event_signals") or ():
        if signal.get("signal_type") not in CAPACITY_SIGNALS:
            continue
        for index, interval in enumerate(signal.get("intervals") or ()):
            start = interval["dtstart"]
            duration = interval.get("duration") or timedelta(0)
            out.append(
                DemandResponseEvent(
                    start=start,
                    end=start + duration,
                    limit_kw=float(interval["signal_payload"]),
                    id=f"{event_id}:{signal.get('signal_id', '')}:{index}",
                )
            )
    return out


class Ven:
    """The VEN of one site: polls ``vtn_url`` as ``ven_name`` and hands the events to ``manager``."""

    def __init__(self, manager: SiteManager, vtn_url: str, ven_name: str, poll_seconds: float = 10.0) -> None:
        from openleadr import OpenADRClient  # the optional extra: only a site with a VTN needs it

        self.manager = manager
        self.client = OpenADRClient(ven_name=ven_name, vtn_url=vtn_url)
        self.client.add_handler("on_event", self.on_event)
        self.client.add_handler("on_update_event", self.on_event)
        self.poll_seconds = poll_seconds

    async def on_event(self, event: dict[str, Any]) -> str:
        descriptor = event.get("event_descriptor") or {}
        if descriptor.get("event_status") == "cancelled":
            prefix = f"{descriptor.get('event_id', '')}:"
            self.manager.events = [e for e in self.manager.events if not e.id.startswith(prefix)]
            self.manager.poke()
            return "optIn"
        found = events_of(event)
        for limit in found:
            log.info(
                "OpenADR event %s: %s kW from %s to %s", limit.id, limit.limit_kw, limit.start, limit.end
            )
            self.manager.add_event(limit)
        return "optIn" if found else "optOut"

    async def start(self) -> None:
        await self.client.run()

    async def stop(self) -> None:
        await self.client.stop()
