"""``evroam sessions ...``: the sessions a node holds, and the CPO's own sessions from the command line.

    evroam sessions list [--received | --partner NAME] [--party CC:PID] [--status STATUS]...
                         [--date-from TIME] [--date-to TIME] [--offset N] [--limit N] [--json]
    evroam sessions show SESSION_ID [--received | --partner NAME] [--party CC:PID] [--ocpi-version V] [--json]
    evroam sessions start FILE.json [--ocpi-version V] [--party CC:PID] [--json]
    evroam sessions update SESSION_ID [--kwh N] [--status S] [--total-cost N] [--period JSON]... [--json]
    evroam sessions stop SESSION_ID [--end TIME] [--kwh N] [--total-cost N] [--invalid] [--json]
    evroam sessions preferences SESSION_ID [--departure TIME] [--energy-kwh X] [--partner NAME]
                                [--profile-type CHEAP|FAST|GREEN|REGULAR] [--discharge-allowed]

``list`` and ``show`` cover both sides: our own sessions (CPO) and those partners pushed (eMSP).
``start`` / ``update`` / ``stop`` change our own sessions exactly as a charge-point connection does
through :class:`~evroam.modules.sessions.service.SessionAdmin`: each change is queued for the eMSP
whose token the session concerns (creation as PUT, changes as PATCH). A ``--period`` is one OCPI
ChargingPeriod as JSON, e.g. ``{"start_date_time": "2026-03-01T10:00:00Z", "dimensions":
[{"type": "ENERGY", "volume": 1.5}]}``. ``preferences`` (eMSP) sends the driver's charging preferences for a
session a CPO pushed and prints the CPO's answer.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from evroam.core.codec import decode, encode
from evroam.core.errors import ValidationFailed
from evroam.core.types import DateTime
from evroam.model.cdrs import ChargingPeriod
from evroam.model.common import NotRepresentable, Price
from evroam.model.enums import ProfileType, SessionStatus
from evroam.model.sessions import ChargingPreferences, Session
from evroam.modules.kit import NodeContext
from evroam.registration.directory import RegisteredPartners

from .._cli import (
    Selection,
    emit_listing,
    find_received,
    list_documents,
    newest_version,
    parse_party,
    parse_served,
    partner_names,
    run_admin,
    selection_options,
)
from .._shared import token_owner
from ..kit import emit as _emit
from .convert import session_converters
from .preferences import PreferencesClient
from .repository import SESSION_KIND, SessionRecord, decode_session, load_preferences
from .service import SessionAdmin, SessionSender

__all__ = ["admin_for", "record_summary", "sessions"]


def admin_for(node: NodeContext) -> SessionAdmin:
    return SessionAdmin(node.store, node.clock, RegisteredPartners(), node.own.cpo_parties())


def _decimal(value: str | None, option: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a number", param_hint=option) from None


def _time(value: str | None, option: str) -> DateTime | None:
    if value is None:
        return None
    try:
        return DateTime.parse(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a time such as 2026-03-01T10:00:00Z", param_hint=option
        ) from None


def _source(record: SessionRecord, names: dict[str, str]) -> str:
    if record.own or record.partner_id is None:
        return "own"
    return f"from {names.get(record.partner_id, record.partner_id)}"


def record_summary(session: Session, source: str) -> dict[str, Any]:
    owner = token_owner(session.cdr_token)
    return {
        "source": source,
        "country_code": str(session.country_code),
        "party_id": str(session.party_id),
        "id": str(session.id),
        "status": session.status.value,
        "token": str(session.cdr_token.uid or session.cdr_token.contract_id),
        "token_owner": None if owner is None else "*".join(owner),
        "kwh": str(session.kwh),
        "charging_periods": len(session.charging_periods or ()),
        "total_cost": None if session.total_cost is None else str(session.total_cost.before_taxes),
        "total_cost_incl_vat": None
        if session.total_cost is None or session.total_cost.after_taxes is None
        else str(session.total_cost.after_taxes),
        "currency": session.currency,
        "start_date_time": session.start_date_time.to_json(),
        "end_date_time": None
        if session.end_date_time is None
        else DateTime.from_datetime(session.end_date_time).to_json(),
        "last_updated": session.last_updated.to_json(),
    }


def _line(s: dict[str, Any]) -> str:
    cost = "" if s["total_cost"] is None else f"\t{s['total_cost']} {s['currency']} excl. VAT"
    if s["total_cost_incl_vat"] is not None:
        cost += f" ({s['total_cost_incl_vat']} incl. VAT)"
    return (
        f"{s['country_code']}*{s['party_id']}\t{s['id']}\t{s['status']}\t{s['kwh']} kWh\t"
        f"{s['charging_periods']} period(s)\ttoken {s['token_owner'] or '?'}/{s['token']}\t"
        f"{s['source']}{cost}"
    )


def _changed(change: Any, as_json: bool, verb: str) -> None:
    summary = record_summary(change.session, "own")
    out = {**summary, "outbox_rows": change.outbox_rows}
    _emit(out, as_json, f"{verb}: {_line(summary)}\n{change.outbox_rows} push(es) queued")


@click.group()
def sessions() -> None:
    """Charging sessions: the node's own (CPO) and those partners pushed (eMSP)."""


@sessions.command("list")
@selection_options("sessions", default="ours and received ones")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in SessionStatus], case_sensitive=False),
    help="Only sessions in this status (as OCPI writes it); repeat for several.",
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_sessions(selection: Selection, statuses: tuple[str, ...], as_json: bool) -> None:
    """List every session the node holds, ours and received ones (only received: --received,
    --partner NAME)."""
    wanted = {s.upper() for s in statuses}

    def keep(session: Session) -> bool:
        return session.status.value in wanted

    listed = run_admin(
        lambda node: list_documents(
            node, SESSION_KIND, selection, decode_session, own_default=False, keep=keep if wanted else None
        )
    )
    rows = [record_summary(session, listed.source(pid)) for session, pid in listed.items]
    empty = "no sessions received" if selection.wants_received else "no sessions"
    emit_listing(listed, rows, [_line(s) for s in rows], as_json, noun="sessions", empty=empty)


@sessions.command("show")
@click.argument("session_id")
@selection_options("sessions", paging=False, default="ours and received ones")
@click.option(
    "--ocpi-version", default=None, help="Show it as this OCPI version [default: the node's highest]."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def show(session_id: str, selection: Selection, ocpi_version: str | None, as_json: bool) -> None:
    """Show one session as OCPI sends it, with where it comes from."""

    async def action(node: NodeContext) -> dict[str, Any]:
        if selection.wants_received:
            session, sender = await find_received(
                node, SESSION_KIND, session_id, selection, decode_session, what="session"
            )
            source = f"from {sender}"
        else:
            record = await admin_for(node).get(session_id, party=selection.party)
            session, source = record.session, _source(record, await partner_names(node))
        wire = session_converters(ocpi_version or newest_version(node))
        location = None
        if not wire.carries_owner("Session") and session.location is None:
            location = await SessionSender(node.store, node.clock, []).location_of(session)
        try:
            rendered: Any = json.loads(encode(wire.session_from_model(session, location)))
        except NotRepresentable as exc:
            rendered = {"not_representable": str(exc)}
        preferences = await load_preferences(node.store, session.country_code, session.party_id, session.id)
        return {
            "summary": record_summary(session, source),
            "session": rendered,
            "charging_preferences": None if preferences is None else json.loads(encode(preferences)),
        }

    data = run_admin(action)
    text = _line(data["summary"]) + "\n" + json.dumps(data["session"], indent=2)
    if data["charging_preferences"] is not None:
        text += "\ncharging preferences: " + json.dumps(data["charging_preferences"], sort_keys=True)
    _emit(data, as_json, text)


@sessions.command("preferences")
@click.argument("session_id")
@click.option("--departure", help="When the driver leaves (RFC 3339, e.g. 2026-03-01T18:00:00Z).")
@click.option("--energy-kwh", "energy_kwh", help="kWh the driver needs.")
@click.option(
    "--profile-type",
    type=click.Choice(["CHEAP", "FAST", "GREEN", "REGULAR"], case_sensitive=False),
    default="REGULAR",
    show_default=True,
)
@click.option("--discharge-allowed", is_flag=True, help="The car may give energy back (V2G).")
@click.option("--partner", help="The CPO that sent the session [default: the one that did].")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def preferences_command(
    session_id: str,
    departure: str | None,
    energy_kwh: str | None,
    profile_type: str,
    discharge_allowed: bool,
    partner: str | None,
    as_json: bool,
) -> None:
    """Send the driver's charging preferences for a CPO's session (eMSP). Exit 1 unless ACCEPTED."""
    prefs = ChargingPreferences(
        profile_type=ProfileType(profile_type.upper()),
        departure_time=_time(departure, "--departure"),
        energy_need=_decimal(energy_kwh, "--energy-kwh"),
        discharge_allowed=True if discharge_allowed else None,
    )

    async def action(node: NodeContext) -> dict[str, Any]:
        client = PreferencesClient(node.store, node.http, node.clock, node.ids, partners=node.registration)
        cpo, answer = await client.send(session_id, prefs, partner=partner)
        return {
            "session": session_id,
            "partner": cpo.name,
            "answer": answer.value,
            "charging_preferences": json.loads(encode(prefs)),
        }

    data = run_admin(action)
    _emit(
        data,
        as_json,
        f"charging preferences for session {session_id} sent to {data['partner']}: {data['answer']}",
    )
    if data["answer"] != "ACCEPTED":
        raise SystemExit(1)


@sessions.command("start")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "--ocpi-version", default=None, help="OCPI version of the object [default: the node's highest]."
)
@click.option(
    "--party", default=None, metavar="CC:PID", help="Owner of an OCPI 2.1.1 session (it carries none)."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def start(file: Path, ocpi_version: str | None, party: str | None, as_json: bool) -> None:
    """Start one of our sessions from FILE, one OCPI Session object (``-``: standard input)."""
    owner = parse_party(party)
    data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()

    async def action(node: NodeContext) -> Any:
        parties = node.own.cpo_parties()
        cc, pid = owner or (parties[0] if len(parties) == 1 else ("", ""))

        def parse(version: str) -> Session:
            wire = session_converters(version)
            return wire.session_to_model(decode(data, wire.models["Session"]), country_code=cc, party_id=pid)

        return await admin_for(node).start(parse_served(node, ocpi_version, parse))

    _changed(run_admin(action), as_json, "started")


def _periods(values: tuple[str, ...]) -> tuple[ChargingPeriod, ...]:
    out: list[ChargingPeriod] = []
    for i, value in enumerate(values):
        try:
            out.append(decode(value.encode(), ChargingPeriod))
        except ValidationFailed as exc:
            raise click.BadParameter(f"period {i + 1}: {exc.message}", param_hint="--period") from None
        except Exception as exc:  # InvalidJson
            raise click.BadParameter(f"period {i + 1}: {exc}", param_hint="--period") from None
    return tuple(out)


@sessions.command("update")
@click.argument("session_id")
@click.option("--kwh", default=None, help="Energy charged so far (kWh).")
@click.option(
    "--status", type=click.Choice([s.value for s in SessionStatus]), default=None, help="New status."
)
@click.option("--total-cost", default=None, help="Cost so far, before taxes, in the session's currency.")
@click.option(
    "--period", "periods", multiple=True, metavar="JSON", help="A ChargingPeriod to append (repeatable)."
)
@click.option(
    "--party", default=None, metavar="CC:PID", help="Owner of the session, when the id is ambiguous."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def update(
    session_id: str,
    kwh: str | None,
    status: str | None,
    total_cost: str | None,
    periods: tuple[str, ...],
    party: str | None,
    as_json: bool,
) -> None:
    """Change one of our running sessions; the change is pushed as a PATCH."""
    from .ports import SessionUpdate

    cost = _decimal(total_cost, "--total-cost")
    changes = SessionUpdate(
        kwh=_decimal(kwh, "--kwh"),
        status=None if status is None else SessionStatus(status),
        total_cost=None if cost is None else Price(before_taxes=cost),
        charging_periods=_periods(periods),
    )
    owner = parse_party(party)
    _changed(
        run_admin(lambda node: admin_for(node).update(session_id, changes, party=owner)), as_json, "updated"
    )


@sessions.command("stop")
@click.argument("session_id")
@click.option("--end", default=None, metavar="TIME", help="When it ended [default: now].")
@click.option("--kwh", default=None, help="Energy charged in total (kWh).")
@click.option("--total-cost", default=None, help="Its cost before taxes, in the session's currency.")
@click.option("--invalid", is_flag=True, help="End it INVALID (it will not be billed) instead of COMPLETED.")
@click.option(
    "--party", default=None, metavar="CC:PID", help="Owner of the session, when the id is ambiguous."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def stop(
    session_id: str,
    end: str | None,
    kwh: str | None,
    total_cost: str | None,
    invalid: bool,
    party: str | None,
    as_json: bool,
) -> None:
    """End one of our sessions (COMPLETED, or INVALID); pushed as a PATCH."""
    cost = _decimal(total_cost, "--total-cost")
    owner = parse_party(party)

    async def action(node: NodeContext) -> Any:
        return await admin_for(node).stop(
            session_id,
            end_date_time=_time(end, "--end"),
            kwh=_decimal(kwh, "--kwh"),
            total_cost=None if cost is None else Price(before_taxes=cost),
            status=SessionStatus.INVALID if invalid else SessionStatus.COMPLETED,
            party=owner,
        )

    _changed(run_admin(action), as_json, "stopped")
