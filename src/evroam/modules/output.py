"""What every command prints: data as JSON (``--json``) or text, and failures with their exit status.

Exit statuses (docs/cli.md): 0 done; 1 the command failed (refused, a partner unreachable, a bad file);
2 a usage error (an unknown option, a bad value); 3 what was asked for does not exist (a location, a
partner). With ``--json`` a failure is printed on stdout as ``{"error": {"type", "message", "exit_code"}}``.
This module stays light: the CLI imports it before it knows which command runs.
"""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = [
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_USAGE",
    "CommandFailed",
    "NothingFound",
    "emit",
    "error_data",
]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3


class CommandFailed(click.ClickException):
    """A failure of a command, of a ``kind`` (printed in the JSON error) and with its exit status."""

    kind = "failed"
    exit_code = EXIT_FAILED


class NothingFound(CommandFailed):
    """What the command was asked for does not exist (a location, a partner ...): exit status 3."""

    kind = "not_found"
    exit_code = EXIT_NOT_FOUND


def emit(data: Any, as_json: bool, text: str) -> None:
    """Print ``data`` as JSON (``--json``) or the human-readable ``text``."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        click.echo(text)


def error_data(exc: click.ClickException | click.Abort) -> tuple[dict[str, Any], int]:
    """The JSON a ``--json`` command prints for a failure, and its exit status."""
    if isinstance(exc, click.Abort):
        kind, message, code = "aborted", "aborted", EXIT_FAILED
    elif isinstance(exc, CommandFailed):
        kind, message, code = exc.kind, exc.format_message(), exc.exit_code
    elif isinstance(exc, click.UsageError):
        kind, message, code = "usage", exc.format_message(), EXIT_USAGE
    else:
        kind, message, code = "failed", exc.format_message(), exc.exit_code
    return {"error": {"type": kind, "message": message, "exit_code": code}}, code
