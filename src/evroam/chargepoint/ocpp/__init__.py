"""The OCPP central system: real chargers (OCPP 1.6J and 2.0.1, on the ``ocpp`` library) behind the
charge point port.

* :class:`CentralSystem` implements :class:`~evroam.chargepoint.ChargePoint` and
  :class:`~evroam.chargepoint.SmartCharging` over the connected chargers;
* :class:`OcppServer` is its WebSocket endpoint (``/ocpp/{charge_point_id}``, HTTP Basic, TLS);
* :class:`ChargerRegistry` keeps the chargers that may connect, :class:`Journal` what they sent;
* :mod:`.mapping` holds the pure OCPP <-> port conversions.

See ``docs/ocpp.md``.
"""

from evroam.chargepoint.ocpp.central import Authorizer, CentralSystem, Decision, Link, Resume
from evroam.chargepoint.ocpp.journal import Journal, TransactionRecord
from evroam.chargepoint.ocpp.registry import (
    ChargerRecord,
    ChargerRegistry,
    EvseTarget,
    RegistryError,
    hash_password,
    parse_evse_map,
    verify_password,
)
from evroam.chargepoint.ocpp.server import OcppServer, tls_context

__all__ = [
    "Authorizer",
    "CentralSystem",
    "ChargerRecord",
    "ChargerRegistry",
    "Decision",
    "EvseTarget",
    "Journal",
    "Link",
    "OcppServer",
    "RegistryError",
    "Resume",
    "TransactionRecord",
    "hash_password",
    "parse_evse_map",
    "tls_context",
    "verify_password",
]
