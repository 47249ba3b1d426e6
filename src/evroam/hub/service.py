"""The hub as a whole: routing (:mod:`evroam.hub.router`), its HubClientInfo Sender list, the pushes of
ClientInfo to every connected platform, and liveness.

Liveness: a platform that neither called the hub nor answered it for ``silence`` seconds is probed
with a GET of its versions endpoint (with its token); an answer makes it ``CONNECTED``, a failure
``OFFLINE``. Every change of a platform's status (joined, left, OFFLINE, back) is pushed as one
``ClientInfo`` per party to every other connected platform with a hubclientinfo Receiver endpoint;
a platform that joins also gets the whole list. Requests for a party whose platform is not CONNECTED
are refused with 4003 (the spec: "do not queue Push messages" for an OFFLINE party; the sender's own
outbox retries them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from evroam.core.clock import Clock, IdGenerator
from evroam.core.errors import EvroamError
from evroam.http.client import OcpiClient
from evroam.model.enums import ConnectionStatus, Role
from evroam.model.hubclientinfo import ClientInfo
from evroam.modules.kit import ModuleBinding, OcpiAnswer, OcpiCall, module_path
from evroam.ocpi.converters import converters
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import InterfaceRole, VersionSpec
from evroam.ocpi.transport import PartyRef, TokenEncoding, page_headers, parse_page_request
from evroam.registration.service import RegistrationService

from .parties import HubParties, Platform
from .router import HubRouter

__all__ = ["STATE_SETTING", "Hub", "HubSettings", "hub_settings_from_env", "load_state"]

#: The store setting where the hub leaves its platforms' statuses and its route counts after each
#: liveness round (read by ``evroam hub parties`` and ``evroam hub stats``).
STATE_SETTING = "hub.state"


class PlatformState(msgspec.Struct, frozen=True, kw_only=True):
    partner_id: str
    status: str
    last_contact: str | None
    """UTC time of the last request from or answer by the platform (RFC 3339), as the hub saw it."""


class HubState(msgspec.Struct, frozen=True, kw_only=True):
    saved: str
    platforms: list[PlatformState]
    routes: list[tuple[str, str, str, int]]
    """``(module, interface, kind, requests)``; kind: forward, broadcast, merged, relay, refused."""


async def load_state(store: Any) -> HubState | None:
    """What the running hub last saved (``None``: it never ran a liveness round)."""
    raw = await store.get_setting(STATE_SETTING)
    return None if raw is None else msgspec.json.decode(raw, type=HubState)


log = logging.getLogger(__name__)

SILENCE_ENV = "EVROAM_HUB_SILENCE"
TICK_ENV = "EVROAM_HUB_TICK"
TIMEOUT_ENV = "EVROAM_HUB_TIMEOUT"


@dataclass(frozen=True, slots=True)
class HubSettings:
    silence: float = 300.0
    """Seconds without a word from a platform before it is probed (the spec suggests about 5 minutes)."""
    tick: float = 30.0
    """Seconds between two liveness rounds."""
    timeout: float = 10.0
    """Seconds a forwarded request may take before the caller gets 4002."""


def hub_settings_from_env(env: Mapping[str, str]) -> HubSettings:
    def number(name: str, default: float) -> float:
        value = env.get(name)
        return default if not value else float(value)

    return HubSettings(
        silence=number(SILENCE_ENV, 300.0), tick=number(TICK_ENV, 30.0), timeout=number(TIMEOUT_ENV, 10.0)
    )


class Hub:
    """A hub node's routing and party registry (one per node process)."""

    def __init__(
        self,
        *,
        registration: RegistrationService,
        http: Any,
        clock: Clock,
        ids: IdGenerator,
        base_url: str,
        own: PartyRef,
        versions: Sequence[str],
        settings: HubSettings | None = None,
        store: Any = None,
    ) -> None:
        self.settings = settings or hub_settings_from_env(os.environ)
        self.parties = HubParties(registration, clock)
        self.router = HubRouter(
            parties=self.parties,
            http=http,
            ids=ids,
            clock=clock,
            base_url=base_url,
            own=own,
            timeout=self.settings.timeout,
            store=store,
        )
        self._http = http
        self._store = store
        self._clock = clock
        self._ids = ids
        self._base_url = base_url
        self.own = own
        self.specs: list[VersionSpec] = [spec_for(v) for v in versions]
        self._task: asyncio.Task[None] | None = None
        self._unsent: dict[str, set[tuple[str, str]]] = {}
        """Per platform, the parties whose ClientInfo it has not accepted yet (sent again each round)."""
        self._pushes: set[asyncio.Task[None]] = set()

    # -- what the node serves -------------------------------------------------------------------

    def bindings(self) -> list[ModuleBinding]:
        return [*self.router.bindings(self.specs), self._client_info_sender()]

    def _client_info_sender(self) -> ModuleBinding:
        async def listing(call: OcpiCall) -> OcpiAnswer:
            caller = await self.parties.platform(call.caller.partner)
            caller.last_contact = self.parties.now()
            page = parse_page_request(call.query, max_limit=1000)
            wire = converters(call.spec.number)
            items = []
            own = {(r.country_code.casefold(), r.party_id.casefold()) for r in caller.parties()}
            for info in self.client_infos():
                if (info.country_code.casefold(), info.party_id.casefold()) in own:
                    continue  # the other parties it can reach
                if not page.matches(info.last_updated):
                    continue
                with contextlib.suppress(EvroamError, ValueError):
                    items.append(wire.client_info_from_model(info))
            window = items[page.offset : page.offset + page.limit]
            spec = call.spec
            url = self._base_url + module_path(spec, spec.modules["hubclientinfo"], InterfaceRole.SENDER)
            return OcpiAnswer(data=window, headers=page_headers(url, page, len(items), max_limit=1000))

        return ModuleBinding("hubclientinfo", InterfaceRole.SENDER, {"list": listing})

    def client_infos(self, platforms: Sequence[Platform] | None = None) -> list[ClientInfo]:
        """One ClientInfo per party of the platforms (all by default), with their status."""
        out = []
        for platform in platforms if platforms is not None else list(self.parties.platforms.values()):
            for party in platform.parties():
                if party.role is None:
                    continue
                out.append(
                    ClientInfo(
                        country_code=party.country_code,
                        party_id=party.party_id,
                        role=Role(party.role.value),
                        status=platform.status,
                        last_updated=self._clock.now(),
                    )
                )
        return out

    # -- liveness -------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="evroam-hub-liveness")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for push in list(self._pushes):
            push.cancel()

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("hub liveness round failed")
            await asyncio.sleep(self.settings.tick)

    async def tick(self) -> None:
        """One liveness round: new and gone platforms, probes of the silent ones, ClientInfo pushes."""
        joined, left = await self.parties.refresh()
        changed: list[Platform] = []
        for platform in left:
            platform.status = ConnectionStatus.SUSPENDED
            changed.append(platform)
        now = self.parties.now()
        silent = [
            p
            for p in self.parties.platforms.values()
            if p not in joined and now - p.last_contact >= self.settings.silence
        ]
        results = await asyncio.gather(*(self._probe(p) for p in silent))
        for platform, alive in zip(silent, results, strict=True):
            status = ConnectionStatus.CONNECTED if alive else ConnectionStatus.OFFLINE
            if alive:
                platform.last_contact = self.parties.now()
            if status is not platform.status:
                platform.status = status
                platform.changed_at = self.parties.now()
                log.info("hub: platform %s is %s", platform.partner.name, status.value)
                changed.append(platform)
        for platform in joined:
            log.info("hub: platform %s joined", platform.partner.name)
            await self._push(self.client_infos(), [platform])  # the whole list to the newcomer
        changed.extend(joined)
        if changed:
            infos = self.client_infos(changed)
            others = [p for p in self.parties.platforms.values() if p.reachable]
            await self._push(infos, others, skip=changed)
        await self._retry_unsent()
        await self.router.forget_relays()
        await self._save_state()

    async def _retry_unsent(self) -> None:
        pending, self._unsent = self._unsent, {}
        jobs = []
        for partner_id, keys in pending.items():
            platform = self.parties.platforms.get(partner_id)
            if platform is None or not platform.reachable:
                continue
            infos = [
                i for i in self.client_infos() if (i.country_code.casefold(), i.party_id.casefold()) in keys
            ]
            jobs.append(self._push(infos, [platform]))
        await asyncio.gather(*jobs)

    async def _save_state(self) -> None:
        if self._store is None:
            return

        def when(last: float) -> str | None:
            if last <= 0:
                return None
            stamp = datetime.fromtimestamp(last, tz=UTC)
            return stamp.isoformat(timespec="seconds").replace("+00:00", "Z")

        state = HubState(
            saved=when(self.parties.now()) or "",
            platforms=[
                PlatformState(partner_id=pid, status=p.status.value, last_contact=when(p.last_contact))
                for pid, p in self.parties.platforms.items()
            ],
            routes=[(*key, n) for key, n in sorted(self.router.routes.counts.items())],
        )
        await self._store.set_setting(STATE_SETTING, msgspec.json.encode(state).decode())

    async def _probe(self, platform: Platform) -> bool:
        partner = platform.partner
        if partner.versions_url is None or partner.token is None or partner.version is None:
            return False
        client = OcpiClient(
            self._http,
            spec=spec_for(partner.version),
            token=partner.token,
            token_encoding=TokenEncoding(partner.token_encoding),
            us=None,
            them=None,
            ids=self._ids,
            clock=self._clock,
        )
        try:
            await asyncio.wait_for(
                client.request("GET", partner.versions_url, module="versions"), self.settings.timeout
            )
        except (EvroamError, TimeoutError):
            return False
        return True

    async def _push(
        self, infos: Sequence[ClientInfo], targets: Sequence[Platform], skip: Sequence[Platform] = ()
    ) -> None:
        skipped = {id(p) for p in skip}
        jobs: list[Awaitable[None]] = []
        for platform in targets:
            partner = platform.partner
            endpoint = partner.endpoint("hubclientinfo", InterfaceRole.RECEIVER.value)
            if endpoint is None or partner.token is None or partner.version is None:
                continue
            own = {(r.country_code.casefold(), r.party_id.casefold()) for r in platform.parties()}
            mine = [i for i in infos if (i.country_code.casefold(), i.party_id.casefold()) not in own]
            if id(platform) in skipped and platform.reachable:
                mine = [i for i in mine if i.status is ConnectionStatus.CONNECTED]
            if mine:
                jobs.append(self._put_all(platform, endpoint.url, mine))
        await asyncio.gather(*jobs)

    async def _put_all(self, platform: Platform, url: str, infos: Sequence[ClientInfo]) -> None:
        partner = platform.partner
        assert partner.token is not None and partner.version is not None
        wire = converters(partner.version)
        client = OcpiClient(
            self._http,
            spec=wire.spec,
            token=partner.token,
            token_encoding=TokenEncoding(partner.token_encoding),
            us=None,
            them=None,
            ids=self._ids,
            clock=self._clock,
        )
        for info in infos:
            try:
                body = wire.client_info_from_model(info)
                await client.put(
                    f"{url.rstrip('/')}/{info.country_code}/{info.party_id}", body, module="hubclientinfo"
                )
            except (EvroamError, ValueError) as exc:
                key = (info.country_code.casefold(), info.party_id.casefold())
                self._unsent.setdefault(partner.id, set()).add(key)
                log.warning(
                    "hub: ClientInfo of %s*%s to %s failed (sent again next round): %s",
                    info.country_code,
                    info.party_id,
                    partner.name,
                    exc,
                )
