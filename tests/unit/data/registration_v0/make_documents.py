"""Writes the partner and issued-token documents that the compatibility test reads.

Run once with the code of the release whose stored shape the test pins (``python
tests/unit/data/registration_v0/make_documents.py``); the output is committed next to this script and
must not be regenerated with later code: it is what a database written by that release holds.

Four nodes on an in-process network (httpx over the nodes' ASGI apps, as in
``tests/unit/test_registration_service.py``). The node ``cpo`` (whose store is dumped):

* invites ``drive``; the node ``drive`` (OCPI 2.2.1, two eMSP parties) registers with it;
* registers with the node ``old`` (OCPI 2.1.1 only, so its role is unnamed) without a name;
* invites ``pending`` (nobody registers);
* invites ``gone``; the node ``gone`` registers, then unregisters.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx

from evroam.core.clock import FixedClock, SequentialIds
from evroam.http.server import AppConfig, create_app
from evroam.node.bindings import credentials_binding
from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.settings import Settings
from evroam.node.wiring import Node, build_node
from evroam.registration.repository import CREDENTIALS_TOKEN_KIND, PARTNER_KIND
from evroam.store.memory import MemoryStore

HERE = Path(__file__).parent


class Network(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.hosts: dict[str, httpx.AsyncBaseTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.hosts[request.url.host].handle_async_request(request)


def node(
    network: Network, tmp: Path, name: str, parties: list[PartyConfig], versions: list[str], clock: FixedClock
) -> tuple[Node, MemoryStore]:
    store = MemoryStore()
    config = NodeConfig(url=f"http://{name}.test", parties=parties, versions=versions)
    built = build_node(
        Settings(data_dir=tmp / name),
        config=config,
        store=store,
        transport=network,
        clock=clock,
        ids=SequentialIds(name),
    )
    app = create_app(
        AppConfig(
            base_url=config.url,
            versions=config.versions,
            registration=built.registration,
            clock=built.clock,
            ids=built.ids,
            bindings=(credentials_binding(built.registration),),
        )
    )
    network.hosts[f"{name}.test"] = httpx.ASGITransport(app=app)
    return built, store


async def main(tmp: Path) -> None:
    network = Network()
    clock = FixedClock("2026-03-01T12:00:00Z")
    cpo, store = node(
        network,
        tmp,
        "cpo",
        [
            PartyConfig(
                country_code="NL",
                party_id="CPO",
                role="CPO",
                name="Charge B.V.",
                website="https://charge.example",
            )
        ],
        ["2.1.1", "2.2.1"],
        clock,
    )
    drive, _ = node(
        network,
        tmp,
        "drive",
        [
            PartyConfig(
                country_code="DE",
                party_id="DRV",
                role="EMSP",
                name="Drive GmbH",
                website="https://drive.example",
            ),
            PartyConfig(country_code="AT", party_id="DRA", role="EMSP", name="Drive Austria GmbH"),
        ],
        ["2.2.1"],
        clock,
    )
    old, _ = node(
        network,
        tmp,
        "old",
        [PartyConfig(country_code="BE", party_id="OLD", role="EMSP", name="Old Mobility NV")],
        ["2.1.1"],
        clock,
    )
    gone, _ = node(
        network,
        tmp,
        "gone",
        [PartyConfig(country_code="FR", party_id="GON", role="EMSP", name="Parti SAS")],
        ["2.2.1"],
        clock,
    )
    for n in (cpo, drive, old, gone):
        await n.start()
    try:
        invitation = await cpo.registration.invite("drive")
        clock.advance(60)
        await drive.registration.register(invitation.versions_url, invitation.token, "cpo")
        clock.advance(60)
        invitation = await old.registration.invite("cpo")
        await cpo.registration.register(invitation.versions_url, invitation.token)
        clock.advance(60)
        await cpo.registration.invite("pending")
        clock.advance(60)
        invitation = await cpo.registration.invite("gone")
        await gone.registration.register(invitation.versions_url, invitation.token, "cpo")
        clock.advance(60)
        await gone.registration.unregister("cpo")
        dumps = ((PARTNER_KIND, "partners.jsonl"), (CREDENTIALS_TOKEN_KIND, "credentials_tokens.jsonl"))
        for kind, file in dumps:
            items = (await store.find(kind)).items
            (HERE / file).write_bytes(b"".join(item.payload + b"\n" for item in items))
            print(f"{file}: {len(items)} documents", file=sys.stderr)
    finally:
        for n in (cpo, drive, old, gone):
            await n.close()


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp)))
