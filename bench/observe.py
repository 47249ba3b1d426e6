"""What the per-request metrics and log line cost: requests/s of hot endpoints with and without them.

    .venv/bin/python bench/observe.py [--requests 4000] [--rounds 7]

One node in-process (in-memory store), its ASGI app driven directly (no sockets, so that the difference
is not lost in the noise of the network stack and a client sharing the two cores). Three apps of the
same node, asked in turn, round after round:

* ``bare``: no metrics, no request log (``Node.app(observe=False)``);
* ``metrics``: the request counted in the metrics (the log line is filtered out: level WARNING);
* ``metrics+log``: the metrics and the JSON log line of each request, written to ``/dev/null``.

Endpoints: ``GET /healthz`` (nothing else to do: the worst case for the ratio) and ``GET /ocpi/versions``
with a token A (authentication, the version list encoded in an envelope). Prints and writes
``bench/results/observe.json``: the median requests/s per app and endpoint, the ratios to ``bare``, and
the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evroam.node.config import NodeConfig, PartyConfig
from evroam.node.logs import JsonFormatter
from evroam.node.settings import Settings
from evroam.node.wiring import build_node
from evroam.store.memory import MemoryStore

RESULTS = Path(__file__).resolve().parent / "results" / "observe.json"


async def drive(app: Any, path: str, headers: list[tuple[bytes, bytes]], count: int) -> float:
    """Requests per second of ``count`` sequential GETs of ``path`` through the ASGI app."""
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"node.test"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8100),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.perf_counter()
    for _ in range(count):
        await app(dict(scope_base), receive, send)
    elapsed = time.perf_counter() - started
    assert set(statuses) == {200}, set(statuses)
    return count / elapsed


async def main(requests: int, rounds: int) -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        config = NodeConfig(
            url="http://node.test",
            parties=[PartyConfig(country_code="NL", party_id="CPO", role="CPO", name="NL CPO")],
            versions=["2.2.1"],
        )
        node = build_node(Settings(data_dir=Path(folder)), config=config, store=MemoryStore())
        await node.start()
        token = (await node.registration.invite("bench")).token
        import base64

        auth = [(b"authorization", b"Token " + base64.b64encode(token.encode()))]
        apps = {
            "bare": node.app(worker=False, observe=False),
            "metrics": node.app(worker=False),
            "metrics+log": node.app(worker=False),
        }
        access = logging.getLogger("evroam.access")
        sink = logging.StreamHandler(Path(os.devnull).open("w"))  # noqa: SIM115, ASYNC230 (set-up, kept open)
        sink.setFormatter(JsonFormatter())
        access.addHandler(sink)
        access.propagate = False
        endpoints = {"/healthz": [], "/ocpi/versions": auth}
        runs: dict[str, dict[str, list[float]]] = {e: {a: [] for a in apps} for e in endpoints}
        for path, headers in endpoints.items():
            for app in apps.values():  # warm-up
                await drive(app, path, headers, 200)
            for _ in range(rounds):
                for name, app in apps.items():
                    access.setLevel(logging.INFO if name == "metrics+log" else logging.WARNING)
                    runs[path][name].append(await drive(app, path, headers, requests))
        await node.close()
    out: dict[str, Any] = {"requests_per_run": requests, "rounds": rounds, "python": sys.version.split()[0]}
    for path, by_app in runs.items():
        medians = {name: statistics.median(values) for name, values in by_app.items()}
        out[path] = {
            "requests_per_s": {name: round(value) for name, value in medians.items()},
            "ratio_to_bare": {name: round(value / medians["bare"], 3) for name, value in medians.items()},
        }
    out["load_average_before"] = [round(v, 2) for v in load_before]
    out["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    result = asyncio.run(main(args.requests, args.rounds))
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
