"""What the modules' admin commands share (``evroam locations|tariffs|tokens|sessions|cdrs ...``):
the node's newest version, ``--party CC:PID``, running an admin action with every violation listed,
and the ``import`` (an OCPI object or a JSON array of them, all or nothing) and ``stats`` commands' bodies.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

import click

from evroam.core.errors import NotFound, ValidationFailed
from evroam.core.jsonitems import JsonItemsError, iter_items
from evroam.core.types import DateTime
from evroam.modules._shared import is_party_scope
from evroam.modules.kit import NodeContext, emit, run_node
from evroam.modules.output import CommandFailed
from evroam.registration.service import version_key

__all__ = [
    "ImportReport",
    "Listed",
    "Selection",
    "emit_listing",
    "find_received",
    "import_options",
    "list_documents",
    "newest_version",
    "parse_party",
    "parse_served",
    "partner_names",
    "print_import_report",
    "read_item_batches",
    "read_objects",
    "record_import",
    "run_admin",
    "run_import",
    "selection_options",
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
            "--ocpi-version",
            default=None,
            help="OCPI version of the objects [default: the newest the node serves that accepts them].",
        )(command)
        argument = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
        return argument(command)

    return decorate


def read_objects(file: Path) -> bytes:
    """FILE's bytes as a JSON array: a single object (as the OCPI examples are) becomes an array of one.
    Malformed JSON is one failure naming the file, the line and the column."""
    data = file.read_bytes()
    try:
        document = json.loads(data)
    except UnicodeDecodeError as exc:
        raise CommandFailed(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise CommandFailed(
            f"{file}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if isinstance(document, dict):
        return b"[" + data + b"]"
    if not isinstance(document, list):
        raise CommandFailed(f"{file}: expected a JSON object or an array of objects")
    return data


def read_item_batches(
    file: Path, batch: int = 500, chunk: int = 1 << 20
) -> Iterator[tuple[int, list[bytes]]]:
    """FILE's top-level array items (a single object: that one), ``batch`` at a time with the index of
    the first, read ``chunk`` bytes at a time: memory does not grow with the file. Malformed JSON is one
    failure naming the file and the byte (the items themselves are checked by whoever decodes them)."""

    def chunks() -> Iterator[bytes]:
        with file.open("rb") as stream:
            while data := stream.read(chunk):
                yield data

    start = 0
    items: list[bytes] = []
    try:
        for item in iter_items(chunks()):
            items.append(item)
            if len(items) >= batch:
                yield start, items
                start += len(items)
                items = []
    except JsonItemsError as exc:
        line, column = _line_and_column(file, exc.offset, chunk)
        raise CommandFailed(
            f"{file}: not valid JSON: {exc.message} at line {line}, column {column}"
        ) from None
    if items or start == 0:
        yield start, items


def _line_and_column(file: Path, offset: int, chunk: int) -> tuple[int, int]:
    """Line and column (from 1, in characters) of byte ``offset`` of FILE, read ``chunk`` bytes at a time:
    the place a JSON error is reported at, as for a file read whole (:func:`read_objects`)."""
    line, line_start, read = 1, b"", 0
    with file.open("rb") as stream:
        while read < offset and (data := stream.read(min(chunk, offset - read))):
            read += len(data)
            newlines = data.count(b"\n")
            if newlines:
                line += newlines
                line_start = data[data.rfind(b"\n") + 1 :]
            else:
                line_start += data
    return line, len(line_start.decode("utf-8", errors="replace")) + 1


def print_import_report(report: ImportReport, as_json: bool) -> None:
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


def parse_served(node: NodeContext, ocpi_version: str | None, parse: Callable[[str], T]) -> T:
    """``parse`` with ``ocpi_version``; without one, with each version the node serves, newest first, until
    one accepts the objects (a node serving 2.2.1 and 2.3.0 imports the 2.2.1 examples as they are). When
    none does, the refusal is the newest version's."""
    if ocpi_version is not None:
        return parse(ocpi_version)
    refusal: ValidationFailed | None = None
    for version in sorted(node.own.versions, key=version_key, reverse=True):
        try:
            return parse(version)
        except ValidationFailed as exc:
            refusal = refusal or exc
    assert refusal is not None  # a node serves at least one version
    raise refusal


async def record_import(node: NodeContext, module: str, report: ImportReport | None) -> None:
    """Keep the import's outcome for /metrics (``None``: it failed)."""
    if not module:
        return
    from evroam.metrics import import_result_setting, run_record

    counts = (
        {}
        if report is None
        else {
            "created": len(report.created),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
            "stale": len(report.stale),
        }
    )
    with contextlib.suppress(Exception):
        await node.store.set_setting(
            import_result_setting(module),
            run_record(node.clock.now().timestamp(), report is not None, counts),
        )


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
    module: str = "",
) -> None:
    """The ``import`` command: FILE (an OCPI object or a JSON array of them, of one version) parsed, owned by
    ``--party`` or else the node's only party among ``parties``, and stored all or nothing; the report
    printed. ``no_party``: the refusal when the node has none of ``parties``."""
    owner = parse_party(party)
    data = read_objects(file)

    async def action(node: NodeContext) -> ImportReport:
        if ocpi_version is not None and ocpi_version not in node.own.versions:
            raise click.ClickException(
                f"this node does not serve OCPI {ocpi_version} ({', '.join(node.own.versions)})"
            )
        ours = parties(node)
        if no_party is not None and not ours:
            raise click.ClickException(no_party)
        try:
            found = parse_served(
                node,
                ocpi_version,
                lambda version: parse(data, version, ours[0] if owner is None and len(ours) == 1 else owner),
            )
            report = await store(node, found)
        except Exception:
            await record_import(node, module, None)
            raise
        await record_import(node, module, report)
        return report

    print_import_report(run_admin(action), as_json)


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


# -- listings: own and received documents, filters and paging -------------------------------------------


@dataclass(frozen=True)
class Selection:
    """What a ``list`` / ``show`` command was asked for (the options of :func:`selection_options`).

    ``partner``: only what that partner sent; ``received``: what any partner sent; neither: the command's
    default (our own documents, or everything for sessions and CDRs). ``party``, ``date_from`` /
    ``date_to`` (on ``last_updated``, the end exclusive) filter; ``offset`` / ``limit`` page."""

    partner: str | None = None
    received: bool = False
    party: tuple[str, str] | None = None
    date_from: DateTime | None = None
    date_to: DateTime | None = None
    offset: int = 0
    limit: int | None = None

    @property
    def wants_received(self) -> bool:
        return self.received or self.partner is not None


@dataclass(frozen=True)
class Listed(Generic[Obj]):
    """One page of decoded documents, the number matching the filters, and who sent each (by id)."""

    items: list[tuple[Obj, str | None]]
    total: int
    names: dict[str, str]
    selection: Selection

    def source(self, partner_id: str | None) -> str:
        """``own``, or ``from NAME`` for a document a partner sent."""
        sender = self.received_from(partner_id)
        return "own" if sender is None else f"from {sender}"

    def received_from(self, partner_id: str | None) -> str | None:
        """The name of the partner that sent the document (its id when it is no longer known), ``None``
        for our own (stored without partner, or under one of our parties' scopes)."""
        if partner_id is None or is_party_scope(partner_id):
            return None
        return self.names.get(partner_id, partner_id)


def _time_option(value: str | None, option: str) -> DateTime | None:
    if value is None:
        return None
    try:
        return DateTime.parse(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a time such as 2026-03-01T10:00:00Z", param_hint=option
        ) from None


def selection_options(noun: str, *, paging: bool = True, default: str = "our own") -> Callable[[F], F]:
    """``--partner NAME``, ``--received``, ``--party CC:PID`` and, for listings (``paging``),
    ``--date-from`` / ``--date-to``, ``--offset`` / ``--limit``; the command gets one ``selection``."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            partner = kwargs.pop("partner")
            received = kwargs.pop("received")
            party = parse_party(kwargs.pop("party"))
            date_from = _time_option(kwargs.pop("date_from", None), "--date-from")
            date_to = _time_option(kwargs.pop("date_to", None), "--date-to")
            offset = kwargs.pop("offset", 0)
            limit = kwargs.pop("limit", None)
            selection = Selection(partner, received, party, date_from, date_to, offset, limit)
            return command(*args, selection=selection, **kwargs)

        options = [
            click.option(
                "--partner", default=None, metavar="NAME", help=f"Only the {noun} partner NAME sent."
            ),
            click.option("--received", is_flag=True, help=f"The {noun} partners sent [default: {default}]."),
            click.option(
                "--party", default=None, metavar="CC:PID", help=f"Only {noun} of this owner, e.g. NL:ABC."
            ),
        ]
        if paging:
            options += [
                click.option(
                    "--date-from", default=None, metavar="TIME", help="Only those changed at or after TIME."
                ),
                click.option(
                    "--date-to", default=None, metavar="TIME", help="Only those changed before TIME."
                ),
                click.option(
                    "--offset",
                    type=click.IntRange(min=0),
                    default=0,
                    show_default=True,
                    help="Skip this many.",
                ),
                click.option(
                    "--limit",
                    type=click.IntRange(min=1),
                    default=None,
                    help="Show at most this many [default: all].",
                ),
            ]
        for option in reversed(options):
            wrapper = option(wrapper)
        return cast(F, wrapper)

    return decorate


async def partner_names(node: NodeContext) -> dict[str, str]:
    """Every registered partner's id and name."""
    return {p.id: p.name for p in await node.registration.partners()}


async def _partners_filter(
    node: NodeContext, selection: Selection, *, own_default: bool
) -> tuple[list[str | None] | None, dict[str, str]]:
    names = await partner_names(node)
    if selection.partner is not None:
        partner = await node.registration.get(selection.partner)
        return [partner.id], names
    if selection.received:
        return list(names), names
    return ([None] if own_default else None), names


async def list_documents(
    node: NodeContext,
    kind: str,
    selection: Selection,
    decode: Callable[[bytes], Obj],
    *,
    own_default: bool = True,
    keep: Callable[[Obj], bool] | None = None,
) -> Listed[Obj]:
    """One page of the documents of ``kind`` the selection asks for, decoded; ``keep`` filters them
    further (then the page is cut after filtering)."""
    partners, names = await _partners_filter(node, selection, own_default=own_default)
    if partners == []:
        return Listed([], 0, names, selection)
    cc, pid = selection.party or (None, None)
    filters: dict[str, Any] = {
        "country_code": cc,
        "party_id": pid,
        "partners": partners,
        "date_from": selection.date_from,
        "date_to": selection.date_to,
    }
    if keep is None:
        page = await node.store.find(kind, **filters, offset=selection.offset, limit=selection.limit)
        return Listed([(decode(o.payload), o.partner_id) for o in page.items], page.total, names, selection)
    kept: list[tuple[Obj, str | None]] = []
    offset = 0
    while True:
        page = await node.store.find(kind, **filters, offset=offset, limit=500)
        for found in page.items:
            document = decode(found.payload)
            if keep(document):
                kept.append((document, found.partner_id))
        offset += len(page.items)
        if not page.items or offset >= page.total:
            break
    end = None if selection.limit is None else selection.offset + selection.limit
    return Listed(kept[selection.offset : end], len(kept), names, selection)


async def find_received(
    node: NodeContext,
    kind: str,
    object_id: str,
    selection: Selection,
    decode: Callable[[bytes], Obj],
    *,
    what: str,
) -> tuple[Obj, str]:
    """The document ``object_id`` of ``kind`` a partner sent (``--partner`` / ``--received``, ``--party``
    when several owners have one by that id), and the sending partner's name."""
    partners, names = await _partners_filter(node, selection, own_default=False)
    wanted = object_id.casefold()
    cc, pid = selection.party or (None, None)
    matches: list[tuple[Obj, str]] = []
    offset = 0
    while partners:
        page = await node.store.find(
            kind, country_code=cc, party_id=pid, partners=partners, offset=offset, limit=500
        )
        for found in page.items:
            if found.object_id.casefold() == wanted:
                matches.append((decode(found.payload), names.get(found.partner_id or "", "?")))
        offset += len(page.items)
        if not page.items or offset >= page.total:
            break
    source = f"received from {selection.partner}" if selection.partner else "received"
    if not matches:
        raise NotFound(f"no {what} {object_id!r} {source} (see the list command with --received)")
    if len(matches) > 1:
        raise click.UsageError(
            f"{len(matches)} {what}s {object_id!r} {source}: say whose with --party CC:PID"
        )
    return matches[0]


def emit_listing(
    listed: Listed[Any], rows: Sequence[Any], lines: Sequence[str], as_json: bool, *, noun: str, empty: str
) -> None:
    """Print a listing: JSON (the rows, a list) or the lines and, when the page is not everything, where
    it is in the whole; ``empty`` is said when nothing matched."""
    selection = listed.selection
    if as_json:
        emit(list(rows), True, "")
        return
    if not lines:
        click.echo(
            empty if listed.total == 0 else f"no {noun} at offset {selection.offset} (of {listed.total})"
        )
        return
    click.echo("\n".join(lines))
    if len(lines) < listed.total:
        first = selection.offset + 1
        last = selection.offset + len(lines)
        more = f"; --offset {last} for more" if last < listed.total else ""
        click.echo(f"({noun} {first}-{last} of {listed.total}{more})")
