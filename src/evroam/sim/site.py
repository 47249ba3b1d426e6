"""A small demo site to simulate: one location with two 22 kW AC EVSEs and one 50 kW DC EVSE, and
the two tariffs their connectors name, as OCPI 2.2.1 JSON (what ``evroam locations import`` and
``evroam tariffs import`` read).

Tariffs (prices excl. 21 % VAT):

* ``AC-STANDARD``: 0.50 start fee, 0.35 per kWh, 1.00 per hour of charging (billed per minute);
* ``DC-FAST``: 0.59 per kWh, and 0.20 per minute (12.00 per hour) of parking once the car is full.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from evroam.core.types import DateTime

__all__ = ["AC_EVSES", "AC_TARIFF", "DC_EVSE", "DC_TARIFF", "LOCATION_ID", "demo_locations", "demo_tariffs"]

LOCATION_ID = "DEMO-UTRECHT-1"
AC_EVSES = ("DEMO-AC-1", "DEMO-AC-2")
DC_EVSE = "DEMO-DC-1"
AC_TARIFF = "AC-STANDARD"
DC_TARIFF = "DC-FAST"

_CAPABILITIES = [
    "REMOTE_START_STOP_CAPABLE",
    "RESERVABLE",
    "UNLOCK_CAPABLE",
    "RFID_READER",
    "CHARGING_PROFILE_CAPABLE",
    "CHARGING_PREFERENCES_CAPABLE",
]


def _connector(power_type: str, volts: int, amps: int, watts: int, tariff: str, stamp: str) -> dict[str, Any]:
    return {
        "id": "1",
        "standard": "IEC_62196_T2" if power_type != "DC" else "IEC_62196_T2_COMBO",
        "format": "SOCKET" if power_type != "DC" else "CABLE",
        "power_type": power_type,
        "max_voltage": volts,
        "max_amperage": amps,
        "max_electric_power": watts,
        "tariff_ids": [tariff],
        "last_updated": stamp,
    }


def demo_locations(country_code: str, party_id: str, now: datetime) -> list[dict[str, Any]]:
    """The demo location of CPO ``country_code*party_id`` (a JSON array of one 2.2.1 Location)."""
    stamp = DateTime.from_datetime(now).to_json()
    prefix = f"{country_code.upper()}*{party_id.upper()}"
    evses = [
        {
            "uid": uid,
            "evse_id": f"{prefix}*E{index}",
            "status": "AVAILABLE",
            "capabilities": _CAPABILITIES,
            "connectors": [_connector("AC_3_PHASE", 230, 32, 22080, AC_TARIFF, stamp)],
            "physical_reference": str(index),
            "last_updated": stamp,
        }
        for index, uid in enumerate(AC_EVSES, start=1)
    ]
    evses.append(
        {
            "uid": DC_EVSE,
            "evse_id": f"{prefix}*E3",
            "status": "AVAILABLE",
            "capabilities": _CAPABILITIES,
            "connectors": [_connector("DC", 500, 125, 50000, DC_TARIFF, stamp)],
            "physical_reference": "3",
            "last_updated": stamp,
        }
    )
    return [
        {
            "country_code": country_code.upper(),
            "party_id": party_id.upper(),
            "id": LOCATION_ID,
            "publish": True,
            "name": "evroam demo site",
            "address": "Stationsplein 1",
            "city": "Utrecht",
            "postal_code": "3511 ED",
            "country": "NLD",
            "coordinates": {"latitude": "52.089444", "longitude": "5.110278"},
            "parking_type": "ON_STREET",
            "evses": evses,
            "operator": {"name": "evroam demo CPO"},
            "time_zone": "Europe/Amsterdam",
            "last_updated": stamp,
        }
    ]


def demo_tariffs(country_code: str, party_id: str, now: datetime) -> list[dict[str, Any]]:
    """The two tariffs of the demo site (a JSON array of 2.2.1 Tariffs)."""
    stamp = DateTime.from_datetime(now).to_json()
    owner = {"country_code": country_code.upper(), "party_id": party_id.upper()}
    return [
        {
            **owner,
            "id": AC_TARIFF,
            "currency": "EUR",
            "type": "REGULAR",
            "tariff_alt_text": [{"language": "en", "text": "0.50 start, 0.35/kWh, 1.00/hour of charging"}],
            "elements": [
                {
                    "price_components": [
                        {"type": "FLAT", "price": 0.50, "vat": 21.0, "step_size": 1},
                        {"type": "ENERGY", "price": 0.35, "vat": 21.0, "step_size": 1},
                        {"type": "TIME", "price": 1.00, "vat": 21.0, "step_size": 60},
                    ]
                }
            ],
            "last_updated": stamp,
        },
        {
            **owner,
            "id": DC_TARIFF,
            "currency": "EUR",
            "type": "REGULAR",
            "tariff_alt_text": [{"language": "en", "text": "0.59/kWh; 0.20/minute once the car is full"}],
            "elements": [
                {"price_components": [{"type": "ENERGY", "price": 0.59, "vat": 21.0, "step_size": 1}]},
                {
                    "price_components": [
                        {"type": "PARKING_TIME", "price": 12.00, "vat": 21.0, "step_size": 60}
                    ]
                },
            ],
            "last_updated": stamp,
        },
    ]
