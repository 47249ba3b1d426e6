"""A small HTTP/1.1 load generator for the benchmarks: asyncio, raw sockets, keep-alive, N connections.

    python bench/_load.py get --port P --path /x [--header 'Name: value']... [--expect TEXT]
    python bench/_load.py patch-status --port P --targets FILE [--header ...]...

The connections are opened 10 ms apart (a burst would all be accepted by one worker of a node serving
with several processes on one socket). Each connection sends one request, reads the whole response
(``Content-Length``), checks it (HTTP 200 and, with ``--expect``, that the body holds TEXT) and sends the
next, for ``--seconds`` after a ``--warmup``. Only 127.0.0.1. Prints one JSON object: requests, errors,
requests/s, latency percentiles (ms), bytes read and the CPU seconds this process used (to show it was
not the bottleneck).

With ``--rate R`` the load is open-loop instead: a request is due every 1/R seconds, sent on the next
free connection, and its latency counts from when it was due (a server that falls behind is not
hidden by the generator waiting for it); the result then also holds ``per_second``: for each second of
the run (by when the requests were due), ``[second, requests, p50 ms, p99 ms, max ms]``, which shows
when a tail happened and whether it was a stall (a few seconds) or a backlog (many).

``patch-status`` sends ``PATCH {"status": S, "last_updated": NOW}`` to the paths listed in FILE (a JSON
array), taking them in turn across all connections; S alternates between two statuses on each pass
over the list, and NOW is the current UTC time, so that every PATCH is a newer change. With
``--acked FILE`` it writes, per path, the status and ``last_updated`` of the last PATCH answered with
success, for the caller to check that they were persisted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
CONNECT_GAP = 0.01
"""Seconds between opening two connections (see :func:`run`)."""


class Connection(asyncio.Protocol):
    """One keep-alive connection: ``await request(bytes)`` gives ``(status, body)``."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.head_end = -1
        self.total = -1
        self.status = 0
        self.bytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self.bytes += len(data)
        if self.total < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            self.status = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                self._fail(RuntimeError("response without Content-Length"))
                return
            stop = head.find(b"\r\n", at + 2)
            length = int(head[at + 17 : stop if stop >= 0 else len(head)])
            self.head_end = end + 4
            self.total = self.head_end + length
        if len(self.buffer) >= self.total and self.waiter is not None:
            with memoryview(self.buffer) as view:  # one copy of a large body, not two
                body = bytes(view[self.head_end : self.total])
            del self.buffer[: self.total]
            self.total = -1
            waiter, self.waiter = self.waiter, None
            if not waiter.done():
                waiter.set_result((self.status, body))

    def _fail(self, exc: BaseException) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        self.waiter = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("connection closed"))

    async def request(self, data: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


def build_request(method: str, port: int, path: str, headers: list[str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", *headers]
    if body or method in ("PATCH", "PUT", "POST"):
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Tally:
    def __init__(self) -> None:
        self.measuring = False
        self.requests = 0
        self.errors = 0
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.first_error: str | None = None
        self.started = 0.0  # perf_counter() when measuring began
        self.by_second: dict[int, list[float]] = {}

    def add(self, status: int, ok: bool, seconds: float, body: bytes, due: float | None = None) -> None:
        if not self.measuring:
            return
        self.requests += 1
        self.latencies.append(seconds)
        if due is not None:
            self.by_second.setdefault(int(max(0.0, due - self.started)), []).append(seconds)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if not ok:
            self.errors += 1
            if self.first_error is None:
                self.first_error = f"HTTP {status}: {body[:300]!r}"


async def run(
    port: int,
    connections: int,
    seconds: float,
    warmup: float,
    next_request: Callable[[], tuple[bytes, Callable[[int, bytes], bool]]],
    rate: float = 0.0,
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    conns: list[Connection] = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(Connection, HOST, port)
        conns.append(protocol)
        # connections opened a few ms apart, as partners' connections arrive: a burst of them would all be
        # accepted by whichever worker process of a multi-worker node wakes first (one shared socket)
        await asyncio.sleep(CONNECT_GAP)
    tally = Tally()
    stop = False

    async def drive(conn: Connection) -> None:
        while not stop:
            data, check = next_request()
            started = time.perf_counter()
            status, body = await conn.request(data)
            tally.add(status, check(status, body), time.perf_counter() - started, body)

    async def paced() -> None:
        idle: asyncio.Queue[Connection] = asyncio.Queue()
        for conn in conns:
            idle.put_nowait(conn)
        interval = 1.0 / rate
        due = time.perf_counter()
        pending: set[asyncio.Task[None]] = set()

        async def one(conn: Connection, data: bytes, check: Callable[[int, bytes], bool], at: float) -> None:
            status, body = await conn.request(data)
            tally.add(status, check(status, body), time.perf_counter() - at, body, at)
            idle.put_nowait(conn)

        while not stop:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            conn = await idle.get()
            data, check = next_request()
            task = asyncio.create_task(one(conn, data, check, due))
            pending.add(task)
            task.add_done_callback(pending.discard)
            due += interval
        await asyncio.gather(*pending, return_exceptions=True)

    tasks = [asyncio.create_task(paced())] if rate else [asyncio.create_task(drive(c)) for c in conns]
    await asyncio.sleep(warmup)
    cpu0, bytes0 = time.process_time(), sum(c.bytes for c in conns)
    tally.measuring = True
    started = tally.started = time.perf_counter()
    await asyncio.sleep(seconds)
    tally.measuring = False
    elapsed = time.perf_counter() - started
    cpu, read = time.process_time() - cpu0, sum(c.bytes for c in conns) - bytes0
    stop = True
    await asyncio.gather(*tasks, return_exceptions=True)
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    lat = sorted(tally.latencies)

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000, 3) if lat else 0.0

    per_second = []
    for second, values in sorted(tally.by_second.items()):
        values.sort()
        n = len(values)
        per_second.append(
            [
                second,
                n,
                *(round(values[min(n - 1, int(q * n))] * 1000, 2) for q in (0.5, 0.99)),
                round(values[-1] * 1000, 2),
            ]
        )
    result: dict[str, Any] = {
        "connections": connections,
        "seconds": round(elapsed, 3),
        "requests": tally.requests,
        "errors": tally.errors,
        "first_error": tally.first_error,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "requests_per_s": round(tally.requests / elapsed, 1),
        "latency_ms": {"p50": pct(50), "p90": pct(90), "p99": pct(99), "max": pct(100)},
        "bytes_read": read,
        "loader_cpu_s": round(cpu, 3),
    }
    if rate:
        result["per_second"] = per_second
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/_load.py")
    parser.add_argument("mode", choices=("get", "patch-status"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/")
    parser.add_argument("--targets", type=Path, help="patch-status: JSON array of paths")
    parser.add_argument(
        "--acked", type=Path, help="patch-status: write the last acknowledged change per path"
    )
    parser.add_argument("--header", action="append", default=[], help="'Name: value' (repeatable)")
    parser.add_argument("--expect", default=None, help="text every successful body must contain")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="requests/s, open loop (0: as fast as possible)"
    )
    args = parser.parse_args(argv)
    expect = None if args.expect is None else args.expect.encode()

    def check(status: int, body: bytes) -> bool:
        return status == 200 and (expect is None or expect in body)

    acked: dict[str, tuple[str, str]] = {}
    if args.mode == "get":
        request = build_request("GET", args.port, args.path, args.header)

        def next_request() -> tuple[bytes, Callable[[int, bytes], bool]]:
            return request, check

    else:
        paths: list[str] = json.loads(args.targets.read_text())
        counter = 0

        def next_request() -> tuple[bytes, Callable[[int, bytes], bool]]:
            nonlocal counter
            path = paths[counter % len(paths)]
            status = ("CHARGING", "AVAILABLE")[(counter // len(paths)) % 2]
            counter += 1
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            body = b'{"status":"%s","last_updated":"%s"}' % (status.encode(), stamp.encode())
            headers = [*args.header, f"X-Request-ID: bench-{counter}", f"X-Correlation-ID: bench-{counter}"]

            def acknowledged(code: int, answer: bytes) -> bool:
                ok = check(code, answer)
                if ok:
                    acked[path] = (status, stamp)
                return ok

            return build_request("PATCH", args.port, path, headers, body), acknowledged

    result = asyncio.run(run(args.port, args.connections, args.seconds, args.warmup, next_request, args.rate))
    result["rate"] = args.rate or None
    if args.acked is not None:
        args.acked.write_text(json.dumps(acked))
    json.dump(result, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
