"""The hub's party registry: which registered platform hosts which party, and how it is connected.

A platform is a REGISTERED partner of the hub; its parties are the roles of its credentials (one owner
per party and role is enforced at registration, :meth:`RegistrationService.taken_parties`). The
registry reads the partner records from the store (again when a party is not found, and at each
liveness tick) and keeps, per platform, its connection status (``CONNECTED`` / ``OFFLINE`` /
``SUSPENDED``) and when it was last heard of, read from the injected clock (:mod:`evroam.core.clock`).
Statuses live in this process's memory: a hub runs as one process (see ``docs/hub.md``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from evroam.core.clock import Clock
from evroam.model import CredentialsRole
from evroam.model.enums import ConnectionStatus
from evroam.registration.model import Partner, PartnerStatus
from evroam.registration.service import RegistrationService

__all__ = ["HubParties", "Platform", "party_key"]

PartyKey = tuple[str, str]


def party_key(country_code: str, party_id: str) -> PartyKey:
    return (country_code.casefold(), party_id.casefold())


@dataclass
class Platform:
    """One registered platform and its connection state."""

    partner: Partner
    last_contact: float
    """When it last sent a request or answered one: seconds since the epoch, by the hub's clock
    (0: never, or a request to it just failed, so that the next liveness round probes it)."""
    changed_at: float
    """When its status last changed (seconds since the epoch, by the hub's clock)."""
    status: ConnectionStatus = ConnectionStatus.CONNECTED
    authorization: tuple[str, str, str] | None = field(default=None, repr=False)
    """``(token, encoding, Authorization header)``: the header made once per token (the hub's
    forwarding path)."""

    @property
    def reachable(self) -> bool:
        return self.status is ConnectionStatus.CONNECTED

    def parties(self) -> list[CredentialsRole]:
        return [r for r in self.partner.roles if r.role is not None]


class HubParties:
    """Registered platforms by partner id, and their parties by ``(country_code, party_id)``."""

    def __init__(self, registration: RegistrationService, clock: Clock) -> None:
        self._registration = registration
        self._clock = clock
        self.platforms: dict[str, Platform] = {}
        self._by_party: dict[PartyKey, list[tuple[CredentialsRole, Platform]]] = {}
        self._refreshed = 0.0

    async def refresh(self) -> tuple[list[Platform], list[Platform]]:
        """Read the partner records again: ``(platforms that joined, platforms that left)``."""
        partners = [p for p in await self._registration.partners() if p.status is PartnerStatus.REGISTERED]
        joined: list[Platform] = []
        seen = set()
        for partner in partners:
            seen.add(partner.id)
            known = self.platforms.get(partner.id)
            if known is None:
                known = self.platforms[partner.id] = self._new(partner)
                joined.append(known)
            else:
                known.partner = partner
        left = [self.platforms.pop(pid) for pid in list(self.platforms) if pid not in seen]
        by_party: dict[PartyKey, list[tuple[CredentialsRole, Platform]]] = {}
        for platform in self.platforms.values():
            for role in platform.parties():
                by_party.setdefault(party_key(role.country_code, role.party_id), []).append((role, platform))
        self._by_party = by_party
        self._refreshed = time.monotonic()  # a rate limit of the re-reads, not a time of the platforms
        return joined, left

    def now(self) -> float:
        """The hub clock's time, in seconds since the epoch (what ``last_contact`` holds)."""
        return self._clock.now().timestamp()

    def _new(self, partner: Partner) -> Platform:
        now = self.now()
        return Platform(partner, last_contact=now, changed_at=now)

    async def hosting(self, country_code: str, party_id: str) -> list[tuple[CredentialsRole, Platform]]:
        """The platforms holding the party (one per role), read again once when none is known."""
        key = party_key(country_code, party_id)
        found = self._by_party.get(key)
        if not found and time.monotonic() - self._refreshed > 0.2:
            await self.refresh()
            found = self._by_party.get(key)
        return list(found or ())

    async def platform(self, partner: Partner) -> Platform:
        """The platform of a caller (a registered partner), known from now on."""
        known = self.platforms.get(partner.id)
        if known is None or (known.partner is not partner and known.partner.roles != partner.roles):
            await self.refresh()
            known = self.platforms.get(partner.id)
            if known is None:  # registered a moment ago and not in the listing yet
                known = self.platforms[partner.id] = self._new(partner)
        return known

    def every_party(self) -> Iterable[tuple[CredentialsRole, Platform]]:
        for platform in self.platforms.values():
            for role in platform.parties():
                yield role, platform
