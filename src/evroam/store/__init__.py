"""The storage layer: a port, a SQL adapter (SQLite / PostgreSQL), an in-memory fake, migrations.

Typical use::

    store = create_store(settings.database_url, settings.data_dir)
    await store.migrate()
    async with store.transaction() as tx:
        current = await tx.get(key, for_update=True)
        outcome = await tx.put(key, payload, last_updated, partner_id=partner)
        await tx.outbox_enqueue(partner, key.kind, key.object_id, payload, due_at=now)

See ``docs/storage.md`` for the design.
"""

from evroam.store.factory import DB_FILE_NAME, MEMORY_URL, create_store, default_sqlite_url
from evroam.store.memory import MemoryStore
from evroam.store.port import (
    ObjectKey,
    Operations,
    OutboxItem,
    OutboxStatus,
    Page,
    PutOutcome,
    Store,
    StoredObject,
    Transaction,
)
from evroam.store.sql import SqlStore

__all__ = [
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
