"""Real evroam nodes as separate processes on 127.0.0.1, for end-to-end tests in any test framework.

* :class:`NodeProcess` runs one node's CLI commands (``python -m evroam --data-dir DIR ...``) and its
  ``serve`` process, waits for it, stops it (SIGTERM) or kills it (SIGKILL), and reads its SQLite
  database directly (read-only: WAL readers never block the node).
* :class:`NodePair` is a CPO and an eMSP, each with its own data directory and free port: ``init``,
  ``start``, ``register`` (the credentials handshake, the CPO invites and the eMSP registers), ``stop``;
  :meth:`NodePair.up` does the first three at once, and the pair is a context manager.
* :func:`free_port`, :func:`wait_until` and :func:`stop_all` are the small pieces around them.

Failures raise :class:`NodeFailure` and :class:`WaitTimeout`, both :class:`AssertionError`, so that
pytest and unittest report them as test failures. Nothing here needs pytest
(:mod:`evroam.testing.pytest` holds the fixtures).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self, TypeVar

import httpx

__all__ = ["NodeFailure", "NodePair", "NodeProcess", "WaitTimeout", "free_port", "stop_all", "wait_until"]

T = TypeVar("T")


class NodeFailure(AssertionError):
    """A node's command failed, or its process exited or did not become ready."""


class WaitTimeout(AssertionError):
    """:func:`wait_until` gave up."""


def free_port() -> int:
    """An ephemeral TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.1) -> T:
    """Call ``probe`` until it returns something true (not ``None``, ``False``, an empty list ...) and
    return that; raise :class:`WaitTimeout` after ``timeout`` seconds. An empty result means "not yet",
    never "found nothing"."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise WaitTimeout(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


@dataclass
class NodeProcess:
    """One node: its data directory, its port and, while it serves, its process.

    ``env`` adds environment variables (e.g. ``EVROAM_PUSH_*``) to every command and to ``serve``;
    ``log_level`` applies to both. ``evroam init`` makes a node serving OCPI 2.2.1 only
    (``EVROAM_INIT_OCPI_VERSION=2.2.1``, which ``env`` may override, e.g. with ``"2.1.1 2.2.1 2.3.0"``):
    the end-to-end flows are written in 2.2.1, whereas ``evroam init`` alone serves all three. ``cwd`` is
    the working directory of the processes (the current one when ``None``) and ``python_path`` entries go
    in front of ``PYTHONPATH`` (for helper modules started with :meth:`python`). Logs go beside the data
    directory: ``<name>-serve-<n>.log`` per start and ``<name>-cli-<n>.log`` per command, all listed in
    :attr:`logs`.
    """

    name: str
    data_dir: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    log_level: str = "INFO"
    cwd: Path | None = None
    python_path: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def versions_url(self) -> str:
        return f"{self.url}/ocpi/versions"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "evroam.db"

    @property
    def serve_log(self) -> Path:
        """The log of the latest ``serve`` process."""
        return self.log_path(f"serve-{self.starts}")

    def environ(self) -> dict[str, str]:
        pythonpath = os.pathsep.join(p for p in (*self.python_path, os.environ.get("PYTHONPATH", "")) if p)
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": pythonpath,
            "EVROAM_INIT_OCPI_VERSION": "2.2.1",
            **self.env,
        }

    def log_path(self, what: str) -> Path:
        return self.data_dir.parent / f"{self.name}-{what}.log"

    def _command(self, *args: str) -> list[str]:
        return [
            sys.executable,
            "-m",
            "evroam",
            "--data-dir",
            str(self.data_dir),
            "--log-level",
            self.log_level,
            *args,
        ]

    # -- one-shot commands ----------------------------------------------------------------------

    def evroam(self, *args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``evroam --data-dir DIR ARGS...``; raise :class:`NodeFailure` with its stderr when it fails
        (unless ``check`` is false: the caller looks at the exit status itself)."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            self._command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=self.environ(),
            cwd=self.cwd,
        )
        log = self.log_path(f"cli-{len(self.logs)}")
        log.write_text(done.stderr)
        self.logs.append(log)
        if check and done.returncode != 0:
            raise NodeFailure(
                f"{self.name}: evroam {' '.join(args)} failed ({done.returncode}): {done.stderr[-3000:]}"
            )
        return done

    def json(self, *args: str, timeout: float = 60) -> Any:
        """Run ``evroam ... ARGS --json`` and decode what it prints."""
        return json.loads(self.evroam(*args, "--json", timeout=timeout).stdout)

    def init(self, country_code: str, party_id: str, role: str, *extra: str) -> None:
        """``evroam init`` for one party at this node's URL (``extra``: more options, e.g. ``--name``)."""
        self.evroam(
            "init",
            "--country-code",
            country_code,
            "--party-id",
            party_id,
            "--role",
            role,
            "--url",
            self.url,
            *extra,
        )

    def python(self, module: str, *args: str) -> subprocess.Popen[str]:
        """Start ``python -m MODULE ARGS...`` with this node's environment (stdout piped, text)."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path(f"{module.rsplit('.', 1)[-1]}-{time.monotonic_ns()}").open("wb") as log:
            return subprocess.Popen(
                [sys.executable, "-m", module, *args],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=self.environ(),
                cwd=self.cwd,
            )

    # -- serving --------------------------------------------------------------------------------

    def start(self, *serve_args: str) -> None:
        """Start ``evroam serve`` (logs to ``<name>-serve-<n>.log`` beside the data directory)."""
        if self.running:
            raise NodeFailure(f"{self.name} already runs")
        self.starts += 1
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        log_path = self.serve_log
        self.logs.append(log_path)
        with log_path.open("wb") as log:
            self.process = self._popen_serve(log, serve_args)

    def _popen_serve(self, log: IO[bytes], serve_args: Sequence[str]) -> subprocess.Popen[bytes]:
        """The serving process (a subclass may serve differently, e.g. ``evroam simulate``)."""
        return subprocess.Popen(
            self._command("serve", "--port", str(self.port), *serve_args),
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=self.environ(),
            cwd=self.cwd,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until ``/healthz`` answers 200; raise :class:`NodeFailure` when the process exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None:
                raise NodeFailure(f"{self.name} was not started")
            if self.process.poll() is not None:
                log = self.serve_log.read_text(errors="replace")
                raise NodeFailure(f"{self.name} exited early ({self.process.returncode}): {log[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise NodeFailure(f"{self.name} did not become ready within {timeout} s")

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
        raise NodeFailure(f"{self.name} has no token for a partner {name!r}")

    def documents(self, kind: str, *, own: bool | None = None) -> list[tuple[bytes, str | None, int]]:
        """``(payload, partner_id, revision)`` of the stored objects of ``kind``, in creation order;
        ``own``: only those without partner or scoped to a party (``party:...``), or only the others."""
        rows = self.query(
            "SELECT payload, partner_id, revision FROM evroam_objects WHERE kind = ? ORDER BY seq", (kind,)
        )
        every = [(bytes(p), pid, rev) for p, pid, rev in rows]
        if own is None:
            return every
        return [row for row in every if (row[1] is None or str(row[1]).startswith("party:")) is own]

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


class NodePair:
    """A CPO node and an eMSP node on free 127.0.0.1 ports, data in ``base_dir/cpo`` and ``base_dir/emsp``.

    The CPO is ``cpo_party`` (role CPO), the eMSP ``emsp_party`` (role EMSP). After :meth:`register` the
    CPO knows the eMSP as partner ``emsp`` and the eMSP knows the CPO as partner ``cpo``, both
    REGISTERED. ``env`` goes to both nodes, ``cpo_env`` / ``emsp_env`` to one. ``node_class`` builds the
    two :class:`NodeProcess` (a subclass may serve differently); ``node_options`` are passed to it.

    Use it as a context manager (``with NodePair(tmp).up() as pair:``) or call :meth:`stop` yourself.
    """

    def __init__(
        self,
        base_dir: Path,
        *,
        cpo_party: tuple[str, str] = ("NL", "CPO"),
        emsp_party: tuple[str, str] = ("DE", "MSP"),
        env: Mapping[str, str] | None = None,
        cpo_env: Mapping[str, str] | None = None,
        emsp_env: Mapping[str, str] | None = None,
        log_level: str = "INFO",
        node_class: type[NodeProcess] = NodeProcess,
        node_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.cpo_party = cpo_party
        self.emsp_party = emsp_party
        options = dict(node_options or {})
        self.cpo = node_class(
            "cpo",
            base_dir / "cpo",
            free_port(),
            env={**(env or {}), **(cpo_env or {})},
            log_level=log_level,
            **options,
        )
        self.emsp = node_class(
            "emsp",
            base_dir / "emsp",
            free_port(),
            env={**(env or {}), **(emsp_env or {})},
            log_level=log_level,
            **options,
        )

    @property
    def nodes(self) -> tuple[NodeProcess, NodeProcess]:
        """``(cpo, emsp)``."""
        return self.cpo, self.emsp

    def init(self) -> Self:
        """``evroam init`` on both nodes."""
        self.cpo.init(*self.cpo_party, "CPO")
        self.emsp.init(*self.emsp_party, "EMSP")
        return self

    def start(self) -> Self:
        """Start both nodes and wait until both answer."""
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_ready()
        return self

    def register(self) -> dict[str, Any]:
        """The credentials handshake: the CPO invites partner ``emsp``, the eMSP registers with the CPO as
        partner ``cpo``; returns the eMSP's partner record as ``partners register --json`` prints it."""
        invitation = self.cpo.json("partners", "invite", "emsp")
        registered: dict[str, Any] = self.emsp.json(
            "partners",
            "register",
            "--versions-url",
            self.cpo.versions_url,
            "--token",
            invitation["token"],
            "--name",
            "cpo",
        )
        if registered.get("status") != "REGISTERED":
            raise NodeFailure(f"the eMSP did not register with the CPO: {registered}")
        return registered

    def up(self, *, register: bool = True) -> Self:
        """:meth:`init`, :meth:`start` and (unless ``register`` is false) :meth:`register`; stops both
        nodes when a step fails."""
        try:
            self.init().start()
            if register:
                self.register()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both nodes (SIGTERM, then SIGKILL)."""
        stop_all([self.emsp, self.cpo])

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
