"""The authentication cache of the partner repository: served from memory, never stale.

"Two processes" are two stores (each with its own connections and its own repository and service)
on one SQLite file, or on one PostgreSQL schema: what ``evroam serve`` and an ``evroam partners ...``
command running beside it share.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from evroam.core.errors import Unauthorized
from evroam.core.types import CiString
from evroam.model import BusinessDetails, CredentialsRole, Role
from evroam.registration.model import (
    IssuedToken,
    Partner,
    PartnerEndpoint,
    PartnerStatus,
    TokenUse,
    token_digest,
)
from evroam.registration.repository import StorePartnerRepository
from evroam.registration.service import OwnPlatform, RegistrationService
from evroam.store.factory import create_store
from evroam.store.port import ObjectKey, Store, StoredObject
from evroam.testing import FixedClock, MemoryStore, SequentialIds

OLD = "the-partners-first-token"
NEW = "the-partners-second-token"


class CountingStore:
    """A store that counts the ``get`` calls it forwards."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.gets: list[str] = []

    async def get(self, key: ObjectKey, *, for_update: bool = False) -> StoredObject | None:
        self.gets.append(key.kind)
        return await self.inner.get(key, for_update=for_update)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def partner(clock: FixedClock, *tokens: str) -> Partner:
    return Partner(
        id="p-cpo",
        name="cpo",
        status=PartnerStatus.REGISTERED,
        initiated_by="them",
        created=clock.now(),
        updated=clock.now(),
        version="2.2.1",
        token="the-token-we-use-there",
        roles=(
            CredentialsRole(
                business_details=BusinessDetails(name="CPO BV"),
                party_id=CiString("CPO"),
                country_code=CiString("NL"),
                role=Role.CPO,
            ),
        ),
        endpoints=(PartnerEndpoint(module="locations", role="SENDER", url="http://cpo.test/locations"),),
        issued=tuple(token_digest(t) for t in tokens),
    )


def issued(clock: FixedClock, token: str) -> IssuedToken:
    return IssuedToken(
        digest=token_digest(token), partner_id="p-cpo", use=TokenUse.PEER, issued_at=clock.now()
    )


def service(store: Any, clock: FixedClock) -> tuple[RegistrationService, StorePartnerRepository]:
    repo = StorePartnerRepository(store, clock)
    platform = OwnPlatform(versions_url="http://emsp.test/ocpi/versions", roles=(), versions=("2.2.1",))
    return RegistrationService(platform, repo, api=None, clock=clock, ids=SequentialIds()), repo  # type: ignore[arg-type]


async def accepted(svc: RegistrationService, token: str) -> str:
    return (await svc.authenticate([token], registration=False)).partner.name


async def refused(svc: RegistrationService, token: str) -> bool:
    try:
        await svc.authenticate([token], registration=False)
    except Unauthorized:
        return True
    return False


async def test_a_known_token_is_then_resolved_from_memory_without_any_read() -> None:
    clock = FixedClock()
    store = CountingStore(MemoryStore())
    svc, repo = service(store, clock)
    await repo.commit(save=[partner(clock, OLD)], issue=[issued(clock, OLD)])
    assert await accepted(svc, OLD) == "cpo"
    store.gets.clear()
    for _ in range(3):
        assert await accepted(svc, OLD) == "cpo"
    # nobody else can commit on a memory store and this process did not: not even the generation
    assert store.gets == []
    # unknown tokens are read every time, not remembered
    for _ in range(2):
        assert await refused(svc, "nobody-issued-this")
    assert store.gets == ["credentials_token"] * 2


async def test_without_foreign_commits_the_generation_is_read_once_per_change(tmp_path: Path) -> None:
    clock = FixedClock()
    url = f"sqlite:///{tmp_path / 'evroam.db'}"
    inner, other = create_store(url), create_store(url)
    try:
        await inner.migrate()
        store = CountingStore(inner)
        svc, repo = service(store, clock)
        await repo.commit(save=[partner(clock, OLD)], issue=[issued(clock, OLD)])
        assert await accepted(svc, OLD) == "cpo"
        store.gets.clear()
        # writes of this process that are not registrations (a PATCH stream) keep the cache valid
        for i in range(3):
            await inner.put(ObjectKey("location", "NL", "CPO", f"L{i}"), b"{}", clock.now())
            assert await accepted(svc, OLD) == "cpo"
        assert store.gets == []
        # another connection's commit, whatever it changed, costs one read of the generation
        await other.put(ObjectKey("location", "NL", "CPO", "elsewhere"), b"{}", clock.now())
        assert await accepted(svc, OLD) == "cpo"
        assert await accepted(svc, OLD) == "cpo"
        assert store.gets == ["registration_generation"]
    finally:
        await inner.close()
        await other.close()


async def test_a_commit_by_another_repository_of_this_process_is_seen() -> None:
    clock = FixedClock()
    store = MemoryStore()
    svc, repo = service(store, clock)
    _, other_repo = service(store, clock)
    await repo.commit(save=[partner(clock, OLD)], issue=[issued(clock, OLD)])
    assert await accepted(svc, OLD) == "cpo"
    await other_repo.commit(revoke=[token_digest(OLD)])
    assert await refused(svc, OLD)


async def test_a_commit_in_this_process_takes_effect_at_once() -> None:
    clock = FixedClock()
    svc, repo = service(MemoryStore(), clock)
    await repo.commit(save=[partner(clock, OLD)], issue=[issued(clock, OLD)])
    assert await accepted(svc, OLD) == "cpo"
    await repo.commit(save=[partner(clock, NEW)], issue=[issued(clock, NEW)], revoke=[token_digest(OLD)])
    assert await refused(svc, OLD)
    assert await accepted(svc, NEW) == "cpo"


async def _across_processes(make_store: Callable[[], Store]) -> None:
    clock = FixedClock()
    serve_store, cli_store = make_store(), make_store()
    try:
        await serve_store.migrate()
        serve, _ = service(serve_store, clock)
        cli_service, cli = service(cli_store, clock)
        await cli.commit(save=[partner(clock, OLD)], issue=[issued(clock, OLD)])
        assert await accepted(serve, OLD) == "cpo"
        assert await accepted(serve, OLD) == "cpo"  # now from memory

        # rotation by the other process: the old token is refused at once, the new one works
        await cli.commit(save=[partner(clock, NEW)], issue=[issued(clock, NEW)], revoke=[token_digest(OLD)])
        assert await refused(serve, OLD)
        assert await accepted(serve, NEW) == "cpo"

        # a change of the partner alone (its record, not its tokens) is seen too
        suspended = msgspec.structs.replace(partner(clock, NEW), status=PartnerStatus.UNREGISTERED)
        await cli.commit(save=[suspended])
        assert await refused(serve, NEW)

        # registered again, then unregistered the way `evroam partners unregister` does it
        await cli.commit(save=[partner(clock, NEW)])
        assert await accepted(serve, NEW) == "cpo"
        assert (await cli_service.unregister("cpo", force=True)).status is PartnerStatus.UNREGISTERED
        assert await refused(serve, NEW)
    finally:
        await serve_store.close()
        await cli_store.close()


@pytest.mark.parametrize("url", ["sqlite", "sqlite+aiosqlite"])
async def test_a_change_made_by_another_process_is_seen_by_the_next_request(tmp_path: Path, url: str) -> None:
    await _across_processes(lambda: create_store(f"{url}:///{tmp_path / 'evroam.db'}"))


@pytest.fixture
async def pg_schema(postgres_url: str) -> AsyncIterator[str]:
    name = "evroam_auth_" + secrets.token_hex(6)
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
async def test_a_change_made_by_another_process_is_seen_on_postgresql(
    postgres_url: str, pg_schema: str
) -> None:
    await _across_processes(lambda: create_store(postgres_url, schema=pg_schema))


async def test_every_commit_bumps_the_generation() -> None:
    clock = FixedClock()
    store = MemoryStore()
    repo = StorePartnerRepository(store, clock)
    assert await repo.generation() == 0
    await repo.commit(save=[partner(clock, OLD)], issue=[issued(clock, OLD)])
    await repo.commit(revoke=[token_digest(OLD)])
    assert await repo.generation() == 2


class UntoldStore(CountingStore):
    """A store that cannot tell whether others committed (``foreign_commits`` is ``None``, as on
    PostgreSQL): the generation is read for every lookup. While ``held`` is set, a read of the
    generation is made, then its answer held back until ``released`` (a reply still on its way)."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.held = False
        self.reading = asyncio.Event()  # a held read was made
        self.released = asyncio.Event()

    def foreign_commits(self) -> int | None:
        return None

    async def get(self, key: ObjectKey, *, for_update: bool = False) -> StoredObject | None:
        found = await super().get(key, for_update=for_update)
        if self.held and key.kind == "registration_generation":
            self.reading.set()
            await self.released.wait()
        return found


async def test_concurrent_lookups_share_one_read_of_the_generation() -> None:
    clock = FixedClock()
    store = UntoldStore(MemoryStore())
    svc, repo = service(store, clock)
    await repo.commit(save=[partner(clock, OLD)], issue=[issued(clock, OLD)])
    assert await accepted(svc, OLD) == "cpo"
    store.gets.clear()
    names = await asyncio.gather(*(accepted(svc, OLD) for _ in range(20)))
    assert names == ["cpo"] * 20
    assert store.gets == ["registration_generation"]


async def test_a_lookup_begun_after_a_commit_never_shares_a_read_sent_before_it() -> None:
    clock = FixedClock()
    shared = MemoryStore()
    store = UntoldStore(shared)
    svc, _ = service(store, clock)
    _, other = service(shared, clock)  # "another process"
    await other.commit(save=[partner(clock, OLD, NEW)], issue=[issued(clock, OLD), issued(clock, NEW)])
    assert await accepted(svc, OLD) == "cpo"

    store.held = True
    early = asyncio.create_task(accepted(svc, OLD))  # its read is made, the answer on its way
    await store.reading.wait()
    await other.commit(revoke=[token_digest(OLD)])
    late = asyncio.create_task(refused(svc, OLD))  # begun after the revocation
    for _ in range(5):
        await asyncio.sleep(0)
    store.held = False
    store.released.set()
    assert await early == "cpo"  # it began before the revocation
    assert await late is True
