"""The handshake with partners and tokens in the SQL stores: SQLite on one side, PostgreSQL on the other."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from evroam.registration.model import PartnerStatus
from evroam.store.factory import create_store
from tests.unit.test_registration_service import Network, make_node

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_schema(postgres_url: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL schema, dropped afterwards."""
    name = "evroam_reg_" + secrets.token_hex(6)
    admin = create_async_engine(postgres_url, poolclass=NullPool)
    async with admin.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        async with admin.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await admin.dispose()


async def test_handshake_rotation_and_unregister_over_sqlite_and_postgresql(
    tmp_path: Path, postgres_url: str, pg_schema: str
) -> None:
    network = Network()
    cpo = make_node(
        network, tmp_path, "cpo", "cpo.test", "CPO", "CPO", store=create_store(None, tmp_path / "cpo")
    )
    emsp = make_node(
        network,
        tmp_path,
        "emsp",
        "emsp.test",
        "EMSP",
        "MSP",
        store=create_store(postgres_url, schema=pg_schema),
    )
    try:
        for n in (cpo, emsp):
            await n.node.start()
        invitation = await cpo.service.invite("emsp")
        await emsp.service.register(invitation.versions_url, invitation.token, "cpo")
        first = (await emsp.service.get("cpo")).token
        assert first is not None
        assert (await cpo.service.get("emsp")).status is PartnerStatus.REGISTERED
        assert (await cpo.call("GET", "/ocpi/versions", first)).status_code == 200
        assert (await cpo.call("GET", "/ocpi/versions", invitation.token)).status_code == 401

        await cpo.service.rotate("emsp")
        second = (await emsp.service.get("cpo")).token
        assert second is not None and second != first
        assert (await cpo.call("GET", "/ocpi/versions", first)).status_code == 401
        assert (await cpo.call("GET", "/ocpi/versions", second)).status_code == 200

        await cpo.service.unregister("emsp")
        assert (await emsp.service.get("cpo")).status is PartnerStatus.UNREGISTERED
        assert (await cpo.call("GET", "/ocpi/versions", second)).status_code == 401
    finally:
        for n in (cpo, emsp):
            await n.client.aclose()
            await n.node.close()
