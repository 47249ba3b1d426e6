"""Test helpers shared by the push and sync tests: canonical objects and partner records (the fake partners
are :class:`evroam.testing.FakeReceiver` and :class:`evroam.testing.FakeSender`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from evroam import model as m
from evroam.core.clock import Clock
from evroam.core.codec import encode
from evroam.modules.locations.repository import load_location, save_location
from evroam.modules.tariffs.repository import delete_tariff, save_tariff
from evroam.registration.directory import RegisteredPartners
from evroam.registration.model import Partner, PartnerEndpoint, PartnerStatus, PartyRole
from evroam.registration.repository import StorePartnerRepository
from evroam.store.outbox import ObjectChange, enqueue_change
from evroam.store.port import Store

T0 = "2026-03-01T12:00:00Z"
OWNER = ("NL", "ABC")
EMSP_BASE = "https://emsp.test/ocpi"


def connector(cid: str, at: datetime) -> m.Connector:
    return m.Connector(
        id=cid,
        standard="IEC_62196_T2",
        format=m.ConnectorFormat.SOCKET,
        power_type=m.PowerType.AC_3_PHASE,
        max_voltage=230,
        max_amperage=32,
        last_updated=at,
    )


def evse(uid: str, at: datetime, status: m.Status = m.Status.AVAILABLE) -> m.EVSE:
    return m.EVSE(uid=uid, status=status, connectors=(connector("1", at),), last_updated=at)


def location(
    location_id: str,
    at: datetime,
    *,
    evses: tuple[str, ...] = ("E1", "E2"),
    owner: tuple[str, str] = OWNER,
    publish: bool = True,
    allowed_issuers: tuple[str, ...] = (),
    name: str | None = None,
) -> m.Location:
    return m.Location(
        country_code=owner[0],
        party_id=owner[1],
        id=location_id,
        address="Main street 1",
        city="Utrecht",
        country="NLD",
        coordinates=m.GeoLocation(latitude="52.09074", longitude="5.12142"),
        last_updated=at,
        publish=publish,
        publish_allowed_to=tuple(m.PublishTokenType(visual_number="x", issuer=i) for i in allowed_issuers)
        or None,
        name=name,
        time_zone="Europe/Amsterdam",
        evses=tuple(evse(uid, at) for uid in evses),
    )


def tariff(tariff_id: str, at: datetime, price: str = "0.25", owner: tuple[str, str] = OWNER) -> m.Tariff:
    return m.Tariff(
        country_code=owner[0],
        party_id=owner[1],
        id=tariff_id,
        currency="EUR",
        elements=(
            m.TariffElement(
                price_components=(
                    m.PriceComponent(type=m.TariffDimensionType.ENERGY, price=Decimal(price), step_size=1),
                )
            ),
        ),
        last_updated=at,
    )


def emsp_partner(
    clock: Clock,
    *,
    partner_id: str = "p-emsp",
    version: str = "2.2.1",
    modules: tuple[str, ...] = ("locations", "tariffs"),
    status: PartnerStatus = PartnerStatus.REGISTERED,
    base: str = EMSP_BASE,
) -> Partner:
    return Partner(
        id=partner_id,
        name=partner_id.removeprefix("p-"),
        status=status,
        initiated_by="us",
        created=clock.now(),
        updated=clock.now(),
        version=version,
        token=f"token-for-{partner_id}",
        token_encoding="raw" if version == "2.1.1" else "base64",
        roles=(PartyRole(role="EMSP", country_code="DE", party_id="EMS", name=f"{partner_id} GmbH"),),
        endpoints=tuple(
            PartnerEndpoint(module=module, url=f"{base}/{version}/{module}", role="RECEIVER")
            for module in modules
        ),
    )


async def register(store: Store, clock: Clock, *partners: Partner) -> None:
    await StorePartnerRepository(store, clock).commit(save=list(partners))


# -- CPO-side changes, each in one transaction with its outbox rows --------------------------------


async def put_location(store: Store, loc: m.Location, now: datetime) -> int:
    async with store.transaction() as tx:
        await save_location(tx, loc, check_stale=False)
        change = ObjectChange(
            module="locations",
            country_code=loc.country_code,
            party_id=loc.party_id,
            object_id=loc.id,
            method="PUT",
        )
        return await enqueue_change(tx, RegisteredPartners(), change, now)


async def set_status(store: Store, location_id: str, uid: str, status: m.Status, now: datetime) -> int:
    """Change one EVSE's status (bumping the Location's last_updated) and enqueue a PATCH."""
    async with store.transaction() as tx:
        loc = await load_location(tx, *OWNER, location_id)
        assert loc is not None
        evses = tuple(
            m.EVSE(uid=e.uid, status=status, connectors=e.connectors, last_updated=now) if e.uid == uid else e
            for e in loc.evses or ()
        )
        await save_location(
            tx, msgspec.structs.replace(loc, evses=evses, last_updated=now), check_stale=False
        )
        patch = encode({"status": status.value, "last_updated": now})
        change = ObjectChange(
            module="locations",
            country_code=OWNER[0],
            party_id=OWNER[1],
            object_id=location_id,
            evse_uid=uid,
            method="PATCH",
            patch=patch,
        )
        return await enqueue_change(tx, RegisteredPartners(), change, now)


async def put_tariff(store: Store, t: m.Tariff, now: datetime) -> int:
    async with store.transaction() as tx:
        await save_tariff(tx, t, check_stale=False)
        change = ObjectChange(
            module="tariffs", country_code=t.country_code, party_id=t.party_id, object_id=t.id, method="PUT"
        )
        return await enqueue_change(tx, RegisteredPartners(), change, now)


async def remove_tariff(store: Store, tariff_id: str, now: datetime) -> int:
    async with store.transaction() as tx:
        await delete_tariff(tx, *OWNER, tariff_id)
        change = ObjectChange(
            module="tariffs", country_code=OWNER[0], party_id=OWNER[1], object_id=tariff_id, method="DELETE"
        )
        return await enqueue_change(tx, RegisteredPartners(), change, now)


def cpo_partner(clock: Clock, *, version: str = "2.2.1", partner_id: str = "p-cpo") -> Partner:
    """A registered CPO partner whose locations and tariffs Sender endpoints we can pull."""
    return Partner(
        id=partner_id,
        name=partner_id.removeprefix("p-"),
        status=PartnerStatus.REGISTERED,
        initiated_by="them",
        created=clock.now(),
        updated=clock.now(),
        version=version,
        token="token-for-cpo",
        token_encoding="raw" if version == "2.1.1" else "base64",
        roles=(PartyRole(role="CPO", country_code="BE", party_id="CPO", name="CPO nv"),),
        endpoints=tuple(
            PartnerEndpoint(module=module, url=f"https://cpo.test/ocpi/{version}/{module}", role="SENDER")
            for module in ("locations", "tariffs")
        ),
    )
