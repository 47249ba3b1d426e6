"""The CDRs module: the CPO side (our own final CDRs, the Sender interface, their POST to the eMSP,
retried until acknowledged) and the eMSP side (the Receiver interface: POST answered with
``Location``, GET by that URL; CDRs never change).

Same layout as :mod:`evroam.modules.locations`: ports, service, repository, wire, bindings, push (the
push worker's pusher), cli. See ``docs/sessions-cdrs.md``.
"""

from evroam.modules.cdrs.convert import CdrConverters, cdr_converters
from evroam.modules.cdrs.kit import CDRS, CdrLookups
from evroam.modules.cdrs.ports import CdrAdminPort, CdrCreated, CdrPage, CdrReceiverPort, CdrSenderPort
from evroam.modules.cdrs.repository import (
    CDR_KIND,
    CdrDelivery,
    CdrDocument,
    CdrRecord,
    iter_cdr_records,
    load_cdr_record,
    save_cdr,
)
from evroam.modules.cdrs.service import CdrAdmin, CdrReceiver, CdrSender, credit_of

__all__ = [
    "CDRS",
    "CDR_KIND",
    "CdrAdmin",
    "CdrAdminPort",
    "CdrConverters",
    "CdrCreated",
    "CdrDelivery",
    "CdrDocument",
    "CdrLookups",
    "CdrPage",
    "CdrReceiver",
    "CdrReceiverPort",
    "CdrRecord",
    "CdrSender",
    "CdrSenderPort",
    "cdr_converters",
    "credit_of",
    "iter_cdr_records",
    "load_cdr_record",
    "save_cdr",
]
