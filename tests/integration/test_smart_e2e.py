"""Smart charging over real sockets: a CPO node served by ``evroam simulate`` (4 EVSEs, cars taking 11 kW)
with an 11 kW site (``evroam smart site set``), an eMSP node starting and stopping 6 overlapping
sessions through OCPI commands, and an OpenADR 2.0b VTN (openleadr's OpenADRServer) on 127.0.0.1 whose
event lowers the site to 7 kW for ten minutes of simulated time, starting ten minutes after the cars
arrive (simulated time runs 240 times real time while they charge). The event is announced before the
cars come, while the site is idle, so that the VEN's poll does not race simulated time; the eMSP's
commands run in this process (the same ``evroam commands`` CLI, without a Python start-up per call).

The site's load is rebuilt from the sessions' charging periods (each period's MAX_POWER holds for its
duration): never above 11 kW, never above 7 kW in the event's window (the manager plans the window's
limit from its first second), and every session gets energy.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from click.testing import CliRunner

from evroam.cli import cli
from evroam.core.clock import SystemClock
from evroam.core.types import DateTime
from evroam.sim import site
from tests.integration.nodes import NodeProcess, free_port, stop_all, wait_until
from tests.integration.test_commands_e2e import TOKEN, SimulatedCpo, tokens_json

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

EVSES = ("SMART-1", "SMART-2", "SMART-3", "SMART-4")
VEN = "ven-smart"
SPEED = "240"  # simulated seconds per second while the cars charge
LEAD, WINDOW, TAIL = 10, 10, 5  # minutes of simulated time: before the event, the event, after it


def _locations() -> list[dict[str, Any]]:
    locations = site.demo_locations("NL", "CPO", SystemClock().now())
    ac = next(e for e in locations[0]["evses"] if e["uid"] == site.AC_EVSES[0])
    locations[0]["evses"] = [
        {**ac, "uid": uid, "evse_id": f"NL*CPO*ES{i}", "physical_reference": str(i)}
        for i, uid in enumerate(EVSES, start=1)
    ]
    return locations


class Vtn:
    """openleadr's VTN on its own event loop in a thread."""

    def __init__(self, port: int) -> None:
        from openleadr import OpenADRServer

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.opted: list[str] = []
        self.server = OpenADRServer(
            vtn_id="test-vtn", http_host="127.0.0.1", http_port=port, requested_poll_freq=timedelta(seconds=1)
        )
        self.server.add_handler("on_create_party_registration", self._register)
        self.url = f"http://127.0.0.1:{port}/OpenADR2/Simple/2.0b"
        self._call(self.server.run_async())

    async def _register(self, info: dict[str, Any]) -> tuple[str, str]:
        return VEN, "reg-smart"

    async def _opt(self, ven_id: str, event_id: str, opt_type: str) -> None:
        self.opted.append(opt_type)

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def add_event(self, start: datetime, minutes: int, limit_kw: float) -> None:
        async def add() -> None:
            self.server.add_event(
                ven_id=VEN,
                signal_name="LOAD_CONTROL",
                signal_type="x-loadControlCapacity",
                intervals=[
                    {"dtstart": start, "duration": timedelta(minutes=minutes), "signal_payload": limit_kw}
                ],
                callback=self._opt,
            )

        self._call(add())

    def close(self) -> None:
        self._call(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimulatedCpo, NodeProcess, Vtn]]:
    tmp = tmp_path_factory.mktemp("smart")
    env = {"EVROAM_PUSH_POLL_INTERVAL": "0.05", "EVROAM_COMMANDS_GRACE": "1"}
    vtn = Vtn(free_port())
    cpo = SimulatedCpo("cpo", tmp / "cpo", free_port(), env=env)
    cpo.simulate_args = (
        "--speed",
        SPEED,
        "--meter-interval",
        "300",
        "--plug-delay",
        "5",
        "--unplug-delay",
        "5",
    )
    emsp = NodeProcess("emsp", tmp / "emsp", free_port(), env=env)
    try:
        (tmp / "locations.json").write_text(json.dumps(_locations()))
        (tmp / "tariffs.json").write_text(json.dumps(site.demo_tariffs("NL", "CPO", SystemClock().now())))
        (tmp / "tokens.json").write_text(json.dumps(tokens_json()))
        smart = ("smart", "site", "set", site.LOCATION_ID, "--limit-kw", "11", "--prices", "tariff")
        _ok(cpo, "init", "--country-code", "NL", "--party-id", "CPO", "--role", "CPO", "--url", cpo.url)
        _ok(cpo, "tariffs", "import", str(tmp / "tariffs.json"))
        _ok(cpo, "locations", "import", str(tmp / "locations.json"))
        _ok(cpo, *smart, "--vtn-url", vtn.url, "--ven-name", "smart-site")
        _ok(emsp, "init", "--country-code", "DE", "--party-id", "MSP", "--role", "EMSP", "--url", emsp.url)
        _ok(emsp, "tokens", "import", str(tmp / "tokens.json"))
        cpo.start()
        emsp.start()
        cpo.wait_ready()
        emsp.wait_ready()
        invitation = _evroam(cpo, "partners", "invite", "emsp")
        register = ("partners", "register", "--versions-url", invitation["versions_url"], "--name", "cpo")
        _ok(emsp, *register, "--token", invitation["token"])
        yield cpo, emsp, vtn
    finally:
        stop_all([emsp, cpo])
        vtn.close()


def _sessions(cpo: NodeProcess) -> dict[str, dict[str, Any]]:
    out = {}
    for payload, _, _ in cpo.documents("session"):
        session = json.loads(payload)
        out[session["id"]] = session
    return out


_CLI = threading.Lock()


def _evroam(node: NodeProcess, *args: str) -> Any:
    """``evroam --data-dir DIR ARGS --json`` for ``node``, run in this process (one at a time: CliRunner
    swaps the standard streams and the environment) against the data directory its ``serve`` process
    uses: the same command as in a shell, without a Python start-up per call (seconds each on a loaded
    machine). Its JSON output, or ``None`` when it printed nothing."""
    with _CLI:
        done = CliRunner().invoke(
            cli,
            ["--data-dir", str(node.data_dir), "--log-level", "WARNING", *args, "--json"],
            env={**node.env, "EVROAM_INIT_OCPI_VERSION": "2.2.1"},
        )
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        raise done.exception
    return json.loads(done.stdout) if done.stdout.strip() else None


def _ok(node: NodeProcess, *args: str) -> Any:
    """:func:`_evroam`, which must succeed."""
    with _CLI:
        done = CliRunner().invoke(
            cli,
            ["--data-dir", str(node.data_dir), "--log-level", "WARNING", *args],
            env={**node.env, "EVROAM_INIT_OCPI_VERSION": "2.2.1"},
        )
    assert done.exit_code == 0, (args, done.output, done.exception)
    return done.stdout


def _emsp_command(emsp: NodeProcess, *args: str) -> dict[str, Any]:
    """``evroam commands ARGS --json`` on the eMSP node."""
    found = _evroam(emsp, "commands", *args)
    assert isinstance(found, dict), found
    return found


def _start(cpo: NodeProcess, emsp: NodeProcess, evse: str, *, wait: bool = True) -> str:
    """Start a session on ``evse``; ``wait=False`` takes the CPO's synchronous ACCEPTED (for a free EVSE:
    the session then shows up) rather than waiting for the charger's result (needed on an EVSE a car
    is leaving, where a start is retried until the charger takes it)."""

    def attempt() -> str | None:
        started = _emsp_command(
            emsp, "start-session", "--partner", "cpo", "--location", site.LOCATION_ID, "--evse", evse,
            "--token", TOKEN, *(() if wait else ("--no-wait",)),
        )  # fmt: skip
        outcome = str(started.get("outcome"))
        accepted = outcome == "ACCEPTED" if wait else outcome.startswith("ACCEPTED")
        return str(started["request"]["authorization_reference"]) if accepted else None

    reference = wait_until(attempt, timeout=30, what=f"a start on {evse} accepted", interval=0.5)

    def probe() -> str | None:
        return next(
            (sid for sid, s in _sessions(cpo).items() if s.get("authorization_reference") == reference), None
        )

    return wait_until(probe, timeout=30, what=f"the session on {evse}")


def _stop(emsp: NodeProcess, session_id: str) -> None:
    """Stop a session (the CPO's ACCEPTED; the session's COMPLETED status is awaited by the caller)."""
    done = _emsp_command(emsp, "stop-session", "--partner", "cpo", "--session", session_id, "--no-wait")
    assert str(done.get("outcome")).startswith("ACCEPTED"), done


def _come_and_go(cpo: NodeProcess, emsp: NodeProcess, evse: str, *, replaced: bool) -> tuple[str, str | None]:
    """A car arrives at ``evse``; when ``replaced``, it leaves once it has had energy and another one
    comes. The session ids."""
    first = _start(cpo, emsp, evse, wait=False)
    if not replaced:
        return first, None
    wait_until(
        lambda: Decimal(str(_sessions(cpo)[first].get("kwh") or 0)) > 0, timeout=30, what=f"energy on {evse}"
    )
    _stop(emsp, first)
    return first, _start(cpo, emsp, evse)  # retried until the charger takes it (the first car unplugs)


def _plan(cpo: NodeProcess) -> dict[str, Any] | None:
    """The plan the CPO's manager wrote (what `evroam smart status` shows; read directly: a poll)."""
    path = cpo.data_dir / "smart" / f"plan-{site.LOCATION_ID}.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return None


def _solved_at(cpo: NodeProcess) -> DateTime | None:
    plan = _plan(cpo)
    return DateTime.parse(plan["solved_at"]) if plan and plan.get("solved_at") else None


def _load(sessions: list[dict[str, Any]]) -> list[tuple[datetime, datetime, Decimal]]:
    """(start, end, site kW) for each stretch between two changes of any session's power."""
    spans = []
    for session in sessions:
        periods = session.get("charging_periods") or []
        for k, period in enumerate(periods):
            dims = {d["type"]: Decimal(str(d["volume"])) for d in period["dimensions"]}
            start = DateTime.parse(period["start_date_time"])
            if k + 1 < len(periods):  # a period lasts until the next one starts (durations are rounded)
                end: datetime = DateTime.parse(periods[k + 1]["start_date_time"])
            else:
                end = start + timedelta(hours=float(dims.get("TIME", dims.get("PARKING_TIME", Decimal(0)))))
            spans.append((start, end, dims.get("MAX_POWER", Decimal(0))))
    edges = sorted({t for a, b, _ in spans for t in (a, b)})
    return [
        (a, b, sum((p for s, e, p in spans if s <= a and b <= e), Decimal(0)))
        for a, b in itertools.pairwise(edges)
    ]


def test_site_limit_over_real_sockets_with_an_openadr_event(
    setup: tuple[SimulatedCpo, NodeProcess, Vtn],
) -> None:
    cpo, emsp, vtn = setup
    # the event is announced while the site is idle (simulated time then runs at real speed): the
    # window opens LEAD minutes after the cars arrive, whatever the VEN's poll takes
    now = wait_until(lambda: _solved_at(cpo), timeout=30, what="the manager's first plan")
    window = (now + timedelta(minutes=LEAD), now + timedelta(minutes=LEAD + WINDOW))
    vtn.add_event(window[0], WINDOW, 7.0)
    wait_until(
        lambda: ((p := _plan(cpo)) and p["events"]) or None, timeout=30, what="the VEN to get the event"
    )
    with ThreadPoolExecutor(max_workers=4) as pool:  # two cars leave, two others come: 6 sessions in all
        chains = [pool.submit(_come_and_go, cpo, emsp, evse, replaced=evse in EVSES[:2]) for evse in EVSES]
        runs = [chain.result() for chain in chains]
    first = [sid for sid, _ in runs]
    later = [sid for _, sid in runs if sid is not None]
    wait_until(
        lambda: ((t := _solved_at(cpo)) is not None and t >= window[1] + timedelta(minutes=TAIL)) or None,
        timeout=60,
        what="simulated time past the event",
    )
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda sid: _stop(emsp, sid), [*first[2:], *later]))
    ids = [*first, *later]

    def completed() -> dict[str, dict[str, Any]] | None:
        found = _sessions(cpo)
        return found if all(found[i]["status"] == "COMPLETED" for i in ids) else None

    sessions = wait_until(completed, timeout=60, what="every session completed")

    load = _load([sessions[i] for i in ids])
    assert max(kw for _, _, kw in load) <= Decimal("11.0")
    assert max(kw for a, b, kw in load if a < window[1] and b > window[0]) <= Decimal("7.0")
    assert max(kw for a, b, kw in load if b <= window[0]) > Decimal("7.0")  # 11 kW used before the event
    assert all(Decimal(str(sessions[i]["kwh"])) > 0 for i in ids), {i: sessions[i]["kwh"] for i in ids}
    assert vtn.opted and set(vtn.opted) == {"optIn"}
    (status,) = cpo.json("smart", "status")  # the command shows the plan and the event
    assert status["events"][0]["limit_kw"] == 7.0 and status["location_id"] == site.LOCATION_ID
