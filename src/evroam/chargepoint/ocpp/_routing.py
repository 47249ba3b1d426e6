"""The ``ocpp`` library's ``on`` decorator, typed (the library ships no types)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from ocpp.routing import on

F = TypeVar("F", bound=Callable[..., Any])


def handles(action: str) -> Callable[[F], F]:
    """Route the CALLs of ``action`` to the decorated method."""
    return cast(Callable[[F], F], on(action))
