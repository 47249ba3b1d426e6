"""Each OCPI version's view of tokens: its wire classes and converters, from the version table and the
version's ``convert`` module. No handler logic lives here."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec

from evroam.core.codec import convert, encode
from evroam.core.errors import ValidationFailed, Violation
from evroam.model.tokens import AuthorizationInfo, LocationReferences, Token
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import InterfaceRole, VersionSpec

from .repository import DEFAULT_TYPE, decode_document

__all__ = ["TokenWire", "token_wire"]


@dataclass(frozen=True, slots=True)
class TokenWire:
    """Tokens in one OCPI version."""

    spec: VersionSpec
    token: type[Any]
    token_patch: type[Any]
    location_references: type[Any]
    authorization_info: type[Any]
    owned: bool
    """Whether the version's Token carries ``country_code`` / ``party_id`` (2.2+)."""
    typed_receiver: bool
    """Whether the Receiver endpoints take ``?type=`` (2.2+; 2.1.1 keys them by uid only)."""
    _token_type: Any
    _token_to_model: Callable[..., Token]
    token_from_model: Callable[[Token], Any]
    location_references_to_model: Callable[[Any], LocationReferences]
    location_references_from_model: Callable[[LocationReferences], Any]
    authorization_info_to_model: Callable[[Any], AuthorizationInfo]
    authorization_info_from_model: Callable[[AuthorizationInfo], Any]

    @property
    def version(self) -> str:
        return self.spec.number

    def token_to_model(self, wire: Any, country_code: str, party_id: str) -> Token:
        """The canonical Token; the owner is used when the version's Token has none (2.1.1)."""
        if self.owned:
            return self._token_to_model(wire)
        return self._token_to_model(wire, country_code=country_code, party_id=party_id)

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
            value = str(convert(raw, self._token_type))
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
def token_wire(version: str) -> TokenWire:
    """The :class:`TokenWire` of ``version`` (``KeyError`` for a version evroam does not model)."""
    spec = spec_for(version)
    models = spec.models
    conv = importlib.import_module(f"evroam.ocpi.v{version.replace('.', '_')}.convert")
    token = models["Token"]
    typed = any("type" in e.query for e in spec.modules["tokens"].endpoints(InterfaceRole.RECEIVER))
    type_field = next(f for f in msgspec.structs.fields(token) if f.name == "type")
    return TokenWire(
        spec=spec,
        token=token,
        token_patch=models["TokenPatch"],
        location_references=models["LocationReferences"],
        authorization_info=models["AuthorizationInfo"],
        owned="country_code" in token.__struct_fields__,
        typed_receiver=typed,
        _token_type=type_field.type,
        _token_to_model=conv.token_to_model,
        token_from_model=conv.token_from_model,
        location_references_to_model=conv.location_references_to_model,
        location_references_from_model=conv.location_references_from_model,
        authorization_info_to_model=conv.authorization_info_to_model,
        authorization_info_from_model=conv.authorization_info_from_model,
    )
