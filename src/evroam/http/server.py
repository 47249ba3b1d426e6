"""The node's ASGI application. This is the only module of evroam that imports Litestar.

Routes are generated, not written: for every OCPI version the node serves and every
:class:`ModuleBinding` (a module interface with one handler per endpoint of the version table), each
:class:`~evroam.ocpi.table.EndpointSpec` of ``SPEC.modules[module].interfaces[role]`` becomes a route
whose handler is the binding's plain async function taking an :class:`OcpiCall`. The version endpoints
(``GET /ocpi/versions`` and ``GET /ocpi/{version}/details``) list exactly what is bound.

URL layout (relative to the node's public base URL):

* ``/ocpi/versions`` and ``/ocpi/{version}/details``;
* ``/ocpi/{version}/openapi.json``: the OpenAPI 3.1 document of the version's routes
  (:mod:`evroam.http.openapi`), for registered partners;
* configuration modules: ``/ocpi/{version}/{module}`` (e.g. ``/ocpi/2.2.1/credentials``);
* functional modules: ``/ocpi/{version}/{sender|receiver}/{module}/...``, so that a node hosting a CPO
  and an eMSP serves both interfaces of a module.

Every route authenticates: the ``Authorization`` header is read tolerantly (Base64 or raw) and the
registration service decides (token A only on versions, details and credentials). Every
:class:`~evroam.core.errors.EvroamError` becomes an envelope with its HTTP status and OCPI status code;
a stored object the requested version cannot carry (:class:`~evroam.model.common.NotRepresentable`)
becomes HTTP 409 / OCPI 2000; anything else becomes HTTP 500 / OCPI 3000 and is logged (through the
token-redacting log filter).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args
from urllib.parse import parse_qsl

from litestar import Litestar, Request, Response, route
from litestar.exceptions import HTTPException
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp

from evroam.core.clock import Clock, IdGenerator
from evroam.core.codec import encode
from evroam.core.errors import (
    BodyTooLarge,
    ClientError,
    Conflict,
    EvroamError,
    Forbidden,
    HubUnknownReceiver,
    MethodNotAllowed,
    ServerError,
    StorageUnavailable,
    Unauthorized,
)
from evroam.core.status import StatusCode
from evroam.http.bodies import MAX_BODY_BYTES, MAX_BODY_ENV, decode_body
from evroam.http.openapi import openapi_document, openapi_path
from evroam.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from evroam.metrics import count_database_error, observe_request
from evroam.model.common import NotRepresentable
from evroam.modules.kit import (
    Handler,
    ModuleBinding,
    OcpiCall,
    bound_endpoints,
    bound_interfaces,
    module_path,
)
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import EndpointSpec, InterfaceRole, ModuleSpec, VersionSpec
from evroam.ocpi.transport import (
    Envelope,
    MessageHeaders,
    Routing,
    TokenEncoding,
    candidate_tokens,
    error_envelope,
    incoming_request_ids,
    parse_routing,
    response_headers,
    success_envelope,
    uses_request_ids,
    uses_routing,
)
from evroam.registration.model import Caller
from evroam.registration.service import RegistrationService, version_key
from evroam.registration.wire import endpoint_to_wire, version_details_to_wire, version_to_wire
from evroam.store.failures import storage_failure

__all__ = ["AppConfig", "WebRequest", "WebResponse", "WebRoute", "create_app"]

log = logging.getLogger(__name__)

_JSON = "application/json"
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class WebRequest:
    """A plain (non-OCPI) request as a :class:`WebRoute` handler sees it: no Litestar type leaks out."""

    method: str
    path: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    """Header names in lower case."""
    cookies: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class WebResponse:
    """What a :class:`WebRoute` handler answers."""

    body: bytes
    status: int = 200
    media_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] | None = None
    cookies: Sequence[str] = ()
    """Complete ``Set-Cookie`` header values."""


@dataclass(frozen=True, slots=True)
class WebRoute:
    """A plain route served next to the OCPI routes (the operator dashboard): ``path`` in Litestar's
    spelling (``/dashboard/locations/{key:str}``), its methods and a framework-free handler."""

    path: str
    methods: Sequence[str]
    handler: Callable[[WebRequest], Awaitable[WebResponse]]


@dataclass(frozen=True, slots=True)
class AppConfig:
    """Everything the app needs; built by :mod:`evroam.node.wiring`."""

    base_url: str
    """The node's public base URL (``--url`` of ``evroam init``), without trailing slash."""
    versions: Sequence[str]
    registration: RegistrationService
    clock: Clock
    ids: IdGenerator
    bindings: Sequence[ModuleBinding] = ()
    on_startup: Sequence[Callable[[], Awaitable[None]]] = ()
    on_shutdown: Sequence[Callable[[], Awaitable[None]]] = ()
    endpoint_url: Callable[[Caller, str], Awaitable[str]] | None = None
    """How the version details give one of our endpoint URLs to a caller; ``None``: as it is. The
    partner compatibility layer (:mod:`evroam.compat`) may adapt it per partner (e.g. a trailing slash)."""
    request_body: Callable[[Caller, str, str, bytes], Awaitable[bytes]] | None = None
    """How a partner's request body to one of our module endpoints is read (caller, module, method,
    bytes -> bytes); ``None``: as it came. The partner compatibility layer may adapt it per partner."""
    web_routes: Sequence[WebRoute] = ()
    """Plain routes served next to the OCPI routes (the dashboard, :mod:`evroam.http.dashboard`)."""
    max_body_bytes: int = MAX_BODY_BYTES
    """The largest request body accepted (``EVROAM_MAX_BODY_BYTES``): a larger one is answered HTTP 413
    (OCPI 2000) as soon as its ``Content-Length``, or the bytes read so far, say so, and the connection
    is closed after the answer."""
    readiness: Callable[[], Awaitable[Mapping[str, str]]] | None = None
    """``GET /readyz``: each check's name and ``"ok"`` or what is wrong; 503 unless all are ``"ok"``.
    ``None``: ready whenever the app answers."""
    metrics: Callable[[], Awaitable[bytes]] | None = None
    """``GET /metrics``: the Prometheus text exposition (:mod:`evroam.metrics`); ``None``: no route."""
    metrics_allowed: Callable[[Mapping[str, str]], Awaitable[bool]] | None = None
    """Whether a request to ``/metrics`` with these headers (lower-case names) may read it; ``None``:
    anyone may (a listener of its own, ``--metrics-port``)."""
    observe: bool = True
    """Count every request in the metrics and log one line per request (``evroam.access``)."""
    parties: Sequence[tuple[str, str]] = ()
    """The node's own parties ``(country_code, party_id)``: a request whose ``OCPI-to-*`` names another
    party is refused (OCPI 4001, unknown receiver); empty: no such check."""


@dataclass(frozen=True, slots=True)
class _Bound:
    """What a module route needs per request, worked out once when the app is built."""

    spec: VersionSpec
    module: ModuleSpec
    interface: InterfaceRole
    methods: Mapping[str, tuple[EndpointSpec, Handler, bool]]
    """By HTTP method: the endpoint, its handler, and whether its request body may be left out."""
    registration: bool
    encoding: TokenEncoding
    request_ids: bool
    routing: bool
    raw: bool = False
    """Bodies go to the handler undecoded and the routing headers are not checked (a hub's routes)."""


#: The scope key of what a request turned out to be, for its metrics and its log line:
#: ``[module, role, version, partner]`` (filled in by the handlers that know).
_SEEN = "evroam.seen"
access_log = logging.getLogger("evroam.access")

_ROUTING_HEADERS = (
    "ocpi-from-country-code",
    "ocpi-from-party-id",
    "ocpi-to-country-code",
    "ocpi-to-party-id",
)
_CACHE_SIZE = 4096


def _route_path(path: str) -> str:
    """Litestar's spelling of a route path: ``{name}`` becomes ``{name:str}``."""
    return _PLACEHOLDER.sub(lambda m: "{" + m.group(1) + ":str}", path)


class _Server:
    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self.specs = [spec_for(v) for v in sorted(config.versions, key=version_key)]
        if not self.specs:
            raise ValueError("the node serves no OCPI version")
        self.newest = self.specs[-1]
        # per-request parsing that only depends on header values, remembered (bounded)
        self._tokens: dict[tuple[str | None, TokenEncoding], tuple[str, ...]] = {}
        self._routings: dict[tuple[str | None, ...], Routing] = {}
        self._parties = frozenset((cc.casefold(), pid.casefold()) for cc, pid in config.parties)
        self.direct_routes: dict[str, list[tuple[re.Pattern[str], _Bound]]] = {}
        """The module routes by module path: served by :meth:`direct`, without Litestar."""

    # -- responses ------------------------------------------------------------------------------

    def _respond(
        self, envelope: Envelope[Any], http_status: int, headers: Mapping[str, str]
    ) -> Response[bytes]:
        return Response(
            content=encode(envelope), status_code=http_status, media_type=_JSON, headers=dict(headers)
        )

    def _too_large(self) -> BodyTooLarge:
        limit = self.config.max_body_bytes
        return BodyTooLarge(
            f"the request body is larger than {limit} bytes, the limit of this node ({MAX_BODY_ENV})"
        )

    def _candidates(self, header: str | None, encoding: TokenEncoding) -> tuple[str, ...]:
        key = (header, encoding)
        found = self._tokens.get(key)
        if found is None:
            found = candidate_tokens(header, expected=encoding)  # raises on a malformed header
            if len(self._tokens) >= _CACHE_SIZE:
                self._tokens.clear()
            self._tokens[key] = found
        return found

    def _routing(self, headers: Mapping[str, str]) -> Routing:
        key = tuple(headers.get(name) for name in _ROUTING_HEADERS)
        found = self._routings.get(key)
        if found is None:
            found = parse_routing(headers)  # raises on malformed headers
            if len(self._routings) >= _CACHE_SIZE:
                self._routings.clear()
            self._routings[key] = found
        return found

    def _error(self, error: EvroamError, headers: Mapping[str, str]) -> Response[bytes]:
        out = dict(headers)
        if isinstance(error, Unauthorized):
            out["WWW-Authenticate"] = "Token"
        return self._respond(error_envelope(error, self.config.clock), error.http_status, out)

    # -- common steps ---------------------------------------------------------------------------

    def _tracing(self, request: Request[Any, Any, Any], spec: VersionSpec) -> MessageHeaders:
        if not uses_request_ids(spec):
            return MessageHeaders()
        return MessageHeaders(request_ids=incoming_request_ids(request.headers, self.config.ids))

    async def _authenticate(
        self, request: Request[Any, Any, Any], spec: VersionSpec, *, registration: bool
    ) -> Caller:
        candidates = candidate_tokens(
            request.headers.get("authorization"), expected=TokenEncoding.for_spec(spec)
        )
        return await self.config.registration.authenticate(candidates, registration=registration)

    # -- version endpoints ----------------------------------------------------------------------

    async def versions(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        tracing = self._tracing(request, self.newest)
        headers = response_headers(tracing)
        try:
            await self._authenticate(request, self.newest, registration=True)
            data = [
                version_to_wire(spec, f"{self.config.base_url}/ocpi/{spec.number}/details")
                for spec in self.specs
            ]
        except EvroamError as error:
            return self._error(error, headers)
        return self._respond(success_envelope(data, self.config.clock), 200, headers)

    def details_handler(
        self, spec: VersionSpec
    ) -> Callable[[Request[Any, Any, Any]], Awaitable[Response[bytes]]]:
        async def details(request: Request[Any, Any, Any]) -> Response[bytes]:
            seen: list[str | None] | None = request.scope.get(_SEEN)  # type: ignore[assignment]
            if seen is not None:
                seen[0], seen[2] = "details", spec.number
            tracing = self._tracing(request, spec)
            headers = response_headers(tracing)
            try:
                caller = await self._authenticate(request, spec, registration=True)
                if self.config.endpoint_url is None:
                    data = version_details_to_wire(spec, self._endpoints(spec))
                else:
                    data = version_details_to_wire(spec, await self._endpoints_for(spec, caller))
            except EvroamError as error:
                return self._error(error, headers)
            return self._respond(success_envelope(data, self.config.clock), 200, headers)

        return details

    def openapi_handler(
        self, spec: VersionSpec
    ) -> Callable[[Request[Any, Any, Any]], Awaitable[Response[bytes]]]:
        """``GET /ocpi/{version}/openapi.json``: the OpenAPI document of this version's routes, for a
        registered partner only (token A and anyone else: 401). Made on first use, then kept."""
        made: list[bytes] = []

        async def openapi(request: Request[Any, Any, Any]) -> Response[bytes]:
            seen: list[str | None] | None = request.scope.get(_SEEN)  # type: ignore[assignment]
            if seen is not None:
                seen[0], seen[2] = "openapi", spec.number
            headers = response_headers(self._tracing(request, spec))
            try:
                await self._authenticate(request, spec, registration=False)
            except EvroamError as error:
                return self._error(error, headers)
            if not made:
                document = openapi_document(
                    spec,
                    self.config.bindings,
                    base_url=self.config.base_url,
                    versions=[s.number for s in self.specs],
                )
                made.append(encode(document))
            return Response(content=made[0], status_code=200, media_type=_JSON, headers=headers)

        return openapi

    def _bound(self, spec: VersionSpec) -> list[tuple[ModuleSpec, InterfaceRole, ModuleBinding]]:
        return bound_interfaces(spec, self.config.bindings)

    def _endpoints(self, spec: VersionSpec) -> list[Any]:
        return [
            endpoint_to_wire(
                spec, module.id, interface, self.config.base_url + module_path(spec, module, interface)
            )
            for module, interface, _ in self._bound(spec)
        ]

    async def _endpoints_for(self, spec: VersionSpec, caller: Caller) -> list[Any]:
        adapt = self.config.endpoint_url
        assert adapt is not None
        out = []
        for module, interface, _ in self._bound(spec):
            url = await adapt(caller, self.config.base_url + module_path(spec, module, interface))
            out.append(endpoint_to_wire(spec, module.id, interface, url))
        return out

    # -- module endpoints -----------------------------------------------------------------------

    def module_routes(self) -> list[Any]:
        routes: list[Any] = []
        self.direct_routes = {}
        for spec in self.specs:
            by_path: dict[
                str, tuple[ModuleSpec, InterfaceRole, dict[str, tuple[EndpointSpec, Handler]], bool]
            ] = {}
            for bound in bound_endpoints(spec, self.config.bindings):
                _, _, methods, _ = by_path.setdefault(
                    _route_path(bound.path), (bound.module, bound.interface, {}, bound.raw)
                )
                methods[bound.endpoint.method.upper()] = (bound.endpoint, bound.handler)
            for path, (module, interface, methods, raw) in by_path.items():
                routes.append(self._route(path, spec, module, interface, methods, raw))
        for candidates in self.direct_routes.values():  # a literal segment before a parameter, as routed
            candidates.sort(key=lambda entry: entry[0].pattern.count("(?P<"))
        return routes

    def _bound_of(
        self,
        spec: VersionSpec,
        module: ModuleSpec,
        interface: InterfaceRole,
        methods: dict[str, tuple[EndpointSpec, Handler]],
        raw: bool,
    ) -> _Bound:
        return _Bound(
            spec=spec,
            module=module,
            interface=interface,
            methods={
                verb: (
                    endpoint,
                    handler,
                    endpoint.request is not None and type(None) in get_args(endpoint.request),
                )
                for verb, (endpoint, handler) in methods.items()
            },
            registration=module.id == "credentials",
            encoding=TokenEncoding.for_spec(spec),
            request_ids=uses_request_ids(spec),
            routing=uses_routing(spec, module),
            raw=raw,
        )

    def _route(
        self,
        path: str,
        spec: VersionSpec,
        module: ModuleSpec,
        interface: InterfaceRole,
        methods: dict[str, tuple[EndpointSpec, Handler]],
        raw: bool = False,
    ) -> Any:
        server = self
        bound = self._bound_of(spec, module, interface, methods, raw)
        # served without the framework (:meth:`direct`); Litestar's route answers the other methods
        prefix = module_path(spec, module, interface)
        pattern = re.compile(
            "".join(
                f"(?P<{part[1:-5]}>[^/]+)" if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[a-z_]+:str\})", path)
            )
            + "/?"
        )
        self.direct_routes.setdefault(prefix, []).append((pattern, bound))

        async def endpoint_handler(request: Request[Any, Any, Any]) -> ASGIApp:
            """What :meth:`direct` did not take (a configuration module's path): the same steps, run as
            the ASGI app this handler returns (Litestar calls it with the request's scope)."""
            entry = bound.methods[request.method.upper()]
            path_params = {k: str(v) for k, v in request.path_params.items()}

            async def serve(scope: Any, receive: Any, send: Any) -> None:
                await server._direct(scope, receive, send, bound, entry, path_params)

            return serve

        verbs: list[Any] = sorted(methods)
        # every answer sets its own status; the default only matters to Litestar (204 for a DELETE-only
        # route would forbid a body)
        return route(path, http_method=verbs, status_code=200)(endpoint_handler)

    def _check_routing(self, routing: Routing, caller: Caller) -> None:
        """``OCPI-from-*`` must name a party of the caller's credentials (for a hub: a party it said it
        reaches), ``OCPI-to-*`` one of ours."""
        sender = routing.sender
        if sender is not None and caller.partner.roles:
            cc, pid = sender.country_code.casefold(), sender.party_id.casefold()
            if not any(
                r.country_code.casefold() == cc and r.party_id.casefold() == pid for r in caller.partner.roles
            ):
                raise Forbidden(f"OCPI-from {sender} is not a party of your credentials")
        receiver = routing.receiver
        if receiver is not None and self._parties:
            key = (receiver.country_code.casefold(), receiver.party_id.casefold())
            if key not in self._parties:
                raise HubUnknownReceiver(f"OCPI-to {receiver} is not a party hosted here")

    # -- module routes without the framework ------------------------------------------------------

    def direct(self, inner: Any) -> Any:
        """``inner`` (Litestar's ASGI handler) with the module routes (every module's, a hub's too) served
        in front of it, straight from the ASGI scope by :meth:`_direct`, without Litestar's routing,
        request object and response conversion. Whatever is not a module route found here, or not one of
        its methods, goes to ``inner``: Litestar answers 404, 405 (with ``Allow``) and ``OPTIONS``, and
        serves the configuration modules' paths, through :meth:`_direct` as well (see :meth:`_route`)."""
        routes = self.direct_routes
        if not routes:
            return inner

        async def asgi(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                path: str = scope["path"]
                parts = path.split("/", 5)
                candidates = routes.get("/".join(parts[:5])) if len(parts) >= 5 else None
                if candidates is not None:
                    for pattern, bound in candidates:
                        found = pattern.fullmatch(path)
                        if found is not None:
                            entry = bound.methods.get(scope["method"])
                            if entry is not None:
                                await self._direct(scope, receive, send, bound, entry, found.groupdict())
                                return
                            break
            await inner(scope, receive, send)

        return asgi

    async def _direct(
        self,
        scope: Any,
        receive: Any,
        send: Any,
        bound: _Bound,
        entry: tuple[EndpointSpec, Handler, bool],
        path_params: dict[str, str],
    ) -> None:
        seen: list[str | None] | None = scope.get(_SEEN)
        if seen is not None:
            seen[0], seen[1], seen[2] = bound.module.id, bound.interface.value, bound.spec.number
        request_headers = _Headers(scope["headers"])
        if bound.request_ids:
            tracing = MessageHeaders(request_ids=incoming_request_ids(request_headers, self.config.ids))
        else:
            tracing = MessageHeaders()
        headers = response_headers(tracing)
        method: str = scope["method"]
        endpoint, handler, optional_body = entry
        body_read = False
        try:
            announced = request_headers.get("content-length")
            too_large = announced is not None and announced.strip().isdigit()
            if too_large and int(announced) > self.config.max_body_bytes:
                raise self._too_large()  # before anything is read, the token included
            caller = await self.config.registration.authenticate(
                self._candidates(request_headers.get("authorization"), bound.encoding),
                registration=bound.registration,
            )
            if seen is not None:
                seen[3] = caller.partner.name
            if bound.routing:
                routing = self._routing(request_headers)
                tracing = MessageHeaders(request_ids=tracing.request_ids, routing=routing)
                headers = response_headers(tracing)
                if not bound.raw:
                    self._check_routing(routing, caller)
            body = None
            if endpoint.request is not None:
                raw = await self._read_body(receive)
                body_read = True
                if self.config.request_body is not None and raw:
                    raw = await self.config.request_body(caller, bound.module.id, method, raw)
                if bound.raw:
                    body = raw
                elif not optional_body or raw.strip():
                    body = await decode_body(raw, endpoint.request)
            query: bytes = scope.get("query_string") or b""
            call = OcpiCall(
                spec=bound.spec,
                module=bound.module,
                interface=bound.interface,
                endpoint=endpoint,
                caller=caller,
                path_params=path_params,
                query=_query(query) if query else {},
                body=body,
                headers=tracing,
            )
            try:
                answer = await handler(call)
            except NotRepresentable as exc:
                raise Conflict(
                    f"the stored object cannot be shown in OCPI {exc.version}: {exc.path} {exc.reason}"
                ) from None
        except _Disconnected:
            return  # the client left while sending its body: nobody to answer
        except Exception as exc:
            error = exc if isinstance(exc, EvroamError) else _storage_failure(method, scope["path"], exc)
            if error is None:  # a bug: as Litestar's handler of unexpected errors answers it
                log.error("unexpected error on %s %s", method, scope["path"], exc_info=exc)
                failure = ServerError("Internal error")
                await _send(send, failure.http_status, encode(error_envelope(failure, self.config.clock)), {})
                return
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s answered HTTP %s / OCPI %s: %s",
                    method,
                    scope["path"],
                    error.http_status,
                    int(error.ocpi_status),
                    error.message,
                )
            out = dict(headers)
            if isinstance(error, Unauthorized):
                out["WWW-Authenticate"] = "Token"
            if not body_read and _announces_body(request_headers):
                out["Connection"] = "close"
            envelope = error_envelope(error, self.config.clock)
            await _send(send, error.http_status, encode(envelope), out)
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s from partner %s answered OCPI %s",
                method,
                scope["path"],
                caller.partner.name,
                answer.status_code,
            )
        if answer.raw is not None:
            content = answer.raw
        else:
            content = encode(
                Envelope(
                    data=answer.data,
                    status_code=int(answer.status_code),
                    status_message=answer.status_message,
                    timestamp=self.config.clock.now(),
                )
            )
        await _send(
            send, answer.http_status, content, {**headers, **answer.headers} if answer.headers else headers
        )

    async def _read_body(self, receive: Any) -> bytes:
        limit = self.config.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected()
            chunk: bytes = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise self._too_large()
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    # -- framework-level errors -----------------------------------------------------------------

    def http_exception(self, request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
        error: EvroamError
        headers: dict[str, str] = {}
        if exc.status_code == 404:
            error = ClientError(f"no OCPI endpoint at {request.url.path}")
            error.http_status = 404
        elif exc.status_code == 413:
            return self._error(self._too_large(), {"Connection": "close"})
        elif exc.status_code == 405:
            error = MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}")
            allow = (exc.headers or {}).get("allow")
            if allow:  # RFC 9110: a 405 names the methods the resource offers
                headers["Allow"] = allow
        else:
            error = EvroamError(exc.detail)
            error.http_status = exc.status_code
            error.ocpi_status = StatusCode.CLIENT_ERROR if exc.status_code < 500 else StatusCode.SERVER_ERROR
        return self._error(error, headers)

    def evroam_error(self, request: Request[Any, Any, Any], exc: EvroamError) -> Response[bytes]:
        return self._error(exc, {})

    def unexpected(self, request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        unavailable = _storage_error(request, exc)
        if unavailable is not None:
            return self._error(unavailable, {})
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return self._error(ServerError("Internal error"), {})


def _storage_error(request: Request[Any, Any, Any], exc: Exception) -> StorageUnavailable | None:
    """The answer to a request the database failed (disk full, read-only, unreachable), logged as one
    line that says what failed (the traceback at DEBUG level); ``None`` for any other exception."""
    return _storage_failure(request.method, request.scope["path"], exc)


def _storage_failure(method: str, path: str, exc: Exception) -> StorageUnavailable | None:
    failure = storage_failure(exc)
    if failure is None:
        return None
    count_database_error(failure.reason, "request")
    log.error(
        "%s %s failed: the database is unavailable (%s): %s",
        method,
        path,
        failure.reason,
        failure.detail,
        exc_info=exc if log.isEnabledFor(logging.DEBUG) else None,
    )
    return StorageUnavailable(f"The node's database is unavailable ({failure.reason}); try again later")


def _announces_body(headers: Mapping[str, str]) -> bool:
    length = headers.get("content-length")
    return (length is not None and length.strip() not in ("", "0")) or "transfer-encoding" in headers


class _Disconnected(Exception):
    """The client closed the connection before its body was in."""


class _Headers(dict[str, str]):
    """A request's headers from the ASGI scope, looked up case-insensitively (the first of repeated
    names, as Litestar's ``request.headers.get`` answers)."""

    def __init__(self, raw: Sequence[tuple[bytes, bytes]]) -> None:
        super().__init__()
        for name, value in raw:
            self.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))

    def get(self, key: str, default: Any = None) -> Any:
        return dict.get(self, key.lower(), default)

    def __getitem__(self, key: str) -> str:
        return dict.__getitem__(self, key.lower())

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key.lower() if isinstance(key, str) else key)


def _query(raw: bytes) -> dict[str, str]:
    """The query string's parameters (the first of repeated names, as Litestar's ``query_params``)."""
    out: dict[str, str] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        out.setdefault(name, value)
    return out


async def _send(send: Any, status: int, body: bytes, headers: Mapping[str, str]) -> None:
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw.extend((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


_WEB_BODY_LIMIT = 64 * 1024


def _web_handler(web: WebRoute) -> Any:
    async def handler(request: Request[Any, Any, Any]) -> ASGIResponse:
        body = b""
        if request.method in ("POST", "PUT", "PATCH"):
            announced = request.headers.get("content-length")
            if announced is not None and announced.isdigit() and int(announced) > _WEB_BODY_LIMIT:
                return ASGIResponse(body=b"request body too large", status_code=413, media_type="text/plain")
            body = await request.body()
        answer = await web.handler(
            WebRequest(
                method=request.method,
                path=request.scope["path"],
                path_params={k: str(v) for k, v in request.path_params.items()},
                query=dict(request.query_params) if request.scope["query_string"] else {},
                headers={k.lower(): v for k, v in request.headers.items()},
                cookies=dict(request.cookies),
                body=body,
            )
        )
        headers: list[tuple[str, str]] = list((answer.headers or {}).items())
        headers.extend(("set-cookie", value) for value in answer.cookies)
        return ASGIResponse(
            body=answer.body,
            status_code=answer.status,
            media_type=answer.media_type,
            headers=headers,
        )

    methods: list[Any] = list(web.methods)
    return route(web.path, http_method=methods, status_code=200)(handler)


# -- every request: its metrics and its log line ----------------------------------------------------

_HEADER_REQUEST_ID = b"x-request-id"
_HEADER_CORRELATION_ID = b"x-correlation-id"


def _header(headers: Sequence[tuple[bytes, bytes]] | None, name: bytes) -> str | None:
    for key, value in headers or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _other_label(path: str) -> str:
    """The ``module`` label of a request no OCPI handler claimed."""
    if path == "/dashboard" or path.startswith("/dashboard/"):
        return "dashboard"
    return "other"


def observed(handler: Any, *, metrics: bool = True) -> Any:
    """``handler`` (Litestar's ASGI handler) counting each HTTP request in :mod:`evroam.metrics` and
    logging one line per request on the ``evroam.access`` logger (INFO): method, path, status,
    duration, partner, module, role, OCPI version, request and correlation ids. The handlers fill in
    what they learn (module, role, version, partner) in the scope under ``evroam.seen``."""

    async def observe(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await handler(scope, receive, send)
            return
        started = time.perf_counter()
        seen: list[str | None] = [None, None, None, None]
        scope[_SEEN] = seen
        answer: list[Any] = [500, None]

        async def watch(message: Any) -> None:
            if message["type"] == "http.response.start":
                answer[0] = message["status"]
                answer[1] = message.get("headers")
            await send(message)

        try:
            await handler(scope, receive, watch)
        finally:
            seconds = time.perf_counter() - started
            status: int = answer[0]
            module = seen[0] or _other_label(scope["path"])
            if metrics:
                observe_request(module, seen[1] or "", seen[2] or "", scope["method"], status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                _log_request(scope, status, seconds, seen, module, answer[1])

    return observe


def _log_request(
    scope: Any,
    status: int,
    seconds: float,
    seen: list[str | None],
    module: str,
    response_headers: Sequence[tuple[bytes, bytes]] | None,
) -> None:
    request_headers = scope.get("headers")
    request_id = _header(response_headers, _HEADER_REQUEST_ID) or _header(request_headers, _HEADER_REQUEST_ID)
    correlation_id = _header(response_headers, _HEADER_CORRELATION_ID) or _header(
        request_headers, _HEADER_CORRELATION_ID
    )
    path = scope["path"]
    query = scope.get("query_string") or b""
    if query:
        path = f"{path}?{query.decode('latin-1')}"
    client = scope.get("client")
    fields = {
        "method": scope["method"],
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000.0, 3),
        "partner": seen[3],
        "module": module,
        "role": seen[1],
        "version": seen[2],
        "request_id": request_id,
        "correlation_id": correlation_id,
        "client": client[0] if client else None,
    }
    # made and handled directly: Logger.info would look up the caller's frame (a third of the cost)
    record = access_log.makeRecord(
        access_log.name,
        logging.INFO,
        __file__,
        0,
        "%s %s %s %.1f ms module=%s partner=%s request_id=%s correlation_id=%s",
        (
            fields["method"],
            path,
            status,
            seconds * 1000.0,
            module,
            seen[3] or "-",
            request_id or "-",
            correlation_id or "-",
        ),
        None,
        "observe",
        {"access": fields},
    )
    access_log.handle(record)


def create_app(config: AppConfig) -> Litestar:
    """The node's ASGI app for ``config``."""
    server = _Server(config)

    def label(request: Request[Any, Any, Any], module: str, version: str = "") -> None:
        seen: list[str | None] | None = request.scope.get(_SEEN)  # type: ignore[assignment]
        if seen is not None:
            seen[0], seen[2] = module, version

    async def health(request: Request[Any, Any, Any]) -> Response[bytes]:
        label(request, "healthz")
        return Response(content=b'{"status":"ok"}', status_code=200, media_type=_JSON)

    async def ready(request: Request[Any, Any, Any]) -> Response[bytes]:
        label(request, "readyz")
        checks: Mapping[str, str] = {} if config.readiness is None else await config.readiness()
        failed = sorted(name for name, outcome in checks.items() if outcome != "ok")
        body = {"status": "not ready" if failed else "ready", "checks": dict(checks), "failed": failed}
        return Response(content=encode(body), status_code=503 if failed else 200, media_type=_JSON)

    async def metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        label(request, "metrics")
        assert config.metrics is not None
        if config.metrics_allowed is not None and not await config.metrics_allowed(
            {k.lower(): v for k, v in request.headers.items()}
        ):
            return Response(
                content=b"the metrics need the metrics token (Authorization: Bearer) or the admin password "
                b"(Basic)\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Basic realm="evroam metrics"'},
            )
        return Response(content=await config.metrics(), status_code=200, media_type=METRICS_CONTENT_TYPE)

    async def versions(request: Request[Any, Any, Any]) -> Response[bytes]:
        label(request, "versions")
        return await server.versions(request)

    handlers: list[Any] = [
        route("/ocpi/versions", http_method=["GET"])(versions),
        route("/healthz", http_method=["GET"])(health),
        route("/readyz", http_method=["GET"])(ready),
    ]
    if config.metrics is not None:
        handlers.append(route("/metrics", http_method=["GET"])(metrics))
    for spec in server.specs:
        handlers.append(
            route(f"/ocpi/{spec.number}/details", http_method=["GET"])(server.details_handler(spec))
        )
        handlers.append(route(openapi_path(spec.number), http_method=["GET"])(server.openapi_handler(spec)))
    handlers.extend(server.module_routes())
    handlers.extend(_web_handler(web) for web in config.web_routes)
    app = Litestar(
        route_handlers=handlers,
        exception_handlers={
            HTTPException: server.http_exception,
            EvroamError: server.evroam_error,
            Exception: server.unexpected,
        },
        on_startup=list(config.on_startup),
        on_shutdown=list(config.on_shutdown),
        openapi_config=None,
        request_max_body_size=config.max_body_bytes,
        logging_config=None,
        debug=False,
    )
    app.asgi_handler = server.direct(app.asgi_handler)
    if config.observe:
        app.asgi_handler = observed(app.asgi_handler)
    return app
