"""The tariffs module: the CPO side (our own tariffs, the Sender interface) and the eMSP side (the
Receiver interface for the tariffs partners push). Same layout as :mod:`evroam.modules.locations`:
ports, service, repository, validation, wire, bindings, cli. (The pricing engine is
:mod:`evroam.tariffs`.)
"""

from evroam.modules.tariffs.convert import TariffConverters, tariff_converters
from evroam.modules.tariffs.kit import TARIFFS, TariffLookups
from evroam.modules.tariffs.ports import (
    TariffAdminPort,
    TariffImportReport,
    TariffPage,
    TariffReceiverPort,
    TariffSenderPort,
)
from evroam.modules.tariffs.repository import (
    TARIFF_KIND,
    delete_tariff,
    iter_tariffs,
    load_tariff,
    save_tariff,
)
from evroam.modules.tariffs.service import TariffAdmin, TariffReceiver, TariffSender
from evroam.modules.tariffs.validation import parse_tariffs

__all__ = [
    "TARIFFS",
    "TARIFF_KIND",
    "TariffAdmin",
    "TariffAdminPort",
    "TariffConverters",
    "TariffImportReport",
    "TariffLookups",
    "TariffPage",
    "TariffReceiver",
    "TariffReceiverPort",
    "TariffSender",
    "TariffSenderPort",
    "delete_tariff",
    "iter_tariffs",
    "load_tariff",
    "parse_tariffs",
    "save_tariff",
    "tariff_converters",
]
