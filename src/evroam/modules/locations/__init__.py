"""The locations module: the CPO side (our own locations, the Sender interface) and the eMSP side
(the Receiver interface for the locations partners push).

* :mod:`.ports` — one typed protocol per role (Sender, Receiver, the CPO's management);
* :mod:`.service` — the logic, plain Python over the store;
* :mod:`.repository` — the document format in the store (the only place that knows it);
* :mod:`.validation` — checks of imported Location objects;
* :mod:`.convert` — each OCPI version's wire classes and converters;
* :mod:`.bindings` — the HTTP handlers (imported by the node's wiring), :mod:`.cli` — ``evroam locations``.

See ``docs/locations.md``.
"""

from evroam.modules.locations.convert import LocationConverters, location_converters
from evroam.modules.locations.index import IndexedLocation, OwnLocationIndex, may_see
from evroam.modules.locations.kit import LOCATIONS, LocationLookups
from evroam.modules.locations.pins import EvsePin, LocationPin, location_pins
from evroam.modules.locations.ports import (
    ImportReport,
    LocationAdminPort,
    LocationReceiverPort,
    LocationSenderPort,
    SenderPage,
)
from evroam.modules.locations.repository import (
    LOCATION_KIND,
    iter_locations,
    load_location,
    save_location,
    save_own_locations,
)
from evroam.modules.locations.service import LocationAdmin, LocationReceiver, LocationSender
from evroam.modules.locations.validation import parse_locations

__all__ = [
    "LOCATIONS",
    "LOCATION_KIND",
    "EvsePin",
    "ImportReport",
    "IndexedLocation",
    "LocationAdmin",
    "LocationAdminPort",
    "LocationConverters",
    "LocationLookups",
    "LocationPin",
    "LocationReceiver",
    "LocationReceiverPort",
    "LocationSender",
    "LocationSenderPort",
    "OwnLocationIndex",
    "SenderPage",
    "iter_locations",
    "load_location",
    "location_converters",
    "location_pins",
    "may_see",
    "parse_locations",
    "save_location",
    "save_own_locations",
]
