"""``evroam outbox ...``, ``evroam worker`` and ``evroam sync ...``.

* ``outbox list`` shows the push jobs (by default those not delivered yet): partner, object, attempts,
  when they are due and the last error; ``outbox retry`` puts parked jobs back in the queue;
  ``outbox purge`` deletes delivered ones.
* ``worker`` delivers the outbox until stopped (SIGINT / SIGTERM finish the current pass first);
  ``evroam serve`` runs the same worker in the background unless given ``--no-worker``.
* ``sync locations|tariffs|tokens --partner NAME [--full]`` and ``sync sessions|cdrs --partner NAME
  [--since DATETIME]`` pull from a partner's Sender interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from evroam.cli.node import run_on_node
from evroam.core.errors import EvroamError
from evroam.modules.kit import PullSpec, emit
from evroam.node.kits import pulls_of
from evroam.node.wiring import Node
from evroam.ocpi.transport import PartyRef
from evroam.pull.sync import SyncResult, sync_module
from evroam.push.worker import RunReport
from evroam.store.outbox import ObjectChange, decode_change
from evroam.store.port import OutboxItem, OutboxStatus

__all__ = ["outbox", "sync", "sync_command", "worker"]

T = TypeVar("T")

_STATUSES = [s.value for s in OutboxStatus]


# -- outbox ---------------------------------------------------------------------------------------


def _object_name(change: ObjectChange) -> str:
    name = f"{change.country_code}*{change.party_id}*{change.object_id}"
    if change.evse_uid is not None:
        name += f"/{change.evse_uid}"
    if change.connector_id is not None:
        name += f"/{change.connector_id}"
    return name


def _item_summary(item: OutboxItem, names: dict[str, str]) -> dict[str, Any]:
    try:
        change: ObjectChange | None = decode_change(item.payload)
    except EvroamError:
        change = None
    return {
        "id": item.id,
        "partner": names.get(item.partner_id, item.partner_id),
        "partner_id": item.partner_id,
        "module": item.kind,
        "object": item.object_key if change is None else _object_name(change),
        "method": None if change is None else change.method,
        "status": item.status.value,
        "attempts": item.attempts,
        "due_at": item.due_at.to_json(),
        "last_error": item.last_error,
    }


def _item_line(row: dict[str, Any]) -> str:
    due = row["due_at"] if row["status"] in ("pending", "in_flight") else "-"
    line = (
        f"{row['id']:>6}  {row['partner']:<12} {row['module']:<10} {row['method'] or '?':<6} "
        f"{row['object']:<30} {row['status']:<9} {row['attempts']:>3}  {due}"
    )
    if row["last_error"]:
        line += f"\n        {row['last_error']}"
    return line


async def _partner_names(node: Node) -> dict[str, str]:
    return {p.id: p.name for p in await node.registration.partners()}


@click.group()
def outbox() -> None:
    """Show and manage the push outbox (changes waiting to reach partners)."""


@outbox.command("list")
@click.option(
    "--status",
    type=click.Choice([*_STATUSES, "all"]),
    default=None,
    help="Only jobs in this status [default: everything not delivered yet].",
)
@click.option("--partner", default=None, help="Only jobs for this partner (name).")
@click.option(
    "--limit", type=click.IntRange(min=1), default=200, show_default=True, help="At most this many jobs."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_items(status: str | None, partner: str | None, limit: int, as_json: bool) -> None:
    """List push jobs: partner, object, status, attempts, when due, last error."""

    async def action(node: Node) -> list[dict[str, Any]]:
        names = await _partner_names(node)
        partner_id = None
        if partner is not None:
            partner_id = (await node.registration.get(partner)).id
        if status is None:
            wanted = [OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT, OutboxStatus.PARKED]
        elif status == "all":
            wanted = list(OutboxStatus)
        else:
            wanted = [OutboxStatus(status)]
        items: list[OutboxItem] = []
        for one in wanted:
            items.extend(await node.store.outbox_list(status=one, partner_id=partner_id, limit=limit))
        items.sort(key=lambda item: item.id)
        return [_item_summary(item, names) for item in items[:limit]]

    rows = run_on_node(action)
    if not rows:
        text = "the outbox is empty" if status in (None, "all") else f"no {status} jobs"
    else:
        header = (
            f"{'ID':>6}  {'PARTNER':<12} {'MODULE':<10} {'METHOD':<6} {'OBJECT':<30} {'STATUS':<9} TRY  DUE"
        )
        text = "\n".join([header, *(_item_line(row) for row in rows)])
    emit(rows, as_json, text)


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-parked", is_flag=True, help="Retry every parked job.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def retry_items(ids: tuple[int, ...], all_parked: bool, as_json: bool) -> None:
    """Put parked jobs ID... back in the queue (due now, attempts counted from zero)."""
    if not ids and not all_parked:
        raise click.UsageError("name the jobs to retry (IDs from `evroam outbox list`) or give --all-parked")

    async def action(node: Node) -> tuple[list[int], list[int]]:
        wanted = list(ids)
        if all_parked:
            wanted += [item.id for item in await node.store.outbox_list(status=OutboxStatus.PARKED)]
        now = node.clock.now()
        done: list[int] = []
        refused: list[int] = []
        for item_id in dict.fromkeys(wanted):
            (done if await node.store.outbox_retry(item_id, due_at=now) else refused).append(item_id)
        return done, refused

    done, refused = run_on_node(action)
    text = f"{len(done)} job(s) back in the queue" + (
        f"; not parked (or unknown): {', '.join(map(str, refused))}" if refused else ""
    )
    emit({"retried": done, "not_parked": refused}, as_json, text)
    if refused and not done:
        sys.exit(1)


@outbox.command("purge")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def purge_items(as_json: bool) -> None:
    """Delete delivered jobs."""

    async def action(node: Node) -> int:
        return await node.store.outbox_purge_delivered()

    count = run_on_node(action)
    emit({"deleted": count}, as_json, f"{count} delivered job(s) deleted")


# -- worker ---------------------------------------------------------------------------------------


@click.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the counts as JSON.")
def worker(once: bool, as_json: bool) -> None:
    """Deliver the push outbox to partners until stopped (Ctrl-C / SIGTERM)."""

    async def action(node: Node) -> RunReport:
        push = node.push_worker()
        if once:
            return await push.drain()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        click.echo(f"push worker running for {node.config.versions_url} (Ctrl-C to stop)", err=True)
        push.start()
        await stop.wait()
        await push.stop()
        return push.totals

    report = run_on_node(action, quiet=once)
    counts = {
        "objects": report.groups,
        "delivered": report.delivered,
        "skipped": report.skipped,
        "failed": report.failed,
        "parked": report.parked,
        "requests": report.requests,
    }
    emit(
        counts,
        as_json,
        f"{report.delivered} delivered, {report.skipped} skipped, {report.failed} to retry, "
        f"{report.parked} parked ({report.requests} request(s))",
    )


# -- sync -----------------------------------------------------------------------------------------


def _us(node: Node, role: str) -> PartyRef | None:
    """Our party in ``role`` (else any of ours) for the ``OCPI-from-*`` headers."""
    parties = sorted(node.own.parties, key=lambda p: p.role.upper() != role)
    for party in parties:
        try:
            return PartyRef.of(party.country_code, party.party_id)
        except ValueError:
            continue
    return None


class _Bar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal (in a log file or a pipe
    the carriage returns would repeat the line at every page)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr is not None and sys.stderr.isatty()
        self.drawn = False

    def __call__(self, fetched: int, total: int | None) -> None:
        if not self.enabled:
            return
        if total:
            done = min(fetched, total)
            filled = int(30 * done / total)
            text = f"\r{self.label} [{'#' * filled}{'-' * (30 - filled)}] {done}/{total}"
        else:
            text = f"\r{self.label} {fetched}"
        click.echo(text, err=True, nl=False)
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            click.echo("", err=True)


def _summary_text(result: SyncResult) -> str:
    kind = (
        "full" if result.full else f"changes since {result.date_from.to_json() if result.date_from else '-'}"
    )
    text = (
        f"{result.module} from {result.partner} ({kind}): "
        f"{result.fetched} fetched in {result.pages} page(s), "
        f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.removed} removed"
    )
    if result.stale:
        text += f", {result.stale} older than stored (kept)"
    if result.refused:
        text += f", {result.refused} refused"
        for issue in result.issues:
            text += f"\n  refused {issue.object or '(unnamed object)'}: {issue.reason}"
        if len(result.issues) < result.refused:
            text += f"\n  ... {result.refused - len(result.issues)} more (see the log)"
    return text


def sync_command(module: str, spec: PullSpec) -> click.Command:
    """``evroam sync MODULE``: pull one kit's objects from a partner."""
    removes = spec.remove_absent is not None

    @click.command(module)
    @click.option("--partner", "partner_name", required=True, help="The partner to pull from (name).")
    @click.option(
        "--full",
        is_flag=True,
        hidden=not removes,
        help="Fetch everything and mark what is gone as removed.",
    )
    @click.option(
        "--since",
        type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
        default=None,
        help="Ask for what changed since then (UTC unless an offset is given), not since the last sync.",
    )
    @click.option(
        "--page-limit", type=click.IntRange(min=1), default=None, help="Ask for pages of this size."
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (no progress bar).")
    def command(
        partner_name: str, full: bool, since: datetime | None, page_limit: int | None, as_json: bool
    ) -> None:
        if full and since is not None:
            raise click.UsageError("--full and --since exclude each other")
        if full and not removes:
            raise click.UsageError(f"{module} have no full sync: use --since")
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        bar = _Bar(f"{module} from {partner_name}", enabled=not as_json)

        async def action(node: Node) -> SyncResult:
            partner = await node.registration.get(partner_name)
            try:
                result = await sync_module(
                    node.store,
                    node.http,
                    partner,
                    module,
                    pulls=pulls_of(node.kits),
                    clock=node.clock,
                    ids=node.ids,
                    us=_us(node, spec.us),
                    full=full,
                    since=since,
                    page_limit=page_limit,
                    progress=bar,
                )
            except Exception:
                await _record_sync(node, partner.id, module, None)
                raise
            finally:
                bar.close()
            await _record_sync(node, partner.id, module, result)
            return result

        result = run_on_node(action)
        data = {
            "partner": result.partner,
            "module": result.module,
            "full": result.full,
            "date_from": None if result.date_from is None else result.date_from.to_json(),
            "started_at": result.started_at.to_json(),
            "pages": result.pages,
            "total_count": result.total_count,
            "fetched": result.fetched,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "stale": result.stale,
            "refused": result.refused,
            "removed": result.removed,
            "issues": [{"object": i.object, "reason": i.reason} for i in result.issues],
        }
        emit(data, as_json, _summary_text(result))

    if spec.help:
        command.help = spec.help
    elif removes:
        command.help = (
            f"Pull {module} from partner NAME: everything the first time or with --full (what it no longer "
            f"lists is marked removed), otherwise what changed since the last sync (or --since)."
        )
    else:
        command.help = (
            f"Pull {module} from partner NAME: everything the first time, then what is new since the last "
            f"sync (or --since); nothing is removed."
        )
    return command


async def _record_sync(node: Node, partner_id: str, module: str, result: SyncResult | None) -> None:
    """Keep the sync's outcome for /metrics (``None``: it failed); a database that fails here too
    changes nothing of what the command reports."""
    from evroam.metrics import run_record, sync_result_setting

    counts = (
        {}
        if result is None
        else {
            "fetched": result.fetched,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "stale": result.stale,
            "refused": result.refused,
            "removed": result.removed,
        }
    )
    with contextlib.suppress(Exception):
        await node.store.set_setting(
            sync_result_setting(partner_id, module),
            run_record(node.clock.now().timestamp(), result is not None, counts),
        )


@click.group()
def sync() -> None:
    """Pull a module's objects (locations, tariffs, tokens, sessions, CDRs ...) from a partner's Sender
    interface."""
