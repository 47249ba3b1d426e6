"""The registered partners as the outbox's :class:`~evroam.store.outbox.PartnerDirectory`: which
partners receive a module's pushes, and where."""

from __future__ import annotations

from evroam.ocpi.table import InterfaceRole
from evroam.registration.model import Partner, PartnerStatus
from evroam.registration.repository import PARTNER_KIND, decode_partner
from evroam.store.outbox import PartnerTarget, relay_targets
from evroam.store.port import Operations

__all__ = ["RegisteredPartners", "target_of"]


def target_of(partner: Partner, module: str) -> PartnerTarget | None:
    if partner.status != PartnerStatus.REGISTERED or partner.version is None or partner.token is None:
        return None
    endpoint = partner.endpoint(module, InterfaceRole.RECEIVER.value)
    if endpoint is None:
        return None
    own = next((role for role in partner.roles if role.role != "CPO"), None)
    return PartnerTarget(
        partner_id=partner.id,
        name=partner.name,
        version=partner.version,
        url=endpoint.url,
        token=partner.token,
        token_encoding=partner.token_encoding,
        country_code=None if own is None else own.country_code,
        party_id=None if own is None else own.party_id,
        business_names=tuple(dict.fromkeys(role.name for role in partner.roles if role.name)),
    )


class RegisteredPartners:
    """:class:`PartnerDirectory` over the registration package's partner records, and the outbox's
    relays (:class:`~evroam.store.outbox.Relay`: an OICP hub).

    A partner qualifies when it is REGISTERED, has an agreed version and a token, and lists an
    endpoint of the module with role RECEIVER (or without role, as in OCPI 2.1.1).
    """

    async def receivers(self, ops: Operations, module: str) -> list[PartnerTarget]:
        page = await ops.find(PARTNER_KIND)
        partners: list[Partner] = [decode_partner(item.payload) for item in page.items]
        found = (target_of(partner, module) for partner in partners)
        return [target for target in found if target is not None] + await relay_targets(ops, module)

    async def target(self, ops: Operations, partner_id: str, module: str) -> PartnerTarget | None:
        for relay in await relay_targets(ops):
            if relay.partner_id == partner_id:
                return relay
        for item in (await ops.find(PARTNER_KIND, partners=[partner_id])).items:
            partner: Partner = decode_partner(item.payload)
            if partner.id == partner_id:
                return target_of(partner, module)
        return None
