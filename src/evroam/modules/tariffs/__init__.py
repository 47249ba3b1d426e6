"""The tariffs module: the CPO side (our own tariffs, the Sender interface) and the eMSP side (the
Receiver interface for the tariffs partners push). Same layout as :mod:`evroam.modules.locations`:
ports, service, repository, validation, wire, bindings, cli. (The pricing engine is
:mod:`evroam.tariffs`.)
"""

from evroam.modules.tariffs.kit import TARIFFS, TariffLookups
from evroam.modules.tariffs.ports import (
    TariffImportReport,
    TariffPage,
    TariffsAdmin,
    TariffsReceiver,
    TariffsSender,
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
from evroam.modules.tariffs.wire import TariffWire, tariff_wire

__all__ = [
    "TARIFFS",
    "TARIFF_KIND",
    "TariffAdmin",
    "TariffImportReport",
    "TariffLookups",
    "TariffPage",
    "TariffReceiver",
    "TariffSender",
    "TariffWire",
    "TariffsAdmin",
    "TariffsReceiver",
    "TariffsSender",
    "delete_tariff",
    "iter_tariffs",
    "load_tariff",
    "parse_tariffs",
    "save_tariff",
    "tariff_wire",
]
