"""Choosing a store from configuration: :func:`create_store`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from evroam.store.files import private_dir, private_sqlite_file
from evroam.store.memory import MemoryStore
from evroam.store.port import Store
from evroam.store.sql import SqlStore

__all__ = ["DB_FILE_NAME", "MEMORY_URL", "create_store", "default_sqlite_url"]

DB_FILE_NAME = "evroam.db"
MEMORY_URL = "memory://"
"""Selects the in-memory store (nothing persisted): for demos and tests."""


def default_sqlite_url(data_dir: Path) -> URL:
    """``sqlite:///<data_dir>/evroam.db`` (SQLite run inline, see :mod:`evroam.store.sql`)."""
    return URL.create("sqlite", database=str(Path(data_dir).resolve() / DB_FILE_NAME))


def create_store(
    url: str | None = None,
    data_dir: Path | None = None,
    *,
    schema: str | None = None,
    engine_options: Mapping[str, Any] | None = None,
) -> Store:
    """The store for a node's configuration.

    * ``url`` given: ``memory://`` gives a :class:`MemoryStore`; ``sqlite:///path``,
      ``sqlite+aiosqlite:///path`` and ``postgresql[+asyncpg]://user:password@host:port/database``
      give a :class:`SqlStore` (asyncpg is filled in when no driver is named);
    * otherwise the SQLite file ``evroam.db`` in ``data_dir`` (created if needed).

    SQLite files are made owner-only (``0600``, the data directory ``0700``), and existing ones
    tightened with a warning: see :mod:`evroam.store.files`.

    ``schema`` (PostgreSQL) and ``engine_options`` are passed to :func:`~evroam.store.sql.make_engine`.
    The schema is not created or migrated here: call ``await store.migrate()``.
    """
    if url is not None and url.strip().rstrip("/:").lower() == "memory":
        return MemoryStore()
    if url is None:
        if data_dir is None:
            raise ValueError("create_store needs a database URL or a data directory")
        private_dir(Path(data_dir))
        private_sqlite_file(Path(data_dir) / DB_FILE_NAME)
        return SqlStore.from_url(default_sqlite_url(data_dir), schema=schema, engine_options=engine_options)
    _private_sqlite_url(url)
    return SqlStore.from_url(url, schema=schema, engine_options=engine_options)


def _private_sqlite_url(url: str) -> None:
    """A SQLite file named by URL: its files owner-only (its directory is the user's choice)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(str(parsed.database))
        if database.parent.is_dir():
            private_sqlite_file(database)
