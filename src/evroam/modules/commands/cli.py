"""``evroam commands ...``: send commands to a CPO partner and follow them; list what was sent or received.

    evroam commands start-session --partner NAME --location ID [--evse UID [--connector ID]] --token UID
    evroam commands stop-session --partner NAME --session ID
    evroam commands reserve --partner NAME --location ID [--evse UID] --token UID [--minutes N | --until T]
                            [--reservation-id ID]
    evroam commands cancel-reservation --partner NAME --reservation-id ID
    evroam commands unlock --partner NAME --location ID --evse UID --connector ID
    evroam commands list [--received] [--limit N] [--json]
    evroam commands show ID [--received] [--json]

A sending command waits until the command is settled (the CPO's result, a refusal, or TIMEOUT) and
shows the outcome; ``--no-wait`` returns after the CPO's synchronous answer. The results arrive at
this node's ``serve`` process (``evroam serve`` must run for the same data directory). The exit status
is 0 when the command was accepted and carried out, 1 otherwise.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import click

from evroam.core.types import DateTime
from evroam.modules.kit import NodeContext

from ..kit import emit, run_node
from .records import CommandRecord, Direction, list_records, load_record
from .sender import CommandSender
from .setup import NodeCommands

__all__ = ["commands", "record_summary", "record_text"]

_OK = frozenset({"ACCEPTED", "CANCELED_RESERVATION"})


def record_summary(record: CommandRecord) -> dict[str, Any]:
    """A command record as plain JSON values."""
    return {
        "id": record.id,
        "direction": record.direction.value,
        "type": record.type.value,
        "partner": record.partner_name,
        "version": record.version,
        "party": f"{record.country_code}*{record.party_id}",
        "request": dict(record.summary),
        "state": record.state.value,
        "outcome": record.outcome,
        "response": None
        if record.response is None
        else {
            "result": record.response.result.value,
            "timeout": record.response.timeout,
            "message": _message(record.response.message),
        },
        "result": None
        if record.result is None
        else {"result": record.result.result.value, "message": _message(record.result.message)},
        "results": [
            {"at": str(e.at), "result": e.result.result.value, "source": e.source} for e in record.results
        ],
        "charger_answer": record.charger_answer,
        "error": record.error,
        "response_url": record.response_url,
        "created": str(record.created),
        "answered": None if record.answered is None else str(record.answered),
        "deadline": None if record.deadline is None else str(record.deadline),
        "finished": None if record.finished is None else str(record.finished),
    }


def _message(texts: Any) -> str | None:
    return None if not texts else " / ".join(t.text for t in texts)


def _seconds(start: datetime, end: datetime | None) -> str:
    return "" if end is None else f" after {(end - start).total_seconds():.1f} s"


def record_text(record: CommandRecord) -> str:
    """A few lines for people: what was asked, the answer, the result."""
    towards = "to" if record.direction is Direction.SENT else "from"
    request = ", ".join(f"{k} {v}" for k, v in record.summary.items())
    lines = [
        f"{record.type.value} {record.id} {towards} {record.partner_name} (OCPI {record.version})",
        f"  request:  {request or '-'}",
    ]
    if record.response is not None:
        timeout = "" if record.response.timeout is None else f" (timeout {record.response.timeout} s)"
        message = _message(record.response.message)
        lines.append(
            f"  response: {record.response.result.value}{timeout}" + (f" - {message}" if message else "")
        )
    if record.charger_answer is not None:
        lines.append(f"  charger:  {record.charger_answer}")
    for event in record.results:
        message = _message(event.result.message)
        source = "decided here: no result came" if event.source == "local" else f"from the {event.source}"
        lines.append(
            f"  result:   {event.result.result.value} ({source}{_seconds(record.created, event.at)})"
            + (f" - {message}" if message else "")
        )
    if record.error:
        lines.append(f"  error:    {record.error}")
    lines.append(f"  outcome:  {record.outcome}")
    return "\n".join(lines)


def _one_line(record: CommandRecord) -> str:
    request = " ".join(f"{k}={v}" for k, v in record.summary.items() if k != "authorization_reference")
    return (
        f"{record.created.to_json()}  {record.id}  {record.direction.value:<8} {record.type.value:<18} "
        f"{record.partner_name:<12} {record.outcome:<24} {request}"
    )


def _sender(node: NodeContext) -> CommandSender:
    sender = NodeCommands.of(node).sender
    if sender is None:
        raise click.ClickException("this node has no eMSP party: it does not send commands")
    return sender


def _send(action: Callable[[CommandSender], Awaitable[CommandRecord]], *, wait: bool, as_json: bool) -> None:

    async def run(node: NodeContext) -> CommandRecord:
        sender = _sender(node)
        record = await action(sender)
        if not as_json:
            click.echo(
                f"sent {record.type.value} {record.id} to {record.partner_name}: "
                f"{record.response.result.value if record.response else record.state.value}",
                err=True,
            )
        if wait and not record.final and record.response is not None:
            if not as_json:
                timeout = record.response.timeout
                click.echo(
                    f"waiting for the result (up to {timeout if timeout is not None else '?'} s"
                    f" + {sender.grace:g} s grace) ...",
                    err=True,
                )
            record = await sender.wait(record.id)
        return record

    try:
        record = run_node(run)
    except KeyboardInterrupt:
        raise click.ClickException(
            "stopped waiting; the command stays recorded (`evroam commands list`)"
        ) from None
    emit(record_summary(record), as_json, record_text(record))
    settled_ok = record.outcome in _OK or (not wait and record.outcome.startswith("ACCEPTED"))
    if not settled_ok:
        raise SystemExit(1)


_partner_option = click.option("--partner", required=True, help="Name of the CPO partner.")
_wait_option = click.option(
    "--no-wait", is_flag=True, help="Return after the CPO's answer, without waiting for the result."
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print as JSON.")


@click.group()
def commands() -> None:
    """Send commands to CPO partners (start/stop a session, reserve, unlock) and follow them."""


@commands.command("start-session")
@_partner_option
@click.option("--location", "location_id", required=True, help="The CPO's location id.")
@click.option("--evse", "evse_uid", default=None, help="EVSE uid (the CPO picks one when left out).")
@click.option("--connector", "connector_id", default=None, help="Connector id (needs --evse).")
@click.option("--token", "token_uid", required=True, help="The uid of one of our tokens.")
@click.option("--token-type", default=None, help="The token's type when the uid is not unique (RFID ...).")
@click.option("--to", "to", default=None, help="The CPO party (CC*PID) when the partner is a hub.")
@_wait_option
@_json_option
def start_session(
    partner: str,
    location_id: str,
    evse_uid: str | None,
    connector_id: str | None,
    token_uid: str,
    token_type: str | None,
    to: str | None,
    no_wait: bool,
    as_json: bool,
) -> None:
    """Ask the CPO to start a session for one of our tokens."""
    _send(
        lambda s: s.start_session(
            partner,
            location_id=location_id,
            evse_uid=evse_uid,
            connector_id=connector_id,
            token_uid=token_uid,
            token_type=token_type,
            to=to,
        ),
        wait=not no_wait,
        as_json=as_json,
    )


@commands.command("stop-session")
@_partner_option
@click.option("--session", "session_id", required=True, help="The CPO's session id.")
@_wait_option
@_json_option
def stop_session(partner: str, session_id: str, no_wait: bool, as_json: bool) -> None:
    """Ask the CPO to stop a running session."""
    _send(lambda s: s.stop_session(partner, session_id=session_id), wait=not no_wait, as_json=as_json)


def _expiry(minutes: float | None, until: str | None, now: DateTime) -> datetime:
    if until is not None:
        try:
            return DateTime.parse(until)
        except (TypeError, ValueError):
            raise click.BadParameter(f"{until!r} is not a date-time", param_hint="--until") from None
    return now + timedelta(minutes=minutes if minutes is not None else 30)


@commands.command("reserve")
@_partner_option
@click.option("--location", "location_id", required=True, help="The CPO's location id.")
@click.option("--evse", "evse_uid", default=None, help="EVSE uid (any EVSE of the location when left out).")
@click.option("--token", "token_uid", required=True, help="The uid of one of our tokens.")
@click.option("--token-type", default=None, help="The token's type when the uid is not unique.")
@click.option("--minutes", type=float, default=None, help="How long the reservation lasts [default: 30].")
@click.option("--until", default=None, help="When the reservation expires (RFC 3339), instead of --minutes.")
@click.option("--reservation-id", default=None, help="Our id for the reservation [default: the next number].")
@_wait_option
@_json_option
def reserve(
    partner: str,
    location_id: str,
    evse_uid: str | None,
    token_uid: str,
    token_type: str | None,
    minutes: float | None,
    until: str | None,
    reservation_id: str | None,
    no_wait: bool,
    as_json: bool,
) -> None:
    """Ask the CPO to reserve an EVSE for one of our tokens (RESERVE_NOW)."""
    if minutes is not None and until is not None:
        raise click.UsageError("give --minutes or --until, not both")

    async def action(sender: CommandSender) -> CommandRecord:
        return await sender.reserve_now(
            partner,
            location_id=location_id,
            evse_uid=evse_uid,
            token_uid=token_uid,
            token_type=token_type,
            expiry_date=_expiry(minutes, until, sender.now()),
            reservation_id=reservation_id,
        )

    _send(action, wait=not no_wait, as_json=as_json)


@commands.command("cancel-reservation")
@_partner_option
@click.option("--reservation-id", required=True, help="The id the reservation was made with.")
@_wait_option
@_json_option
def cancel_reservation(partner: str, reservation_id: str, no_wait: bool, as_json: bool) -> None:
    """Ask the CPO to cancel a reservation."""
    _send(
        lambda s: s.cancel_reservation(partner, reservation_id=reservation_id),
        wait=not no_wait,
        as_json=as_json,
    )


@commands.command("unlock")
@_partner_option
@click.option("--location", "location_id", required=True, help="The CPO's location id.")
@click.option("--evse", "evse_uid", required=True, help="EVSE uid.")
@click.option("--connector", "connector_id", required=True, help="Connector id.")
@_wait_option
@_json_option
def unlock(
    partner: str, location_id: str, evse_uid: str, connector_id: str, no_wait: bool, as_json: bool
) -> None:
    """Ask the CPO to unlock a connector (help-desk use: the driver cannot unplug)."""
    _send(
        lambda s: s.unlock_connector(
            partner, location_id=location_id, evse_uid=evse_uid, connector_id=connector_id
        ),
        wait=not no_wait,
        as_json=as_json,
    )


_received_option = click.option(
    "--received", is_flag=True, help="Commands this node received (as a CPO) instead of those it sent."
)


@commands.command("list")
@_received_option
@click.option("--limit", type=int, default=50, show_default=True, help="Show the newest N commands.")
@_json_option
def list_commands(received: bool, limit: int, as_json: bool) -> None:
    """List the newest commands sent (or, with --received, received), oldest first."""

    async def run(node: NodeContext) -> list[CommandRecord]:
        if received:
            return await list_records(node.store, Direction.RECEIVED, limit=limit)
        sender = NodeCommands.of(node).sender
        if sender is None:
            return await list_records(node.store, Direction.SENT, limit=limit)
        return await sender.list(limit=limit)

    found = run_node(run)
    what = "received" if received else "sent"
    text = "\n".join(_one_line(r) for r in found) if found else f"no commands {what} yet"
    emit([record_summary(r) for r in found], as_json, text)


@commands.command("show")
@click.argument("command_id")
@_received_option
@_json_option
def show(command_id: str, received: bool, as_json: bool) -> None:
    """Show one command: the request, the answer, every result."""

    async def run(node: NodeContext) -> CommandRecord | None:
        if received:
            return await load_record(node.store, Direction.RECEIVED, command_id)
        sender = NodeCommands.of(node).sender
        if sender is None:
            return await load_record(node.store, Direction.SENT, command_id)
        return await sender.get(command_id)

    record = run_node(run)
    if record is None:
        raise click.ClickException(f"no command {command_id!r} (see `evroam commands list`)")
    emit(record_summary(record), as_json, record_text(record))
