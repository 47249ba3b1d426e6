"""The outbox relay of an OICP CPO connection: the same changes, queued for the hub under one key."""

from __future__ import annotations

from pathlib import Path

import pytest

from evroam.modules._shared import PartyPartners
from evroam.modules.oicp.records import HUB_PARTNER_ID, Connection, delete_connection, save_connection
from evroam.registration.directory import RegisteredPartners
from evroam.store.factory import create_store
from evroam.store.outbox import ObjectChange, enqueue_change
from evroam.store.port import Store
from evroam.testing import FixedClock, MemoryStore

CONNECTION = Connection(role="CPO", hub_url="https://hub", id="DE*ABC", name="ABC", cert="c", key="k", ca="a")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_relay_rows_share_one_key_and_the_oicp_kit(kind: str, tmp_path: Path) -> None:
    store: Store = MemoryStore() if kind == "memory" else create_store(None, tmp_path)
    clock = FixedClock()
    await store.migrate()
    directory = RegisteredPartners()
    assert await directory.receivers(store, "locations") == []
    await save_connection(store, CONNECTION, clock.now())
    (target,) = await directory.receivers(store, "locations")
    assert (target.partner_id, target.via) == (HUB_PARTNER_ID, "oicp")
    assert await directory.receivers(store, "commands") == []  # commands are not relayed
    assert await directory.target(store, HUB_PARTNER_ID, "cdrs") == target
    # a session / CDR is narrowed to the eMSP holding its token: the relay decides for itself
    assert await PartyPartners(directory, "DE", "XYZ").receivers(store, "cdrs") != []
    async with store.transaction() as tx:
        for object_id in ("LOC1", "LOC2"):
            change = ObjectChange(
                module="locations", country_code="DE", party_id="ABC", object_id=object_id, method="PUT"
            )
            assert await enqueue_change(tx, directory, change, clock.now()) == 1
    rows = await store.outbox_list()
    assert {(r.partner_id, r.kind) for r in rows} == {(HUB_PARTNER_ID, "oicp")}
    assert len({r.object_key for r in rows}) == 1  # one group: delivered one after the other, in order
    assert await delete_connection(store, "CPO")
    assert await directory.receivers(store, "locations") == []
    await store.close()
