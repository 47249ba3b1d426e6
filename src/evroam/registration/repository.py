"""Partners and issued tokens kept as documents in the evroam store.

* kind ``partner``: one document per partner, object id = the partner's id;
* kind ``credentials_token``: one document per token we issued, object id = the token's SHA-256 digest,
  so that finding the partner behind a presented token is one indexed get.

Neither kind belongs to an OCPI party, so their ``country_code`` and ``party_id`` are empty; the store's
``partner_id`` column holds the partner's id.
"""

from __future__ import annotations

from collections.abc import Sequence

from evroam.core.clock import Clock
from evroam.core.codec import decode, encode
from evroam.registration.model import IssuedToken, Partner
from evroam.store.port import ObjectKey, Store

__all__ = ["CREDENTIALS_TOKEN_KIND", "PARTNER_KIND", "StorePartnerRepository"]

PARTNER_KIND = "partner"
CREDENTIALS_TOKEN_KIND = "credentials_token"


def _partner_key(partner_id: str) -> ObjectKey:
    return ObjectKey(PARTNER_KIND, "", "", partner_id)


def _token_key(digest: str) -> ObjectKey:
    return ObjectKey(CREDENTIALS_TOKEN_KIND, "", "", digest)


class StorePartnerRepository:
    """:class:`~evroam.registration.ports.PartnerRepository` over a :class:`~evroam.store.port.Store`."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def get_partner(self, partner_id: str) -> Partner | None:
        found = await self._store.get(_partner_key(partner_id))
        return None if found is None else decode(found.payload, Partner)

    async def list_partners(self) -> list[Partner]:
        page = await self._store.find(PARTNER_KIND)
        return [decode(item.payload, Partner) for item in page.items]

    async def get_issued(self, digest: str) -> IssuedToken | None:
        found = await self._store.get(_token_key(digest))
        return None if found is None else decode(found.payload, IssuedToken)

    async def commit(
        self,
        *,
        save: Sequence[Partner] = (),
        delete: Sequence[str] = (),
        issue: Sequence[IssuedToken] = (),
        revoke: Sequence[str] = (),
    ) -> None:
        now = self._clock.now()
        async with self._store.transaction() as tx:
            for digest in revoke:
                await tx.delete(_token_key(digest))
            for partner_id in delete:
                await tx.delete(_partner_key(partner_id))
            for token in issue:
                await tx.put(
                    _token_key(token.digest),
                    encode(token),
                    token.issued_at,
                    partner_id=token.partner_id,
                    check_stale=False,
                )
            for partner in save:
                await tx.put(
                    _partner_key(partner.id), encode(partner), now, partner_id=partner.id, check_stale=False
                )
