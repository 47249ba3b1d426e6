"""``evroam serve --workers N``: N request-serving processes sharing one listening socket.

The parent process (the supervisor) opens and migrates the database once, binds the socket, and starts
N worker processes (``spawn``: each imports evroam afresh and builds its own node) that all accept on
that socket; the kernel spreads the connections between them. Each worker is a whole node: uvicorn
with the read timeouts and connection cap of :class:`~evroam.http.serving.ServeLimits`, and the push
worker unless ``--no-worker`` (outbox claims use ``FOR UPDATE SKIP LOCKED``, so several delivering
processes never send one item twice).

Only on PostgreSQL: the SQLite database is written by one process (see :mod:`evroam.store.sql`).

Before the workers start, ``PROMETHEUS_MULTIPROC_DIR`` is set to a fresh, empty directory under the
data directory (``<data-dir>/prometheus-multiproc``), for metrics to be aggregated across workers.

Signals: SIGTERM or SIGINT to the supervisor stops every worker gracefully (SIGTERM to each: uvicorn
finishes the requests in flight, the push worker its current pass), waits up to
:data:`STOP_TIMEOUT` seconds, kills what is left, and exits 0. The workers run in their own process
group, so a Ctrl-C in a terminal reaches the supervisor only (which then stops them once, not twice),
and each worker stops itself when its supervisor is gone.

A worker that dies is restarted (the reason is logged). A worker dying :data:`MAX_RESTARTS` times
within :data:`RESTART_WINDOW` seconds means something is wrong that a restart does not fix (the
database is gone, a bad deployment): the supervisor then stops the others and exits with status 1.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any

from evroam.http.serving import ServeLimits, guarded_protocol
from evroam.node.logs import configure_logging
from evroam.node.settings import Settings

__all__ = [
    "MAX_RESTARTS",
    "METRICS_DIR_NAME",
    "RESTART_WINDOW",
    "STOP_TIMEOUT",
    "WorkersFailed",
    "bind_socket",
    "fresh_metrics_dir",
    "supervise",
]

log = logging.getLogger(__name__)

STOP_TIMEOUT = 30.0
"""Seconds the workers get to finish after SIGTERM before they are killed."""
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
METRICS_DIR_NAME = "prometheus-multiproc"


class WorkersFailed(RuntimeError):
    """The workers kept dying (see :func:`supervise`)."""


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` that child processes can inherit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def fresh_metrics_dir(data_dir: Path) -> Path:
    """``<data_dir>/prometheus-multiproc``, emptied (the files of a previous run would be counted)."""
    path = data_dir / METRICS_DIR_NAME
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _watch_parent(parent: int) -> None:
    """Stop this worker (SIGTERM to itself) once its supervisor has gone (it was killed)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


def _worker_main(
    settings: Settings,
    limits: ServeLimits,
    sock: socket.socket,
    push: bool,
    number: int,
    parent: int,
    server_options: Mapping[str, Any],
) -> None:
    """One worker process: its own node, served by uvicorn on the inherited socket."""
    import uvicorn

    from evroam.node.wiring import build_node

    os.setpgrp()  # a terminal's Ctrl-C reaches the supervisor only
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="watch-parent").start()
    configure_logging(settings.log_level)
    node = build_node(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            node.app(worker=push),
            log_config=None,
            log_level=settings.log_level.lower(),
            access_log=False,  # the app logs one line per request itself (evroam.access)
            lifespan="on",
            server_header=False,
            http=guarded_protocol(limits),
            **server_options,  # TLS
        )
    )
    log.info("worker %d (pid %d) serving", number, os.getpid())
    server.run(sockets=[sock])
    if not server.started:  # start-up failed (the lifespan said why)
        sys.exit(3)


def supervise(
    settings: Settings,
    limits: ServeLimits,
    sock: socket.socket,
    *,
    workers: int,
    push: bool,
    server_options: Mapping[str, Any] | None = None,
) -> None:
    """Run ``workers`` worker processes on ``sock`` until SIGTERM/SIGINT; see the module docstring.

    Raises :class:`WorkersFailed` when the workers keep dying."""
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

    def start(number: int) -> BaseProcess:
        process = context.Process(
            target=_worker_main,
            args=(settings, limits, sock, push, number, os.getpid(), dict(server_options or {})),
            name=f"evroam-worker-{number}",
            daemon=False,
        )
        process.start()
        return process

    processes = {number: start(number) for number in range(workers)}
    deaths: deque[float] = deque()
    failure: str | None = None
    try:
        while not stopping.wait(0.2):
            for number, process in list(processes.items()):
                if process.is_alive():
                    continue
                code = process.exitcode
                now = time.monotonic()
                deaths.append(now)
                while deaths and deaths[0] < now - RESTART_WINDOW:
                    deaths.popleft()
                if len(deaths) >= MAX_RESTARTS:
                    failure = (
                        f"worker {number} exited ({code}); {len(deaths)} workers died within "
                        f"{RESTART_WINDOW:g} s: stopping"
                    )
                    stopping.set()
                    break
                log.error("worker %d (pid %s) exited (%s): restarting it", number, process.pid, code)
                processes[number] = start(number)
    finally:
        _stop_all(list(processes.values()))
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if failure is not None:
        raise WorkersFailed(failure)


def _stop_all(processes: list[BaseProcess]) -> None:
    for process in processes:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            log.warning("worker %s did not stop within %g s: killing it", process.pid, STOP_TIMEOUT)
            process.kill()
            process.join()
