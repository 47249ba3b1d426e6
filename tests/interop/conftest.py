"""Fixtures for the interoperability tests against extrawest-ocpi, an independent OCPI library.

The peer pins pydantic v1, so it lives in its own virtualenv, ``tests/interop/.venv-peer`` (git-ignored),
built on first use with ``pip`` from the package registry and reused while its pinned requirements stay
the same (a stamp file inside the virtualenv holds them). It runs as a separate process
(:mod:`tests.interop.peer_app`, with the peer virtualenv's own python) on 127.0.0.1.

When the virtualenv cannot be built (no registry, no pip), the tests are skipped with the reason; in CI
(``CI=true``) that is a failure instead, unless ``EVROAM_SKIP_INTEROP=1`` says to skip on purpose.
``EVROAM_SKIP_INTEROP=1`` skips them anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.nodes import REPO_ROOT, NodeProcess, free_port, stop_all

HERE = Path(__file__).resolve().parent
PEER_VENV = Path(os.environ.get("EVROAM_PEER_VENV", HERE / ".venv-peer"))
#: The peer and the ASGI server it is served with, pinned: the cache key of the virtualenv.
PEER_REQUIREMENTS = ("extrawest-ocpi==2025.7.16", "uvicorn==0.54.0")
PEER_APP = HERE / "peer_app.py"
STAMP = ".evroam-peer-requirements"
BUILD_TIMEOUT = 420.0


def _peer_python() -> Path:
    return PEER_VENV / "bin" / "python"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true" and os.environ.get("EVROAM_SKIP_INTEROP") != "1":
        pytest.fail(
            f"interop peer unavailable in CI: {reason} (set EVROAM_SKIP_INTEROP=1 to skip on purpose)"
        )
    pytest.skip(f"interop tests skipped: {reason}")


def build_peer_venv() -> Path:
    """The peer virtualenv's python, building (or rebuilding) the virtualenv when needed."""
    wanted = "\n".join(PEER_REQUIREMENTS) + "\n"
    python, stamp = _peer_python(), PEER_VENV / STAMP
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    steps: list[list[str]] = [
        [sys.executable, "-m", "venv", "--clear", str(PEER_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PEER_REQUIREMENTS],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            _unavailable(f"could not build the peer virtualenv ({' '.join(step[:4])}...): {exc}")
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            _unavailable(
                f"could not build the peer virtualenv: {' '.join(step[2:5])} failed: {' | '.join(tail)}"
            )
    stamp.write_text(wanted)
    return python


@pytest.fixture(scope="session")
def peer_python() -> Path:
    if os.environ.get("EVROAM_SKIP_INTEROP") == "1":
        pytest.skip("interop tests skipped: EVROAM_SKIP_INTEROP=1")
    return build_peer_venv()


@dataclass
class PeerProcess:
    """One extrawest-ocpi process (see :mod:`tests.interop.peer_app`)."""

    python: Path
    workdir: Path
    roles: Sequence[str]
    token_a: str = "peer-registration-token-A"
    versions: Sequence[str] = ("2.2.1",)
    country_code: str = "US"
    party_id: str = "PEE"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def versions_url(self) -> str:
        return f"{self.url}/ocpi/versions"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"peer-{'-'.join(self.roles)}-{self.port}.log"

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [str(self.python), str(PEER_APP), "--port", str(self.port), "--token-a", self.token_a]
        args += ["--country-code", self.country_code, "--party-id", self.party_id]
        for role in self.roles:
            args += ["--role", role]
        for version in self.versions:
            args += ["--version", version]
        with self.log_path.open("wb") as log:
            # the peer reads a .env file from its working directory: give it an empty one
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the peer exited early ({self.process.returncode}): {self.log()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/_peer/state", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        pytest.fail(f"the peer did not start within {timeout} s: {self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    # -- looking inside, acting as the peer's operator ------------------------------------------

    def state(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}/_peer/state", timeout=10)
        answer.raise_for_status()
        state: dict[str, Any] = answer.json()
        return state

    def objects(self, module: str, side: str) -> dict[str, Any]:
        found: dict[str, Any] = self.state()["objects"].get(f"{module}/{side}", {})
        return found

    def seed(self, module: str, objects: list[dict[str, Any]]) -> None:
        httpx.post(f"{self.url}/_peer/seed/{module}", json=objects, timeout=10).raise_for_status()

    def unseed(self, module: str, object_id: str) -> None:
        httpx.delete(f"{self.url}/_peer/seed/{module}/{object_id}", timeout=10).raise_for_status()

    def push(self, module: str, object_id: str, version: str = "2.2.1") -> dict[str, Any]:
        answer = httpx.post(
            f"{self.url}/_peer/push/{version}", json={"module": module, "object_id": object_id}, timeout=30
        )
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result


def evroam_failing(node: NodeProcess, *args: str) -> str:
    """Run ``evroam ARGS`` on ``node`` expecting a non-zero exit; what it printed (stdout, then stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "evroam", "--data-dir", str(node.data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=node.environ(),
    )
    assert done.returncode != 0, f"evroam {' '.join(args)} succeeded: {done.stdout[-2000:]}"
    return done.stdout + done.stderr


def restart_simulated(node: NodeProcess, *args: str) -> None:
    """Stop ``node``'s ``serve`` and serve it again as ``evroam simulate ARGS`` (simulated chargers for
    the node's own locations, which must be imported by then)."""
    node.stop()
    node.starts += 1
    command = [
        sys.executable,
        "-m",
        "evroam",
        "--data-dir",
        str(node.data_dir),
        "--log-level",
        node.log_level,
    ]
    with node.log_path(f"serve-{node.starts}").open("wb") as log:
        node.process = subprocess.Popen(
            [*command, "simulate", "--port", str(node.port), *args],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=node.environ(),
            cwd=REPO_ROOT,
        )
    node.wait_ready()


@pytest.fixture(scope="module")
def interop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interop")


@pytest.fixture(scope="module")
def peer_factory(peer_python: Path, interop_dir: Path) -> Iterator[Any]:
    """Start peers (``peer_factory(roles=["emsp"])``); all are stopped at the end of the module."""
    started: list[PeerProcess] = []

    def make(**kwargs: Any) -> PeerProcess:
        peer = PeerProcess(python=peer_python, workdir=interop_dir / "peer", **kwargs)
        started.append(peer)
        peer.start()
        return peer

    try:
        yield make
    finally:
        for peer in started:
            peer.stop()


@pytest.fixture(scope="module")
def node_factory(interop_dir: Path) -> Iterator[Any]:
    """Start evroam nodes (``node_factory("cpo", "NL", "EVR", "CPO")``); stopped at the end of the module."""
    started: list[NodeProcess] = []

    def make(
        name: str, country: str, party: str, role: str, env: dict[str, str] | None = None
    ) -> NodeProcess:
        node = NodeProcess(name, interop_dir / name, free_port(), env=env or {})
        node.evroam("init", "--country-code", country, "--party-id", party, "--role", role, "--url", node.url)
        started.append(node)
        node.start()
        node.wait_ready()
        return node

    try:
        yield make
    finally:
        stop_all(started)
