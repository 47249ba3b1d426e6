"""A gateway node (``evroam serve --oicp-port P --gateway``): OCPI on one side, OICP on the other. See
:mod:`evroam.bridge.gateway`, :mod:`evroam.bridge.reverse` and docs/bridge.md.

The directions follow the node's OICP connections, read when it starts:

* an **EMP** connection (and a CPO party): the chargers found at the hub are served to the OCPI partners
  as the node's own (:class:`~evroam.bridge.gateway.OicpChargePoint`: OCPI commands go to the hub, the
  hub's notifications and CDRs come back as OCPI Sessions and CDRs); a card swiped at one of them is
  decided by the tokens module as for the node's own chargers (a token an OCPI eMSP pushed, or that eMSP
  asked in real time);
* a **CPO** connection (and an eMSP party besides the CPO party): the chargers OCPI CPO partners publish to
  the node are republished to the hub under its OperatorID
  (:class:`~evroam.bridge.reverse.OcpiRemoteChargePoint`: OICP remote starts go to the CPO as
  START_SESSION, its Sessions and CDRs come back as charging notifications and the OICP CDR).

:func:`attach_gateway` plugs one port serving both in as the node's charge point, its events into the
:class:`~evroam.chargepoint.sink.OcpiSink` (our own Sessions and priced CDRs, pushed and relayed), and runs
the refresh loop: every ``every`` seconds the statuses at the hub and what the OCPI CPOs pushed back, every
``data_every`` seconds the EVSE data and pricing, each followed by the mirrors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from evroam.bridge.gateway import MirrorReport, OicpChargePoint, refresh
from evroam.bridge.reverse import GatewayPort, OcpiRemoteChargePoint, mirror_ocpi
from evroam.chargepoint.port import ChargePointEvent
from evroam.chargepoint.sink import OcpiSink
from evroam.modules.commands import CommandSender
from evroam.modules.locations import LocationAdmin
from evroam.modules.oicp import EmpService
from evroam.modules.oicp.records import load_connection
from evroam.node.charging import StoredCatalogue, records_for
from evroam.node.ocpp import charger_authorizer
from evroam.node.wiring import Node
from evroam.registration.directory import RegisteredPartners

__all__ = ["Gateway", "attach_gateway"]

log = logging.getLogger(__name__)


@dataclass
class Gateway:
    """The running gateway of a node: its charge point port (whose :meth:`OicpChargePoint.on_emp_event`
    and :meth:`OicpChargePoint.authorize_start` the OICP endpoints call) and the refresh loop."""

    charge_point: OicpChargePoint
    reverse: OcpiRemoteChargePoint
    every: float
    data_every: float
    time_zone: str
    directions: tuple[str, ...] = ()
    """``"OICP->OCPI"`` and / or ``"OCPI->OICP"``, once started."""
    rounds: int = 0
    last_error: str | None = None
    _task: asyncio.Task[None] | None = field(default=None, repr=False)


def _said(report: MirrorReport, what: str) -> str | None:
    if not (report.locations_put or report.statuses_patched or report.tariffs_put):
        return None
    return (
        f"{what}: {len(report.locations_put)} location(s) and {len(report.tariffs_put)} tariff(s) "
        f"republished, {report.statuses_patched} status(es) patched"
    )


def attach_gateway(
    node: Node,
    *,
    every: float = 60.0,
    data_every: float = 900.0,
    time_zone: str = "UTC",
    worker: bool = True,
    command_timeout: float = 45.0,
) -> Gateway:
    """Make ``node`` a gateway: see the module docstring. ``command_timeout``: how long an OICP remote start
    waits for the OCPI CPO's result (below the 50 s the CPO endpoint gives a charger)."""
    parties = node.own.cpo_parties()
    if not parties:
        raise ValueError(
            "a gateway republishes as a CPO: it needs a node with a CPO party (`evroam init --role CPO`)"
        )
    if every <= 0 or data_every <= 0:
        raise ValueError("the gateway's intervals are positive")
    party = parties[0]
    emsp = node.own.emsp_parties()
    emp = EmpService(node.store, node.clock)
    forward = OicpChargePoint(node.store, node.clock, emp, parties, authorizer=charger_authorizer(node))
    reverse = OcpiRemoteChargePoint(
        node.store, node.clock, emsp[0] if emsp else party, timeout=command_timeout
    )
    if emsp:
        reverse.sender = CommandSender(
            node.store,
            node.http,
            node.clock,
            node.ids,
            base_url=node.own.url,
            partners=node.registration,
            parties=emsp,
            tokens=reverse,
        )
    port = GatewayPort(forward, reverse)
    sink = OcpiSink(
        StoredCatalogue(node.store, parties),
        statuses=LocationAdmin(node.store, node.clock, RegisteredPartners(), parties),
        records=records_for(node, node.clock),
    )
    port.subscribe(sink)

    async def wake_worker(event: ChargePointEvent) -> None:
        if worker:
            node.push_worker().wake()

    port.subscribe(wake_worker)
    node.charge_point = port
    gateway = Gateway(
        charge_point=forward, reverse=reverse, every=every, data_every=data_every, time_zone=time_zone
    )

    async def one_round(data: bool, full: bool) -> None:
        said = []
        if "OICP->OCPI" in gateway.directions:
            report = await refresh(emp, party, data=data, full=full, time_zone=time_zone)
            said.append(_said(report, "from the hub"))
            closed = await forward.catch_up()
            if closed:
                said.append(f"{closed} session(s) closed from kept CDRs")
        if "OCPI->OICP" in gateway.directions:
            cpo = await load_connection(node.store, "CPO")
            assert cpo is not None
            report = await mirror_ocpi(node.store, node.clock, party, cpo.id)
            said.append(_said(report, "to the hub"))
            moved = await reverse.poll()
            if moved:
                said.append(f"{moved} OCPI session(s) moved")
        gateway.rounds += 1
        gateway.last_error = None
        lines = [s for s in said if s]
        if lines:
            log.info("gateway: %s", "; ".join(lines))
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
            except Exception as exc:  # a hub or partner down: said, and tried again next round
                gateway.last_error = str(exc)
                log.warning("gateway: refresh failed: %s", exc)

    async def start() -> None:
        directions = []
        if await load_connection(node.store, "EMP") is not None:
            directions.append("OICP->OCPI")
        if await load_connection(node.store, "CPO") is not None and emsp:
            directions.append("OCPI->OICP")
        if not directions:
            raise ValueError(
                "--gateway needs an OICP EMP connection (chargers from the hub to OCPI) or an OICP CPO "
                "connection and an eMSP party (chargers from OCPI CPOs to the hub): evroam oicp connect"
            )
        gateway.directions = tuple(directions)
        resumed = await forward.load(sink.resume) + await reverse.load(sink.resume)
        try:
            await one_round(True, True)
        except Exception as exc:
            gateway.last_error = str(exc)
            log.warning("gateway: first refresh failed (tried again in %s s): %s", every, exc)
        log.info(
            "gateway %s as %s*%s; %d open session(s) taken up; refresh every %s s (EVSE data and pricing "
            "every %s s)",
            " and ".join(directions),
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
