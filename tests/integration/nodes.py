"""Real evroam node processes for the integration tests (``python -m evroam`` on 127.0.0.1).

:class:`NodeProcess` runs one node's CLI commands and its ``serve`` process against a data directory,
with extra environment variables (e.g. ``EVROAM_PUSH_*``), waits for it, stops it (SIGTERM) or kills
it (SIGKILL), and reads its SQLite database directly (read-only, WAL readers never block the node).
Whoever starts a node must stop it in a fixture finalizer (:func:`stop_all`).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest

__all__ = ["REPO_ROOT", "NodeProcess", "free_port", "stop_all", "wait_until"]

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    """An ephemeral TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.1) -> T:
    """Call ``probe`` until it returns something true (not ``None``, ``False``, an empty list ...); fail
    after ``timeout``. An empty result means "not yet", never "found nothing"."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@dataclass
class NodeProcess:
    """One node: its data directory, its port and, while it serves, its process."""

    name: str
    data_dir: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    log_level: str = "INFO"
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def versions_url(self) -> str:
        return f"{self.url}/ocpi/versions"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "evroam.db"

    def environ(self) -> dict[str, str]:
        pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": pythonpath, **self.env}

    def log_path(self, what: str) -> Path:
        return self.data_dir.parent / f"{self.name}-{what}.log"

    # -- one-shot commands ----------------------------------------------------------------------

    def evroam(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``evroam --data-dir DIR ARGS...``; fail the test with its stderr when it fails (unless
        ``check`` is false: the caller looks at the exit status itself)."""
        done = subprocess.run(
            [sys.executable, "-m", "evroam", "--data-dir", str(self.data_dir), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=self.environ(),
            cwd=REPO_ROOT,
        )
        if check and done.returncode != 0:
            pytest.fail(
                f"{self.name}: evroam {' '.join(args)} failed ({done.returncode}): {done.stderr[-3000:]}"
            )
        return done

    def json(self, *args: str, timeout: float = 60) -> Any:
        """Run ``evroam ... ARGS --json`` and decode what it prints."""
        return json.loads(self.evroam(*args, "--json", timeout=timeout).stdout)

    def python(self, module: str, *args: str) -> subprocess.Popen[str]:
        """Start ``python -m MODULE ARGS...`` with this node's environment (stdout piped, text)."""
        with self.log_path(f"{module.rsplit('.', 1)[-1]}-{time.monotonic_ns()}").open("wb") as log:
            return subprocess.Popen(
                [sys.executable, "-m", module, *args],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=self.environ(),
                cwd=REPO_ROOT,
            )

    # -- serving --------------------------------------------------------------------------------

    def start(self, *serve_args: str) -> None:
        """Start ``evroam serve`` (logs to ``<name>-serve-<n>.log`` beside the data directory)."""
        assert self.process is None or self.process.poll() is not None, f"{self.name} already runs"
        self.starts += 1
        with self.log_path(f"serve-{self.starts}").open("wb") as log:
            self.process = self._popen_serve(log, serve_args)

    def _popen_serve(self, log: IO[bytes], serve_args: Sequence[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evroam",
                "--data-dir",
                str(self.data_dir),
                "--log-level",
                self.log_level,
                "serve",
                "--port",
                str(self.port),
                *serve_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=self.environ(),
            cwd=REPO_ROOT,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until ``/healthz`` answers 200; fail when the process exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                log = self.log_path(f"serve-{self.starts}").read_text(errors="replace")
                pytest.fail(f"{self.name} exited early ({self.process.returncode}): {log[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        pytest.fail(f"{self.name} did not become ready within {timeout} s")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a graceful shutdown), SIGKILL if it does not exit within ``timeout``."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to finish anything."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    # -- reading the database -------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the node's SQLite database."""
        db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return db.execute(sql, params).fetchall()
        finally:
            db.close()

    def partner_token(self, name: str) -> str:
        """The token this node calls partner ``name`` with (read from its database)."""
        for (payload,) in self.query("SELECT payload FROM evroam_objects WHERE kind = 'partner'"):
            record = json.loads(payload)
            if record["name"] == name and record.get("token"):
                token: str = record["token"]
                return token
        raise AssertionError(f"{self.name} has no token for a partner {name!r}")

    def documents(self, kind: str, *, own: bool | None = None) -> list[tuple[bytes, str | None, int]]:
        """``(payload, partner_id, revision)`` of the stored objects of ``kind``, in creation order;
        ``own``: only those without partner or scoped to a party (``party:...``), or only the others."""
        rows = self.query(
            "SELECT payload, partner_id, revision FROM evroam_objects WHERE kind = ? ORDER BY seq", (kind,)
        )
        if own is None:
            return [(bytes(p), pid, rev) for p, pid, rev in rows]
        mine = [(bytes(p), pid, rev) for p, pid, rev in rows if pid is None or str(pid).startswith("party:")]
        return (
            mine
            if own
            else [(bytes(p), pid, rev) for p, pid, rev in rows if (bytes(p), pid, rev) not in mine]
        )

    def outbox_counts(self) -> dict[str, int]:
        """Outbox rows per status (``pending``, ``in_flight``, ``delivered``, ``parked``)."""
        return {
            status: n
            for status, n in self.query("SELECT status, count(*) FROM evroam_outbox GROUP BY status")
        }


def stop_all(nodes: Iterable[NodeProcess]) -> None:
    """Stop every node that still runs (for fixture finalizers)."""
    for node in nodes:
        node.stop(timeout=5)
