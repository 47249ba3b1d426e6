"""What a node remembers about charging profiles, and where it keeps it: the one place that knows the format.

* :class:`ProfileRecord` — one request (set, get or clear a session's profile), kept by the sender
  (kind ``profile_sent``: the request, the CPO's synchronous answer, the result POSTed later to the
  request's own ``response_url``, or TIMEOUT) and by the CPO (kind ``profile_received``: what it
  answered, what the charger answered, the result queued for the sender). Key ``("", "", id)``.
* :class:`SessionProfiles` — the CPO's state of one of its sessions: the profile each sender has in
  force, every sender that ever set one successfully (they get the ActiveChargingProfile updates), the
  time of the last change (rate limit) and the last active profile the charger reported. Kind
  ``session_profiles``, keyed like the session.
* :class:`ReceivedActive` — the sender's copy of the last ActiveChargingProfile a CPO PUT for a session.
  Kind ``active_profile``, key ``("", "", "{partner id}/{session id}")``.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from evroam.core.codec import decode, encode
from evroam.core.types import DateTime
from evroam.model.chargingprofiles import (
    ActiveChargingProfile,
    ChargingProfile,
    ChargingProfileResponse,
)
from evroam.model.enums import ChargingProfileResponseType, ChargingProfileResultType
from evroam.store.port import ObjectKey, Operations

from .._documents import Direction, RequestRecords

__all__ = [
    "ACTIVE_KIND",
    "FINAL_STATES",
    "RECEIVED_KIND",
    "SENT_KIND",
    "SESSION_KIND",
    "Direction",
    "ProfileRecord",
    "ProfileState",
    "ReceivedActive",
    "RequestType",
    "SenderProfile",
    "SenderRef",
    "SessionProfiles",
    "list_active",
    "list_records",
    "load_active",
    "load_record",
    "load_session_profiles",
    "save_active",
    "save_record",
    "save_session_profiles",
]

SENT_KIND = "profile_sent"
RECEIVED_KIND = "profile_received"
SESSION_KIND = "session_profiles"
ACTIVE_KIND = "active_profile"


class RequestType(StrEnum):
    """What a request asks: PUT a profile, GET the active one, DELETE the sender's profile."""

    SET = "SET"
    GET = "GET"
    CLEAR = "CLEAR"

    @property
    def result_endpoint(self) -> str:
        """The endpoint name of its result on the sender's interface (the version tables)."""
        return {"SET": "set_profile_result", "GET": "active_profile_result", "CLEAR": "clear_profile_result"}[
            self.value
        ]

    @property
    def segment(self) -> str:
        """The path segment of evroam's per-request response URLs for this type."""
        return {"SET": "set", "GET": "active", "CLEAR": "clear"}[self.value]


class ProfileState(StrEnum):
    SENDING = "SENDING"
    """Sent: recorded, the request to the CPO is under way."""
    WAITING = "WAITING"
    """ACCEPTED: the result is awaited (sent) / the charger's answer is awaited (received)."""
    DONE = "DONE"
    """Sent: a result arrived. Received: the result is decided and queued for the sender."""
    REFUSED = "REFUSED"
    """The synchronous answer was not ACCEPTED: no result follows."""
    FAILED = "FAILED"
    """Sent: the CPO could not be reached or answered with an error."""
    TIMEOUT = "TIMEOUT"
    """Sent: no result arrived by the deadline (the CPO's ``timeout`` plus a grace period)."""


FINAL_STATES = frozenset({ProfileState.DONE, ProfileState.REFUSED, ProfileState.FAILED, ProfileState.TIMEOUT})


class ProfileRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One charging profile request, sent or received, and everything that happened to it."""

    id: str
    direction: Direction
    type: RequestType
    partner_id: str
    partner_name: str
    version: str
    country_code: str
    """The sender's party (the eMSP / SCSP that asked)."""
    party_id: str
    session_id: str
    """The session's id on the CPO's platform."""
    response_url: str
    profile: ChargingProfile | None = None
    """SET: the profile asked for."""
    duration: int | None = None
    """GET: the seconds of active profile asked for."""
    summary: dict[str, str] = msgspec.field(default_factory=dict)
    state: ProfileState
    response: ChargingProfileResponse | None = None
    result: ChargingProfileResultType | None = None
    result_source: str | None = None
    """``"partner"`` (POSTed by the CPO), ``"charger"`` (CPO side) or ``"local"`` (decided here)."""
    active: ActiveChargingProfile | None = None
    """GET: the active profile of the result."""
    charger_answer: str | None = None
    """Received: what the charger answered, or ``"NO_ANSWER"``."""
    result_posted: bool = False
    """Received: the sender acknowledged the result POST."""
    error: str | None = None
    created: DateTime
    answered: DateTime | None = None
    deadline: DateTime | None = None
    """Sent: when waiting for the result ends."""
    finished: DateTime | None = None
    last_updated: DateTime

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def outcome(self) -> str:
        """One word for people: the result, the refusal, or the state while it is open."""
        if self.result is not None:
            return self.result.value
        if self.state is ProfileState.REFUSED and self.response is not None:
            return self.response.result.value
        if self.state in (ProfileState.FAILED, ProfileState.TIMEOUT):
            return self.state.value
        if self.response is not None and self.response.result is ChargingProfileResponseType.ACCEPTED:
            return "ACCEPTED, waiting for the result"
        return self.state.value


class SenderRef(msgspec.Struct, frozen=True, kw_only=True):
    """A partner that set a profile on a session, and the party it spoke for."""

    partner_id: str
    partner_name: str
    country_code: str
    party_id: str


class SenderProfile(msgspec.Struct, frozen=True, kw_only=True):
    """The profile one sender has in force on a session; ``start`` is its absolute start (the
    profile's ``start_date_time``, else when it was set)."""

    sender: SenderRef
    profile: ChargingProfile
    start: DateTime
    set_at: DateTime


class SessionProfiles(msgspec.Struct, frozen=True, kw_only=True):
    """The CPO's charging profile state of one of its sessions."""

    country_code: str
    party_id: str
    session_id: str
    profiles: tuple[SenderProfile, ...] = ()
    senders: tuple[SenderRef, ...] = ()
    """Every sender that set a profile successfully at least once (they get ActiveChargingProfile PUTs)."""
    last_change: DateTime | None = None
    """When the last set or clear was accepted (``TOO_OFTEN`` counts from here)."""
    active: ActiveChargingProfile | None = None
    """The active profile the charger reported last."""
    last_updated: DateTime


class ReceivedActive(msgspec.Struct, frozen=True, kw_only=True):
    """An ActiveChargingProfile a CPO PUT to us for one of its sessions (the latest one)."""

    partner_id: str
    partner_name: str
    session_id: str
    active: ActiveChargingProfile
    received: DateTime
    updates: int = 1


# -- storage ------------------------------------------------------------------------------------------


_RECORDS = RequestRecords(SENT_KIND, RECEIVED_KIND, ProfileRecord)

load_record = _RECORDS.load
save_record = _RECORDS.save
list_records = _RECORDS.list


def _session_key(country_code: str, party_id: str, session_id: str) -> ObjectKey:
    return ObjectKey(SESSION_KIND, country_code, party_id, session_id)


async def load_session_profiles(
    ops: Operations, country_code: str, party_id: str, session_id: str, *, for_update: bool = False
) -> SessionProfiles | None:
    found = await ops.get(_session_key(country_code, party_id, session_id), for_update=for_update)
    return None if found is None else decode(found.payload, SessionProfiles)


async def save_session_profiles(ops: Operations, state: SessionProfiles) -> None:
    await ops.put(
        _session_key(state.country_code, state.party_id, state.session_id),
        encode(state),
        state.last_updated,
        partner_id=None,
        check_stale=False,
    )


def _active_key(partner_id: str, session_id: str) -> ObjectKey:
    return ObjectKey(ACTIVE_KIND, "", "", f"{partner_id}/{session_id}")


async def load_active(
    ops: Operations, partner_id: str, session_id: str, *, for_update: bool = False
) -> ReceivedActive | None:
    found = await ops.get(_active_key(partner_id, session_id), for_update=for_update)
    return None if found is None else decode(found.payload, ReceivedActive)


async def save_active(ops: Operations, received: ReceivedActive) -> None:
    await ops.put(
        _active_key(received.partner_id, received.session_id),
        encode(received),
        received.received,
        partner_id=received.partner_id,
        check_stale=False,
    )


async def list_active(ops: Operations) -> list[ReceivedActive]:
    page = await ops.find(ACTIVE_KIND)
    return [decode(item.payload, ReceivedActive) for item in page.items]
