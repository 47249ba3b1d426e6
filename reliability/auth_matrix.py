"""Every route of a CPO and an eMSP node, every method, against every way of calling without the right.

The routes are the node's own (enumerated from the ASGI app built for each target's data directory:
all three OCPI versions, every module and interface the node binds). Cases, and the answer each must
get (documented again in :data:`EXPECTED`):

* ``no_header``, ``malformed`` (nine kinds of broken ``Authorization`` header), ``unknown``,
  ``token_a_used`` (the token A ``third`` registered with), ``rotated_old`` (``third``'s token from
  before it rotated), ``other_node_token`` (a token valid at *another* node: the one the target calls
  its partner with): HTTP 401 everywhere;
* ``token_a_unused`` (a fresh invitation): versions, version details and GET credentials answer (that
  is what token A is for); POST credentials with an invalid body 400, PUT/DELETE credentials 405,
  every module route 401;
* ``other_party_ids`` (``third``'s valid token, the victim party's ids and objects in the path, a
  PUT body rewriting the victim's object) and ``spoofed_from`` (the same with ``OCPI-from-*`` headers
  naming the victim party): only versions, details, GET credentials and the module lists without ids
  may answer 1000 (a list shows only what ``third`` may see); every route naming the victim's ids is
  refused (403 for a receiver's party, 404 for a Sender lookup, 400 for an invalid body). DELETE of
  credentials is left out here (it would unregister ``third`` itself).

Every answer is searched for leaks: the content of the victims' objects (:data:`_world.DATA`), any
token value of the three nodes other than the one the request presented (raw or Base64), a stack
trace; and any 5xx counts as a server error. At the end the victims' objects are read back by their
owners, unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections import Counter
from typing import Any

import httpx

from reliability import _world
from reliability._world import DATA, MARKER, World, authorization
from reliability.result import Result

NAME = "auth_matrix"
TITLE = "Authorization matrix: every route x every way in without the right"

DENY_ALL = ("no_header", "malformed", "unknown", "token_a_used", "rotated_old", "other_node_token")
CASES = (*DENY_ALL, "token_a_unused", "other_party_ids", "spoofed_from")

EXPECTED = {
    **{case: "401 on every route" for case in DENY_ALL},
    "token_a_unused": "versions, details, GET credentials answer; POST credentials 400 (invalid body); "
    "PUT/DELETE credentials 405; every module route 401",
    "other_party_ids": "versions, details, GET credentials and id-less module lists answer (without "
    "others' data); every route with the victim's ids refused (403/404/400/405)",
    "spoofed_from": "as other_party_ids, with OCPI-from-* headers naming the victim party",
}

MALFORMED = (
    "Token",
    "Token ,",
    "Bearer unknown-bearer-token",
    "Basic dXNlcjpwYXNzd29yZA==",
    "Token ****",
    "Token " + base64.b64encode(b"\xff\xfe\xfd").decode(),
    "unknown-token-without-scheme",
    "Token a b c",
    "Token " + "A" * 6000,
)

_PARAM = re.compile(r"\{([a-z_]+)(?::[a-z]+)?\}")
_TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+")
_LATER = "2030-01-01T00:00:00Z"


def routes(node: Any) -> list[tuple[str, str]]:
    """``(method, path template)`` of every route of the node's app (``/healthz`` left out)."""
    from pathlib import Path

    from evroam.node.settings import Settings
    from evroam.node.wiring import build_node

    built = build_node(Settings(data_dir=Path(node.data_dir)))
    try:
        app = built.app()
        out = []
        for route in app.routes:
            if route.path == "/healthz":
                continue
            for method in sorted(getattr(route, "methods", ())):
                if method not in ("OPTIONS", "HEAD"):
                    out.append((method, route.path))
        return out
    finally:
        asyncio.run(built.http.aclose())


def _version(path: str) -> str:
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[2][:1].isdigit() else "2.2.1"


def _fill(path: str, victim: tuple[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "country_code":
            return victim[0]
        if name == "party_id":
            return victim[1]
        if name == "location_id":
            return f"LOC-{MARKER}"
        if name == "evse_uid":
            return f"LOC-{MARKER}-E1"
        if name == "connector_id":
            return "1"
        if name == "tariff_id":
            return f"TAR-{MARKER}"
        if name == "token_uid":
            return f"UID-{MARKER}"
        return f"{name.split('_')[0].upper()}-{MARKER}"

    return _PARAM.sub(value, path)


def _body(method: str, path: str, victim_bodies: dict[str, dict[str, Any]]) -> Any:
    """What an attacker sends: the victim's object rewritten (PUT on its path), a PATCH of it, or ``{}``."""
    if method == "PUT":
        for suffix, body in victim_bodies.items():
            if path.endswith(suffix):
                hijacked = {k: v for k, v in body.items() if k != "tariff_alt_text"}
                for key in ("name", "issuer", "address"):
                    if key in hijacked:
                        hijacked[key] = "HIJACKED"
                hijacked["last_updated"] = _LATER
                return hijacked
    if method == "PATCH":
        if "/tokens/" in path:
            return {"valid": False, "last_updated": _LATER}
        if "/locations/" in path:
            return {"name": "HIJACKED", "status": "REMOVED", "last_updated": _LATER}
        return {"last_updated": _LATER}
    if method in ("PUT", "POST"):
        return {}
    return None


def _kind(path: str) -> str:
    if path == "/ocpi/versions" or path.endswith("/details"):
        return "versions"
    if path.endswith("/credentials"):
        return "credentials"
    return "module"


def may_answer(case: str, method: str, path: str) -> bool:
    """Whether ``case`` may get a success (HTTP 2xx with OCPI 1000) on this route."""
    kind = _kind(path)
    if case in DENY_ALL:
        return False
    if case == "token_a_unused":
        return kind == "versions" or (kind == "credentials" and method == "GET")
    # other_party_ids / spoofed_from: a registered partner, on its own business only
    if kind == "versions":
        return True
    if kind == "credentials":
        return method == "GET"
    return method == "GET" and "{" not in path


def _search_leaks(text: str, presented: str | None, tokens: set[str]) -> list[str]:
    found = []
    if DATA in text:
        found.append("data")
    for token in tokens:
        if token == presented or len(token) < 8:
            continue
        if token in text or base64.b64encode(token.encode()).decode() in text:
            found.append("token")
            break
    if _TRACE.search(text):
        found.append("trace")
    return found


def _headers(
    case: str, w: World, target: str, version: str, variant: int
) -> tuple[dict[str, str], str | None]:
    """The request headers for ``case`` and the token they present."""
    token: str | None
    if case == "no_header":
        return {}, None
    if case == "malformed":
        return {"Authorization": MALFORMED[variant % len(MALFORMED)]}, None
    if case == "unknown":
        token = "f3a1c0de-0000-4000-8000-unknown00001"
    elif case == "token_a_used":
        token = w.tokens_a[target]
    elif case == "rotated_old":
        token = w.rotated[target]
    elif case == "other_node_token":
        # the token the target calls its victim partner with: valid there, not here
        token = w.node(target).partner_token("emsp" if target == "cpo" else "cpo")
    elif case == "token_a_unused":
        token = w.tokens_a[f"{target}-fresh"]
    else:
        token = w.tokens_a[f"{target}-third"]  # third's current token at the target
    headers = {"Authorization": authorization(token, version)}
    if case == "spoofed_from":
        victim = _world.EMSP_PARTY if target == "cpo" else _world.CPO_PARTY
        headers.update(
            {
                "OCPI-from-country-code": victim[0],
                "OCPI-from-party-id": victim[1],
                "OCPI-to-country-code": (_world.CPO_PARTY if target == "cpo" else _world.EMSP_PARTY)[0],
                "OCPI-to-party-id": (_world.CPO_PARTY if target == "cpo" else _world.EMSP_PARTY)[1],
            }
        )
    return headers, token


def run(quick: bool) -> Result:
    result = Result(NAME, TITLE)
    cases = CASES
    with _world.world() as w:
        for target in ("cpo", "emsp"):
            w.tokens_a[f"{target}-fresh"] = _world.invite(w.node(target), "fresh")
            w.tokens_a[f"{target}-third"] = w.third.partner_token(target)
        tokens = w.known_tokens() | {w.tokens_a[f"{t}-fresh"] for t in ("cpo", "emsp")}
        counts: dict[str, Counter[str]] = {case: Counter() for case in cases}
        statuses: dict[str, Counter[str]] = {case: Counter() for case in cases}
        wrong: list[str] = []
        leaks: list[str] = []
        errors: list[str] = []
        allowed_ok = 0
        route_counts: dict[str, int] = {}
        with httpx.Client(timeout=30) as client:
            for target in ("cpo", "emsp"):
                node = w.node(target)
                victim = _world.EMSP_PARTY if target == "cpo" else _world.CPO_PARTY
                victim_bodies = {path.split("/", 2)[2]: body for _, path, body in w.objects[target]}
                every = routes(node)
                if quick:
                    every = [(m, p) for m, p in every if p.startswith(("/ocpi/versions", "/ocpi/2.2.1/"))]
                route_counts[target] = len(every)
                for case in cases:
                    variants = len(MALFORMED) if case == "malformed" else 1
                    for method, template in every:
                        if case in ("other_party_ids", "spoofed_from") and (
                            method == "DELETE" and template.endswith("/credentials")
                        ):
                            continue
                        path = _fill(template, victim)
                        version = _version(template)
                        for variant in range(variants):
                            headers, presented = _headers(case, w, target, version, variant)
                            body = _body(method, path, victim_bodies)
                            answer = client.request(method, node.url + path, headers=headers, json=body)
                            counts[case]["requests"] += 1
                            statuses[case][str(answer.status_code)] += 1
                            try:
                                ocpi = answer.json().get("status_code")
                            except ValueError:
                                ocpi = None
                            success = 200 <= answer.status_code < 300 and ocpi == 1000
                            label = f"{target} {case} {method} {path} -> {answer.status_code}/{ocpi}"
                            if answer.status_code >= 500:
                                errors.append(label)
                            if success and not may_answer(case, method, template):
                                wrong.append(label)
                            elif success:
                                allowed_ok += 1
                                counts[case]["answered"] += 1
                            else:
                                counts[case]["refused"] += 1
                            for leak in _search_leaks(answer.text, presented, tokens):
                                leaks.append(f"{leak}: {label}")
        # the victims' objects, read back by their owners: unchanged
        intact = 0
        owners = {"emsp": w.cpo.partner_token("emsp"), "cpo": w.emsp.partner_token("cpo")}
        for target, objects in w.objects.items():
            for _, path, _ignored in objects:
                answer = httpx.get(
                    f"{w.node(target).url}/ocpi/2.2.1/{path}",
                    headers={"Authorization": authorization(owners[target])},
                    timeout=30,
                )
                if answer.status_code == 200 and DATA in answer.text and "HIJACKED" not in answer.text:
                    intact += 1
        total_objects = sum(len(o) for o in w.objects.values())
        logged = [line for node in (w.cpo, w.emsp) for line in _world.log_errors(node)]
    total = sum(c["requests"] for c in counts.values())
    result.figures = {
        "routes": route_counts,
        "cases": {case: dict(counts[case]) for case in cases},
        "http_statuses": {case: dict(statuses[case]) for case in cases},
        "expected": {case: EXPECTED[case] for case in cases},
        "wrongly_accepted": wrong[:20],
        "leaks": leaks[:20],
        "server_errors": errors[:20],
    }
    result.check("requests made", total > 0, f"{total} requests, {sum(route_counts.values())} route-methods")
    result.check("0 accepted where refusal is expected", not wrong, f"{len(wrong)} accepted")
    result.check("0 leaks (others' data, token values, stack traces)", not leaks, f"{len(leaks)} leaks")
    result.check("0 server errors", not errors, f"{len(errors)} answers 5xx")
    result.check(
        "the allowed calls answer (the matrix is not refusing everything)", allowed_ok > 0, allowed_ok
    )
    result.figures["logged_errors"] = logged[:10]
    result.check("no error or traceback in the nodes' logs", not logged, f"{len(logged)} lines")
    result.check("victims' objects unchanged", intact == total_objects, f"{intact}/{total_objects}")
    result.notes = (
        "Targets: a CPO (NL*CPO) and an eMSP (DE*MSP) node serving OCPI 2.1.1, 2.2.1 and 2.3.0, registered "
        "with each other and with a third platform (FR*THD, CPO and eMSP). Per case: "
        + "; ".join(f"{case}: {EXPECTED[case]}" for case in cases)
        + ". The victims' objects are a location and a tariff the CPO pushed to the eMSP and a token the "
        "eMSP pushed to the CPO; sessions and CDRs of another party are not set up (their routes are "
        "exercised with ids that do not exist)."
    )
    return result
