"""Real nodes for the security parts: a CPO, an eMSP and a third platform, registered with each other.

Every node is an ``evroam serve`` process on 127.0.0.1 (:class:`evroam.testing.NodeProcess`), set up
through the command line as an operator would. The CPO and the eMSP are the *targets*; the eMSP holds
a location and a tariff the CPO pushed, the CPO holds a token the eMSP pushed (their ids carry
:data:`MARKER`, so that an answer showing them is easy to find). ``third`` (FR*THD, CPO and eMSP) is
registered with both: the partner that must see nothing of the other two's objects.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from evroam.testing import NodeProcess, free_port, stop_all

VERSIONS = ("2.1.1", "2.2.1", "2.3.0")
MARKER = "Q7SECRET"
"""In the ids of the victims' objects (which attackers put in their paths, and answers may echo)."""
DATA = "Q7DATA"
"""Only inside the victims' objects: an answer to anyone else holding it shows another party's data."""
STAMP = "2026-02-01T00:00:00Z"

CPO_PARTY = ("NL", "CPO")
EMSP_PARTY = ("DE", "MSP")
THIRD_PARTY = ("FR", "THD")


def authorization(token: str, version: str = "2.2.1") -> str:
    """The header a partner sends: Base64 from 2.2.1 on, the raw token in 2.1.1."""
    if version == "2.1.1":
        return f"Token {token}"
    return "Token " + base64.b64encode(token.encode()).decode()


def location_body(location_id: str, country_code: str, party_id: str) -> dict[str, Any]:
    """A valid OCPI 2.2.1 Location with one EVSE and one connector."""
    return {
        "country_code": country_code,
        "party_id": party_id,
        "id": location_id,
        "publish": True,
        "name": f"Station {location_id}",
        "address": f"{DATA} street 1",
        "city": "Gent",
        "postal_code": "9000",
        "country": "BEL",
        "coordinates": {"latitude": "51.047599", "longitude": "3.729944"},
        "parking_type": "ON_STREET",
        "evses": [
            {
                "uid": f"{location_id}-E1",
                "status": "AVAILABLE",
                "connectors": [
                    {
                        "id": "1",
                        "standard": "IEC_62196_T2",
                        "format": "SOCKET",
                        "power_type": "AC_3_PHASE",
                        "max_voltage": 230,
                        "max_amperage": 32,
                        "last_updated": STAMP,
                    }
                ],
                "last_updated": STAMP,
            }
        ],
        "time_zone": "Europe/Brussels",
        "last_updated": STAMP,
    }


def tariff_body(tariff_id: str, country_code: str, party_id: str) -> dict[str, Any]:
    return {
        "country_code": country_code,
        "party_id": party_id,
        "id": tariff_id,
        "currency": "EUR",
        "tariff_alt_text": [{"language": "en", "text": f"{DATA} tariff"}],
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.25, "step_size": 1}]}],
        "last_updated": STAMP,
    }


def token_body(uid: str, country_code: str, party_id: str) -> dict[str, Any]:
    return {
        "country_code": country_code,
        "party_id": party_id,
        "uid": uid,
        "type": "RFID",
        "contract_id": f"{country_code}-{party_id}-{DATA}",
        "issuer": f"{DATA} eMSP",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": STAMP,
    }


@dataclass
class World:
    """The three nodes and what the parts need to know about them."""

    base: Path
    cpo: NodeProcess
    emsp: NodeProcess
    third: NodeProcess
    tokens_a: dict[str, str] = field(default_factory=dict)
    """Token A each target issued to ``third`` (used: third registered with it)."""
    rotated: dict[str, str] = field(default_factory=dict)
    """The token ``third`` called each target with before it rotated (refused since)."""
    objects: dict[str, list[tuple[str, str, dict[str, Any]]]] = field(default_factory=dict)
    """Per target: (module, path under /ocpi/2.2.1/, body) of the objects the victim stored there."""

    def node(self, name: str) -> NodeProcess:
        node: NodeProcess = getattr(self, name)
        return node

    def known_tokens(self) -> set[str]:
        """Every token value of the three nodes: those they call each other with (read from their
        databases), the tokens A and the rotated-away ones."""
        out = set(self.tokens_a.values()) | set(self.rotated.values())
        for node in (self.cpo, self.emsp, self.third):
            for (payload,) in node.query("SELECT payload FROM evroam_objects WHERE kind = 'partner'"):
                token = json.loads(payload).get("token")
                if token:
                    out.add(token)
        return out


def log_errors(node: NodeProcess) -> list[str]:
    """Lines of the node's serve logs that report an error or a traceback."""
    out = []
    for path in node.logs:
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                if "Traceback" in line or " ERROR " in line or line.startswith("ERROR"):
                    out.append(line[:300])
    return out


def _put(node: NodeProcess, token: str, path: str, body: Mapping[str, Any]) -> None:
    answer = httpx.put(
        f"{node.url}/ocpi/2.2.1/{path}",
        json=body,
        headers={"Authorization": authorization(token)},
        timeout=30,
    )
    if answer.status_code not in (200, 201) or answer.json().get("status_code") != 1000:
        raise RuntimeError(f"setting up {path} failed: {answer.status_code} {answer.text[:300]}")


def operate(node: NodeProcess, action: Callable[[Any], Awaitable[Any]], *, config: Any = None) -> Any:
    """Run ``action(node)`` on an in-process node over ``node``'s data directory, as the CLI does beside
    ``serve`` (the two share the database), without the CLI's start-up time."""
    from evroam.node.settings import Settings
    from evroam.node.wiring import build_node

    async def main() -> Any:
        built = build_node(Settings(data_dir=node.data_dir), config=config)
        await built.start()
        try:
            return await action(built)
        finally:
            await built.close()

    return asyncio.run(main())


def invite(node: NodeProcess, name: str) -> str:
    """Token A of a fresh invitation of ``name`` at ``node``."""

    async def action(built: Any) -> str:
        token: str = (await built.registration.invite(name)).token
        return token

    token: str = operate(node, action)
    return token


def register(node: NodeProcess, target: NodeProcess, token_a: str, name: str) -> None:
    """``node`` registers with ``target`` using ``token_a``, and calls it ``name``."""

    async def action(built: Any) -> None:
        await built.registration.register(target.versions_url, token_a, name)

    operate(node, action)


def _init(node: NodeProcess, country_code: str, party_id: str, role: str, *extra: str) -> None:
    """``evroam init`` in this process (a subprocess costs seconds on a busy machine)."""
    from evroam.cli.main import cli

    args = ["--data-dir", str(node.data_dir), "--log-level", "WARNING", "init"]
    args += [
        "--country-code",
        country_code,
        "--party-id",
        party_id,
        "--role",
        role,
        "--url",
        node.url,
        *extra,
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        cli.main(args=args, prog_name="evroam", standalone_mode=False)


def _node(base: Path, name: str, env: Mapping[str, str]) -> NodeProcess:
    return NodeProcess(name, base / name, free_port(), env=dict(env), log_level="WARNING")


@contextmanager
def world(env: Mapping[str, str] | None = None, *, rotate: bool = True) -> Iterator[World]:
    """Start, register and fill the three nodes; stop them on the way out."""
    env = dict(env or {})
    with tempfile.TemporaryDirectory(prefix="evroam-reliability-") as tmp:
        base = Path(tmp)
        w = World(base, _node(base, "cpo", env), _node(base, "emsp", env), _node(base, "third", env))
        versions = [arg for v in VERSIONS for arg in ("--ocpi-version", v)]
        try:
            _init(w.cpo, *CPO_PARTY, "CPO", *versions)
            _init(w.emsp, *EMSP_PARTY, "EMSP", *versions)
            _init(w.third, *THIRD_PARTY, "CPO", "--role", "EMSP", *versions)
            for node in (w.cpo, w.emsp, w.third):
                node.start()
            for node in (w.cpo, w.emsp, w.third):
                node.wait_ready()
            # the eMSP registers with the CPO; third with both
            register(w.emsp, w.cpo, invite(w.cpo, "emsp"), "cpo")
            for target in ("cpo", "emsp"):
                w.tokens_a[target] = invite(w.node(target), "third")
                register(w.third, w.node(target), w.tokens_a[target], target)
            if rotate:
                for target in ("cpo", "emsp"):
                    w.rotated[target] = w.third.partner_token(target)
                    operate(w.third, lambda built, name=target: built.registration.rotate(name))
            # the victims' objects: the CPO pushed a location and a tariff to the eMSP, the eMSP a token
            cc, pid = CPO_PARTY
            loc, tar = f"LOC-{MARKER}", f"TAR-{MARKER}"
            w.objects["emsp"] = [
                ("locations", f"receiver/locations/{cc}/{pid}/{loc}", location_body(loc, cc, pid)),
                ("tariffs", f"receiver/tariffs/{cc}/{pid}/{tar}", tariff_body(tar, cc, pid)),
            ]
            cc, pid = EMSP_PARTY
            uid = f"UID-{MARKER}"
            w.objects["cpo"] = [("tokens", f"receiver/tokens/{cc}/{pid}/{uid}", token_body(uid, cc, pid))]
            for path_module, path, body in w.objects["emsp"]:
                del path_module
                _put(w.emsp, w.cpo.partner_token("emsp"), path, body)
            for _, path, body in w.objects["cpo"]:
                _put(w.cpo, w.emsp.partner_token("cpo"), path, body)
            yield w
        finally:
            stop_all([w.cpo, w.emsp, w.third])
