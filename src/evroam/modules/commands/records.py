"""What a node remembers about commands, and where it keeps it: the one place that knows the format.

Both sides keep one :class:`CommandRecord` per command:

* the eMSP (kind ``"command_sent"``) for every command it sent: the request, the CPO's synchronous
  :class:`~evroam.model.CommandResponse`, and the asynchronous :class:`~evroam.model.CommandResult`
  POSTed later to the command's own ``response_url`` (``.../sender/commands/{id}``) — or ``TIMEOUT``
  when none arrived in time;
* the CPO (kind ``"command_received"``) for every command it received: what it answered, what the
  charger answered, and whether the result reached the eMSP.

Key: ``("", "", id)`` (a command is found by its id alone: the id is the last segment of its response
URL); ``partner_id``: the partner the command was sent to / received from; the store's
``last_updated`` is the record's.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from evroam.core.types import DateTime
from evroam.model.commands import CommandResponse, CommandResult
from evroam.model.enums import CommandResponseType

from .._documents import Direction, RequestRecords

__all__ = [
    "FINAL_STATES",
    "RECEIVED_KIND",
    "SENT_KIND",
    "CommandRecord",
    "CommandState",
    "CommandType",
    "Direction",
    "ResultEvent",
    "list_records",
    "load_record",
    "save_record",
]

SENT_KIND = "command_sent"
RECEIVED_KIND = "command_received"


class CommandType(StrEnum):
    """The OCPI CommandType values; each is the last segment of the CPO's command URL."""

    CANCEL_RESERVATION = "CANCEL_RESERVATION"
    RESERVE_NOW = "RESERVE_NOW"
    START_SESSION = "START_SESSION"
    STOP_SESSION = "STOP_SESSION"
    UNLOCK_CONNECTOR = "UNLOCK_CONNECTOR"

    @property
    def endpoint(self) -> str:
        """The endpoint name in the version tables (``start_session`` ...)."""
        return self.value.lower()


class CommandState(StrEnum):
    SENDING = "SENDING"
    """Sent: recorded, the request to the CPO is under way."""
    WAITING = "WAITING"
    """Accepted by the CPO; the result is awaited (sent) / the charger's answer is awaited (received)."""
    DONE = "DONE"
    """Sent: a result is known (from the CPO, or TIMEOUT). Received: the result was POSTed to the eMSP."""
    REFUSED = "REFUSED"
    """The synchronous answer was not ACCEPTED: no result follows."""
    FAILED = "FAILED"
    """Sent: the CPO could not be reached or answered with an error. Received: the result could not
    be POSTed to the eMSP."""


FINAL_STATES = frozenset({CommandState.DONE, CommandState.REFUSED, CommandState.FAILED})


class ResultEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One result, when it arrived (or was decided) and from where."""

    at: DateTime
    result: CommandResult
    source: str
    """``"partner"`` (POSTed by the CPO), ``"local"`` (decided here: TIMEOUT), ``"charger"`` (CPO side)."""


class CommandRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One command, sent or received, and everything that happened to it."""

    id: str
    direction: Direction
    type: CommandType
    partner_id: str
    partner_name: str
    version: str
    country_code: str
    """The eMSP party the command is for (the token's owner, or the eMSP that sent it)."""
    party_id: str
    response_url: str
    request: msgspec.Raw
    """The canonical command object (StartSession, StopSession ...) as JSON."""
    summary: dict[str, str] = msgspec.field(default_factory=dict)
    """The request's identifying values for people (location, EVSE, token, session, reservation)."""
    state: CommandState
    response: CommandResponse | None = None
    result: CommandResult | None = None
    """The first result: what the command came to."""
    results: tuple[ResultEvent, ...] = ()
    """Every result in arrival order (a reservation may later be followed by CANCELED_RESERVATION)."""
    charger_answer: str | None = None
    """Received: what the charger answered (:class:`~evroam.chargepoint.Answer`), or ``"NO_ANSWER"``."""
    error: str | None = None
    created: DateTime
    answered: DateTime | None = None
    """When the synchronous answer was received (sent) / given (received)."""
    deadline: DateTime | None = None
    """Sent: when waiting for the result ends (the CPO's timeout plus a grace period)."""
    finished: DateTime | None = None
    last_updated: DateTime

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def outcome(self) -> str:
        """One word for people: the result, the refusal, or the state while it is open."""
        if self.result is not None:
            return self.result.result.value
        if self.state is CommandState.REFUSED and self.response is not None:
            return self.response.result.value
        if self.state is CommandState.FAILED:
            return "FAILED"
        if self.response is not None and self.response.result is CommandResponseType.ACCEPTED:
            return "ACCEPTED, waiting for the result"
        return self.state.value


_RECORDS = RequestRecords(SENT_KIND, RECEIVED_KIND, CommandRecord)

load_record = _RECORDS.load
save_record = _RECORDS.save
list_records = _RECORDS.list
