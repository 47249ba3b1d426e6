"""The declarative shape of an OCPI version: its modules, their interfaces and endpoints.

Each version package (``evroam.ocpi.v2_1_1`` ...) exposes one :class:`VersionSpec` named ``SPEC``.
Routes, clients and validators are generated from these tables; no handler is written per version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["EndpointSpec", "InterfaceRole", "ModuleSpec", "VersionSpec"]


class InterfaceRole(StrEnum):
    """Which side of a module an interface is (2.1.1 calls them the CPO and eMSP interfaces)."""

    SENDER = "SENDER"
    RECEIVER = "RECEIVER"


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """One HTTP operation of a module interface.

    ``path`` is relative to the module's URL and uses ``{name}`` placeholders, e.g. ``""``,
    ``"{location_id}"`` or ``"{country_code}/{party_id}/{location_id}/{evse_uid}"``.
    ``request`` is the wire model of the body (``None`` when there is none); ``response`` the wire
    model of the envelope's ``data`` (``list[X]`` for lists, ``None`` when ``data`` is absent).
    """

    name: str
    method: str
    path: str
    request: Any = None
    response: Any = None
    paginated: bool = False
    query: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModuleSpec:
    """A module (``locations``, ``tokens`` ...) with the endpoints of each of its interfaces."""

    id: str
    interfaces: dict[InterfaceRole, tuple[EndpointSpec, ...]]
    configuration: bool = False  # credentials, versions, hubclientinfo: no routing headers

    def endpoints(self, role: InterfaceRole) -> tuple[EndpointSpec, ...]:
        return self.interfaces.get(role, ())


@dataclass(frozen=True, slots=True)
class VersionSpec:
    """Everything that differs between OCPI versions, as data."""

    number: str
    modules: dict[str, ModuleSpec]
    token_base64: bool  # Authorization header carries Base64 (2.2+) or the raw token (2.1.1)
    routing_headers: bool  # X-Request-ID, X-Correlation-ID, OCPI-from/to-* (2.2+)
    endpoint_roles: bool  # Endpoint objects carry a role (2.2+)
    models: dict[str, Any] = field(default_factory=dict)  # object name -> wire model class
