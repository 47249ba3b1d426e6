"""The commands module as the node sees it: :data:`COMMANDS` (no pusher: commands are requests and
their results, not objects; no pull)."""

from __future__ import annotations

from ..kit import ModuleKit, NodeContext, Served
from .cli import commands as commands_group
from .setup import NodeCommands

__all__ = ["COMMANDS", "CommandLookups"]


class CommandLookups:
    """Nothing other modules need from the commands module (yet)."""


def _serve(node: NodeContext) -> Served:
    commands = NodeCommands.of(node)
    return Served(bindings=commands.bindings(), on_shutdown=(commands.close,))


COMMANDS: ModuleKit[CommandLookups] = ModuleKit(
    name="commands",
    lookups=CommandLookups(),
    serve=_serve,
    commands=(commands_group,),
)
