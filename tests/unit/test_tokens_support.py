"""Helpers of the ``test_tokens_*`` tests (no tests here): token JSON, canonical tokens, partner records.

The node of :mod:`tests.unit.locations_harness` is CPO ``NL*CPO`` and eMSP ``NL*MSP``; its partner
``cpo`` (``BE*BEC``, role CPO) may see our tokens, its partner ``emsp`` (``DE*EMS``, role EMSP) pushes
tokens to our Receiver and may not see our own.
"""

from __future__ import annotations

from typing import Any

from evroam import model as m
from evroam.core.clock import Clock
from evroam.core.types import CiString, DateTime
from evroam.modules.tokens.repository import save_token
from evroam.modules.tokens.rules import AuthorizationRules
from evroam.registration.model import (
    IssuedToken,
    Partner,
    PartnerEndpoint,
    PartnerStatus,
    PartyRole,
    TokenUse,
    token_digest,
)
from evroam.registration.repository import StorePartnerRepository
from evroam.store.port import Store

T_OLD = "2026-02-01T00:00:00Z"
OTHER_EMSP_TOKEN = "token-of-the-other-emsp"


def token_json(
    uid: str,
    *,
    token_type: str = "RFID",
    country_code: str = "NL",
    party_id: str = "MSP",
    valid: bool = True,
    whitelist: str = "ALLOWED",
    last_updated: str = T_OLD,
    version: str = "2.2.1",
    rules: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A valid Token of OCPI ``version`` (2.1.1: no owner, ``auth_id``)."""
    body: dict[str, Any] = {
        "uid": uid,
        "type": token_type,
        "issuer": "Our eMSP",
        "valid": valid,
        "whitelist": whitelist,
        "last_updated": last_updated,
    }
    if version == "2.1.1":
        body["auth_id"] = f"NL-MSP-{uid}"
    else:
        body.update(
            country_code=country_code, party_id=party_id, contract_id=f"{country_code}-{party_id}-{uid}"
        )
    if rules is not None:
        body["authorization_rules"] = rules
    return body


def token(
    uid: str,
    *,
    token_type: str = "RFID",
    owner: tuple[str, str] = ("NL", "MSP"),
    valid: bool = True,
    whitelist: m.WhitelistType = m.WhitelistType.ALLOWED,
    last_updated: str = T_OLD,
) -> m.Token:
    return m.Token(
        country_code=CiString(owner[0]),
        party_id=CiString(owner[1]),
        uid=CiString(uid),
        type=token_type,
        contract_id=CiString(f"{owner[0]}-{owner[1]}-{uid}"),
        issuer="Our eMSP",
        valid=valid,
        whitelist=whitelist,
        last_updated=DateTime.parse(last_updated),
    )


async def own_token(store: Store, t: m.Token, rules: AuthorizationRules | None = None) -> None:
    """Store ``t`` as one of our own (eMSP) tokens, without any outbox row."""
    await save_token(store, t, rules=rules, check_stale=False)


async def add_partner(store: Store, clock: Clock, partner: Partner, credentials_token: str) -> None:
    """Register ``partner``, calling us with ``credentials_token``."""
    now = clock.now()
    await StorePartnerRepository(store, clock).commit(
        save=[partner],
        issue=[
            IssuedToken(
                digest=token_digest(credentials_token),
                partner_id=partner.id,
                use=TokenUse.PEER,
                issued_at=now,
            )
        ],
    )


def other_emsp(clock: Clock, *, party: tuple[str, str] = ("FR", "OTH")) -> Partner:
    """A second eMSP partner (``FR*OTH`` unless told), calling us with :data:`OTHER_EMSP_TOKEN`."""
    return Partner(
        id="p-other",
        name="other",
        status=PartnerStatus.REGISTERED,
        initiated_by="them",
        created=clock.now(),
        updated=clock.now(),
        version="2.2.1",
        token="token-we-use-at-the-other",
        roles=(PartyRole(role="EMSP", country_code=party[0], party_id=party[1], name="Other SAS"),),
        endpoints=(PartnerEndpoint(module="tokens", role="SENDER", url="http://other.test/tokens"),),
        issued=(token_digest(OTHER_EMSP_TOKEN),),
    )
