"""How a real node copes with hostile bodies: deep nesting and many invalid items.

    python bench/bad_bodies.py [--evses 16000] [--roles 16000] [--depth 1000]

Starts one node (``evroam init`` + ``evroam serve`` on a free 127.0.0.1 port, SQLite in a temporary
directory) with a connected partner seeded into its database, then sends, one at a time:

* a PUT of one Location with ``--evses`` invalid EVSEs (the connected partner's token);
* a POST credentials with ``--roles`` invalid roles (token A only);
* a POST credentials nested ``--depth`` levels deep (token A only).

While each request runs, a second thread polls ``GET /healthz`` every 20 ms and records the slowest
answer: how long the node's event loop was blocked by that request. Prints one JSON object: per
request, its HTTP status and OCPI status, the time it took, the size of the answer and the slowest
``/healthz`` seen meanwhile (all in ms). Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
PEER_TOKEN = "bench-peer-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _evroam(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "evroam", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


async def _seed_partner(data_dir: Path) -> None:
    """A registered partner (a CPO NL*CPO) whose token to us is PEER_TOKEN."""
    from evroam.core.clock import SystemClock
    from evroam.node.settings import Settings
    from evroam.node.wiring import build_node
    from evroam.registration.model import (
        IssuedToken,
        Partner,
        PartnerStatus,
        PartyRole,
        TokenUse,
        token_digest,
    )
    from evroam.registration.repository import StorePartnerRepository

    node = build_node(Settings(data_dir=data_dir))
    try:
        await node.start()
        now = SystemClock().now()
        digest = token_digest(PEER_TOKEN)
        await StorePartnerRepository(node.store, node.clock).commit(
            save=[
                Partner(
                    id="bench-cpo",
                    name="bench-cpo",
                    status=PartnerStatus.REGISTERED,
                    initiated_by="them",
                    created=now,
                    updated=now,
                    version="2.2.1",
                    roles=(PartyRole(role="CPO", country_code="NL", party_id="CPO", name="NL CPO"),),
                    issued=(digest,),
                )
            ],
            issue=[IssuedToken(digest=digest, partner_id="bench-cpo", use=TokenUse.PEER, issued_at=now)],
        )
    finally:
        await node.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}


def _location(evses: int) -> bytes:
    evse = {"uid": 12, "status": "NOPE", "connectors": "x", "last_updated": "yesterday"}
    body = {
        "country_code": "NL",
        "party_id": "CPO",
        "id": "LOC1",
        "publish": True,
        "address": "Main 1",
        "city": "Town",
        "country": "NLD",
        "coordinates": {"latitude": "52.0", "longitude": "4.0"},
        "time_zone": "Europe/Amsterdam",
        "evses": [evse] * evses,
        "last_updated": "2026-05-05T10:00:00Z",
    }
    return json.dumps(body).encode()


def _credentials(roles: int) -> bytes:
    role = {"role": 5, "business_details": [], "party_id": True, "country_code": None}
    return json.dumps({"token": "t", "url": "http://x/ocpi/versions", "roles": [role] * roles}).encode()


def _nested(depth: int) -> bytes:
    return b'{"token": ' + b"[" * depth + b"]" * depth + b"}"


def _measure(base: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    slowest = 0.0
    stop = threading.Event()

    def poll() -> None:
        nonlocal slowest
        with httpx.Client(base_url=base, timeout=120) as client:
            while not stop.is_set():
                t0 = time.perf_counter()
                client.get("/healthz")
                slowest = max(slowest, time.perf_counter() - t0)
                time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.2)
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            t0 = time.perf_counter()
            answer = client.request(
                method, path, content=body, headers={**headers, "Content-Type": "application/json"}
            )
            took = time.perf_counter() - t0
    finally:
        time.sleep(0.1)
        stop.set()
        poller.join()
    try:
        ocpi = answer.json().get("status_code")
    except ValueError:
        ocpi = None
    return {
        "body_bytes": len(body),
        "http": answer.status_code,
        "ocpi": ocpi,
        "ms": round(took * 1000, 1),
        "answer_bytes": len(answer.content),
        "slowest_healthz_ms": round(slowest * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--evses", type=int, default=16000)
    parser.add_argument("--roles", type=int, default=16000)
    parser.add_argument("--depth", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "node"
        port = _free_port()
        base = f"http://{HOST}:{port}"
        _evroam(
            data_dir, "init", "--country-code", "DE", "--party-id", "MSP", "--role", "EMSP", "--url", base
        )
        asyncio.run(_seed_partner(data_dir))
        token_a = _evroam(data_dir, "partners", "invite", "bench-peer", "--token-only")
        server = subprocess.Popen(
            [sys.executable, "-m", "evroam", "--data-dir", str(data_dir), "serve"],
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            results = {
                "load_average": os.getloadavg(),
                "put_location_invalid_evses": _measure(
                    base,
                    "PUT",
                    "/ocpi/2.2.1/receiver/locations/NL/CPO/LOC1",
                    _location(args.evses),
                    _auth(PEER_TOKEN),
                ),
                "post_credentials_invalid_roles": _measure(
                    base, "POST", "/ocpi/2.2.1/credentials", _credentials(args.roles), _auth(token_a)
                ),
                "post_credentials_nested": _measure(
                    base, "POST", "/ocpi/2.2.1/credentials", _nested(args.depth), _auth(token_a)
                ),
            }
        finally:
            server.terminate()
            server.wait(10)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
