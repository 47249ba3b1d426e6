"""What the benchmarks that run whole nodes share (``bench/locations.py``, ``bench/scale.py``).

* :class:`Node`: an evroam node driven through its command line, its data in a temporary directory,
  on SQLite or on a PostgreSQL database of its own (created afresh), served by ``evroam serve`` with
  one or several workers;
* :func:`load`: one run of the load generator (``bench/_load.py``, a separate process) against a
  server, with the CPU the server's processes used and the machine's load average before it;
* :func:`merge`: several such runs against one server as one figure;
* :func:`persisted`: how many acknowledged PATCHes a node's database holds exactly;
* helpers for processes (``/proc``: CPU, RSS of a process tree) and ports.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PG_SERVER = os.environ.get("EVROAM_BENCH_POSTGRES", "postgresql+asyncpg://root@127.0.0.1:5432")
LIST_PATH = "/ocpi/2.2.1/sender/locations"
EMSP_NAME = "Bench eMSP"
ROUTING = [
    "OCPI-from-country-code: NL",
    "OCPI-from-party-id: CPO",
    "OCPI-to-country-code: DE",
    "OCPI-to-party-id: MSP",
]
"""The routing headers of the CPO's PATCHes to the eMSP."""


# -- processes and ports ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux ``/proc``)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:
            continue
    return out


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds ``pid`` and its descendants have used so far."""
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def tree_rss_mb(pid: int) -> float:
    """RSS of a node: the serving processes (the supervisor and its workers; not the multiprocessing
    resource tracker, which holds nothing of the node)."""
    total = 0
    for p in tree(pid):
        try:
            if b"resource_tracker" in Path(f"/proc/{p}/cmdline").read_bytes():
                continue
            total += status_kb(p, "VmRSS")
        except OSError:
            continue
    return round(total / 1024, 1)


def machine_load() -> dict[str, Any]:
    one, five, fifteen = os.getloadavg()
    return {"loadavg": [round(one, 2), round(five, 2), round(fifteen, 2)]}


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited ({process.returncode})")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def urlpath(url: str) -> str:
    return httpx.URL(url).path.rstrip("/")


def generate(count: int, path: Path) -> list[dict[str, Any]]:
    """``count`` generated OCPI 2.2.1 locations written to ``path`` (the eMSP may see them)."""
    sys.path.insert(0, str(REPO))
    from tests.integration.locations_data import generate_locations

    locations = generate_locations(count, seed=10_000, allowed_issuer=EMSP_NAME)
    path.write_text(json.dumps(locations))
    return locations


# -- a node -----------------------------------------------------------------------------------------


class Node:
    """An evroam node run through its command line, on SQLite or (``database``) on a PostgreSQL
    database of that name, dropped and created afresh. ``env`` adds environment variables."""

    def __init__(self, name: str, root: Path, database: str | None = None, env: dict[str, str] | None = None):
        self.name = name
        self.data_dir = root / name
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / f"{name}-serve.log"
        self.database = database
        self.env = dict(os.environ)
        self.env.pop("EVROAM_DATABASE_URL", None)
        self.env.pop("EVROAM_WORKERS", None)
        self.env.update(env or {})
        if database is not None:
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "root", "--if-exists", database], check=True)
            subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "root", database], check=True)
            self.env["EVROAM_DATABASE_URL"] = f"{PG_SERVER}/{database}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "evroam", "--data-dir", str(self.data_dir), *args]

    def cli(self, *args: str) -> Any:
        done = subprocess.run(
            [*self.command(*args), "--json"],
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
            env=self.env,
        )
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: evroam {' '.join(args)} failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout)

    def serve(self, workers: int = 1) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(
                    "--log-level", "WARNING", "serve", "--port", str(self.port), "--workers", str(workers)
                ),
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=REPO,
                env=self.env,
            )
        wait_ready(f"{self.url}/healthz", self.process, timeout=60)
        if workers > 1:  # every worker up (each answers /healthz once its node has started)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(tree(self.process.pid)) < workers + 2:
                time.sleep(0.1)
            time.sleep(1.5)

    def stop(self) -> None:
        stop(self.process)
        self.process = None

    def partner_record(self, name: str) -> dict[str, Any]:
        for record in self.cli("partners", "list"):
            if record["name"] == name:
                return dict(record)
        raise SystemExit(f"{self.name} has no partner {name}")

    def receiver_path(self, partner: str) -> str:
        """The path of ``partner``'s Locations Receiver (its endpoint as this node stored it)."""
        return urlpath(
            next(
                e["url"]
                for e in self.partner_record(partner)["endpoints"]
                if e["module"] == "locations" and e["role"] == "RECEIVER"
            )
        )

    def authorization(self, partner: str) -> str:
        """The Authorization header this node sends to ``partner`` (read from its database; bench only)."""
        code = (
            "import asyncio, sys, base64\n"
            "from evroam.node.settings import Settings\n"
            "from evroam.node.wiring import build_node\n"
            "async def main():\n"
            "    node = build_node(Settings.from_env())\n"
            "    await node.start()\n"
            "    p = await node.registration.get(sys.argv[1])\n"
            "    enc = p.token_encoding\n"
            "    print(('Token ' + base64.b64encode(p.token.encode()).decode()) if enc == 'base64' "
            "else 'Token ' + p.token)\n"
            "    await node.close()\n"
            "asyncio.run(main())\n"
        )
        env = dict(self.env, EVROAM_DATA_DIR=str(self.data_dir), EVROAM_LOG_LEVEL="WARNING")
        done = subprocess.run(
            [sys.executable, "-c", code, partner],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: cannot read the token for {partner}: {done.stderr[-1500:]}")
        return done.stdout.strip()

    def location_payloads(self) -> list[bytes]:
        """Every stored location document, read straight from the database."""
        if self.database is None:
            import sqlite3

            with sqlite3.connect(f"file:{self.data_dir / 'evroam.db'}?mode=ro", uri=True) as db:
                return [
                    bytes(r[0])
                    for r in db.execute("SELECT payload FROM evroam_objects WHERE kind = 'location'")
                ]
        import asyncpg  # type: ignore[import-untyped]

        async def read() -> list[bytes]:
            conn = await asyncpg.connect(
                PG_SERVER.replace("postgresql+asyncpg", "postgresql") + "/" + self.database
            )
            try:
                found = await conn.fetch("SELECT payload FROM evroam_objects WHERE kind = 'location'")
                return [bytes(r[0]) for r in found]
            finally:
                await conn.close()

        return asyncio.run(read())


def init_pair(cpo: Node, emsp: Node) -> None:
    """``evroam init`` the bench's CPO (NL*CPO) and eMSP (DE*MSP, named :data:`EMSP_NAME`)."""
    cpo.cli("init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--url", cpo.url)
    emsp.cli(
        "init", "--country-code", "DE", "--party-id", "MSP", "--role", "EMSP", "--url", emsp.url,
        "--name", EMSP_NAME,
    )  # fmt: skip


def register_pair(cpo: Node, emsp: Node) -> None:
    """The credentials handshake between the two (both serving): the CPO invites, the eMSP registers."""
    invitation = cpo.cli("partners", "invite", "emsp")
    emsp.cli(
        "partners", "register", "--versions-url", f"{cpo.url}/ocpi/versions", "--token",
        invitation["token"], "--name", "cpo",
    )  # fmt: skip


def persisted(node: Node, acked: dict[str, list[str]], receiver_path: str) -> int:
    """How many acknowledged PATCHes (``bench/_load.py --acked``) ``node`` holds exactly (status and
    ``last_updated`` of the EVSE)."""
    from evroam.modules.locations.repository import decode_location

    stored: dict[str, tuple[str, datetime]] = {}
    for payload in node.location_payloads():
        location = decode_location(payload)
        for evse in location.evses or ():
            stored[f"{location.id}/{evse.uid}"] = (evse.status.value, evse.last_updated)
    prefix = receiver_path + "/NL/CPO/"
    return sum(
        1
        for path, (status, stamp) in acked.items()
        if stored.get(path.removeprefix(prefix)) == (status, datetime.fromisoformat(stamp))
    )


# -- load ---------------------------------------------------------------------------------------------


def load(
    mode: str, port: int, *extra: str, server: int, seconds: float, warmup: float, connections: int
) -> dict[str, Any]:
    """Run ``bench/_load.py MODE`` against ``port`` for ``seconds`` after ``warmup``; adds the CPU that
    ``server``'s processes (it and its workers) used over the run, and the load average before it."""
    command = [
        sys.executable, str(HERE / "_load.py"), mode, "--port", str(port), "--seconds", str(seconds),
        "--warmup", str(warmup), "--connections", str(connections), *extra,
    ]  # fmt: skip
    before = os.getloadavg()[0]
    cpu0, t0 = tree_cpu(server), time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    cpu, elapsed = tree_cpu(server) - cpu0, time.monotonic() - t0
    if done.returncode != 0:
        raise SystemExit(f"load generator failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    result["server_cpu_s"] = round(cpu, 3)
    result["elapsed_s"] = round(elapsed, 3)
    result["server_cpu_percent"] = round(100 * cpu / elapsed, 1)
    result["loadavg_before"] = round(before, 2)
    # what one fully used core would serve: a fairer figure when the machine is shared
    # (the CPU is measured over the whole run, warm-up included: a rate against a rate)
    share = cpu / elapsed
    result["requests_per_server_cpu_s"] = round(result["requests_per_s"] / share, 1) if share else None
    if result["errors"]:
        raise SystemExit(f"{mode} on port {port}: {result['errors']} errors, first: {result['first_error']}")
    return result


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs against one server as one: requests/s over all, the median p50, the worst p99."""
    seconds = sum(r["seconds"] for r in runs)
    requests = sum(r["requests"] for r in runs)
    cpu_share = sum(r["server_cpu_s"] for r in runs) / sum(r["elapsed_s"] for r in runs)
    return {
        "rounds": len(runs),
        "connections": runs[0]["connections"],
        "seconds": round(seconds, 3),
        "requests": requests,
        "errors": sum(r["errors"] for r in runs),
        "requests_per_s": round(requests / seconds, 1),
        "requests_per_s_by_round": [r["requests_per_s"] for r in runs],
        "latency_ms": {
            "p50": sorted(r["latency_ms"]["p50"] for r in runs)[len(runs) // 2],
            "p99": max(r["latency_ms"]["p99"] for r in runs),
            "max": max(r["latency_ms"]["max"] for r in runs),
        },
        "server_cpu_percent": round(100 * cpu_share, 1),
        "server_cpu_percent_by_round": [r["server_cpu_percent"] for r in runs],
        "requests_per_server_cpu_s": round(requests / seconds / cpu_share, 1) if cpu_share else None,
        "loader_cpu_s": round(sum(r["loader_cpu_s"] for r in runs), 3),
        "loadavg_before": [r["loadavg_before"] for r in runs],
    }
