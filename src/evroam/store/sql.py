"""The SQL :class:`~evroam.store.port.Store`: SQLAlchemy 2 Core, SQLite or PostgreSQL.

Every operation is written once, as plain SQLAlchemy Core on a sync :class:`~sqlalchemy.Connection`,
and run in one of two ways:

* **awaited** through an :class:`~sqlalchemy.ext.asyncio.AsyncEngine` (``AsyncConnection.run_sync``):
  PostgreSQL with asyncpg (``postgresql+asyncpg://``), or SQLite with aiosqlite
  (``sqlite+aiosqlite://``);
* **inline** on the event loop thread with the standard ``sqlite3`` driver (``sqlite://``, the
  default). SQLite calls in WAL mode take microseconds, less than one hop to aiosqlite's thread
  (measured ~90 µs a hop on the 2-core reference machine, and SQLAlchemy's aiosqlite adapter makes
  about four hops a statement): a PATCH-like transaction costs ~0.2 ms inline against 1-2 ms through
  aiosqlite. The price: a call blocks the loop while it runs (a page of 100 objects of 2 kB with
  its total count: about a millisecond), and waiting for *another process's* write lock
  (``busy_timeout``) would block it too, so several worker processes should share PostgreSQL, or use
  ``sqlite+aiosqlite://``.

SQLite connections run in WAL mode with ``synchronous=NORMAL``, ``foreign_keys=ON`` and a
``busy_timeout``. The driver's own transaction handling is switched off (``isolation_level=None``): a
single statement runs on its own (SQLite makes it atomic), a transaction starts with
``BEGIN IMMEDIATE`` so that read-modify-write cannot deadlock on the lock upgrade, and the writes of one
process queue on an :class:`asyncio.Lock`. Inline mode keeps two connections: one for writes and
transactions, one for reads (WAL readers never wait); on a file, the transactions of one turn of the
event loop share one COMMIT, each answered once it is done (group commit, :class:`_Group`).

PostgreSQL: single operations run in autocommit mode (one round trip each); transactions are READ
COMMITTED; ``get(..., for_update=True)`` takes a row lock and ``outbox_claim`` uses
``FOR UPDATE SKIP LOCKED``, so several workers can share the database.

``put`` is one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` whose ``WHERE`` does the stale check,
so it is atomic without a prior read.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext, suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, NamedTuple, ParamSpec, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Select,
    Update,
    and_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    false,
    func,
    inspect,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

if TYPE_CHECKING:  # the asyncio extension loads SQLAlchemy's ORM: imported only for awaited engines
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from evroam.core.types import DateTime
from evroam.store._txguard import check_no_transaction, inside_transaction
from evroam.store.failures import storage_failure
from evroam.store.port import (
    ObjectKey,
    OutboxItem,
    OutboxStatus,
    Page,
    PutOutcome,
    StoredObject,
    Transaction,
    utc,
)
from evroam.store.schema import SCHEMA_HEAD, VERSION_TABLE, UtcDateTime, objects, outbox, settings

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "GroupCommitFailed",
    "SqlStore",
    "make_engine",
    "migrate_url",
    "normalise_url",
    "run_on_url",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")
_P = ParamSpec("_P")

SQLITE_BUSY_TIMEOUT_MS = 5000
_SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-16000",  # 16 MiB per connection
)
# A constant key for pg_advisory_xact_lock, so that workers starting together migrate one at a time.
_PG_MIGRATION_LOCK = 0x65_76_72_6F_61_6D  # "evroam"
# Another one that serialises outbox_claim_objects between workers (the claim reads whole groups).
_PG_OUTBOX_CLAIM_LOCK = 0x65_76_72_6F_61_6D_6F_62  # "evroamob"


# -- engines -------------------------------------------------------------------------------------


def normalise_url(url: str | URL) -> URL:
    """The URL with a supported driver.

    ``sqlite://`` (inline ``sqlite3``) and ``sqlite+aiosqlite://`` are kept; ``postgresql://`` and
    ``postgres://`` become ``postgresql+asyncpg://``. Anything else raises ``ValueError``.
    """
    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed.set(drivername="sqlite")
    if backend == "sqlite" and driver == "aiosqlite":
        return parsed
    if backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(
        f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: use "
        "sqlite:///path, sqlite+aiosqlite:///path or postgresql://user@host/database"
    )


def _is_memory_sqlite(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def make_engine(
    url: str | URL,
    *,
    schema: str | None = None,
    engine_options: Mapping[str, Any] | None = None,
) -> Engine | AsyncEngine:
    """An engine set up as the store needs it: a sync one for ``sqlite://``, async otherwise.

    ``schema`` (PostgreSQL only) puts the store's tables in that schema (it becomes the connections'
    ``search_path``; create it beforehand). ``engine_options`` go to ``create_engine`` /
    ``create_async_engine`` and override the defaults (e.g. ``pool_size``, ``echo``).
    """
    parsed = normalise_url(url)
    options: dict[str, Any] = {}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        if schema is not None:
            raise ValueError("schema= is only supported on PostgreSQL")
        if parsed.drivername == "sqlite+aiosqlite" and not _is_memory_sqlite(parsed):
            options.update(pool_size=4, max_overflow=4)  # one thread per connection
    else:
        options.update(pool_size=10, max_overflow=10, pool_recycle=1800)
        if schema is not None:
            options["connect_args"] = {"server_settings": {"search_path": schema}}
    if engine_options and "poolclass" in engine_options:  # sizing is the chosen pool's business
        for sizing in ("pool_size", "max_overflow", "pool_recycle"):
            options.pop(sizing, None)
    given = dict(engine_options or {})
    if "connect_args" in given and "connect_args" in options:  # keep our search_path, add theirs
        server_settings = {**options["connect_args"]["server_settings"]}
        server_settings.update(given["connect_args"].get("server_settings", {}))
        given["connect_args"] = {**given["connect_args"], "server_settings": server_settings}
    options.update(given)
    if parsed.drivername == "sqlite":
        engine: Engine | AsyncEngine = create_engine(parsed, **options)
    else:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(parsed, **options)
    if sqlite:
        memory = _is_memory_sqlite(parsed)
        sync_engine = engine if isinstance(engine, Engine) else engine.sync_engine

        @event.listens_for(sync_engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
            # let the store, not the sqlite3 module, decide where transactions begin
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                if not memory:
                    cursor.execute("PRAGMA journal_mode=WAL")
                for pragma in _SQLITE_PRAGMAS:
                    cursor.execute(pragma)
            finally:
                cursor.close()

    return engine


# -- WAL checkpoints off the event loop ------------------------------------------------------------

CHECKPOINT_INTERVAL_S = 0.1
"""How often the checkpointer thread copies committed WAL frames into the database file."""
INLINE_CHECKPOINT_PAGES = 10_000
"""The writer connection's own ``wal_autocheckpoint``: only reached if the thread falls behind."""
RESTART_CHECKPOINT_PAGES = 4_000
"""A WAL this long (16 MiB of 4 kB pages) is restarted from its beginning by the checkpointer."""


class _Checkpointer:
    """Runs ``PRAGMA wal_checkpoint(PASSIVE)`` in a thread of its own, on a connection of its own.

    By default SQLite checkpoints inside the COMMIT that takes the WAL past 1,000 pages, and with
    ``synchronous=NORMAL`` a checkpoint is where the fsyncs happen: measured on the reference machine,
    a one-row read-modify-write cost ~570 µs on average that way against ~170 µs with the
    checkpoints elsewhere. A passive checkpoint never blocks writers or readers, and the sqlite3
    module releases the GIL while it runs, so the event loop keeps serving meanwhile. Durability is
    unchanged: a transaction is committed once it is in the WAL, whether or not it was checkpointed.

    The thread starts with the first commit and ends after a second without any.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._dirty = False
        self._running = False
        self._stop = threading.Event()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        self._dirty = True
        if not self._running:
            self._start()

    def _start(self) -> None:
        with self._guard:
            if self._running or self._stop.is_set():
                return
            self._running = True
            self._thread = threading.Thread(target=self._run, name="evroam-wal-checkpoint", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        idle = 0
        try:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            try:
                conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                while not self._stop.wait(CHECKPOINT_INTERVAL_S):
                    if not self._dirty:
                        idle += 1
                        if idle * CHECKPOINT_INTERVAL_S >= 1.0:
                            break
                        continue
                    idle = 0
                    self._dirty = False
                    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames >= RESTART_CHECKPOINT_PAGES:
                        # under steady writes the WAL is never wholly copied when a writer starts,
                        # so it would only grow: make the next writer start it afresh (writers wait
                        # for the few frames written since the passive checkpoint, and one fsync)
                        conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
            finally:
                conn.close()
        except Exception as exc:  # the writer's own autocheckpoint still bounds the WAL
            failure = storage_failure(exc)
            if failure is None:
                log.warning("WAL checkpoint of %s failed", self._path, exc_info=True)
            else:  # a full or read-only disk: the requests say so too, no traceback needed
                log.warning(
                    "WAL checkpoint failed: the database is unavailable (%s): %s",
                    failure.reason,
                    failure.detail,
                )
        finally:
            with self._guard:
                self._running = False

    def stop(self) -> None:
        self._stop.set()
        with self._guard:
            thread = self._thread
        if thread is not None:
            thread.join()


# -- statements ----------------------------------------------------------------------------------

_o = objects.c
_OBJECT_COLUMNS = (
    _o.kind,
    _o.country_code,
    _o.party_id,
    _o.object_id,
    _o.last_updated,
    _o.payload,
    _o.partner_id,
    _o.seq,
    _o.revision,
)  # the field order of StoredObject
_KEY_MATCH = and_(
    _o.kind == bindparam("kind"),
    _o.key_country == bindparam("key_country"),
    _o.key_party == bindparam("key_party"),
    _o.key_id == bindparam("key_id"),
)
_GET = select(*_OBJECT_COLUMNS).where(_KEY_MATCH)
_GET_FOR_UPDATE = _GET.with_for_update()
_DELETE = delete(objects).where(_KEY_MATCH)

_b = outbox.c
_OUTBOX_COLUMNS = (
    _b.id,
    _b.partner_id,
    _b.kind,
    _b.object_key,
    _b.payload,
    _b.status,
    _b.attempts,
    _b.due_at,
    _b.last_error,
    _b.created_at,
)  # the field order of OutboxItem
_ACTIVE = (OutboxStatus.PENDING.value, OutboxStatus.IN_FLIGHT.value)


class _Upserts:
    """The dialect-specific statements."""

    def __init__(self, dialect: str) -> None:
        insert: Callable[[Any], Any] = sqlite_insert
        if dialect == "postgresql":  # not loaded by a SQLite node (start-up)
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            insert = pg_insert
        ins = insert(objects)
        replace = {
            "payload": ins.excluded.payload,
            "last_updated": ins.excluded.last_updated,
            "partner_id": ins.excluded.partner_id,
            "revision": _o.revision + 1,
        }
        target = [_o.kind, _o.key_country, _o.key_party, _o.key_id]
        self.put_checked = ins.on_conflict_do_update(
            index_elements=target, set_=replace, where=_o.last_updated <= ins.excluded.last_updated
        ).returning(_o.revision)
        self.put_unchecked = ins.on_conflict_do_update(index_elements=target, set_=replace).returning(
            _o.revision
        )
        sins = insert(settings)
        self.set_setting = sins.on_conflict_do_update(
            index_elements=[settings.c.name], set_={"value": sins.excluded.value}
        )


class _UpsertsByDialect(dict[str, _Upserts]):
    """The statements of each supported dialect, made on first use."""

    def __missing__(self, dialect: str) -> _Upserts:
        if dialect not in _DIALECTS:
            raise KeyError(dialect)
        made = self[dialect] = _Upserts(dialect)
        return made


_DIALECTS = frozenset({"sqlite", "postgresql"})
_UPSERTS = _UpsertsByDialect()


# -- the operations, as sync code on one connection ----------------------------------------------


def _object(row: Sequence[Any]) -> StoredObject:
    return StoredObject(*row)


def _outbox_item(row: Sequence[Any]) -> OutboxItem:
    item_id, partner_id, kind, object_key, payload, status, attempts, due_at, last_error, created_at = row
    return OutboxItem(
        id=item_id,
        partner_id=partner_id,
        kind=kind,
        object_key=object_key,
        payload=payload,
        status=OutboxStatus(status),
        attempts=attempts,
        due_at=due_at,
        last_error=last_error,
        created_at=created_at,
    )


def _key_params(key: ObjectKey) -> dict[str, Any]:
    return {
        "kind": key.kind,
        "key_country": key.country_code.casefold(),
        "key_party": key.party_id.casefold(),
        "key_id": key.object_id.casefold(),
    }


class _Shape(NamedTuple):
    """Which filters a listing uses: one prepared statement pair per shape."""

    country: bool
    party: bool
    named_partners: bool
    null_partner: bool
    partner_filter: bool
    date_from: bool
    date_to: bool


def _filter_params(
    kind: str,
    country_code: str | None,
    party_id: str | None,
    partners: Collection[str | None] | None,
    date_from: datetime | None,
    date_to: datetime | None,
) -> tuple[_Shape, dict[str, Any]]:
    params: dict[str, Any] = {"kind": kind}
    if country_code is not None:
        params["key_country"] = country_code.casefold()
    if party_id is not None:
        params["key_party"] = party_id.casefold()
    named: list[str] = []
    if partners is not None:
        named = sorted({p for p in partners if p is not None})
        if named:
            params["partners"] = named
    if date_from is not None:
        params["date_from"] = utc(date_from)
    if date_to is not None:
        params["date_to"] = utc(date_to)
    shape = _Shape(
        country=country_code is not None,
        party=party_id is not None,
        named_partners=bool(named),
        null_partner=partners is not None and None in partners,
        partner_filter=partners is not None,
        date_from=date_from is not None,
        date_to=date_to is not None,
    )
    return shape, params


@functools.lru_cache(maxsize=128)
def _listing(shape: _Shape) -> tuple[Select[Any], Select[Any]]:
    """``(count, page)`` statements for a shape; the page takes ``offset`` and ``limit`` parameters.

    The page is a "deferred join": the window of ``seq`` values is chosen first, on the listing index
    that holds every filtered column (no row is read for the rows skipped by the offset or rejected by
    a filter), then only those rows are fetched. Measured on SQLite with 10,000 objects of 2 kB, a
    page of those updated since a date took 6-8 ms selecting whole rows and 0.8 ms this way;
    PostgreSQL otherwise tends to sort whole rows, spilling to disk (21 ms against 0.5 ms).
    """
    where: list[ColumnElement[bool]] = [_o.kind == bindparam("kind")]
    if shape.country:
        where.append(_o.key_country == bindparam("key_country"))
    if shape.party:
        where.append(_o.key_party == bindparam("key_party"))
    if shape.partner_filter:
        either: list[ColumnElement[bool]] = []
        if shape.named_partners:
            either.append(_o.partner_id.in_(bindparam("partners", expanding=True)))
        if shape.null_partner:
            either.append(_o.partner_id.is_(None))
        where.append(or_(*either) if either else false())
    if shape.date_from:
        where.append(_o.last_updated >= bindparam("date_from", type_=UtcDateTime))
    if shape.date_to:
        where.append(_o.last_updated < bindparam("date_to", type_=UtcDateTime))
    count = select(func.count()).select_from(objects).where(*where)
    window = (
        select(_o.seq)
        .where(*where)
        .order_by(_o.seq)
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
        .subquery("page_seqs")
    )
    page = select(*_OBJECT_COLUMNS).join_from(window, objects, window.c.seq == _o.seq).order_by(window.c.seq)
    return count, page


def _check_window(offset: int, limit: int | None) -> None:
    if offset < 0:
        raise ValueError("offset must not be negative")
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")


def _get(conn: Connection, key: ObjectKey, for_update: bool) -> StoredObject | None:
    row = conn.execute(_GET_FOR_UPDATE if for_update else _GET, _key_params(key)).first()
    return None if row is None else _object(row)


def _put(
    conn: Connection,
    key: ObjectKey,
    payload: bytes,
    last_updated: datetime,
    partner_id: str | None,
    check_stale: bool,
) -> PutOutcome:
    params = _key_params(key)
    params.update(
        country_code=str(key.country_code),
        party_id=str(key.party_id),
        object_id=str(key.object_id),
        last_updated=utc(last_updated),
        revision=1,
        partner_id=partner_id,
        payload=bytes(payload),
    )
    upserts = _UPSERTS[conn.dialect.name]
    revision = conn.execute(upserts.put_checked if check_stale else upserts.put_unchecked, params).scalar()
    if revision is None:
        return PutOutcome.STALE
    return PutOutcome.CREATED if revision == 1 else PutOutcome.UPDATED


# -- SQLite inline: the hot statements straight on the sqlite3 connection -------------------------
#
# A read-modify-write of one object through SQLAlchemy Core costs ~40 µs a statement in Python on the
# reference machine (execution context, result object, row processing), several times what SQLite
# itself needs. ``get`` and ``put`` - every request's statements - therefore run on the DBAPI
# connection with the SQL that SQLAlchemy compiles once from the same statements (so both paths stay
# one definition), named parameters, and the two type conversions done by hand (``last_updated`` as
# the fixed-width UTC text of :class:`~evroam.store.schema.UtcDateTime`). PostgreSQL and aiosqlite
# keep the SQLAlchemy path.


class _RawSqlite:
    """The SQL text of the hot statements for the ``sqlite3`` driver, compiled once."""

    _PUT_COLUMNS = (
        "kind",
        "key_country",
        "key_party",
        "key_id",
        "country_code",
        "party_id",
        "object_id",
        "last_updated",
        "revision",
        "partner_id",
        "payload",
    )

    def __init__(self) -> None:
        dialect = sqlite_dialect(paramstyle="named")
        self.get = str(_GET.compile(dialect=dialect))
        upserts = _UPSERTS["sqlite"]
        self.put_checked, self.put_checked_extra = self._insert(upserts.put_checked, dialect)
        self.put_unchecked, self.put_unchecked_extra = self._insert(upserts.put_unchecked, dialect)

    def _insert(self, stmt: Any, dialect: Any) -> tuple[str, dict[str, Any]]:
        compiled = stmt.compile(dialect=dialect, column_keys=list(self._PUT_COLUMNS))
        # the literal parameters SQLAlchemy added (``revision + 1``)
        extra = {k: v for k, v in compiled.params.items() if k not in self._PUT_COLUMNS}
        return str(compiled), extra


_RAW = _RawSqlite()


def _sqlite_text(value: datetime) -> str:
    """What :class:`~evroam.store.schema.UtcDateTime` stores on SQLite."""
    return utc(value).isoformat(" ", "microseconds")[:26]


def _raw_get(conn: Connection, key: ObjectKey, for_update: bool) -> StoredObject | None:
    # SQLite has no row locks: ``for_update`` inside a transaction is BEGIN IMMEDIATE's write lock
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    row = dbapi.execute(_RAW.get, _key_params(key)).fetchone()
    if row is None:
        return None
    kind, country, party, object_id, last_updated, payload, partner_id, seq, revision = row
    return StoredObject(
        kind,
        country,
        party,
        object_id,
        DateTime.fromisoformat(last_updated + "+00:00"),
        bytes(payload),
        partner_id,
        seq,
        revision,
    )


def _raw_put(
    conn: Connection,
    key: ObjectKey,
    payload: bytes,
    last_updated: datetime,
    partner_id: str | None,
    check_stale: bool,
) -> PutOutcome:
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    params = _key_params(key)
    params.update(
        country_code=str(key.country_code),
        party_id=str(key.party_id),
        object_id=str(key.object_id),
        last_updated=_sqlite_text(last_updated),
        revision=1,
        partner_id=partner_id,
        payload=bytes(payload),
    )
    if check_stale:
        params.update(_RAW.put_checked_extra)
        row = dbapi.execute(_RAW.put_checked, params).fetchone()
    else:
        params.update(_RAW.put_unchecked_extra)
        row = dbapi.execute(_RAW.put_unchecked, params).fetchone()
    if row is None:
        return PutOutcome.STALE
    return PutOutcome.CREATED if row[0] == 1 else PutOutcome.UPDATED


def _delete(conn: Connection, key: ObjectKey) -> bool:
    return bool(conn.execute(_DELETE, _key_params(key)).rowcount)


def _count_rows(conn: Connection, stmt: Select[Any], params: dict[str, Any]) -> int:
    total = conn.execute(stmt, params).scalar()
    assert total is not None
    return int(total)


def _find(
    conn: Connection,
    kind: str,
    country_code: str | None,
    party_id: str | None,
    partners: Collection[str | None] | None,
    date_from: datetime | None,
    date_to: datetime | None,
    offset: int,
    limit: int | None,
) -> Page:
    _check_window(offset, limit)
    shape, params = _filter_params(kind, country_code, party_id, partners, date_from, date_to)
    count, page = _listing(shape)
    total = _count_rows(conn, count, params)
    if limit == 0 or offset >= total:
        return Page([], total)
    params["offset"] = offset
    params["limit"] = total - offset if limit is None else limit
    return Page([_object(row) for row in conn.execute(page, params).all()], total)


def _count(
    conn: Connection,
    kind: str,
    country_code: str | None,
    party_id: str | None,
    partners: Collection[str | None] | None,
    date_from: datetime | None,
    date_to: datetime | None,
) -> int:
    shape, params = _filter_params(kind, country_code, party_id, partners, date_from, date_to)
    return _count_rows(conn, _listing(shape)[0], params)


_GET_SETTING = select(settings.c.value).where(settings.c.name == bindparam("name"))
_DELETE_SETTING = delete(settings).where(settings.c.name == bindparam("name"))
_OUTBOX_INSERT = outbox.insert().returning(_b.id)
_OUTBOX_CLAIM = (
    update(outbox)
    .where(
        _b.id.in_(
            select(_b.id)
            .where(_b.status.in_(_ACTIVE), _b.due_at <= bindparam("now", type_=UtcDateTime))
            .order_by(_b.due_at, _b.id)
            .limit(bindparam("limit", type_=Integer))
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite holds the whole write lock anyway
            .scalar_subquery()
        )
    )
    .values(
        status=OutboxStatus.IN_FLIGHT.value,
        due_at=bindparam("lease_end", type_=UtcDateTime),
        attempts=_b.attempts + 1,
    )
    .returning(*_OUTBOX_COLUMNS)
)
_IN_FLIGHT = and_(_b.id == bindparam("item_id"), _b.status == OutboxStatus.IN_FLIGHT.value)
_OUTBOX_DELIVERED = update(outbox).where(_IN_FLIGHT).values(status=OutboxStatus.DELIVERED.value)
_OUTBOX_DELIVERED_NOTE = (
    update(outbox).where(_IN_FLIGHT).values(status=OutboxStatus.DELIVERED.value, last_error=bindparam("note"))
)
_OUTBOX_FAILED = (
    update(outbox)
    .where(_IN_FLIGHT)
    .values(
        status=OutboxStatus.PENDING.value,
        due_at=bindparam("retry_at", type_=UtcDateTime),
        last_error=bindparam("error"),
    )
)
_OUTBOX_PARKED = (
    update(outbox).where(_IN_FLIGHT).values(status=OutboxStatus.PARKED.value, last_error=bindparam("error"))
)
_OUTBOX_GET = select(*_OUTBOX_COLUMNS).where(_b.id == bindparam("item_id"))
_OUTBOX_RETRY = (
    update(outbox)
    .where(_b.id == bindparam("item_id"), _b.status == OutboxStatus.PARKED.value)
    .values(
        status=OutboxStatus.PENDING.value,
        due_at=bindparam("retry_at", type_=UtcDateTime),
        attempts=0,
    )
)


def _claim_objects_statement() -> Update:
    now = bindparam("now", type_=UtcDateTime)
    groups = (
        select(
            _b.partner_id,
            _b.kind,
            _b.object_key,
            func.min(_b.id).label("head_id"),
            func.max(
                case((and_(_b.status == OutboxStatus.IN_FLIGHT.value, _b.due_at > now), 1), else_=0)
            ).label("busy"),
        )
        .where(_b.status.in_(_ACTIVE))
        .group_by(_b.partner_id, _b.kind, _b.object_key)
        .subquery("outbox_groups")
    )
    head = outbox.alias("outbox_head")
    due_groups = (
        select(groups.c.partner_id, groups.c.kind, groups.c.object_key)
        .join_from(groups, head, head.c.id == groups.c.head_id)
        .where(groups.c.busy == 0, head.c.due_at <= now)
        .order_by(head.c.due_at, head.c.id)
        .limit(bindparam("limit", type_=Integer))
    )
    return (
        update(outbox)
        .where(_b.status.in_(_ACTIVE), tuple_(_b.partner_id, _b.kind, _b.object_key).in_(due_groups))
        .values(
            status=OutboxStatus.IN_FLIGHT.value,
            due_at=bindparam("lease_end", type_=UtcDateTime),
            attempts=_b.attempts + 1,
        )
        .returning(*_OUTBOX_COLUMNS)
    )


_OUTBOX_CLAIM_OBJECTS = _claim_objects_statement()
_OUTBOX_PURGE = delete(outbox).where(_b.status == OutboxStatus.DELIVERED.value)


def _get_setting(conn: Connection, name: str) -> str | None:
    value: str | None = conn.execute(_GET_SETTING, {"name": name}).scalar()
    return value


def _set_setting(conn: Connection, name: str, value: str) -> None:
    conn.execute(_UPSERTS[conn.dialect.name].set_setting, {"name": name, "value": value})


def _delete_setting(conn: Connection, name: str) -> bool:
    return bool(conn.execute(_DELETE_SETTING, {"name": name}).rowcount)


def _outbox_enqueue(
    conn: Connection, partner_id: str, kind: str, object_key: str, payload: bytes, due_at: datetime
) -> int:
    params = {
        "partner_id": partner_id,
        "kind": kind,
        "object_key": object_key,
        "payload": bytes(payload),
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "due_at": utc(due_at),
        "last_error": None,
        "created_at": utc(due_at),  # every caller enqueues what is due now
    }
    item_id = conn.execute(_OUTBOX_INSERT, params).scalar()
    assert item_id is not None
    return int(item_id)


def _outbox_claim(conn: Connection, now: datetime, limit: int, lease: timedelta) -> list[OutboxItem]:
    if limit < 0:
        raise ValueError("limit must not be negative")
    at = utc(now)
    params = {"now": at, "limit": limit, "lease_end": utc(at + lease)}
    items = [_outbox_item(row) for row in conn.execute(_OUTBOX_CLAIM, params).all()]
    items.sort(key=lambda item: item.id)  # they all share the new due_at; RETURNING has no order
    return items


def _outbox_claim_objects(conn: Connection, now: datetime, limit: int, lease: timedelta) -> list[OutboxItem]:
    if limit < 0:
        raise ValueError("limit must not be negative")
    if conn.dialect.name == "postgresql":  # whole groups are read: one claimer at a time
        conn.execute(select(func.pg_advisory_xact_lock(_PG_OUTBOX_CLAIM_LOCK)))
    at = utc(now)
    params = {"now": at, "limit": limit, "lease_end": utc(at + lease)}
    items = [_outbox_item(row) for row in conn.execute(_OUTBOX_CLAIM_OBJECTS, params).all()]
    items.sort(key=lambda item: item.id)
    return items


def _outbox_list(
    conn: Connection,
    status: OutboxStatus | None,
    partner_id: str | None,
    kind: str | None,
    object_key: str | None,
    offset: int,
    limit: int | None,
) -> list[OutboxItem]:
    _check_window(offset, limit)
    where: list[ColumnElement[bool]] = []
    if status is not None:
        where.append(_b.status == status.value)
    if partner_id is not None:
        where.append(_b.partner_id == partner_id)
    if kind is not None:
        where.append(_b.kind == kind)
    if object_key is not None:
        where.append(_b.object_key == object_key)
    stmt = select(*_OUTBOX_COLUMNS).where(*where).order_by(_b.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_outbox_item(row) for row in conn.execute(stmt).all()]


def _outbox_finish(conn: Connection, stmt: Update, params: dict[str, Any]) -> bool:
    return bool(conn.execute(stmt, params).rowcount)


def _outbox_get(conn: Connection, item_id: int) -> OutboxItem | None:
    row = conn.execute(_OUTBOX_GET, {"item_id": item_id}).first()
    return None if row is None else _outbox_item(row)


def _outbox_count(conn: Connection, status: OutboxStatus | None, partner_id: str | None) -> int:
    where: list[ColumnElement[bool]] = []
    if status is not None:
        where.append(_b.status == status.value)
    if partner_id is not None:
        where.append(_b.partner_id == partner_id)
    total = conn.execute(select(func.count()).select_from(outbox).where(*where)).scalar()
    assert total is not None
    return int(total)


def _outbox_depths(conn: Connection) -> list[tuple[str, OutboxStatus, int, datetime, datetime]]:
    rows = conn.execute(
        select(
            _b.partner_id,
            _b.status,
            func.count(),
            func.min(_b.due_at),
            func.min(_b.created_at),
        )
        .where(_b.status != OutboxStatus.DELIVERED.value)
        .group_by(_b.partner_id, _b.status)
        .order_by(_b.partner_id, _b.status)
    ).all()
    return [(str(p), OutboxStatus(st), int(n), due, made) for p, st, n, due, made in rows]


def _outbox_purge_delivered(conn: Connection) -> int:
    return int(conn.execute(_OUTBOX_PURGE).rowcount)


# -- the async surface ---------------------------------------------------------------------------


class _Operations:
    """The port's methods, each one forwarded to the sync operation through ``_read`` / ``_write``."""

    async def _read(
        self, fn: Callable[Concatenate[Connection, _P], _T], /, *a: _P.args, **k: _P.kwargs
    ) -> _T:
        raise NotImplementedError

    async def _write(
        self, fn: Callable[Concatenate[Connection, _P], _T], /, *a: _P.args, **k: _P.kwargs
    ) -> _T:
        raise NotImplementedError

    # -- objects ---------------------------------------------------------------------------------

    # the implementations of the two hot operations: SQLAlchemy Core, or the sqlite3 fast path
    _get_op: Callable[[Connection, ObjectKey, bool], StoredObject | None] = staticmethod(_get)
    _put_op: Callable[[Connection, ObjectKey, bytes, datetime, str | None, bool], PutOutcome] = staticmethod(
        _put
    )

    async def get(self, key: ObjectKey, *, for_update: bool = False) -> StoredObject | None:
        return await self._read(self._get_op, key, for_update)

    async def put(
        self,
        key: ObjectKey,
        payload: bytes,
        last_updated: datetime,
        *,
        partner_id: str | None = None,
        check_stale: bool = True,
    ) -> PutOutcome:
        return await self._write(self._put_op, key, payload, last_updated, partner_id, check_stale)

    async def delete(self, key: ObjectKey) -> bool:
        return await self._write(_delete, key)

    async def find(
        self,
        kind: str,
        *,
        country_code: str | None = None,
        party_id: str | None = None,
        partners: Collection[str | None] | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> Page:
        return await self._read(
            _find, kind, country_code, party_id, partners, date_from, date_to, offset, limit
        )

    async def count(
        self,
        kind: str,
        *,
        country_code: str | None = None,
        party_id: str | None = None,
        partners: Collection[str | None] | None = None,
        date_from: datetime | None = None,
        date_to: datetime | None = None,
    ) -> int:
        return await self._read(_count, kind, country_code, party_id, partners, date_from, date_to)

    # -- settings --------------------------------------------------------------------------------

    async def get_setting(self, name: str) -> str | None:
        return await self._read(_get_setting, name)

    async def set_setting(self, name: str, value: str) -> None:
        await self._write(_set_setting, name, value)

    async def delete_setting(self, name: str) -> bool:
        return await self._write(_delete_setting, name)

    # -- outbox ----------------------------------------------------------------------------------

    async def outbox_enqueue(
        self, partner_id: str, kind: str, object_key: str, payload: bytes, due_at: datetime
    ) -> int:
        return await self._write(_outbox_enqueue, partner_id, kind, object_key, payload, due_at)

    async def outbox_claim(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxItem]:
        return await self._write(_outbox_claim, now, limit, lease)

    async def outbox_mark_delivered(self, item_id: int, *, note: str | None = None) -> bool:
        if note is None:
            return await self._write(_outbox_finish, _OUTBOX_DELIVERED, {"item_id": item_id})
        params = {"item_id": item_id, "note": note}
        return await self._write(_outbox_finish, _OUTBOX_DELIVERED_NOTE, params)

    async def outbox_mark_failed(self, item_id: int, *, error: str, retry_at: datetime) -> bool:
        params = {"item_id": item_id, "retry_at": utc(retry_at), "error": error}
        return await self._write(_outbox_finish, _OUTBOX_FAILED, params)

    async def outbox_mark_parked(self, item_id: int, *, error: str) -> bool:
        return await self._write(_outbox_finish, _OUTBOX_PARKED, {"item_id": item_id, "error": error})

    async def outbox_get(self, item_id: int) -> OutboxItem | None:
        return await self._read(_outbox_get, item_id)

    async def outbox_count(self, *, status: OutboxStatus | None = None, partner_id: str | None = None) -> int:
        return await self._read(_outbox_count, status, partner_id)

    async def outbox_purge_delivered(self) -> int:
        return await self._write(_outbox_purge_delivered)

    async def outbox_depths(self) -> list[tuple[str, OutboxStatus, int, datetime, datetime]]:
        return await self._read(_outbox_depths)

    async def outbox_claim_objects(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxItem]:
        return await self._write(_outbox_claim_objects, now, limit, lease)

    async def outbox_list(
        self,
        *,
        status: OutboxStatus | None = None,
        partner_id: str | None = None,
        kind: str | None = None,
        object_key: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[OutboxItem]:
        return await self._read(_outbox_list, status, partner_id, kind, object_key, offset, limit)

    async def outbox_retry(self, item_id: int, *, due_at: datetime) -> bool:
        params = {"item_id": item_id, "retry_at": utc(due_at)}
        return await self._write(_outbox_finish, _OUTBOX_RETRY, params)


class _Group:
    """Group commit on the inline SQLite connection.

    The transactions of this process that run in one turn of the event loop share one SQLite
    transaction: the first opens it (``BEGIN IMMEDIATE``) and schedules its COMMIT with ``call_soon``;
    each one is a unit inside it (``SAVEPOINT`` ... ``RELEASE``; a unit that fails is rolled back to
    its savepoint and the others go on) and returns to its caller only after the group's COMMIT.
    One COMMIT writes the pages the units share (index pages, the table's last page) once, and its
    cost is paid once per group instead of once per transaction. Nothing is acknowledged before it is
    committed: when the COMMIT fails, every unit of the group raises.
    """

    __slots__ = ("waiters",)

    def __init__(self) -> None:
        self.waiters: list[asyncio.Future[None]] = []

    def done(self) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)

    def fail(self, error: BaseException) -> None:
        for waiter in self.waiters:
            if not waiter.done():
                failure = GroupCommitFailed(f"the transaction was not committed: {error}")
                failure.__cause__ = error  # what failed (disk full ...), for storage_failure()
                waiter.set_exception(failure)


class GroupCommitFailed(RuntimeError):
    """The group commit this transaction was part of failed: nothing of it was stored."""


class _InlineTransaction(_Operations):
    """A transaction on a sync connection (SQLite inline)."""

    __slots__ = ("_conn",)
    _get_op = staticmethod(_raw_get)
    _put_op = staticmethod(_raw_put)

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def _read(
        self, fn: Callable[Concatenate[Connection, _P], _T], /, *a: _P.args, **k: _P.kwargs
    ) -> _T:
        return fn(self._conn, *a, **k)

    _write = _read


class _AwaitedTransaction(_Operations):
    """A transaction on an async connection (PostgreSQL, aiosqlite)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def _read(
        self, fn: Callable[Concatenate[Connection, _P], _T], /, *a: _P.args, **k: _P.kwargs
    ) -> _T:
        return await self._conn.run_sync(fn, *a, **k)

    _write = _read


def _schema_revision(conn: Connection) -> str | None:
    """The revision Alembic recorded in the database (``None``: never migrated), read without Alembic."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    revisions = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return revisions[0] if len(revisions) == 1 else None


# -- PostgreSQL: group commit ---------------------------------------------------------------------
#
# A commit on PostgreSQL waits for its WAL to reach the disk (~3 ms on the reference machine), and a
# transaction costs BEGIN and COMMIT round trips: one EVSE status PATCH at a time, that is a few
# hundred a second per process. As on SQLite (:class:`_Group`), the transactions of one process that
# overlap share one database transaction: the first opens it (``BEGIN``, sent on the asyncpg connection
# under an autocommit connection the store keeps between uses), each one is a unit inside it (a unit that
# fails is rolled back to its ``SAVEPOINT`` and the others go on), units run one after the other on that
# connection, and the COMMIT is sent once no unit is running or waiting, each unit answered only after
# it. Transactions arriving during the COMMIT open the next group on another connection. ``get`` and
# ``put``, the statements of every PATCH, go straight to the asyncpg connection (SQLAlchemy's execution
# path costs more than PostgreSQL's answer).
#
# Locks: a group holds the row locks of all its units until its COMMIT. A unit about to lock a row that
# another open group of this process holds, or is about to lock, joins that group (it holds nothing yet)
# and queues there; the group knows the rows it holds as they stand in its transaction (its image of
# them), so the unit reads its row without a round trip. Two processes' groups could wait for each
# other's rows; so a unit's first read for update is sent with ``SKIP LOCKED``: when another process
# holds the row, the unit leaves the group (it holds nothing) and carries on in a transaction of its own
# on another connection, where it waits for the row like any transaction. The group goes on without it.

_PG_GROUP_MAX = 64
"""Units one group takes at most (then the next opens)."""
_PG_PARALLEL = max(1, int(os.environ.get("EVROAM_PG_GROUPS", "1") or 1))
"""Groups of one process open at the same time, each on its connection: a new unit joins the least
busy one, or opens another while each has a unit running (round trips of several units overlap).
``EVROAM_PG_GROUPS`` (default 1: one group takes units while the one before it commits). Since the
reads of waiting units are batched and the writes deferred, a unit of a big group costs no round trip
of its own, and one group at a time spent less CPU per PATCH in the node and in PostgreSQL than four,
with a lower p99 (docs/scaling.md, "Third pass")."""

_PG_MOVES = max(0, int(os.environ.get("EVROAM_PG_MOVES", "0") or 0))
"""Times a unit whose first row is held by another process moves to a later group of its own before it
waits for the row in a transaction of its own (:meth:`_PgUnit._move`). ``EVROAM_PG_MOVES`` (default 0:
it waits alone at once; in 60 s soaks at a load of 2-3, four moves gave a p99 of 51 ms against 30 ms
without: docs/scaling.md)."""
_PG_MOVE_WAIT_S = 0.002
"""How long it waits before the first move (then twice as long each time: 2, 4, 8, 16 ms)."""
_PG_KEEP = _PG_PARALLEL + 4
"""Connections a process keeps between uses for its groups and single reads (:meth:`SqlStore._pg_acquire`);
more go back to the pool."""
_PG_KEEP_S = 60.0
"""A kept connection is handed back to the pool after this long (which recycles it when it is due)."""

_PG_COLUMNS = "kind, country_code, party_id, object_id, last_updated, payload, partner_id, seq, revision"
_PG_GET = (
    f"SELECT {_PG_COLUMNS} FROM evroam_objects "
    "WHERE kind = $1 AND key_country = $2 AND key_party = $3 AND key_id = $4"
)
_PG_PUT = (
    "INSERT INTO evroam_objects (kind, key_country, key_party, key_id, country_code, party_id, object_id,"
    " last_updated, revision, partner_id, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10)"
    " ON CONFLICT (kind, key_country, key_party, key_id) DO UPDATE SET payload = excluded.payload,"
    " last_updated = excluded.last_updated, partner_id = excluded.partner_id,"
    " revision = evroam_objects.revision + 1"
)
_PG_PUT_CHECKED = _PG_PUT + " WHERE evroam_objects.last_updated <= excluded.last_updated RETURNING revision"
_PG_PUT_UNCHECKED = _PG_PUT + " RETURNING revision"
_PG_UPDATE_MANY = (
    "UPDATE evroam_objects AS o SET payload = w.payload, last_updated = w.last_updated,"
    " partner_id = w.partner_id, revision = o.revision + w.writes"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[],"
    " $7::bytea[], $8::int[]) AS w(kind, key_country, key_party, key_id, last_updated, partner_id, payload,"
    " writes) WHERE o.kind = w.kind AND o.key_country = w.key_country AND o.key_party = w.key_party"
    " AND o.key_id = w.key_id"
)
"""The writes a group deferred (:meth:`_PgUnit.put`), in one statement: each row is locked by the group
and known to exist, so an ``UPDATE`` does (the upsert's other branch cannot be taken); several writes of
one row are sent as its last one with their number (``revision`` counts every write)."""
_PG_GET_MANY = (
    f"SELECT {_PG_COLUMNS} FROM evroam_objects WHERE (kind, key_country, key_party, key_id) IN "
    "(SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])) FOR UPDATE SKIP LOCKED"
)
"""The first reads for update of several units of a group, in one statement (:meth:`_PgUnit._read_first`)."""
_PG_EXISTS = (
    "SELECT true FROM evroam_objects WHERE kind = $1 AND key_country = $2 AND key_party = $3 AND key_id = $4"
)


def _pg_key(key: ObjectKey) -> tuple[str, str, str, str]:
    return key.kind, key.country_code.casefold(), key.party_id.casefold(), key.object_id.casefold()


def _pg_object(row: Any) -> StoredObject | None:
    if row is None:
        return None
    kind, country, party, object_id, last_updated, payload, partner_id, seq, revision = row
    return StoredObject(
        kind,
        country,
        party,
        object_id,
        DateTime.from_datetime(last_updated),
        bytes(payload),
        partner_id,
        seq,
        revision,
    )


def _lock_not_available(exc: BaseException) -> bool:
    return getattr(exc, "sqlstate", None) == "55P03"


class _PgGroup:
    """One group commit on PostgreSQL (see above): its connection, its units' lock and waiters."""

    __slots__ = (
        "aconn",
        "closed",
        "deferred",
        "deferred_keys",
        "done",
        "failure",
        "fetched",
        "images",
        "keys",
        "left",
        "lock",
        "opened",
        "pending",
        "pg",
        "savepoint",
        "scheduled",
        "since",
        "size",
        "waiters",
        "wanted",
    )

    def __init__(self) -> None:
        self.aconn: AsyncConnection | None = None  # autocommit: the group sends BEGIN and COMMIT itself
        self.pg: Any = None  # the asyncpg connection under aconn
        self.since = 0.0  # when aconn was taken from the pool (see SqlStore._pg_acquire)
        self.lock = asyncio.Lock()  # one unit at a time
        self.pending = 0  # units running or waiting for the lock
        self.size = 0  # units that joined
        self.savepoint = False  # a savepoint has been taken (the next one releases it first)
        self.left = 0  # units that left it (their row was locked elsewhere)
        # the writes its units made to rows they had read for update, not yet sent (see _PgUnit.put)
        self.deferred: list[tuple[_PgUnit, tuple[Any, ...]]] = []
        self.deferred_keys: set[tuple[str, str, str, str]] = set()
        # the rows units waiting for their turn will first read for update (key -> the first such unit),
        # and those read for them by another unit's statement (key -> (unit, row or None))
        self.wanted: dict[tuple[str, str, str, str], _PgUnit] = {}
        self.fetched: dict[tuple[str, str, str, str], tuple[_PgUnit, Any]] = {}
        # rows it holds locked as they stand in its transaction, deferred writes included (see
        # _PgUnit.get): read from here, not from the database, by its later units
        self.images: dict[tuple[str, str, str, str], StoredObject] = {}
        self.closed = False  # committing: no unit joins any more
        self.scheduled = False
        self.failure: BaseException | None = None
        self.waiters: list[asyncio.Future[None]] = []
        self.keys: set[tuple[str, str, str, str]] = set()  # the rows it locked (read for update, wrote)
        self.done = asyncio.Event()  # set once committed or rolled back
        self.opened = time.monotonic()  # for the metrics (evroam_pg_group_seconds)


class SqlStore(_Operations):
    """A :class:`~evroam.store.port.Store` on a SQL database.

    Build it with :meth:`from_url` (or :func:`evroam.store.create_store`), or hand it an engine made by
    :func:`make_engine`: a sync :class:`~sqlalchemy.Engine` runs SQLite inline, an
    :class:`~sqlalchemy.ext.asyncio.AsyncEngine` awaits PostgreSQL or aiosqlite.
    """

    def __init__(self, engine: Engine | AsyncEngine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        if dialect not in _DIALECTS:
            raise ValueError(f"unsupported database dialect {dialect!r}")
        self._sqlite = dialect == "sqlite"
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if self._sqlite else None
        # inline mode: connections opened on first use and kept
        self._writer: Connection | None = None
        self._reader: Connection | None = None
        self._closed = False
        self._memory = False
        self._checkpointer: _Checkpointer | None = None
        self._group: _Group | None = None  # the open group commit (inline SQLite files)
        self._group_tasks: set[asyncio.Task[None]] = set()
        self._pg_open: list[_PgGroup] = []  # the PostgreSQL groups units may join (see _PgGroup)
        self._pg_held: dict[tuple[str, str, str, str], _PgGroup] = {}  # row -> group that locked it
        self._pg_kept: list[tuple[AsyncConnection, Any, float]] = []  # see _pg_acquire
        if not isinstance(engine, Engine):
            self._async_engine: AsyncEngine | None = engine
            # PostgreSQL: autocommit saves the BEGIN and COMMIT round trips of single statements;
            # aiosqlite: the driver already runs single statements in autocommit (isolation_level=None)
            self._single_engine = (
                engine if self._sqlite else engine.execution_options(isolation_level="AUTOCOMMIT")
            )
        else:
            if not self._sqlite:
                raise ValueError("a sync engine is only supported for SQLite; use postgresql+asyncpg")
            self._async_engine = None
            self._memory = _is_memory_sqlite(engine.url)
            if not self._memory and engine.url.database is not None:
                self._checkpointer = _Checkpointer(engine.url.database)
            self._get_op = _raw_get
            self._put_op = _raw_put

    @classmethod
    def from_url(
        cls,
        url: str | URL,
        *,
        schema: str | None = None,
        engine_options: Mapping[str, Any] | None = None,
    ) -> SqlStore:
        return cls(make_engine(url, schema=schema, engine_options=engine_options))

    @property
    def engine(self) -> Engine | AsyncEngine:
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    # -- connections -----------------------------------------------------------------------------

    def _serialised(self) -> AbstractAsyncContextManager[object]:
        return self._write_lock if self._write_lock is not None else nullcontext()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the store is closed")

    def _writer_conn(self) -> Connection:
        self._check_open()
        if self._writer is None:
            assert isinstance(self._engine, Engine)
            self._writer = self._engine.connect()
            if self._checkpointer is not None:  # checkpoints come from the thread (_Checkpointer)
                self._writer.exec_driver_sql(f"PRAGMA wal_autocheckpoint={INLINE_CHECKPOINT_PAGES}")
                self._writer.commit()
        return self._writer

    def _committed(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.committed()

    def _reader_conn(self) -> Connection:
        if self._memory:  # one database per connection: read where we write (under the lock)
            return self._writer_conn()
        self._check_open()
        if self._reader is None:
            assert isinstance(self._engine, Engine)
            self._reader = self._engine.connect()
        return self._reader

    @staticmethod
    def _run_inline(
        conn: Connection, fn: Callable[Concatenate[Connection, _P], _T], *a: _P.args, **k: _P.kwargs
    ) -> _T:
        try:
            result = fn(conn, *a, **k)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()  # ends SQLAlchemy's bookkeeping; the statement itself already committed
        return result

    async def _read(
        self, fn: Callable[Concatenate[Connection, _P], _T], /, *a: _P.args, **k: _P.kwargs
    ) -> _T:
        if self._async_engine is None:
            if self._memory:
                async with self._serialised():
                    return self._run_inline(self._reader_conn(), fn, *a, **k)
            return self._run_inline(self._reader_conn(), fn, *a, **k)
        self._check_open()
        async with self._single_engine.connect() as conn:
            return await conn.run_sync(fn, *a, **k)

    async def _write(
        self, fn: Callable[Concatenate[Connection, _P], _T], /, *a: _P.args, **k: _P.kwargs
    ) -> _T:
        check_no_transaction(self, "writing directly on the store")
        self._check_open()
        if self._async_engine is None:
            async with self._begin_inline() as inline:
                return fn(inline, *a, **k)
        async with self._serialised(), self._single_engine.connect() as conn:
            result = await conn.run_sync(fn, *a, **k)
            await conn.commit()
            return result

    @asynccontextmanager
    async def _begin_inline(self, *, alone: bool = False) -> AsyncIterator[Connection]:
        """A transaction on the write connection: a unit of the open group commit (:class:`_Group`),
        answered once the group's COMMIT has returned; ``alone`` (and for in-memory databases): a
        transaction of its own, after committing any open group."""
        waiter: asyncio.Future[None] | None = None
        async with self._serialised():
            conn = self._writer_conn()
            # BEGIN and COMMIT straight on the driver (the statements of the transaction may bypass
            # SQLAlchemy, see _raw_get); SQLAlchemy's own bookkeeping is ended when it started any
            dbapi = conn.connection.dbapi_connection
            assert dbapi is not None
            if alone or self._memory:
                if self._group is not None:
                    self._commit_group(self._group)
                try:
                    dbapi.execute("BEGIN IMMEDIATE")
                    yield conn
                    if conn.in_transaction():
                        conn.commit()
                    else:
                        dbapi.commit()
                    self._committed()
                except BaseException:
                    # also after a failed COMMIT, which may leave the transaction open
                    self._rollback(conn)
                    raise
            else:
                group = self._group
                if group is None:
                    dbapi.execute("BEGIN IMMEDIATE")
                    group = self._group = _Group()
                    asyncio.get_running_loop().call_soon(self._group_due, group)
                dbapi.execute("SAVEPOINT evroam_unit")
                try:
                    yield conn
                except BaseException as exc:
                    self._undo_unit(group, conn, exc)
                    raise
                try:
                    dbapi.execute("RELEASE evroam_unit")
                except BaseException as exc:  # e.g. the unit swallowed an error that ended the transaction
                    self._abort_group(group, conn, exc)
                    raise
                waiter = asyncio.get_running_loop().create_future()
                group.waiters.append(waiter)
        if waiter is not None:
            await waiter

    @staticmethod
    def _rollback(conn: Connection) -> None:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        if conn.in_transaction():
            conn.rollback()
        else:
            dbapi.rollback()

    def _undo_unit(self, group: _Group, conn: Connection, error: BaseException) -> None:
        """A unit failed: take back what it wrote, keep the rest of its group."""
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        try:
            if not dbapi.in_transaction:  # SQLite rolled back the whole transaction (I/O error ...)
                raise error
            dbapi.execute("ROLLBACK TO evroam_unit")
            dbapi.execute("RELEASE evroam_unit")
        except BaseException as exc:
            self._abort_group(group, conn, exc)

    def _abort_group(self, group: _Group, conn: Connection, error: BaseException) -> None:
        """The group's transaction cannot be committed: roll it back, fail every unit waiting for it."""
        if self._group is group:
            self._group = None
        with suppress(Exception):
            self._rollback(conn)
        group.fail(error)

    def _group_due(self, group: _Group) -> None:
        """Scheduled when a group opens (``call_soon``): runs once the tasks that were ready in the same
        turn of the event loop have had their go, so their transactions join the group."""
        if self._group is not group:  # committed already (a transaction ``alone``, close)
            return
        if self._write_lock is not None and self._write_lock.locked():
            # a unit is in progress (it awaited something): commit right after it
            task = asyncio.get_running_loop().create_task(self._commit_group_when_free(group))
            self._group_tasks.add(task)
            task.add_done_callback(self._group_tasks.discard)
            return
        self._commit_group(group)

    async def _commit_group_when_free(self, group: _Group) -> None:
        async with self._serialised():
            if self._group is group:
                self._commit_group(group)

    def _commit_group(self, group: _Group) -> None:
        """COMMIT the group (no unit may be in progress), then answer its units."""
        self._group = None
        conn = self._writer
        assert conn is not None
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        try:
            if conn.in_transaction():
                conn.commit()
            else:
                dbapi.commit()
        except BaseException as exc:
            with suppress(Exception):
                self._rollback(conn)
            group.fail(exc)
            return
        self._committed()
        group.done()

    @asynccontextmanager
    async def _begin_awaited(self, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        self._check_open()
        async with self._serialised(), engine.connect() as conn:
            try:
                if self._sqlite:
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
                await conn.commit()
            except BaseException:
                await conn.rollback()
                raise

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        check_no_transaction(self, "opening a nested transaction")
        if self._async_engine is None:
            async with self._begin_inline() as conn:
                with inside_transaction(self):
                    yield _InlineTransaction(conn)
        elif not self._sqlite:
            async with self._pg_unit() as unit:
                with inside_transaction(self):
                    yield unit
        else:
            async with self._begin_awaited(self._async_engine) as aconn:
                with inside_transaction(self):
                    yield _AwaitedTransaction(aconn)

    # -- PostgreSQL group commit (see _PgGroup) ----------------------------------------------------

    def _pg_join(self) -> _PgGroup:
        """The group a new unit joins: the least busy open one, or a new one (see :data:`_PG_PARALLEL`)."""
        joinable = [g for g in self._pg_open if not g.closed and g.failure is None and g.size < _PG_GROUP_MAX]
        group = min(joinable, key=lambda g: g.pending, default=None)
        if group is None or (group.pending and len(joinable) < _PG_PARALLEL):
            group = _PgGroup()
            joinable.append(group)
        self._pg_open = joinable
        group.size += 1
        group.pending += 1
        return group

    @asynccontextmanager
    async def _pg_unit(self) -> AsyncIterator[_PgUnit]:
        self._check_open()
        waiter: asyncio.Future[None] | None = None
        # it takes its turn on the group's connection at its first statement (and may move to a later
        # group: unit.group)
        unit = _PgUnit(self, self._pg_join())
        try:
            try:
                yield unit
            except BaseException as exc:
                if unit.turn and not unit.left:
                    await self._pg_undo(unit.group, unit, exc)
                elif unit.alone is not None:
                    with suppress(Exception):
                        await unit.end_alone(commit=False)
                raise
            if unit.left:  # it left the group: its own COMMIT
                await unit.end_alone(commit=True)
            elif unit.turn:
                waiter = asyncio.get_running_loop().create_future()
                unit.group.waiters.append(waiter)
        finally:
            if not unit.left:
                unit.unwant()
                if unit.turn:
                    unit.group.lock.release()
                self._pg_done(unit.group)
        if waiter is not None:
            await waiter

    async def _pg_turn(self, group: _PgGroup) -> None:
        """Wait for the turn of a unit of ``group`` on its connection (held until the unit ends); the
        group's first unit opens its transaction."""
        if group.failure is not None:
            raise GroupCommitFailed(f"the transaction was not committed: {group.failure}")
        try:
            if group.aconn is None:  # the group's first unit opens its transaction
                group.aconn, group.pg, group.since = await self._pg_acquire()
                await group.pg.execute("BEGIN")
        except BaseException as exc:
            if group.aconn is not None:  # the group's transaction is not usable any more
                group.failure = exc
                self._pg_fail(group, exc)
            raise

    def _pg_done(self, group: _PgGroup) -> None:
        """A unit of ``group`` is done with it (finished, failed, or left it)."""
        group.pending -= 1
        if group.pending == 0:
            self._pg_schedule(group)

    def _pg_leave(self, group: _PgGroup, turn: bool) -> None:
        """A unit left ``group`` (see :meth:`_PgUnit._leave`): the group goes on without it."""
        group.left += 1
        if turn:
            group.lock.release()
        self._pg_done(group)

    async def _pg_undo(self, group: _PgGroup, unit: _PgUnit, error: BaseException) -> None:
        """A unit failed: take back what it wrote, keep the rest of the group."""
        group.images.clear()  # they may hold its writes
        if group.failure is not None:  # a statement failed outside a savepoint: the group is lost
            return
        unit.forget_writes()  # what it had not sent yet
        if not unit.savepoint:  # it sent no write: nothing to take back
            return
        try:
            await group.pg.execute("ROLLBACK TO SAVEPOINT evroam_unit")
        except BaseException as exc:  # the transaction is lost: so is every unit of the group
            group.failure = exc
            self._pg_fail(group, exc)

    def _unheld(self, group: _PgGroup, key: tuple[str, str, str, str]) -> None:
        """``group`` did not lock ``key`` after all (missing, or held by another transaction)."""
        if self._pg_held.get(key) is group:
            del self._pg_held[key]
        group.keys.discard(key)

    def _pg_fail(self, group: _PgGroup, error: BaseException) -> None:
        for waiter in group.waiters:
            if not waiter.done():
                failure = GroupCommitFailed(f"the transaction was not committed: {error}")
                failure.__cause__ = error
                waiter.set_exception(failure)

    def _pg_schedule(self, group: _PgGroup) -> None:
        if group.scheduled or group.closed:
            return
        group.scheduled = True
        asyncio.get_running_loop().call_soon(self._pg_due, group)

    def _pg_due(self, group: _PgGroup) -> None:
        """Scheduled once no unit of ``group`` runs or waits (``call_soon``: the tasks ready in this turn
        of the loop may still join it); commits it unless one did."""
        group.scheduled = False
        if group.pending or group.closed:
            return
        group.closed = True
        if group in self._pg_open:
            self._pg_open.remove(group)
        task = asyncio.get_running_loop().create_task(self._pg_commit(group))
        self._group_tasks.add(task)
        task.add_done_callback(self._group_tasks.discard)

    async def _pg_commit(self, group: _PgGroup) -> None:
        try:
            await self._pg_finish(group)
        finally:
            held = self._pg_held
            for key in group.keys:
                if held.get(key) is group:
                    del held[key]
            group.done.set()
            from evroam.metrics import observe_pg_group  # PostgreSQL nodes only: SQLite ones never load it

            observe_pg_group(group.size - group.left, group.left, time.monotonic() - group.opened)

    async def _pg_finish(self, group: _PgGroup) -> None:
        aconn = group.aconn
        try:
            if aconn is None:
                return
            if group.failure is not None:
                with suppress(Exception):
                    await group.pg.execute("ROLLBACK")
                self._pg_fail(group, group.failure)
                return
            try:
                if group.deferred:  # the units' last writes, in one statement
                    await _pg_update_many(group.pg, [write for _, write in group.deferred])
                    group.deferred.clear()
                status = await group.pg.execute("COMMIT")
                if status != "COMMIT":  # (an aborted transaction "commits" as ROLLBACK)
                    raise GroupCommitFailed(f"COMMIT answered {status}")
            except BaseException as exc:
                with suppress(Exception):
                    await group.pg.execute("ROLLBACK")
                self._pg_fail(group, exc)
                return
            for waiter in group.waiters:
                if not waiter.done():
                    waiter.set_result(None)
        finally:
            if aconn is not None:
                await self._pg_release(aconn, group.pg, group.since)

    async def _pg_acquire(self) -> tuple[AsyncConnection, Any, float]:
        """An autocommit connection, its asyncpg connection and when it was taken from the pool: one
        kept from its last use (see :data:`_PG_KEEP`), or one from the pool. A group sends its own
        ``BEGIN`` and ``COMMIT`` on it; SQLAlchemy's statements of a unit (autocommit: SQLAlchemy
        sends no ``BEGIN`` of its own) run inside that transaction. Taking a connection from the pool
        and giving it back costs more CPU than a PATCH's own statements."""
        kept = self._pg_kept
        now = time.monotonic()
        while kept:
            aconn, pg, since = kept.pop()
            if pg.is_closed():  # the server dropped it: not back to the pool either
                with suppress(Exception):
                    await aconn.invalidate()
            elif now - since < _PG_KEEP_S:
                return aconn, pg, since
            with suppress(Exception):
                await aconn.close()
        aconn = await self._single_engine.connect()
        try:
            pg = (await aconn.get_raw_connection()).driver_connection
        except BaseException:
            await aconn.close()
            raise
        return aconn, pg, now

    async def _pg_release(
        self, aconn: AsyncConnection, pg: Any, since: float, *, broken: bool = False
    ) -> None:
        """Give back what :meth:`_pg_acquire` gave: kept for the next use, or to the pool; a connection
        still in a transaction (a failed ROLLBACK) or lost is thrown away, never reused."""
        try:
            if broken or pg.is_closed() or pg.is_in_transaction():
                with suppress(Exception):
                    await aconn.invalidate()
            elif not self._closed and len(self._pg_kept) < _PG_KEEP:
                self._pg_kept.append((aconn, pg, since))
                return
        except BaseException:  # (cancelled: not kept)
            with suppress(Exception):
                await aconn.close()
            raise
        with suppress(Exception):
            await aconn.close()

    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        return self._transaction()

    async def get(self, key: ObjectKey, *, for_update: bool = False) -> StoredObject | None:
        if self._sqlite or self._async_engine is None:
            return await super().get(key, for_update=for_update)
        # PostgreSQL: straight on the asyncpg connection (``for_update`` means nothing outside a
        # transaction); the read of every request (the generation of the partners, the change log)
        self._check_open()
        aconn, pg, since = await self._pg_acquire()
        broken = False
        try:
            return _pg_object(await pg.fetchrow(_PG_GET, *_pg_key(key)))
        except Exception as exc:
            # past SQLAlchemy's own handling: a connection the server dropped (a restart) must not
            # be used again; the failure itself is answered 503 (storage_failure)
            broken = storage_failure(exc) is not None
            raise
        finally:
            await self._pg_release(aconn, pg, since, broken=broken)

    async def run_sync(self, work: Callable[[Connection], _T]) -> _T:
        """Run ``work`` on a sync SQLAlchemy connection inside one write transaction (tools, tests)."""
        check_no_transaction(self, "running a sync function")
        if self._async_engine is None:
            async with self._begin_inline(alone=True) as conn:
                return work(conn)
        async with self._begin_awaited(self._async_engine) as aconn:
            return await aconn.run_sync(work)

    async def outbox_claim_objects(self, now: datetime, *, limit: int, lease: timedelta) -> list[OutboxItem]:
        if self._sqlite:  # one statement, atomic on its own
            return await self._write(_outbox_claim_objects, now, limit, lease)
        # PostgreSQL runs single statements in autocommit: the claim's lock needs a transaction
        return await self.run_sync(lambda conn: _outbox_claim_objects(conn, now, limit, lease))

    def foreign_commits(self) -> int | None:
        """SQLite inline: ``PRAGMA data_version`` of the write connection, which changes when another
        connection commits, never for its own commits (a few µs, no page read). Other engines: ``None``
        (PostgreSQL has no such counter; aiosqlite would need a thread hop)."""
        if self._async_engine is not None:
            return None
        if self._memory:  # a private in-memory database: no other connection
            return 0
        dbapi = self._writer_conn().connection.dbapi_connection
        assert dbapi is not None
        version: int = dbapi.execute("PRAGMA data_version").fetchone()[0]
        return version

    async def migrate(self) -> None:
        def upgrade(conn: Connection) -> None:
            if conn.dialect.name == "postgresql":  # workers starting together: one migrates at a time
                conn.execute(select(func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
            if _schema_revision(conn) == SCHEMA_HEAD:
                return  # current: no need to load Alembic
            from evroam.store.migrate import upgrade_connection  # alembic is only imported when needed

            upgrade_connection(conn)

        await self.run_sync(upgrade)

    async def close(self) -> None:
        if self._group is not None:  # units acknowledged to their callers' tasks are committed first
            async with self._serialised():
                if self._group is not None:
                    self._commit_group(self._group)
        while self._group_tasks:  # PostgreSQL groups being committed
            await asyncio.gather(*list(self._group_tasks), return_exceptions=True)
        self._closed = True
        while self._pg_kept:
            with suppress(Exception):
                await self._pg_kept.pop()[0].close()
        if self._checkpointer is not None:
            self._checkpointer.stop()
        for conn in (self._reader, self._writer):
            if conn is not None:
                conn.close()
        self._reader = self._writer = None
        if not isinstance(self._engine, Engine):
            await self._engine.dispose()
        else:
            self._engine.dispose()


class _PgUnit(_AwaitedTransaction):
    """A transaction that is a unit of a :class:`_PgGroup`, or, once it left it, a transaction of its own.

    Round trips are what a unit costs, so it takes its savepoint only before its first statement that
    can fail or that must be undone with it (a write, a lock that waits), never for a read:

    * its first read for update is ``FOR UPDATE SKIP LOCKED``, which neither waits nor fails on a lock,
      sent together with the first reads of the units waiting for their turn (:meth:`_read_first`).
      When it finds nothing, a plain read tells a missing row from one another transaction holds; then
      the unit (it holds nothing and wrote nothing) moves to a later group of this process
      (:meth:`_move`), and after :data:`_PG_MOVES` moves leaves for a transaction of its own;
    * a ``put`` of a row it read for update (found, so locked by the group until its COMMIT) cannot be
      stale unless the read says so, and cannot fail on a lock: its outcome is known at once and the
      write is *deferred*, sent with the other deferred writes of the group in one ``UPDATE ... FROM
      unnest(...)`` before the COMMIT, or earlier when a later statement needs it (any other operation, a
      read of that row the group has no image of); a unit that fails drops its deferred writes, nothing
      to undo;
    * a read of a row the group holds, read or written by an earlier unit, is answered from the group's
      image of it (:attr:`_PgGroup.images`: the row as the group's transaction has it, deferred writes
      included), without a round trip; the images are dropped when a unit fails or runs any other
      operation.

    An EVSE status PATCH (read for update, then put) thus costs at most one round trip of its own, none
    when its read was batched with another unit's or its row was held by the group already. A statement
    that fails outside a savepoint (a lost connection) leaves the group's transaction unusable: every
    unit of the group fails, none was acknowledged.
    """

    __slots__ = (
        "_alone",
        "_alone_pg",
        "_alone_since",
        "_first",
        "_group",
        "_known",
        "_moves",
        "_store",
        "left",
        "savepoint",
        "turn",
    )

    def __init__(self, store: SqlStore, group: _PgGroup) -> None:
        super().__init__(group.aconn)  # type: ignore[arg-type]  # set at its turn
        self._store = store
        self.turn = False  # it holds the group's connection (from its first statement to its end)
        self._moves = 0  # times it moved to a later group (its row was held elsewhere)
        self._group = group
        self._first = True
        self._alone: AsyncConnection | None = None
        self._alone_pg: Any = None
        self._alone_since = 0.0
        self.left = False
        self.savepoint = False  # this unit took its savepoint (it can be rolled back alone)
        # rows this unit read for update in the group: their last_updated (None: no such row)
        self._known: dict[tuple[str, str, str, str], datetime | None] = {}

    @property
    def alone(self) -> AsyncConnection | None:
        return self._alone

    @property
    def group(self) -> _PgGroup:
        return self._group

    async def _move(self) -> None:
        """Move to a later group of this process, a while later: its row is held by another process's
        transaction (its group's, until a COMMIT a few ms away), and it holds nothing and wrote nothing
        yet. Cheaper than a transaction of its own waiting for the row (a connection, a COMMIT each)."""
        group = self._group
        self.unwant()
        group.left += 1
        if self.turn:
            group.lock.release()
            self.turn = False
        self._store._pg_done(group)
        try:
            await asyncio.sleep(_PG_MOVE_WAIT_S * 2**self._moves)
        finally:  # (also when cancelled: the unit's end is counted in the group it is in)
            self._moves += 1
            self._first = True
            self._group = self._store._pg_join()

    async def _turn(self) -> None:
        if self.turn or self._alone is not None:
            return
        group = self._group
        await group.lock.acquire()
        self.turn = True
        await self._store._pg_turn(group)
        self._conn = group.aconn  # type: ignore[assignment]

    def unwant(self) -> None:
        """Forget the row this unit wanted read at its turn, or that was read for it."""
        group = self._group
        for key in [key for key, unit in group.wanted.items() if unit is self]:
            del group.wanted[key]
        for key in [key for key, (unit, _) in group.fetched.items() if unit is self]:
            del group.fetched[key]

    async def _read_first(self, key: tuple[str, str, str, str]) -> tuple[bool, Any]:
        """The first read for update of this unit (``FOR UPDATE SKIP LOCKED``): read with those that
        units waiting for their turn want, or earlier by another unit for it. ``(found, row)``: ``found``
        is ``False`` when the row is missing or another transaction holds it."""
        group = self._group
        done = group.fetched.get(key)
        if done is not None and done[0] is self:
            del group.fetched[key]
            return done[1] is not None, done[1]
        others = [
            (k, unit)
            for k, unit in group.wanted.items()
            if unit is not self
            and k != key
            and k not in group.fetched
            and k not in group.deferred_keys
            and k not in group.images
        ]
        for k, _ in others:
            del group.wanted[k]
        if group.wanted.get(key) is self:
            del group.wanted[key]
        if not others:
            row = await self._statement(group.pg.fetchrow, _PG_GET + " FOR UPDATE SKIP LOCKED", *key)
            return row is not None, row
        keys = [key, *(k for k, _ in others)]
        held = self._store._pg_held
        for k, _ in others:  # marked before the read, as in get
            held[k] = group
            group.keys.add(k)
        columns = [list(column) for column in zip(*keys, strict=True)]
        rows = await self._statement(group.pg.fetch, _PG_GET_MANY, *columns)
        found = {(r[0], r[1].casefold(), r[2].casefold(), r[3].casefold()): r for r in rows}
        for k, unit in others:
            row = found.get(k)
            group.fetched[k] = (unit, row)
            if row is None:
                self._store._unheld(group, k)
        row = found.get(key)
        return row is not None, row

    # -- the group's connection ------------------------------------------------------------------

    async def _statement(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run one asyncpg call on the group's connection; a failure outside this unit's savepoint
        makes the group's transaction unusable (every unit of it fails)."""
        try:
            return await fn(*args)
        except BaseException as exc:
            if not self.savepoint and self._group.failure is None:
                self._group.failure = exc
                self._store._pg_fail(self._group, exc)
            raise

    async def _send_deferred(self, writes: list[tuple[Any, ...]]) -> None:
        await self._statement(_pg_update_many, self._group.pg, writes)

    async def _ensure_savepoint(self) -> None:
        """Before a statement that may fail or must be undone with this unit: the writes other units
        deferred go first (this unit's rollback must not take them back), then the savepoint."""
        if self.savepoint:
            return
        group = self._group
        others = [write for unit, write in group.deferred if unit is not self]
        if others:
            group.deferred = [(unit, write) for unit, write in group.deferred if unit is self]
            group.deferred_keys = {_write_key(write) for _, write in group.deferred}
            await self._send_deferred(others)
        if group.savepoint:  # one round trip: the last unit's savepoint let go, this one's taken
            await self._statement(group.pg.execute, "RELEASE SAVEPOINT evroam_unit; SAVEPOINT evroam_unit")
        else:
            await self._statement(group.pg.execute, "SAVEPOINT evroam_unit")
            group.savepoint = True
        self.savepoint = True

    async def _send_all(self) -> None:
        """Every deferred write of the group reaches the database (this unit's after its savepoint)."""
        group = self._group
        if not group.deferred:
            return
        await self._ensure_savepoint()
        if group.deferred:  # this unit's own
            own = [write for _, write in group.deferred]
            group.deferred = []
            group.deferred_keys = set()
            await self._send_deferred(own)

    def forget_writes(self) -> None:
        """This unit failed: its deferred writes are not to be sent."""
        group = self._group
        if any(unit is self for unit, _ in group.deferred):
            group.deferred = [(unit, write) for unit, write in group.deferred if unit is not self]
            group.deferred_keys = {_write_key(write) for _, write in group.deferred}

    # -- the operations ----------------------------------------------------------------------------

    async def _read(
        self, fn: Callable[Concatenate[Connection, _P], _T], /, *a: _P.args, **k: _P.kwargs
    ) -> _T:
        """Any other operation, through SQLAlchemy: after the deferred writes, in the savepoint."""
        self._first = False
        if self._alone is None:
            await self._turn()
            self._group.fetched.clear()  # it may change any row
            self._group.images.clear()
            self._known.clear()  # (a row it deleted: its next put must not be an UPDATE of it)
            await self._send_all()
            await self._ensure_savepoint()
        return await self._conn.run_sync(fn, *a, **k)

    _write = _read

    async def _before_lock(self, key: tuple[str, str, str, str]) -> bool:
        """Before locking ``key`` in the group, when another group of this process holds it (or will:
        a unit of it is waiting for its turn to lock it): wait for it if it is committing (a few ms); if
        it still takes units and this unit holds nothing yet (its first statement), move to that group
        (:meth:`_switch`); else go on (PostgreSQL makes it wait). ``True`` when this unit should leave
        its group instead (the other group failed). The row is then marked as this group's, at once, so
        that the units of this process wanting it later come to this group rather than find it locked."""
        if self._alone is not None:
            return False
        held = self._store._pg_held
        while (other := held.get(key)) is not None and other is not self._group:
            if not other.closed:
                if self._first and other.failure is None:
                    self._switch(other)
                    return False
                return self._first
            await other.done.wait()  # (its rows are let go before done is set)
        self._locked(key)
        return False

    def _switch(self, other: _PgGroup) -> None:
        """Move to ``other``, a group of this process that holds the row this unit is about to lock
        first (so it holds nothing and wrote nothing yet): it queues there behind the units that hold
        the row, and then mostly reads it from the group's image of it (no round trip), where in a
        group of its own, or alone, it would wait for the row until the other group's COMMIT."""
        group = self._group
        self.unwant()
        group.size -= 1
        if self.turn:
            group.lock.release()
            self.turn = False
        self._store._pg_done(group)
        other.size += 1
        other.pending += 1
        self._group = other

    def _locked(self, key: tuple[str, str, str, str]) -> None:
        if self._alone is None:
            self._store._pg_held[key] = self._group
            self._group.keys.add(key)

    async def get(self, key: ObjectKey, *, for_update: bool = False) -> StoredObject | None:
        pg_key = _pg_key(key)
        if for_update and await self._before_lock(pg_key):
            await self._leave()
        if self._alone is not None:
            self._first = False
            sql = _PG_GET + " FOR UPDATE" if for_update else _PG_GET
            return _pg_object(await self._alone_pg.fetchrow(sql, *pg_key))
        group = self._group
        if for_update and self._first and not self.turn:  # read with others', if they wait too
            group.wanted.setdefault(pg_key, self)
        await self._turn()
        image = group.images.get(pg_key)
        if image is not None:  # the group holds the row locked, and knows it as it stands
            self._first = False
            if group.wanted.get(pg_key) is self:
                del group.wanted[pg_key]
            if for_update:
                self._known[pg_key] = image.last_updated
            return image
        pg = group.pg
        if pg_key in group.deferred_keys:  # a deferred write of this row must be read back
            await self._send_all()
        first, self._first = self._first, False
        if for_update and first and not self.savepoint:
            hit, row = await self._read_first(pg_key)
            if not hit:
                self._store._unheld(group, pg_key)
            if not hit and await self._statement(pg.fetchval, _PG_EXISTS, *pg_key):
                if self._moves < _PG_MOVES:  # try again in a later group
                    await self._move()
                    return await self.get(key, for_update=True)
                # another transaction holds the row: on without the group, waiting like any transaction
                await self._leave()
                return _pg_object(await self._alone_pg.fetchrow(_PG_GET + " FOR UPDATE", *pg_key))
        elif for_update:  # a lock that may wait, and end in a detected deadlock: undone with this unit
            await self._ensure_savepoint()
            row = await self._statement(pg.fetchrow, _PG_GET + " FOR UPDATE", *pg_key)
        else:
            row = await self._statement(pg.fetchrow, _PG_GET, *pg_key)
        found = _pg_object(row)
        if for_update:
            self._locked(pg_key)
            self._known[pg_key] = None if found is None else found.last_updated
            if found is not None:
                group.images[pg_key] = found
        return found

    async def put(
        self,
        key: ObjectKey,
        payload: bytes,
        last_updated: datetime,
        *,
        partner_id: str | None = None,
        check_stale: bool = True,
    ) -> PutOutcome:
        pg_key = _pg_key(key)
        write = (
            *pg_key,
            str(key.country_code),
            str(key.party_id),
            str(key.object_id),
            utc(last_updated),
            partner_id,
            bytes(payload),
        )
        if self._alone is None:
            stored = self._known.get(pg_key)
            if stored is not None:  # read for update by this unit, found: locked, so known
                self._first = False
                if check_stale and stored > write[7]:
                    return PutOutcome.STALE
                self._known[pg_key] = write[7]
                group = self._group
                group.fetched.pop(pg_key, None)  # read for another unit: not what it will be
                group.deferred.append((self, write))
                group.deferred_keys.add(pg_key)
                old = group.images.get(pg_key)
                if old is not None:  # the row as this write leaves it (the upsert's UPDATE branch)
                    group.images[pg_key] = StoredObject(
                        old.kind,
                        old.country_code,
                        old.party_id,
                        old.object_id,
                        write[7],
                        write[9],
                        partner_id,
                        old.seq,
                        old.revision + 1,
                    )
                return PutOutcome.UPDATED
            if await self._before_lock(pg_key):
                await self._leave()
        self._first = False
        sql = _PG_PUT_CHECKED if check_stale else _PG_PUT_UNCHECKED
        if self._alone is not None:
            revision = await self._alone_pg.fetchval(sql, *write)
        else:
            await self._turn()
            group = self._group
            group.fetched.pop(pg_key, None)  # read for another unit: not what it will be
            group.images.pop(pg_key, None)
            await self._send_all()
            await self._ensure_savepoint()
            revision = await self._statement(group.pg.fetchval, sql, *write)
            self._locked(pg_key)
        if revision is None:
            return PutOutcome.STALE
        return PutOutcome.CREATED if revision == 1 else PutOutcome.UPDATED

    async def _leave(self) -> None:
        """Leave the group (its row is locked elsewhere) before it wrote or locked anything there, and go
        on in a transaction of its own; the group's lock is let go, so the group goes on meanwhile."""
        assert not self.savepoint and not self._known
        self.left = True
        self.unwant()
        self._store._pg_leave(self._group, self.turn)
        # a connection as a group's (SqlStore._pg_acquire): BEGIN and COMMIT sent on asyncpg
        self._alone, self._alone_pg, self._alone_since = await self._store._pg_acquire()
        self._conn = self._alone
        await self._alone_pg.execute("BEGIN")

    async def end_alone(self, *, commit: bool) -> None:
        """End the transaction of its own (it left its group): COMMIT, or ROLLBACK; its connection is
        given back (thrown away if still in a transaction)."""
        aconn, pg = self._alone, self._alone_pg
        assert aconn is not None
        try:
            if commit:
                try:
                    status = await pg.execute("COMMIT")
                    if status != "COMMIT":  # (an aborted transaction "commits" as ROLLBACK)
                        raise GroupCommitFailed(
                            f"the transaction was not committed: COMMIT answered {status}"
                        )
                except BaseException:
                    with suppress(Exception):
                        await pg.execute("ROLLBACK")
                    raise
            else:
                await pg.execute("ROLLBACK")
        finally:
            await self._store._pg_release(aconn, pg, self._alone_since)


def _write_key(write: tuple[Any, ...]) -> tuple[str, str, str, str]:
    return write[0], write[1], write[2], write[3]


async def _pg_update_many(pg: Any, writes: list[tuple[Any, ...]]) -> None:
    """Send deferred writes (:data:`_PG_UPDATE_MANY`) on the asyncpg connection ``pg``."""
    last: dict[tuple[str, str, str, str], tuple[Any, ...]] = {}
    count: dict[tuple[str, str, str, str], int] = {}
    for write in writes:
        key = _write_key(write)
        last[key] = write
        count[key] = count.get(key, 0) + 1
    rows = list(last.values())
    status = await pg.execute(
        _PG_UPDATE_MANY,
        [w[0] for w in rows],
        [w[1] for w in rows],
        [w[2] for w in rows],
        [w[3] for w in rows],
        [w[7] for w in rows],
        [w[8] for w in rows],
        [w[9] for w in rows],
        list(count.values()),
    )
    if status != f"UPDATE {len(rows)}":  # a row the group held is gone: never acknowledge the writes
        raise RuntimeError(f"deferred writes of {len(rows)} rows answered {status!r}")


# -- a database by URL, outside a node (migrations, tools) --------------------------------------------------


async def run_on_url(url: str, work: Callable[[Connection], None], *, schema: str | None = None) -> None:
    """Open ``url``, run ``work`` on a sync connection inside one transaction, commit, close."""
    store = SqlStore.from_url(url, schema=schema, engine_options={"poolclass": NullPool})
    try:
        await store.run_sync(work)
    finally:
        await store.close()


def migrate_url(url: str, *, schema: str | None = None) -> None:
    """Migrate the database at ``url`` to the newest revision. Call it outside any event loop."""
    store = SqlStore.from_url(url, schema=schema, engine_options={"poolclass": NullPool})

    async def main() -> None:
        try:
            await store.migrate()
        finally:
            await store.close()

    asyncio.run(main())
