"""Tracing (``X-Request-ID``, ``X-Correlation-ID``) and routing (``OCPI-from-*`` / ``OCPI-to-*``) headers.

Both exist from 2.2 on; 2.1.1 has none of them. Tracing ids go on every request and response of a
2.2+ connection; routing headers only on the *functional* modules, never on the configuration modules
(``credentials``, ``versions``, ``hubclientinfo``). A direct response carries the request's routing
headers with FROM and TO swapped.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from evroam.core.clock import IdGenerator
from evroam.core.errors import ValidationFailed, Violation
from evroam.core.types import CiString, CiString2, CiString3
from evroam.ocpi.table import ModuleSpec, VersionSpec

__all__ = [
    "CONFIGURATION_MODULES",
    "CORRELATION_ID",
    "FROM_COUNTRY_CODE",
    "FROM_PARTY_ID",
    "REQUEST_ID",
    "TO_COUNTRY_CODE",
    "TO_PARTY_ID",
    "MessageHeaders",
    "PartyRef",
    "RequestIds",
    "Routing",
    "header_value",
    "incoming_request_ids",
    "outgoing_request_ids",
    "parse_routing",
    "read_request_headers",
    "request_id_headers",
    "response_headers",
    "routing_headers",
    "uses_request_ids",
    "uses_routing",
]

REQUEST_ID = "X-Request-ID"
CORRELATION_ID = "X-Correlation-ID"
FROM_COUNTRY_CODE = "OCPI-from-country-code"
FROM_PARTY_ID = "OCPI-from-party-id"
TO_COUNTRY_CODE = "OCPI-to-country-code"
TO_PARTY_ID = "OCPI-to-party-id"

#: Modules that never carry routing headers.
CONFIGURATION_MODULES = frozenset({"credentials", "versions", "hubclientinfo"})


def uses_request_ids(spec: VersionSpec) -> bool:
    """Whether this version's requests and responses carry X-Request-ID / X-Correlation-ID (2.2+)."""
    return spec.routing_headers


def uses_routing(spec: VersionSpec, module: str | ModuleSpec) -> bool:
    """Whether requests and responses of ``module`` in this version carry OCPI-from/to-* headers."""
    if not spec.routing_headers:
        return False
    if isinstance(module, ModuleSpec):
        return not module.configuration and module.id.casefold() not in CONFIGURATION_MODULES
    return module.casefold() not in CONFIGURATION_MODULES


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """One header, looked up case-insensitively, blanks stripped; ``None`` when absent or empty."""
    value = headers.get(name)
    if value is None:
        wanted = name.casefold()
        for key, candidate in headers.items():
            if key.casefold() == wanted:
                value = candidate
                break
    if value is None:
        return None
    value = value.strip()
    return value or None


class RequestIds(msgspec.Struct, frozen=True, kw_only=True):
    """The tracing ids of one request (and of its response, which echoes them)."""

    request_id: str
    correlation_id: str


def incoming_request_ids(headers: Mapping[str, str], ids: IdGenerator) -> RequestIds:
    """Server side: the ids a request came with, generating whichever is missing."""
    request_id = header_value(headers, REQUEST_ID) or ids.new_id()
    correlation_id = header_value(headers, CORRELATION_ID) or ids.new_id()
    return RequestIds(request_id=request_id, correlation_id=correlation_id)


def outgoing_request_ids(ids: IdGenerator, correlation_id: str | None = None) -> RequestIds:
    """Client side: a fresh request id, within ``correlation_id``'s chain or a new one.

    A hub forwarding a request passes the incoming correlation id and gets a new request id.
    """
    return RequestIds(request_id=ids.new_id(), correlation_id=correlation_id or ids.new_id())


def request_id_headers(request_ids: RequestIds) -> dict[str, str]:
    """The two tracing headers (the same on a request and on the response that echoes it)."""
    return {REQUEST_ID: request_ids.request_id, CORRELATION_ID: request_ids.correlation_id}


def _country_code(value: str) -> CiString2:
    if len(value) != 2:
        raise ValueError("Expected a 2-letter country code")
    return CiString2.parse(value)


def _party_id(value: str) -> CiString3:
    if len(value) != 3:
        raise ValueError("Expected a 3-character party id")
    return CiString3.parse(value)


class PartyRef(msgspec.Struct, frozen=True):
    """A party on the OCPI network: ISO 3166-1 alpha-2 country code and 3-character party id."""

    country_code: CiString2
    party_id: CiString3

    @classmethod
    def of(cls, country_code: str, party_id: str) -> PartyRef:
        """Validated construction (exact length, printable ASCII); ``ValueError`` otherwise."""
        return cls(_country_code(country_code), _party_id(party_id))

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id}"


class Routing(msgspec.Struct, frozen=True, kw_only=True):
    """The routing headers of a message; either side may be absent (an open routing request has no TO)."""

    sender: PartyRef | None = None
    receiver: PartyRef | None = None

    def swapped(self) -> Routing:
        """The routing of the direct response to this request: FROM and TO exchanged."""
        return Routing(sender=self.receiver, receiver=self.sender)


def _party(
    headers: Mapping[str, str], country_header: str, party_header: str, out: list[Violation]
) -> PartyRef | None:
    country = header_value(headers, country_header)
    party = header_value(headers, party_header)
    if country is None and party is None:
        return None
    found: list[CiString] = []
    for name, value, other, parse in (
        (country_header, country, party_header, _country_code),
        (party_header, party, country_header, _party_id),
    ):
        if value is None:
            out.append(Violation(name, f"missing while {other} is present"))
            continue
        try:
            found.append(parse(value))
        except ValueError as exc:
            out.append(Violation(name, str(exc)))
    if len(found) != 2:
        return None
    return PartyRef(CiString2(found[0]), CiString3(found[1]))


def parse_routing(headers: Mapping[str, str]) -> Routing:
    """Read the OCPI-from/to-* headers.

    A half pair or a malformed value raises ValidationFailed naming every offending header.
    """
    violations: list[Violation] = []
    sender = _party(headers, FROM_COUNTRY_CODE, FROM_PARTY_ID, violations)
    receiver = _party(headers, TO_COUNTRY_CODE, TO_PARTY_ID, violations)
    if violations:
        raise ValidationFailed(violations)
    return Routing(sender=sender, receiver=receiver)


def routing_headers(routing: Routing) -> dict[str, str]:
    """The OCPI-from/to-* headers of ``routing``, in the spelling the parties were given."""
    out: dict[str, str] = {}
    if routing.sender is not None:
        out[FROM_COUNTRY_CODE] = str.__str__(routing.sender.country_code)
        out[FROM_PARTY_ID] = str.__str__(routing.sender.party_id)
    if routing.receiver is not None:
        out[TO_COUNTRY_CODE] = str.__str__(routing.receiver.country_code)
        out[TO_PARTY_ID] = str.__str__(routing.receiver.party_id)
    return out


class MessageHeaders(msgspec.Struct, frozen=True, kw_only=True):
    """The transport headers of one incoming request (``None`` where the version/module has none)."""

    request_ids: RequestIds | None = None
    routing: Routing | None = None


def read_request_headers(
    headers: Mapping[str, str], *, spec: VersionSpec, module: str | ModuleSpec, ids: IdGenerator
) -> MessageHeaders:
    """Server side: a request's tracing ids (generated when missing) and routing, as the version asks."""
    return MessageHeaders(
        request_ids=incoming_request_ids(headers, ids) if uses_request_ids(spec) else None,
        routing=parse_routing(headers) if uses_routing(spec, module) else None,
    )


def response_headers(request: MessageHeaders) -> dict[str, str]:
    """Server side: the headers of the direct response to ``request`` (ids echoed, FROM and TO swapped)."""
    out: dict[str, str] = {}
    if request.request_ids is not None:
        out.update(request_id_headers(request.request_ids))
    if request.routing is not None:
        out.update(routing_headers(request.routing.swapped()))
    return out
