"""Alembic environment of the evroam store.

Run by :mod:`evroam.store.migrate`: normally it is handed an open connection
(``config.attributes["connection"]``) inside the store's migration transaction; when Alembic's
commands are used directly it connects to ``sqlalchemy.url`` itself.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from evroam.store.schema import VERSION_TABLE, metadata
from evroam.store.sql import run_on_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    if context.is_offline_mode():
        url = config.get_main_option("sqlalchemy.url")
        context.configure(
            url=url,
            target_metadata=metadata,
            version_table=VERSION_TABLE,
            literal_binds=True,
            render_as_batch=bool(url and url.startswith("sqlite")),
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "no connection given and no sqlalchemy.url set: use evroam.store.migrate.alembic_config(url)"
        )
    asyncio.run(run_on_url(url, _run))


_main()
