"""The SQL schema of the store, as SQLAlchemy Core ``MetaData``.

The Alembic migrations under ``evroam/store/migrations`` must produce exactly this schema; a test
compares a freshly migrated database with this metadata.

Tables are prefixed ``evroam_`` so that a node can share a database (or a PostgreSQL schema) with
other applications.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Dialect,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import DateTime as SaDateTime

from evroam.core.types import DateTime

__all__ = ["SCHEMA_HEAD", "VERSION_TABLE", "UtcDateTime", "metadata", "objects", "outbox", "settings"]

VERSION_TABLE = "evroam_alembic_version"
"""Alembic's bookkeeping table (not the default name, so as not to clash with another application's)."""

SCHEMA_HEAD = "0002"
"""The newest revision of the packaged migrations (``store/migrations/versions``). A store already at it
starts without loading Alembic (about 50 ms of every CLI command); a test keeps it equal to Alembic's
head, so a new migration must update it."""

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every engine.

    PostgreSQL stores ``TIMESTAMP WITH TIME ZONE``; SQLite stores the UTC wall time as fixed-width
    text ``YYYY-MM-DD HH:MM:SS.ffffff`` (so text order is time order). Naive datetimes are refused on
    the way in; values come back as :class:`evroam.core.types.DateTime`.
    """

    impl = SaDateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else DateTime.from_datetime(value)

    # SQLite: one C-level call each way instead of SQLAlchemy's generic string processing
    # (reading a page of 100 objects spent a third of its time parsing timestamps).

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            return None if value is None else _as_utc(value).isoformat(" ", "microseconds")[:26]

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: str | None) -> datetime | None:
            return None if value is None else DateTime.fromisoformat(value + "+00:00")

        return process


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime given to a UTC column: {value.isoformat()}")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


# SQLite only makes INTEGER PRIMARY KEY an alias of the rowid (fast, monotonic); PostgreSQL gets BIGINT.
_Serial = BigInteger().with_variant(Integer(), "sqlite")

objects = Table(
    "evroam_objects",
    metadata,
    Column("seq", _Serial, primary_key=True, autoincrement=True),
    Column("kind", String, nullable=False),
    Column("key_country", String, nullable=False, comment="country_code.casefold()"),
    Column("key_party", String, nullable=False, comment="party_id.casefold()"),
    Column("key_id", String, nullable=False, comment="object_id.casefold()"),
    Column("country_code", String, nullable=False, comment="spelling given at creation"),
    Column("party_id", String, nullable=False, comment="spelling given at creation"),
    Column("object_id", String, nullable=False, comment="spelling given at creation"),
    Column("last_updated", UtcDateTime, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("partner_id", String, nullable=True),
    Column("payload", LargeBinary, nullable=False),
    UniqueConstraint("kind", "key_country", "key_party", "key_id"),
    # pages walk this one in creation order and test every filter on it without reading rows
    Index(
        "ix_evroam_objects_listing", "kind", "seq", "last_updated", "partner_id", "key_country", "key_party"
    ),
    Index(None, "kind", "last_updated"),  # selective date windows
    Index(None, "kind", "partner_id", "last_updated"),  # one partner's objects among many
)

settings = Table(
    "evroam_settings",
    metadata,
    Column("name", String, primary_key=True),
    Column("value", Text, nullable=False),
)

outbox = Table(
    "evroam_outbox",
    metadata,
    Column("id", _Serial, primary_key=True, autoincrement=True),
    Column("partner_id", String, nullable=False),
    Column("kind", String, nullable=False),
    Column("object_key", String, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("status", String, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False, comment="when enqueued"),
    Index(None, "status", "due_at"),
    Index(None, "partner_id", "status"),
)
