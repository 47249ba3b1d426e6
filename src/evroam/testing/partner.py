"""A fake OCPI partner in-process, behind :class:`httpx.MockTransport`.

* :class:`FakeReceiver` records every request (PUT, PATCH, POST, DELETE, GET), keeps what was PUT so
  that a GET of the same URL answers it, answers with an OCPI envelope, and fails as told:
  :meth:`~FakeReceiver.fail` for the next N requests, ``down`` (connection refused), ``answer`` (a
  function choosing the status), ``gate`` (an :class:`asyncio.Event` that holds requests until it is set).
* :class:`FakeSender` serves a list of objects of one module page by page as an OCPI Sender interface does
  (``offset`` / ``limit``, ``Link`` / ``X-Total-Count`` / ``X-Limit``, ``date_from`` / ``date_to``).
* :class:`FakePartner` puts both behind one transport: GETs under a module it serves go to its sender, the
  rest to its receiver; :meth:`FakePartner.record` is the partner record to register in a node's store.

Hand ``partner.transport()`` to the node (``build_node(..., transport=partner.transport())``) or to an
``httpx.AsyncClient``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from evroam.core.clock import Clock
from evroam.registration import Partner, PartnerEndpoint, PartnerStatus, PartyRole

__all__ = ["FakePartner", "FakeReceiver", "FakeSender", "ReceivedRequest"]

#: The envelope timestamp when no clock is given.
DEFAULT_TIMESTAMP = "2026-01-01T00:00:00Z"

#: ``None`` (success), ``(http_status, ocpi_status_code)``, or a whole response.
Answer = tuple[int, int] | httpx.Response | None


@dataclass
class ReceivedRequest:
    """One request a fake partner received: method, URL path, decoded JSON body (``None`` when empty),
    headers and query parameters."""

    method: str
    path: str
    body: Any
    headers: httpx.Headers
    query: dict[str, str] = field(default_factory=dict)


def _decode(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


class _Failures:
    """The next N requests fail with a given status (shared by the receiver and the sender)."""

    def __init__(self) -> None:
        self.left = 0
        self.status: tuple[int, int] = (500, 3000)
        self.refuse = False

    def arm(self, times: int, http_status: int, ocpi_status: int, refuse: bool) -> None:
        if times < 0:
            raise ValueError("times must not be negative")
        self.left = times
        self.status = (http_status, ocpi_status)
        self.refuse = refuse

    def take(self, request: httpx.Request) -> tuple[int, int] | None:
        """The failure status for this request (or ``None``: no failure left); raises when refusing."""
        if self.left <= 0:
            return None
        self.left -= 1
        if self.refuse:
            raise httpx.ConnectError("connection refused (fake partner told to fail)", request=request)
        return self.status


def _timestamp(clock: Clock | None) -> str:
    if clock is None:
        return DEFAULT_TIMESTAMP
    return clock.now().to_json()


def _envelope(
    http_status: int,
    ocpi_status: int,
    clock: Clock | None,
    data: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"status_code": ocpi_status, "timestamp": _timestamp(clock)}
    if data is not None:
        body["data"] = data
    return httpx.Response(http_status, json=body, headers=headers)


@dataclass
class FakeReceiver:
    """A partner's Receiver interfaces: records what it receives and answers with an OCPI envelope.

    The answer to a request is, in this order: a connection error while ``down``; the status given to
    :meth:`fail` while failures are left; what ``answer(request)`` returns unless ``None``; else success
    (200 / 1000; a GET of a URL something was PUT to answers that object, an unknown one 404 / 2003).
    Every request but the refused ones is recorded in :attr:`seen`, failed ones included.

    ``objects`` holds what the partner keeps, by URL path: PUT stores the body, PATCH merges its fields
    into the stored object, DELETE removes it (only successful requests change it).
    """

    answer: Callable[[ReceivedRequest], Answer] = lambda request: None
    down: bool = False
    gate: asyncio.Event | None = None
    clock: Clock | None = None
    seen: list[ReceivedRequest] = field(default_factory=list)
    objects: dict[str, Any] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the first request arrives (wait on it to know that a request is under way)."""
    max_in_flight_per_object: int = 0
    """The most requests seen at once for one URL path (a push worker should never overlap them)."""
    _in_flight: dict[str, int] = field(default_factory=dict, repr=False)
    _failures: _Failures = field(default_factory=_Failures, repr=False)

    def fail(
        self, times: int = 1, *, http_status: int = 500, ocpi_status: int = 3000, refuse: bool = False
    ) -> None:
        """Make the next ``times`` requests fail: answered with ``http_status`` / ``ocpi_status``, or
        refused as by a partner that is down (``refuse``: not recorded, as a request that never arrived)."""
        self._failures.arm(times, http_status, ocpi_status, refuse)

    @property
    def failures_left(self) -> int:
        return self._failures.left

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def requests(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every recorded request, in order."""
        return [(s.method, s.path) for s in self.seen]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (the handler of :meth:`transport`)."""
        if self.down:
            raise httpx.ConnectError("connection refused (fake partner is down)", request=request)
        failure = self._failures.take(request)  # raises when told to refuse
        path = request.url.path
        seen = ReceivedRequest(
            request.method, path, _decode(request), request.headers, dict(request.url.params)
        )
        self.seen.append(seen)
        self.arrived.set()
        self._in_flight[path] = self._in_flight.get(path, 0) + 1
        self.max_in_flight_per_object = max(self.max_in_flight_per_object, self._in_flight[path])
        try:
            if self.gate is not None:
                await self.gate.wait()
            else:
                await asyncio.sleep(0)  # let concurrent requests overlap, as on a real network
            chosen: Answer = failure if failure is not None else self.answer(seen)
        finally:
            self._in_flight[path] -= 1
        if isinstance(chosen, httpx.Response):
            return chosen
        if chosen is not None:
            return _envelope(chosen[0], chosen[1], self.clock)
        return self._succeed(seen)

    def _succeed(self, seen: ReceivedRequest) -> httpx.Response:
        if seen.method == "GET":
            if seen.path not in self.objects:
                return _envelope(404, 2003, self.clock)
            return _envelope(200, 1000, self.clock, data=self.objects[seen.path])
        if seen.method == "PUT":
            self.objects[seen.path] = seen.body
        elif seen.method == "PATCH":
            current = self.objects.get(seen.path)
            if isinstance(current, dict) and isinstance(seen.body, dict):
                self.objects[seen.path] = {**current, **seen.body}
        elif seen.method == "DELETE":
            self.objects.pop(seen.path, None)
        return _envelope(200, 1000, self.clock)


@dataclass
class FakeSender:
    """A partner's Sender interface of one module at ``base`` (its URL, without query).

    Serves ``objects`` (wire JSON dicts, in creation order) page by page, at most ``cap`` per page, with
    ``Link`` / ``X-Total-Count`` / ``X-Limit``, and filters on ``last_updated`` with ``date_from``
    (inclusive) and ``date_to`` (exclusive) as OCPI 2.2 does. Every query is recorded in :attr:`queries`.
    From ``fail_at_offset`` on, pages answer 500 / 3000; :meth:`fail` fails the next N requests.
    """

    base: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    cap: int = 100
    fail_at_offset: int | None = None
    clock: Clock | None = None
    queries: list[dict[str, str]] = field(default_factory=list)
    _failures: _Failures = field(default_factory=_Failures, repr=False)

    def fail(
        self, times: int = 1, *, http_status: int = 500, ocpi_status: int = 3000, refuse: bool = False
    ) -> None:
        """Make the next ``times`` requests fail (``refuse``: with a connection error)."""
        self._failures.arm(times, http_status, ocpi_status, refuse)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def serves(self, request: httpx.Request) -> bool:
        """Whether ``request`` is a GET of this sender's list."""
        url = str(request.url.copy_with(query=None))
        return request.method == "GET" and url.rstrip("/") == self.base.rstrip("/")

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one GET of the list (the handler of :meth:`transport`)."""
        if not self.serves(request):
            return _envelope(404, 2000, self.clock)
        query = dict(request.url.params)
        self.queries.append(query)
        failure = self._failures.take(request)
        if failure is not None:
            return _envelope(failure[0], failure[1], self.clock)
        offset = int(query.get("offset", "0"))
        limit = min(int(query.get("limit", str(self.cap))), self.cap)
        if self.fail_at_offset is not None and offset >= self.fail_at_offset:
            return _envelope(500, 3000, self.clock)
        matching = [
            o
            for o in self.objects
            if ("date_from" not in query or o["last_updated"] >= query["date_from"])
            and ("date_to" not in query or o["last_updated"] < query["date_to"])
        ]
        page = matching[offset : offset + limit]
        headers = {"X-Total-Count": str(len(matching)), "X-Limit": str(self.cap)}
        if offset + limit < len(matching):
            rest = "".join(f"&{k}={v}" for k, v in query.items() if k in ("date_from", "date_to"))
            headers["Link"] = f'<{self.base}?offset={offset + limit}&limit={limit}{rest}>; rel="next"'
        return _envelope(200, 1000, self.clock, data=page, headers=headers)


class FakePartner:
    """A whole fake partner platform of one OCPI ``version`` at ``base_url`` (e.g. ``https://cpo.test/ocpi``):
    Sender lists for the modules given to :meth:`serve`, a :class:`FakeReceiver` for everything else.

    Its module URLs are ``{base_url}/{version}/{module}``; :meth:`record` builds the REGISTERED partner
    record a node needs to pull from it and push to it.
    """

    def __init__(
        self,
        base_url: str = "https://partner.test/ocpi",
        *,
        version: str = "2.2.1",
        role: str = "EMSP",
        country_code: str = "DE",
        party_id: str = "EMS",
        clock: Clock | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version
        self.role = role
        self.country_code = country_code
        self.party_id = party_id
        self.clock = clock
        self.receiver = FakeReceiver(clock=clock)
        self.senders: dict[str, FakeSender] = {}

    def module_url(self, module: str) -> str:
        return f"{self.base_url}/{self.version}/{module}"

    def serve(self, module: str, objects: Iterable[dict[str, Any]] = (), *, cap: int = 100) -> FakeSender:
        """Serve ``objects`` (wire JSON) as this partner's Sender list of ``module``; returns the sender
        (change its ``objects`` later to change what the next pull sees)."""
        sender = FakeSender(self.module_url(module), list(objects), cap=cap, clock=self.clock)
        self.senders[module] = sender
        return sender

    @property
    def seen(self) -> list[ReceivedRequest]:
        """What the receiver recorded (the sender lists record their queries apart)."""
        return self.receiver.seen

    def fail(
        self, times: int = 1, *, http_status: int = 500, ocpi_status: int = 3000, refuse: bool = False
    ) -> None:
        """Make the next ``times`` requests to the receiver fail (see :meth:`FakeReceiver.fail`)."""
        self.receiver.fail(times, http_status=http_status, ocpi_status=ocpi_status, refuse=refuse)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        for sender in self.senders.values():
            if sender.serves(request):
                return sender.handle(request)
        return await self.receiver.handle(request)

    def record(
        self,
        clock: Clock,
        *,
        partner_id: str = "p-fake",
        name: str = "fake",
        token: str = "token-for-the-fake-partner",
        receives: Sequence[str] = (),
        initiated_by: str = "us",
    ) -> Partner:
        """A REGISTERED partner record for a node's store: a SENDER endpoint per served module and a
        RECEIVER endpoint per module in ``receives``; ``token`` is what the node calls the partner with."""
        now = clock.now()
        endpoints = [PartnerEndpoint(module=m, url=self.module_url(m), role="SENDER") for m in self.senders]
        endpoints += [PartnerEndpoint(module=m, url=self.module_url(m), role="RECEIVER") for m in receives]
        return Partner(
            id=partner_id,
            name=name,
            status=PartnerStatus.REGISTERED,
            initiated_by=initiated_by,
            created=now,
            updated=now,
            version=self.version,
            versions_url=f"{self.base_url}/versions",
            token=token,
            token_encoding="raw" if self.version == "2.1.1" else "base64",
            roles=(
                PartyRole(
                    role=self.role,
                    country_code=self.country_code,
                    party_id=self.party_id,
                    name=f"{name} ({self.country_code}*{self.party_id})",
                ),
            ),
            endpoints=tuple(endpoints),
        )
