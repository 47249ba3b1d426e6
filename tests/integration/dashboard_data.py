"""Data for the dashboard's browser test: the demo scenario's eMSP node, plus generated locations
(so that the map has something to plot) and one parked outbox job (so that there is one to retry)."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from msgspec.structs import replace

from evroam.model.common import GeoLocation
from evroam.model.enums import Status
from evroam.model.locations import Location
from evroam.modules.locations import load_location, save_location
from evroam.registration.repository import StorePartnerRepository
from evroam.store.factory import create_store
from evroam.store.port import OutboxStatus

STATUSES = (Status.AVAILABLE, Status.CHARGING, Status.OUTOFORDER, Status.UNKNOWN)


def variants(template: Location, count: int, seed: int = 19) -> list[Location]:
    """``count`` copies of ``template`` spread over the Netherlands, their EVSEs' statuses varied."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        lat = Decimal("51.4") + Decimal(rng.randrange(0, 170000)) / 100000
        lon = Decimal("4.0") + Decimal(rng.randrange(0, 290000)) / 100000
        status = STATUSES[i % len(STATUSES)]
        evses = tuple(replace(e, uid=f"{e.uid}-{i}", status=status) for e in template.evses or ())
        out.append(
            replace(
                template,
                id=f"GEN-{i:05d}",
                name=f"Generated site {i}",
                coordinates=GeoLocation(latitude=f"{lat:.6f}", longitude=f"{lon:.6f}"),
                evses=evses,
            )
        )
    return out


async def _prepare(data_dir: Path, location_id: str, generated: int) -> int:
    store = create_store(None, data_dir)
    try:
        await store.migrate()
        partners = await StorePartnerRepository(store, _NoClock()).list_partners()
        cpo = next(p for p in partners if p.name == "cpo")
        record = await load_location(store, "NL", "CPO", location_id)
        assert record is not None
        for location in variants(record, generated):
            await save_location(store, location, partner_id=cpo.id, check_stale=False)
        # one push the partner kept refusing, given up on (parked), like the worker leaves it
        delivered = await store.outbox_list(status=OutboxStatus.DELIVERED, partner_id=cpo.id, limit=1)
        assert delivered, "the demo delivered no push to the CPO"
        job = delivered[0]
        due = job.due_at - timedelta(minutes=5)
        job_id = await store.outbox_enqueue(job.partner_id, job.kind, job.object_key, job.payload, due)
        claimed = await store.outbox_claim(due + timedelta(minutes=10), limit=10, lease=timedelta(seconds=30))
        assert [c.id for c in claimed] == [job_id]
        await store.outbox_mark_parked(job_id, error="HTTP 503 from the partner, 12 attempts: given up")
        return job_id
    finally:
        await store.close()


class _NoClock:
    def now(self):  # type: ignore[no-untyped-def]
        raise AssertionError("not needed to list partners")


def prepare(data_dir: Path, location_id: str, generated: int = 40) -> int:
    """Add ``generated`` received locations and one parked job to the node in ``data_dir`` (stopped);
    returns the parked job's id."""
    return asyncio.run(_prepare(data_dir, location_id, generated))
