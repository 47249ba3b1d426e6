"""Node settings: every value comes from a CLI flag or its ``EVROAM_*`` environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_DATA_DIR", "Settings"]

DEFAULT_DATA_DIR = Path("evroam-data")


@dataclass(frozen=True, slots=True)
class Settings:
    """Where a node keeps its state and how it logs.

    ``database_url`` selects PostgreSQL (``postgresql+asyncpg://...``); when it is ``None`` the node uses
    the embedded SQLite database ``<data_dir>/evroam.db``.
    """

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = None
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            data_dir=Path(env.get("EVROAM_DATA_DIR", str(DEFAULT_DATA_DIR))),
            database_url=env.get("EVROAM_DATABASE_URL") or None,
            log_level=env.get("EVROAM_LOG_LEVEL", "INFO").upper(),
        )

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "evroam.db"
