"""The whole error mapping: every class with its HTTP status and OCPI status code."""

from __future__ import annotations

import inspect

import pytest

from evroam.core import errors
from evroam.core.errors import EvroamError, PartnerError, ValidationFailed, Violation
from evroam.core.status import StatusCode

# (class name, HTTP status, OCPI status code, parent class name) - written out by hand on purpose.
MAPPING = [
    ("EvroamError", 500, 3000, "Exception"),
    ("ClientError", 400, 2000, "EvroamError"),
    ("InvalidJson", 400, 2000, "ClientError"),
    ("ValidationFailed", 400, 2001, "ClientError"),
    ("ChargingPreferencesNotCapable", 404, 2001, "ValidationFailed"),
    ("NotEnoughInformation", 400, 2002, "ClientError"),
    ("UnknownLocation", 404, 2003, "ClientError"),
    ("NotFound", 404, 2003, "ClientError"),
    ("UnknownToken", 404, 2004, "ClientError"),
    ("Unauthorized", 401, 2000, "ClientError"),
    ("Forbidden", 403, 2000, "ClientError"),
    ("MethodNotAllowed", 405, 2000, "ClientError"),
    ("BodyTooLarge", 413, 2000, "ClientError"),
    ("Conflict", 409, 2000, "ClientError"),
    ("PartyTaken", 409, 2000, "Conflict"),
    ("ServerError", 500, 3000, "EvroamError"),
    ("ClientApiUnreachable", 502, 3001, "ServerError"),
    ("RedirectRefused", 502, 3001, "ClientApiUnreachable"),
    ("DestinationRefused", 502, 3001, "ClientApiUnreachable"),
    ("UnsupportedVersion", 400, 3002, "ServerError"),
    ("NoMatchingEndpoints", 400, 3003, "ServerError"),
    ("NotDeliverable", 500, 3000, "ServerError"),
    ("StorageUnavailable", 503, 3000, "ServerError"),
    ("RegistrationError", 400, 2000, "EvroamError"),
    ("SyncError", 400, 3000, "EvroamError"),
    ("HubError", 502, 4000, "EvroamError"),
    ("HubUnknownReceiver", 404, 4001, "HubError"),
    ("HubTimeout", 504, 4002, "HubError"),
    ("HubConnectionProblem", 502, 4003, "HubError"),
]


@pytest.mark.parametrize(("name", "http", "ocpi", "parent"), MAPPING)
def test_each_error_class_carries_its_statuses(name: str, http: int, ocpi: int, parent: str) -> None:
    cls = getattr(errors, name)
    assert cls.http_status == http
    assert int(cls.ocpi_status) == ocpi
    assert cls.__mro__[1].__name__ == parent


def test_the_table_covers_every_error_class() -> None:
    classes = {
        name
        for name, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, EvroamError) and obj is not PartnerError
    }
    assert classes == {row[0] for row in MAPPING}
    assert set(errors.__all__) == classes | {"MAX_VIOLATIONS", "PartnerError", "Violation"}


def test_validation_failed_lists_every_violation() -> None:
    exc = ValidationFailed([Violation("$.id", "too long"), Violation("$.evses[0].uid", "missing")])
    assert exc.paths == ["$.id", "$.evses[0].uid"]
    assert "$.id: too long" in exc.message and "$.evses[0].uid: missing" in exc.message


def test_partner_error_keeps_the_partners_codes() -> None:
    exc = PartnerError(404, 2004, "Unknown token", url="http://x/tokens/1/authorize")
    assert (exc.http_status, exc.ocpi_status) == (404, 2004)
    assert "http://x/tokens/1/authorize" in str(exc)
    assert PartnerError(503, None, "down").ocpi_status == StatusCode.SERVER_ERROR


@pytest.mark.parametrize(
    ("code", "family"),
    [(1000, "success"), (1901, "success"), (2004, "client"), (3999, "server"), (4003, "hub")],
)
def test_status_families(code: int, family: str) -> None:
    assert StatusCode.category(code) == family


@pytest.mark.parametrize("code", [999, 5000, 0])
def test_status_family_rejects_non_codes(code: int) -> None:
    with pytest.raises(ValueError, match="not an OCPI status code"):
        StatusCode.category(code)
