"""The one exception tree of evroam.

Every error that can reach a partner knows both numbers it is answered with: the HTTP status and the
OCPI ``status_code`` of the envelope. Handlers raise these; the HTTP layer turns them into responses;
the HTTP client turns partner answers back into them. ``tests/unit/test_errors.py`` holds the whole
mapping as a table.

    EvroamError
    ├── RegistrationError           HTTP 400  OCPI 2000  a handshake step we started could not be done
    ├── SyncError                   HTTP 400  OCPI 3000  a pull sync cannot start
    ├── ClientError                 HTTP 400  OCPI 2000
    │   ├── InvalidJson             HTTP 400  OCPI 2000  body is not JSON, or nested too deep
    │   ├── ValidationFailed        HTTP 400  OCPI 2001  the violations of the model (50 listed, rest counted)
    │   │   └── ChargingPreferencesNotCapable  HTTP 404  OCPI 2001  the session's EVSE takes none
    │   ├── NotEnoughInformation    HTTP 400  OCPI 2002
    │   ├── UnknownLocation         HTTP 404  OCPI 2003
    │   ├── NotFound                HTTP 404  OCPI 2003  unknown object on GET
    │   ├── UnknownToken            HTTP 404  OCPI 2004
    │   ├── Unauthorized            HTTP 401  OCPI 2000  missing or unknown token
    │   ├── Forbidden               HTTP 403  OCPI 2000  known caller, not allowed here
    │   ├── MethodNotAllowed        HTTP 405  OCPI 2000
    │   ├── BodyTooLarge            HTTP 413  OCPI 2000  request body over EVROAM_MAX_BODY_BYTES
    │   └── Conflict                HTTP 409  OCPI 2000  e.g. a second POST of an immutable CDR
    │       └── PartyTaken          HTTP 409  OCPI 2000  credentials claim a party another platform holds
    ├── ServerError                 HTTP 500  OCPI 3000
    │   ├── ClientApiUnreachable    HTTP 502  OCPI 3001  we could not use the partner's API
    │   │   ├── RedirectRefused     HTTP 502  OCPI 3001  a redirect to another host, or too many
    │   │   └── DestinationRefused  HTTP 502  OCPI 3001  a partner URL aims at a private address
    │   ├── UnsupportedVersion      HTTP 400  OCPI 3002  no mutual version
    │   ├── NoMatchingEndpoints     HTTP 400  OCPI 3003  required endpoints missing
    │   ├── NotDeliverable          HTTP 500  OCPI 3000  one of our CDRs the partner's version cannot carry
    │   └── StorageUnavailable      HTTP 503  OCPI 3000  our database is full, read-only or unreachable
    └── HubError                    HTTP 502  OCPI 4000
        ├── HubUnknownReceiver      HTTP 404  OCPI 4001
        ├── HubTimeout              HTTP 504  OCPI 4002
        └── HubConnectionProblem    HTTP 502  OCPI 4003

``PartnerError`` (not in the tree above: it is raised on *our* side as a client) wraps a partner's
non-success answer with the HTTP status and OCPI code the partner sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from evroam.core.status import StatusCode

__all__ = [
    "MAX_VIOLATIONS",
    "BodyTooLarge",
    "ChargingPreferencesNotCapable",
    "ClientApiUnreachable",
    "ClientError",
    "Conflict",
    "DestinationRefused",
    "EvroamError",
    "Forbidden",
    "HubConnectionProblem",
    "HubError",
    "HubTimeout",
    "HubUnknownReceiver",
    "InvalidJson",
    "MethodNotAllowed",
    "NoMatchingEndpoints",
    "NotDeliverable",
    "NotEnoughInformation",
    "NotFound",
    "PartnerError",
    "PartyTaken",
    "RedirectRefused",
    "RegistrationError",
    "ServerError",
    "StorageUnavailable",
    "SyncError",
    "Unauthorized",
    "UnknownLocation",
    "UnknownToken",
    "UnsupportedVersion",
    "ValidationFailed",
    "Violation",
]


class EvroamError(Exception):
    """Base of every error evroam raises on purpose."""

    http_status: int = 500
    ocpi_status: int = StatusCode.SERVER_ERROR
    default_message: str = "Internal error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class ClientError(EvroamError):
    http_status = 400
    ocpi_status = StatusCode.CLIENT_ERROR
    default_message = "Client error"


class InvalidJson(ClientError):
    http_status = 400
    ocpi_status = StatusCode.CLIENT_ERROR
    default_message = "The body is not valid JSON"


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing wrong with a payload: where (a JSON path such as ``$.evses[0].uid``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


#: At most this many violations are kept (and answered) per error; the rest are only counted.
MAX_VIOLATIONS = 50


class ValidationFailed(ClientError):
    """A payload that is JSON but does not fit the model. Lists every violation at once, up to
    :data:`MAX_VIOLATIONS`: the first ones are kept, ``omitted`` counts the rest (a body with 16,000
    invalid objects gets an answer of a few KiB, not of megabytes)."""

    http_status = 400
    ocpi_status = StatusCode.INVALID_OR_MISSING_PARAMETERS
    default_message = "Invalid or missing parameters"

    def __init__(
        self, violations: Iterable[Violation] | str, message: str | None = None, *, omitted: int = 0
    ) -> None:
        if isinstance(violations, str):
            violations = [Violation("$", violations)]
        kept: list[Violation] = []
        for violation in violations:
            if len(kept) < MAX_VIOLATIONS:
                kept.append(violation)
            else:
                omitted += 1
        self.violations: Sequence[Violation] = tuple(kept)
        self.omitted = omitted
        """How many more violations were found (or invalid values met) and not listed."""
        listed = "; ".join(str(v) for v in self.violations)
        if listed and omitted:
            listed += f"; {self.omitted_note}"
        super().__init__(message or listed or self.default_message)

    @property
    def omitted_note(self) -> str:
        """``"and N more not listed"``; empty when every violation is listed."""
        return f"and {self.omitted} more not listed" if self.omitted else ""

    @property
    def paths(self) -> list[str]:
        return [v.path for v in self.violations]


class ChargingPreferencesNotCapable(ValidationFailed):
    """HTTP 404 + OCPI 2001: charging preferences set on a session whose EVSE does not list the
    ``CHARGING_PREFERENCES_CAPABLE`` capability (the answer OCPI 2.2.1-d2 prescribes)."""

    http_status = 404


class NotEnoughInformation(ClientError):
    ocpi_status = StatusCode.NOT_ENOUGH_INFORMATION
    default_message = "Not enough information"


class UnknownLocation(ClientError):
    http_status = 404
    ocpi_status = StatusCode.UNKNOWN_LOCATION
    default_message = "Unknown location"


class NotFound(ClientError):
    http_status = 404
    ocpi_status = StatusCode.UNKNOWN_LOCATION
    default_message = "Unknown object"


class UnknownToken(ClientError):
    http_status = 404
    ocpi_status = StatusCode.UNKNOWN_TOKEN
    default_message = "Unknown token"


class Unauthorized(ClientError):
    http_status = 401
    default_message = "Missing or unknown credentials token"


class Forbidden(ClientError):
    http_status = 403
    default_message = "Not allowed"


class MethodNotAllowed(ClientError):
    http_status = 405
    default_message = "Method not allowed"


class BodyTooLarge(ClientError):
    """A request body larger than the node accepts (``EVROAM_MAX_BODY_BYTES``): refused as soon as the
    announced length or the bytes read so far exceed it, and the connection is closed."""

    http_status = 413
    default_message = "Request body too large"


class Conflict(ClientError):
    http_status = 409
    default_message = "Conflict with the stored object"


class PartyTaken(Conflict):
    """Credentials (POSTed or PUT by a partner, or answered to ours) claim a party ``country_code`` /
    ``party_id`` in a role that this node or another registered platform already holds: one owner per
    party. Nothing is stored; the registration or update is refused."""

    default_message = "A party of these credentials is held by another platform"


class ServerError(EvroamError):
    http_status = 500
    ocpi_status = StatusCode.SERVER_ERROR
    default_message = "Server error"


class ClientApiUnreachable(ServerError):
    http_status = 502
    ocpi_status = StatusCode.UNABLE_TO_USE_CLIENT_API
    default_message = "Unable to use the client's API"


class RedirectRefused(ClientApiUnreachable):
    """A partner answered with a redirect we do not follow: to another scheme, host or port, more
    than three in a row, or a 301/302/303 to a request that is not a GET."""

    default_message = "Redirect not followed"


class DestinationRefused(ClientApiUnreachable):
    """A URL a partner gave us (versions URL, endpoint, ``response_url``, a redirect) resolves to a
    loopback, private, link-local or otherwise non-public address, and the outbound policy refuses
    those (see ``docs/security.md``)."""

    default_message = "Destination refused by the outbound policy"


class UnsupportedVersion(ServerError):
    http_status = 400
    ocpi_status = StatusCode.UNSUPPORTED_VERSION
    default_message = "Unsupported version"


class NoMatchingEndpoints(ServerError):
    http_status = 400
    ocpi_status = StatusCode.NO_MATCHING_ENDPOINTS
    default_message = "No matching endpoints"


class NotDeliverable(ServerError):
    """One of our CDRs cannot be written in the partner's OCPI version (retried, reported)."""


class StorageUnavailable(ServerError):
    """Our database failed (disk full, read-only, unreachable): nothing was stored, the request may be
    repeated later. The message says which, never where (no path, host or SQL)."""

    http_status = 503
    ocpi_status = StatusCode.SERVER_ERROR
    default_message = "The node's database is unavailable; try again later"


class RegistrationError(EvroamError):
    """A step we started (register, rotate, unregister) could not be done; the message says why."""

    http_status = 400
    ocpi_status = StatusCode.CLIENT_ERROR


class SyncError(EvroamError):
    """The sync cannot start (no such endpoint, partner not connected ...)."""

    http_status = 400


class HubError(EvroamError):
    http_status = 502
    ocpi_status = StatusCode.HUB_ERROR
    default_message = "Hub error"


class HubUnknownReceiver(HubError):
    http_status = 404
    ocpi_status = StatusCode.HUB_UNKNOWN_RECEIVER
    default_message = "Unknown receiver"


class HubTimeout(HubError):
    http_status = 504
    ocpi_status = StatusCode.HUB_TIMEOUT
    default_message = "Timeout on forwarded request"


class HubConnectionProblem(HubError):
    http_status = 502
    ocpi_status = StatusCode.HUB_CONNECTION_PROBLEM
    default_message = "Connection problem with the receiving party"


class PartnerError(EvroamError):
    """A partner answered with an HTTP error or a non-success OCPI status (raised on the client side)."""

    def __init__(self, http_status: int, ocpi_status: int | None, message: str, url: str = "") -> None:
        self.http_status = http_status
        self.ocpi_status = ocpi_status if ocpi_status is not None else StatusCode.SERVER_ERROR
        self.url = url
        where = f" from {url}" if url else ""
        super().__init__(f"partner answered HTTP {http_status} / OCPI {ocpi_status}{where}: {message}")
