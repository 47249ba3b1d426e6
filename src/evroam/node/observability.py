"""What the node says about itself: ``/readyz`` checks, the ``/metrics`` snapshot and who may read it.

* :class:`Readiness`: the database answers (within 5 s; a SQLite file that was removed counts as
  gone), its schema is at the revision this code needs, and the push worker runs when this process
  runs one. Each check gives ``"ok"`` or what is wrong, in words that name no path or host (the
  endpoint needs no login).
* :func:`snapshot`: the gauges read from the database when ``/metrics`` is scraped
  (:class:`evroam.metrics.Snapshot`).
* :class:`MetricsAccess`: ``/metrics`` on the node's port answers a request carrying the metrics token
  (``Authorization: Bearer <EVROAM_METRICS_TOKEN>``) or the dashboard's admin password
  (``Authorization: Basic``, any user name, the password of ``evroam admin set-password``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import hmac
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from evroam.metrics import (
    ImportRun,
    OutboxDepth,
    Snapshot,
    SyncRun,
    import_result_setting,
    read_run,
    sync_result_setting,
)
from evroam.pull.sync import sync_setting
from evroam.registration.model import PartnerStatus
from evroam.registration.redaction import remember_secret
from evroam.store.failures import storage_failure
from evroam.store.port import Store
from evroam.store.sql import SqlStore

if TYPE_CHECKING:
    from evroam.node.wiring import Node

__all__ = ["METRICS_TOKEN_ENV", "MetricsAccess", "Readiness", "snapshot"]

METRICS_TOKEN_ENV = "EVROAM_METRICS_TOKEN"
CHECK_TIMEOUT = 5.0
"""Seconds a readiness check may take before it counts as failed."""
_MIGRATIONS_RECHECK = 30.0


class Readiness:
    """The checks of ``/readyz`` for one node (``worker``: whether this process runs the push worker)."""

    def __init__(self, store: Store, worker_running: Callable[[], bool] | None) -> None:
        self._store = store
        self._worker_running = worker_running
        self._schema_ok_until = 0.0

    async def __call__(self) -> dict[str, str]:
        checks = {"database": await self._database()}
        if checks["database"] == "ok":
            checks["migrations"] = await self._migrations()
        else:
            checks["migrations"] = "unknown: the database is unavailable"
        if self._worker_running is not None:
            checks["push_worker"] = "ok" if self._worker_running() else "not running"
        return checks

    async def _guarded(self, work: Awaitable[str]) -> str:
        try:
            return await asyncio.wait_for(work, CHECK_TIMEOUT)
        except TimeoutError:
            return f"no answer within {CHECK_TIMEOUT:g} s"
        except Exception as exc:
            failure = storage_failure(exc)
            if failure is None:
                return f"failed: {type(exc).__name__}"
            return f"unavailable ({failure.reason})"

    async def _database(self) -> str:
        sqlite_file = _sqlite_file(self._store)
        if sqlite_file is not None and not sqlite_file.exists():
            return "unavailable (the SQLite database file is gone)"

        async def probe() -> str:
            await self._store.get_setting("node.writable")
            return "ok"

        return await self._guarded(probe())

    async def _migrations(self) -> str:
        store = self._store
        if not isinstance(store, SqlStore) or time.monotonic() < self._schema_ok_until:
            return "ok"

        async def probe() -> str:
            from evroam.store.migrate import current_revision, head_revision

            current = await store.run_sync(current_revision)
            head = head_revision()
            if current == head:
                self._schema_ok_until = time.monotonic() + _MIGRATIONS_RECHECK
                return "ok"
            return f"the database is at revision {current or 'none'}, this node needs {head} (evroam migrate)"

        return await self._guarded(probe())


def _sqlite_file(store: Store) -> Path | None:
    if not isinstance(store, SqlStore) or store.dialect != "sqlite":
        return None
    database = store.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _epoch(value: object) -> float | None:
    timestamp = getattr(value, "timestamp", None)
    return float(timestamp()) if callable(timestamp) else None


async def snapshot(node: Node, *, worker: bool) -> Snapshot:
    """The gauges of ``/metrics`` as the database has them now."""
    from evroam.node.kits import pulls_of

    store = node.store
    outbox = [
        OutboxDepth(partner, status.value, jobs, _epoch(due), _epoch(created))
        for partner, status, jobs, due, created in await store.outbox_depths()
    ]
    names = {row.partner: row.partner for row in outbox}
    partners = await node.registration.partners()
    for partner in partners:
        names[partner.id] = partner.name
    outbox = [dataclasses.replace(r, partner=names.get(r.partner, r.partner)) for r in outbox]
    syncs: list[SyncRun] = []
    for module in sorted(pulls_of(node.kits)):
        for partner in partners:
            run = read_run(await store.get_setting(sync_result_setting(partner.id, module)))
            if run is None:
                continue
            last_success = await store.get_setting(sync_setting(partner.id, module))
            success: float | None = None
            if last_success is not None:
                from evroam.core.types import DateTime

                try:
                    success = DateTime.parse(last_success).timestamp()
                except ValueError:
                    success = None
            syncs.append(SyncRun(partner.name, module, run[0], run[1], run[2], success))
    imports: list[ImportRun] = []
    for kit in node.kits:
        run = read_run(await store.get_setting(import_result_setting(kit.name)))
        if run is not None:
            imports.append(ImportRun(kit.name, run[0], run[1], run[2]))
    return Snapshot(
        now=node.clock.now().timestamp(),
        outbox=outbox,
        partners=[(p.name, p.status.value) for p in partners],
        partner_statuses=[s.value for s in PartnerStatus],
        syncs=syncs,
        imports=imports,
        worker_running=node.push_worker().running if worker else None,
    )


class MetricsAccess:
    """Who may read ``/metrics`` on the node's port (see the module docstring).

    A checked admin password is remembered (its SHA-256, with the stored hash it matched) so that a
    scrape every few seconds does not cost a scrypt each; a new password forgets it."""

    def __init__(self, store: Store, token: str | None = None) -> None:
        self._store = store
        self._token = token if token is not None else os.environ.get(METRICS_TOKEN_ENV) or None
        remember_secret(self._token)
        self._checked: tuple[str, bytes] | None = None

    async def __call__(self, headers: Mapping[str, str]) -> bool:
        scheme, _, value = headers.get("authorization", "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and self._token:
            return hmac.compare_digest(value.encode("utf-8"), self._token.encode("utf-8"))
        if scheme.lower() != "basic":
            return False
        try:
            _, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        from evroam.http.dashboard.auth import ADMIN_SETTING, verify_password

        stored = await self._store.get_setting(ADMIN_SETTING)
        if not stored or not password:
            return False
        digest = hashlib.sha256(password.encode("utf-8")).digest()
        if self._checked is not None and self._checked[0] == stored:
            return hmac.compare_digest(self._checked[1], digest)
        if await asyncio.to_thread(verify_password, password, stored):
            self._checked = (stored, digest)
            return True
        return False
