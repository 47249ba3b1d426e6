"""The light CLI commands keep heavy libraries out (start-up time; bench/cli.py measures it).

Each check runs a command in a fresh interpreter and looks at ``sys.modules`` afterwards: no timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evroam.cli.main import RUNNER_KEY
from evroam.modules import kit

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


def test_the_cli_and_the_kits_agree_on_the_runner_key() -> None:
    assert RUNNER_KEY == kit.RUNNER_KEY
