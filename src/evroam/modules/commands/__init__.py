"""The commands module: an eMSP asks a CPO to start or stop a session, reserve, cancel a reservation or
unlock a connector; the CPO answers at once and POSTs the charger's result later.

* :mod:`.receiver` — the CPO side (:class:`CommandReceiver`), in front of a
  :class:`~evroam.chargepoint.ChargePoint`;
* :mod:`.sender` — the eMSP side (:class:`CommandSender`): send, record, match results, wait, TIMEOUT;
* :mod:`.records` — what both sides remember about each command (the document format);
* :mod:`.ports` — one typed protocol per role; :mod:`.convert` — each OCPI version's classes and converters;
* :mod:`.bindings` — the HTTP handlers; :mod:`.setup` — the node's wiring; :mod:`.cli` — ``evroam commands``.

See ``docs/commands.md``.
"""

from evroam.modules.commands.bindings import receiver_binding, requester_of, sender_binding
from evroam.modules.commands.convert import CommandConverters, command_converters
from evroam.modules.commands.kit import COMMANDS, CommandLookups
from evroam.modules.commands.ports import CommandReceiverPort, CommandResults, CommandSenderPort
from evroam.modules.commands.receiver import (
    DEFAULT_TIMEOUT,
    CommandReceiver,
    Requester,
    charger_reservation_id,
    result_for,
)
from evroam.modules.commands.records import (
    FINAL_STATES,
    CommandRecord,
    CommandState,
    CommandType,
    Direction,
    ResultEvent,
    list_records,
    load_record,
)
from evroam.modules.commands.sender import (
    DEFAULT_GRACE,
    DEFAULT_RESULT_TIMEOUT,
    CommandError,
    CommandSender,
    PartnerFinder,
    TokenFinder,
)

__all__ = [
    "COMMANDS",
    "DEFAULT_GRACE",
    "DEFAULT_RESULT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "FINAL_STATES",
    "CommandConverters",
    "CommandError",
    "CommandLookups",
    "CommandReceiver",
    "CommandReceiverPort",
    "CommandRecord",
    "CommandResults",
    "CommandSender",
    "CommandSenderPort",
    "CommandState",
    "CommandType",
    "Direction",
    "PartnerFinder",
    "Requester",
    "ResultEvent",
    "TokenFinder",
    "charger_reservation_id",
    "command_converters",
    "list_records",
    "load_record",
    "receiver_binding",
    "requester_of",
    "result_for",
    "sender_binding",
]
