"""``evroam profiles ...``: smart charging from the eMSP / SCSP side, and what a CPO received.

    evroam profiles set SESSION --partner NAME (--limit-kw X | --limit-a X --phases N | --periods FILE)
                        [--duration S] [--start TIME] [--no-wait] [--json]
    evroam profiles get SESSION [--partner NAME] [--duration S] [--no-wait] [--json]
    evroam profiles clear SESSION [--partner NAME] [--no-wait] [--json]
    evroam profiles list [--received] [--limit N] [--json]
    evroam profiles show ID [--received] [--json]

``SESSION`` is the session id on the CPO's platform. ``get`` and ``clear`` go to the partner of our last
request on that session unless ``--partner`` names one. A request waits until it is settled (the CPO's
result, a refusal, or TIMEOUT) unless ``--no-wait``; the results arrive at this node's ``serve``
process. The exit status is 0 when the CPO accepted and the charger carried it out, 1 otherwise.

``--periods FILE``: a JSON array of OCPI ChargingProfilePeriods (``start_period`` seconds, ``limit`` in W,
or in A per phase with ``--unit A``), or a whole OCPI ChargingProfile object.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from evroam.core.codec import decode, encode
from evroam.core.types import DateTime
from evroam.model.chargingprofiles import ChargingProfile, ChargingProfilePeriod
from evroam.model.enums import ChargingRateUnit
from evroam.modules.kit import NodeContext

from ..kit import emit, run_node
from .records import Direction, ProfileRecord, ReceivedActive, list_records, load_record
from .sender import ProfileSender
from .setup import NodeProfiles

__all__ = ["active_summary", "build_profile", "profiles", "record_summary", "record_text"]

_TENTH = Decimal("0.1")


def build_profile(
    *,
    limit_kw: Decimal | None = None,
    limit_a: Decimal | None = None,
    periods: Any = None,
    unit: str = "W",
    duration: int | None = None,
    start: DateTime | None = None,
) -> ChargingProfile:
    """The OCPI ChargingProfile of the ``set`` options: one limit (kW -> W, or A per phase) or periods."""
    given = [v for v in (limit_kw, limit_a, periods) if v is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --limit-kw, --limit-a, --periods")
    if isinstance(periods, dict):
        profile: ChargingProfile = decode(json.dumps(periods).encode(), ChargingProfile)
        changes: dict[str, Any] = {}
        if duration is not None:
            changes["duration"] = duration
        if start is not None:
            changes["start_date_time"] = start
        return decode(encode({**json.loads(encode(profile)), **json.loads(encode(changes))}), ChargingProfile)
    if periods is not None:
        items: tuple[ChargingProfilePeriod, ...] = decode(
            json.dumps(periods).encode(), tuple[ChargingProfilePeriod, ...]
        )
        rate = ChargingRateUnit(unit.upper())
    elif limit_kw is not None:
        items = (
            ChargingProfilePeriod(start_period=0, limit=(limit_kw * 1000).quantize(_TENTH, ROUND_FLOOR)),
        )
        rate = ChargingRateUnit.W
    else:
        assert limit_a is not None
        items = (ChargingProfilePeriod(start_period=0, limit=limit_a.quantize(_TENTH, ROUND_FLOOR)),)
        rate = ChargingRateUnit.A
    if any(p.limit < 0 for p in items):
        raise click.UsageError("a limit is never negative")
    return ChargingProfile(
        charging_rate_unit=rate, start_date_time=start, duration=duration, charging_profile_period=items
    )


def record_summary(record: ProfileRecord) -> dict[str, Any]:
    """A request record as plain JSON values."""
    return {
        "id": record.id,
        "direction": record.direction.value,
        "type": record.type.value,
        "partner": record.partner_name,
        "version": record.version,
        "party": f"{record.country_code}*{record.party_id}",
        "session": record.session_id,
        "request": dict(record.summary),
        "profile": None if record.profile is None else json.loads(encode(record.profile)),
        "state": record.state.value,
        "outcome": record.outcome,
        "response": None
        if record.response is None
        else {"result": record.response.result.value, "timeout": record.response.timeout},
        "result": None if record.result is None else record.result.value,
        "result_source": record.result_source,
        "active": None if record.active is None else json.loads(encode(record.active)),
        "charger_answer": record.charger_answer,
        "result_posted": record.result_posted,
        "error": record.error,
        "response_url": record.response_url,
        "created": str(record.created),
        "answered": None if record.answered is None else str(record.answered),
        "deadline": None if record.deadline is None else str(record.deadline),
        "finished": None if record.finished is None else str(record.finished),
    }


def active_summary(received: ReceivedActive) -> dict[str, Any]:
    return {
        "partner": received.partner_name,
        "session": received.session_id,
        "received": str(received.received),
        "updates": received.updates,
        "active": json.loads(encode(received.active)),
    }


def _limits(profile: Any) -> str:
    unit = profile.charging_rate_unit.value
    periods = profile.charging_profile_period or ()
    return ", ".join(f"+{p.start_period}s {p.limit} {unit}" for p in periods) or "-"


def record_text(record: ProfileRecord) -> str:
    """A few lines for people: what was asked, the answer, the result."""
    towards = "to" if record.direction is Direction.SENT else "from"
    lines = [
        f"{record.type.value} {record.id} session {record.session_id} {towards} {record.partner_name} "
        f"(OCPI {record.version})"
    ]
    if record.profile is not None:
        duration = "" if record.profile.duration is None else f" for {record.profile.duration} s"
        lines.append(f"  profile:  {_limits(record.profile)}{duration}")
    elif record.summary:
        lines.append("  request:  " + ", ".join(f"{k} {v}" for k, v in record.summary.items()))
    if record.response is not None:
        lines.append(f"  response: {record.response.result.value} (timeout {record.response.timeout} s)")
    if record.charger_answer is not None:
        lines.append(f"  charger:  {record.charger_answer}")
    if record.result is not None:
        source = {"partner": "from the CPO", "charger": "decided by the charger"}.get(
            record.result_source or "", ""
        )
        lines.append(f"  result:   {record.result.value} ({source})")
    if record.active is not None:
        lines.append(
            f"  active:   from {record.active.start_date_time}: {_limits(record.active.charging_profile)}"
        )
    if record.error:
        lines.append(f"  error:    {record.error}")
    lines.append(f"  outcome:  {record.outcome}")
    return "\n".join(lines)


def _one_line(record: ProfileRecord) -> str:
    request = " ".join(f"{k}={v}" for k, v in record.summary.items())
    return (
        f"{record.created.to_json()}  {record.id}  {record.direction.value:<8} {record.type.value:<5} "
        f"{record.session_id:<20} {record.partner_name:<12} {record.outcome:<24} {request}"
    )


def _sender(node: NodeContext) -> ProfileSender:
    sender = NodeProfiles.of(node).sender
    if sender is None:
        raise click.ClickException("this node has no eMSP or SCSP party: it does not send charging profiles")
    return sender


async def _partner_for(sender: ProfileSender, session_id: str, partner: str | None) -> str:
    if partner:
        return partner
    for record in reversed(await sender.list(limit=None)):
        if record.session_id.casefold() == session_id.casefold():
            return record.partner_name
    raise click.UsageError(f"no earlier request on session {session_id}: name the CPO with --partner")


def _send(action: Callable[[ProfileSender], Awaitable[ProfileRecord]], *, wait: bool, as_json: bool) -> None:
    async def run(node: NodeContext) -> ProfileRecord:
        sender = _sender(node)
        record = await action(sender)
        if not as_json:
            answer = record.response.result.value if record.response else record.state.value
            click.echo(f"sent {record.type.value} {record.id} to {record.partner_name}: {answer}", err=True)
        if wait and not record.final and record.response is not None:
            if not as_json:
                click.echo(
                    f"waiting for the result (up to {record.response.timeout} s"
                    f" + {sender.grace:g} s grace) ...",
                    err=True,
                )
            record = await sender.wait(record.id)
        return record

    record = run_node(run)
    emit(record_summary(record), as_json, record_text(record))
    if (record.final and record.result is None) or (
        record.result is not None and record.result.value != "ACCEPTED"
    ):
        raise SystemExit(1)


def _decimal(value: str | None, option: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a number", param_hint=option) from None
    if number < 0:
        raise click.BadParameter("never negative", param_hint=option)
    return number


@click.group("profiles")
def profiles() -> None:
    """Smart charging: charging profiles on a CPO's sessions (OCPI ChargingProfiles)."""


@profiles.command("set")
@click.argument("session_id")
@click.option("--partner", required=True, help="The CPO partner (see `evroam partners list`).")
@click.option("--limit-kw", "limit_kw", help="At most this many kW (sent in W).")
@click.option("--limit-a", "limit_a", help="At most this many A per phase.")
@click.option(
    "--phases", type=click.IntRange(1, 3), help="The phases charging (with --limit-a; for display)."
)
@click.option("--periods", "periods_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--unit",
    type=click.Choice(["W", "A"], case_sensitive=False),
    default="W",
    show_default=True,
    help="The unit of the limits in --periods.",
)
@click.option("--duration", type=click.IntRange(min=1), help="Seconds the profile lasts (default: for good).")
@click.option("--start", help="When it starts (RFC 3339; default: when the charger gets it).")
@click.option("--no-wait", is_flag=True, help="Return after the CPO's answer.")
@click.option("--json", "as_json", is_flag=True)
def set_profile(
    session_id: str,
    partner: str,
    limit_kw: str | None,
    limit_a: str | None,
    phases: int | None,
    periods_file: Path | None,
    unit: str,
    duration: int | None,
    start: str | None,
    no_wait: bool,
    as_json: bool,
) -> None:
    """Set (or replace) our charging profile on the CPO's session SESSION_ID."""
    amps = _decimal(limit_a, "--limit-a")
    if amps is not None and phases is None:
        raise click.UsageError("--limit-a needs --phases (the phases the car charges on)")
    try:
        begins = None if start is None else DateTime.parse(start)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--start") from None
    periods = None if periods_file is None else json.loads(periods_file.read_text(encoding="utf-8"))
    profile = build_profile(
        limit_kw=_decimal(limit_kw, "--limit-kw"),
        limit_a=amps,
        periods=periods,
        unit=unit,
        duration=duration,
        start=begins,
    )

    async def action(sender: ProfileSender) -> ProfileRecord:
        record = await sender.set_profile(partner, session_id, profile)
        return record

    if amps is not None and phases is not None and not as_json:
        click.echo(f"{amps} A x {phases} phase(s) x 230 V = {amps * phases * 230 / 1000:.2f} kW", err=True)
    _send(action, wait=not no_wait, as_json=as_json)


@profiles.command("get")
@click.argument("session_id")
@click.option("--partner", help="The CPO partner [default: the one of our last request on the session].")
@click.option(
    "--duration",
    type=click.IntRange(min=1),
    default=900,
    show_default=True,
    help="Seconds of the active profile to ask for.",
)
@click.option("--no-wait", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def get_profile(session_id: str, partner: str | None, duration: int, no_wait: bool, as_json: bool) -> None:
    """Ask the CPO for the limit its charger applies to SESSION_ID (the ActiveChargingProfile)."""

    async def action(sender: ProfileSender) -> ProfileRecord:
        return await sender.get_active(
            await _partner_for(sender, session_id, partner), session_id, duration=duration
        )

    _send(action, wait=not no_wait, as_json=as_json)


@profiles.command("clear")
@click.argument("session_id")
@click.option("--partner", help="The CPO partner [default: the one of our last request on the session].")
@click.option("--no-wait", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def clear_profile(session_id: str, partner: str | None, no_wait: bool, as_json: bool) -> None:
    """Remove our charging profile from SESSION_ID."""

    async def action(sender: ProfileSender) -> ProfileRecord:
        return await sender.clear_profile(await _partner_for(sender, session_id, partner), session_id)

    _send(action, wait=not no_wait, as_json=as_json)


@profiles.command("list")
@click.option("--received", is_flag=True, help="The requests partners sent us (CPO) instead of ours.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_profiles(received: bool, limit: int, as_json: bool) -> None:
    """Requests sent (or received), newest last, and the active profiles CPOs reported."""

    async def action(node: NodeContext) -> tuple[list[ProfileRecord], list[ReceivedActive]]:
        if received:
            return await list_records(node.store, Direction.RECEIVED, limit=limit), []
        sender = NodeProfiles.of(node).sender
        if sender is None:
            return await list_records(node.store, Direction.SENT, limit=limit), []
        return await sender.list(limit=limit), await sender.actives()

    records, actives = run_node(action)
    data = {
        "requests": [record_summary(r) for r in records],
        "active_profiles": [active_summary(a) for a in actives],
    }
    lines = [_one_line(r) for r in records] or ["no charging profile requests"]
    for a in actives:
        lines.append(
            f"active profile of session {a.session_id} from {a.partner_name} (received {a.received}, "
            f"{a.updates} update(s)): from {a.active.start_date_time}: {_limits(a.active.charging_profile)}"
        )
    emit(data, as_json, "\n".join(lines))


@profiles.command("show")
@click.argument("request_id")
@click.option("--received", is_flag=True, help="A request a partner sent us.")
@click.option("--json", "as_json", is_flag=True)
def show(request_id: str, received: bool, as_json: bool) -> None:
    """One request and everything that happened to it."""

    async def action(node: NodeContext) -> ProfileRecord | None:
        if not received:
            sender = NodeProfiles.of(node).sender
            if sender is not None:
                return await sender.get(request_id)
        return await load_record(node.store, Direction.RECEIVED if received else Direction.SENT, request_id)

    record = run_node(action)
    if record is None:
        raise click.ClickException(f"no charging profile request {request_id!r}")
    emit(record_summary(record), as_json, record_text(record))
