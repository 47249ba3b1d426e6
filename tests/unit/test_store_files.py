"""The data directory is 0700 and the SQLite files (which hold partners' tokens) 0600: when they are
created, and when a node starts on files created with looser modes."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from evroam.node.config import NodeConfig, PartyConfig, save_config
from evroam.store import create_store
from evroam.store.port import ObjectKey

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The umask most systems run with (0022: files 0644, folders 0755 unless asked otherwise)."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def sqlite_companions(data_dir: Path) -> list[Path]:
    return [p for p in data_dir.iterdir() if p.name.startswith("evroam.db-")]


async def write_something(data_dir: Path) -> None:
    store = create_store(None, data_dir)
    try:
        await store.migrate()
        async with store.transaction() as tx:
            await tx.put(ObjectKey("note", "NL", "CPO", "1"), b"{}", datetime(2026, 1, 1, tzinfo=UTC))
        # while the store is open, SQLite keeps its write-ahead log and shared-memory index
        companions = sqlite_companions(data_dir)
        assert {p.name for p in companions} >= {"evroam.db-wal", "evroam.db-shm"}
        assert all(mode(p) == 0o600 for p in companions), {p.name: oct(mode(p)) for p in companions}
    finally:
        await store.close()


async def test_a_new_data_directory_and_database_are_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "node" / "data"
    await write_something(data_dir)
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "evroam.db") == 0o600


async def test_permissive_files_of_an_older_node_are_tightened_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    await write_something(data_dir)
    os.chmod(data_dir, 0o755)
    for name in ("evroam.db", "evroam.db-wal", "evroam.db-shm"):
        path = data_dir / name
        path.touch()
        os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING, logger="evroam.store.files"):
        store = create_store(None, data_dir)
        await store.close()
    assert mode(data_dir) == 0o700
    assert {name: mode(data_dir / name) for name in ("evroam.db", "evroam.db-wal", "evroam.db-shm")} == {
        "evroam.db": 0o600,
        "evroam.db-wal": 0o600,
        "evroam.db-shm": 0o600,
    }
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 4 and all("readable by other users" in text for text in warned)


async def test_a_database_named_by_url_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.db"
    store = create_store(f"sqlite:///{path}")
    try:
        await store.migrate()
    finally:
        await store.close()
    assert mode(path) == 0o600


def test_init_creates_the_data_directory_owner_only(tmp_path: Path) -> None:
    config = NodeConfig(
        url="http://127.0.0.1:8100",
        parties=[PartyConfig(country_code="NL", party_id="CPO", role="CPO", name="NL CPO")],
    )
    save_config(tmp_path / "fresh", config)
    assert mode(tmp_path / "fresh") == 0o700
