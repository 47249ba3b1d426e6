"""OCPI status codes (the ``status_code`` of every response envelope)."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["StatusCode"]


class StatusCode(IntEnum):
    """The four-digit OCPI status codes shared by 2.1.1, 2.2.1 and 2.3.0.

    1xxx success, 2xxx client errors, 3xxx server errors, 4xxx hub errors (2.2+).
    The ranges x900-x999 are reserved for custom codes and are not members here.
    """

    SUCCESS = 1000
    CLIENT_ERROR = 2000
    INVALID_OR_MISSING_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    UNKNOWN_TOKEN = 2004
    SERVER_ERROR = 3000
    UNABLE_TO_USE_CLIENT_API = 3001
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003
    HUB_ERROR = 4000
    HUB_UNKNOWN_RECEIVER = 4001
    HUB_TIMEOUT = 4002
    HUB_CONNECTION_PROBLEM = 4003

    @property
    def is_success(self) -> bool:
        return 1000 <= self.value < 2000

    @staticmethod
    def category(code: int) -> str:
        """'success', 'client', 'server' or 'hub' for any four-digit code, custom ones included."""
        families = {1: "success", 2: "client", 3: "server", 4: "hub"}
        family = families.get(code // 1000) if 1000 <= code <= 4999 else None
        if family is None:
            raise ValueError(f"{code} is not an OCPI status code")
        return family
