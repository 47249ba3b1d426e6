"""The light CLI commands keep heavy libraries out (start-up time; bench/cli.py measures it).

Each check runs a command in a fresh interpreter and looks at ``sys.modules`` afterwards: no timing.
"""

from __future__ import annotations

import importlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from evroam.cli.main import KIT_COMMANDS, KITS_ENV, NODE_COMMANDS, RUNNER_KEY
from evroam.modules import kit
from evroam.node import kits
from evroam.store.migrate import head_revision
from evroam.store.schema import SCHEMA_HEAD

cli_main = importlib.import_module("evroam.cli.main")  # the module (evroam.cli.main is also a function)

#: What a command that does not serve HTTP has no use for.
SERVER_ONLY = ("litestar", "uvicorn", "evroam.http.server")
#: What ``evroam version`` (and the bare import of the CLI) has no use for.
HEAVY = (
    *SERVER_ONLY,
    "sqlalchemy",
    "alembic",
    "httpx",
    "aiosqlite",
    "evroam.node.wiring",
    "evroam.node.kits",
)

PROBE = """
import json, sys
from evroam.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_by(tmp_path: Path, *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "--data-dir", str(tmp_path / "node"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=120,
    )
    modules: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return set(modules)


def heavy_in(modules: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in heavy))


def test_importing_the_cli_loads_nothing_heavy() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import evroam.cli, json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert heavy_in(set(json.loads(done.stdout)), HEAVY) == []


def test_evroam_version_loads_nothing_heavy(tmp_path: Path) -> None:
    modules = loaded_by(tmp_path, "version", "--json")
    assert "evroam.cli.main" in modules  # the probe did run the command
    assert heavy_in(modules, HEAVY) == []


def test_a_listing_loads_no_http_server(tmp_path: Path) -> None:
    assert (
        loaded_by(
            tmp_path,
            "init",
            "--country-code",
            "NL",
            "--party-id",
            "CPO",
            "--role",
            "CPO",
            "--url",
            "http://127.0.0.1:9",
        )
        is not None
    )
    modules = loaded_by(tmp_path, "locations", "list", "--json")
    assert "evroam.modules.locations.cli" in modules and "sqlalchemy" in modules  # it read the store
    assert heavy_in(modules, SERVER_ONLY) == []
    # no partner is called, the schema is current, no other module is listed, the store is SQLite
    other_kits = tuple(
        f"evroam.modules.{name}" for name in ("tariffs", "tokens", "sessions", "cdrs", "commands")
    )
    unused = ("httpx", "alembic", "sqlalchemy.orm", "sqlalchemy.dialects.postgresql", *other_kits)
    assert heavy_in(modules, unused) == []


def test_a_store_behind_the_head_is_still_migrated(tmp_path: Path) -> None:
    """The start-up shortcut (no Alembic when the schema is current) does not skip a needed migration."""
    loaded_by(
        tmp_path, "init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--url", "http://x"
    )
    for database in (tmp_path / "node").glob("evroam.db*"):
        database.unlink()  # a node whose database was never migrated
    modules = loaded_by(tmp_path, "locations", "list", "--json")
    assert "alembic" in modules
    with sqlite3.connect(tmp_path / "node" / "evroam.db") as conn:
        assert conn.execute("SELECT version_num FROM evroam_alembic_version").fetchall() == [(SCHEMA_HEAD,)]


def test_the_schema_head_is_alembics_head() -> None:
    assert head_revision() == SCHEMA_HEAD, "a new migration: update evroam.store.schema.SCHEMA_HEAD"


def test_the_cli_and_the_kits_agree_on_the_runner_key() -> None:
    assert RUNNER_KEY == kit.RUNNER_KEY
    assert KITS_ENV == kits.KITS_ENV


def test_the_cli_knows_where_every_builtin_group_lives() -> None:
    """``evroam NAME ...`` loads only NAME's module: the table of where each group lives must match what
    the kits and the node declare, or a command would be missing until the whole CLI is assembled."""
    declared = {group.name: kit_ for kit_ in kits.BUILTIN_KITS for group in kit_.commands}
    assert {name: cli_main._resolve(ref) for name, ref in KIT_COMMANDS.items()} == declared
    cli_main.cli._assemble()
    node_commands = set(cli_main.cli.commands) - set(declared) - {"version", "sync"}
    assert node_commands | {"tariffs", "oicp"} == set(NODE_COMMANDS)  # groups both add to
    for name, references in NODE_COMMANDS.items():
        for reference in references:
            command = cli_main._resolve(reference)
            assert command.name == name and command is not None
