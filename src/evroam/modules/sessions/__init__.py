"""The sessions module: the CPO side (our own sessions, the Sender interface, the pushes of each
change) and the eMSP side (the Receiver interface for the sessions CPOs push).

Same layout as :mod:`evroam.modules.locations`: ports, service, repository, wire, bindings, push (the
push worker's pusher), cli. See ``docs/sessions-cdrs.md``.
"""

from evroam.modules.sessions.convert import SessionConverters, session_converters
from evroam.modules.sessions.kit import SESSIONS, SessionLookups
from evroam.modules.sessions.ports import (
    ChargingPreferencesNotCapable,
    SessionAdminPort,
    SessionChange,
    SessionPage,
    SessionReceiverPort,
    SessionSenderPort,
    SessionUpdate,
)
from evroam.modules.sessions.repository import (
    SESSION_KIND,
    SessionRecord,
    iter_session_records,
    load_session,
    load_session_record,
    save_session,
)
from evroam.modules.sessions.service import SessionAdmin, SessionReceiver, SessionSender, append_periods

__all__ = [
    "SESSIONS",
    "SESSION_KIND",
    "ChargingPreferencesNotCapable",
    "SessionAdmin",
    "SessionAdminPort",
    "SessionChange",
    "SessionConverters",
    "SessionLookups",
    "SessionPage",
    "SessionReceiver",
    "SessionReceiverPort",
    "SessionRecord",
    "SessionSender",
    "SessionSenderPort",
    "SessionUpdate",
    "append_periods",
    "iter_session_records",
    "load_session",
    "load_session_record",
    "save_session",
    "session_converters",
]
