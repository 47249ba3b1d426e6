"""The token pusher: what the push worker sends to a CPO's tokens RECEIVER for one of our tokens.

* PUT ``{receiver}/{country_code}/{party_id}/{uid}?type=<TYPE>`` with the whole Token (creation,
  re-import, or a PATCH the CPO could not apply because it lacks the token);
* PATCH of the same URL with the changed fields' current values and ``last_updated`` (block / unblock:
  ``{"valid": false, "last_updated": ...}``).

OCPI 2.1.1 Receiver URLs carry no ``type``. Tokens are never deleted (OCPI invalidates them instead);
a token no longer stored is not sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from evroam.model.common import NotRepresentable
from evroam.modules.kit import Delivery, Outgoing, Skip
from evroam.ocpi.converters import VersionConverters
from evroam.store.outbox import ObjectChange, PartnerTarget
from evroam.store.port import ObjectKey, Operations

from .._shared import patch_body
from .convert import token_converters
from .repository import TOKEN_KIND, decode_document, split_object_id

__all__ = ["TokenPusher"]


@dataclass(frozen=True)
class TokenPusher:
    """:class:`~evroam.push.worker.Pusher` of the ``tokens`` module."""

    module: str = "tokens"

    async def prepare(
        self,
        ops: Operations,
        conv: VersionConverters,
        target: PartnerTarget,
        change: ObjectChange,
        delivery: Delivery,
    ) -> Outgoing | Skip:
        uid, token_type = split_object_id(change.object_id)
        found = await ops.get(ObjectKey(TOKEN_KIND, change.country_code, change.party_id, change.object_id))
        if found is None:
            return Skip(f"not sent: token {uid} ({token_type}) is no longer stored")
        token = decode_document(found.payload).token
        tokens = token_converters(conv.version)
        try:
            wire_token = tokens.token_from_model(token)
        except NotRepresentable as exc:
            return Skip(f"not sent: not representable in OCPI {conv.version}: {exc}")
        path = (str(token.country_code), str(token.party_id), str(token.uid))
        params = {"type": str(wire_token.type)} if tokens.typed_receiver else None
        if delivery.method == "PATCH":
            body = patch_body(wire_token, delivery.fields)
            if body is not None:
                return Outgoing("PATCH", path, body, params)
        return Outgoing("PUT", path, wire_token, params)
