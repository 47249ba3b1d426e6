"""The outbound OCPI client: one per partner connection, wrapping an injected ``httpx.AsyncClient``.

This is the only module of evroam that imports httpx, and it does so when a client is made or a request
sent, not when it is imported (httpx and what it loads cost a CLI listing about 50 ms of start-up).

Everything protocol-specific (envelope, token
encoding, tracing and routing headers, pagination links) comes from :mod:`evroam.ocpi.transport`;
this module only moves bytes and maps failures onto the error tree:

* connection errors, timeouts, invalid URLs → :class:`~evroam.core.errors.ClientApiUnreachable` (3001);
* a non-2xx HTTP answer, a body that is not an envelope, a non-1xxx ``status_code``, or ``data`` that
  does not fit the expected model → :class:`~evroam.core.errors.PartnerError` carrying the partner's
  HTTP status and OCPI status code.

Redirects: a 307 or 308 is followed with the same method and body, a 301, 302 or 303 only for a GET;
only to the same scheme, host and port, at most :data:`MAX_REDIRECTS` in a row. Any other redirect
raises :class:`~evroam.core.errors.RedirectRefused` (a partner whose URL wants a trailing slash is
reached; a partner cannot send our token to another host). The outbound policy
(:mod:`evroam.http.outbound`) is enforced by the transport, so on every hop.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload
from urllib.parse import urljoin

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.codec import encode
from evroam.core.errors import (
    ClientApiUnreachable,
    HubConnectionProblem,
    HubTimeout,
    PartnerError,
    RedirectRefused,
)
from evroam.core.types import DateTime
from evroam.http.forward import ForwardFailed, ForwardPool, ForwardReply, ForwardTimeout
from evroam.http.outbound import OutboundPolicy
from evroam.ocpi.table import ModuleSpec, VersionSpec
from evroam.ocpi.transport import (
    LINK,
    X_LIMIT,
    X_TOTAL_COUNT,
    PartyRef,
    RequestIds,
    Routing,
    TokenEncoding,
    decode_envelope,
    encode_authorization,
    next_link,
    outgoing_request_ids,
    parse_total_count,
    request_id_headers,
    require_data,
    routing_headers,
    uses_request_ids,
    uses_routing,
)

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MAX_REDIRECTS",
    "OcpiClient",
    "OcpiResponse",
    "Pages",
    "ParamValue",
    "RawReply",
    "WireHooks",
    "WireRequest",
    "WireResponse",
    "create_http_client",
    "send_raw",
]

T = TypeVar("T")

#: A query parameter value; timestamps go out as UTC with ``Z``; a sequence repeats the parameter.
ParamValue = str | int | datetime | Sequence[str | int | datetime]
_Params = Mapping[str, ParamValue] | None

_EXCERPT = 200

#: Redirects followed in a row for one request.
MAX_REDIRECTS = 3
_SAME_METHOD_REDIRECTS = frozenset({307, 308})
_GET_ONLY_REDIRECTS = frozenset({301, 302, 303})
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class OcpiResponse(Generic[T]):
    """A successful OCPI answer: the envelope's fields plus what HTTP said."""

    data: T
    status_code: int
    status_message: str | None
    timestamp: DateTime
    http_status: int
    headers: httpx.Headers
    url: str
    request_ids: RequestIds | None


class _ErrorBody(msgspec.Struct):
    # Whatever OCPI fields an error answer happens to carry; everything optional.
    status_code: int | None = None
    status_message: str | None = None


def _param_value(value: str | int | datetime) -> str:
    if isinstance(value, datetime):
        return DateTime.from_datetime(value).to_json()
    return str(value)


def _query(params: _Params) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in (params or {}).items():
        if isinstance(value, str | int | datetime):
            pairs.append((name, _param_value(value)))
        else:
            pairs.extend((name, _param_value(item)) for item in value)
    return pairs


def _partner_error(response: httpx.Response) -> PartnerError:
    status: int | None = None
    message = ""
    try:
        body = msgspec.json.decode(response.content, type=_ErrorBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        message = response.text[:_EXCERPT].strip()
    else:
        status = body.status_code
        message = body.status_message or ""
    return PartnerError(response.status_code, status, message or response.reason_phrase, str(response.url))


class OcpiClient:
    """Talks OCPI to one partner in one version.

    ``spec`` is the version table of the connection's version (it decides whether tracing and routing
    headers are sent); ``token`` is the credentials token we use towards the partner and
    ``token_encoding`` how it goes into ``Authorization`` (``TokenEncoding.for_spec(spec)`` unless the
    partner needs the other form). ``us`` / ``them`` fill ``OCPI-from-*`` / ``OCPI-to-*`` on requests of
    functional modules (2.2+); ``them`` may be ``None`` for open routing, and ``to=`` overrides it per call.
    Every request names its ``module`` (``"locations"``, ``"credentials"``, ...) or its ``ModuleSpec``.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        spec: VersionSpec,
        token: str,
        token_encoding: TokenEncoding,
        us: PartyRef | None,
        them: PartyRef | None,
        ids: IdGenerator,
        clock: Clock,
    ) -> None:
        self._http = http
        self.spec = spec
        self.us = us
        self.them = them
        self._authorization = encode_authorization(token, token_encoding)
        self._ids = ids
        self._clock = clock

    @property
    def version(self) -> str:
        return self.spec.number

    def _headers(
        self, module: str | ModuleSpec, correlation_id: str | None, to: PartyRef | None, with_body: bool
    ) -> tuple[dict[str, str], RequestIds | None]:
        headers = {"Authorization": self._authorization, "Accept": "application/json"}
        if with_body:
            headers["Content-Type"] = "application/json"
        request_ids = None
        if uses_request_ids(self.spec):
            request_ids = outgoing_request_ids(self._ids, correlation_id)
            headers.update(request_id_headers(request_ids))
        if uses_routing(self.spec, module):
            if self.us is None:
                raise ValueError(f"OCPI {self.version} routing headers need our own party (us=)")
            headers.update(routing_headers(Routing(sender=self.us, receiver=to or self.them)))
        return headers, request_ids

    async def request(
        self,
        method: str,
        url: str,
        *,
        module: str | ModuleSpec,
        data_type: Any = None,
        body: Any = None,
        params: _Params = None,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> OcpiResponse[Any]:
        """Send one request and return the decoded answer.

        ``data_type`` is the wire type of the envelope's ``data``; ``None`` means the data is not
        wanted (the answer's ``data`` is then ``None``). Absent ``data`` is accepted only when
        ``data_type`` admits ``None``. ``body`` is any value :func:`evroam.core.codec.encode` takes.
        """
        headers, request_ids = self._headers(module, correlation_id, to, body is not None)
        content = encode(body) if body is not None else None
        response = await _send_following(
            self._http, method, url, content=content, params=tuple(_query(params)) or None, headers=headers
        )
        where = str(response.url)
        if not response.is_success:
            raise _partner_error(response)
        envelope = decode_envelope(
            response.content,
            Any if data_type is None else data_type,
            http_status=response.status_code,
            url=where,
        )
        data = (
            None
            if data_type is None
            else require_data(envelope, data_type, http_status=response.status_code, url=where)
        )
        return OcpiResponse(
            data=data,
            status_code=envelope.status_code,
            status_message=envelope.status_message,
            timestamp=envelope.timestamp,
            http_status=response.status_code,
            headers=response.headers,
            url=where,
            request_ids=request_ids,
        )

    async def get(
        self,
        url: str,
        data_type: type[T],
        *,
        module: str | ModuleSpec,
        params: _Params = None,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> T:
        """GET one object (or one unpaginated list) and return the envelope's ``data`` as ``data_type``."""
        answer = await self.request(
            "GET",
            url,
            module=module,
            data_type=data_type,
            params=params,
            correlation_id=correlation_id,
            to=to,
        )
        result: T = answer.data
        return result

    @overload
    async def put(
        self,
        url: str,
        body: Any,
        data_type: None = None,
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> None: ...
    @overload
    async def put(
        self,
        url: str,
        body: Any,
        data_type: type[T],
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> T: ...
    async def put(
        self,
        url: str,
        body: Any,
        data_type: type[T] | None = None,
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> T | None:
        """PUT ``body``; the answer's ``data`` as ``data_type``, or ``None`` when no type is given."""
        answer = await self.request(
            "PUT", url, module=module, data_type=data_type, body=body, correlation_id=correlation_id, to=to
        )
        result: T | None = answer.data
        return result

    @overload
    async def patch(
        self,
        url: str,
        body: Any,
        data_type: None = None,
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> None: ...
    @overload
    async def patch(
        self,
        url: str,
        body: Any,
        data_type: type[T],
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> T: ...
    async def patch(
        self,
        url: str,
        body: Any,
        data_type: type[T] | None = None,
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> T | None:
        """PATCH with ``body``; the answer's ``data`` as ``data_type``, or ``None`` when no type is given."""
        answer = await self.request(
            "PATCH", url, module=module, data_type=data_type, body=body, correlation_id=correlation_id, to=to
        )
        result: T | None = answer.data
        return result

    @overload
    async def post(
        self,
        url: str,
        body: Any,
        data_type: None = None,
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> None: ...
    @overload
    async def post(
        self,
        url: str,
        body: Any,
        data_type: type[T],
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> T: ...
    async def post(
        self,
        url: str,
        body: Any,
        data_type: type[T] | None = None,
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> T | None:
        """POST ``body``; the answer's ``data`` as ``data_type``, or ``None`` when no type is given.

        Use :meth:`request` when the answer's headers matter (e.g. ``Location`` after a CDR POST).
        """
        answer = await self.request(
            "POST", url, module=module, data_type=data_type, body=body, correlation_id=correlation_id, to=to
        )
        result: T | None = answer.data
        return result

    @overload
    async def delete(
        self,
        url: str,
        data_type: None = None,
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> None: ...
    @overload
    async def delete(
        self,
        url: str,
        data_type: type[T],
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> T: ...
    async def delete(
        self,
        url: str,
        data_type: type[T] | None = None,
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> T | None:
        """DELETE; the answer's ``data`` as ``data_type``, or ``None`` when no type is given."""
        answer = await self.request(
            "DELETE", url, module=module, data_type=data_type, correlation_id=correlation_id, to=to
        )
        result: T | None = answer.data
        return result

    def iterate(
        self,
        url: str,
        params: _Params,
        item_type: type[T],
        *,
        module: str | ModuleSpec,
        correlation_id: str | None = None,
        to: PartyRef | None = None,
    ) -> Pages[T]:
        """Every object of a paginated GET-list, page after page, following ``Link: <...>; rel="next"``.

        ``params`` (``date_from``, ``limit``, filters ...) go on the first request only; later requests
        use the partner's next link as given. The returned :class:`Pages` reports ``total_count``.
        """
        return Pages(self, url, params, item_type, module, correlation_id, to)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme))


def _redirect_target(method: str, response: httpx.Response, hops: int) -> httpx.URL | None:
    """Where to send ``method`` again after ``response``; ``None`` when it is not a redirect to follow.

    Raises :class:`RedirectRefused` for a redirect that must not be followed."""
    status = response.status_code
    if status not in _SAME_METHOD_REDIRECTS and status not in _GET_ONLY_REDIRECTS:
        return None
    if status in _GET_ONLY_REDIRECTS and method.upper() != "GET":
        return None  # answered as the error it is: a 303 would turn our POST into a GET
    location = response.headers.get("location")
    if not location:
        return None
    here = response.request.url
    import httpx

    try:
        target = here.join(location)
    except httpx.InvalidURL as exc:
        raise RedirectRefused(f"{method} {here} redirects to an invalid URL {location!r}") from exc
    if _origin(target) != _origin(here):
        raise RedirectRefused(
            f"{method} {here} answered HTTP {status} to {target}: redirects are only followed to the "
            "same scheme, host and port (the request carries our credentials token)"
        )
    if hops >= MAX_REDIRECTS:
        raise RedirectRefused(f"{method} {here}: more than {MAX_REDIRECTS} redirects in a row")
    return target


async def _send_following(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    content: bytes | None,
    params: tuple[tuple[str, str], ...] | None,
    headers: Mapping[str, str],
) -> httpx.Response:
    """Send one request, following the redirects the module docstring allows (method and body kept)."""
    import httpx

    target: str | httpx.URL = url
    hops = 0
    while True:
        try:
            response = await http.request(method, target, content=content, params=params, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ClientApiUnreachable(f"{method} {target} failed: {type(exc).__name__}: {exc}") from exc
        following = _redirect_target(method, response, hops)
        if following is None:
            return response
        hops += 1
        target, params = following, None  # the Location carries its own query


class Pages(Generic[T]):
    """Async iterator over every item of a paginated list; progress in its attributes.

    * ``total_count`` — the latest ``X-Total-Count`` (``None`` until the first page or if not sent);
    * ``limit`` — the latest ``X-Limit``; ``pages`` / ``fetched`` — pages and items received so far;
    * ``started_at`` — our clock when the first request went out (the ``date_from`` of the next sync).

    A next link that points to a page already fetched raises :class:`PartnerError` instead of looping.
    """

    def __init__(
        self,
        client: OcpiClient,
        url: str,
        params: _Params,
        item_type: type[T],
        module: str | ModuleSpec,
        correlation_id: str | None,
        to: PartyRef | None,
    ) -> None:
        self._client = client
        self._next_url: str | None = url
        self._params: _Params = params
        self._list_type: Any = list[item_type]  # type: ignore[valid-type]
        self._module = module
        self._correlation_id = correlation_id
        self._to = to
        self._buffer: deque[T] = deque()
        self._visited: set[str] = set()
        self.total_count: int | None = None
        self.limit: int | None = None
        self.pages = 0
        self.fetched = 0
        self.started_at: DateTime | None = None

    def __aiter__(self) -> Pages[T]:
        return self

    async def __anext__(self) -> T:
        while not self._buffer:
            if self._next_url is None:
                raise StopAsyncIteration
            await self._fetch(self._next_url)
        return self._buffer.popleft()

    async def _fetch(self, url: str) -> None:
        client = self._client
        if self.started_at is None:
            self.started_at = client._clock.now()
            if self._correlation_id is None and uses_request_ids(client.spec):
                self._correlation_id = client._ids.new_id()  # one chain for the whole listing
        answer = await client.request(
            "GET",
            url,
            module=self._module,
            data_type=self._list_type | None,
            params=self._params,
            correlation_id=self._correlation_id,
            to=self._to,
        )
        self._params = None
        self._visited.add(answer.url)
        items: list[T] = answer.data or []
        self._buffer.extend(items)
        self.pages += 1
        self.fetched += len(items)
        self.total_count = parse_total_count(answer.headers.get(X_TOTAL_COUNT))
        self.limit = parse_total_count(answer.headers.get(X_LIMIT))
        link = next_link(answer.headers.get_list(LINK))
        self._next_url = None if link is None else urljoin(answer.url, link)
        if self._next_url is not None and self._next_url in self._visited:
            raise PartnerError(
                answer.http_status,
                answer.status_code,
                f"pagination loops back to {self._next_url}",
                answer.url,
            )


@dataclass(frozen=True, slots=True)
class WireRequest:
    """An outgoing HTTP request as :class:`WireHooks` see it (no httpx types)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    content: bytes


@dataclass(frozen=True, slots=True)
class WireResponse:
    """An HTTP answer as :class:`WireHooks` see it; ``content`` is already decoded (no gzip)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes


class WireHooks(Protocol):
    """Byte-level hooks around every request of the node's HTTP client (e.g. :mod:`evroam.compat`).

    Each hook returns its argument unchanged (the same object) when it has nothing to do; the
    client then sends / returns the original request / response as they were.
    """

    async def on_request(self, request: WireRequest) -> WireRequest: ...

    async def on_response(self, request: WireRequest, response: WireResponse) -> WireResponse: ...


_HOP_HEADERS = frozenset({"content-length", "content-encoding", "transfer-encoding"})


Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) -> IP addresses``; raises ``OSError`` when the name does not resolve."""


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (the event loop's ``getaddrinfo``)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


FORWARD_CLIENT_ENV = "EVROAM_FORWARD_CLIENT"
"""``lean`` (default): a hub forwards over :mod:`evroam.http.forward`; ``httpx``: over the httpx pool."""


@functools.cache
def _transports() -> tuple[
    type[httpx.AsyncBaseTransport], type[httpx.AsyncBaseTransport], type[_ForwardingBase]
]:
    """The three transport wrappers, ``(hooked, guarded, forwarding)``: defined on first use, as they
    subclass httpx's transport (see the module docstring)."""
    import httpx

    class _HookedTransport(httpx.AsyncBaseTransport):
        """Runs :class:`WireHooks` around an inner transport."""

        def __init__(self, inner: httpx.AsyncBaseTransport, hooks: WireHooks) -> None:
            self._inner = inner
            self._hooks = hooks

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen = WireRequest(
                request.method, str(request.url), tuple(request.headers.multi_items()), await request.aread()
            )
            wire = await self._hooks.on_request(seen)
            if wire is not seen:
                headers = [(k, v) for k, v in wire.headers if k.lower() not in _HOP_HEADERS]
                request = httpx.Request(
                    wire.method,
                    wire.url,
                    headers=headers,
                    content=wire.content,
                    extensions=request.extensions,
                )
            response = await self._inner.handle_async_request(request)
            try:
                content = await response.aread()
            finally:
                await response.aclose()
            answer = WireResponse(response.status_code, tuple(response.headers.multi_items()), content)
            changed = await self._hooks.on_response(wire, answer)
            if changed is answer:
                return response  # read and closed, its content kept: nothing to rebuild
            headers = [(k, v) for k, v in changed.headers if k.lower() not in _HOP_HEADERS]
            return httpx.Response(
                changed.status, headers=headers, content=changed.content, extensions=response.extensions
            )

        async def aclose(self) -> None:
            await self._inner.aclose()

    class _GuardedTransport(httpx.AsyncBaseTransport):
        """Enforces an :class:`OutboundPolicy` on every request: resolves the host, checks each of its
        addresses, and (``pin``) sends the request to the address checked, so that a second lookup
        cannot answer differently (DNS rebinding). The ``Host`` header and the TLS server name stay the
        URL's own name."""

        def __init__(
            self, inner: httpx.AsyncBaseTransport, policy: OutboundPolicy, resolve: Resolver, *, pin: bool
        ) -> None:
            self._inner = inner
            self._policy = policy
            self._resolve = resolve
            self._pin = pin

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            url = request.url
            host = url.host
            port = url.port or _DEFAULT_PORTS.get(url.scheme, 443)
            try:
                addresses = await self._resolve(host, port)
            except OSError as exc:
                raise ClientApiUnreachable(
                    f"{request.method} {url} failed: cannot resolve {host}: {exc}"
                ) from exc
            if not addresses:
                raise ClientApiUnreachable(f"{request.method} {url} failed: {host} has no address")
            self._policy.check(host, addresses)
            if self._pin and addresses[0] != host:
                extensions = dict(request.extensions)
                if url.scheme == "https":
                    extensions.setdefault("sni_hostname", host)
                request = httpx.Request(
                    request.method,
                    url.copy_with(host=addresses[0]),
                    headers=request.headers,  # Host: the name, as httpx set it from the URL
                    stream=request.stream,
                    extensions=extensions,
                )
            return await self._inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self._inner.aclose()

    class _ForwardingTransport(httpx.AsyncBaseTransport, _ForwardingBase):
        """The outermost transport on the real network: passes every request of the httpx client through,
        and holds the lean pool that :func:`send_raw` uses (closed with the client)."""

        def __init__(
            self, inner: httpx.AsyncBaseTransport, pool: ForwardPool, hooks: WireHooks | None
        ) -> None:
            self._inner = inner
            self.pool = pool
            self.hooks = hooks

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await self._inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self.pool.aclose()
            await self._inner.aclose()

    return _HookedTransport, _GuardedTransport, _ForwardingTransport


class _ForwardingBase:
    """What :func:`send_raw` needs of the forwarding transport (no httpx type)."""

    pool: ForwardPool
    hooks: WireHooks | None


def create_http_client(
    *,
    timeout: float = 10.0,
    transport: Any = None,
    hooks: WireHooks | None = None,
    outbound: OutboundPolicy | None = None,
    resolve: Resolver | None = None,
) -> httpx.AsyncClient:
    """The node's one ``httpx.AsyncClient`` (connection pool), shared by every :class:`OcpiClient`.

    ``transport`` replaces the network (e.g. ``httpx.MockTransport`` or ``httpx.ASGITransport`` in tests).
    ``hooks`` see (and may rewrite) every request and answer at the byte level: the partner
    compatibility layer (:mod:`evroam.compat`) plugs in here, so that no OCPI code knows about quirks.
    ``outbound`` is the policy on destinations (:mod:`evroam.http.outbound`), checked on every request
    after the hooks; ``resolve`` replaces DNS in tests. httpx itself follows no redirect:
    :class:`OcpiClient` follows the few it allows (see the module docstring).
    """
    import httpx

    hooked, guarded, forwarding = _transports()
    # a hub forwards many requests at once to one platform: keep that many connections alive rather
    # than opening a new one for each request above httpx's default of 20
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
    network = transport is None
    guarding = outbound is not None and outbound.deny_private
    if guarding:
        assert outbound is not None
        transport = guarded(  # type: ignore[call-arg]
            transport or httpx.AsyncHTTPTransport(limits=limits),
            outbound,
            resolve or resolve_host,
            pin=network,
        )
    if hooks is not None:
        transport = hooked(transport or httpx.AsyncHTTPTransport(limits=limits), hooks)  # type: ignore[call-arg]
    if network and os.environ.get(FORWARD_CLIENT_ENV, "lean") != "httpx":
        # the real network: send_raw (the hub's forwarding) takes the lean keep-alive pool of
        # evroam.http.forward, under the same outbound policy and hooks
        pool = ForwardPool(
            resolve=resolve or resolve_host,
            check=outbound.check if guarding and outbound is not None else None,
            ssl_context=httpx.create_ssl_context,
        )
        transport = forwarding(  # type: ignore[call-arg]
            transport or httpx.AsyncHTTPTransport(limits=limits), pool, hooks
        )
    return httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False, limits=limits)


@dataclass(frozen=True, slots=True)
class RawReply:
    """A partner's answer as bytes (what a hub forwards without decoding it)."""

    status: int
    headers: httpx.Headers
    body: bytes


async def send_raw(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    content: bytes | None = None,
    params: Sequence[tuple[str, str]] | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - httpx's own per-request timeout, not a wait
) -> RawReply:
    """One request with the body as it is, the answer as it came (any HTTP status), over the node's
    pooled client. A timeout raises :class:`~evroam.core.errors.HubTimeout` (4002), any other failure
    to get an answer :class:`~evroam.core.errors.HubConnectionProblem` (4003)."""
    # straight to the client's pooled transport (its hooks and outbound policy included): the client's
    # own layers (cookies, auth, redirects, header merging) cost more than the forwarding itself
    import httpx

    transport: httpx.AsyncBaseTransport = http._transport
    if isinstance(transport, _ForwardingBase):  # the real network: the lean pool
        return await _send_lean(transport, method, url, headers, content, params, timeout, http.timeout)
    limit = httpx.Timeout(timeout) if timeout is not None else http.timeout
    try:
        request = httpx.Request(
            method,
            url,
            params=list(params) if params else None,
            headers=headers,
            content=content,
            extensions={"timeout": limit.as_dict()},
        )
        response = await transport.handle_async_request(request)
        try:
            body = await response.aread()
        finally:
            await response.aclose()
    except httpx.TimeoutException as exc:
        raise HubTimeout(f"no answer from {url} in time ({type(exc).__name__})") from None
    except (httpx.HTTPError, httpx.InvalidURL, ClientApiUnreachable) as exc:
        raise HubConnectionProblem(f"cannot reach {url}: {exc}") from None
    return RawReply(response.status_code, response.headers, body)


async def _send_lean(
    via: _ForwardingBase,
    method: str,
    url: str,
    headers: Mapping[str, str],
    content: bytes | None,
    params: Sequence[tuple[str, str]] | None,
    timeout: float | None,  # noqa: ASYNC109 - the exchange's limit, enforced by the pool
    default: httpx.Timeout,
) -> RawReply:
    """:func:`send_raw` over :class:`~evroam.http.forward.ForwardPool`, with the client's hooks around it
    (as ``_HookedTransport`` runs them) and its outbound policy (checked by the pool on each new
    connection)."""
    import httpx

    limit = timeout if timeout is not None else _longest(default)
    hooks = via.hooks
    pairs = list(headers.items())
    wire: WireRequest | None = None
    if hooks is not None:
        if params:
            url = str(httpx.URL(url, params=list(params)))
            params = None
        seen = WireRequest(method, url, tuple(pairs), content or b"")
        wire = await hooks.on_request(seen)
        if wire is not seen:
            method, url, content = wire.method, wire.url, wire.content
            pairs = [(k, v) for k, v in wire.headers if k.lower() not in _HOP_HEADERS]
    try:
        reply = await via.pool.request(method, url, pairs, content, params or (), timeout=limit)
    except ForwardTimeout as exc:
        raise HubTimeout(f"no answer from {url} in time ({exc})") from None
    except ForwardFailed as exc:
        raise HubConnectionProblem(f"cannot reach {url}: {exc}") from None
    except ClientApiUnreachable as exc:  # the outbound policy refused the destination
        raise HubConnectionProblem(f"cannot reach {url}: {exc}") from None
    status, raw_headers, body = _decoded(reply)
    if hooks is not None and wire is not None:
        answer = WireResponse(
            status, tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers), body
        )
        changed = await hooks.on_response(wire, answer)
        if changed is not answer:
            kept = [(k, v) for k, v in changed.headers if k.lower() not in _HOP_HEADERS]
            return RawReply(changed.status, httpx.Headers(kept), changed.content)
    return RawReply(status, httpx.Headers(raw_headers), body)


def _longest(limit: httpx.Timeout) -> float:
    values = [v for v in (limit.connect, limit.read, limit.write, limit.pool) if v is not None]
    return max(values) if values else 3600.0


def _decoded(reply: ForwardReply) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The answer with a gzip or deflate body decoded (as httpx does), its encoding headers dropped."""
    coding = next((v for k, v in reply.headers if k.lower() == b"content-encoding"), None)
    if coding is None or coding.strip().lower() in (b"identity", b""):
        return reply.status, reply.headers, reply.body
    import zlib

    try:
        if coding.strip().lower() in (b"gzip", b"x-gzip"):
            body = zlib.decompress(reply.body, 16 + zlib.MAX_WBITS)
        elif coding.strip().lower() == b"deflate":
            try:
                body = zlib.decompress(reply.body)
            except zlib.error:
                body = zlib.decompress(reply.body, -zlib.MAX_WBITS)
        else:
            return reply.status, reply.headers, reply.body
    except zlib.error as exc:
        raise HubConnectionProblem(f"an answer that does not decode ({coding!r}): {exc}") from None
    kept = [(k, v) for k, v in reply.headers if k.lower() not in (b"content-encoding", b"content-length")]
    return reply.status, kept, body
