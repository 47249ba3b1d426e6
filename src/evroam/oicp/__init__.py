"""OICP 2.3 (Hubject's Open InterCharge Protocol): wire models of every operation of both roles
(:mod:`.messages`), identifier formats (:mod:`.ids`), status codes (:mod:`.status`), the operations
table (:mod:`.operations`), the body codec (:mod:`.codec`), converters to and from the canonical model
(:mod:`.convert`) and the mutual-TLS settings (:mod:`.tls`). Beside :mod:`evroam.ocpi`, in the same
layer: it imports only :mod:`evroam.core` and :mod:`evroam.model`. See ``docs/oicp.md``.
"""

from evroam.oicp.operations import API_PREFIX, OPERATIONS, Operation, by_name, match_path
from evroam.oicp.status import DESCRIPTIONS, Code

__all__ = ["API_PREFIX", "DESCRIPTIONS", "OPERATIONS", "Code", "Operation", "by_name", "match_path"]
