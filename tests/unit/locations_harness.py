"""A node (CPO NL*CPO and eMSP NL*MSP) with two registered partners, served in-process over httpx.

* partner ``emsp`` (DE*EMS, eMSP, OCPI 2.2.1) pulls our locations and receives our pushes;
* partner ``cpo`` (BE*CPO, CPO) pushes its locations and tariffs to our Receiver interfaces.

Used by the ``test_locations_*`` and ``test_tariffs_module*`` tests.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from evroam.core.codec import encode
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import Node, build_node
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
from evroam.testing import FixedClock, MemoryStore, SequentialIds

EMSP_TOKEN = "token-of-the-emsp-partner"
CPO_TOKEN = "token-of-the-cpo-partner"
BASE = "http://node.test"
VERSIONS = ("2.1.1", "2.2.1", "2.3.0")


def node_config(versions: Sequence[str] = VERSIONS) -> NodeConfig:
    return NodeConfig(
        url=BASE,
        parties=[
            PartyConfig(country_code="NL", party_id="CPO", role="CPO", name="Our CPO"),
            PartyConfig(country_code="NL", party_id="MSP", role="EMSP", name="Our eMSP"),
        ],
        versions=list(versions),
    )


def partners(now: Any, version: str = "2.2.1") -> list[tuple[Partner, str]]:
    emsp = Partner(
        id="p-emsp",
        name="emsp",
        status=PartnerStatus.REGISTERED,
        initiated_by="them",
        created=now,
        updated=now,
        version=version,
        token="token-we-use-at-the-emsp",
        roles=(PartyRole(role="EMSP", country_code="DE", party_id="EMS", name="Drive GmbH"),),
        endpoints=(
            PartnerEndpoint(module="locations", role="RECEIVER", url="http://emsp.test/locations"),
            PartnerEndpoint(module="tariffs", role="RECEIVER", url="http://emsp.test/tariffs"),
        ),
        issued=(token_digest(EMSP_TOKEN),),
    )
    cpo = Partner(
        id="p-cpo",
        name="cpo",
        status=PartnerStatus.REGISTERED,
        initiated_by="us",
        created=now,
        updated=now,
        version=version,
        token="token-we-use-at-the-cpo",
        roles=(PartyRole(role="CPO", country_code="BE", party_id="BEC", name="Charge BV"),),
        endpoints=(PartnerEndpoint(module="locations", role="SENDER", url="http://cpo.test/locations"),),
        issued=(token_digest(CPO_TOKEN),),
    )
    return [(emsp, EMSP_TOKEN), (cpo, CPO_TOKEN)]


async def register(store: Store, clock: FixedClock, found: Sequence[tuple[Partner, str]]) -> None:
    now = clock.now()
    await StorePartnerRepository(store, clock).commit(
        save=[p for p, _ in found],
        issue=[
            IssuedToken(digest=token_digest(t), partner_id=p.id, use=TokenUse.PEER, issued_at=now)
            for p, t in found
        ],
    )


@dataclass
class Harness:
    node: Node
    store: Store
    clock: FixedClock
    client: httpx.AsyncClient

    def auth(self, token: str, version: str) -> dict[str, str]:
        value = token if version == "2.1.1" else base64.b64encode(token.encode()).decode()
        return {"Authorization": f"Token {value}"}

    async def call(
        self, method: str, path: str, *, token: str, version: str = "2.2.1", body: Any = None
    ) -> httpx.Response:
        content = None if body is None else (body if isinstance(body, bytes) else encode(body))
        headers = self.auth(token, version)
        if content is not None:
            headers["Content-Type"] = "application/json"
        return await self.client.request(method, f"/ocpi/{version}/{path}", headers=headers, content=content)


@asynccontextmanager
async def running(
    tmp: Path | None = None, *, store: Store | None = None, versions: Sequence[str] = VERSIONS
) -> AsyncIterator[Harness]:
    clock = FixedClock("2026-03-01T12:00:00Z")
    store = store or MemoryStore()
    await store.migrate()
    await register(store, clock, partners(clock.now()))
    node = build_node(
        Settings(data_dir=tmp or Path("unused")),
        config=node_config(versions),
        store=store,
        clock=clock,
        ids=SequentialIds("t"),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=node.app()), base_url=BASE) as client:
        try:
            yield Harness(node, store, clock, client)
        finally:
            await node.http.aclose()


def connector_json(
    connector_id: str = "1", last_updated: str = "2026-02-01T00:00:00Z", version: str = "2.2.1"
) -> dict[str, Any]:
    old = version == "2.1.1"
    return {
        "id": connector_id,
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "voltage" if old else "max_voltage": 230,
        "amperage" if old else "max_amperage": 32,
        "last_updated": last_updated,
    }


def evse_json(
    uid: str,
    status: str = "AVAILABLE",
    last_updated: str = "2026-02-01T00:00:00Z",
    connectors: int = 1,
    version: str = "2.2.1",
) -> dict[str, Any]:
    return {
        "uid": uid,
        "status": status,
        "connectors": [connector_json(str(i + 1), last_updated, version) for i in range(connectors)],
        "last_updated": last_updated,
    }


def location_json(
    location_id: str,
    *,
    country_code: str = "BE",
    party_id: str = "BEC",
    evses: Sequence[str] = ("E1",),
    last_updated: str = "2026-02-01T00:00:00Z",
    publish: bool = True,
    allowed_issuers: Sequence[str] = (),
    version: str = "2.2.1",
) -> dict[str, Any]:
    """A valid Location of OCPI ``version`` (2.1.1 objects have no owner and a ``type``)."""
    body: dict[str, Any] = {
        "id": location_id,
        "name": f"Station {location_id}",
        "address": "Main street 1",
        "city": "Gent",
        "postal_code": "9000",
        "country": "BEL",
        "coordinates": {"latitude": "51.047599", "longitude": "3.729944"},
        "evses": [evse_json(uid, last_updated=last_updated, version=version) for uid in evses],
        "time_zone": "Europe/Brussels",
        "last_updated": last_updated,
    }
    if version == "2.1.1":
        body["type"] = "ON_STREET"
        return body
    body.update(country_code=country_code, party_id=party_id, publish=publish, parking_type="ON_STREET")
    if allowed_issuers:
        body["publish_allowed_to"] = [
            {"visual_number": f"card-{i}", "issuer": issuer} for i, issuer in enumerate(allowed_issuers)
        ]
    return body


def tariff_json(
    tariff_id: str,
    *,
    country_code: str = "BE",
    party_id: str = "BEC",
    last_updated: str = "2026-02-01T00:00:00Z",
    price: str = "0.25",
    version: str = "2.2.1",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": tariff_id,
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": Decimal(price), "step_size": 1}]}],
        "last_updated": last_updated,
    }
    if version != "2.1.1":
        body.update(country_code=country_code, party_id=party_id)
    if version == "2.3.0":
        body["tax_included"] = "NO"
    return body
