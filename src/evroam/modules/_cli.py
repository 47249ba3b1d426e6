"""What the modules' admin commands share (``evroam locations|tariffs|tokens|sessions|cdrs ...``):
the node's newest version, ``--party CC:PID``, running an admin action with every violation listed,
and the ``import`` (a JSON array of OCPI objects, all or nothing) and ``stats`` commands' bodies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click

from evroam.core.errors import ValidationFailed
from evroam.modules.kit import NodeContext, emit, run_node

__all__ = [
    "ImportReport",
    "import_options",
    "newest_version",
    "parse_party",
    "run_admin",
    "run_import",
    "show_stats",
]

T = TypeVar("T")
Obj = TypeVar("Obj")
F = TypeVar("F", bound=Callable[..., Any])


class ImportReport(Protocol):
    """What an admin's ``import_*`` answers (the modules' import reports)."""

    @property
    def created(self) -> list[str]: ...
    @property
    def updated(self) -> list[str]: ...
    @property
    def unchanged(self) -> list[str]: ...
    @property
    def stale(self) -> list[str]: ...
    @property
    def outbox_rows(self) -> int: ...


class StaleCounter(Protocol):
    async def stale_updates(self, partner_ids: Sequence[str] = ()) -> dict[str, int]: ...


def newest_version(node: NodeContext) -> str:
    return node.own.newest_version()


def parse_party(value: str | None) -> tuple[str, str] | None:
    """``CC:PID`` (``--party``) as a pair."""
    if value is None:
        return None
    parts = value.replace("*", ":").split(":")
    if len(parts) != 2 or not all(parts):
        raise click.BadParameter(f"{value!r} is not COUNTRY:PARTY, e.g. NL:ABC", param_hint="--party")
    return parts[0].upper(), parts[1].upper()


def run_admin(action: Callable[[NodeContext], Awaitable[T]]) -> T:
    """Run ``action`` on the node of the current settings; a refusal lists every violation."""

    async def guarded(node: NodeContext) -> T:
        try:
            return await action(node)
        except ValidationFailed as exc:
            lines = [exc.message]
            lines.extend(f"  {v.path}: {v.message}" for v in exc.violations if v.message != exc.message)
            if exc.omitted:  # the list is capped (errors.MAX_VIOLATIONS)
                lines.append(f"  ... {exc.omitted_note}")
            raise click.ClickException("\n".join(lines)) from None

    return run_node(guarded)


def import_options(plural: str) -> Callable[[F], F]:
    """``FILE``, ``--ocpi-version``, ``--party`` (the owner of 2.1.1 ``plural``) and ``--json``."""

    def decorate(command: F) -> F:
        command = click.option("--json", "as_json", is_flag=True, help="Print as JSON.")(command)
        command = click.option(
            "--party", default=None, metavar="CC:PID", help=f"Owner of OCPI 2.1.1 {plural} (they carry none)."
        )(command)
        command = click.option(
            "--ocpi-version", default=None, help="OCPI version of the objects [default: the node's highest]."
        )(command)
        argument = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
        return argument(command)

    return decorate


def run_import(
    file: Path,
    ocpi_version: str | None,
    party: str | None,
    as_json: bool,
    *,
    parties: Callable[[NodeContext], Sequence[tuple[str, str]]],
    parse: Callable[[bytes, str, tuple[str, str] | None], Sequence[Obj]],
    store: Callable[[NodeContext, Sequence[Obj]], Awaitable[ImportReport]],
    no_party: str | None = None,
) -> None:
    """The ``import`` command: FILE (a JSON array of OCPI objects of one version) parsed, owned by
    ``--party`` or else the node's only party among ``parties``, and stored all or nothing; the report
    printed. ``no_party``: the refusal when the node has none of ``parties``."""
    owner = parse_party(party)
    data = file.read_bytes()

    async def action(node: NodeContext) -> ImportReport:
        version = ocpi_version or newest_version(node)
        if version not in node.own.versions:
            raise click.ClickException(
                f"this node does not serve OCPI {version} ({', '.join(node.own.versions)})"
            )
        ours = parties(node)
        if no_party is not None and not ours:
            raise click.ClickException(no_party)
        found = parse(data, version, ours[0] if owner is None and len(ours) == 1 else owner)
        return await store(node, found)

    report = run_admin(action)
    out = {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "stale": report.stale,
        "outbox_rows": report.outbox_rows,
    }
    text = (
        f"{len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.stale)} older than stored (kept); {report.outbox_rows} push(es) queued"
    )
    emit(out, as_json, text)


def show_stats(
    as_json: bool, *, kind: str, receiver: Callable[[NodeContext], StaleCounter], own: str, stale: str
) -> None:
    """The ``stats`` command: documents of ``kind`` of ours and received from each partner, and the
    stale updates ``receiver`` ignored; ``own`` / ``stale`` label the text lines."""

    async def action(node: NodeContext) -> dict[str, Any]:
        partners = await node.registration.partners()
        ignored = await receiver(node).stale_updates([p.id for p in partners])
        return {
            "own": await node.store.count(kind, partners=[None]),
            "received": {p.name: await node.store.count(kind, partners=[p.id]) for p in partners},
            "stale_updates_ignored": {"total": ignored["total"], **{p.name: ignored[p.id] for p in partners}},
        }

    data = run_admin(action)
    text = [f"{own}: {data['own']}"]
    text.extend(f"received from {name}: {n}" for name, n in data["received"].items())
    text.append(f"{stale}: {data['stale_updates_ignored']['total']}")
    emit(data, as_json, "\n".join(text))
