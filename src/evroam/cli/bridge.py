"""``evroam bridge ...``: OCPI <-> OICP. ``bridge report``: what each object loses on the way
(docs/bridge.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from evroam.bridge.inputs import OCPI_KINDS, OICP_KINDS, BadInput, ocpi_reports, oicp_reports
from evroam.bridge.report import (
    LossReport,
    ObjectReport,
    UnmappedField,
    profile_for,
    report_location,
    report_tariff,
)
from evroam.cli.node import run_on_node
from evroam.modules.output import EXIT_USAGE, CommandFailed, emit
from evroam.node.wiring import Node
from evroam.ocpi.modelled import MODELLED_VERSIONS

__all__ = ["bridge"]


class BadFile(CommandFailed):
    """An input file the report cannot read: exit status 2, one line."""

    kind = "bad_input"
    exit_code = EXIT_USAGE


@click.group()
def bridge() -> None:
    """OCPI <-> OICP: what maps between the protocols and what is lost (see docs/bridge.md)."""


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except OSError as exc:
        raise BadFile(f"{path}: cannot read it ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadFile(f"{path}: not JSON ({exc})") from None


async def _node_objects(node: Node) -> list[ObjectReport]:
    from evroam.modules.locations import LOCATIONS
    from evroam.modules.oicp.cpo import profile_of
    from evroam.modules.oicp.records import load_connection
    from evroam.modules.tariffs import TARIFFS

    connection = await load_connection(node.store, "CPO")
    now = node.clock.now()
    out = []
    async for location in LOCATIONS.lookups.iter_locations(node.store, partners=[None]):
        profile = (
            profile_of(connection)
            if connection is not None
            else profile_for(
                location.country_code,
                location.party_id,
                location.operator.name if location.operator else None,
            )
        )
        out.append(report_location(location, profile, now))
    async for tariff in TARIFFS.lookups.iter_tariffs(node.store, partners=[None]):
        out.append(report_tariff(tariff))
    return out


@bridge.command("report")
@click.option(
    "--ocpi",
    "ocpi_files",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="An OCPI Location, Tariff, CDR, Token or Session JSON file (repeatable).",
)
@click.option(
    "--oicp",
    "oicp_files",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="An OICP EVSE data, EVSE status, pricing product, CDR, Identification, AuthorizeStart "
    "or AuthorizeRemoteStart JSON file (repeatable).",
)
@click.option(
    "--kind",
    type=click.Choice(sorted({*OCPI_KINDS, *OICP_KINDS})),
    default=None,
    help="What the files hold, when their content does not tell.",
)
@click.option(
    "--ocpi-version",
    type=click.Choice(MODELLED_VERSIONS),
    default=None,
    help="The OCPI version of the --ocpi files (default: the newest that reads each file).",
)
@click.option(
    "--operator-id",
    default=None,
    help="The OperatorID of an OICP EVSE data record or pricing product that names none.",
)
@click.option(
    "--from-node", is_flag=True, help="The node's own locations and tariffs (the default without files)."
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print as JSON (docs/bridge.md describes the structure)."
)
def report(
    ocpi_files: tuple[Path, ...],
    oicp_files: tuple[Path, ...],
    kind: str | None,
    ocpi_version: str | None,
    operator_id: str | None,
    from_node: bool,
    as_json: bool,
) -> None:
    """Per object, every field carried, changed or dropped on the way to the other protocol, and why."""
    now = datetime.now(UTC)
    objects: list[ObjectReport] = []
    try:
        for path in ocpi_files:
            if kind is not None and kind not in OCPI_KINDS:
                raise BadFile(f"--kind {kind} is no OCPI kind ({', '.join(OCPI_KINDS)})")
            try:
                objects += ocpi_reports(_load(path), now, kind=kind, version=ocpi_version)
            except BadInput as exc:
                raise BadFile(f"{path}: {exc}") from None
        for path in oicp_files:
            if kind is not None and kind not in OICP_KINDS:
                raise BadFile(f"--kind {kind} is no OICP kind ({', '.join(OICP_KINDS)})")
            try:
                objects += oicp_reports(_load(path), now, kind=kind, operator_id=operator_id)
            except BadInput as exc:
                raise BadFile(f"{path}: {exc}") from None
        if from_node or not (ocpi_files or oicp_files):
            objects += run_on_node(_node_objects)
    except UnmappedField as exc:
        raise CommandFailed(str(exc)) from None
    result = LossReport(tuple(objects))
    emit(result.as_dict(), as_json, result.text() if objects else "nothing to report")
