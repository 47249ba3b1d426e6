"""The hub's own cost per forwarded EVSE status PATCH, in one process: the forwarding routes served in
front of the framework (``_Server.direct``) against the same routes through Litestar.

    .venv/bin/python bench/hub_inbound.py [--requests 4000] [--rounds 3] [--json]

No uvicorn and no load generator: the hub node's ASGI app (metrics and access log on, as ``serve`` runs
it) is called directly, one request at a time, and forwards each PATCH over its lean keep-alive client
to a minimal HTTP/1.1 server in the same process (a fixed OCPI answer, the eMSP's cost left out). Both
variants are built from the same node and take turns, ``--rounds`` times, so other load on the machine
weighs on both alike: the figure is the CPU time per request (``time.process_time``) and the ratio of
the two, which ``bench/hub.py`` (three processes over real sockets) cannot isolate on a shared machine.
Results go to ``bench/results/hub_inbound.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "hub_inbound.json"
ANSWER = b'{"status_code":1000,"timestamp":"2026-03-01T12:00:00Z"}'


class _Emsp(asyncio.Protocol):
    """Answers every HTTP/1.1 request with ``ANSWER`` (keep-alive, Content-Length bodies only)."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buffer[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                + str(len(ANSWER)).encode()
                + b"\r\n\r\n"
                + ANSWER
            )


async def _hub(emsp_port: int, data_dir: Path) -> Any:
    from evroam.core.clock import SystemClock, UuidIds
    from evroam.node.config import NodeConfig, PartyConfig
    from evroam.node.settings import Settings
    from evroam.node.wiring import build_node
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
    from evroam.testing import MemoryStore

    clock = SystemClock()
    store = MemoryStore()
    await store.migrate()
    now = clock.now()
    base = f"http://127.0.0.1:{emsp_port}"

    def platform(name: str, role: str, party: str, endpoints: tuple[tuple[str, str], ...]) -> Partner:
        return Partner(
            id=f"p-{name}",
            name=name,
            status=PartnerStatus.REGISTERED,
            initiated_by="them",
            created=now,
            updated=now,
            version="2.2.1",
            versions_url=f"{base}/versions",
            token=f"hub-token-at-{name}",
            roles=(
                PartyRole(role=role, country_code="NL" if role == "CPO" else "DE", party_id=party, name=name),
            ),
            endpoints=tuple(
                PartnerEndpoint(module=m, role=r, url=f"{base}/{r.lower()}/{m}") for m, r in endpoints
            ),
            issued=(token_digest(f"{name}-token-at-hub"),),
        )

    partners = [
        platform("cpo", "CPO", "CPB", (("locations", "SENDER"),)),
        platform("emsp", "EMSP", "MSP", (("locations", "RECEIVER"),)),
    ]
    await StorePartnerRepository(store, clock).commit(
        save=partners,
        issue=[
            IssuedToken(digest=p.issued[0], partner_id=p.id, use=TokenUse.PEER, issued_at=now)
            for p in partners
        ],
    )
    config = NodeConfig(
        url="http://127.0.0.1:1",
        parties=[PartyConfig(country_code="NL", party_id="HUB", role="HUB", name="The hub")],
        versions=["2.2.1"],
    )
    return build_node(Settings(data_dir=data_dir), config=config, store=store, clock=clock, ids=UuidIds())


def _scope(n: int) -> tuple[dict[str, Any], bytes]:
    body = json.dumps({"status": ("CHARGING", "AVAILABLE")[n % 2], "last_updated": "2026-03-01T12:00:00Z"})
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", b"Token " + base64.b64encode(b"cpo-token-at-hub")),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", f"r{n}".encode()),
        (b"x-correlation-id", f"c{n}".encode()),
        (b"ocpi-from-country-code", b"NL"),
        (b"ocpi-from-party-id", b"CPB"),
        (b"ocpi-to-country-code", b"DE"),
        (b"ocpi-to-party-id", b"MSP"),
    ]
    path = f"/ocpi/2.2.1/receiver/locations/NL/CPB/LOC{n % 50}/EVSE1"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }
    return scope, body.encode()


async def _run(app: Any, count: int) -> dict[str, float]:
    statuses: list[int] = []

    async def one(n: int) -> None:
        scope, body = _scope(n)
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)

    for n in range(50):  # warm up: connections, caches
        await one(n)
    statuses.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(count):
        await one(n)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    bad = sum(1 for s in statuses if s != 200)
    if bad:
        raise SystemExit(f"{bad} of {count} requests were not answered 200")
    return {"cpu_us": cpu / count * 1e6, "wall_us": wall / count * 1e6}


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    from evroam.http import server

    loop = asyncio.get_running_loop()
    emsp = await loop.create_server(_Emsp, "127.0.0.1", 0)
    port = emsp.sockets[0].getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        node = await _hub(port, Path(tmp))
        direct_app = node.app(worker=False)
        real = server._Server.direct
        server._Server.direct = lambda self, inner: inner  # type: ignore[method-assign]
        try:
            framework_app = node.app(worker=False)
        finally:
            server._Server.direct = real  # type: ignore[method-assign]
        runs: dict[str, list[dict[str, float]]] = {"framework": [], "direct": []}
        for _ in range(args.rounds):
            runs["framework"].append(await _run(framework_app, args.requests))
            runs["direct"].append(await _run(direct_app, args.requests))
        await node.http.aclose()
    emsp.close()
    median = {k: statistics.median(r["cpu_us"] for r in v) for k, v in runs.items()}
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_avg": os.getloadavg()},
        "requests_per_round": args.requests,
        "rounds": runs,
        "median_cpu_us": median,
        "direct_to_framework_cpu": round(median["direct"] / median["framework"], 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.WARNING)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(_main(args))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        median = result["median_cpu_us"]
        for name in ("framework", "direct"):
            cpu = ", ".join(f"{r['cpu_us']:.0f}" for r in result["rounds"][name])
            print(f"{name:>9}: CPU us per forwarded PATCH, each round {cpu}; median {median[name]:.0f}")
        ratio = result["direct_to_framework_cpu"]
        print(f"direct / framework: {ratio:.2f}; load average {result['machine']['load_avg']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
