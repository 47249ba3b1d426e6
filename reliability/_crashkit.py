"""What the crash parts of the reliability suite share (kill_cycles, pg_restart, partner_down, disk_full).

* :class:`Node` — :class:`evroam.testing.NodeProcess` run from the repository (its processes can start
  this package's helper modules) and reading its database, SQLite or PostgreSQL, through :meth:`Node.query`;
* :class:`PrivatePostgres` — a throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl`` from the installed
  binaries) in a temporary directory on a free port of 127.0.0.1, which may be stopped and restarted at will
  without touching any other PostgreSQL on the machine;
* :func:`make_locations` — small OCPI 2.2.1 Locations (one CPO, a few EVSEs each);
* :class:`Timer`, :func:`percentile`.
"""

from __future__ import annotations

import asyncio
import glob
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evroam import testing
from evroam.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
T0 = "2026-03-01T12:00:00Z"


@dataclass
class Node(testing.NodeProcess):
    """A node whose processes run in the repository; ``database_url`` puts its store on PostgreSQL."""

    cwd: Path | None = ROOT
    python_path: tuple[str, ...] = (str(ROOT),)
    database_url: str | None = None
    log_dir: Path | None = None  # where its logs go (default: beside the data directory)

    def __post_init__(self) -> None:
        if self.database_url:
            self.env = {**self.env, "EVROAM_DATABASE_URL": self.database_url}

    def log_path(self, what: str) -> Path:
        if self.log_dir is None:
            return super().log_path(what)
        return self.log_dir / f"{self.name}-{what}.log"

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query (``?`` placeholders) on the node's database."""
        if not self.database_url:
            return super().query(sql, params)
        return pg_query(self.database_url, sql, params)


def pg_query(url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """One query on PostgreSQL through asyncpg (``?`` placeholders become ``$n``)."""
    import asyncpg  # type: ignore[import-untyped]

    parts = sql.split("?")
    numbered = parts[0] + "".join(f"${n}{rest}" for n, rest in enumerate(parts[1:], start=1))
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            return [tuple(r) for r in await conn.fetch(numbered, *params)]
        finally:
            await conn.close()

    return asyncio.run(run())


def pg_bin() -> Path | None:
    """The directory of the newest installed PostgreSQL server binaries (Debian layout or ``PATH``)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[-3]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


class PrivatePostgres:
    """A PostgreSQL cluster of our own: ``start`` / ``stop(mode)`` / ``kill`` at will, ``destroy`` at the end.

    Runs as the ``postgres`` user when we are root (PostgreSQL refuses root), trust authentication for a
    superuser ``evroam``, listening on 127.0.0.1 only, its socket in its own directory.
    """

    def __init__(self) -> None:
        binaries = pg_bin()
        if binaries is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) installed")
        self.bin = binaries
        self.dir = Path(tempfile.mkdtemp(prefix="evroam-rel-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "evroam", "--auth=trust", "-E", "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*self._as, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr[-2000:]}")
        return done

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://evroam@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=100"
        data, log = str(self.data), str(self.log)
        self._run("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m MODE``: ``fast`` (clean), ``immediate`` (like a crash: no shutdown checkpoint,
        the WAL is replayed at the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    @property
    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "evroam", name)
        return self.url(name)

    def destroy(self) -> None:
        """Stop it (immediately) and delete its files."""
        if self.data.exists() and self.running:
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PrivatePostgres:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


def make_locations(count: int, evses: int, *, party: tuple[str, str] = ("NL", "CPO")) -> list[dict[str, Any]]:
    """``count`` OCPI 2.2.1 Locations ``LOC000``... with ``evses`` EVSEs each (uids ``L000-E0``...),
    one connector per EVSE, all AVAILABLE."""
    cc, pid = party
    out = []
    for n in range(count):
        out.append(
            {
                "country_code": cc,
                "party_id": pid,
                "id": f"LOC{n:03d}",
                "publish": True,
                "address": f"Main street {n + 1}",
                "city": "Utrecht",
                "postal_code": "3511",
                "country": "NLD",
                "coordinates": {"latitude": "52.09074", "longitude": "5.12142"},
                "time_zone": "Europe/Amsterdam",
                "parking_type": "ON_STREET",
                "evses": [
                    {
                        "uid": f"L{n:03d}-E{k}",
                        "evse_id": f"NL*CPO*E{n:03d}{k}",
                        "status": "AVAILABLE",
                        "connectors": [
                            {
                                "id": "1",
                                "standard": "IEC_62196_T2",
                                "format": "SOCKET",
                                "power_type": "AC_3_PHASE",
                                "max_voltage": 230,
                                "max_amperage": 32,
                                "last_updated": T0,
                            }
                        ],
                        "last_updated": T0,
                    }
                    for k in range(evses)
                ],
                "last_updated": T0,
            }
        )
    return out


def write_json(path: Path, data: Any) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


class Timer:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.started


def admit_partner(
    node: Node, token: str, *, party: tuple[str, str] = ("NL", "CPO"), role: str = "CPO"
) -> None:
    """Store a REGISTERED partner ``cpo`` (``party``, ``role``) that calls ``node`` with ``token``, straight
    into the node's database (before it serves): what the credentials handshake would leave, without a
    second node and four more interpreter start-ups. The partner has no endpoints: nothing is pushed to it."""
    import msgspec

    from evroam.core.clock import SystemClock
    from evroam.registration import IssuedToken, StorePartnerRepository, TokenUse
    from evroam.registration.model import token_digest
    from evroam.store import create_store
    from evroam.testing import FakePartner

    async def admit() -> None:
        store = create_store(node.database_url, node.data_dir)
        try:
            await store.migrate()
            clock = SystemClock()
            fake = FakePartner("http://127.0.0.1:9/ocpi", role=role, country_code=party[0], party_id=party[1])
            record = fake.record(clock, partner_id="p-cpo", name="cpo", token="unused", initiated_by="them")
            digest = token_digest(token)
            record = msgspec.structs.replace(record, issued=(digest,))
            issued = IssuedToken(digest=digest, partner_id="p-cpo", use=TokenUse.PEER, issued_at=clock.now())
            await StorePartnerRepository(store, clock).commit(save=[record], issue=[issued])
        finally:
            await store.close()

    asyncio.run(admit())
