"""Conversions between each version's wire objects and the registration service's records.

Credentials go through the version's converters (:func:`evroam.ocpi.converters.converters`) to and
from the canonical :class:`~evroam.model.Credentials`. The rest is driven by the version table
(``spec.models``): the ``Version``, ``VersionDetails`` and ``Endpoint`` classes of the version at hand.

Reading a partner's versions list and version details is deliberately tolerant: each entry is checked
on its own, so one version number or one custom module identifier that a version's enums do not know
does not make the whole answer unusable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import msgspec

from evroam.core.codec import convert
from evroam.core.errors import PartnerError, ValidationFailed
from evroam.model import Credentials, Role
from evroam.ocpi.converters import converters
from evroam.ocpi.table import InterfaceRole, VersionSpec
from evroam.registration.model import PartnerEndpoint

__all__ = [
    "credentials_from_wire",
    "credentials_to_wire",
    "endpoint_to_wire",
    "endpoints_from_wire",
    "version_details_to_wire",
    "version_to_wire",
    "versions_from_wire",
]

log = logging.getLogger(__name__)


def credentials_to_wire(spec: VersionSpec, data: Credentials) -> Any:
    """``data`` as the version's ``Credentials`` object (the version's converter: 2.1.1 carries the first
    role only, 2.3.0 carries a 2.2.1 ``HUB`` role as ``hub_party_id``)."""
    return converters(spec.number).credentials_from_model(data)


def credentials_from_wire(spec: VersionSpec, obj: Any) -> Credentials:
    """The version's ``Credentials`` object as canonical :class:`~evroam.model.Credentials`.

    A 2.1.1 object names no role; it is recorded as ``OTHER``.
    """
    return converters(spec.number).credentials_to_model(obj, role=Role.OTHER)


def _text(value: Any) -> str:
    return str.__str__(value) if isinstance(value, str) else str(value)


def version_to_wire(spec: VersionSpec, url: str) -> Any:
    """The versions-list entry announcing ``spec``'s version at ``url``."""
    return convert({"version": spec.number, "url": url}, spec.models["Version"])


def endpoint_to_wire(spec: VersionSpec, module: str, role: InterfaceRole, url: str) -> Any:
    fields: dict[str, Any] = {"identifier": module, "url": url}
    if spec.endpoint_roles:
        fields["role"] = role.value
    return convert(fields, spec.models["Endpoint"])


def version_details_to_wire(spec: VersionSpec, endpoints: Iterable[Any]) -> Any:
    return spec.models["VersionDetails"](
        version=convert(spec.number, _field_type(spec, "VersionDetails", "version")),
        endpoints=list(endpoints),
    )


def _field_type(spec: VersionSpec, model: str, name: str) -> Any:
    for f in msgspec.structs.fields(spec.models[model]):
        if f.name == name:
            return f.type
    raise KeyError(f"{model}.{name}")  # pragma: no cover - a table error


def versions_from_wire(data: Any, url: str) -> list[tuple[str, str]]:
    """(version, details URL) of each well-formed entry of a partner's versions list."""
    if not isinstance(data, list):
        raise PartnerError(200, None, "the versions list is not a JSON array", url)
    out: list[tuple[str, str]] = []
    for entry in data:
        if (
            isinstance(entry, dict)
            and isinstance(entry.get("version"), str)
            and isinstance(entry.get("url"), str)
        ):
            out.append((entry["version"], entry["url"]))
        else:
            log.debug("ignoring a malformed entry in the versions list of %s", url)
    return out


def endpoints_from_wire(spec: VersionSpec, data: Any, url: str) -> list[PartnerEndpoint]:
    """The endpoints of a partner's version details, each read with the version's ``Endpoint`` model.

    Entries of modules this version's enum does not know (custom modules) are kept when they have a
    string identifier and URL; malformed entries are skipped.
    """
    if not isinstance(data, dict) or not isinstance(data.get("endpoints"), list):
        raise PartnerError(200, None, "the version details carry no endpoints list", url)
    model = spec.models["Endpoint"]
    out: list[PartnerEndpoint] = []
    for entry in data["endpoints"]:
        try:
            endpoint = convert(entry, model)
        except ValidationFailed:
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("identifier"), str)
                and isinstance(entry.get("url"), str)
            ):
                role = entry.get("role")
                out.append(
                    PartnerEndpoint(
                        module=entry["identifier"],
                        url=entry["url"],
                        role=role if isinstance(role, str) else None,
                    )
                )
            else:
                log.debug("ignoring a malformed endpoint in the version details of %s", url)
            continue
        role_value = getattr(endpoint, "role", None)
        out.append(
            PartnerEndpoint(
                module=_text(endpoint.identifier),
                url=endpoint.url,
                role=None if role_value is None else _text(role_value),
            )
        )
    return out
