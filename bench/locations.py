"""Benchmark of the locations interfaces over real sockets: a Sender page and persisted Receiver PATCHes.

    .venv/bin/python bench/locations.py [--seconds 10] [--rounds 3] [--connections 16] [--locations 10000]
                                        [--keep] [--json]

Sets up, in a temporary directory, a CPO node holding ``--locations`` generated OCPI 2.2.1 locations
(``evroam locations import``) and an eMSP node, both served by ``evroam serve`` (uvicorn, SQLite) on
127.0.0.1 and registered with each other (``evroam partners invite|register``); the eMSP pulls every
location (``evroam sync locations``). Then, driving the load from a separate process
(``bench/_load.py``: asyncio, raw sockets, keep-alive connections), for ``--seconds`` each after a
warm-up:

1. **page**: ``GET /ocpi/2.2.1/sender/locations?offset=5000&limit=100`` (the middle page) on the CPO
   with the eMSP's real token (Authorization, X-Request-ID, X-Correlation-ID as a partner sends them);
2. **ceiling**: a bare Starlette app (same uvicorn settings, own process) answering the same URL from
   memory with the same JSON: the page's 100 locations held as Python objects and encoded with msgspec
   on every request (``ceiling``), and, as a second, stricter reference, the page's data pre-encoded once
   (``ceiling_bytes``: only the envelope is encoded per request);
3. **patch**: ``PATCH /ocpi/2.2.1/receiver/locations/NL/CPO/{location}/{evse}`` ``{"status",
   "last_updated"}`` on the eMSP with the CPO's real token, a different EVSE each time; afterwards the
   eMSP's SQLite file is read to check that every acknowledged PATCH was persisted (status and
   ``last_updated``), and ``evroam locations stats`` that none was ignored as stale.

The three page servers run side by side and take turns (``--rounds`` slices of ``--seconds`` each),
so that other load on the machine weighs on all three alike. Prints the requests/s, the page's ratio
to the ceilings, latencies and each server's CPU use (a server near 100 % of one core is the
bottleneck, not the load generator; well below it, something else was using the machine: the load
average before each run is recorded too, and each rate is also given per second of server CPU, what
one fully used core would serve), and writes everything to
``bench/results/locations.json``. Targets (SQLite): page >= 60 % of the ceiling, >= 2,000 PATCH/s.

``bench/locations.py ceiling --port P --page FILE --auth VALUE [--bytes]`` runs the ceiling app alone.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench import (  # noqa: E402  (bench/_bench.py, beside this file)
    LIST_PATH,
    REPO,
    ROUTING,
    Node,
    free_port,
    generate,
    init_pair,
    load,
    merge,
    persisted,
    register_pair,
    stop,
    wait_ready,
)

RESULTS = HERE / "results" / "locations.json"
PAGE_TARGET = 0.60
PATCH_TARGET = 2000.0


def _server_stack() -> str:
    """What uvicorn's ``auto`` settings pick here: uvloop and httptools when they are installed."""
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio loop"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"uvicorn, one process, {loop}, {http}"


def without_timestamp(body: bytes) -> bytes:
    at = body.rindex(b'"timestamp":')
    return body[:at] + body[body.index(b'"', at + 13) + 1 :]


# -- the ceiling app ----------------------------------------------------------------------------------


def serve_ceiling(port: int, page_file: Path, auth: str, pre_encoded: bool) -> None:
    """A bare Starlette app serving the page from memory (see the module docstring)."""
    import msgspec
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    saved = json.loads(page_file.read_text())
    body: bytes = saved["body"].encode()
    static_headers: dict[str, str] = saved["headers"]
    data = msgspec.json.decode(body, type=dict[str, msgspec.Raw])["data"]

    class Envelope(msgspec.Struct):
        data: Any
        status_code: int
        timestamp: str

    payload: Any = data if pre_encoded else msgspec.json.decode(data)
    encoder = msgspec.json.Encoder()

    async def page(request: Request) -> Response:
        if request.headers.get("authorization") != auth:
            return Response(b'{"status_code":2000}', status_code=401, media_type="application/json")
        int(request.query_params.get("offset", "0"))
        int(request.query_params.get("limit", "100"))
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        headers = {
            **static_headers,
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": request.headers.get("x-correlation-id") or str(uuid.uuid4()),
        }
        content = encoder.encode(Envelope(data=payload, status_code=1000, timestamp=stamp))
        return Response(content, media_type="application/json", headers=headers)

    async def healthz(request: Request) -> Response:
        return Response(b"ok")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gc.collect()
        gc.freeze()
        yield

    app = Starlette(routes=[Route(LIST_PATH, page), Route("/healthz", healthz)], lifespan=lifespan)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
    )


def run_ceiling(
    page_file: Path, auth: str, pre_encoded: bool, log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [
        sys.executable,
        __file__,
        "ceiling",
        "--port",
        str(port),
        "--page",
        str(page_file),
        "--auth",
        auth,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen([*command, *(["--bytes"] if pre_encoded else [])], stderr=out, cwd=REPO)
    wait_ready(f"http://127.0.0.1:{port}/healthz", process)
    return process, port


# -- the benchmark ------------------------------------------------------------------------------------


def bench(args: argparse.Namespace) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="evroam-bench-locations-"))
    cpo, emsp = Node("cpo", root), Node("emsp", root)
    ceilings: list[subprocess.Popen[bytes]] = []
    setup: dict[str, float] = {}
    try:
        t0 = time.monotonic()
        locations = generate(args.locations, root / "locations.json")
        init_pair(cpo, emsp)
        t1 = time.monotonic()
        imported = cpo.cli("locations", "import", str(root / "locations.json"))
        setup["import_s"] = round(time.monotonic() - t1, 2)
        assert len(imported["created"]) == args.locations, imported
        cpo.serve()
        emsp.serve()
        register_pair(cpo, emsp)
        t1 = time.monotonic()
        synced = emsp.cli("sync", "locations", "--partner", "cpo")
        setup["sync_s"] = round(time.monotonic() - t1, 2)
        setup["synced"] = synced["fetched"]
        setup["total_s"] = round(time.monotonic() - t0, 2)
        assert cpo.process is not None and emsp.process is not None

        # -- 1. the Sender page -----------------------------------------------------------------------
        page_path = f"{LIST_PATH}?offset={args.locations // 2}&limit=100"
        auth = emsp.authorization("cpo")
        headers = [f"Authorization: {auth}", "X-Request-ID: bench", "X-Correlation-ID: bench"]
        answer = httpx.get(
            cpo.url + page_path, headers={h.split(": ")[0]: h.split(": ", 1)[1] for h in headers}, timeout=30
        )
        assert answer.status_code == 200 and answer.json()["status_code"] == 1000, answer.text[:500]
        assert len(answer.json()["data"]) == 100
        header_args = [a for h in headers for a in ("--header", h)]
        expect = ["--expect", '"status_code":1000']

        # -- 2. the ceilings, serving the same JSON ---------------------------------------------------
        page_file = root / "page.json"
        kept = {k: v for k, v in answer.headers.items() if k.lower() in ("link", "x-total-count", "x-limit")}
        page_file.write_text(json.dumps({"body": answer.content.decode(), "headers": kept}))
        servers = {"page": (cpo.process, cpo.port)}
        for name, pre_encoded in (("ceiling", False), ("ceiling_bytes", True)):
            process, port = run_ceiling(page_file, auth, pre_encoded, root / f"{name}.log")
            ceilings.append(process)
            servers[name] = (process, port)
            same = httpx.get(
                f"http://127.0.0.1:{port}{page_path}", headers={"Authorization": auth}, timeout=30
            )
            assert without_timestamp(same.content) == without_timestamp(answer.content), (
                f"{name}: not the same JSON"
            )
        # The three servers take turns in --rounds slices, so that a change in the machine's other
        # load (a shared CI box) affects all three alike.
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in servers}
        for _ in range(args.rounds):
            for name, (process, port) in servers.items():
                runs[name].append(
                    load(
                        "get",
                        port,
                        "--path",
                        page_path,
                        *header_args,
                        *expect,
                        server=process.pid,
                        seconds=args.seconds / args.rounds,
                        warmup=args.warmup,
                        connections=args.connections,
                    )
                )
        page, results = (
            merge(runs["page"]),
            {name: merge(runs[name]) for name in ("ceiling", "ceiling_bytes")},
        )
        page["body_bytes"] = len(answer.content)
        for process in ceilings:
            stop(process)
        stop(cpo.process)  # the PATCH run has the machine to itself and the eMSP

        # -- 3. PATCH of EVSE statuses ------------------------------------------------------------------
        base = cpo.receiver_path("emsp")
        shared = [loc for loc in locations if loc["publish"] or loc.get("publish_allowed_to")]
        targets = [f"{base}/NL/CPO/{loc['id']}/{evse['uid']}" for loc in shared for evse in loc["evses"]]
        (root / "targets.json").write_text(json.dumps(targets))
        acked_file = root / "acked.json"
        patch_headers = [
            a for h in (f"Authorization: {cpo.authorization('emsp')}", *ROUTING) for a in ("--header", h)
        ]
        patch = load(
            "patch-status",
            emsp.port,
            "--targets",
            str(root / "targets.json"),
            "--acked",
            str(acked_file),
            *patch_headers,
            *expect,
            server=emsp.process.pid,
            seconds=args.seconds,
            warmup=args.warmup,
            connections=args.connections,
        )
        acked = json.loads(acked_file.read_text())
        patch["evses"] = len(targets)
        patch["acknowledged_evses"] = len(acked)
        patch["persisted_evses"] = persisted(emsp, acked, base)
        patch["stale_ignored"] = emsp.cli("locations", "stats")["stale_updates_ignored"]["total"]
        if patch["persisted_evses"] != len(acked) or patch["stale_ignored"]:
            raise SystemExit(f"PATCHes acknowledged but not persisted: {patch}")
    finally:
        for process in ceilings:
            stop(process)
        stop(cpo.process)
        stop(emsp.process)
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)

    ratio = page["requests_per_s"] / results["ceiling"]["requests_per_s"]
    ratio_bytes = page["requests_per_s"] / results["ceiling_bytes"]["requests_per_s"]
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": {
            "locations": args.locations,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "warmup": args.warmup,
            "connections": args.connections,
            "store": "SQLite (WAL, inline sqlite3)",
            "server": _server_stack(),
        },
        "setup": setup,
        "page": page,
        "ceiling": results["ceiling"],
        "ceiling_bytes": results["ceiling_bytes"],
        "page_ratio": round(ratio, 3),
        "page_ratio_to_bytes": round(ratio_bytes, 3),
        "patch": patch,
        "targets": {
            "page_ratio": PAGE_TARGET,
            "patch_per_s": PATCH_TARGET,
            "page_met": ratio >= PAGE_TARGET,
            "patch_met": patch["requests_per_s"] >= PATCH_TARGET,
        },
    }


def report(result: dict[str, Any]) -> str:
    page, ceiling, ceiling_bytes, patch = (
        result["page"],
        result["ceiling"],
        result["ceiling_bytes"],
        result["patch"],
    )
    s = result["settings"]

    def line(label: str, r: dict[str, Any]) -> str:
        lat = r["latency_ms"]
        return (
            f"  {label:<38} {r['requests_per_s']:>8.1f} req/s   p50 {lat['p50']:.1f} ms"
            f"  p99 {lat['p99']:.1f} ms   server CPU {r['server_cpu_percent']:.0f} % "
            f"(~{r['requests_per_server_cpu_s']:.0f} per CPU-second)"
        )

    ok = result["targets"]
    lines = [
        f"locations bench: {s['locations']} locations, SQLite, {s['connections']} connections, "
        f"{s['seconds']} s per server ({s['server']})",
        f"  setup: import {result['setup']['import_s']} s, sync of {result['setup']['synced']} locations "
        f"{result['setup']['sync_s']} s",
        f"GET one page of 100 locations (offset {s['locations'] // 2}), {page['body_bytes']} bytes, "
        f"{s['rounds']} rounds (load average before: {max(page['loadavg_before']):.1f}):",
        line("evroam (Litestar, SQLite, auth)", page),
        line("ceiling: Starlette + msgspec", ceiling),
        line("ceiling: Starlette, pre-encoded data", ceiling_bytes),
        f"  evroam / ceiling = {result['page_ratio']:.0%} (target >= {ok['page_ratio']:.0%}: "
        f"{'met' if ok['page_met'] else 'MISSED'}); "
        f"evroam / pre-encoded ceiling = {result['page_ratio_to_bytes']:.0%}",
        "PATCH EVSE status on the eMSP Receiver, persisted to SQLite:",
        line("evroam", patch),
        f"  {patch['persisted_evses']} of {patch['acknowledged_evses']} acknowledged EVSE changes found "
        f"in the database, {patch['stale_ignored']} ignored as stale "
        f"(target >= {ok['patch_per_s']:.0f}/s: {'met' if ok['patch_met'] else 'MISSED'})",
        f"results written to {RESULTS.relative_to(REPO)}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ceiling"]:
        parser = argparse.ArgumentParser(prog="bench/locations.py ceiling")
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--page", type=Path, required=True)
        parser.add_argument("--auth", required=True)
        parser.add_argument("--bytes", action="store_true")
        opts = parser.parse_args(argv[1:])
        serve_ceiling(opts.port, opts.page, opts.auth, opts.bytes)
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run [10]")
    parser.add_argument(
        "--rounds", type=int, default=3, help="the page servers take turns in this many slices [3]"
    )
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before measuring [1]")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections [16]")
    parser.add_argument("--locations", type=int, default=10_000, help="locations in the CPO's store [10000]")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, databases)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    result = bench(args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
