"""The ``Authorization: Token ...`` header.

2.2.1 and 2.3.0 send ``Token <base64(utf8(token))>`` (RFC 4648 standard alphabet); 2.1.1 sends
``Token <token>`` as it is. Many 2.1.1 and 2.2 peers do the opposite of what their version says, so
parsing accepts both forms whatever the version and returns every plausible token for the caller to
look up (:func:`candidate_tokens`). Which form we *send* is a per-partner setting
(:class:`TokenEncoding`) whose default comes from the version table (``VersionSpec.token_base64``).
"""

from __future__ import annotations

import base64
import binascii
import re
from enum import StrEnum

from evroam.core.errors import Unauthorized
from evroam.ocpi.table import VersionSpec

__all__ = ["TokenEncoding", "candidate_tokens", "encode_authorization"]

_SCHEME = "Token"
# The credentials token is printable, non-whitespace ASCII (U+0021..U+007E).
_TOKEN_RE = re.compile(r"^[\x21-\x7e]+$")
_BASE64_RE = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")


class TokenEncoding(StrEnum):
    """How the credentials token travels in the ``Authorization`` header."""

    BASE64 = "base64"  # 2.2.1, 2.3.0
    RAW = "raw"  # 2.1.1

    @classmethod
    def for_spec(cls, spec: VersionSpec) -> TokenEncoding:
        """What the version's text prescribes (a partner may need the other one)."""
        return cls.BASE64 if spec.token_base64 else cls.RAW


def encode_authorization(token: str, encoding: TokenEncoding) -> str:
    """The ``Authorization`` header value for ``token``."""
    if not _TOKEN_RE.fullmatch(token):
        raise ValueError("a credentials token is printable non-whitespace ASCII")
    if encoding is TokenEncoding.BASE64:
        return f"{_SCHEME} {base64.b64encode(token.encode('utf-8')).decode('ascii')}"
    return f"{_SCHEME} {token}"


def _from_base64(value: str) -> str | None:
    """The token ``value`` is the Base64 of, when it is Base64 of printable non-whitespace ASCII."""
    if not _BASE64_RE.fullmatch(value):
        return None
    padded = value + "=" * (-len(value) % 4)  # tolerate stripped padding
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if _TOKEN_RE.fullmatch(text) else None


def candidate_tokens(header: str | None, *, expected: TokenEncoding) -> tuple[str, ...]:
    """Every token the ``Authorization`` header may carry, the ``expected`` reading first.

    The header value is ``Token <credentials>`` (the scheme is matched case-insensitively, surrounding
    blanks are ignored). When the credentials are Base64 of printable ASCII, both the decoded and the
    raw value are candidates; otherwise only the raw value. The caller looks them up in order.
    A missing, empty or garbled header raises :class:`~evroam.core.errors.Unauthorized`.
    """
    if header is None or not header.strip():
        raise Unauthorized("Missing Authorization header")
    parts = header.strip().split(None, 1)
    if len(parts) != 2 or parts[0].casefold() != _SCHEME.casefold():
        raise Unauthorized("Authorization header is not of the form 'Token <token>'")
    credentials = parts[1].strip()
    if not _TOKEN_RE.fullmatch(credentials):
        raise Unauthorized("Authorization header carries a malformed token")
    decoded = _from_base64(credentials)
    if decoded is None or decoded == credentials:
        return (credentials,)
    if expected is TokenEncoding.BASE64:
        return (decoded, credentials)
    return (credentials, decoded)
