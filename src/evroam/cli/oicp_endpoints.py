"""The node's OICP endpoints started and stopped with the node: ``evroam serve --oicp-port P`` (and
``evroam simulate --oicp-port P``). See docs/oicp.md."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import click

from evroam.modules.oicp import OicpEndpoints
from evroam.modules.oicp.emp import EmpFallback, EmpListener
from evroam.node.wiring import Node

__all__ = ["serve_oicp"]

log = logging.getLogger(__name__)


def serve_oicp(
    node: Node,
    host: str,
    port: int,
    *,
    emp_listeners: Sequence[EmpListener] = (),
    emp_fallback: EmpFallback | None = None,
) -> None:
    """Serve the endpoints of the node's OICP role(s) on ``host:port`` while the node runs. The charge
    point port is read when the node starts (after ``node.charge_point`` was plugged in); none: the
    CPO's commands are answered 501 (communication to the EVSE failed). ``emp_listeners`` are told of the
    charging notifications and CDRs the EMP role receives, ``emp_fallback`` answers an AuthorizeStart for a
    card none of our tokens is (both the gateway's, ``evroam serve --gateway``)."""
    served: list[OicpEndpoints] = []

    async def start() -> None:
        endpoints = OicpEndpoints(
            node.store,
            node.clock,
            node.charge_point,
            host,
            port,
            emp_listeners=emp_listeners,
            emp_fallback=emp_fallback,
        )
        try:
            await endpoints.start()
        except ValueError as exc:  # stops the node: said in one line first, then uvicorn's report
            log.error("--oicp-port: %s", exc)
            raise click.ClickException(f"--oicp-port: {exc}") from None
        served.append(endpoints)
        log.info(
            "OICP %s endpoints on https://%s:%d/api/oicp (mutual TLS, callers: the hub only)%s",
            "/".join(endpoints.roles),
            host,
            endpoints.port,
            ""
            if node.charge_point is not None or "CPO" not in endpoints.roles
            else "; no charger connection: commands are answered 501",
        )

    async def stop() -> None:
        while served:
            await served.pop().stop()

    node.startup_hooks.append(start)
    node.shutdown_hooks.insert(0, stop)
