"""Where tokens live in the store: the one place that knows their document format.

* kind ``"token"``: one document per Token, a :class:`TokenDocument` (the canonical
  :class:`~evroam.model.Token` and, for the eMSP's own tokens, its :class:`AuthorizationRules`)
  encoded with :func:`evroam.core.codec.encode`;
* key: the issuing eMSP's ``(country_code, party_id)`` and an ``object_id`` made of the token's
  **type and uid**: ``"<TYPE>:<uid>"`` (e.g. ``"RFID:04A1B2C3"``, ``"APP_USER:4711"``). OCPI makes
  ``uid`` unique only together with ``type`` within one eMSP, so both must be in the key; the type comes
  first because a type is an OCPI enum value (never contains ``:``) while a uid may hold any printable
  character. Like every key part, it compares case-insensitively (:func:`token_object_id`);
* ``partner_id``: ``None`` for our own (eMSP) tokens, the sending eMSP partner's id for the tokens a
  CPO received;
* the store's ``last_updated`` column is the Token's ``last_updated``.

Everything that reads or writes token documents (the services, the pusher, the decision service)
goes through these functions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection

import msgspec

from evroam.model.tokens import Token
from evroam.store.port import ObjectKey, Operations, PutOutcome, StoredObject

from .._documents import Documents
from .rules import AuthorizationRules

__all__ = [
    "DEFAULT_TYPE",
    "TOKEN_KIND",
    "TokenDocument",
    "TokenRecord",
    "decode_document",
    "encode_document",
    "iter_tokens",
    "load_token_record",
    "page_tokens",
    "save_token",
    "split_object_id",
    "token_key",
    "token_object_id",
]

TOKEN_KIND = "token"

#: The token type OCPI assumes when a request names none (``?type=`` left out).
DEFAULT_TYPE = "RFID"


class TokenDocument(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What is stored per token. ``rules`` exist only for the eMSP's own tokens and are never sent."""

    token: Token
    rules: AuthorizationRules | None = None


_TOKENS = Documents(TOKEN_KIND, TokenDocument)


class TokenRecord(msgspec.Struct, frozen=True):
    """A stored token with its store bookkeeping."""

    token: Token
    rules: AuthorizationRules | None
    partner_id: str | None
    seq: int
    revision: int


def token_object_id(uid: str, token_type: str) -> str:
    """The store ``object_id`` of a token: ``"<TYPE>:<uid>"``."""
    return f"{token_type}:{uid}"


def split_object_id(object_id: str) -> tuple[str, str]:
    """``(uid, type)`` back from :func:`token_object_id`."""
    token_type, _, uid = object_id.partition(":")
    return uid, token_type


def token_key(country_code: str, party_id: str, uid: str, token_type: str = DEFAULT_TYPE) -> ObjectKey:
    return _TOKENS.key(country_code, party_id, token_object_id(uid, token_type))


def encode_document(token: Token, rules: AuthorizationRules | None = None) -> bytes:
    """The document bytes of a token (and its rules)."""
    return _TOKENS.encode(TokenDocument(token=token, rules=rules))


def decode_document(payload: bytes) -> TokenDocument:
    """A token document back as canonical objects."""
    return _TOKENS.decode(payload)


async def load_token_record(
    ops: Operations,
    country_code: str,
    party_id: str,
    uid: str,
    token_type: str = DEFAULT_TYPE,
    *,
    for_update: bool = False,
) -> TokenRecord | None:
    """The stored token under that owner, uid and type (case-insensitive), or ``None``."""
    found = await ops.get(token_key(country_code, party_id, uid, token_type), for_update=for_update)
    if found is None:
        return None
    document = decode_document(found.payload)
    return TokenRecord(document.token, document.rules, found.partner_id, found.seq, found.revision)


async def save_token(
    ops: Operations,
    token: Token,
    *,
    rules: AuthorizationRules | None = None,
    partner_id: str | None = None,
    check_stale: bool = True,
) -> PutOutcome:
    """Create or replace the token (keyed by its own owner, uid and type).

    With ``check_stale`` nothing is written, and :attr:`PutOutcome.STALE` returned, when the stored
    token has a newer ``last_updated``.
    """
    key = token_key(token.country_code, token.party_id, token.uid, token.type)
    document = TokenDocument(token=token, rules=rules)
    return await _TOKENS.put(
        ops, key, document, token.last_updated, partner_id=partner_id, check_stale=check_stale
    )


page_tokens = _TOKENS.page
"""One page of token documents in creation order (raw records), and the total matching."""


async def iter_tokens(
    ops: Operations,
    *,
    partners: Collection[str | None] | None = None,
    batch: int = 500,
) -> AsyncIterator[tuple[StoredObject, TokenDocument]]:
    """Every token document (with its store record) in creation order, read ``batch`` at a time.

    ``partners=[None]`` gives our own tokens, ``partners=[partner_id]`` the ones received from that
    partner, ``None`` (the default) all of them.
    """
    async for item in _TOKENS.walk(ops, partners=partners, batch=batch):
        yield item, decode_document(item.payload)
