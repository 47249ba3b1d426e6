"""evroam vs extrawest-ocpi under the same load, in one run, on 127.0.0.1.

    python bench/peer.py [--seconds 10] [--rounds 2] [--connections 16] [--locations 1000]

Two loads, each against both implementations, taking turns in ``--rounds`` slices:

* ``page``: ``GET`` one page of 100 Locations of a CPO's Sender interface (offset in the middle);
* ``put``: ``PUT`` one Location to an eMSP's Receiver interface, each request a newer version of it
  (``last_updated`` = now), so that every request is a real change to store.

evroam runs as ``evroam serve`` on SQLite (persisted to disk); the peer runs with its in-memory backend
(``tests/interop/peer_app.py``, in ``tests/interop/.venv-peer``, built by the interop tests or
``make interop``). Both are authenticated with tokens obtained by real registrations. The load comes
from a separate process (``bench/_load.py``'s generator), bounded in time, to 127.0.0.1 only.
Prints requests/s and the ratios; writes ``bench/results/peer.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE)]

from _load import build_request, run  # noqa: E402

from tests.integration.locations_data import generate_locations  # noqa: E402
from tests.interop.conftest import PEER_APP, build_peer_venv  # noqa: E402

TOKEN_A = "bench-peer-token-A"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited ({process.returncode})")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Node:
    def __init__(self, name: str, root: Path) -> None:
        self.name, self.data_dir, self.port = name, root / name, free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

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
        return json.loads(done.stdout) if done.stdout.strip() else None

    def serve(self) -> None:
        command = [sys.executable, "-m", "evroam", "--data-dir", str(self.data_dir), "--log-level", "WARNING"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*command, "serve", "--port", str(self.port), "--no-worker"],
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=REPO,
            )
        wait_ready(f"{self.url}/healthz", self.process)

    def partner(self, name: str) -> dict[str, Any]:
        with sqlite3.connect(f"file:{self.data_dir / 'evroam.db'}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT payload FROM evroam_objects WHERE kind = 'partner'").fetchall()
        for (payload,) in rows:
            record: dict[str, Any] = json.loads(payload)
            if record["name"] == name:
                return record
        raise SystemExit(f"{self.name} has no partner {name}")


def token_header(token: str) -> str:
    return "Authorization: Token " + base64.b64encode(token.encode()).decode()


# -- the load (run as `python bench/peer.py load ...` in its own process) -------------------------------


def load_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench/peer.py load")
    parser.add_argument("mode", choices=("get", "put"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--body", type=Path, help="put: the Location JSON")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args(argv)

    def ok(status: int, body: bytes) -> bool:
        return status in (200, 201) and b'"status_code":1000' in body.replace(b" ", b"")

    if args.mode == "get":
        request = build_request("GET", args.port, args.path, args.header)

        def next_request() -> tuple[bytes, Callable[[int, bytes], bool]]:
            return request, ok

    else:
        location = json.loads(args.body.read_text())
        head, tail = json.dumps(location).split('"__NOW__"')

        def next_request() -> tuple[bytes, Callable[[int, bytes], bool]]:
            stamp = datetime.now(UTC).strftime('"%Y-%m-%dT%H:%M:%S.%fZ"')
            body = (head + stamp + tail).encode()
            return build_request("PUT", args.port, args.path, args.header, body), ok

    result = asyncio.run(run(args.port, args.connections, args.seconds, args.warmup, next_request))
    json.dump(result, sys.stdout)
    return 0


def load(
    mode: str, port: int, path: str, headers: list[str], args: argparse.Namespace, body: Path | None
) -> Any:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "load",
        mode,
        "--port",
        str(port),
        "--path",
        path,
    ]
    command += ["--connections", str(args.connections), "--seconds", str(args.seconds / args.rounds)]
    command += [a for h in headers for a in ("--header", h)]
    if body is not None:
        command += ["--body", str(body)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=args.seconds * 3 + 60)
    if done.returncode != 0:
        raise SystemExit(f"load generator failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    if result["errors"]:
        raise SystemExit(f"{mode} on port {port}: {result['errors']} errors, first: {result['first_error']}")
    return result


def merged(runs: list[dict[str, Any]]) -> dict[str, Any]:
    requests, seconds = sum(r["requests"] for r in runs), sum(r["seconds"] for r in runs)
    return {
        "requests": requests,
        "seconds": round(seconds, 3),
        "requests_per_s": round(requests / seconds, 1),
        "p50_ms": sorted(r["latency_ms"]["p50"] for r in runs)[len(runs) // 2],
        "p99_ms": max(r["latency_ms"]["p99"] for r in runs),
    }


# -- the benchmark ----------------------------------------------------------------------------------------


def bench(args: argparse.Namespace) -> dict[str, Any]:
    peer_python = build_peer_venv_or_exit()
    root = Path(tempfile.mkdtemp(prefix="evroam-bench-peer-"))
    cpo, emsp = Node("cpo", root), Node("emsp", root)
    peer_port = free_port()
    peer: subprocess.Popen[bytes] | None = None
    try:
        locations = generate_locations(args.locations, seed=3)
        for location in locations:  # the same objects on both sides, in a shape the peer can hold
            location["publish"] = True
            location.pop("publish_allowed_to", None)
            for evse in location["evses"]:
                evse.pop("status_schedule", None)
        (root / "locations.json").write_text(json.dumps(locations))
        cpo.cli("init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--url", cpo.url)
        emsp.cli("init", "--country-code", "DE", "--party-id", "MSP", "--role", "EMSP", "--url", emsp.url)
        cpo.cli("locations", "import", str(root / "locations.json"))
        cpo.serve()
        emsp.serve()
        invitation = cpo.cli("partners", "invite", "emsp")
        emsp.cli(
            "partners",
            "register",
            "--versions-url",
            f"{cpo.url}/ocpi/versions",
            "--token",
            invitation["token"],
        )

        (root / "peer").mkdir()
        with (root / "peer.log").open("wb") as log:
            args_peer = [str(peer_python), str(PEER_APP), "--port", str(peer_port), "--token-a", TOKEN_A]
            peer = subprocess.Popen(
                [*args_peer, "--role", "cpo", "--role", "emsp", "--country-code", "NL", "--party-id", "CPO"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=root / "peer",
            )
        peer_url = f"http://127.0.0.1:{peer_port}"
        wait_ready(f"{peer_url}/_peer/state", peer)
        httpx.post(f"{peer_url}/_peer/seed/locations", json=locations, timeout=60).raise_for_status()
        emsp.cli("compat", "set", "peer", "--profile", "extrawest-ocpi", "--url", f"{peer_url}/ocpi/versions")
        emsp.cli(
            "partners",
            "register",
            "--versions-url",
            f"{peer_url}/ocpi/versions",
            "--token",
            TOKEN_A,
            "--name",
            "peer",
        )

        # tokens from the registrations: the eMSP's towards the CPO and the peer, the CPO's towards the eMSP
        emsp_at_cpo = token_header(emsp.partner(cpo_name(emsp))["token"])
        emsp_at_peer = token_header(emsp.partner("peer")["token"])
        cpo_at_emsp = token_header(cpo.partner("emsp")["token"])
        routing = [
            "OCPI-from-country-code: NL",
            "OCPI-from-party-id: CPO",
            "OCPI-to-country-code: DE",
            "OCPI-to-party-id: MSP",
            "X-Request-ID: bench",
            "X-Correlation-ID: bench",
        ]
        target = {**locations[0], "last_updated": "__NOW__"}
        body = root / "put.json"
        body.write_text(json.dumps(target))
        offset = args.locations // 2
        cases = {
            ("page", "evroam"): (
                cpo.port,
                f"/ocpi/2.2.1/sender/locations?offset={offset}&limit=100",
                [
                    emsp_at_cpo,
                    *routing[2:4],
                    "OCPI-to-country-code: NL",
                    "OCPI-to-party-id: CPO",
                    *routing[4:],
                ],
                None,
            ),
            ("page", "peer"): (
                peer_port,
                f"/ocpi/cpo/2.2.1/locations/?offset={offset}&limit=100",
                [emsp_at_peer],
                None,
            ),
            ("put", "evroam"): (
                emsp.port,
                f"/ocpi/2.2.1/receiver/locations/NL/CPO/{target['id']}",
                [cpo_at_emsp, *routing],
                body,
            ),
            ("put", "peer"): (
                peer_port,
                f"/ocpi/emsp/2.2.1/locations/NL/CPO/{target['id']}",
                [emsp_at_peer],
                body,
            ),
        }
        # every case answers once, with 100 locations for a page, before any load
        single_ms: dict[str, float] = {}
        for (kind, who), (port, path, headers, _) in cases.items():
            if kind == "page":
                started = time.perf_counter()
                answer = httpx.get(
                    f"http://127.0.0.1:{port}{path}",
                    headers=dict(h.split(": ", 1) for h in headers),
                    timeout=30,
                )
                single_ms[who] = round((time.perf_counter() - started) * 1000, 1)
                assert answer.status_code == 200 and len(answer.json()["data"]) == 100, (
                    who,
                    answer.text[:300],
                )
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in cases}
        for _ in range(args.rounds):
            for key, (port, path, headers, put_body) in cases.items():
                runs[key].append(
                    load("put" if key[0] == "put" else "get", port, path, headers, args, put_body)
                )
        results = {f"{kind}/{who}": merged(r) for (kind, who), r in runs.items()}
        stored = stored_last_updated(emsp, target["id"])
        return {
            "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg()},
            "settings": vars(args),
            "results": results,
            "ratios": {
                kind: round(
                    results[f"{kind}/evroam"]["requests_per_s"] / results[f"{kind}/peer"]["requests_per_s"], 2
                )
                for kind in ("page", "put")
            },
            "evroam_put_persisted_last_updated": stored,
            "first_page_request_ms": single_ms,
        }
    finally:
        stop(peer)
        stop(cpo.process)
        stop(emsp.process)


def cpo_name(emsp: Node) -> str:
    with sqlite3.connect(f"file:{emsp.data_dir / 'evroam.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT payload FROM evroam_objects WHERE kind = 'partner'").fetchall()
    names = [json.loads(p)["name"] for (p,) in rows if json.loads(p)["name"] != "peer"]
    return names[0]


def stored_last_updated(node: Node, location_id: str) -> str:
    with sqlite3.connect(f"file:{node.data_dir / 'evroam.db'}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT payload FROM evroam_objects WHERE kind = 'location' AND object_id = ?", (location_id,)
        ).fetchall()
    return str(json.loads(rows[0][0])["last_updated"]) if rows else "missing"


def build_peer_venv_or_exit() -> Path:
    import pytest

    try:
        return build_peer_venv()
    except (pytest.skip.Exception, pytest.fail.Exception) as exc:
        raise SystemExit(f"the peer's virtualenv is not available: {exc}") from None


def report(result: dict[str, Any]) -> str:
    head = f"{'load':<6} {'evroam req/s':>13} {'peer req/s':>11} {'ratio':>6}"
    lines = [head + "   evroam p50/p99 ms   peer p50/p99 ms"]
    for kind in ("page", "put"):
        ours, theirs = result["results"][f"{kind}/evroam"], result["results"][f"{kind}/peer"]
        lines.append(
            f"{kind:<6} {ours['requests_per_s']:>13} {theirs['requests_per_s']:>11}"
            f" {result['ratios'][kind]:>5}x"
            f"   {ours['p50_ms']:>6} / {ours['p99_ms']:<8}  {theirs['p50_ms']:>6} / {theirs['p99_ms']}"
        )
    lines.append(
        "page: GET 100 Locations (Sender); put: PUT one Location (Receiver), evroam persisted to SQLite"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["load"]:
        return load_main(argv[1:])
    parser = argparse.ArgumentParser(prog="bench/peer.py")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per load and server")
    parser.add_argument("--rounds", type=int, default=2, help="turns the servers take")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--locations", type=int, default=1000)
    args = parser.parse_args(argv)
    result = bench(args)
    out = HERE / "results" / "peer.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(report(result))
    print(f"written to {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
