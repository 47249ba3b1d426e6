"""Owner-only permissions for the node's data directory and SQLite files.

The SQLite database holds the tokens partners gave us (we call them with those), so the data directory
is ``0700`` and ``evroam.db`` with its ``-wal``, ``-shm`` and ``-journal`` companions ``0600``:

* :func:`private_dir` creates the directory ``0700``, or takes group and other access away from an
  existing one (with a warning);
* :func:`private_sqlite_file` creates the database file ``0600`` before SQLite opens it (SQLite gives
  the ``-wal`` and ``-shm`` files it creates later the database file's mode), or tightens existing
  files (with a warning).

Both run whenever a store is made from a data directory (``evroam init``, ``evroam serve``, every
command), so a node started on files an older version created fixes them. Nothing is done on systems
without POSIX permissions (Windows).
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = [
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "SQLITE_SUFFIXES",
    "private_dir",
    "private_sqlite_file",
    "read_only_filesystem",
]

log = logging.getLogger(__name__)

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
#: The files SQLite keeps next to a database file.
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")

_POSIX = os.name == "posix"


def _tighten(path: Path, mode: int, what: str) -> None:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077:
        os.chmod(path, current & ~0o077 | mode)
        log.warning(
            "%s %s was readable by other users (mode %o); changed it to %o",
            what,
            path,
            current,
            current & ~0o077 | mode,
        )


def private_dir(path: Path) -> Path:
    """Create ``path`` (and its missing parents) with mode ``0700``; tighten it if it exists."""
    path = Path(path)
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
        if _POSIX:
            os.chmod(path, PRIVATE_DIR_MODE)  # whatever the umask left
        return path
    if _POSIX:
        _tighten(path, PRIVATE_DIR_MODE, "data directory")
    return path


def private_sqlite_file(path: Path) -> Path:
    """Create the SQLite database file ``path`` empty with mode ``0600`` if it is missing, and
    tighten it and its ``-wal`` / ``-shm`` / ``-journal`` files where they exist."""
    path = Path(path)
    if not _POSIX:
        return path
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
        os.close(fd)  # an empty file is an empty SQLite database
    for suffix in SQLITE_SUFFIXES:
        companion = path.with_name(path.name + suffix)
        try:
            _tighten(companion, PRIVATE_FILE_MODE, "database file")
        except FileNotFoundError:
            continue
    return path


def read_only_filesystem(path: Path) -> bool:
    """Whether ``path`` (a directory) is on a filesystem mounted read-only: SQLite then only says
    "unable to open database file" (it cannot write the WAL's shared-memory file)."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False
