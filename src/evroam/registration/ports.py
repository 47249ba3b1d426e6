"""The two collaborators of the registration service: where partners are kept, and how they are called.

* :class:`PartnerRepository` keeps :class:`~evroam.registration.model.Partner` records and the digests
  of the tokens we issued. :meth:`PartnerRepository.commit` applies one handshake step atomically.
  Implementations: :class:`~evroam.registration.repository.StorePartnerRepository` (over the document
  store) and :class:`~evroam.registration.repository.MemoryPartnerRepository` (tests).
* :class:`PartnerApi` is the outbound side: versions, version details and the credentials endpoint of a
  partner. The implementation over :class:`~evroam.http.client.OcpiClient` is
  :class:`~evroam.registration.api.HttpPartnerApi`. It raises
  :class:`~evroam.core.errors.ClientApiUnreachable` when the partner cannot be reached and
  :class:`~evroam.core.errors.PartnerError` when it answers with an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from evroam.model import Credentials
from evroam.registration.model import IssuedToken, Partner, PartnerEndpoint

__all__ = ["OfferedVersion", "PartnerApi", "PartnerRepository"]


class PartnerRepository(Protocol):
    async def get_partner(self, partner_id: str) -> Partner | None: ...

    async def list_partners(self) -> list[Partner]:
        """Every partner, oldest first."""
        ...

    async def get_issued(self, digest: str) -> IssuedToken | None:
        """The issued token with this digest, or ``None``."""
        ...

    async def lookup(self, digest: str) -> tuple[IssuedToken, Partner | None] | None:
        """What authenticating a request needs: the issued token with this digest and its partner
        (``None`` when the partner is gone), or ``None``. May answer from a cache, but must reflect
        every :meth:`commit` made before the call, in any process sharing the storage."""
        ...

    async def commit(
        self,
        *,
        save: Sequence[Partner] = (),
        delete: Sequence[str] = (),
        issue: Sequence[IssuedToken] = (),
        revoke: Sequence[str] = (),
    ) -> None:
        """In one transaction: save partners, delete partners (by id), add and remove issued tokens."""
        ...


OfferedVersion = tuple[str, str]
"""One entry of a partner's versions list: (version number, version details URL)."""


class PartnerApi(Protocol):
    async def versions(self, url: str, token: str, *, encoding: str) -> list[OfferedVersion]:
        """The partner's versions list (GET on its versions URL)."""
        ...

    async def endpoints(self, url: str, token: str, *, version: str, encoding: str) -> list[PartnerEndpoint]:
        """The endpoints of one version (GET on its version details URL)."""
        ...

    async def credentials(
        self,
        method: str,
        url: str,
        token: str,
        *,
        version: str,
        encoding: str,
        ours: Credentials | None = None,
    ) -> Credentials | None:
        """POST / PUT ``ours`` to, or DELETE on, the partner's credentials endpoint; returns its answer."""
        ...
