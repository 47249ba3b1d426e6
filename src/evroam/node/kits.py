"""The module kits a node runs: the built-in ones, and extra ones named in ``EVROAM_KITS``.

``EVROAM_KITS`` (or ``evroam --kit``) is a comma-separated list of ``package.module:NAME`` references to
:class:`~evroam.modules.kit.ModuleKit` objects, imported when the node is built: a custom module is a
package of its own, served, pushed, pulled and given its commands without a change to evroam.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from evroam.modules.cdrs import CDRS
from evroam.modules.chargingprofiles import CHARGING_PROFILES
from evroam.modules.commands import COMMANDS
from evroam.modules.hubclientinfo import HUBCLIENTINFO
from evroam.modules.kit import ModuleKit, PullSpec, Pusher
from evroam.modules.locations import LOCATIONS
from evroam.modules.oicp import OICP
from evroam.modules.sessions import SESSIONS
from evroam.modules.tariffs import TARIFFS
from evroam.modules.tokens import TOKENS
from evroam.push.retry import RetryPolicies, RetryPolicy

__all__ = [
    "BUILTIN_KITS",
    "KITS_ENV",
    "KitError",
    "Kits",
    "load_kit",
    "policies_of",
    "pulls_of",
    "pushers_of",
    "with_extra",
]

Kits = tuple[ModuleKit[Any], ...]

#: The modules evroam ships, in the order their routes and commands are listed.
BUILTIN_KITS: Kits = (
    LOCATIONS,
    TARIFFS,
    TOKENS,
    SESSIONS,
    CDRS,
    COMMANDS,
    CHARGING_PROFILES,
    HUBCLIENTINFO,
    OICP,
)

KITS_ENV = "EVROAM_KITS"


class KitError(ValueError):
    """A kit reference that does not name a module kit."""


def load_kit(reference: str) -> ModuleKit[Any]:
    """The kit named ``package.module:NAME``."""
    module_name, sep, attribute = reference.strip().partition(":")
    if not sep or not module_name or not attribute:
        raise KitError(f"{reference!r} is not a kit reference (package.module:NAME)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise KitError(f"cannot import {module_name!r} for kit {reference!r}: {exc}") from None
    kit = getattr(module, attribute, None)
    if not isinstance(kit, ModuleKit):
        raise KitError(f"{reference!r} is not a ModuleKit")
    return kit


def with_extra(extra: str | None, base: Kits = BUILTIN_KITS) -> Kits:
    """``base`` and the kits of ``extra`` (a comma-separated list of references); names stay unique."""
    kits = list(base)
    for reference in (extra or "").split(","):
        if not reference.strip():
            continue
        kit = load_kit(reference)
        if any(k.name == kit.name for k in kits):
            raise KitError(f"two kits for module {kit.name!r} ({reference!r})")
        kits.append(kit)
    return tuple(kits)


def pushers_of(kits: Iterable[ModuleKit[Any]]) -> dict[str, Pusher]:
    """The push worker's pushers, by module."""
    return {kit.name: kit.pusher for kit in kits if kit.pusher is not None}


def pulls_of(kits: Iterable[ModuleKit[Any]]) -> dict[str, PullSpec]:
    """What ``evroam sync`` can pull, by module."""
    return {kit.name: kit.pull for kit in kits if kit.pull is not None}


def policies_of(kits: Sequence[ModuleKit[Any]], default: RetryPolicy | None = None) -> RetryPolicies:
    """The retry policies: ``default`` for every module, changed as each kit's delivery terms ask."""
    base = default or RetryPolicy()
    per_module: Mapping[str, RetryPolicy] = {
        kit.name: dataclasses.replace(
            base, retry_forever=kit.delivery.retry_forever, escalate_after=kit.delivery.escalate_after
        )
        for kit in kits
        if kit.delivery.retry_forever or kit.delivery.escalate_after is not None
    }
    return RetryPolicies(default=base, per_module=per_module)
