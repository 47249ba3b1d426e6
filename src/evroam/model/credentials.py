"""Canonical Credentials.

All versions are held as a list of roles:

* 2.1.1 ``{token, url, business_details, party_id, country_code}`` -> one ``CredentialsRole`` whose
  ``role`` is ``None`` (2.1.1 does not say it) unless the converter is told the role.
* 2.2.1 ``{token, url, roles[]}`` -> the same roles (a 2.2.1 hub lists itself with role ``HUB``).
* 2.3.0 ``{token, url, roles[], hub_party_id?}`` -> the same roles and ``hub_party_id``.

The registration service keeps a partner's roles as these ``CredentialsRole`` records
(:attr:`evroam.registration.Partner.roles`); ``repr()`` of a ``Credentials`` never shows its token.
"""

from __future__ import annotations

from evroam.core.types import CiString
from evroam.model.common import BusinessDetails, CanonicalModel
from evroam.model.enums import Role

__all__ = ["Credentials", "CredentialsRole"]


class CredentialsRole(CanonicalModel, frozen=True):
    business_details: BusinessDetails
    party_id: CiString
    country_code: CiString
    role: Role | None = None

    @property
    def name(self) -> str:
        """The business name (``business_details.name``)."""
        return self.business_details.name

    @property
    def website(self) -> str | None:
        """The business website (``business_details.website``), if any."""
        return self.business_details.website

    def __str__(self) -> str:
        """``NL*CPO (CPO)``; without a known role (2.1.1 origin) ``NL*CPO``."""
        party = f"{self.country_code}*{self.party_id}"
        return party if self.role is None else f"{party} ({self.role.value})"


class Credentials(CanonicalModel, frozen=True):
    token: str
    url: str
    roles: tuple[CredentialsRole, ...]
    hub_party_id: CiString | None = None

    def __repr__(self) -> str:
        return (
            f"Credentials(token=<redacted>, url={self.url!r}, roles={self.roles!r}, "
            f"hub_party_id={self.hub_party_id!r})"
        )
