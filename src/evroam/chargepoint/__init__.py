"""The CPO's boundary to its charging hardware: the :class:`ChargePoint` port, its commands and events.

See :mod:`evroam.chargepoint.port`. The simulator (:mod:`evroam.sim`) implements the port.
"""

from evroam.chargepoint.port import (
    Answer,
    CancelRequest,
    ChargePoint,
    ChargePointEvent,
    ChargeState,
    EventListener,
    MeterValues,
    NoChargePoint,
    ReserveRequest,
    StartRequest,
    StatusChanged,
    StopReason,
    StopRequest,
    TransactionInfo,
    TransactionStarted,
    TransactionStopped,
    UnlockRequest,
)

__all__ = [
    "Answer",
    "CancelRequest",
    "ChargePoint",
    "ChargePointEvent",
    "ChargeState",
    "EventListener",
    "MeterValues",
    "NoChargePoint",
    "ReserveRequest",
    "StartRequest",
    "StatusChanged",
    "StopReason",
    "StopRequest",
    "TransactionInfo",
    "TransactionStarted",
    "TransactionStopped",
    "UnlockRequest",
]
