"""``evroam migrate`` and ``evroam backup``: the operator's commands around the node's database.

* ``migrate``: shows the revision the database is at and the one this evroam needs, and upgrades it
  (``--dry-run``: only shows them; exit status 1 when an upgrade is due). ``serve`` migrates on start
  too; running ``migrate`` first makes an upgrade a step of its own (docs/deployment.md).
* ``backup DEST``: a consistent copy of the SQLite database through SQLite's online backup API, while
  the node runs (a read snapshot: writers go on meanwhile, the copy is the database as of one
  transaction). DEST is a file, or a directory that gets ``evroam-<UTC time>.db``. The copy is written
  beside DEST and renamed into place, owner-only (0600), and checked (``PRAGMA quick_check``).
  For PostgreSQL it makes no copy: it prints the ``pg_dump`` command to run (stdout) and exits with
  status 1, so that a script never mistakes it for a backup made.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

from evroam.cli.node import database_problem, settings_of
from evroam.modules.output import CommandFailed, emit
from evroam.node.logs import configure_logging
from evroam.node.settings import Settings

__all__ = ["backup", "migrate"]


def _sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file of the node's database; ``None`` for PostgreSQL."""
    if settings.database_url is None:
        return Path(settings.data_dir) / "evroam.db"
    from evroam.store.sql import normalise_url

    try:
        url = normalise_url(settings.database_url)
    except Exception as exc:
        raise CommandFailed(database_problem(exc, settings) or str(exc)) from None
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise CommandFailed("an in-memory SQLite database has nothing to back up or migrate")
    return Path(url.database)


def _url(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url
    return f"sqlite:///{(Path(settings.data_dir) / 'evroam.db').resolve()}"


@click.command()
@click.option("--dry-run", is_flag=True, help="Only show the current and the needed revision.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def migrate(dry_run: bool, as_json: bool) -> None:
    """Upgrade the node's database to the revision this evroam needs; shows both revisions."""
    settings = settings_of()
    configure_logging("WARNING")
    sqlite_file = _sqlite_path(settings)
    if sqlite_file is not None and not sqlite_file.exists():
        raise CommandFailed(f"no database at {sqlite_file} (run `evroam init` first)")
    from sqlalchemy.pool import NullPool

    from evroam.store.migrate import current_revision, head_revision
    from evroam.store.sql import SqlStore

    head = head_revision()

    async def work() -> tuple[str | None, str | None]:
        store = SqlStore.from_url(_url(settings), engine_options={"poolclass": NullPool})
        try:
            before = await store.run_sync(current_revision)
            if dry_run or before == head:
                return before, before
            await store.migrate()
            return before, await store.run_sync(current_revision)
        finally:
            await store.close()

    try:
        before, after = asyncio.run(work())
    except Exception as exc:
        problem = database_problem(exc, settings)
        if problem is None:
            raise
        raise CommandFailed(problem) from None
    data = {"current": before, "target": head, "after": after, "upgraded": before != after}
    if dry_run:
        text = f"database at revision {before or 'none'}; this evroam needs {head}" + (
            "" if before == head else " (run `evroam migrate`)"
        )
        emit(data, as_json, text)
        if before != head:
            raise SystemExit(1)
        return
    if before == after:
        emit(data, as_json, f"database at revision {after}: up to date")
    else:
        emit(data, as_json, f"database upgraded from revision {before or 'none'} to {after}")


def _pg_dump_command(url: str, dest: Path) -> str:
    from sqlalchemy.engine import URL, make_url

    given = make_url(url)
    parsed = URL.create(
        "postgresql", given.username, None, given.host, given.port, given.database, given.query
    )
    shown = parsed.render_as_string(hide_password=False)  # there is none: it goes in PGPASSWORD
    return f"pg_dump --format=custom --no-owner --file '{dest}' '{shown}'"


@click.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite DEST if it is a file that exists.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def backup(dest: Path, force: bool, as_json: bool) -> None:
    """Copy the node's SQLite database to DEST (a file, or a directory), consistent while the node runs.

    With PostgreSQL: prints the pg_dump command to run instead and exits with status 1."""
    settings = settings_of()
    source = _sqlite_path(settings)
    if source is None:
        assert settings.database_url is not None
        target = dest / f"evroam-{_stamp()}.dump" if dest.is_dir() else dest
        click.echo(_pg_dump_command(settings.database_url, target))
        raise CommandFailed(
            "evroam makes no copy of a PostgreSQL database: run the pg_dump command above "
            "(the password from PGPASSWORD or ~/.pgpass); see docs/deployment.md"
        )
    if not source.exists():
        raise CommandFailed(f"no database at {source} (run `evroam init` first)")
    target = dest / f"evroam-{_stamp()}.db" if dest.is_dir() else dest
    if target.exists() and not force:
        raise CommandFailed(f"{target} already exists; add --force to overwrite it")
    if not target.parent.is_dir():
        raise CommandFailed(f"{target.parent} is not a directory")
    try:
        size = _copy(source, target)
    except sqlite3.Error as exc:
        raise CommandFailed(f"the backup of {source} failed: {exc}") from None
    except OSError as exc:
        raise CommandFailed(f"cannot write {target}: {exc.strerror or exc}") from None
    emit(
        {"source": str(source), "backup": str(target), "bytes": size},
        as_json,
        f"backup of {source} written to {target} ({size} bytes)",
    )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _copy(source: Path, target: Path) -> int:
    """SQLite's online backup of ``source`` into ``target`` (through a temporary file beside it)."""
    fd, tmp_name = tempfile.mkstemp(prefix=".evroam-backup-", suffix=".db", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o600)
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)  # all pages in one step: one read transaction, a consistent snapshot
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                check = dst.execute("PRAGMA quick_check").fetchone()
                if check is None or check[0] != "ok":
                    raise sqlite3.DatabaseError(f"the copy does not pass quick_check: {check}")
            finally:
                dst.close()
        finally:
            src.close()
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        return target.stat().st_size
    finally:
        tmp.unlink(missing_ok=True)
