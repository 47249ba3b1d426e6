"""Each OCPI version's view of tokens: its wire classes and converters, from the version table and the
version's converters (:mod:`evroam.ocpi.converters`). No handler logic lives here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec

from evroam.core.codec import convert, encode
from evroam.core.errors import ValidationFailed, Violation
from evroam.ocpi.converters import VersionConverters, converters
from evroam.ocpi.table import InterfaceRole

from .repository import DEFAULT_TYPE, decode_document

__all__ = ["TokenConverters", "token_converters"]


@dataclass(frozen=True, slots=True)
class TokenConverters(VersionConverters):
    """Tokens in one OCPI version (wire classes through ``models["Token"]`` and so on)."""

    @property
    def typed_receiver(self) -> bool:
        """Whether the Receiver endpoints take ``?type=`` (2.2+; 2.1.1 keys them by uid only)."""
        endpoints = self.spec.modules["tokens"].endpoints(InterfaceRole.RECEIVER)
        return any("type" in e.query for e in endpoints)

    def encode_document(self, document: bytes) -> bytes:
        """A stored token document as this version's wire Token JSON (rules are never shown)."""
        return encode(self.token_from_model(decode_document(document).token))

    def token_type(self, query: Mapping[str, str], body_type: str | None = None) -> str:
        """The token type a request names: ``?type=`` (checked against the version's TokenType), else
        the body's ``type``, else RFID. A query type that differs from the body's is refused (2001)."""
        raw = query.get("type")
        if raw is None or raw == "":
            return str(body_type) if body_type is not None else DEFAULT_TYPE
        try:
            value = str(convert(raw, _token_type(self.version)))
        except ValidationFailed:
            raise ValidationFailed(
                [Violation("?type", f"{raw!r} is not a token type of OCPI {self.version}")]
            ) from None
        if body_type is not None and str(body_type).casefold() != value.casefold():
            raise ValidationFailed(
                [Violation("$.type", f"is {body_type!r} but the URL names type {value!r}")],
                "the body's type differs from the URL",
            )
        return value


@cache
def _token_type(version: str) -> Any:
    token = converters(version).models["Token"]
    return next(f for f in msgspec.structs.fields(token) if f.name == "type").type


@cache
def token_converters(version: str) -> TokenConverters:
    """The :class:`TokenConverters` of ``version`` (``KeyError`` for a version evroam does not model)."""
    return TokenConverters.load(version)
