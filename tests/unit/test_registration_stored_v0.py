"""Partners stored by the release before roles became canonical ``CredentialsRole`` records.

``tests/unit/data/registration_v0/`` holds the partner and issued-token documents exactly as that
release stored them (written by the script beside them, with that release's code, through a real
handshake between four nodes). They are put into a store as they are, then read with today's code: every
field of every partner is checked against values written out here by hand, the tokens that release
issued still authenticate, and the next save writes the current shape.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from evroam.core.clock import FixedClock, SequentialIds
from evroam.core.codec import decode, encode
from evroam.core.errors import Unauthorized, ValidationFailed
from evroam.core.types import DateTime
from evroam.model import Role
from evroam.registration import (
    Partner,
    PartnerStatus,
    RegistrationService,
    StorePartnerRepository,
    TokenUse,
    decode_partner,
)
from evroam.registration.repository import CREDENTIALS_TOKEN_KIND, PARTNER_KIND
from evroam.registration.service import OwnPlatform
from evroam.store.factory import create_store
from evroam.store.memory import MemoryStore
from evroam.store.port import ObjectKey, Store

DATA = Path(__file__).parent / "data" / "registration_v0"

# What each stored partner must read as, written by hand from the documents (not from the code):
# a flat role {role, country_code, party_id, name, website} becomes a CredentialsRole whose
# business_details hold name and website (a null website is left out).
EXPECTED: dict[str, dict[str, Any]] = {
    "drive": {
        "id": "cpo-000002",
        "name": "drive",
        "status": "REGISTERED",
        "initiated_by": "them",
        "created": "2026-03-01T12:00:00Z",
        "updated": "2026-03-01T12:01:00Z",
        "version": "2.2.1",
        "versions_url": "http://drive.test/ocpi/versions",
        "token": "token-drive-000006",
        "token_encoding": "base64",
        "roles": [
            {
                "business_details": {"name": "Drive GmbH", "website": "https://drive.example"},
                "party_id": "DRV",
                "country_code": "DE",
                "role": "EMSP",
            },
            {
                "business_details": {"name": "Drive Austria GmbH"},
                "party_id": "DRA",
                "country_code": "AT",
                "role": "EMSP",
            },
        ],
        "endpoints": [
            {"module": "credentials", "url": "http://drive.test/ocpi/2.2.1/credentials", "role": "SENDER"}
        ],
        "offered_versions": ["2.2.1"],
        "issued": ["6a6d581c6f2ada1b6b5565f813e638d24a4dc547ffd25de635b66b28e007a3ef"],
    },
    "BE-OLD": {
        "id": "cpo-000010",
        "name": "BE-OLD",
        "status": "REGISTERED",
        "initiated_by": "us",
        "created": "2026-03-01T12:02:00Z",
        "updated": "2026-03-01T12:02:00Z",
        "version": "2.1.1",
        "versions_url": "http://old.test/ocpi/versions",
        "token": "token-old-000003",
        "token_encoding": "raw",
        "roles": [
            {
                "business_details": {"name": "Old Mobility NV"},
                "party_id": "OLD",
                "country_code": "BE",
                "role": "OTHER",
            }
        ],
        "endpoints": [
            {"module": "credentials", "url": "http://old.test/ocpi/2.1.1/credentials", "role": None}
        ],
        "offered_versions": ["2.1.1"],
        "issued": ["cd6c7358bba3b2124a24fc26fb7fc26c4c0fba097828c3ba1696bed6876d067a"],
    },
    "pending": {
        "id": "cpo-000015",
        "name": "pending",
        "status": "INVITED",
        "initiated_by": "them",
        "created": "2026-03-01T12:03:00Z",
        "updated": "2026-03-01T12:03:00Z",
        "version": None,
        "versions_url": None,
        "token": None,
        "token_encoding": "base64",
        "roles": [],
        "endpoints": [],
        "offered_versions": [],
        "issued": ["7a7712300506bff30d4cfc7d12f5886aa4ad2ebce162eea63225055f16274ca3"],
    },
    "gone": {
        "id": "cpo-000017",
        "name": "gone",
        "status": "UNREGISTERED",
        "initiated_by": "them",
        "created": "2026-03-01T12:04:00Z",
        "updated": "2026-03-01T12:05:00Z",
        "version": "2.2.1",
        "versions_url": "http://gone.test/ocpi/versions",
        "token": None,
        "token_encoding": "base64",
        "roles": [
            {
                "business_details": {"name": "Parti SAS"},
                "party_id": "GON",
                "country_code": "FR",
                "role": "EMSP",
            }
        ],
        "endpoints": [
            {"module": "credentials", "url": "http://gone.test/ocpi/2.2.1/credentials", "role": "SENDER"}
        ],
        "offered_versions": ["2.2.1"],
        "issued": [],
    },
}

# the tokens the node "cpo" issued in that run (SequentialIds("cpo")), found from the digests above
DRIVE_TOKEN_C = "token-cpo-000007"
OLD_TOKEN_B = "token-cpo-000011"
PENDING_TOKEN_A = "token-cpo-000014"


def documents(name: str) -> list[bytes]:
    return [line for line in (DATA / name).read_bytes().splitlines() if line]


async def load(store: Store) -> None:
    """The fixture's documents, put into ``store`` byte for byte, under the keys that release used."""
    await store.migrate()
    async with store.transaction() as tx:
        for payload in documents("partners.jsonl"):
            head = json.loads(payload)
            key = ObjectKey(PARTNER_KIND, "", "", head["id"])
            updated = DateTime.parse(head["updated"])
            await tx.put(key, payload, updated, partner_id=head["id"], check_stale=False)
        for payload in documents("credentials_tokens.jsonl"):
            head = json.loads(payload)
            key = ObjectKey(CREDENTIALS_TOKEN_KIND, "", "", head["digest"])
            issued_at = DateTime.parse(head["issued_at"])
            await tx.put(key, payload, issued_at, partner_id=head["partner_id"], check_stale=False)


def as_json(partner: Partner) -> Any:
    return msgspec.json.decode(encode(partner))


def service(store: Store, clock: FixedClock) -> tuple[RegistrationService, StorePartnerRepository]:
    repo = StorePartnerRepository(store, clock)
    platform = OwnPlatform(versions_url="http://cpo.test/ocpi/versions", roles=(), versions=("2.2.1",))
    api: Any = None  # reading and authenticating never call a partner
    return RegistrationService(platform, repo, api, clock, SequentialIds("new")), repo


def test_the_fixture_is_in_the_shape_of_the_previous_release() -> None:
    """Guards the fixture itself: flat roles, no business_details (it must not be regenerated)."""
    partners = documents("partners.jsonl")
    assert len(partners) == 4
    assert len(documents("credentials_tokens.jsonl")) == 3
    raw = b"\n".join(partners)
    assert b"business_details" not in raw
    assert b'{"role":"EMSP","country_code":"DE","party_id":"DRV","name":"Drive GmbH",' in raw
    with pytest.raises(ValidationFailed):  # today's shape alone cannot read it
        decode(partners[0], Partner)


async def check_store(store: Store) -> None:
    clock = FixedClock("2026-04-01T00:00:00Z")
    try:
        await load(store)
        svc, repo = service(store, clock)

        listed = {partner.name: partner for partner in await repo.list_partners()}
        assert sorted(listed) == sorted(EXPECTED)
        for name, expected in EXPECTED.items():
            assert as_json(listed[name]) == expected, name
            by_id = await repo.get_partner(expected["id"])
            assert by_id is not None and as_json(by_id) == expected, name

        # the typed values, not only their JSON
        drive = listed["drive"]
        assert drive.status is PartnerStatus.REGISTERED
        assert drive.created == DateTime.parse("2026-03-01T12:00:00Z")
        assert [r.role for r in drive.roles] == [Role.EMSP, Role.EMSP]
        assert [(str.__str__(r.country_code), str.__str__(r.party_id)) for r in drive.roles] == [
            ("DE", "DRV"),
            ("AT", "DRA"),
        ]
        assert [(r.business_details.name, r.business_details.website) for r in drive.roles] == [
            ("Drive GmbH", "https://drive.example"),
            ("Drive Austria GmbH", None),
        ]
        assert [str(r) for r in drive.roles] == ["DE*DRV (EMSP)", "AT*DRA (EMSP)"]
        assert drive.endpoint("credentials") is not None
        assert listed["BE-OLD"].roles[0].role is Role.OTHER
        assert listed["pending"].roles == ()
        assert listed["gone"].status is PartnerStatus.UNREGISTERED and listed["gone"].token is None

        # the tokens that release issued still authenticate, each to its partner and with its use
        caller = await svc.authenticate([DRIVE_TOKEN_C], registration=False)
        assert (caller.partner.name, caller.use) == ("drive", TokenUse.PEER)
        assert caller.partner.roles == drive.roles
        caller = await svc.authenticate([OLD_TOKEN_B], registration=False)
        assert (caller.partner.name, caller.use) == ("BE-OLD", TokenUse.PEER)
        caller = await svc.authenticate([PENDING_TOKEN_A], registration=True)
        assert (caller.partner.name, caller.use) == ("pending", TokenUse.REGISTRATION)
        with pytest.raises(Unauthorized):  # token A opens no functional module, as before
            await svc.authenticate([PENDING_TOKEN_A], registration=False)

        # saving a partner writes today's shape, which the plain decoder reads
        await repo.commit(save=[drive])
        stored = await store.get(ObjectKey(PARTNER_KIND, "", "", "cpo-000002"))
        assert stored is not None and b"business_details" in stored.payload
        assert as_json(decode(stored.payload, Partner)) == EXPECTED["drive"]
        # the others are still in the old shape, and still read
        old = await store.get(ObjectKey(PARTNER_KIND, "", "", "cpo-000010"))
        assert old is not None and b"business_details" not in old.payload
        assert as_json(decode_partner(old.payload)) == EXPECTED["BE-OLD"]
    finally:
        await store.close()


async def test_partners_stored_by_the_previous_release_read_from_memory() -> None:
    await check_store(MemoryStore())


async def test_partners_stored_by_the_previous_release_read_from_sqlite(tmp_path: Path) -> None:
    await check_store(create_store(None, tmp_path))


@pytest.fixture
async def pg_schema(postgres_url: str) -> AsyncIterator[str]:
    name = "evroam_reg_v0_" + secrets.token_hex(6)
    admin = create_async_engine(postgres_url, poolclass=NullPool)
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await admin.dispose()


@pytest.mark.postgres
async def test_partners_stored_by_the_previous_release_read_from_postgresql(
    postgres_url: str, pg_schema: str
) -> None:
    await check_store(create_store(postgres_url, schema=pg_schema))


def old_document(**role: Any) -> bytes:
    partner = json.loads(documents("partners.jsonl")[0])
    partner["roles"] = [role]
    return json.dumps(partner).encode()


def test_a_stored_role_that_names_no_known_role_reads_as_an_unknown_role() -> None:
    payload = old_document(role="PSP", country_code="DE", party_id="DRV", name="Drive GmbH", website=None)
    (role,) = decode_partner(payload).roles
    assert role.role is None
    assert role.business_details.name == "Drive GmbH"
    assert str(role) == "DE*DRV"


def test_a_document_of_neither_shape_is_refused() -> None:
    # a flat role without a party id
    with pytest.raises(ValidationFailed):
        decode_partner(old_document(role="EMSP", country_code="DE", name="Drive GmbH"))
    # today's shape with a broken field is not taken for the old one
    broken = json.loads(documents("partners.jsonl")[2])
    broken["status"] = "LOST"
    with pytest.raises(ValidationFailed):
        decode_partner(json.dumps(broken).encode())
