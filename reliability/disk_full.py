"""A full disk, then a read-only one, under an eMSP node on SQLite: clear errors, no damage, service back.

The eMSP's data directory lives on a small filesystem of its own (``mount -t tmpfs -o size=8m``; its logs
elsewhere). A CPO partner is stored in its database (as a handshake would leave it); this part, as that
CPO, PUTs Locations to the eMSP's Receiver (each a new object, so that every acknowledged write can be
looked for afterwards).

1. **Disk full.** A filler file takes every free byte; PUTs go on. They must be answered with a clear
   error (HTTP 503, OCPI envelope naming the disk) and the node's log must say so in a line, without a
   traceback; reads go on working. ``PRAGMA integrity_check`` must be ``ok`` and every write acknowledged
   before (and during) must still be there. Then the filler is deleted: the same process must accept
   writes again (time measured), no restart.
2. **Read-only.** The node is stopped, the filesystem remounted read-only, the node started: it must refuse
   to start with a one-line error naming the read-only database (no traceback), and start, with everything
   there, once the filesystem is writable again.

Without root (no ``mount``), a file-size limit on the node process (``RLIMIT_FSIZE``, set and lifted with
``prlimit``) stands in for the full disk and ``chmod`` for the read-only filesystem; the figures say which.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import os
import resource
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from evroam.testing import free_port
from reliability._crashkit import Node, Timer, admit_partner, make_locations
from reliability.result import Result

NAME = "disk_full"
TITLE = "A full disk and a read-only database under a node on SQLite"


class Squeeze:
    """A small filesystem for a data directory (tmpfs when we may mount), and the ways to fill it."""

    def __init__(self, base: Path) -> None:
        self.dir = base / "small"
        self.dir.mkdir()
        self.mounted = False
        if os.geteuid() == 0:
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(self.dir)],
                capture_output=True,
                text=True,
                check=False,
            )
            self.mounted = done.returncode == 0
        self.filler = self.dir / "filler"
        self.limited_pid: int | None = None

    @property
    def method(self) -> str:
        return "tmpfs 8 MiB" if self.mounted else "RLIMIT_FSIZE on the node process"

    def fill(self, pid: int, files: list[Path]) -> int:
        """Take every free byte (tmpfs), or stop the node's files from growing (no mount)."""
        if not self.mounted:
            size = max(f.stat().st_size for f in files if f.exists())
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))
            self.limited_pid = pid
            return 0
        written = 0
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for chunk in (1 << 16, 1 << 12, 1 << 9):
                try:
                    while True:
                        written += os.write(fd, b"\0" * chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
        finally:
            os.close(fd)
        return written

    def free(self) -> None:
        if self.limited_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                resource.prlimit(self.limited_pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)
            self.limited_pid = None
        self.filler.unlink(missing_ok=True)

    def read_only(self, on: bool, data_dir: Path) -> bool:
        """Make the data directory's filesystem read-only (or writable again); False if we cannot."""
        if self.mounted:
            option = "remount,ro" if on else "remount,rw"
            return subprocess.run(["mount", "-o", option, str(self.dir)], check=False).returncode == 0
        if os.geteuid() == 0:
            return False  # chmod does not stop root
        for path in [data_dir, *data_dir.iterdir()]:
            mode = 0o500 if path.is_dir() else 0o400
            path.chmod(mode if on else (0o700 if path.is_dir() else 0o600))
        return True

    def close(self) -> None:
        self.free()
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,rw", str(self.dir)], check=False, capture_output=True)
            subprocess.run(["umount", "-l", str(self.dir)], check=False, capture_output=True)
            self.mounted = False


def integrity(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return ";".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall())
    finally:
        conn.close()


def stored_ids(node: Node) -> set[str]:
    return {str(r[0]) for r in node.query("SELECT object_id FROM evroam_objects WHERE kind = 'location'")}


def run(quick: bool) -> Result:
    result = Result(NAME, TITLE)
    before, during = (20, 30) if quick else (200, 400)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="evroam-rel-disk-") as tmp:
        base = Path(tmp)
        squeeze = Squeeze(base)
        method = squeeze.method
        emsp = Node("emsp", squeeze.dir / "emsp", free_port(), log_dir=base)
        token = "disk-full-partner-token"
        try:
            emsp.init("DE", "MSP", "EMSP")
            admit_partner(emsp, token)
            emsp.start()
            emsp.wait_ready()
            _scenario(result, figures, squeeze, emsp, token, before, during)
        finally:
            emsp.stop()
            squeeze.close()
    figures["method"] = method
    result.figures = figures
    result.notes = (
        f"An eMSP node on SQLite whose data directory is on a small filesystem ({method}); "
        "each write is a PUT of a new Location (6 EVSEs), so that every acknowledged one can be found. "
        "Disk full: a filler file takes every free byte while the node runs; then it is deleted. Read-only: "
        "the node is stopped, the filesystem remounted read-only, the node started (it must refuse clearly), "
        "then the filesystem made writable and the node started again."
    )
    return result


def _scenario(
    result: Result,
    figures: dict[str, Any],
    squeeze: Squeeze,
    emsp: Node,
    token: str,
    before: int,
    during: int,
) -> None:
    headers = {"Authorization": "Token " + base64.b64encode(token.encode()).decode()}
    client = httpx.Client(headers=headers, timeout=30)
    url = f"{emsp.url}/ocpi/2.2.1/receiver/locations/NL/CPO"
    acked: set[str] = set()
    counter = iter(range(1_000_000))
    template = make_locations(1, 6)[0]

    def put() -> tuple[str, httpx.Response | None, float]:
        loc = {**template, "id": f"X{next(counter):05d}", "name": "Disk full test location"}
        timer = Timer()
        try:
            answer: httpx.Response | None = client.put(f"{url}/{loc['id']}", json=loc)
        except httpx.HTTPError:
            answer = None
        if (
            answer is not None
            and answer.status_code in (200, 201)
            and answer.json().get("status_code") == 1000
        ):
            acked.add(loc["id"])
        return loc["id"], answer, timer()

    try:
        for _ in range(before):
            put()
        figures["acknowledged_before"] = len(acked)
        pid = emsp.process.pid if emsp.process else 0
        db = emsp.db_path

        # -- disk full --------------------------------------------------------------------------------
        figures["filler_bytes"] = squeeze.fill(pid, [db, Path(f"{db}-wal")])
        answers: list[tuple[int | None, int | None, str, float]] = []
        for _ in range(during):
            _, answer, seconds = put()
            if answer is None:
                answers.append((None, None, "no answer", seconds))
                continue
            try:
                body = answer.json()
            except ValueError:
                body = {}
            answers.append(
                (answer.status_code, body.get("status_code"), str(body.get("status_message")), seconds)
            )
        failed = [a for a in answers if a[0] not in (200, 201)]
        clear = [a for a in failed if a[0] == 503 and a[1] == 3000 and "disk full" in a[2]]
        some = next(iter(acked))
        read = client.get(f"{url}/{some}")
        log = emsp.serve_log.read_text(errors="replace")
        figures["disk_full"] = {
            "writes": len(answers),
            "acknowledged": len(answers) - len(failed),
            "refused": len(failed),
            "answers": _histogram(answers),
            "message": sorted({a[2] for a in failed})[:3],
            "refusal_max_ms": round(max((a[3] for a in failed), default=0) * 1000, 1),
            "read_while_full": read.status_code,
        }
        result.check(
            "disk full: a clear error to the partner",
            bool(failed) and len(clear) == len(failed),
            f"{len(failed)} of {len(answers)} writes refused, {len(clear)} as 503/3000 naming the full disk; "
            f"answers {_histogram(answers)}",
        )
        lines = log.count("the database is unavailable (disk full)")
        result.check(
            "disk full: the log says so, without a traceback",
            lines > 0 and "Traceback" not in log,
            f"{lines} lines 'the database is unavailable (disk full)', {log.count('Traceback')} tracebacks",
        )
        check = integrity(db)
        missing = acked - stored_ids(emsp)
        result.check(
            "disk full: nothing corrupted or lost",
            check == "ok" and not missing and read.status_code == 200,
            f"integrity_check {check}; {len(missing)} of {len(acked)} acknowledged writes missing; "
            f"a read while full: HTTP {read.status_code}",
        )

        # -- space returns ------------------------------------------------------------------------------
        squeeze.free()
        timer = Timer()
        first_ok = None
        for _ in range(200):
            _, answer, _ = put()
            if answer is not None and answer.status_code in (200, 201):
                first_ok = timer()
                break
            time.sleep(0.05)
        after = [put()[1] for _ in range(20)]
        resumed = sum(1 for a in after if a is not None and a.status_code in (200, 201))
        same = emsp.running and emsp.process is not None and emsp.process.pid == pid
        figures["resume_s"] = None if first_ok is None else round(first_ok, 3)
        result.check(
            "disk full: service resumes without a restart",
            first_ok is not None and resumed == len(after) and same,
            f"first write accepted {figures['resume_s']} s after space returned; {resumed} of {len(after)} "
            f"next writes accepted; same process: {same}",
        )

        # -- read-only ----------------------------------------------------------------------------------
        emsp.stop()
        if squeeze.read_only(True, emsp.data_dir):
            timer = Timer()
            emsp.start()
            assert emsp.process is not None
            try:
                code = emsp.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                code = None
            refused_s = timer()
            log = emsp.serve_log.read_text(errors="replace")
            squeeze.read_only(False, emsp.data_dir)
            named = "read-only" in log
            result.check(
                "read-only: refuses to start, saying why in one line",
                code not in (None, 0) and named and "Traceback" not in log,
                f"exit status {code} after {refused_s:.1f} s; names the read-only database: {named}; "
                f"tracebacks: {log.count('Traceback')}; last line: "
                + _last_line(log).replace(str(squeeze.dir), "<the small filesystem>"),
            )
            emsp.stop()
        else:
            figures["read_only"] = "not run: this user can neither mount nor be stopped by file modes (root)"
        emsp.start()
        emsp.wait_ready()
        _, answer, _ = put()
        check = integrity(db)
        missing = acked - stored_ids(emsp)
        result.check(
            "afterwards: integrity ok, every acknowledged write there, writes accepted",
            check == "ok" and not missing and answer is not None and answer.status_code in (200, 201),
            f"integrity_check {check}; {len(missing)} of {len(acked)} acknowledged writes missing",
        )
        figures["acknowledged_total"] = len(acked)
    finally:
        client.close()


def _last_line(log: str) -> str:
    lines = log.strip().splitlines()
    return lines[-1][:200] if lines else ""


def _histogram(answers: list[tuple[int | None, int | None, str, float]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for http, ocpi, _, _ in answers:
        key = f"{http}/{ocpi}" if http is not None else "no answer"
        out[key] = out.get(key, 0) + 1
    return out
