"""Telling a database that is unavailable (full, read-only, unreachable) from a bug.

:func:`storage_failure` looks at an exception (and what caused it) and, when the database itself failed,
says how, in words that may be shown to a partner (no paths, hosts or SQL) and with the driver's own
message for the log. The HTTP server answers such failures with
:class:`~evroam.core.errors.StorageUnavailable` (HTTP 503, OCPI 3000) instead of a bare "Internal
error", and logs one line instead of a traceback per request; the push worker does the same for a pass.
"""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc

__all__ = ["StorageFailure", "storage_failure"]

#: (words in the driver's message, lower case) -> what it means
_MESSAGES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("database or disk is full", "no space left on device", "could not extend file", "disk full"),
        "disk full",
    ),
    (("readonly database", "read-only", "read only file system"), "read-only"),
    (("disk i/o error", "input/output error"), "I/O error"),
    (("database is locked", "database table is locked"), "locked by another process"),
    (("unable to open database file",), "cannot be opened"),
    (("malformed", "not a database"), "corrupt"),
)
_ERRNOS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk full",
    errno.EFBIG: "disk full",
    errno.EROFS: "read-only",
    errno.EIO: "I/O error",
}


@dataclass(frozen=True, slots=True)
class StorageFailure:
    """``reason``: safe to show ("disk full", "read-only", "unreachable", ...); ``detail``: the driver's
    message, for the node's log."""

    reason: str
    detail: str


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 20:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _by_message(text: str) -> str | None:
    lowered = text.lower()
    for words, reason in _MESSAGES:
        if any(word in lowered for word in words):
            return reason
    return None


def storage_failure(exc: BaseException) -> StorageFailure | None:
    """How the database failed, if ``exc`` (or an exception it was raised from) is the database failing;
    ``None`` for anything else (a bug, a constraint violated, a conflict)."""
    for error in _chain(exc):
        detail = str(error).split("\n")[0] or type(error).__name__
        if isinstance(error, sa_exc.IntegrityError | sa_exc.ProgrammingError | sqlite3.IntegrityError):
            return None
        if isinstance(error, sqlite3.OperationalError | sqlite3.DatabaseError):
            return StorageFailure(_by_message(str(error)) or "database error", detail)
        if isinstance(error, sa_exc.DBAPIError):
            if error.orig is not None:  # the driver's words, without SQLAlchemy's wrapping and SQL
                detail = str(error.orig).split("\n")[0] or type(error.orig).__name__
            reason = _by_message(str(error.orig) if error.orig is not None else str(error))
            lost = isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
            if reason is None and (error.connection_invalidated or lost):
                reason = "unreachable"
            if reason is None:
                reason = "unreachable" if "connect" in str(error).lower() else None
            if reason is not None:
                return StorageFailure(reason, detail)
        if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free
            return StorageFailure("overloaded", detail)
        if isinstance(error, OSError):
            if error.errno in _ERRNOS:
                return StorageFailure(_ERRNOS[error.errno], detail)
            if isinstance(error, ConnectionError):  # refused, reset: the database server (asyncpg)
                return StorageFailure("unreachable", detail)
        module = type(error).__module__
        if module.startswith("asyncpg"):
            name = type(error).__name__
            if "Connect" in name or "Shutdown" in name or "Connection" in name:
                return StorageFailure("unreachable", detail)
            if name == "InterfaceError" and "closed" in str(error).lower():  # "connection is closed"
                return StorageFailure("unreachable", detail)
            reason = _by_message(str(error))
            if reason is not None:
                return StorageFailure(reason, detail)
    return None
