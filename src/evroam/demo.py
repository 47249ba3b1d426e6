"""``make demo``: a CPO with a simulated site and an eMSP, from nothing to a priced CDR, in one go.

    python -m evroam.demo [--dir demo-data] [--speed 600] [--minutes 60]

What it does, every step with the real ``evroam`` command line (each node is its own process, on
embedded SQLite, on a free port of 127.0.0.1):

1. creates two nodes in ``demo-data/`` (wiped first): a CPO (NL*CPO) with the demo site of
   :mod:`evroam.sim.site` (one location, three EVSEs, two tariffs) and an eMSP (DE*MSP);
2. starts them: the CPO with ``evroam simulate`` (its chargers simulated, ``--speed`` simulated seconds
   per real second while charging), the eMSP with ``evroam serve``;
3. registers them (the credentials handshake), pulls the CPO's locations and tariffs into the eMSP,
   imports the eMSP's tokens (pushed to the CPO) and lets the CPO authorize one in real time;
4. starts a session by command, lets it charge about ``--minutes`` simulated minutes, stops it by
   command, and waits for the CDR to reach the eMSP;
5. prints the handshake, the session timeline, the CDR with its price breakdown, and how to look at
   both nodes afterwards.

Every process it started is stopped at the end, also on failure or Ctrl-C. :func:`run_scenario` is the
same scenario as a function (the integration test runs it and checks the outcome).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import IO, Any, TextIO, TypeVar
from zoneinfo import ZoneInfo

import httpx

from evroam.core.clock import SystemClock
from evroam.model.cdrs import CDR
from evroam.model.common import Price
from evroam.model.enums import CdrDimensionType, SessionStatus
from evroam.model.sessions import Session
from evroam.sim import site

__all__ = ["DemoError", "DemoResult", "main", "run", "run_scenario"]

T = TypeVar("T")

CPO_PARTY = ("NL", "CPO")
EMSP_PARTY = ("DE", "MSP")
APP_TOKEN = "APP-0001"
RFID_TOKEN = "04A1B2C3D4"
EVSE = site.AC_EVSES[0]


class DemoError(RuntimeError):
    """A step of the demo failed; the message says which and why."""


# -- processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class NodeProcess:
    """One node: its data directory, port, and while it runs, its server process."""

    name: str
    data_dir: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.name}.log"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "evroam", "--data-dir", str(self.data_dir), *args]

    def run(self, *args: str, ok: Sequence[int] = (0,)) -> subprocess.CompletedProcess[str]:
        """One CLI command for this node; :class:`DemoError` with its stderr when it fails."""
        done = subprocess.run(
            self.command(*args), capture_output=True, text=True, timeout=90, check=False, env=self.env
        )
        if done.returncode not in ok:
            detail = (done.stderr.strip() or done.stdout.strip())[-1500:]
            raise DemoError(f"{self.name}: evroam {' '.join(args)} failed ({done.returncode}):\n{detail}")
        return done

    def json(self, *args: str, ok: Sequence[int] = (0,)) -> Any:
        return json.loads(self.run(*args, "--json", ok=ok).stdout)

    def serve(self, *args: str) -> None:
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(*args, "--port", str(self.port)),
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=self.env,
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise DemoError(f"{self.name} exited early; see {self.log_path}:\n{self._log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.05)
        raise DemoError(f"{self.name} did not answer on {self.url} within {timeout:g} s")

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-1500:]
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 10 s."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log is not None:
            self.log.close()
            self.log = None


def together(*calls: Callable[[], T]) -> list[T]:
    """Run independent CLI commands at the same time (each is its own process); results in order."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


# -- reading a node's data -------------------------------------------------------------------------


@dataclass
class Snapshot:
    """What a node holds: sessions and CDRs (its own and received)."""

    sessions: list[Session]
    cdrs: list[CDR]


async def _snapshot(data_dir: Path) -> Snapshot:
    from evroam.modules.cdrs import iter_cdr_records
    from evroam.modules.sessions import iter_session_records
    from evroam.store.factory import create_store

    store = create_store(None, data_dir)
    try:
        sessions = [record.session async for record in iter_session_records(store)]
        cdrs = [record.cdr async for record in iter_cdr_records(store)]
    finally:
        await store.close()
    return Snapshot(sessions, cdrs)


def snapshot(data_dir: Path) -> Snapshot:
    """A node's sessions and CDRs, read from its database (the node may be running)."""
    return asyncio.run(_snapshot(data_dir))


def wait_for(probe: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.1) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# -- output ----------------------------------------------------------------------------------------


class Report:
    """The demo's output for a person: numbered sections, the commands run, what they gave."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.section_no = 0
        self.started = time.monotonic()

    def section(self, title: str) -> None:
        self.section_no += 1
        elapsed = time.monotonic() - self.started
        self.out.write(
            f"\n== {self.section_no}. {title} {'=' * max(3, 72 - len(title))} [{elapsed:4.1f} s]\n"
        )
        self.out.flush()

    def command(self, node: NodeProcess, *args: str) -> None:
        shown = " ".join(_quote(a) for a in args)
        self.out.write(f"  $ evroam --data-dir {node.data_dir} {shown}\n")
        self.out.flush()

    def line(self, text: str = "") -> None:
        self.out.write(f"  {text}\n" if text else "\n")
        self.out.flush()


def _quote(arg: str) -> str:
    return arg if arg and all(c.isalnum() or c in "-_./:*=@" for c in arg) else json.dumps(arg)


def _money(price: Price | None) -> str:
    if price is None:
        return "-"
    after = price.after_taxes_total()
    return f"{price.before_taxes:>6} excl. VAT" + ("" if after is None else f"  {after:>6} incl. VAT")


def _num(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.001')):f}"


def _local(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%H:%M:%S")


def _volume(period: Any, kind: CdrDimensionType) -> Decimal:
    return sum((d.volume for d in period.dimensions if d.type is kind), Decimal(0))


# -- the scenario ----------------------------------------------------------------------------------


@dataclass
class DemoResult:
    """What the scenario produced (for the test, and for the summary)."""

    cpo_dir: Path
    emsp_dir: Path
    version: str
    handshake: dict[str, Any]
    authorization: dict[str, Any]
    start: dict[str, Any]
    stop: dict[str, Any]
    cpo_session: Session
    emsp_session: Session
    cpo_cdr: CDR
    emsp_cdr: CDR
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)
    """The server processes the demo started (all stopped when :func:`run_scenario` returns)."""


def _write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def _tokens(now: datetime) -> list[dict[str, Any]]:
    stamp = now.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    owner = {"country_code": EMSP_PARTY[0], "party_id": EMSP_PARTY[1]}
    return [
        {
            **owner,
            "uid": APP_TOKEN,
            "type": "APP_USER",
            "contract_id": "DE-MSP-C00001-1",
            "visual_number": "DE-MSP-C00001",
            "issuer": "Demo eMSP",
            "valid": True,
            "whitelist": "ALLOWED",
            "last_updated": stamp,
        },
        {
            **owner,
            "uid": RFID_TOKEN,
            "type": "RFID",
            "contract_id": "DE-MSP-C00002-7",
            "visual_number": "DE-MSP-C00002",
            "issuer": "Demo eMSP",
            "valid": True,
            "whitelist": "NEVER",
            "last_updated": stamp,
        },
    ]


def _node_env(extra: dict[str, str] | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.update(
        {
            "EVROAM_PUSH_POLL_INTERVAL": "0.05",
            "EVROAM_PUSH_BASE_DELAY": "0.2",
            "EVROAM_PUSH_MAX_DELAY": "2",
            "EVROAM_LOG_LEVEL": "INFO",
        }
    )
    env.update(extra or {})
    return env


def run_scenario(
    workdir: Path,
    *,
    out: TextIO = sys.stdout,
    speed: float = 600.0,
    minutes: float = 60.0,
    env: dict[str, str] | None = None,
) -> DemoResult:
    """Run the whole demo in ``workdir`` (emptied first) and return what it produced.

    Raises :class:`DemoError` when a step fails. Every process started is stopped before returning.
    """
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    environ = _node_env(env)
    cpo = NodeProcess("cpo", workdir / "cpo", free_port(), environ)
    emsp = NodeProcess("emsp", workdir / "emsp", free_port(), environ)
    report = Report(out)
    try:
        return _scenario(report, workdir, cpo, emsp, speed=speed, minutes=minutes)
    finally:
        for node in (emsp, cpo):
            node.stop()


def _scenario(
    report: Report, workdir: Path, cpo: NodeProcess, emsp: NodeProcess, *, speed: float, minutes: float
) -> DemoResult:
    now = SystemClock().now()
    report.section("Two nodes, each with its own embedded SQLite database")
    inits = []
    for node, party, role, name in (
        (cpo, CPO_PARTY, "CPO", "Demo CPO"),
        (emsp, EMSP_PARTY, "EMSP", "Demo eMSP"),
    ):
        args: tuple[str, ...] = ("init", "--country-code", party[0], "--party-id", party[1], "--role", role)
        args += (
            "--url",
            node.url,
            "--name",
            name,
            "--ocpi-version",
            "2.2.1",
        )  # the scenario is written in 2.2.1
        report.command(node, *args)
        inits.append(functools.partial(node.run, *args))
    together(*inits)
    locations = _write_json(workdir / "site-locations.json", site.demo_locations(*CPO_PARTY, now))
    tariffs = _write_json(workdir / "site-tariffs.json", site.demo_tariffs(*CPO_PARTY, now))
    imports = (("locations", "import", str(locations)), ("tariffs", "import", str(tariffs)))
    for args in imports:
        report.command(cpo, *args)
    together(*(functools.partial(cpo.json, *args) for args in imports))
    report.line(
        f"CPO {CPO_PARTY[0]}*{CPO_PARTY[1]}: location {site.LOCATION_ID} with EVSEs "
        f"{', '.join((*site.AC_EVSES, site.DC_EVSE))}; tariffs {site.AC_TARIFF}, {site.DC_TARIFF}"
    )

    report.section("Start them: the CPO with simulated chargers, the eMSP as a plain node")
    simulate = ("simulate", "--speed", f"{speed:g}", "--meter-interval", "300")
    report.command(cpo, *simulate, "--port", str(cpo.port))
    cpo.serve(*simulate)
    report.command(emsp, "serve", "--port", str(emsp.port))
    emsp.serve("serve")
    cpo.wait_ready()
    emsp.wait_ready()
    report.line(f"CPO at {cpo.url} (log {cpo.log_path}), eMSP at {emsp.url} (log {emsp.log_path})")
    report.line(f"simulated time runs {speed:g}x while a car charges (one hour = {3600 / speed:g} s)")

    report.section("Handshake: the eMSP registers with the CPO (OCPI credentials module)")
    report.command(cpo, "partners", "invite", "emsp")
    invitation = cpo.json("partners", "invite", "emsp")
    register = ("partners", "register", "--versions-url", invitation["versions_url"], "--name", "cpo")
    report.command(emsp, *register, "--token", "<token A>")
    handshake = emsp.json(*register, "--token", invitation["token"])
    version = handshake["version"]
    modules = sorted({e["module"] for e in handshake["endpoints"]})
    report.line(f"agreed OCPI {version}; the CPO is {', '.join(_role(r) for r in handshake['roles'])}")
    report.line(f"the CPO offers {len(handshake['endpoints'])} endpoints: {', '.join(modules)}")

    report.section("Locations and tariffs pulled by the eMSP; tokens pushed to the CPO")
    token_file = _write_json(workdir / "tokens.json", _tokens(now))
    steps: tuple[tuple[str, ...], ...] = (
        ("sync", "locations", "--partner", "cpo"),
        ("sync", "tariffs", "--partner", "cpo"),
    )
    steps += (("tokens", "import", str(token_file)),)
    for args in steps:
        report.command(emsp, *args)
    synced_locations, synced_tariffs, _ = together(*(functools.partial(emsp.json, *args) for args in steps))
    for module, synced in (("locations", synced_locations), ("tariffs", synced_tariffs)):
        report.line(f"{module}: {synced['fetched']} fetched, {synced['created']} new")
    wait_for(lambda: _received_tokens(cpo) or None, timeout=15, what="the tokens to reach the CPO")
    report.line(f"tokens {APP_TOKEN} (APP_USER, whitelist ALLOWED) and {RFID_TOKEN} (RFID, whitelist NEVER)")
    report.line("reached the CPO by push")

    report.section("Real-time authorization: the CPO asks the eMSP about an RFID card")
    authorize: tuple[str, ...] = (
        "tokens",
        "authorize",
        RFID_TOKEN,
        "--type",
        "RFID",
        "--location",
        site.LOCATION_ID,
    )
    authorize += ("--evse", EVSE)
    report.command(cpo, *authorize)
    authorization = cpo.json(*authorize, ok=(0, 1))
    report.line(f"{authorization['outcome']}: {authorization['reason']}")
    if authorization.get("authorization_reference"):
        report.line(f"authorization_reference {authorization['authorization_reference']}")

    report.section("Start a session by command (eMSP -> CPO -> charger -> result)")
    start_args: tuple[str, ...] = (
        "commands",
        "start-session",
        "--partner",
        "cpo",
        "--location",
        site.LOCATION_ID,
    )
    start_args += ("--evse", EVSE, "--token", APP_TOKEN)
    report.command(emsp, *start_args)
    begun = time.monotonic()
    start = emsp.json(*start_args)
    cli_seconds = time.monotonic() - begun
    _show_command(report, start)
    if start["outcome"] != "ACCEPTED":
        raise DemoError(f"the session did not start: {start['outcome']}")
    accepted_at = time.monotonic()
    reference = start["request"]["authorization_reference"]
    session = wait_for(
        lambda: _session(emsp, reference),
        timeout=20,
        what="the session to reach the eMSP",
    )
    report.line(f"session {session.id} is {session.status.value} at the eMSP: the driver plugged in")

    report.section(f"Charging about {minutes:g} simulated minutes ...")
    # the stop command takes about as long as the start command took to reach the CPO: send it early
    charge_for = minutes * 60 / speed
    time.sleep(max(0.0, accepted_at + charge_for - cli_seconds - time.monotonic()))
    stop_args = ("commands", "stop-session", "--partner", "cpo", "--session", str(session.id))
    report.command(emsp, *stop_args)
    stop = emsp.json(*stop_args)
    _show_command(report, stop)
    if stop["outcome"] != "ACCEPTED":
        raise DemoError(f"the session did not stop: {stop['outcome']}")

    report.section("The CDR reaches the eMSP")
    emsp_cdr = wait_for(lambda: _cdr(emsp, str(session.id)), timeout=20, what="the CDR at the eMSP")
    emsp_session = wait_for(
        lambda: _session(emsp, reference, final=True), timeout=20, what="the completed session at the eMSP"
    )
    cpo_view = snapshot(cpo.data_dir)
    cpo_session = next(s for s in cpo_view.sessions if s.id == session.id)
    cpo_cdr = next(c for c in cpo_view.cdrs if c.id == emsp_cdr.id)
    report.line(f"CDR {emsp_cdr.id}: posted by the CPO, stored by the eMSP")

    result = DemoResult(
        cpo_dir=cpo.data_dir,
        emsp_dir=emsp.data_dir,
        version=version,
        handshake=handshake,
        authorization=authorization,
        start=start,
        stop=stop,
        cpo_session=cpo_session,
        emsp_session=emsp_session,
        cpo_cdr=cpo_cdr,
        emsp_cdr=emsp_cdr,
        seconds=time.monotonic() - report.started,
        pids=[node.process.pid for node in (cpo, emsp) if node.process is not None],
    )
    _summary(report, result, cpo, emsp)
    return result


def _role(role: dict[str, Any]) -> str:
    return f"{role['country_code']}*{role['party_id']} ({role['role']})"


async def _count_received_tokens(data_dir: Path) -> int:
    from evroam.modules.tokens import TOKEN_KIND
    from evroam.store.factory import create_store

    store = create_store(None, data_dir)
    try:
        page = await store.find(TOKEN_KIND)
    finally:
        await store.close()
    return sum(1 for item in page.items if item.partner_id is not None)


def _received_tokens(cpo: NodeProcess) -> int:
    """How many tokens the CPO received (0 until both demo tokens are there)."""
    count = asyncio.run(_count_received_tokens(cpo.data_dir))
    return count if count >= 2 else 0


def _session(node: NodeProcess, reference: str, *, final: bool = False) -> Session | None:
    for session in snapshot(node.data_dir).sessions:
        if session.authorization_reference == reference and (
            session.status is SessionStatus.COMPLETED if final else True
        ):
            return session
    return None


def _cdr(node: NodeProcess, session_id: str) -> CDR | None:
    return next((c for c in snapshot(node.data_dir).cdrs if c.session_id == session_id), None)


def _show_command(report: Report, record: dict[str, Any]) -> None:
    response = record.get("response") or {}
    report.line(
        f"answer: {response.get('result', '-')} (the CPO will report within {response.get('timeout', '?')} s)"
    )
    for event in record.get("results", []):
        report.line(f"result: {event['result']} from the {event['source']}, at {event['at']}")
    report.line(f"outcome: {record['outcome']}  (command {record['id']})")


def _summary(report: Report, result: DemoResult, cpo: NodeProcess, emsp: NodeProcess) -> None:
    session, cdr = result.emsp_session, result.emsp_cdr
    zone = "Europe/Amsterdam"

    report.section("Session timeline, as the eMSP received it (simulated time, Europe/Amsterdam)")
    report.line(f"{_local(session.start_date_time, zone)}  ACTIVE on {session.evse_uid}, token {APP_TOKEN}")
    periods = list(session.charging_periods or ())
    running = Decimal(0)
    for index, period in enumerate(periods):
        running += _volume(period, CdrDimensionType.ENERGY)
        end = periods[index + 1].start_date_time if index + 1 < len(periods) else session.end_date_time
        power = _volume(period, CdrDimensionType.MAX_POWER)
        when = "--:--:--" if end is None else _local(end, zone)
        report.line(f"{when}  {running:>7} kWh   at {power} kW   (update {index + 1} of the session)")
    if session.end_date_time is not None:
        duration = (session.end_date_time - session.start_date_time).total_seconds() / 60
        report.line(f"{_local(session.end_date_time, zone)}  {session.status.value}: {session.kwh} kWh")
        report.line(f"          in {duration:.0f} simulated minutes; {len(periods)} charging periods pushed")

    report.section("The CDR and its price (priced by the tariff engine from the meter readings)")
    for tariff in cdr.tariffs or ():
        texts = "; ".join(t.text for t in tariff.tariff_alt_text or ())
        report.line(f"tariff {tariff.id}: {texts or '(no description)'}")
    report.line(f"start fee                       {_money(cdr.total_fixed_cost)}")
    report.line(f"energy      {_num(cdr.total_energy):>10} kWh   {_money(cdr.total_energy_cost)}")
    report.line(f"charging    {_num(cdr.total_time):>10} h     {_money(cdr.total_time_cost)}")
    if cdr.total_parking_time:
        report.line(f"parking     {_num(cdr.total_parking_time):>10} h     {_money(cdr.total_parking_cost)}")
    report.line(f"TOTAL ({cdr.currency})                     {_money(cdr.total_cost)}")
    report.line(f"{len(cdr.charging_periods)} CDR charging period(s), as the engine cut them")
    report.line(f"authorization_reference {cdr.authorization_reference} (from the start command)")
    same = _same(result)
    result.notes.append("same session and CDR on both nodes" if same else "the nodes DIFFER")
    report.line(
        "the CPO and the eMSP hold the same session and CDR" if same else "WARNING: the two nodes differ"
    )

    report.section("Look around (both nodes' data stays in place; start them again to continue)")
    for node in (emsp, cpo):
        received = " --received" if node is cpo else ""
        for what in ("sessions list", "cdrs list", f"commands list{received}"):
            report.line(f"evroam --data-dir {node.data_dir} {what}")
    report.line(f"evroam --data-dir {emsp.data_dir} commands show {result.start['id']}")
    report.line(f"evroam --data-dir {cpo.data_dir} outbox list")
    report.line(f"logs: {cpo.log_path}, {emsp.log_path}")
    report.line()
    report.line(f"done in {time.monotonic() - report.started:.1f} s; both nodes are stopped.")


def _same(result: DemoResult) -> bool:
    """Whether both nodes hold the same session and CDR, as OCPI ``version`` writes them."""
    from evroam.core.codec import encode
    from evroam.modules.cdrs import cdr_converters
    from evroam.modules.sessions import session_converters

    sessions = session_converters(result.version)
    cdrs = cdr_converters(result.version)
    return encode(sessions.session_from_model(result.cpo_session)) == encode(
        sessions.session_from_model(result.emsp_session)
    ) and encode(cdrs.cdr_from_model(result.cpo_cdr)) == encode(cdrs.cdr_from_model(result.emsp_cdr))


# -- entry point -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C: the scenario's cleanup stops every process it started."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m evroam.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("demo-data"), help="Working folder (emptied first).")
    parser.add_argument("--speed", type=float, default=600.0, help="Simulated seconds per real second.")
    parser.add_argument("--minutes", type=float, default=60.0, help="Simulated minutes of charging.")
    args = parser.parse_args(argv)
    out.write(f"evroam demo: a CPO and an eMSP on this machine, in {args.dir}/\n")
    try:
        with _interruptible():
            result = run_scenario(args.dir, out=out, speed=args.speed, minutes=args.minutes)
    except KeyboardInterrupt:
        out.write("\ninterrupted: every process the demo started is stopped\n")
        return 130
    except DemoError as exc:
        out.write(f"\ndemo failed: {exc}\nevery process the demo started is stopped\n")
        return 1
    return 0 if result.notes and result.notes[-1].startswith("same") else 1


def main() -> None:
    raise SystemExit(run())


if __name__ == "__main__":
    main()
