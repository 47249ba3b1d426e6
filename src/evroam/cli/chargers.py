"""``evroam chargers ...``: the OCPP chargers that may connect to the node's central system.

    evroam chargers add ID --location LOC --evse-map CONNECTOR=EVSE_UID/CONNECTOR_ID ... \\
                           (--password-stdin | --no-auth) [--replace] [--json]
    evroam chargers list [--json]
    evroam chargers show ID [--json]
    evroam chargers remove ID [--json]

``CONNECTOR`` is the OCPP connector number of a 1.6 charger, or the EVSE number of a 2.0.1 station
(``N.C``: connector ``C`` of EVSE ``N``). The password (HTTP Basic, user name = the charge point id) is
read from the first line of stdin and stored hashed (scrypt). ``list`` and ``show`` give what the
serving node saw: the protocol, connected or not, since when, the last message, the BootNotification.
Serve with ``evroam serve --ocpp-port P``. See ``docs/ocpp.md``.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from evroam.chargepoint.ocpp import ChargerRecord, ChargerRegistry, RegistryError, parse_evse_map
from evroam.cli.node import run_on_node
from evroam.modules.locations import LOCATIONS
from evroam.modules.output import CommandFailed, NothingFound, emit
from evroam.node.wiring import Node, cpo_parties

__all__ = ["chargers"]


def _data(record: ChargerRecord) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return None if value is None else value.to_json()

    return {
        "id": record.id,
        "location_id": record.location_id,
        "evse_map": {k: f"{t.evse_uid}/{t.connector_id}" for k, t in sorted(record.evse_map.items())},
        "auth": "basic" if record.password_hash else "none",
        "protocol": record.protocol,
        "connected": record.connected,
        "connected_at": when(record.connected_at),
        "disconnected_at": when(record.disconnected_at),
        "last_seen": when(record.last_seen),
        "vendor": record.vendor,
        "model": record.model,
        "serial_number": record.serial_number,
        "firmware_version": record.firmware_version,
        "booted_at": when(record.booted_at),
        "created": when(record.created),
    }


def _line(record: ChargerRecord) -> str:
    state = "connected" if record.connected else "offline"
    seen = "never" if record.last_seen is None else record.last_seen.to_json()
    return f"{record.id}  {record.location_id}  {record.protocol or '-'}  {state}  last seen {seen}"


@click.group()
def chargers() -> None:
    """The OCPP chargers of the node's central system (evroam serve --ocpp-port)."""


@chargers.command("add")
@click.argument("charger_id")
@click.option("--location", "location_id", required=True, help="The OCPI location the charger is part of.")
@click.option(
    "--evse-map",
    "evse_map",
    multiple=True,
    required=True,
    metavar="CONNECTOR=EVSE_UID/CONNECTOR_ID",
    help="OCPP connector (1.6) / EVSE (2.0.1; N.C for connector C of EVSE N) -> OCPI EVSE and connector "
    "(repeat for each).",
)
@click.option("--password-stdin", is_flag=True, help="Read the charger's HTTP Basic password from stdin.")
@click.option("--no-auth", is_flag=True, help="No password (OCPP security profile 0: trusted networks only).")
@click.option("--replace", is_flag=True, help="Replace a charger of that id (new map, new password).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def add(
    charger_id: str,
    location_id: str,
    evse_map: tuple[str, ...],
    password_stdin: bool,
    no_auth: bool,
    replace: bool,
    as_json: bool,
) -> None:
    """Register a charger that may connect as CHARGER_ID."""
    if password_stdin == no_auth:
        raise click.UsageError("give either --password-stdin or --no-auth")
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        targets = parse_evse_map(evse_map)
    except RegistryError as exc:
        raise click.BadParameter(str(exc), param_hint="--evse-map") from None

    async def action(node: Node) -> ChargerRecord:
        location = None
        for cc, pid in cpo_parties(node.config):
            record = await LOCATIONS.lookups.load_location_record(node.store, cc, pid, location_id)
            if record is not None and record.partner_id is None:
                location = record.location
                break
        if location is None:
            raise CommandFailed(f"no location {location_id} of ours (import it: evroam locations import)")
        for key, target in targets.items():
            evse = location.evse(target.evse_uid)
            if evse is None or not any(str(c.id) == target.connector_id for c in evse.connectors):
                raise CommandFailed(
                    f"--evse-map {key}: location {location_id} has no EVSE {target.evse_uid} "
                    f"with connector {target.connector_id}"
                )
        try:
            return await ChargerRegistry(node.store, node.clock).add(
                charger_id,
                location_id=str(location.id),
                evse_map=targets,
                password=password,
                replace=replace,
            )
        except RegistryError as exc:
            raise CommandFailed(str(exc)) from None

    record = run_on_node(action)
    emit(_data(record), as_json, f"charger {record.id} registered at {record.location_id}")


@chargers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_chargers(as_json: bool) -> None:
    """Every registered charger and its connection state."""

    async def action(node: Node) -> list[ChargerRecord]:
        return await ChargerRegistry(node.store, node.clock).all()

    records = run_on_node(action)
    text = "\n".join(_line(r) for r in records) or "no chargers (evroam chargers add)"
    emit([_data(r) for r in records], as_json, text)


@chargers.command("show")
@click.argument("charger_id")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def show(charger_id: str, as_json: bool) -> None:
    """One charger: its map, its connection state, its BootNotification."""

    async def action(node: Node) -> ChargerRecord | None:
        return await ChargerRegistry(node.store, node.clock).get(charger_id)

    record = run_on_node(action)
    if record is None:
        raise NothingFound(f"no charger {charger_id}")
    data = _data(record)
    emit(data, as_json, "\n".join(f"{k}: {v}" for k, v in data.items()))


@chargers.command("remove")
@click.argument("charger_id")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def remove(charger_id: str, as_json: bool) -> None:
    """Unregister a charger: it can no longer connect (a connection open now stays until it closes)."""

    async def action(node: Node) -> bool:
        return await ChargerRegistry(node.store, node.clock).remove(charger_id)

    if not run_on_node(action):
        raise NothingFound(f"no charger {charger_id}")
    emit({"removed": charger_id}, as_json, f"charger {charger_id} removed")
