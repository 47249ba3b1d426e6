"""Benchmark of one CPO's EVSE status reaching both protocols: its OCPI eMSP and the OICP hub.

    .venv/bin/python bench/bridge.py [--changes 20] [--via charger|cli] [--openapi DIR] [--keep] [--json]

Sets up, in a temporary directory, the setup of ``tests/integration/test_bridge_both.py``: a CPO
``DE*ABC`` served by ``evroam simulate --oicp-port`` (its three EVSEs simulated), an OCPI eMSP ``DE*MSP``
(``evroam serve``) registered with it that pulled its locations once, the OICP test hub (in this process,
mutual TLS with certificates from a throw-away CA) to which the CPO is connected, and an OICP EMP ``DE-XYZ``
(``evroam serve --oicp-port``) connected to the hub. The nodes keep their default push settings.

Then ``--changes`` status changes of the CPO's EVSE E3, one after the other, made one of two ways:

* ``--via charger`` (default): at the simulated charger, inside the CPO's process, as a charger's own
  status changes come: a reservation of E3 and its cancellation, alternately (RESERVED / AVAILABLE),
  asked of the CPO through the hub with OICP AuthorizeRemoteReservationStart / Stop (this script plays
  the EMP for those calls, with the EMP's certificate). The status change wakes the CPO's push worker;
* ``--via cli``: ``evroam locations set-status E3 S`` from another process, alternately OUTOFORDER and
  AVAILABLE. The CPO's push worker learns of it by polling its outbox (``EVROAM_PUSH_POLL_INTERVAL``,
  0.5 s unless set), which this figure then includes.

For each change, two latencies from the change's commit (the EVSE's ``last_updated``, written by the CPO
with its clock, the same machine's) to:

* **ocpi**: the eMSP's stored copy of the EVSE holds the new status (the CPO's OCPI PATCH, read from the
  eMSP's SQLite file, polled in a thread of its own);
* **oicp_hub**: the hub received the CPO's ``eRoamingPushEvseStatus`` with it (what an EMP's status pull
  then answers; polled in the hub's event loop).

Both are polled every millisecond; the next change is made once both sides have the previous one. The
EMP pulls the status at the end (``evroam oicp pull evse-status``) as a check that it sees the last change.
Reported: p50 / p95 / max per side (ms); results in ``bench/results/bridge.json``. Only meaningful on a
quiet machine: the figures include both nodes' work and the hub's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from evroam.core.codec import decode
from evroam.http.oicp import OicpClient
from evroam.model.locations import Location
from evroam.oicp import messages as m
from evroam.oicp.operations import by_name
from evroam.oicp.tls import TlsFiles
from evroam.testing import NodeProcess, free_port, stop_all
from evroam.testing.oicp_hub import OicpTestHub

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "bridge.json"
OPENAPI = REPO.parent / "shared" / "spec" / "oicp" / "openapi"
CPO_ID, EMP_ID = "DE*ABC", "DE-XYZ"
EVSE_UID, EVSE_ID = "E3", "DE*ABC*E3"
STATUSES = {
    "charger": (("RESERVED", "Reserved"), ("AVAILABLE", "Available")),
    "cli": (("OUTOFORDER", "OutOfService"), ("AVAILABLE", "Available")),
}
CONTRACT = "DE-XYZ-C12345678-9"
STAMP = "2026-03-02T09:00:00Z"


class SimulatedCpo(NodeProcess):
    """A node served by ``evroam simulate`` instead of ``serve``."""

    def _popen_serve(self, log: IO[bytes], serve_args: Sequence[str]) -> subprocess.Popen[bytes]:
        command = [*self._command("simulate", "--port", str(self.port)), *serve_args]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=self.environ())


def _certificates(folder: Path) -> dict[str, TlsFiles]:
    import trustme

    ca = trustme.CA()
    folder.mkdir(parents=True, exist_ok=True)
    ca_path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    out = {}
    for name in ("hub", CPO_ID, EMP_ID):
        cert = ca.issue_cert("127.0.0.1", "localhost", common_name=name)
        slug = "".join(c if c.isalnum() else "_" for c in name)
        cert_path, key_path = folder / f"{slug}.pem", folder / f"{slug}.key"
        for i, blob in enumerate(cert.cert_chain_pems):
            blob.write_to_path(str(cert_path), append=i > 0)
        cert.private_key_pem.write_to_path(str(key_path))
        out[name] = TlsFiles(cert=str(cert_path), key=str(key_path), ca=str(ca_path))
    return out


def _location() -> dict[str, Any]:
    connector = {
        "id": "1",
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 230,
        "max_amperage": 16,
        "last_updated": STAMP,
    }
    return {
        "country_code": "DE",
        "party_id": "ABC",
        "id": "LOC1",
        "publish": True,
        "address": "Hauptstrasse 5",
        "city": "Berlin",
        "postal_code": "10115",
        "country": "DEU",
        "coordinates": {"latitude": "52.520000", "longitude": "13.405000"},
        "time_zone": "Europe/Berlin",
        "last_updated": STAMP,
        "evses": [
            {
                "uid": f"E{i}",
                "evse_id": f"DE*ABC*E{i}",
                "status": "AVAILABLE",
                "connectors": [connector],
                "last_updated": STAMP,
            }
            for i in (1, 2, 3)
        ],
    }


def _stored_location(payload: bytes) -> Location:
    location: Location = decode(payload, Location)
    return location


def _emsp_status(emsp: NodeProcess) -> str | None:
    for payload, _, _ in emsp.documents("location", own=False):
        for evse in _stored_location(payload).evses or ():
            if str(evse.evse_id) == EVSE_ID:
                return evse.status.value
    return None


def _hub_has(hub: OicpTestHub, since: int, status: str) -> bool:
    for x in hub.traffic[since:]:
        if x.direction == "in" and x.operation == "eRoamingPushEvseStatus":
            for r in x.request["OperatorEvseStatus"]["EvseStatusRecord"]:
                if r["EvseID"] == EVSE_ID and r["EvseStatus"] == status:
                    return True
    return False


def _committed(cpo: NodeProcess) -> float:
    """When the CPO committed the latest change of E3 (its ``last_updated``), as a POSIX time."""
    for payload, _, _ in cpo.documents("location", own=True):
        for evse in _stored_location(payload).evses or ():
            if str(evse.uid) == EVSE_UID:
                return evse.last_updated.timestamp()
    raise SystemExit("the CPO has no EVSE E3")


async def _wait(probe: Any, what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

    return {"p50_ms": pct(0.50), "p95_ms": pct(0.95), "max_ms": pct(1.0), "samples": len(ordered)}


async def bench(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    tls = _certificates(root / "pki")
    hub = OicpTestHub(openapi=args.openapi, tls=tls["hub"])
    await hub.start()
    cpo = SimulatedCpo("cpo", root / "cpo", free_port())
    emsp = NodeProcess("emsp", root / "emsp", free_port())
    emp = NodeProcess("emp", root / "emp", free_port())
    nodes = [cpo, emsp, emp]

    async def cli(node: NodeProcess, *cmd: str) -> str:
        return (await asyncio.to_thread(node.evroam, *cmd)).stdout

    def files(name: str) -> tuple[str, ...]:
        return ("--cert", tls[name].cert, "--key", tls[name].key, "--ca", tls[name].ca)

    try:
        hub_url = hub.url + "/api/oicp"
        await asyncio.to_thread(cpo.init, "DE", "ABC", "CPO")
        await cli(cpo, "oicp", "connect", "--hub-url", hub_url, "--operator-id", CPO_ID, "--name", "ABC",
                  *files(CPO_ID))  # fmt: skip
        locations = root / "locations.json"
        locations.write_text(json.dumps([_location()]))
        await cli(cpo, "locations", "import", str(locations))
        await asyncio.to_thread(emsp.init, "DE", "MSP", "EMSP")
        await asyncio.to_thread(emp.init, "DE", "XYZ", "EMSP")
        await cli(emp, "oicp", "connect", "--hub-url", hub_url, "--provider-id", EMP_ID, *files(EMP_ID))
        cpo_oicp, emp_oicp = free_port(), free_port()
        cpo.start("--oicp-port", str(cpo_oicp))
        emsp.start()
        emp.start("--oicp-port", str(emp_oicp))
        for node in nodes:
            await asyncio.to_thread(node.wait_ready)
        hub.register("CPO", CPO_ID, f"https://127.0.0.1:{cpo_oicp}")
        hub.register("EMP", EMP_ID, f"https://127.0.0.1:{emp_oicp}")
        invitation = json.loads(await cli(cpo, "partners", "invite", "emsp", "--json"))
        await cli(emsp, "partners", "register", "--versions-url", cpo.versions_url,
                  "--token", invitation["token"], "--name", "cpo")  # fmt: skip
        await cli(emsp, "sync", "locations", "--partner", "cpo")
        await _wait(lambda: _emsp_status(emsp) == "AVAILABLE", "the eMSP's copy of the locations")
        await _wait(lambda: _hub_has(hub, 0, "Available"), "the CPO's EVSEs at the hub")

        ocpi: list[float] = []
        oicp: list[float] = []
        statuses = STATUSES[args.via]
        as_emp = OicpClient(hub.url, tls[EMP_ID], rate_limits=False)
        reservation: str | None = None

        async def change(status: str) -> None:
            nonlocal reservation
            if args.via == "cli":
                await cli(cpo, "locations", "set-status", EVSE_UID, status)
            elif reservation is None:
                ident = m.Identification(RemoteIdentification=m.RemoteIdentification(EvcoID=CONTRACT))
                ack = await as_emp.call(
                    by_name("eRoamingAuthorizeRemoteReservationStart"),
                    EMP_ID,
                    m.AuthorizeRemoteReservationStart(
                        ProviderID=EMP_ID, EvseID=EVSE_ID, Identification=ident, Duration=60
                    ),
                )
                if not ack.Result or ack.SessionID is None:
                    raise SystemExit(f"the reservation was refused: {ack}")
                reservation = ack.SessionID
            else:
                ack = await as_emp.call(
                    by_name("eRoamingAuthorizeRemoteReservationStop"),
                    EMP_ID,
                    m.AuthorizeRemoteReservationStop(
                        SessionID=reservation, ProviderID=EMP_ID, EvseID=EVSE_ID
                    ),
                )
                if not ack.Result:
                    raise SystemExit(f"the cancellation was refused: {ack}")
                reservation = None

        def emsp_sees(status: str) -> float:
            deadline = time.monotonic() + 60
            while _emsp_status(emsp) != status:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the eMSP never saw {status}")
                time.sleep(0.001)
            return time.time()

        async def hub_sees(mark: int, status: str) -> float:
            deadline = time.monotonic() + 60
            while not _hub_has(hub, mark, status):
                if time.monotonic() > deadline:
                    raise SystemExit(f"the hub never received {status}")
                await asyncio.sleep(0.001)
            return time.time()

        try:
            for n in range(args.changes):
                ocpi_status, oicp_status = statuses[n % 2]
                watchers = asyncio.gather(
                    asyncio.to_thread(emsp_sees, ocpi_status), hub_sees(len(hub.traffic), oicp_status)
                )
                await change(ocpi_status)
                ocpi_at, hub_at = await watchers
                committed = _committed(cpo)
                ocpi.append(ocpi_at - committed)
                oicp.append(hub_at - committed)
        finally:
            await as_emp.aclose()
        last = statuses[(args.changes - 1) % 2][1]
        pulled = json.loads(await cli(emp, "oicp", "pull", "evse-status", "--evse-id", EVSE_ID, "--json"))
        if pulled != [{"EvseID": EVSE_ID, "EvseStatus": last}]:
            raise SystemExit(f"the EMP's pull does not show the last change: {pulled}")
        if hub.invalid:
            raise SystemExit(f"{len(hub.invalid)} message(s) failed the hub's OpenAPI check")
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "load_avg_1m_5m_15m_at_end": [round(x, 2) for x in os.getloadavg()],
            },
            "settings": {
                "changes": args.changes,
                "via": args.via,
                "poll_ms": 1,
                "cpo_push_poll_interval_s": os.environ.get("EVROAM_PUSH_POLL_INTERVAL", "0.5 (default)"),
            },
            "ocpi": _percentiles(ocpi),
            "oicp_hub": _percentiles(oicp),
            "raw_s": {"ocpi": [round(x, 4) for x in ocpi], "oicp_hub": [round(x, 4) for x in oicp]},
        }
    finally:
        stop_all(nodes)
        await hub.close()


def report(result: dict[str, Any]) -> str:
    settings = result["settings"]
    lines = [
        f"{settings['changes']} EVSE status changes at the CPO (via {settings['via']}), "
        "latency from the commit to:"
    ]
    for side, label in (("ocpi", "the OCPI eMSP's copy"), ("oicp_hub", "the OICP hub")):
        r = result[side]
        lines.append(
            f"  {label:<21} p50 {r['p50_ms']:>7.1f} ms  p95 {r['p95_ms']:>7.1f} ms  "
            f"max {r['max_ms']:>7.1f} ms"
        )
    lines.append(f"load average at the end: {result['machine']['load_avg_1m_5m_15m_at_end']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/bridge.py", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument(
        "--via",
        choices=("charger", "cli"),
        default="charger",
        help="make the changes at the simulated charger (reservations through the hub) or with the CLI",
    )
    parser.add_argument("--openapi", type=Path, default=OPENAPI, help="Hubject's OpenAPI files (the hub's)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.changes < 1:
        parser.error("--changes must be at least 1")
    if not args.openapi.is_dir():
        parser.error(f"no OICP OpenAPI folder at {args.openapi} (give --openapi)")
    root = Path(tempfile.mkdtemp(prefix="evroam-bench-bridge-"))
    try:
        result = asyncio.run(bench(args, root))
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
