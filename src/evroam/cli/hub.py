"""``evroam hub ...``: what a hub node knows of its platforms and its traffic.

The running hub (``evroam serve`` of a node with role HUB) saves its platforms' statuses and its route
counts after each liveness round (``EVROAM_HUB_TICK``); these commands read that, with the parties of
each platform from the partner records.
"""

from __future__ import annotations

from typing import Any

import click

from evroam.cli.node import run_on_node
from evroam.hub import load_state
from evroam.modules.output import emit
from evroam.node.wiring import Node
from evroam.registration.model import PartnerStatus

__all__ = ["hub"]


@click.group()
def hub() -> None:
    """A hub node: its parties (per platform, with their connection status) and its routed traffic."""


@hub.command("parties")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def parties(as_json: bool) -> None:
    """Every party connected to the hub: party, role, platform, status, last contact."""

    async def action(node: Node) -> list[dict[str, Any]]:
        state = await load_state(node.store)
        known = {p.partner_id: p for p in state.platforms} if state is not None else {}
        rows = []
        for partner in await node.registration.partners():
            if partner.status is not PartnerStatus.REGISTERED:
                continue
            seen = known.get(partner.id)
            for role in partner.roles:
                rows.append(
                    {
                        "party": f"{role.country_code}*{role.party_id}",
                        "role": None if role.role is None else role.role.value,
                        "platform": partner.name,
                        "status": "CONNECTED" if seen is None else seen.status,
                        "last_contact": None if seen is None else seen.last_contact,
                    }
                )
        return rows

    rows = run_on_node(action)
    text = "\n".join(
        f"{r['party']:<8} {r['role'] or '-':<5} {r['platform']:<16} {r['status']:<10} "
        f"{r['last_contact'] or '-'}"
        for r in rows
    )
    emit(rows, as_json, text or "no platform registered")


@hub.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def stats(as_json: bool) -> None:
    """Requests routed per module, interface and kind (forward, broadcast, merged, relay, refused)."""

    async def action(node: Node) -> list[dict[str, Any]]:
        state = await load_state(node.store)
        if state is None:
            return []
        return [
            {"module": m, "interface": i, "kind": k, "requests": n, "as_of": state.saved}
            for m, i, k, n in state.routes
        ]

    rows = run_on_node(action)
    text = "\n".join(f"{r['module']:<16} {r['interface']:<9} {r['kind']:<10} {r['requests']}" for r in rows)
    emit(rows, as_json, text or "no traffic routed yet (or the hub has not run a liveness round)")
