"""A gateway node (``evroam serve --oicp-port P --gateway``): the chargers its OICP EMP connection learns of
at the hub, served to its OCPI partners as the node's own. See :mod:`evroam.bridge.gateway` and
docs/bridge.md.

:func:`attach_gateway` plugs :class:`~evroam.bridge.gateway.OicpChargePoint` in as the node's charge point
port (so the commands module sends OCPI commands to the hub), its events into the
:class:`~evroam.chargepoint.sink.OcpiSink` (OCPI Sessions and priced CDRs for the token's eMSP), and runs the
refresh loop: every ``every`` seconds the statuses, every ``data_every`` seconds the EVSE data and pricing,
each followed by the mirror into the node's own locations and tariffs. A card swiped at one of those chargers
(an OICP AuthorizeStart the hub sends the gateway's EMP) is decided by the tokens module as for the node's
own chargers: a token an OCPI eMSP pushed, or that eMSP asked in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from evroam.bridge.gateway import OicpChargePoint, refresh
from evroam.chargepoint.port import ChargePointEvent
from evroam.chargepoint.sink import OcpiSink
from evroam.modules.locations import LocationAdmin
from evroam.modules.oicp import EmpService
from evroam.node.charging import StoredCatalogue, records_for
from evroam.node.ocpp import charger_authorizer
from evroam.node.wiring import Node
from evroam.registration.directory import RegisteredPartners

__all__ = ["Gateway", "attach_gateway"]

log = logging.getLogger(__name__)


@dataclass
class Gateway:
    """The running gateway of a node: its charge point port (whose :meth:`OicpChargePoint.on_emp_event`
    the OICP endpoints call) and the refresh loop."""

    charge_point: OicpChargePoint
    every: float
    data_every: float
    time_zone: str
    rounds: int = 0
    last_error: str | None = None
    _task: asyncio.Task[None] | None = field(default=None, repr=False)


def attach_gateway(
    node: Node,
    *,
    every: float = 60.0,
    data_every: float = 900.0,
    time_zone: str = "UTC",
    worker: bool = True,
) -> Gateway:
    """Make ``node`` (a CPO party, an OICP EMP connection) a gateway: see the module docstring."""
    parties = node.own.cpo_parties()
    if not parties:
        raise ValueError(
            "a gateway republishes as a CPO: it needs a node with a CPO party (`evroam init --role CPO`)"
        )
    if every <= 0 or data_every <= 0:
        raise ValueError("the gateway's intervals are positive")
    party = parties[0]
    emp = EmpService(node.store, node.clock)
    charge_point = OicpChargePoint(node.store, node.clock, emp, parties, authorizer=charger_authorizer(node))
    sink = OcpiSink(
        StoredCatalogue(node.store, parties),
        statuses=LocationAdmin(node.store, node.clock, RegisteredPartners(), parties),
        records=records_for(node, node.clock),
    )
    charge_point.subscribe(sink)

    async def wake_worker(event: ChargePointEvent) -> None:
        if worker:
            node.push_worker().wake()

    charge_point.subscribe(wake_worker)
    node.charge_point = charge_point
    gateway = Gateway(charge_point=charge_point, every=every, data_every=data_every, time_zone=time_zone)

    async def one_round(data: bool, full: bool) -> None:
        report = await refresh(emp, party, data=data, full=full, time_zone=time_zone)
        closed = await charge_point.catch_up()
        gateway.rounds += 1
        gateway.last_error = None
        if report.locations_put or report.statuses_patched or report.tariffs_put or closed:
            log.info(
                "gateway: %d location(s) and %d tariff(s) republished, %d status(es) patched, "
                "%d session(s) closed",
                len(report.locations_put),
                len(report.tariffs_put),
                report.statuses_patched,
                closed,
            )
            if worker:
                node.push_worker().wake()

    async def loop() -> None:
        loop_time = asyncio.get_running_loop().time
        next_data = loop_time() + data_every
        while True:
            await asyncio.sleep(every)
            data = loop_time() >= next_data
            if data:
                next_data = loop_time() + data_every
            try:
                await one_round(data, False)
            except Exception as exc:  # the hub down: said, and tried again next round
                gateway.last_error = str(exc)
                log.warning("gateway: refresh failed: %s", exc)

    async def start() -> None:
        await emp.connection()  # no EMP connection: the node does not start (said in one line)
        resumed = await charge_point.load(sink.resume)
        try:
            await one_round(True, True)
        except Exception as exc:
            gateway.last_error = str(exc)
            log.warning("gateway: first refresh failed (tried again in %s s): %s", every, exc)
        log.info(
            "gateway: EMP %s republished to OCPI as %s*%s; %d open session(s) taken up; refresh every %s s "
            "(EVSE data and pricing every %s s)",
            (await emp.connection()).id,
            party[0],
            party[1],
            resumed,
            every,
            data_every,
        )
        gateway._task = asyncio.create_task(loop(), name="evroam-gateway")

    async def stop() -> None:
        if gateway._task is not None:
            gateway._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gateway._task
            gateway._task = None
        await emp.clients.aclose()

    node.startup_hooks.append(start)
    node.shutdown_hooks.insert(0, stop)
    return gateway
