"""Benchmark of real-time authorization on an eMSP node: latency at a fixed offered load.

    .venv/bin/python bench/authorize.py [--seconds 30] [--rate 200] [--tokens 1000] [--warmup 3]
                                        [--keep] [--json]

Sets up, in a temporary directory, an eMSP node (``evroam init``, SQLite) holding ``--tokens`` OCPI
2.2.1 tokens (``evroam tokens import``: most with whitelist NEVER, some blocked, some without credit,
some allowed at one EVSE of one location only) and a CPO node, both served by ``evroam serve``
(uvicorn) on 127.0.0.1 and registered with each other (``evroam partners invite|register``). The CPO
node is then stopped: the load comes from this process, with the token the eMSP issued to the CPO.

The load is **open-loop**: ``POST /ocpi/2.2.1/sender/tokens/{uid}/authorize?type=RFID`` with a
LocationReferences body is *scheduled* at exactly ``--rate`` requests per second (a random token each
time) and sent on schedule whatever the answers do, over as many keep-alive connections as needed
(raw asyncio sockets). Each request's latency is measured from its scheduled time to the end of its
answer, so a slow answer delays no later measurement (no coordinated omission). The first
``--warmup`` seconds are not counted. An answer that is not HTTP 200 with OCPI 1000 and an
AuthorizationInfo is an error.

Prints p50 / p90 / p99 / max (ms), errors, the outcomes (ALLOWED / BLOCKED / NO_CREDIT /
NOT_ALLOWED) and the server's CPU use, and writes them to ``bench/results/authorize.json``.
Target: p99 < 20 ms at 200 requests/s on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import platform
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "authorize.json"
TARGET_P99_MS = 20.0
HOST = "127.0.0.1"
BODY = b'{"location_id":"LOC1","evse_uids":["E1","E2"]}'
IDLE_LIMIT_S = 4.0
"""A pooled connection idle for longer is not reused (uvicorn closes idle ones after 5 s)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Node:
    """An evroam node run through its command line."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.data_dir = root / name
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / f"{name}-serve.log"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cli(self, *args: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "evroam", "--data-dir", str(self.data_dir), *args, "--json"],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
        )
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: evroam {' '.join(args)} failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout)

    def serve(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "evroam",
                    "--data-dir",
                    str(self.data_dir),
                    "--log-level",
                    "WARNING",
                    "serve",
                    "--port",
                    str(self.port),
                    "--no-worker",
                ],
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=REPO,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"{self.name} did not start within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def authorization(self, partner: str) -> str:
        """The Authorization header value this node sends to ``partner`` (read from its database)."""
        with sqlite3.connect(f"file:{self.data_dir / 'evroam.db'}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT payload FROM evroam_objects WHERE kind = 'partner'").fetchall()
        for (payload,) in rows:
            record: dict[str, Any] = json.loads(payload)
            if record["name"] == partner:
                token: str = record["token"]
                if record.get("token_encoding", "base64") == "base64":
                    return "Token " + base64.b64encode(token.encode()).decode()
                return f"Token {token}"
        raise SystemExit(f"{self.name} has no partner {partner}")


def tokens_file(path: Path, count: int, rng: random.Random) -> list[str]:
    """``count`` tokens of NL*MSP: 80 % plain, 5 % blocked, 5 % no credit, 5 % allowed at one EVSE of
    LOC1 only (answered with that EVSE), 5 % allowed at LOC2 only (NOT_ALLOWED at LOC1)."""
    tokens = []
    for i in range(count):
        uid = f"BENCH{i:05d}"
        token: dict[str, Any] = {
            "country_code": "NL",
            "party_id": "MSP",
            "uid": uid,
            "type": "RFID",
            "contract_id": f"NL-MSP-C{i:08d}",
            "issuer": "Bench eMSP",
            "valid": True,
            "whitelist": "NEVER",
            "last_updated": "2026-01-01T00:00:00Z",
        }
        roll = rng.random()
        if roll < 0.05:
            token["valid"] = False
        elif roll < 0.10:
            token["authorization_rules"] = {"no_credit": True}
        elif roll < 0.15:
            token["authorization_rules"] = {"locations": [{"location_id": "LOC1", "evse_uids": ["E2"]}]}
        elif roll < 0.20:
            token["authorization_rules"] = {"locations": [{"location_id": "LOC2"}]}
        tokens.append(token)
    path.write_text(json.dumps(tokens))
    return [t["uid"] for t in tokens]


# -- the open-loop load generator --------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.used = time.perf_counter()

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


async def drive(
    port: int, auth: str, uids: list[str], *, rate: float, seconds: float, warmup: float, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    idle: list[Connection] = []
    opened = 0
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    errors: list[str] = []

    def request_bytes(uid: str, n: int) -> bytes:
        head = (
            f"POST /ocpi/2.2.1/sender/tokens/{uid}/authorize?type=RFID HTTP/1.1\r\n"
            f"Host: {HOST}:{port}\r\n"
            f"Authorization: {auth}\r\n"
            "Content-Type: application/json\r\n"
            f"X-Request-ID: bench-{n}\r\nX-Correlation-ID: bench-{n}\r\n"
            "OCPI-from-country-code: BE\r\nOCPI-from-party-id: CPO\r\n"
            "OCPI-to-country-code: NL\r\nOCPI-to-party-id: MSP\r\n"
            f"Content-Length: {len(BODY)}\r\n\r\n"
        )
        return head.encode() + BODY

    async def exchange(n: int, uid: str) -> tuple[Connection, int, bytes]:
        nonlocal opened
        while idle:
            conn = idle.pop()
            if time.perf_counter() - conn.used > IDLE_LIMIT_S:
                conn.close()  # the server may have closed it (uvicorn: 5 s keep-alive)
                continue
            try:
                status, body = await conn.exchange(request_bytes(uid, n))
                return conn, status, body
            except asyncio.IncompleteReadError as exc:
                conn.close()
                if exc.partial:
                    raise
                # closed by the server before it read the request: like any HTTP client, use another
        conn = await Connection.open(port)
        opened += 1
        status, body = await conn.exchange(request_bytes(uid, n))
        return conn, status, body

    async def one(n: int, scheduled: float, uid: str, counted: bool) -> None:
        try:
            conn, status, body = await exchange(n, uid)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            if counted:
                errors.append(f"{type(exc).__name__}: {exc}")
            return
        done = time.perf_counter()
        conn.used = done
        idle.append(conn)
        if not counted:
            return
        latencies.append((done - scheduled) * 1000)
        try:
            answer = json.loads(body)
            allowed = answer["data"]["allowed"] if status == 200 and answer["status_code"] == 1000 else None
        except (ValueError, KeyError, TypeError):
            allowed = None
        if allowed is None:
            errors.append(f"HTTP {status}: {body[:200]!r}")
        else:
            outcomes[allowed] = outcomes.get(allowed, 0) + 1

    total = int((warmup + seconds) * rate)
    first_counted = int(warmup * rate)
    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter() + 0.05
    late = 0.0
    for n in range(total):
        scheduled = start + n / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            late = max(late, -delay)
        tasks.append(asyncio.create_task(one(n, scheduled, rng.choice(uids), n >= first_counted)))
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()
    measured = total - first_counted
    return {
        "requests": measured,
        "answered": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "outcomes": dict(sorted(outcomes.items())),
        "connections_opened": opened,
        "scheduler_max_lag_ms": round(late * 1000, 3),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 3),
            "p90": round(percentile(latencies, 0.90), 3),
            "p99": round(percentile(latencies, 0.99), 3),
            "max": round(max(latencies), 3),
            "mean": round(sum(latencies) / len(latencies), 3),
        }
        if latencies
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds [30]")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second, scheduled [200]")
    parser.add_argument("--tokens", type=int, default=1000, help="tokens on the eMSP [1000]")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds at the same rate, not counted [3]")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the token mix and the load")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="evroam-bench-authorize-"))
    emsp, cpo = Node("emsp", root), Node("cpo", root)
    t0 = time.monotonic()
    try:
        emsp.cli("init", "--country-code", "NL", "--party-id", "MSP", "--role", "EMSP", "--url", emsp.url)
        cpo.cli("init", "--country-code", "BE", "--party-id", "CPO", "--role", "CPO", "--url", cpo.url)
        uids = tokens_file(root / "tokens.json", args.tokens, random.Random(args.seed))
        imported = emsp.cli("tokens", "import", str(root / "tokens.json"))
        assert len(imported["created"]) == args.tokens, imported
        emsp.serve()
        cpo.serve()
        invitation = emsp.cli("partners", "invite", "cpo")
        cpo.cli(
            "partners",
            "register",
            "--versions-url",
            f"{emsp.url}/ocpi/versions",
            "--token",
            invitation["token"],
            "--name",
            "emsp",
        )
        cpo.stop()  # registered; the load comes from here, with the token the eMSP issued to the CPO
        auth = cpo.authorization("emsp")
        setup_s = round(time.monotonic() - t0, 2)
        check = httpx.post(
            f"{emsp.url}/ocpi/2.2.1/sender/tokens/{uids[0]}/authorize",
            headers={"Authorization": auth},
            content=BODY,
            timeout=10,
        )
        assert check.status_code == 200 and check.json()["status_code"] == 1000, check.text[:500]
        assert emsp.process is not None
        pid = emsp.process.pid
        load_before = os.getloadavg()[0]
        cpu0, wall0 = cpu_seconds(pid), time.monotonic()
        result = asyncio.run(
            drive(
                emsp.port,
                auth,
                uids,
                rate=args.rate,
                seconds=args.seconds,
                warmup=args.warmup,
                seed=args.seed,
            )
        )
        cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - wall0
        load_after = os.getloadavg()[0]
    finally:
        emsp.stop()
        cpo.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)

    latency = result["latency_ms"]
    out = {
        "benchmark": "real-time authorization (eMSP, OCPI 2.2.1, SQLite)",
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "warmup_s": args.warmup,
        "tokens": args.tokens,
        **result,
        "server_cpu_percent": round(100 * cpu / wall, 1),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "setup_s": setup_s,
        "target_p99_ms": TARGET_P99_MS,
        "target_met": bool(latency and latency["p99"] < TARGET_P99_MS and result["errors"] == 0),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "kept": str(root) if args.keep else None,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        lines = [
            f"real-time authorization at {args.rate:g}/s for {args.seconds:g} s "
            f"(open loop, {args.tokens} tokens, SQLite)",
            f"  requests {result['requests']}, answered {result['answered']}, errors {result['errors']}"
            + (f" (first: {result['first_error']})" if result["errors"] else ""),
            f"  latency ms: p50 {latency['p50']}  p90 {latency['p90']}  p99 {latency['p99']}  "
            f"max {latency['max']}  mean {latency['mean']}"
            if latency
            else "  no answers",
            f"  outcomes: {result['outcomes']}",
            f"  server CPU {out['server_cpu_percent']} % of one core; "
            f"connections {result['connections_opened']}; "
            f"load average {load_before:.2f} before, {load_after:.2f} after",
            f"  target p99 < {TARGET_P99_MS:g} ms: {'met' if out['target_met'] else 'NOT met'}",
            f"  written to {RESULTS.relative_to(REPO)}",
        ]
        print("\n".join(lines))
    if result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
