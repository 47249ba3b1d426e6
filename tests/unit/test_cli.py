"""The command line's contract: --help, version, --json, EVROAM_* variables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evroam import __version__
from evroam.cli import cli


def test_version_prints_package_and_ocpi_versions() -> None:
    result = CliRunner().invoke(cli, ["version"])
    assert result.exit_code == 0
    assert f"evroam {__version__}" in result.output
    assert "2.1.1, 2.2.1, 2.3.0" in result.output


def test_version_json() -> None:
    result = CliRunner().invoke(cli, ["version", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == {"evroam": __version__, "ocpi_versions": ["2.1.1", "2.2.1", "2.3.0"]}


def test_settings_come_from_environment_variables() -> None:
    seen = {}

    @cli.command("probe-settings")
    def probe() -> None:
        import click

        seen["settings"] = click.get_current_context().obj

    try:
        result = CliRunner().invoke(
            cli,
            ["probe-settings"],
            env={"EVROAM_DATA_DIR": "/tmp/x", "EVROAM_DATABASE_URL": "postgresql+asyncpg://u@h/db"},
        )
    finally:
        cli.commands.pop("probe-settings")
    assert result.exit_code == 0, result.output
    settings = seen["settings"]
    assert str(settings.data_dir) == "/tmp/x"
    assert settings.database_url == "postgresql+asyncpg://u@h/db"


def test_console_entry_point_runs_as_a_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "evroam", "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0
    assert "Usage: evroam" in done.stdout


def test_serve_on_a_database_it_cannot_write_stops_with_one_line_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    def listen(self: object) -> None:
        raise AssertionError("serve went on to listen")

    monkeypatch.setattr(uvicorn.Server, "run", listen)
    data = tmp_path / "node"
    assert (
        CliRunner()
        .invoke(
            cli,
            [
                "--data-dir",
                str(data),
                "init",
                "--country-code",
                "NL",
                "--party-id",
                "CPO",
                "--role",
                "CPO",
                "--url",
                "http://127.0.0.1:9",
            ],
        )
        .exit_code
        == 0
    )
    read_only = f"sqlite:///file:{data / 'evroam.db'}?mode=ro&uri=true"
    result = CliRunner().invoke(cli, ["--data-dir", str(data), "--database-url", read_only, "serve"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == (
        "Error: cannot use the database (read-only): attempt to write a readonly database"
    )
    assert "Traceback" not in result.output
