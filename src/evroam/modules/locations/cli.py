"""``evroam locations ...``: the CPO's own locations from the command line.

    evroam locations import FILE.json [--ocpi-version V] [--party CC:PID] [--json]
    evroam locations set-status EVSE_UID STATUS [--party CC:PID] [--json]
    evroam locations list [--received | --partner NAME] [--party CC:PID] [--status STATUS]...
                          [--date-from TIME] [--date-to TIME] [--offset N] [--limit N] [--json]
    evroam locations show LOCATION_ID [--received | --partner NAME] [--party CC:PID] [--ocpi-version V]
                          [--json]
    evroam locations stats [--json]

``import`` reads a JSON array of OCPI Location objects of one version (default: the highest version
the node serves), validates all of them and imports all or nothing; every created or changed location
is queued for push to the partners that receive locations. ``set-status`` is a PATCH of one EVSE.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from evroam.core.codec import encode
from evroam.model.enums import Status
from evroam.model.locations import Location
from evroam.modules.kit import NodeContext
from evroam.registration.directory import RegisteredPartners
from evroam.registration.service import version_key

from .._cli import (
    Listed,
    Selection,
    emit_listing,
    find_received,
    import_options,
    list_documents,
    newest_version,
    parse_party,
    print_import_report,
    read_item_batches,
    record_import,
    run_admin,
    selection_options,
    show_stats,
)
from ..kit import emit as _emit
from .convert import location_converters
from .ports import ImportBatch, ImportReport
from .repository import LOCATION_KIND, decode_location
from .service import MODULE, LocationAdmin, LocationReceiver
from .validation import parse_location_items

__all__ = ["admin_for", "locations", "newest_version", "parse_party", "run_admin"]


def admin_for(node: NodeContext) -> LocationAdmin:
    return LocationAdmin(node.store, node.clock, RegisteredPartners(), node.own.cpo_parties())


def _summary(location: Location, received_from: str | None = None) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for evse in location.evses or ():
        statuses[evse.status.value] = statuses.get(evse.status.value, 0) + 1
    return {
        "country_code": str(location.country_code),
        "party_id": str(location.party_id),
        "id": str(location.id),
        "name": location.name,
        "city": location.city,
        "publish": location.publish,
        "evses": len(location.evses or ()),
        "statuses": statuses,
        "last_updated": location.last_updated.to_json(),
        "received_from": received_from,
    }


def _line(entry: tuple[Location, str | None], s: dict[str, Any]) -> str:
    location = entry[0]
    statuses = ", ".join(f"{n} {name}" for name, n in sorted(s["statuses"].items())) or "no EVSE"
    hidden = "" if location.publish else "\tunpublished"
    source = f"\tfrom {s['received_from']}" if s["received_from"] else ""
    return (
        f"{s['country_code']}*{s['party_id']}\t{s['id']}\t{s['name'] or '-'}\t{s['city']}\t{statuses}"
        f"{hidden}{source}"
    )


@click.group()
def locations() -> None:
    """Locations: the node's own (CPO: import, change EVSE status) and those partners sent (list, show)."""


@locations.command("import")
@import_options("locations")
def import_locations(file: Path, ocpi_version: str | None, party: str | None, as_json: bool) -> None:
    """Import FILE, a JSON array of OCPI Location objects: all of them, or none if any is invalid.

    The file is read and written a batch at a time, in one transaction: memory does not grow with its
    size. Without --ocpi-version, the version is the newest the node serves that accepts the first
    batch."""
    owner_option = parse_party(party)

    async def action(node: NodeContext) -> ImportReport:
        if ocpi_version is not None and ocpi_version not in node.own.versions:
            raise click.ClickException(
                f"this node does not serve OCPI {ocpi_version} ({', '.join(node.own.versions)})"
            )
        ours = node.own.cpo_parties()
        owner = ours[0] if owner_option is None and len(ours) == 1 else owner_option
        batches = read_item_batches(file)
        start, first = next(batches)
        candidates = (
            [ocpi_version]
            if ocpi_version is not None
            else sorted(node.own.versions, key=version_key, reverse=True)
        )
        version, parsed = candidates[0], parse_location_items(first, start, candidates[0], owner=owner)
        for candidate in candidates[1:]:
            if not parsed[1]:
                break
            attempt = parse_location_items(first, start, candidate, owner=owner)
            if not attempt[1]:
                version, parsed = candidate, attempt

        def all_batches() -> Iterator[ImportBatch]:
            yield parsed
            for at, items in batches:
                yield parse_location_items(items, at, version, owner=owner)

        try:
            report = await admin_for(node).import_batches(all_batches())
        except Exception:
            await record_import(node, "locations", None)
            raise
        await record_import(node, "locations", report)
        return report

    print_import_report(run_admin(action), as_json)


@locations.command("set-status")
@click.argument("evse_uid")
@click.argument("status", type=click.Choice([s.value for s in Status], case_sensitive=False))
@click.option(
    "--party", default=None, metavar="CC:PID", help="Owner of the EVSE when several parties have it."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def set_status(evse_uid: str, status: str, party: str | None, as_json: bool) -> None:
    """Set the status of EVSE EVSE_UID (a PATCH pushed to partners)."""
    owner = parse_party(party)
    location = run_admin(
        lambda node: admin_for(node).set_status(evse_uid, Status(status.upper()), party=owner)
    )
    evse = location.evse(evse_uid)
    assert evse is not None
    data = {
        "location": str(location.id),
        "evse_uid": str(evse.uid),
        "status": evse.status.value,
        "last_updated": evse.last_updated.to_json(),
    }
    _emit(data, as_json, f"EVSE {evse.uid} of location {location.id}: {evse.status.value}")


@locations.command("list")
@selection_options("locations")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in Status], case_sensitive=False),
    help="Only locations with an EVSE in this status (as OCPI writes it); repeat for several.",
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_locations(selection: Selection, statuses: tuple[str, ...], as_json: bool) -> None:
    """List the node's own locations, or those partners sent (--received, --partner NAME)."""
    wanted = {s.upper() for s in statuses}

    def keep(location: Location) -> bool:
        return any(evse.status.value in wanted for evse in location.evses or ())

    async def action(node: NodeContext) -> tuple[Listed[Location], int]:
        listed = await list_documents(
            node, LOCATION_KIND, selection, decode_location, keep=keep if wanted else None
        )
        received = 0
        if not listed.items and not selection.wants_received and listed.names:
            received = await node.store.count(LOCATION_KIND, partners=list(listed.names))
        return listed, received

    listed, received = run_admin(action)
    rows = [_summary(loc, listed.received_from(pid)) for loc, pid in listed.items]
    empty = "no locations yet (see `evroam locations import`)"
    if selection.wants_received:
        empty = "no locations received" + (f" from {selection.partner}" if selection.partner else "")
    elif received:
        empty = (
            f"no own locations; {received} received from partners (see `evroam locations list --received`)"
        )
    emit_listing(
        listed,
        rows,
        [_line(entry, row) for entry, row in zip(listed.items, rows, strict=True)],
        as_json,
        noun="locations",
        empty=empty,
    )


@locations.command("show")
@click.argument("location_id")
@selection_options("locations", paging=False)
@click.option(
    "--ocpi-version", default=None, help="Show it as this OCPI version [default: the node's highest]."
)
@click.option("--json", "as_json", is_flag=True, help="Print the OCPI object as JSON.")
def show(location_id: str, selection: Selection, ocpi_version: str | None, as_json: bool) -> None:
    """Show one of the node's own locations as partners see it, or one a partner sent (--received,
    --partner NAME)."""

    async def action(node: NodeContext) -> tuple[Location, str | None, Any]:
        sender: str | None = None
        if selection.wants_received:
            location, sender = await find_received(
                node, LOCATION_KIND, location_id, selection, decode_location, what="location"
            )
        else:
            location = await admin_for(node).get_location(location_id)
        wire = location_converters(ocpi_version or newest_version(node))
        return location, sender, json.loads(encode(wire.location_from_model(location)))

    location, sender, wire_json = run_admin(action)
    lines = [_line((location, None), _summary(location, sender))]
    for evse in location.evses or ():
        connectors = ", ".join(f"{c.id}: {c.standard} {c.power_type}" for c in evse.connectors)
        lines.append(f"  EVSE {evse.uid}\t{evse.status.value}\t{evse.evse_id or '-'}\t{connectors}")
    _emit(wire_json, as_json, "\n".join(lines))


@locations.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def stats(as_json: bool) -> None:
    """Counts: our locations, those received from each partner, stale updates ignored."""

    show_stats(
        as_json,
        kind=LOCATION_KIND,
        receiver=lambda node: LocationReceiver(node.store),
        own="own locations",
        stale=f"stale {MODULE} updates ignored",
    )
