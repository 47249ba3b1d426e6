"""The ``evroam`` command line: the one place where command groups are assembled.

The node's own commands (``init``, ``serve``, ``partners``, ``outbox``, ``sync``, ``worker``, ``compat``,
``simulate``, ``openapi``, ``admin``, ``migrate``, ``backup``, ``bridge``, ``version``, the tariff engine's
``tariffs price``) and each module kit's groups (:attr:`evroam.modules.kit.ModuleKit.commands`; a group
named like one already there joins it). The module commands reach their node through the runner the root
command puts in click's context.

Every option can also be given as an environment variable: ``EVROAM_<OPTION>`` for the top-level
options (``EVROAM_DATA_DIR``, ``EVROAM_DATABASE_URL``, ``EVROAM_LOG_LEVEL``) and
``EVROAM_<COMMAND>_<OPTION>`` for a command's own options (click's ``auto_envvar_prefix``).
Every command that prints data also takes ``--json``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from evroam.modules.output import emit, error_data
from evroam.node.settings import DEFAULT_DATA_DIR, Settings
from evroam.ocpi.modelled import MODELLED_VERSIONS

if TYPE_CHECKING:
    from evroam.modules.kit import NodeContext
    from evroam.node.kits import Kits

__all__ = ["add_group", "assemble", "cli", "emit", "main"]

T = TypeVar("T")

#: Where the module commands find their node runner (``evroam.modules.kit.RUNNER_KEY``; a test keeps the
#: two equal: importing the kit module here would load every heavy library for ``evroam version``).
RUNNER_KEY = "evroam.node_runner"

#: The environment variable naming extra kits (``evroam.node.kits.KITS_ENV``; a test keeps them equal).
KITS_ENV = "EVROAM_KITS"

#: The commands that need nothing of the node: answered without loading the node or the kits.
LIGHT_COMMANDS = frozenset({"version"})

#: Where the node's own commands live (``module:attribute``), loaded only when named on the command line.
NODE_COMMANDS: dict[str, tuple[str, ...]] = {
    "init": ("evroam.cli.node:init",),
    "serve": ("evroam.cli.node:serve",),
    "partners": ("evroam.cli.node:partners",),
    "tariffs": ("evroam.tariffs.cli:tariffs",),  # the tariff engine's `tariffs price`
    "compat": ("evroam.cli.compat:compat",),
    "outbox": ("evroam.cli.push:outbox",),
    "worker": ("evroam.cli.push:worker",),
    "simulate": ("evroam.cli.simulate:simulate",),
    "openapi": ("evroam.cli.openapi:openapi",),
    "admin": ("evroam.cli.admin:admin",),
    "smart": ("evroam.cli.smart:smart",),
    "hub": ("evroam.cli.hub:hub",),
    "oicp": ("evroam.testing.oicp_hub:cli",),  # `oicp test-hub`; the rest of `oicp` is the kit's
    "chargers": ("evroam.cli.chargers:chargers",),
    "migrate": ("evroam.cli.ops:migrate",),
    "backup": ("evroam.cli.ops:backup",),
    "bridge": ("evroam.cli.bridge:bridge",),
}

#: The built-in kits by the names of their command groups (``module:KIT``): ``evroam locations list``
#: loads the locations kit alone, not every module. A test keeps this equal to what the kits declare.
#: ``sync`` (whose subcommands come from every kit), ``--help`` and the kits of ``EVROAM_KITS`` load all.
KIT_COMMANDS: dict[str, str] = {
    "locations": "evroam.modules.locations:LOCATIONS",
    "tariffs": "evroam.modules.tariffs:TARIFFS",
    "tokens": "evroam.modules.tokens:TOKENS",
    "sessions": "evroam.modules.sessions:SESSIONS",
    "cdrs": "evroam.modules.cdrs:CDRS",
    "commands": "evroam.modules.commands:COMMANDS",
    "profiles": "evroam.modules.chargingprofiles:CHARGING_PROFILES",
    "hubclientinfo": "evroam.modules.hubclientinfo:HUBCLIENTINFO",
    "oicp": "evroam.modules.oicp:OICP",
}


def _resolve(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _run_on_node(action: Callable[[NodeContext], Awaitable[T]]) -> T:
    from evroam.cli.node import run_on_node

    return run_on_node(action)


class EvroamCli(click.Group):
    """The root group: the node's commands and the kits' groups are loaded when a command needs them,
    so that light commands (``evroam version``) start fast; with ``--json`` a failure is printed as
    JSON on stdout (``{"error": {...}}``) with its exit status (docs/cli.md)."""

    assembled = False

    def _assemble(self) -> None:
        if not self.assembled:
            from evroam.node.kits import with_extra

            self.assembled = True
            assemble(self, with_extra(os.environ.get(KITS_ENV)))

    def _load(self, name: str) -> None:
        """Only what command ``name`` needs: its node command and/or its built-in kit's groups."""
        for reference in NODE_COMMANDS.get(name, ()):
            add_group(self, _resolve(reference))
        if name in KIT_COMMANDS:
            for group in _resolve(KIT_COMMANDS[name]).commands:
                add_group(self, group)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LIGHT_COMMANDS or self.assembled:
            pass
        elif (cmd_name in NODE_COMMANDS or cmd_name in KIT_COMMANDS) and not os.environ.get(KITS_ENV):
            self._load(cmd_name)
        else:
            self._assemble()
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._assemble()
        return super().list_commands(ctx)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if not standalone_mode or "--json" not in argv:
            return super().main(argv, prog_name, complete_var, standalone_mode, **extra)
        try:
            outcome = super().main(argv, prog_name, complete_var, False, **extra)
        except (click.ClickException, click.Abort) as exc:
            data, code = error_data(exc)
            click.echo(json.dumps(data, indent=2, sort_keys=True))
            sys.exit(code)
        sys.exit(outcome if isinstance(outcome, int) else 0)


@click.group(
    cls=EvroamCli, context_settings={"auto_envvar_prefix": "EVROAM", "help_option_names": ["-h", "--help"]}
)
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
@click.version_option(None, "-V", "--version-flag", package_name="evroam", prog_name="evroam")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path, database_url: str | None, log_level: str) -> None:
    """evroam: an EV-roaming node and library for OCPI 2.1.1 / 2.2.1 / 2.3.0."""
    ctx.obj = Settings(data_dir=data_dir, database_url=database_url, log_level=log_level.upper())
    ctx.meta[RUNNER_KEY] = _run_on_node


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def version(as_json: bool) -> None:
    """Print the package version and the OCPI versions evroam models."""
    from evroam import __version__

    data = {"evroam": __version__, "ocpi_versions": list(MODELLED_VERSIONS)}
    emit(data, as_json, f"evroam {__version__}\nOCPI versions modelled: {', '.join(MODELLED_VERSIONS)}")


def add_group(main: click.Group, command: click.Command) -> None:
    """Add ``command`` to ``main``; a group whose name is taken by another group joins that one."""
    name = command.name or ""
    existing = main.commands.get(name)
    if existing is None:
        main.add_command(command)
        return
    if existing is command:
        return
    if not (isinstance(existing, click.Group) and isinstance(command, click.Group)):
        raise RuntimeError(f"two commands named {name!r}")
    for sub_name, sub in command.commands.items():
        if existing.commands.get(sub_name) is sub:
            continue  # joined before (a command loaded alone, then the whole CLI)
        if sub_name in existing.commands:
            raise RuntimeError(f"two commands named {name} {sub_name!r}")
        existing.add_command(sub, sub_name)


def assemble(main: click.Group, kits: Kits) -> None:
    """Every command of the node, then each kit's groups."""
    from evroam.cli.admin import admin
    from evroam.cli.bridge import bridge
    from evroam.cli.chargers import chargers
    from evroam.cli.compat import compat
    from evroam.cli.hub import hub
    from evroam.cli.node import init, partners, serve
    from evroam.cli.openapi import openapi
    from evroam.cli.ops import backup, migrate
    from evroam.cli.push import outbox, sync, sync_command, worker
    from evroam.cli.simulate import simulate
    from evroam.cli.smart import smart
    from evroam.tariffs.cli import tariffs as tariff_engine

    for command in (
        init,
        serve,
        partners,
        tariff_engine,
        compat,
        outbox,
        sync,
        worker,
        simulate,
        smart,
        openapi,
        admin,
        chargers,
        migrate,
        backup,
        hub,
        bridge,
    ):
        add_group(main, command)
    for kit in kits:
        for group in kit.commands:
            add_group(main, group)
        if kit.pull is not None:
            add_group(sync, sync_command(kit.name, kit.pull))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="evroam")
