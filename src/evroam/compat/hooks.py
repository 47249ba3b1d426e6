"""The compatibility layer at work: byte-level hooks on the node's HTTP client, one URL hook on its server.

:class:`PartnerCompat` is handed to :func:`evroam.http.client.create_http_client` (``hooks=``) and to
the app (:attr:`evroam.http.server.AppConfig.endpoint_url`). For every outgoing request it finds the
partner the URL belongs to (the longest of its versions URL and endpoint URLs that starts the request
URL; failing that, the only partner with switches at that scheme and host) and applies the quirks
switched on for that partner, and only those. A partner without switches costs one dictionary look-up
per request; a node without any switches costs nothing more than a cached empty view.

The view (partners' URLs and switches) is read from the store at most every ``ttl`` and never for
longer than ``load_timeout``: if the store is busy the previous view is kept.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote, urlsplit

from evroam.compat import rewrite
from evroam.compat.quirks import Quirk
from evroam.compat.switches import PartnerSwitches, load_switches
from evroam.core.clock import Clock
from evroam.core.types import DateTime
from evroam.http.client import WireRequest, WireResponse
from evroam.registration.model import Caller, Partner, PartnerStatus
from evroam.registration.repository import PARTNER_KIND, decode_partner
from evroam.store.port import Operations

__all__ = ["Match", "PartnerCompat"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Match:
    """What a URL is, seen from the compatibility layer."""

    partner: str
    quirks: frozenset[Quirk]
    module: str | None
    """The module whose endpoint the URL is at or below (``"versions"`` for the versions URL)."""
    below: bool
    """Whether the URL is below the endpoint (one object, an action) rather than the endpoint itself."""


@dataclass(slots=True)
class _View:
    loaded_at: DateTime | None = None
    by_name: dict[str, frozenset[Quirk]] = field(default_factory=dict)
    prefixes: list[tuple[str, str, frozenset[Quirk], str | None]] = field(default_factory=list)
    """(URL prefix without trailing slash, partner name, quirks, module), longest prefix first."""
    origins: dict[str, tuple[str, frozenset[Quirk]] | None] = field(default_factory=dict)


def _bare(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _header(headers: tuple[tuple[str, str], ...], name: str) -> list[str]:
    return [value for key, value in headers if key.lower() == name]


def _replace_header(
    headers: tuple[tuple[str, str], ...], name: str, value: str | None
) -> tuple[tuple[str, str], ...]:
    kept = tuple((k, v) for k, v in headers if k.lower() != name)
    return kept if value is None else (*kept, (name, value))


class PartnerCompat:
    """Per-partner tolerances, applied at the node's HTTP edges (see the module docstring)."""

    def __init__(
        self,
        store: Operations,
        clock: Clock,
        *,
        ttl: timedelta = timedelta(seconds=2),
        load_timeout: float = 1.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._load_timeout = load_timeout
        self._view = _View()
        self._loading: asyncio.Lock | None = None

    def invalidate(self) -> None:
        """Read the switches and partners again before the next request."""
        self._view.loaded_at = None

    # -- the view ----------------------------------------------------------------------------------

    async def _current(self) -> _View:
        now = self._clock.now()
        view = self._view
        if view.loaded_at is not None and now - view.loaded_at < self._ttl:
            return view
        if self._loading is None:
            self._loading = asyncio.Lock()
        async with self._loading:
            if self._view is not view and self._view.loaded_at is not None:
                return self._view
            try:
                self._view = await asyncio.wait_for(self._load(now), self._load_timeout)
            except TimeoutError:
                log.warning("compat: the store did not answer in time; keeping the previous switches")
                self._view.loaded_at = now
            except Exception:  # the store is unreachable or a record is unreadable: no tolerances
                log.exception("compat: could not read the partner switches")
                self._view = _View(loaded_at=now)
        return self._view

    async def _load(self, now: DateTime) -> _View:
        switches: dict[str, PartnerSwitches] = await load_switches(self._store)
        view = _View(loaded_at=now)
        if not switches:
            return view
        view.by_name = {key: frozenset(value.quirks) for key, value in switches.items()}
        for value in switches.values():
            if value.url:
                view.origins[_origin(value.url)] = (value.name, frozenset(value.quirks))
        page = await self._store.find(PARTNER_KIND)
        for item in page.items:
            partner: Partner = decode_partner(item.payload)
            quirks = view.by_name.get(partner.name.casefold())
            if not quirks or partner.status is PartnerStatus.UNREGISTERED:
                continue
            urls: list[tuple[str, str | None]] = [(e.url, e.module) for e in partner.endpoints]
            if partner.versions_url:
                urls.append((partner.versions_url, "versions"))
            for url, module in urls:
                view.prefixes.append((_bare(url), partner.name, quirks, module))
                origin = _origin(url)
                known = view.origins.get(origin, (partner.name, quirks))
                same = known is not None and known[0].casefold() == partner.name.casefold()
                view.origins[origin] = known if same else None
        view.prefixes.sort(key=lambda entry: len(entry[0]), reverse=True)
        return view

    async def match(self, url: str) -> Match | None:
        """The partner (with switches) that ``url`` belongs to, or ``None``."""
        view = await self._current()
        if not view.by_name:
            return None
        bare = _bare(url)
        for prefix, name, quirks, module in view.prefixes:
            if bare == prefix or bare.startswith(prefix + "/"):
                return Match(name, quirks, module, bare != prefix)
        fallback = view.origins.get(_origin(url))
        if fallback is None:
            return None
        return Match(fallback[0], fallback[1], None, False)

    # -- client hooks ------------------------------------------------------------------------------

    async def on_request(self, request: WireRequest) -> WireRequest:
        found = await self.match(request.url)
        if found is None:
            return request
        content = request.content
        if (
            Quirk.STATUS_SCHEDULE_OBJECT in found.quirks
            and found.module == "locations"
            and request.method in ("PUT", "PATCH")
        ):
            content = rewrite.status_schedule_out(content) or content
        if (
            Quirk.CHARGING_PROFILE_PERIOD_OBJECT in found.quirks
            and found.module == "chargingprofiles"
            and request.method in ("PUT", "POST")
        ):
            content = rewrite.charging_profile_out(content) or content
        if content is request.content:
            return request
        log.debug("compat %s: %s %s body adapted", found.partner, request.method, request.url)
        return WireRequest(request.method, request.url, request.headers, content)

    async def on_response(self, request: WireRequest, response: WireResponse) -> WireResponse:
        found = await self.match(request.url)
        if found is None:
            return response
        quirks = found.quirks
        content, headers = response.content, response.headers
        if Quirk.ERRORS_WITHOUT_ENVELOPE in quirks:
            stamp = self._clock.now().to_json()
            content = rewrite.envelope_for_error(content, response.status, found.module, stamp) or content
        if response.status < 300:
            if Quirk.LIST_WRAPPED_OBJECTS in quirks and found.below and found.module != "versions":
                content = rewrite.unwrap_single(content) or content
            if Quirk.COMMANDS_ENDPOINT_UNLISTED in quirks and request.method == "GET":
                content = rewrite.commands_endpoint_added(content) or content
            if (
                Quirk.STATUS_SCHEDULE_OBJECT in quirks
                and found.module == "locations"
                and request.method == "GET"
            ):
                content = rewrite.status_schedule_in(content) or content
            links = _header(headers, "link")
            if Quirk.PAGINATION_BY_OFFSET in quirks and links and request.method == "GET":
                fixed = rewrite.next_link_by_offset(links, request.url)
                headers = _replace_header(headers, "link", fixed)
            elif Quirk.HEADER_URL_ORIGIN in quirks and links:
                urls = [rewrite.on_origin(v.split(">")[0].strip(" <"), request.url) for v in links]
                headers = _replace_header(headers, "link", ", ".join(f'<{u}>; rel="next"' for u in urls))
            located = _header(headers, "location")
            if Quirk.HEADER_URL_ORIGIN in quirks and located:
                headers = _replace_header(headers, "location", rewrite.on_origin(located[0], request.url))
            if (
                Quirk.CDR_LOCATION_REBUILT in quirks
                and found.module == "cdrs"
                and request.method == "POST"
                and located
            ):
                base = _bare(request.url)
                answered = rewrite.answered_id(content)
                if not _bare(located[0]).startswith(base + "/") and answered is not None:
                    headers = _replace_header(headers, "location", f"{base}/{quote(answered, safe='')}")
        if content is response.content and headers is response.headers:
            return response
        log.debug("compat %s: answer to %s %s adapted", found.partner, request.method, request.url)
        return WireResponse(response.status, headers, content)

    # -- server hooks ------------------------------------------------------------------------------

    async def request_body(self, caller: Caller, module: str, method: str, content: bytes) -> bytes:
        """The body of a request ``caller`` sent to our ``module`` endpoint, as evroam reads it."""
        view = await self._current()
        quirks = view.by_name.get(caller.partner.name.casefold(), frozenset())
        if Quirk.CHARGING_PROFILE_PERIOD_OBJECT in quirks and module == "chargingprofiles":
            adapted = rewrite.charging_profile_in(content)
            if adapted is not None:
                log.debug("compat %s: %s %s body adapted", caller.partner.name, method, module)
                return adapted
        return content

    async def endpoint_url(self, caller: Caller, url: str) -> str:
        """How our endpoint ``url`` is listed in the version details given to ``caller``."""
        view = await self._current()
        quirks = view.by_name.get(caller.partner.name.casefold(), frozenset())
        if Quirk.ENDPOINT_TRAILING_SLASH in quirks and not url.endswith("/"):
            return url + "/"
        return url
