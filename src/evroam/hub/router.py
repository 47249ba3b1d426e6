"""Routing by the ``OCPI-to-*`` headers: the hub's handlers for every functional module.

Every endpoint of every functional module of the version tables (both interfaces) is bound to one
raw handler (:attr:`ModuleBinding.raw`): the body stays bytes, the partner's answer goes back as it came
(envelope, HTTP status and status code untouched). Per request:

* ``OCPI-to`` names a party hosted by a platform: forwarded to that platform's endpoint of the same
  module and interface, same path and query, with a new ``X-Request-ID``, the caller's
  ``X-Correlation-ID`` and the caller's ``OCPI-from`` / ``OCPI-to``;
* ``OCPI-to`` is the hub itself: a GET of a list is merged (every platform's Sender list, all pages,
  sorted by ``last_updated``, paginated by the hub); any other request is a broadcast to every
  connected party of the opposite role (``OCPI-from`` = the hub);
* no ``OCPI-to`` (open routing): the party named in the URL (``{country_code}/{party_id}``), else a
  merged list, else 4001;
* commands: the ``response_url`` of a command is replaced by one of the hub's, so that the CPO posts
  its result to the hub, which relays it to the eMSP's original URL. The relay is written to the store
  before the command goes to the CPO, so that a result posted after a restart of the hub still reaches
  the eMSP; relays are kept for :data:`RELAY_KEPT` seconds.

Errors: 4001 unknown receiver, 4002 timeout, 4003 receiver not connected (OFFLINE or unreachable).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.codec import encode
from evroam.core.errors import (
    EvroamError,
    HubConnectionProblem,
    HubError,
    HubUnknownReceiver,
)
from evroam.http.client import RawReply, send_raw
from evroam.model import CredentialsRole
from evroam.modules.kit import Handler, ModuleBinding, OcpiAnswer, OcpiCall, module_path
from evroam.ocpi.table import InterfaceRole, VersionSpec
from evroam.ocpi.transport import (
    LINK,
    X_LIMIT,
    X_TOTAL_COUNT,
    PartyRef,
    Routing,
    TokenEncoding,
    encode_authorization,
    next_link,
    page_headers,
    parse_page_request,
    request_id_headers,
    routing_headers,
)
from evroam.ocpi.transport.headers import RequestIds, uses_routing
from evroam.store.port import ObjectKey

from .parties import HubParties, Platform, party_key

__all__ = ["HubRouter", "RouteCounts"]

log = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_OWN_MODULES = frozenset({"credentials", "versions", "hubclientinfo"})
MAX_LIMIT = 1000
_MERGED_FOR = 60.0
_PAGE_GUARD = 10_000
RELAY_KIND = "hub_relay"
"""The store's kind of the pending command relays (one object per response URL the hub handed out)."""
RELAY_KEPT = 86_400.0
"""Seconds a command relay is kept (a CPO's result comes within the command's timeout, seconds to
minutes); older ones are deleted at the liveness rounds."""


class _Relay(msgspec.Struct, frozen=True):
    """Where a command's result goes: the eMSP's own ``response_url``, its platform, its party."""

    url: str
    partner_id: str
    country_code: str | None = None
    party_id: str | None = None


class _Page(msgspec.Struct):
    data: list[msgspec.Raw] | None = None
    status_code: int = 0
    status_message: str | None = None


def _said(body: bytes) -> str:
    """The status code and message of an answer's envelope, for an error message."""
    try:
        page = msgspec.json.decode(body, type=_Page)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return body[:200].decode(errors="replace")
    return f"OCPI {page.status_code} {page.status_message or ''}".strip()


class _Stamp(msgspec.Struct):
    last_updated: str = ""


class _Owner(msgspec.Struct):
    country_code: str | None = None
    party_id: str | None = None


class _Merged(msgspec.Struct):
    data: list[msgspec.Raw]
    status_code: int
    timestamp: Any
    status_message: str | None = None


def _opposite(role: str | None) -> frozenset[str]:
    """The roles a broadcast from a party in ``role`` goes to."""
    if role == "CPO":
        return frozenset({"EMSP", "NSP", "NAP", "SCSP", "OTHER"})
    return frozenset({"CPO"})


@dataclass
class RouteCounts:
    """Requests routed, per ``(module, interface, kind)`` (kind: forward, broadcast, merged, relay,
    refused)."""

    counts: dict[tuple[str, str, str], int]

    def add(self, module: str, interface: str, kind: str) -> None:
        key = (module, interface, kind)
        self.counts[key] = self.counts.get(key, 0) + 1


class HubRouter:
    """The forwarding handlers of a hub node."""

    def __init__(
        self,
        *,
        parties: HubParties,
        http: Any,
        ids: IdGenerator,
        clock: Clock,
        base_url: str,
        own: PartyRef,
        timeout: float = 10.0,
        store: Any = None,
    ) -> None:
        self.parties = parties
        self._http = http
        self._ids = ids
        self._clock = clock
        self._base_url = base_url
        self.own = own
        self._own_key = party_key(own.country_code, own.party_id)
        self.timeout = timeout
        self._merged: dict[tuple[str, ...], tuple[float, list[msgspec.Raw]]] = {}
        self._store = store
        self._relays: dict[str, _Relay] = {}
        """The relays of this process (where no store is given: tests of the routing alone)."""
        self.routes = RouteCounts({})

    # -- bindings -------------------------------------------------------------------------------

    def bindings(self, specs: Sequence[VersionSpec]) -> list[ModuleBinding]:
        """One raw binding per functional module and interface of the versions ``specs``."""
        seen: set[tuple[str, InterfaceRole]] = set()
        out = []
        for spec in specs:
            for module in spec.modules.values():
                if module.configuration or module.id in _OWN_MODULES or not uses_routing(spec, module):
                    continue
                for interface, endpoints in module.interfaces.items():
                    if (module.id, interface) in seen:
                        continue
                    seen.add((module.id, interface))
                    handlers: dict[str, Handler] = {ep.name: self.handle for ep in endpoints}
                    out.append(ModuleBinding(module.id, interface, handlers, raw=True))
        return out

    # -- one request ----------------------------------------------------------------------------

    async def handle(self, call: OcpiCall) -> OcpiAnswer:
        caller = await self.parties.platform(call.caller.partner)
        caller.last_contact = self.parties.now()
        routing = call.headers.routing or Routing()
        sender = routing.sender or self._first_party(caller)
        receiver = routing.receiver
        module, interface = call.module.id, call.interface
        try:
            if module == "commands" and interface is InterfaceRole.SENDER:
                return await self._relay_result(call, sender)
            if receiver is not None and party_key(receiver.country_code, receiver.party_id) != self._own_key:
                return await self._forward(call, caller, sender, receiver)
            if call.endpoint.name == "list":
                return await self._merged_list(call, caller, sender)
            named = self._named_in_url(call)
            if receiver is None and (owner := _token_owner(call)) is not None:
                return await self._forward(call, caller, sender, owner)  # a session or CDR: its eMSP
            if named is not None and sender is not None and named == sender and receiver is None:
                return await self._broadcast(call, caller, sender)  # a push of its own objects, no TO
            if named is not None and (receiver is None or call.endpoint.method == "GET"):
                return await self._forward(call, caller, sender, named)
            if receiver is not None and call.endpoint.method != "GET":
                return await self._broadcast(call, caller, sender)
            raise HubUnknownReceiver("no OCPI-to headers, and the URL names no party to route to")
        except EvroamError:
            self.routes.add(module, interface.value, "refused")
            raise

    # -- forwarding to one party ---------------------------------------------------------------

    async def _target(self, call: OcpiCall, receiver: PartyRef) -> tuple[CredentialsRole, Platform, str]:
        candidates = await self.parties.hosting(receiver.country_code, receiver.party_id)
        if not candidates:
            raise HubUnknownReceiver(f"no platform connected to this hub hosts {receiver}")
        for role, platform in candidates:
            endpoint = platform.partner.endpoint(call.module.id, call.interface.value)
            if endpoint is not None:
                if not platform.reachable:
                    raise HubConnectionProblem(f"{receiver} is {platform.status.value}")
                return role, platform, endpoint.url
        raise HubUnknownReceiver(
            f"{receiver} has no {call.module.id} {call.interface.value} endpoint at this hub"
        )

    async def _forward(
        self, call: OcpiCall, caller: Platform, sender: PartyRef | None, receiver: PartyRef
    ) -> OcpiAnswer:
        _, platform, base = await self._target(call, receiver)
        body: bytes | None = call.body
        if call.module.id == "commands" and call.interface is InterfaceRole.RECEIVER and body:
            body = await self._rewrite_response_url(call, body, caller, sender)
        url = _join(base, _path(call))
        reply = await self._send(call, platform, url, body, sender, receiver, list(call.query.items()))
        self.routes.add(call.module.id, call.interface.value, "forward")
        return OcpiAnswer(
            raw=reply.body, http_status=reply.status, headers=self._page_headers(call, base, reply)
        )

    async def _send(
        self,
        call: OcpiCall,
        platform: Platform,
        url: str,
        body: bytes | None,
        sender: PartyRef | None,
        receiver: PartyRef | None,
        params: Sequence[tuple[str, str]] = (),
    ) -> RawReply:
        partner = platform.partner
        if partner.token is None:
            raise HubConnectionProblem(f"no token to reach platform {partner.name}")
        authorization = platform.authorization
        if (
            authorization is None
            or authorization[0] != partner.token
            or authorization[1] != partner.token_encoding
        ):
            header = encode_authorization(partner.token, TokenEncoding(partner.token_encoding))
            authorization = platform.authorization = (partner.token, partner.token_encoding, header)
        headers = {"Authorization": authorization[2], "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        ids = call.headers.request_ids
        headers.update(
            request_id_headers(
                RequestIds(
                    request_id=self._ids.new_id(),
                    correlation_id=ids.correlation_id if ids is not None else self._ids.new_id(),
                )
            )
        )
        headers.update(routing_headers(Routing(sender=sender, receiver=receiver)))
        try:
            reply = await send_raw(
                self._http,
                call.endpoint.method,
                url,
                headers=headers,
                content=body,
                params=params,
                timeout=self.timeout,
            )
        except HubError:
            platform.last_contact = 0.0  # the next liveness tick probes it
            raise
        platform.last_contact = self.parties.now()
        return reply

    def _page_headers(self, call: OcpiCall, base: str, reply: RawReply) -> dict[str, str]:
        if not call.endpoint.paginated:
            return {}
        out = {name: reply.headers[name] for name in (X_TOTAL_COUNT, X_LIMIT) if name in reply.headers}
        link = next_link(reply.headers.get_list(LINK))
        if link is not None and link.startswith(base.rstrip("/")):
            ours = self._base_url + module_path(call.spec, call.module, call.interface)
            out[LINK] = f'<{ours}{link[len(base.rstrip("/")) :]}>; rel="next"'
        return out

    # -- broadcast ------------------------------------------------------------------------------

    async def _broadcast(self, call: OcpiCall, caller: Platform, sender: PartyRef | None) -> OcpiAnswer:
        role = self._role_of(caller, sender)
        wanted = _opposite(role)
        targets = [
            (party, platform, endpoint.url)
            for party, platform in self.parties.every_party()
            if platform is not caller
            and party.role is not None
            and party.role.value in wanted
            and platform.reachable
            and (endpoint := platform.partner.endpoint(call.module.id, call.interface.value)) is not None
        ]
        path = _path(call)

        async def one(party: CredentialsRole, platform: Platform, base: str) -> str | None:
            to = PartyRef.of(party.country_code, party.party_id)
            try:
                reply = await self._send(
                    call, platform, _join(base, path), call.body, self.own, to, list(call.query.items())
                )
            except HubError as exc:
                return f"{to}: {exc.message}"
            if reply.status >= 300:
                return f"{to}: HTTP {reply.status} {_said(reply.body)}"
            try:
                status = msgspec.json.decode(reply.body, type=_Page).status_code
            except (msgspec.DecodeError, msgspec.ValidationError):
                return f"{to}: not an OCPI answer"
            return None if 1000 <= status < 2000 else f"{to}: {_said(reply.body)}"

        failures = [f for f in await asyncio.gather(*(one(*t) for t in targets)) if f is not None]
        self.routes.add(call.module.id, call.interface.value, "broadcast")
        if failures:
            raise HubError(f"broadcast to {len(targets)} parties, failed for: " + "; ".join(failures))
        return OcpiAnswer(status_message=f"broadcast to {len(targets)} parties")

    # -- merged GET-all -------------------------------------------------------------------------

    async def _merged_list(self, call: OcpiCall, caller: Platform, sender: PartyRef | None) -> OcpiAnswer:
        page = parse_page_request(call.query, max_limit=MAX_LIMIT)
        filters = tuple(sorted((k, v) for k, v in call.query.items() if k not in ("offset", "limit")))
        key = (caller.partner.id, call.spec.number, call.module.id, call.interface.value, repr(filters))
        cached = self._merged.get(key)
        now = time.monotonic()
        if page.offset > 0 and cached is not None and now - cached[0] < _MERGED_FOR:
            items = cached[1]
        else:
            items = await self._collect(call, caller, sender, filters)
            self._merged[key] = (now, items)
        window = items[page.offset : page.offset + page.limit]
        body = encode(_Merged(data=window, status_code=1000, timestamp=self._clock.now()))
        url = self._base_url + module_path(call.spec, call.module, call.interface)
        headers = page_headers(url, page, len(items), max_limit=MAX_LIMIT)
        self.routes.add(call.module.id, call.interface.value, "merged")
        return OcpiAnswer(raw=body, headers=headers)

    async def _collect(
        self,
        call: OcpiCall,
        caller: Platform,
        sender: PartyRef | None,
        filters: Sequence[tuple[str, str]],
    ) -> list[msgspec.Raw]:
        role = self._role_of(caller, sender)
        sources: list[tuple[Platform, str, PartyRef, bool]] = []
        for platform in list(self.parties.platforms.values()):
            if platform is caller or not platform.reachable:
                continue
            endpoint = platform.partner.endpoint(call.module.id, call.interface.value)
            if endpoint is None:
                continue
            asked: set[tuple[str, str]] = set()
            for party in platform.parties():
                if party.role is None or party.role.value == role:
                    continue
                key = party_key(party.country_code, party.party_id)
                if key in asked:
                    continue
                try:
                    to = PartyRef.of(party.country_code, party.party_id)
                except ValueError:
                    continue
                # one list per party (the spec: the hub merges the objects of every party); objects
                # without an owner are taken from the platform's first party only
                sources.append((platform, endpoint.url, to, not asked))
                asked.add(key)

        async def pages(platform: Platform, url: str, to: PartyRef, first: bool) -> list[msgspec.Raw]:
            out: list[msgspec.Raw] = []
            params: Sequence[tuple[str, str]] = filters
            next_url: str | None = url
            wanted = party_key(to.country_code, to.party_id)
            while next_url is not None and len(out) < _PAGE_GUARD:
                reply = await self._send(call, platform, next_url, None, sender, to, params)
                if reply.status >= 300:
                    raise HubError(f"{to} answered HTTP {reply.status} to the list: {_said(reply.body)}")
                got = msgspec.json.decode(reply.body, type=_Page)
                for item in got.data or ():
                    try:
                        owner = msgspec.json.decode(item, type=_Owner)
                    except (msgspec.DecodeError, msgspec.ValidationError):
                        owner = _Owner()
                    if owner.country_code is None or owner.party_id is None:
                        if first:
                            out.append(item)
                    elif party_key(owner.country_code, owner.party_id) == wanted:
                        out.append(item)  # a platform answering for all its parties: each once
                next_url = next_link(reply.headers.get_list(LINK))
                params = ()
            return out

        lists = await asyncio.gather(*(pages(*source) for source in sources))
        merged = [item for one in lists for item in one]
        stamps = [msgspec.json.decode(item, type=_Stamp).last_updated for item in merged]
        return [item for _, item in sorted(zip(stamps, merged, strict=True), key=lambda pair: pair[0])]

    # -- commands -------------------------------------------------------------------------------

    async def _rewrite_response_url(
        self, call: OcpiCall, body: bytes, caller: Platform, sender: PartyRef | None
    ) -> bytes:
        fields = msgspec.json.decode(body, type=dict[str, msgspec.Raw])
        raw = fields.get("response_url")
        if raw is None:
            return body
        original = msgspec.json.decode(raw, type=str)
        key = self._ids.new_id()
        relay = _Relay(
            url=original,
            partner_id=caller.partner.id,
            country_code=None if sender is None else sender.country_code,
            party_id=None if sender is None else sender.party_id,
        )
        if self._store is not None:  # kept before the CPO can answer: a restart does not lose it
            await self._store.put(_relay_key(key), encode(relay), self._clock.now(), check_stale=False)
        else:
            self._relays[key] = relay
            if len(self._relays) > 100_000:
                self._relays.pop(next(iter(self._relays)))
        sender_path = module_path(call.spec, call.module, InterfaceRole.SENDER)
        fields["response_url"] = msgspec.Raw(encode(f"{self._base_url}{sender_path}/{key}"))
        return encode(fields)

    async def _find_relay(self, key: str) -> _Relay | None:
        if self._store is None:
            return self._relays.get(key)
        if not key or len(key) > 64:
            return None
        found = await self._store.get(_relay_key(key))
        return None if found is None else msgspec.json.decode(found.payload, type=_Relay)

    async def forget_relays(self) -> int:
        """Delete the relays older than :data:`RELAY_KEPT` (a liveness round); how many were."""
        if self._store is None:
            return 0
        before = self._clock.now() - timedelta(seconds=RELAY_KEPT)
        old = await self._store.find(RELAY_KIND, date_to=before, limit=1000)
        for item in old.items:
            await self._store.delete(_relay_key(item.object_id))
        return len(old.items)

    async def _relay_result(self, call: OcpiCall, sender: PartyRef | None) -> OcpiAnswer:
        key = call.path_params.get("response_url", "")
        found = await self._find_relay(key)
        if found is None:
            raise HubUnknownReceiver(f"no command of this hub has the response URL ...{key}")
        requester = None
        if found.country_code and found.party_id:
            requester = PartyRef.of(found.country_code, found.party_id)
        platform = self.parties.platforms.get(found.partner_id)
        if platform is None:
            await self.parties.refresh()
            platform = self.parties.platforms.get(found.partner_id)
        if platform is None:
            raise HubUnknownReceiver("the platform that sent the command is no longer connected")
        if not platform.reachable:
            raise HubConnectionProblem(f"{requester} is {platform.status.value}")
        reply = await self._send(call, platform, found.url, call.body, sender, requester)
        self.routes.add(call.module.id, call.interface.value, "relay")
        return OcpiAnswer(raw=reply.body, http_status=reply.status)

    # -- helpers --------------------------------------------------------------------------------

    def _named_in_url(self, call: OcpiCall) -> PartyRef | None:
        cc, pid = call.path_params.get("country_code"), call.path_params.get("party_id")
        if cc is None or pid is None:
            return None
        try:
            return PartyRef.of(cc, pid)
        except ValueError:
            return None

    @staticmethod
    def _first_party(platform: Platform) -> PartyRef | None:
        for role in platform.parties():
            try:
                return PartyRef.of(role.country_code, role.party_id)
            except ValueError:
                continue
        return None

    @staticmethod
    def _role_of(platform: Platform, party: PartyRef | None) -> str | None:
        roles = platform.parties()
        if party is not None:
            key = party_key(party.country_code, party.party_id)
            for role in roles:
                if party_key(role.country_code, role.party_id) == key and role.role is not None:
                    return role.role.value
        return roles[0].role.value if roles and roles[0].role is not None else None


class _TokenOf(msgspec.Struct):
    country_code: str | None = None
    party_id: str | None = None


class _WithCdrToken(msgspec.Struct):
    cdr_token: _TokenOf | None = None


def _token_owner(call: OcpiCall) -> PartyRef | None:
    """Open routing of a pushed session or CDR: the party of its ``cdr_token`` (the token's eMSP)."""
    if call.module.id not in ("sessions", "cdrs") or call.interface is not InterfaceRole.RECEIVER:
        return None
    if call.endpoint.method not in ("PUT", "POST") or not call.body:
        return None
    try:
        token = msgspec.json.decode(call.body, type=_WithCdrToken).cdr_token
    except msgspec.DecodeError:
        return None
    if token is None or not token.country_code or not token.party_id:
        return None
    try:
        return PartyRef.of(token.country_code, token.party_id)
    except ValueError:
        return None


def _relay_key(key: str) -> ObjectKey:
    return ObjectKey(RELAY_KIND, "", "", key)


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
"""What ``quote(value, safe="")`` leaves as it is."""


@functools.lru_cache(maxsize=512)
def _template(path: str) -> tuple[tuple[str, bool], ...]:
    """An endpoint path split once into its literal parts and its placeholders (``True``)."""
    parts = _PLACEHOLDER.split(path)  # literal, name, literal, name, ...
    return tuple((part, n % 2 == 1) for n, part in enumerate(parts) if part or n % 2 == 1)


def _path(call: OcpiCall) -> str:
    """The endpoint's path with the request's path parameters, each percent-encoded."""
    params: Mapping[str, str] = call.path_params
    out = []
    for part, placeholder in _template(call.endpoint.path):
        if placeholder:
            value = params.get(part, "")
            out.append(value if _UNRESERVED.fullmatch(value) else quote(value, safe=""))
        else:
            out.append(part)
    return "".join(out)


def _join(base: str, path: str) -> str:
    return f"{base.rstrip('/')}/{path}" if path else base
