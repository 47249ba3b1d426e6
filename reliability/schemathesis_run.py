"""Schemathesis against the nodes' own OpenAPI documents: a real CPO node and a real eMSP node (separate
processes on 127.0.0.1, each serving OCPI 2.1.1, 2.2.1 and 2.3.0, registered with each other). For each
node and version the part fetches ``/ocpi/{version}/openapi.json`` with the partner's real token (and
checks that it is refused without one), then runs ``schemathesis run`` on it with that token: every
phase (examples, coverage, fuzzing, stateful), positive and negative data, and every check that holds an
answer to the document (no server error, status codes, content types, response headers and bodies,
405 with ``Allow`` for undocumented methods, 401 without the token, missing required headers, stateful
"created objects can be read" and "deleted ones are gone").

Two things are left out, on purpose:

* ``PUT`` and ``DELETE /credentials``: they would replace or withdraw the very token the run uses (the
  handshake has its own tests); ``GET`` and ``POST`` (405 for a registered partner) are fuzzed;
* the checks ``positive_data_acceptance`` and ``negative_data_rejection``: they judge *requests*, and
  OCPI has rules an OpenAPI document cannot state (routing headers come in pairs, the owner in the path
  must be the caller's party and match the body ...), so the node
  rightly refuses some schema-valid requests with a documented 400/403.

Most path and body owner fields (``country_code``, ``party_id``) are drawn from the caller's own party,
most routing headers from the two parties and most object ids (path and body) from one value
(schemathesis dictionaries), so that requests get past the ownership, routing and path-matches-body
checks into the modules.
Requests, status codes and failures are read from schemathesis' NDJSON event stream.
"""

from __future__ import annotations

import base64
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from evroam.testing import NodePair
from reliability.result import Result

NAME = "schemathesis_run"
TITLE = "Schemathesis on the nodes' own OpenAPI documents (both roles, every version)"

VERSIONS = ("2.1.1", "2.2.1", "2.3.0")
SEED = 20260301
LEFT_OUT_OPERATIONS = ("credentials.sender.update", "credentials.sender.unregister")
LEFT_OUT_CHECKS = ("positive_data_acceptance", "negative_data_rejection")
#: ``--max-examples`` per operation, and the versions run, full and quick.
FULL = {"max_examples": 40, "versions": VERSIONS, "phases": "examples,coverage,fuzzing,stateful"}
QUICK = {"max_examples": 5, "versions": ("2.2.1",), "phases": "fuzzing"}
MIN_REQUESTS = {True: 100, False: 20_000}
#: How often an owner field or routing header takes the real party instead of a generated value.
OWNER_PROBABILITY = 0.9


def _token_header(token: str, version: str) -> str:
    value = token if version == "2.1.1" else base64.b64encode(token.encode()).decode()
    return f"Token {value}"


def _config(path: Path, caller: tuple[str, str], node: tuple[str, str]) -> None:
    """A schemathesis config drawing most owner fields from the caller's party, most routing headers from
    the two parties and most object ids from one value (so that requests get past the ownership, routing
    and path-matches-body checks)."""
    values = {
        "caller_cc": caller[0],
        "caller_pid": caller[1],
        "node_cc": node[0],
        "node_pid": node[1],
        "object_id": "OBJ1",
    }
    lines = []
    for name, value in values.items():
        lines += [f"[dictionaries.{name}]", f'values = ["{value}"]']
    bound = {
        "path.country_code": "caller_cc",
        "path.party_id": "caller_pid",
        "body.country_code": "caller_cc",
        "body.party_id": "caller_pid",
        "header.OCPI-from-country-code": "caller_cc",
        "header.OCPI-from-party-id": "caller_pid",
        "header.OCPI-to-country-code": "node_cc",
        "header.OCPI-to-party-id": "node_pid",
        # one object id for most requests: the id in the path matches the body's, and a PUT is then read,
        # patched, deleted by the requests that follow
        "body.id": "object_id",
        **{f"path.{name}": "object_id" for name in ("location_id", "session_id", "tariff_id", "cdr_id")},
    }
    lines.append("[parameters]")
    for key, dictionary in bound.items():
        lines.append(f'"{key}" = {{ dictionary = "{dictionary}", probability = {OWNER_PROBABILITY} }}')
    path.write_text("\n".join(lines) + "\n")


def _body(raw: Any) -> str:
    if isinstance(raw, dict) and "$base64" in raw:
        return base64.b64decode(raw["$base64"]).decode("utf-8", "replace")
    return "" if raw is None else str(raw)


def _example(label: Any, interaction: Any) -> str:
    """One failing case, to reproduce it: the request and the answer (shortened)."""
    if not interaction:
        return str(label)
    request, response = interaction.get("request") or {}, interaction.get("response") or {}
    sent = {k: v for k, v in (request.get("headers") or {}).items() if k.lower() != "authorization"}
    return (
        f"{label}: {request.get('method')} {request.get('uri')} headers {sent} "
        f"body {_body(request.get('body'))[:600]!r} -> {response.get('status_code')} "
        f"{_body(response.get('content') or response.get('body'))[:300]!r}"
    )


def _tracebacks(logs: list[Path]) -> list[str]:
    """The last lines of each traceback in the nodes' logs (what a 5xx was)."""
    found: list[str] = []
    for log in logs:
        if not log.exists():
            continue
        lines = log.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("Traceback"):
                end = i + 1
                while end < len(lines) and (lines[end].startswith(" ") or lines[end].startswith("Traceback")):
                    end += 1
                found.append(f"{log.name}: " + " | ".join(lines[max(i - 1, 0) : end + 1][-8:]))
    return found[:10]


def _tally(events: Path) -> dict[str, Any]:
    """Requests, answers by status, failed checks by name, from one NDJSON event stream."""
    statuses: collections.Counter[int] = collections.Counter()
    failed: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    requests = 0
    with events.open() as stream:
        for line in stream:
            if not line.startswith('{"ScenarioFinished"'):
                continue
            recorder = json.loads(line)["ScenarioFinished"]["recorder"]
            for interaction in (recorder.get("interactions") or {}).values():
                requests += 1
                response = interaction.get("response")
                if response is not None:
                    statuses[int(response["status_code"])] += 1
            interactions = recorder.get("interactions") or {}
            for case_id, checks in (recorder.get("checks") or {}).items():
                for check in checks:
                    if check.get("status") == "failure":
                        failed[check["name"]] += 1
                        if check["name"] not in examples:
                            examples[check["name"]] = _example(
                                recorder.get("label"), interactions.get(case_id)
                            )
    return {
        "requests": requests,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors": sum(v for k, v in statuses.items() if k >= 500),
        "failed_checks": dict(failed),
        "failure_examples": examples,
    }


def _schemathesis(
    document: Path, base_url: str, authorization: str, config: Path, events: Path, plan: dict[str, Any]
) -> tuple[int, str]:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "--config-file",
        str(config),
        "run",
        str(document),
        "--url",
        base_url,
        "-H",
        f"Authorization: {authorization}",
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(LEFT_OUT_CHECKS),
        "--phases",
        plan["phases"],
        "--max-examples",
        str(plan["max_examples"]),
        "--continue-on-failure",
        "--workers",
        "1",
        "--seed",
        str(SEED),
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(events),
    ]
    for operation in LEFT_OUT_OPERATIONS:
        command += ["--exclude-operation-id", operation]
    # run in the temporary directory: schemathesis keeps a cache (.schemathesis/) in its working directory
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=3600, cwd=events.parent
    )
    return done.returncode, done.stdout[-4000:] + done.stderr[-2000:]


def run(quick: bool) -> Result:
    plan = QUICK if quick else FULL
    result = Result(NAME, TITLE)
    started = time.monotonic()
    runs: dict[str, dict[str, Any]] = {}
    refused: list[str] = []
    tracebacks: list[str] = []
    with tempfile.TemporaryDirectory(prefix="evroam-schemathesis-") as tmp:
        base = Path(tmp)
        pair = NodePair(base / "nodes", log_level="WARNING")
        versions = [a for v in VERSIONS for a in ("--ocpi-version", v)]
        try:
            pair.cpo.init(*pair.cpo_party, "CPO", *versions)
            pair.emsp.init(*pair.emsp_party, "EMSP", *versions)
            pair.start()
            pair.register()
            # (node, the token its partner calls it with, the partner's party, the node's party)
            targets = (
                ("cpo", pair.cpo, pair.emsp.partner_token("cpo"), pair.emsp_party, pair.cpo_party),
                ("emsp", pair.emsp, pair.cpo.partner_token("emsp"), pair.cpo_party, pair.emsp_party),
            )
            for name, node, token, caller, own in targets:
                config = base / f"{name}.toml"
                _config(config, caller, own)
                for version in plan["versions"]:
                    label = f"{name} {version}"
                    url = f"{node.url}/ocpi/{version}/openapi.json"
                    if httpx.get(url, timeout=30).status_code != 401:
                        refused.append(f"{label}: served without a token")
                    answer = httpx.get(
                        url, headers={"Authorization": _token_header(token, version)}, timeout=30
                    )
                    answer.raise_for_status()
                    document = base / f"{name}-{version}.json"
                    document.write_bytes(answer.content)
                    events = base / f"{name}-{version}.ndjson"
                    run_started = time.monotonic()
                    code, output = _schemathesis(
                        document, node.url, _token_header(token, version), config, events, plan
                    )
                    tally = _tally(events) if events.exists() else {"requests": 0}
                    tally["seconds"] = round(time.monotonic() - run_started, 1)
                    tally["exit_code"] = code
                    tally["operations"] = len(
                        [m for item in json.loads(answer.content)["paths"].values() for m in item]
                    )
                    if code != 0:
                        tally["output_tail"] = output
                    runs[label] = tally
                    events.unlink(missing_ok=True)
            for node in pair.nodes:
                if not node.running:
                    refused.append(f"{node.name} node stopped during the run")
            tracebacks = _tracebacks([log for node in pair.nodes for log in node.logs])
        finally:
            pair.stop()
    seconds = round(time.monotonic() - started, 1)
    requests = sum(r["requests"] for r in runs.values())
    server_errors = sum(r.get("server_errors", 0) for r in runs.values())
    failed: collections.Counter[str] = collections.Counter()
    for r in runs.values():
        failed.update(r.get("failed_checks", {}))
    result.check(
        "each node/version's document is refused without a token",
        not refused,
        "; ".join(refused) or f"{len(runs)}/{len(runs)} refused",
    )
    result.check(
        f"at least {MIN_REQUESTS[quick]:,} requests",
        requests >= MIN_REQUESTS[quick],
        f"{requests:,} requests in {seconds} s",
    )
    result.check("0 server errors (5xx)", server_errors == 0, f"{server_errors} answers 5xx")
    result.check(
        "0 answers that break the document (every enabled check)",
        not failed,
        ", ".join(f"{k}: {v}" for k, v in sorted(failed.items())) or "0 failed checks",
    )
    result.check(
        "schemathesis passed every run",
        all(r.get("exit_code") == 0 for r in runs.values()),
        ", ".join(f"{k}: exit {r.get('exit_code')}" for k, r in runs.items()),
    )
    result.figures = {
        "requests": requests,
        "server_errors": server_errors,
        "failed_checks": dict(failed),
        "seconds": seconds,
        "seed": SEED,
        "max_examples": plan["max_examples"],
        "phases": plan["phases"],
        "left_out_operations": list(LEFT_OUT_OPERATIONS),
        "left_out_checks": list(LEFT_OUT_CHECKS),
        "runs": runs,
        "tracebacks": tracebacks,
    }
    per_run = "; ".join(f"{k}: {r['requests']:,} requests, {r.get('seconds')} s" for k, r in runs.items())
    result.notes = (
        "A CPO node and an eMSP node (real processes, OCPI 2.1.1 + 2.2.1 + 2.3.0, registered with each "
        "other); for each node and version `schemathesis run` on the node's own "
        "`/ocpi/{version}/openapi.json` with the partner's token, all phases, positive and negative data, "
        f"every check except {' and '.join(LEFT_OUT_CHECKS)} (request-side judgements on rules OpenAPI "
        "cannot state: routing headers in pairs, the owner in path and body being the caller). "
        "PUT/DELETE credentials are left out (they replace or withdraw the token of the run). "
        f"Per run: {per_run}."
    )
    return result
