"""The ``evroam`` command line.

Every option can also be given as an environment variable: ``EVROAM_<OPTION>`` for the top-level
options (``EVROAM_DATA_DIR``, ``EVROAM_DATABASE_URL``, ``EVROAM_LOG_LEVEL``) and
``EVROAM_<COMMAND>_<OPTION>`` for a command's own options (click's ``auto_envvar_prefix``).
Every command that prints data also takes ``--json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from evroam import __version__
from evroam.node.settings import DEFAULT_DATA_DIR, Settings
from evroam.ocpi.registry import MODELLED_VERSIONS

__all__ = ["cli", "main"]


def emit(data: Any, as_json: bool, text: str) -> None:
    """Print ``data`` as JSON (``--json``) or the human-readable ``text``."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        click.echo(text)


@click.group(context_settings={"auto_envvar_prefix": "EVROAM", "help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Folder of the node's configuration and embedded database [env EVROAM_DATA_DIR].",
)
@click.option(
    "--database-url",
    default=None,
    help="PostgreSQL URL (postgresql+asyncpg://...) instead of embedded SQLite [env EVROAM_DATABASE_URL].",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Logging level [env EVROAM_LOG_LEVEL].",
)
@click.version_option(__version__, "-V", "--version-flag", prog_name="evroam")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path, database_url: str | None, log_level: str) -> None:
    """evroam: an EV-roaming node and library for OCPI 2.1.1 / 2.2.1 / 2.3.0."""
    ctx.obj = Settings(data_dir=data_dir, database_url=database_url, log_level=log_level.upper())


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def version(as_json: bool) -> None:
    """Print the package version and the OCPI versions evroam models."""
    data = {"evroam": __version__, "ocpi_versions": list(MODELLED_VERSIONS)}
    emit(data, as_json, f"evroam {__version__}\nOCPI versions modelled: {', '.join(MODELLED_VERSIONS)}")


def _register_commands() -> None:
    from evroam.node.commands import init, partners, serve

    cli.add_command(init)
    cli.add_command(serve)
    cli.add_command(partners)

    from evroam.modules.locations.cli import locations
    from evroam.modules.tariffs.cli import register as register_tariffs
    from evroam.tariffs.cli import tariffs as tariff_engine

    cli.add_command(locations)
    cli.add_command(tariff_engine)  # `evroam tariffs price`; the admin commands join this group below
    register_tariffs(cli)  # joins a `tariffs` group already registered (the engine's `price`), if any

    from evroam.modules.tokens.cli import tokens

    cli.add_command(tokens)

    from evroam.modules.cdrs.cli import cdrs
    from evroam.modules.sessions.cli import sessions

    cli.add_command(sessions)
    cli.add_command(cdrs)

    from evroam.compat.cli import compat

    cli.add_command(compat)

    from evroam.push.cli import outbox, sync, worker

    cli.add_command(outbox)
    cli.add_command(sync)
    cli.add_command(worker)

    from evroam.modules.commands.cli import commands as command_group
    from evroam.sim.cli import simulate

    cli.add_command(command_group)
    cli.add_command(simulate)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="evroam")
