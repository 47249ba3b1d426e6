"""``evroam tariffs import|list|show|stats``: the CPO's own tariffs from the command line.

    evroam tariffs import FILE.json [--ocpi-version V] [--party CC:PID] [--json]
    evroam tariffs list [--json]
    evroam tariffs show TARIFF_ID [--ocpi-version V] [--json]
    evroam tariffs stats [--json]

The ``tariffs`` group shares its name with the tariff engine's (``evroam tariffs price``): the CLI joins
the two into one group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from evroam.core.codec import encode
from evroam.model.tariffs import Tariff
from evroam.modules.kit import NodeContext
from evroam.registration.directory import RegisteredPartners

from .._cli import import_options, newest_version, run_admin, run_import, show_stats
from ..kit import emit as _emit
from .convert import tariff_converters
from .repository import TARIFF_KIND
from .service import TariffAdmin, TariffReceiver
from .validation import parse_tariffs

__all__ = ["admin_for", "tariffs"]


def admin_for(node: NodeContext) -> TariffAdmin:
    return TariffAdmin(node.store, node.clock, RegisteredPartners(), node.own.cpo_parties())


def _summary(tariff: Tariff) -> dict[str, Any]:
    return {
        "country_code": str(tariff.country_code),
        "party_id": str(tariff.party_id),
        "id": str(tariff.id),
        "currency": tariff.currency,
        "type": None if tariff.type is None else str(tariff.type),
        "elements": len(tariff.elements),
        "last_updated": tariff.last_updated.to_json(),
    }


def _line(tariff: Tariff) -> str:
    s = _summary(tariff)
    return (
        f"{s['country_code']}*{s['party_id']}\t{s['id']}\t{s['currency']}\t{s['type'] or '-'}\t"
        f"{s['elements']} element(s)"
    )


@click.group()
def tariffs() -> None:
    """The node's own tariffs (CPO): import, list, show."""


@tariffs.command("import")
@import_options("tariffs")
def import_tariffs(file: Path, ocpi_version: str | None, party: str | None, as_json: bool) -> None:
    """Import FILE, a JSON array of OCPI Tariff objects: all of them, or none if any is invalid."""
    run_import(
        file,
        ocpi_version,
        party,
        as_json,
        parties=lambda node: node.own.cpo_parties(),
        parse=lambda data, version, owner: parse_tariffs(data, version, owner=owner),
        store=lambda node, found: admin_for(node).import_tariffs(found),
    )


@tariffs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_tariffs(as_json: bool) -> None:
    """List the node's own tariffs."""
    found = run_admin(lambda node: admin_for(node).list_tariffs())
    text = "\n".join(_line(t) for t in found) if found else "no tariffs yet (see `evroam tariffs import`)"
    _emit([_summary(t) for t in found], as_json, text)


@tariffs.command("show")
@click.argument("tariff_id")
@click.option(
    "--ocpi-version", default=None, help="Show it as this OCPI version [default: the node's highest]."
)
@click.option("--json", "as_json", is_flag=True, help="Print the OCPI object as JSON.")
def show(tariff_id: str, ocpi_version: str | None, as_json: bool) -> None:
    """Show one of the node's own tariffs as partners see it."""

    async def action(node: NodeContext) -> tuple[Tariff, Any]:
        tariff = await admin_for(node).get_tariff(tariff_id)
        wire = tariff_converters(ocpi_version or newest_version(node))
        return tariff, json.loads(encode(wire.tariff_from_model(tariff)))

    tariff, wire_json = run_admin(action)
    _emit(wire_json, as_json, _line(tariff) + "\n" + json.dumps(wire_json, indent=2))


@tariffs.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def stats(as_json: bool) -> None:
    """Counts: our tariffs, those received from each partner, stale updates ignored."""

    show_stats(
        as_json,
        kind=TARIFF_KIND,
        receiver=lambda node: TariffReceiver(node.store),
        own="own tariffs",
        stale="stale tariff updates ignored",
    )
