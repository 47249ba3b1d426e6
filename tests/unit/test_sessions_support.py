"""Helpers of the ``test_sessions_*`` and ``test_cdrs_*`` tests (and a check of the helpers themselves).

A node (CPO NL*CPO, eMSP NL*MSP) served in-process over httpx, with four registered partners:

* ``emsp`` (DE*EMS, eMSP, 2.2.1) and ``other`` (DE*OTH, eMSP, 2.2.1): receive our sessions and CDRs
  at ``http://emsp.test/...`` / ``http://other.test/...``, pull our Sender lists;
* ``cpo`` (BE*BEC, CPO) and ``rival`` (FR*RIV, CPO): push their sessions and CDRs to our Receivers.

Builders of canonical objects (our location, sessions, periods) and of OCPI 2.2.1 / 2.1.1 wire JSON.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec

from evroam import model as m
from evroam.core.codec import encode
from evroam.core.types import DateTime
from evroam.modules.locations.repository import save_location
from evroam.node.settings import Settings
from evroam.node.wiring import Node, build_node
from evroam.registration.model import Partner, PartnerEndpoint, PartnerStatus, PartyRole, token_digest
from evroam.store.port import Store
from evroam.testing import FixedClock, MemoryStore, SequentialIds
from tests.unit.locations_harness import BASE, node_config, register

T0 = "2026-03-01T12:00:00Z"
OUR_CPO = ("NL", "CPO")
EMSP_TOKEN = "token-of-partner-emsp"
OTHER_TOKEN = "token-of-partner-other"
CPO_TOKEN = "token-of-partner-cpo"
RIVAL_TOKEN = "token-of-partner-rival"
TOKENS = {"p-emsp": EMSP_TOKEN, "p-other": OTHER_TOKEN, "p-cpo": CPO_TOKEN, "p-rival": RIVAL_TOKEN}


def partner(
    partner_id: str,
    role: str,
    party: tuple[str, str],
    now: datetime,
    *,
    version: str = "2.2.1",
    modules: Sequence[str] = (),
    host: str | None = None,
) -> Partner:
    host = host or f"{partner_id.removeprefix('p-')}.test"
    return Partner(
        id=partner_id,
        name=partner_id.removeprefix("p-"),
        status=PartnerStatus.REGISTERED,
        initiated_by="us",
        created=DateTime.from_datetime(now),
        updated=DateTime.from_datetime(now),
        version=version,
        token=f"token-we-use-at-{partner_id}",
        token_encoding="raw" if version == "2.1.1" else "base64",
        roles=(PartyRole(role=role, country_code=party[0], party_id=party[1], name=f"{partner_id} Ltd"),),
        endpoints=tuple(
            PartnerEndpoint(module=module, role="RECEIVER", url=f"http://{host}/ocpi/{version}/{module}")
            for module in modules
        ),
        issued=(),
    )


def partners(now: datetime, emsp_version: str = "2.2.1") -> list[tuple[Partner, str]]:
    found = [
        partner("p-emsp", "EMSP", ("DE", "EMS"), now, version=emsp_version, modules=("sessions", "cdrs")),
        partner("p-other", "EMSP", ("DE", "OTH"), now, modules=("sessions", "cdrs")),
        partner("p-cpo", "CPO", ("BE", "BEC"), now),
        partner("p-rival", "CPO", ("FR", "RIV"), now),
    ]
    return [(msgspec.structs.replace(p, issued=(token_digest(TOKENS[p.id]),)), TOKENS[p.id]) for p in found]


async def register_twin(store: Store, clock: FixedClock, token: str = "token-of-partner-twin") -> str:
    """Register ``twin``: another CPO platform that also claims BE*BEC (e.g. after a migration), to check
    that one partner never reads or overwrites what another pushed. Returns its token."""
    twin = partner("p-twin", "CPO", ("BE", "BEC"), clock.now())
    await register(store, clock, [(msgspec.structs.replace(twin, issued=(token_digest(token),)), token)])
    return token


@dataclass
class Harness:
    node: Node
    store: Store
    clock: FixedClock
    client: httpx.AsyncClient

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        version: str = "2.2.1",
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        value = token if version == "2.1.1" else base64.b64encode(token.encode()).decode()
        headers = {"Authorization": f"Token {value}"}
        content = None
        if body is not None:
            content = body if isinstance(body, bytes) else encode(body)
            headers["Content-Type"] = "application/json"
        url = path if path.startswith("http") else f"/ocpi/{version}/{path}"
        return await self.client.request(method, url, headers=headers, content=content, params=params)


@asynccontextmanager
async def running(
    *, store: Store | None = None, emsp_version: str = "2.2.1", tmp: Path | None = None
) -> AsyncIterator[Harness]:
    clock = FixedClock(T0)
    store = store or MemoryStore()
    await store.migrate()
    await register(store, clock, partners(clock.now(), emsp_version))
    node = build_node(
        Settings(data_dir=tmp or Path("unused")),
        config=node_config(),
        store=store,
        clock=clock,
        ids=SequentialIds("t"),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=node.app(worker=False)), base_url=BASE
    ) as client:
        try:
            yield Harness(node, store, clock, client)
        finally:
            await node.http.aclose()


# -- canonical objects ----------------------------------------------------------------------------------


def at(minutes: float) -> DateTime:
    """T0 + ``minutes``."""
    return DateTime.from_datetime(DateTime.parse(T0) + timedelta(minutes=minutes))


def our_location(*, capable_evse: str = "E1", evse_ids: bool = True) -> m.Location:
    """Our location LOC1 (NL*CPO) with EVSEs E1 and E2; ``capable_evse`` takes charging preferences."""
    now = DateTime.parse(T0)

    def evse(uid: str) -> m.EVSE:
        return m.EVSE(
            uid=uid,
            evse_id=f"NL*CPO*E{uid}" if evse_ids else None,
            status=m.Status.AVAILABLE,
            capabilities=("CHARGING_PREFERENCES_CAPABLE",) if uid == capable_evse else ("RFID_READER",),
            connectors=(
                m.Connector(
                    id="1",
                    standard="IEC_62196_T2",
                    format=m.ConnectorFormat.SOCKET,
                    power_type=m.PowerType.AC_3_PHASE,
                    max_voltage=230,
                    max_amperage=32,
                    last_updated=now,
                ),
            ),
            last_updated=now,
        )

    return m.Location(
        country_code=OUR_CPO[0],
        party_id=OUR_CPO[1],
        id="LOC1",
        address="Main street 1",
        city="Utrecht",
        postal_code="3511",
        country="NLD",
        coordinates=m.GeoLocation(latitude="52.09074", longitude="5.12142"),
        time_zone="Europe/Amsterdam",
        publish=True,
        evses=(evse("E1"), evse("E2")),
        last_updated=now,
    )


async def store_our_location(store: Store, location: m.Location | None = None) -> m.Location:
    location = location or our_location()
    await save_location(store, location, check_stale=False)
    return location


def period(minutes: float, kwh: str) -> m.ChargingPeriod:
    return m.ChargingPeriod(
        start_date_time=at(minutes),
        dimensions=(m.CdrDimension(type=m.CdrDimensionType.ENERGY, volume=Decimal(kwh)),),
    )


def token(owner: tuple[str, str] | None = ("DE", "EMS"), uid: str = "TOKEN1") -> m.CdrToken:
    return m.CdrToken(
        uid=uid,
        type="RFID",
        contract_id=f"{(owner or ('XX', 'XXX'))[0]}-{uid}",
        country_code=None if owner is None else owner[0],
        party_id=None if owner is None else owner[1],
    )


def our_session(
    session_id: str = "S1",
    *,
    owner: tuple[str, str] | None = ("DE", "EMS"),
    evse_uid: str = "E1",
    party: tuple[str, str] = OUR_CPO,
    periods: tuple[m.ChargingPeriod, ...] | None = None,
    status: m.SessionStatus = m.SessionStatus.ACTIVE,
) -> m.Session:
    return m.Session(
        country_code=party[0],
        party_id=party[1],
        id=session_id,
        start_date_time=at(0),
        kwh=Decimal("0"),
        cdr_token=token(owner),
        auth_method=m.AuthMethod.WHITELIST,
        location_id="LOC1",
        evse_uid=evse_uid,
        connector_id="1",
        currency="EUR",
        status=status,
        charging_periods=periods,
        last_updated=at(0),
    )


# -- OCPI wire JSON ---------------------------------------------------------------------------------------


def token_json(owner: tuple[str, str] = ("DE", "EMS")) -> dict[str, Any]:
    return {
        "country_code": owner[0],
        "party_id": owner[1],
        "uid": "TOKEN1",
        "type": "RFID",
        "contract_id": "C1",
    }


def period_json(minutes: float, kwh: str) -> dict[str, Any]:
    return {
        "start_date_time": at(minutes).to_json(),
        "dimensions": [{"type": "ENERGY", "volume": Decimal(kwh)}],
    }


def session_json(
    session_id: str = "S1",
    *,
    party: tuple[str, str] = ("BE", "BEC"),
    last_updated: str = "2026-03-01T12:00:00Z",
    periods: Sequence[dict[str, Any]] = (),
    kwh: str = "0",
    status: str = "ACTIVE",
) -> dict[str, Any]:
    """A 2.2.1 Session of the CPO partner ``party``."""
    body: dict[str, Any] = {
        "country_code": party[0],
        "party_id": party[1],
        "id": session_id,
        "start_date_time": T0,
        "kwh": Decimal(kwh),
        "cdr_token": token_json(),
        "auth_method": "WHITELIST",
        "location_id": "THEIRLOC",
        "evse_uid": "EV1",
        "connector_id": "1",
        "currency": "EUR",
        "status": status,
        "last_updated": last_updated,
    }
    if periods:
        body["charging_periods"] = list(periods)
    return body


def location_json_211(location_id: str = "THEIRLOC") -> dict[str, Any]:
    return {
        "id": location_id,
        "type": "ON_STREET",
        "address": "Grote Markt 1",
        "city": "Gent",
        "postal_code": "9000",
        "country": "BEL",
        "coordinates": {"latitude": "51.047599", "longitude": "3.729944"},
        "evses": [
            {
                "uid": "EV1",
                "status": "CHARGING",
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "voltage": 230,
                        "amperage": 32,
                        "last_updated": T0,
                    }
                ],
                "last_updated": T0,
            }
        ],
        "last_updated": T0,
    }


def session_json_211(session_id: str = "S1", *, periods: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": session_id,
        "start_datetime": T0,
        "kwh": Decimal("0"),
        "auth_id": "C1",
        "auth_method": "WHITELIST",
        "location": location_json_211(),
        "currency": "EUR",
        "status": "ACTIVE",
        "last_updated": T0,
    }
    if periods:
        body["charging_periods"] = list(periods)
    return body


def cdr_json(
    cdr_id: str = "CDR1",
    *,
    party: tuple[str, str] = ("BE", "BEC"),
    total: str = "4.20",
    credit_of: str | None = None,
) -> dict[str, Any]:
    """A 2.2.1 CDR of the CPO partner ``party`` (a credit CDR of ``credit_of`` when given)."""
    body: dict[str, Any] = {
        "country_code": party[0],
        "party_id": party[1],
        "id": cdr_id,
        "start_date_time": T0,
        "end_date_time": "2026-03-01T13:00:00Z",
        "session_id": "S1",
        "cdr_token": token_json(),
        "auth_method": "WHITELIST",
        "cdr_location": {
            "id": "THEIRLOC",
            "address": "Grote Markt 1",
            "city": "Gent",
            "country": "BEL",
            "coordinates": {"latitude": "51.047599", "longitude": "3.729944"},
            "evse_uid": "EV1",
            "evse_id": "BE*BEC*EEV1",
            "connector_id": "1",
            "connector_standard": "IEC_62196_T2",
            "connector_format": "SOCKET",
            "connector_power_type": "AC_3_PHASE",
        },
        "currency": "EUR",
        "charging_periods": [period_json(0, "12.5")],
        "total_cost": {"excl_vat": Decimal(total), "incl_vat": Decimal(total) * Decimal("1.21")},
        "total_energy": Decimal("12.5"),
        "total_time": Decimal("1"),
        "last_updated": "2026-03-01T13:00:00Z",
    }
    if credit_of is not None:
        body.update(credit=True, credit_reference_id=credit_of)
    return body


def envelope(response: httpx.Response) -> tuple[int, int, Any]:
    """``(HTTP status, OCPI status_code, data)`` of an answer."""
    body = response.json()
    return response.status_code, body["status_code"], body.get("data")


# -- the helpers' own check ---------------------------------------------------------------------------------


async def test_the_harness_knows_every_partner_by_its_token() -> None:
    async with running() as h:
        for partner_id, secret in TOKENS.items():
            answer = await h.call("GET", "sender/sessions", token=secret, params={"date_from": T0})
            assert answer.status_code == 200, (partner_id, answer.text)
        refused = await h.call("GET", "sender/sessions", token="nobody", params={"date_from": T0})
        assert refused.status_code == 401
