"""Where sessions live in the store: the one place that knows their document format.

* kind ``"session"``: one document per Session, the canonical :class:`~evroam.model.Session` encoded
  with :func:`evroam.core.codec.encode`;
* key: the owner's (the CPO's) ``(country_code, party_id, id)``;
* ``partner_id``: for a session we received, the id of the partner that pushed it; for one of our
  own, :func:`~evroam.modules._shared.party_scope` of the party that owns its token (``party:de*msp``),
  so that a Sender list shows a partner only the sessions of its own tokens, with one indexed filter;
* the store's ``last_updated`` column is the Session's ``last_updated``.

Charging preferences an eMSP sets on one of our sessions are kept beside it under kind
``"charging_preferences"`` (same key, ``partner_id`` = the partner that set them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import msgspec

from evroam.core.codec import decode, encode
from evroam.model.sessions import ChargingPreferences, Session
from evroam.store.port import ObjectKey, Operations, PutOutcome, StoredObject

from .._documents import Documents
from .._shared import is_party_scope, party_scope, token_owner

__all__ = [
    "PREFERENCES_KIND",
    "SESSION_KIND",
    "SessionRecord",
    "decode_session",
    "encode_session",
    "iter_session_records",
    "load_preferences",
    "load_session",
    "load_session_record",
    "page_sessions",
    "save_preferences",
    "save_session",
    "session_key",
    "session_scope",
]

SESSION_KIND = "session"
PREFERENCES_KIND = "charging_preferences"
_SESSIONS = Documents(SESSION_KIND, Session)


class SessionRecord(msgspec.Struct, frozen=True):
    """A stored session with its store bookkeeping."""

    session: Session
    partner_id: str | None
    seq: int
    revision: int

    @property
    def own(self) -> bool:
        """One of our own sessions (not one a partner pushed to us)."""
        return self.partner_id is None or is_party_scope(self.partner_id)


def session_key(country_code: str, party_id: str, session_id: str) -> ObjectKey:
    return _SESSIONS.key(country_code, party_id, session_id)


def session_scope(session: Session) -> str | None:
    """The ``partner_id`` one of our own sessions is stored under (its token owner's scope)."""
    owner = token_owner(session.cdr_token)
    return None if owner is None else party_scope(*owner)


def encode_session(session: Session) -> bytes:
    return _SESSIONS.encode(session)


def decode_session(payload: bytes) -> Session:
    return _SESSIONS.decode(payload)


def _record(found: StoredObject) -> SessionRecord:
    return SessionRecord(decode_session(found.payload), found.partner_id, found.seq, found.revision)


async def load_session_record(
    ops: Operations, country_code: str, party_id: str, session_id: str, *, for_update: bool = False
) -> SessionRecord | None:
    found = await _SESSIONS.get(ops, country_code, party_id, session_id, for_update=for_update)
    return None if found is None else _record(found)


async def load_session(
    ops: Operations, country_code: str, party_id: str, session_id: str, *, for_update: bool = False
) -> Session | None:
    record = await load_session_record(ops, country_code, party_id, session_id, for_update=for_update)
    return None if record is None else record.session


async def save_session(
    ops: Operations, session: Session, *, partner_id: str | None, check_stale: bool = False
) -> PutOutcome:
    """Create or replace the session (keyed by its own ``country_code`` / ``party_id`` / ``id``)."""
    key = session_key(session.country_code, session.party_id, session.id)
    return await _SESSIONS.put(
        ops, key, session, session.last_updated, partner_id=partner_id, check_stale=check_stale
    )


page_sessions = _SESSIONS.page
"""One page of session documents in creation order, and the total matching the filters."""


async def iter_session_records(ops: Operations, *, batch: int = 500) -> AsyncIterator[SessionRecord]:
    """Every stored session (ours and received), in creation order."""
    async for item in _SESSIONS.walk(ops, batch=batch):
        yield _record(item)


def _preferences_key(country_code: str, party_id: str, session_id: str) -> ObjectKey:
    return ObjectKey(PREFERENCES_KIND, country_code, party_id, session_id)


async def save_preferences(
    ops: Operations,
    session: Session,
    preferences: ChargingPreferences,
    *,
    partner_id: str,
    now: datetime,
) -> None:
    await ops.put(
        _preferences_key(session.country_code, session.party_id, session.id),
        encode(preferences),
        now,
        partner_id=partner_id,
        check_stale=False,
    )


async def load_preferences(
    ops: Operations, country_code: str, party_id: str, session_id: str
) -> ChargingPreferences | None:
    found = await ops.get(_preferences_key(country_code, party_id, session_id))
    return None if found is None else decode(found.payload, ChargingPreferences)
