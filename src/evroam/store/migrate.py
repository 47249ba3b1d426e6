"""Schema migrations (Alembic), runnable without an ``alembic.ini``.

The node calls :meth:`Store.migrate() <evroam.store.port.Store.migrate>` at start-up; this module holds
the machinery behind it and two entry points for tools:

* :func:`upgrade` — synchronous: bring the database at a URL to the latest revision;
* :func:`alembic_config` — an Alembic ``Config`` pointing at the packaged migrations, for Alembic's
  own commands (e.g. ``command.revision(alembic_config(url), message=..., autogenerate=True)``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from evroam.store.schema import VERSION_TABLE

__all__ = [
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "upgrade_connection",
]

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for the packaged migrations (and, optionally, a database URL)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision of the packaged migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database behind ``connection`` is at (``None``: never migrated)."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade_connection(connection: Connection, revision: str = "head") -> None:
    """Upgrade through an open (sync) connection; the caller owns the transaction."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
