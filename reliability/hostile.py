"""Hostile inputs over real sockets, against real nodes (the three of :mod:`reliability._world`).

Each case states its figure: server errors (5xx) among the answers, whether the node is still up, and
the slowest ``/healthz`` answer while the attack ran (a prober asks every 20 ms from its own
connection). Cases: JSON nested 1,000 deep on every route with a body; 16,000 invalid items; bodies
over ``EVROAM_MAX_BODY_BYTES`` (413); invalid UTF-8; huge numbers; slow-header and slow-body clients;
1,000 concurrent connections from 20 source addresses (a burst of requests, then silent holders) while
a partner keeps working; redirects to another host and private destinations refused.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import msgspec

from reliability import _world
from reliability._world import World, authorization
from reliability.auth_matrix import routes
from reliability.result import Result

NAME = "hostile"
TITLE = "Hostile inputs and clients over real sockets"


# -- measuring ------------------------------------------------------------------------------------


class Probe:
    """Asks ``/healthz`` every 20 ms in a thread; the slowest answer and the failures while it ran."""

    def __init__(self, url: str) -> None:
        self.url = url + "/healthz"
        self.times: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    ok = client.get(self.url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.times.append(time.monotonic() - started)
                self.failures += not ok
                self._stop.wait(0.02)

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        deadline = time.monotonic() + 30
        while not self.times and time.monotonic() < deadline:  # at least one answer per case
            time.sleep(0.01)
        self._stop.set()
        self._thread.join(timeout=60)

    @property
    def worst_ms(self) -> float:
        return round(max(self.times, default=0.0) * 1000, 1)

    def figure(self) -> str:
        return f"/healthz slowest {self.worst_ms} ms of {len(self.times)}, {self.failures} failed"


class Tally:
    """Answers per case: HTTP statuses, and how many were server errors."""

    def __init__(self) -> None:
        self.statuses: dict[str, Counter[int]] = {}

    def add(self, case: str, status: int) -> None:
        self.statuses.setdefault(case, Counter())[status] += 1

    def server_errors(self, case: str | None = None) -> int:
        """5xx answers, except the 502 (OCPI 3001) a refused redirect is answered with on purpose."""
        cases = [case] if case else list(self.statuses)
        return sum(
            n
            for c in cases
            for status, n in self.statuses.get(c, Counter()).items()
            if status >= 500 and not (c == "redirects" and status == 502)
        )


def nested(depth: int) -> bytes:
    return b'{"token": ' + b"[" * depth + b"]" * depth + b"}"


# -- raw connections ------------------------------------------------------------------------------


async def _read_all(reader: asyncio.StreamReader, within: float) -> bytes:
    data = b""
    try:
        async with asyncio.timeout(within):
            while chunk := await reader.read(65536):
                data += chunk
    except (TimeoutError, ConnectionError):
        pass
    return data


def _status(answer: bytes) -> int:
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0  # closed without an answer


async def _slow(port: int, first: bytes, drip: bytes, pause: float, within: float) -> tuple[int, float]:
    """Send ``first``, then ``drip`` a byte every ``pause`` s until the node closes: (status, seconds)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(first)
    answer = b""

    async def dripping() -> None:
        try:
            for i in range(10_000):
                writer.write(drip[i % len(drip) : i % len(drip) + 1])
                await writer.drain()
                await asyncio.sleep(pause)
        except (ConnectionError, RuntimeError):
            pass

    task = asyncio.create_task(dripping())
    answer = await _read_all(reader, within)
    task.cancel()
    writer.close()
    return _status(answer), time.monotonic() - started


async def _connections(port: int, addresses: list[str], per_address: int, request: bytes | None) -> Any:
    """Open ``per_address`` connections from each address; with ``request``, send it on each and read
    the answers (a burst); without, hold them silent until the node closes them."""
    opened: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    refused = 0
    for address in addresses:
        for _ in range(per_address):
            try:
                opened.append(await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0)))
            except OSError:
                refused += 1
    started = time.monotonic()
    if request is not None:
        for _, writer in opened:
            writer.write(request)

    async def answer(reader: asyncio.StreamReader) -> int:
        return _status(await _read_all(reader, 120))

    statuses = await asyncio.gather(*(answer(reader) for reader, _ in opened))
    elapsed = time.monotonic() - started
    for _, writer in opened:
        writer.close()
    return Counter(statuses), refused, elapsed


# -- a partner that redirects, and a trap that must never be reached ----------------------------------


@contextmanager
def http_server(host: str, location: str | None) -> Iterator[tuple[str, list[str]]]:
    """A tiny HTTP server on ``host``: answers 307 to ``location``, or 200 ``{}``; records the paths hit."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            hits.append(self.path)
            if location is not None:
                self.send_response(307)
                self.send_header("Location", location + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


# -- the part -------------------------------------------------------------------------------------


def run(quick: bool) -> Result:
    result = Result(NAME, TITLE)
    timeout = "1" if quick else "2"
    env = {"EVROAM_HEADER_TIMEOUT": timeout, "EVROAM_BODY_TIMEOUT": timeout}
    tally = Tally()
    figures: dict[str, Any] = {}
    with _world.world(env, rotate=False) as w:
        _cases(w, quick, float(timeout), tally, figures, result)
        alive = all(node.running for node in (w.cpo, w.emsp))
        logged = [line for node in (w.cpo, w.emsp) for line in _world.log_errors(node)]
        healthy = all(httpx.get(n.url + "/healthz", timeout=10).status_code == 200 for n in (w.cpo, w.emsp))
    figures["statuses"] = {case: dict(sorted(c.items())) for case, c in tally.statuses.items()}
    result.figures = figures
    result.check("0 server errors in all answers", tally.server_errors() == 0, f"{tally.server_errors()} 5xx")
    result.check(
        "nodes alive and healthy after everything", alive and healthy, f"alive {alive}, healthy {healthy}"
    )
    figures["logged_errors"] = logged[:10]
    result.check("no error or traceback in the nodes' logs", not logged, f"{len(logged)} lines")
    result.notes = (
        "One CPO and one eMSP node (plus a third platform registered with both, whose token is the "
        "hostile partner's), OCPI 2.1.1/2.2.1/2.3.0, read timeouts "
        f"{timeout} s, per-address cap 64, body cap 4 MiB (defaults otherwise). '/healthz slowest' is the "
        "slowest of the health checks made every 20 ms while the case ran."
    )
    return result


def _cases(
    w: World, quick: bool, timeout: float, tally: Tally, figures: dict[str, Any], result: Result
) -> None:
    cpo, emsp = w.cpo, w.emsp
    third = {target: w.third.partner_token(target) for target in ("cpo", "emsp")}
    client = httpx.Client(timeout=60)

    marks: dict[str, float] = {}
    figures["case_seconds"] = marks
    last = [time.monotonic()]

    def mark(name: str) -> None:
        now = time.monotonic()
        marks[name] = round(now - last[0], 2)
        last[0] = now

    def call(case: str, node: Any, method: str, path: str, token: str | None, **kw: Any) -> httpx.Response:
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = authorization(
                token, path.split("/")[2] if path.count("/") > 2 else "2.2.1"
            )
        answer = client.request(method, node.url + path, headers=headers, **kw)
        tally.add(case, answer.status_code)
        return answer

    # 1. JSON nested 1,000 deep on every route with a body, both nodes, the partner's valid token
    case = "deep_json"
    not_400 = []
    with Probe(emsp.url) as probe:
        count = 0
        for target, node in (("cpo", cpo), ("emsp", emsp)):
            for method, template in routes(node):
                if method not in ("PUT", "POST", "PATCH") or (quick and "/2.2.1/" not in template):
                    continue
                path = template.replace("{country_code:str}", "FR").replace("{party_id:str}", "THD")
                path = path.replace(":str}", "}").replace("{", "X").replace("}", "")
                answer = call(case, node, method, path, third[target], content=nested(1000))
                count += 1
                if (answer.status_code, answer.json().get("status_code")) != (400, 2000):
                    not_400.append(f"{target} {method} {path} -> {answer.status_code}")
    figures[case] = {"routes": count, "not_400_2000": not_400[:10], "healthz_worst_ms": probe.worst_ms}
    result.check(
        "1,000-deep JSON: 400/2000 on every route with a body",
        not not_400 and tally.server_errors(case) == 0,
        f"{count} routes, {len(not_400)} other answers, {tally.server_errors(case)} 5xx; {probe.figure()}",
    )

    # 2. 16,000 invalid items: EVSEs of a location, roles of credentials (a fresh token A)
    mark(case)
    case = "invalid_items"
    n = 2000 if quick else 16_000
    location = _world.location_body("BIG", *_world.THIRD_PARTY)
    location["evses"] = [{"uid": 12, "status": "NOPE", "connectors": "x", "last_updated": "no"}] * n
    roles = [{"role": "NOPE", "party_id": 1, "country_code": None, "business_details": 3}] * n
    token_a = _world.invite(cpo, "hostile-roles")
    credentials = {"token": "t", "url": "http://127.0.0.1:9/ocpi/versions", "roles": roles}
    shapes = []
    with Probe(emsp.url) as probe:
        started = time.monotonic()
        a = call(case, emsp, "PUT", "/ocpi/2.2.1/receiver/locations/FR/THD/BIG", third["emsp"], json=location)
        b = call(case, cpo, "POST", "/ocpi/2.2.1/credentials", token_a, json=credentials)
        elapsed = time.monotonic() - started
    for answer in (a, b):
        shapes.append((answer.status_code, answer.json().get("status_code"), len(answer.content)))
    figures[case] = {
        "items": n,
        "answers": shapes,
        "seconds": round(elapsed, 2),
        "healthz_worst_ms": probe.worst_ms,
    }
    result.check(
        f"{n:,} invalid items: one short 2001 each",
        all(s[:2] == (400, 2001) and s[2] < 10_000 for s in shapes),
        f"answers {[(s[0], s[1], f'{s[2]} B') for s in shapes]} in {elapsed:.2f} s; {probe.figure()}",
    )

    # 3. bodies over the cap: announced, and chunked without a length
    mark(case)
    case = "oversized"
    big = b" " * (5 * 1024 * 1024)
    path = "/ocpi/2.2.1/receiver/locations/FR/THD/BIG"
    with Probe(emsp.url) as probe:
        a = call(case, emsp, "PUT", path, third["emsp"], content=big)

        def chunks() -> Iterator[bytes]:
            for _ in range(80):
                yield b" " * 65536

        try:
            b2 = call(case, emsp, "PUT", path, third["emsp"], content=chunks())
            chunked = b2.status_code
        except httpx.HTTPError:  # the node closed while we were still sending: it did not read it all
            chunked = -1
    figures[case] = {"announced": a.status_code, "chunked": chunked, "healthz_worst_ms": probe.worst_ms}
    result.check(
        "bodies over 4 MiB: 413 with an OCPI envelope",
        a.status_code == 413 and a.json().get("status_code") == 2000 and chunked in (413, -1),
        f"announced 5 MiB -> {a.status_code}, chunked 5 MiB -> {chunked if chunked > 0 else 'closed'}; "
        f"{probe.figure()}",
    )

    # 4. invalid UTF-8: in a body string, in credentials, in the path, in a header
    mark(case)
    case = "invalid_utf8"
    body = msgspec.json.encode(_world.location_body("UTF", *_world.THIRD_PARTY)).replace(
        b'"Station UTF"', b'"Station \xff\xfe\xc3"'
    )
    answers = [
        call(case, emsp, "PUT", "/ocpi/2.2.1/receiver/locations/FR/THD/UTF", third["emsp"], content=body),
        call(
            case, cpo, "POST", "/ocpi/2.2.1/credentials", token_a, content=b'{"token": "\xff\xff", "url": 1}'
        ),
        call(case, emsp, "GET", "/ocpi/2.2.1/receiver/locations/FR/THD/%FF%FE", third["emsp"]),
    ]
    raw = asyncio.run(
        _raw(
            emsp.port,
            b"GET /ocpi/versions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Authorization: Token \xff\xfe\xfd\r\n\r\n",
        )
    )
    tally.add(case, raw)
    codes = [a.status_code for a in answers] + [raw]
    figures[case] = {"statuses": codes}
    result.check(
        "invalid UTF-8 (body, credentials, path, header): client errors, no 5xx",
        all(400 <= c < 500 for c in codes),
        f"answers {codes}",
    )

    # 5. huge numbers: 1e400 and 20-digit integers in number fields, offsets and limits
    mark(case)
    case = "huge_numbers"
    tariff = _world.tariff_body("HUGE", *_world.THIRD_PARTY)
    tariff_bytes = msgspec.json.encode(tariff).replace(b'"price":0.25', b'"price":1e400')
    huge_int = _world.location_body("HUGE", *_world.THIRD_PARTY)
    huge_int["evses"][0]["connectors"][0]["max_voltage"] = 99999999999999999999
    codes = {
        "tariff price 1e400": call(
            case, emsp, "PUT", "/ocpi/2.2.1/receiver/tariffs/FR/THD/HUGE", third["emsp"], content=tariff_bytes
        ).status_code,
        "max_voltage 20 digits": call(
            case, emsp, "PUT", "/ocpi/2.2.1/receiver/locations/FR/THD/HUGE", third["emsp"], json=huge_int
        ).status_code,
        **{
            f"read back {kind} {version}": call(
                case, emsp, "GET", f"/ocpi/{version}/receiver/{kind}s/FR/THD/HUGE", third["emsp"]
            ).status_code
            for kind in ("tariff", "location")
            for version in _world.VERSIONS
        },
        "offset/limit 20 digits": call(
            case, cpo, "GET", "/ocpi/2.2.1/sender/locations?offset=" + "9" * 20 + "&limit=" + "9" * 20,
            third["cpo"],
        ).status_code,
        "date_from 1e400": call(
            case, cpo, "GET", "/ocpi/2.2.1/sender/locations?date_from=1e400", third["cpo"]
        ).status_code,
    }  # fmt: skip
    figures[case] = codes
    result.check(
        "huge numbers: no 5xx",
        tally.server_errors(case) == 0,
        ", ".join(f"{k} -> {v}" for k, v in codes.items()),
    )

    # 6. slow clients: headers a byte every 0.2 s, a body a byte every 0.2 s (20 of each at once)
    mark(case)
    case = "slow_clients"
    many = 5 if quick else 20

    async def slow_ones() -> list[tuple[int, float]]:
        heads = [
            _slow(emsp.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b"X-Slow: aaaaaaaa\r\n", 0.2, 30)
            for _ in range(many)
        ]
        bodies = [
            _slow(
                emsp.port,
                b"PUT /ocpi/2.2.1/receiver/locations/FR/THD/S HTTP/1.1\r\nHost: x\r\n"
                + f"Authorization: {authorization(third['emsp'])}\r\n".encode()
                + b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
                b"          ",
                0.2,
                30,
            )
            for _ in range(many)
        ]
        return list(await asyncio.gather(*heads, *bodies))

    with Probe(emsp.url) as probe:
        slow = asyncio.run(slow_ones())
    head_results, body_results = slow[:many], slow[many:]
    for status, _ in slow:
        tally.add(case, status)
    head_worst = max(t for _, t in head_results)
    body_worst = max(t for _, t in body_results)
    figures[case] = {
        "clients": 2 * many,
        "header_statuses": sorted({s for s, _ in head_results}),
        "body_statuses": sorted({s for s, _ in body_results}),
        "header_cut_after_s": round(head_worst, 2),
        "body_cut_after_s": round(body_worst, 2),
        "healthz_worst_ms": probe.worst_ms,
    }
    result.check(
        "slow-header and slow-body clients disconnected by the timeouts",
        all(s == 408 for s, _ in head_results)
        and head_worst < timeout + 3
        and body_worst < 2 * timeout + 3
        and all(s < 500 for s, _ in body_results),
        f"{2 * many} clients: headers cut (408) within {head_worst:.2f} s, bodies within {body_worst:.2f} s "
        f"(timeouts {timeout:g} s); {probe.figure()}",
    )

    # 7. 1,000 concurrent connections from 20 addresses: a burst of requests, then silent holders
    mark(case)
    case = "connections"
    addresses = [f"127.0.{i // 250}.{i % 250 + 2}" for i in range(20)]
    per = 10 if quick else 50
    partner_ok = 0
    partner_calls = 0

    def partner() -> bool:
        answer = client.get(
            cpo.url + "/ocpi/2.2.1/sender/locations",
            headers={"Authorization": authorization(third["cpo"])},
        )
        return answer.status_code == 200 and answer.json().get("status_code") == 1000

    burst_request = b"GET /ocpi/versions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with Probe(cpo.url) as burst_probe:
        burst, burst_refused, burst_s = asyncio.run(_connections(cpo.port, addresses, per, burst_request))
    for status, k in burst.items():
        for _ in range(k):
            tally.add(case, status)

    holders: dict[str, Any] = {}

    def hold() -> None:
        holders["result"] = asyncio.run(_connections(cpo.port, addresses, per, None))

    with Probe(cpo.url) as hold_probe:
        holder = threading.Thread(target=hold)
        holder.start()
        time.sleep(min(1.0, timeout / 2))  # the connections are open and silent now
        for _ in range(5):
            partner_calls += 1
            partner_ok += partner()
        holder.join(timeout=120)
    held, held_refused, held_s = holders.get("result", (Counter(), -1, -1.0))
    for status, k in held.items():
        for _ in range(k):
            tally.add(case + "_held", status)
    partner_calls += 1
    partner_ok += partner()  # and after
    total = len(addresses) * per
    figures[case] = {
        "connections": total,
        "addresses": len(addresses),
        "burst_statuses": dict(burst),
        "burst_seconds": round(burst_s, 2),
        "burst_connect_refused": burst_refused,
        "burst_healthz_worst_ms": burst_probe.worst_ms,
        "held_statuses": dict(held),
        "held_cut_after_s": round(held_s, 2),
        "held_connect_refused": held_refused,
        "held_healthz_worst_ms": hold_probe.worst_ms,
        "partner_requests_ok": f"{partner_ok}/{partner_calls}",
    }
    result.check(
        f"{total:,} concurrent connections: all answered, node up, a partner served during and after",
        burst.get(401, 0) == total
        and held.get(408, 0) == total
        and partner_ok == partner_calls
        and hold_probe.failures == 0
        and burst_probe.failures == 0,
        f"burst {dict(burst)} in {burst_s:.2f} s ({burst_probe.figure()}); {total} silent holders "
        f"{dict(held)} cut in {held_s:.2f} s ({hold_probe.figure()}); partner {partner_ok}/{partner_calls}",
    )

    # 8. redirects to another host and private destinations: refused, never reached
    mark(case)
    case = "redirects"
    with http_server("127.0.0.2", None) as (trap, trap_hits), http_server("127.0.0.1", trap) as (redir, _):
        # a partner POSTs credentials whose versions URL answers 307 to another host
        token = _world.invite(cpo, "redirecting")
        answer = call(
            case, cpo, "POST", "/ocpi/2.2.1/credentials", token,
            json={"token": "their-b", "url": redir + "/ocpi/versions", "roles": [_REDIRECTING_ROLE]},
        )  # fmt: skip
        redirect_answer = (answer.status_code, answer.json().get("status_code"))
        redirect_hits = len(trap_hits)
        # a node with a public URL (policy auto -> deny), asked to register at a loopback address
        refused = _refused_privately(cpo, trap + "/ocpi/versions")
        private_hits = len(trap_hits) - redirect_hits
    figures[case] = {
        "redirect_to_other_host": redirect_answer,
        "other_host_hits": redirect_hits,
        "private_destination": refused,
        "private_hits": private_hits,
    }
    result.check(
        "a redirect to another host and a private destination are refused, never reached",
        redirect_answer == (502, 3001)
        and redirect_hits == 0
        and refused == "DestinationRefused"
        and private_hits == 0,
        f"307 to another host -> {redirect_answer[0]}/{redirect_answer[1]}, {redirect_hits} requests reached "
        f"it; public node to loopback -> {refused}, {private_hits} requests reached it",
    )
    client.close()


_REDIRECTING_ROLE = {
    "role": "EMSP",
    "party_id": "RDR",
    "country_code": "FR",
    "business_details": {"name": "R"},
}


async def _raw(port: int, request: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    answer = await _read_all(reader, 10)
    writer.close()
    return _status(answer)


def _refused_privately(node: Any, url: str) -> str:
    """Register, from ``node``'s data directory but with a public URL of its own (``EVROAM_OUTBOUND_PRIVATE``
    ``auto`` then denies private addresses), with a partner at ``url``; the name of the error raised."""
    from evroam.core.errors import EvroamError
    from evroam.node.config import load_config

    async def action(built: Any) -> str:
        try:
            await built.registration.register(url, "token-a", "private")
        except EvroamError as exc:
            causes: list[BaseException] = [exc]
            while causes[-1].__cause__ is not None:
                causes.append(causes[-1].__cause__)
            return type(causes[-1]).__name__  # the registration wraps it in ClientApiUnreachable
        return "registered"

    public = msgspec.structs.replace(load_config(node.data_dir), url="https://ocpi.evroam-reliability.eu")
    previous = os.environ.pop("EVROAM_OUTBOUND_PRIVATE", None)
    try:
        return str(_world.operate(node, action, config=public))
    finally:
        if previous is not None:
            os.environ["EVROAM_OUTBOUND_PRIVATE"] = previous
