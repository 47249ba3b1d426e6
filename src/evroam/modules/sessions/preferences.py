"""Charging preferences beyond the Sender interface: the eMSP's client, and the CPO's hand-off.

* :class:`PreferencesClient` (eMSP) — ``PUT {cpo sessions}/{session_id}/charging_preferences`` for a
  session the CPO pushed to us; the CPO's ChargingPreferencesResponse is the answer, and accepted
  preferences are kept beside our copy of the session (``evroam sessions show``).
* :class:`ChargerPreferences` (CPO) — accepted preferences handed to the charger connection
  (:class:`~evroam.chargepoint.SmartCharging`) and to any other listener (an energy manager), in the
  background: the partner's answer does not wait for the charger.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from evroam.chargepoint.port import PreferencesRequest, SmartCharging
from evroam.core.clock import Clock, IdGenerator
from evroam.core.errors import EvroamError
from evroam.http.client import OcpiClient
from evroam.model.enums import ChargingPreferencesResponse
from evroam.model.sessions import ChargingPreferences, Session
from evroam.ocpi.registry import spec_for
from evroam.ocpi.table import InterfaceRole
from evroam.ocpi.transport import PartyRef, TokenEncoding
from evroam.registration.model import Partner, PartnerStatus
from evroam.store.port import Store

from .repository import SessionRecord, load_session_record, save_preferences

__all__ = ["ChargerPreferences", "PreferencesClient", "PreferencesError"]

log = logging.getLogger(__name__)


class PreferencesError(EvroamError):
    """The preferences cannot be sent (unknown session, partner not connected, version without them)."""

    http_status = 400


class PreferencesClient:
    """The eMSP's client for charging preferences, over the store, the partners and the HTTP client."""

    def __init__(self, store: Store, http: Any, clock: Clock, ids: IdGenerator, *, partners: Any) -> None:
        self._store = store
        self._http = http
        self._clock = clock
        self._ids = ids
        self._partners = partners

    async def received_session(
        self, session_id: str, partner: str | None = None
    ) -> tuple[Partner, SessionRecord]:
        """Our copy of a session a CPO partner pushed (of ``partner`` when named)."""
        for candidate in await self._partners.partners():
            if partner is not None and candidate.name.casefold() != partner.casefold():
                continue
            for role in candidate.roles:
                if role.role != "CPO":
                    continue
                record = await load_session_record(self._store, role.country_code, role.party_id, session_id)
                if record is not None and record.partner_id == candidate.id:
                    return candidate, record
        raise PreferencesError(
            f"no session {session_id!r} received from a CPO partner (see `evroam sessions list`)"
        )

    async def send(
        self, session_id: str, preferences: ChargingPreferences, *, partner: str | None = None
    ) -> tuple[Partner, ChargingPreferencesResponse]:
        """PUT the preferences to the CPO of the session; its answer. Accepted ones are kept."""
        cpo, record = await self.received_session(session_id, partner)
        if cpo.status is not PartnerStatus.REGISTERED or cpo.version is None or cpo.token is None:
            raise PreferencesError(f"partner {cpo.name} is not connected ({cpo.status.value})")
        spec = spec_for(cpo.version)
        endpoint_spec = next(
            (
                e
                for e in spec.modules["sessions"].endpoints(InterfaceRole.SENDER)
                if e.name == "set_charging_preferences"
            ),
            None,
        )
        if endpoint_spec is None:
            raise PreferencesError(f"OCPI {cpo.version} (spoken with {cpo.name}) has no charging preferences")
        endpoint = cpo.endpoint("sessions", InterfaceRole.SENDER.value)
        if endpoint is None:
            raise PreferencesError(f"partner {cpo.name} lists no sessions SENDER endpoint")
        convert = importlib.import_module(f"evroam.ocpi.v{cpo.version.replace('.', '_')}.convert")
        session = record.session
        owner = session.cdr_token
        us = None
        with contextlib.suppress(ValueError):
            us = PartyRef.of(str(owner.country_code), str(owner.party_id))
        them = None
        with contextlib.suppress(ValueError):
            them = PartyRef.of(str(session.country_code), str(session.party_id))
        client = OcpiClient(
            self._http,
            spec=spec,
            token=cpo.token,
            token_encoding=TokenEncoding(cpo.token_encoding),
            us=us,
            them=them,
            ids=self._ids,
            clock=self._clock,
        )
        url = f"{endpoint.url.rstrip('/')}/{quote(session_id, safe='')}/charging_preferences"
        answer = await client.request(
            "PUT",
            url,
            module="sessions",
            data_type=endpoint_spec.response,
            body=convert.charging_preferences_from_model(preferences),
        )
        response = ChargingPreferencesResponse(str(getattr(answer.data, "value", answer.data)))
        if response is ChargingPreferencesResponse.ACCEPTED:
            async with self._store.transaction() as tx:
                await save_preferences(tx, session, preferences, partner_id=cpo.id, now=self._clock.now())
        return cpo, response


class ChargerPreferences:
    """Accepted preferences to the charger (when it does smart charging) and to ``listeners``; each
    hand-off runs in the background, bounded by ``timeout`` seconds."""

    def __init__(
        self,
        charge_point: Any,
        *,
        listeners: tuple[Callable[[Session, ChargingPreferences], Awaitable[None]], ...] = (),
        timeout: float = 30.0,
    ) -> None:
        self._charge_point = charge_point
        self._listeners = listeners
        self._timeout = timeout
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, session: Session, preferences: ChargingPreferences) -> None:
        task = asyncio.get_running_loop().create_task(self._hand(session, preferences))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hand(self, session: Session, preferences: ChargingPreferences) -> None:
        for listener in self._listeners:
            try:
                await listener(session, preferences)
            except Exception:  # one listener's failure must not stop the others
                log.exception("charging preferences listener failed for session %s", session.id)
        if not isinstance(self._charge_point, SmartCharging):
            return
        request = PreferencesRequest(
            transaction_id=str(session.id),
            profile_type=preferences.profile_type.value,
            departure_time=preferences.departure_time,
            energy_need=preferences.energy_need,
            discharge_allowed=bool(preferences.discharge_allowed),
        )
        try:
            answer = await asyncio.wait_for(self._charge_point.set_preferences(request), self._timeout)
        except TimeoutError:
            log.warning("session %s: the charger did not take the charging preferences in time", session.id)
            return
        except Exception:
            log.exception("session %s: the charger failed on the charging preferences", session.id)
            return
        log.info("session %s: charging preferences handed to the charger: %s", session.id, answer.value)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.drain()
