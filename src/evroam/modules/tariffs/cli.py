"""``evroam tariffs import|list|show|stats``: the CPO's own tariffs from the command line.

    evroam tariffs import FILE.json [--ocpi-version V] [--party CC:PID] [--json]
    evroam tariffs list [--received | --partner NAME] [--party CC:PID] [--date-from TIME] [--date-to TIME]
                        [--offset N] [--limit N] [--json]
    evroam tariffs show TARIFF_ID [--received | --partner NAME] [--party CC:PID] [--ocpi-version V] [--json]
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

from .._cli import (
    Selection,
    emit_listing,
    find_received,
    import_options,
    list_documents,
    newest_version,
    run_admin,
    run_import,
    selection_options,
    show_stats,
)
from ..kit import emit as _emit
from .convert import tariff_converters
from .repository import TARIFF_KIND, decode_tariff
from .service import TariffAdmin, TariffReceiver
from .validation import parse_tariffs

__all__ = ["admin_for", "tariffs"]


def admin_for(node: NodeContext) -> TariffAdmin:
    return TariffAdmin(node.store, node.clock, RegisteredPartners(), node.own.cpo_parties())


_UNITS = {"ENERGY": "/kWh", "TIME": "/h", "PARKING_TIME": "/h", "FLAT": ""}


def _vat(tariff: Tariff) -> str:
    """How the tariff's prices stand to VAT: OCPI 2.1.1 and 2.2.1 prices are always excl. VAT."""
    return {"YES": "incl. VAT", "NO": "excl. VAT"}.get(tariff.tax_included.value, "VAT not applicable")


def _prices(tariff: Tariff) -> str:
    """The price components of the tariff's first element, e.g. ``ENERGY 0.25/kWh + FLAT 0.50``."""
    if not tariff.elements:
        return "-"
    components = tariff.elements[0].price_components
    return " + ".join(f"{c.type.value} {c.price}{_UNITS.get(c.type.value, '')}" for c in components)


def _summary(tariff: Tariff, received_from: str | None = None) -> dict[str, Any]:
    return {
        "country_code": str(tariff.country_code),
        "party_id": str(tariff.party_id),
        "id": str(tariff.id),
        "currency": tariff.currency,
        "type": None if tariff.type is None else str(tariff.type),
        "elements": len(tariff.elements),
        "prices": _prices(tariff),
        "tax_included": tariff.tax_included.value,
        "vat": _vat(tariff),
        "last_updated": tariff.last_updated.to_json(),
        "received_from": received_from,
    }


def _line(s: dict[str, Any]) -> str:
    source = f"\tfrom {s['received_from']}" if s["received_from"] else ""
    more = f" (+{s['elements'] - 1} more element(s))" if s["elements"] > 1 else ""
    return (
        f"{s['country_code']}*{s['party_id']}\t{s['id']}\t{s['type'] or '-'}\t"
        f"{s['prices']} {s['currency']} {s['vat']}{more}{source}"
    )


@click.group()
def tariffs() -> None:
    """Tariffs: the node's own (CPO: import) and those partners sent (list, show)."""


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
        module="tariffs",
    )


@tariffs.command("list")
@selection_options("tariffs")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_tariffs(selection: Selection, as_json: bool) -> None:
    """List the node's own tariffs, or those partners sent (--received, --partner NAME)."""
    listed = run_admin(lambda node: list_documents(node, TARIFF_KIND, selection, decode_tariff))
    rows = [_summary(t, listed.received_from(pid)) for t, pid in listed.items]
    empty = "no tariffs yet (see `evroam tariffs import`)"
    if selection.wants_received:
        empty = "no tariffs received" + (f" from {selection.partner}" if selection.partner else "")
    emit_listing(listed, rows, [_line(row) for row in rows], as_json, noun="tariffs", empty=empty)


@tariffs.command("show")
@click.argument("tariff_id")
@selection_options("tariffs", paging=False)
@click.option(
    "--ocpi-version", default=None, help="Show it as this OCPI version [default: the node's highest]."
)
@click.option("--json", "as_json", is_flag=True, help="Print the OCPI object as JSON.")
def show(tariff_id: str, selection: Selection, ocpi_version: str | None, as_json: bool) -> None:
    """Show one of the node's own tariffs as partners see it, or one a partner sent (--received,
    --partner NAME)."""

    async def action(node: NodeContext) -> tuple[Tariff, str | None, Any]:
        sender: str | None = None
        if selection.wants_received:
            tariff, sender = await find_received(
                node, TARIFF_KIND, tariff_id, selection, decode_tariff, what="tariff"
            )
        else:
            tariff = await admin_for(node).get_tariff(tariff_id)
        wire = tariff_converters(ocpi_version or newest_version(node))
        return tariff, sender, json.loads(encode(wire.tariff_from_model(tariff)))

    tariff, sender, wire_json = run_admin(action)
    _emit(wire_json, as_json, _line(_summary(tariff, sender)) + "\n" + json.dumps(wire_json, indent=2))


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
