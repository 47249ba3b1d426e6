"""Choosing and configuring a store: URLs, the data directory default, time stamps, exports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

import evroam.store
from evroam.core.types import DateTime
from evroam.store import MemoryStore, SqlStore, create_store, default_sqlite_url
from evroam.store.port import ObjectKey, utc
from evroam.store.sql import make_engine, normalise_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///data/evroam.db", "sqlite:///data/evroam.db"),
        ("sqlite+pysqlite:///data/evroam.db", "sqlite:///data/evroam.db"),
        ("sqlite+aiosqlite:///data/evroam.db", "sqlite+aiosqlite:///data/evroam.db"),
        ("sqlite://", "sqlite://"),
        ("postgresql://u:pw@db:5433/evroam", "postgresql+asyncpg://u:pw@db:5433/evroam"),
        ("postgres://u@db/evroam", "postgresql+asyncpg://u@db/evroam"),
        ("postgresql+asyncpg://u@db/evroam", "postgresql+asyncpg://u@db/evroam"),
    ],
)
def test_normalise_url(given: str, expected: str) -> None:
    assert normalise_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(
    "url", ["mysql://u@db/evroam", "postgresql+psycopg2://u@db/evroam", "sqlite+pysqlcipher:///x.db"]
)
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported database URL"):
        normalise_url(url)


def test_the_password_is_hidden_in_the_error() -> None:
    with pytest.raises(ValueError) as caught:
        normalise_url("mysql://user:secret@db/evroam")
    assert "secret" not in str(caught.value)


def test_default_sqlite_url_points_into_the_data_dir(tmp_path: Path) -> None:
    url = default_sqlite_url(tmp_path)
    assert url.drivername == "sqlite"
    assert url.database == str(tmp_path.resolve() / "evroam.db")


async def test_create_store_picks_the_implementation(tmp_path: Path) -> None:
    assert isinstance(create_store("memory://"), MemoryStore)
    assert isinstance(create_store("memory"), MemoryStore)

    data_dir = tmp_path / "new" / "data"
    default = create_store(None, data_dir)
    try:
        assert isinstance(default, SqlStore)
        assert isinstance(default.engine, Engine)
        assert default.engine.url.database == str(data_dir.resolve() / "evroam.db")
        assert data_dir.is_dir()  # created for the node
    finally:
        await default.close()

    explicit = create_store(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", data_dir)
    try:
        assert isinstance(explicit, SqlStore)
        assert isinstance(explicit.engine, AsyncEngine)  # the URL wins over the data dir
    finally:
        await explicit.close()


def test_create_store_needs_a_url_or_a_data_dir() -> None:
    with pytest.raises(ValueError, match="URL or a data directory"):
        create_store(None, None)


async def test_postgres_engine_is_async_and_pooled() -> None:
    engine = make_engine("postgresql://root@127.0.0.1/test", engine_options={"max_overflow": 3})
    try:
        assert isinstance(engine, AsyncEngine)
        assert engine.url.drivername == "postgresql+asyncpg"
        assert engine.pool.size() == 10  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 3  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


def test_schema_is_refused_on_sqlite(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only supported on PostgreSQL"):
        make_engine(f"sqlite:///{tmp_path / 'x.db'}", schema="s")


def test_utc_normalises_and_refuses_naive_datetimes() -> None:
    converted = utc(datetime(2026, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=2))))
    assert isinstance(converted, DateTime)
    assert converted == datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    assert converted.tzinfo is UTC
    with pytest.raises(ValueError, match="naive"):
        utc(datetime(2026, 3, 1))  # naive on purpose


def test_object_key_folds_the_ocpi_parts_only() -> None:
    assert ObjectKey("Location", "Nl", "aBc", "X-1").folded == ("Location", "nl", "abc", "x-1")
    assert ObjectKey("location", "NL", "ABC", "id").folded == ObjectKey("location", "nl", "abc", "ID").folded


def test_public_names() -> None:
    assert sorted(evroam.store.__all__) == [
        "DB_FILE_NAME",
        "MEMORY_URL",
        "MemoryStore",
        "ObjectKey",
        "Operations",
        "OutboxItem",
        "OutboxStatus",
        "Page",
        "PutOutcome",
        "SqlStore",
        "Store",
        "StoredObject",
        "Transaction",
        "create_store",
        "default_sqlite_url",
    ]
    for name in evroam.store.__all__:
        assert getattr(evroam.store, name) is not None
