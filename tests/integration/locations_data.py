"""Generated OCPI 2.2.1 Locations for the end-to-end tests and the benchmark, and a status-change helper.

``generate_locations(n, seed=...)`` makes ``n`` realistic Location objects (plain JSON data, as a CPO
would export them): cities in the Netherlands, Belgium and Germany with their time zones, 1-4 EVSEs per
location with 1-3 connectors each (AC sockets and cables, DC CCS / CHAdeMO), capabilities, opening
hours (mostly 24/7), facilities, operator, now and then an energy mix, images, directions and parking
restrictions. A few locations are unpublished: some name a partner in ``publish_allowed_to``, others
are hidden from everybody. The same seed always gives the same objects.

Run as a program it applies EVSE status changes to a node's own locations through the locations
service (one transaction and its outbox rows per change), against the node's data directory, while
the node may be serving::

    python -m tests.integration.locations_data apply DATA_DIR CHANGES.json [--pause SECONDS]

``CHANGES.json`` is a list of ``[evse_uid, status]`` pairs; one line ``applied N`` is printed (and
flushed) after each change, so that a caller can follow the progress.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "CHANGE_STATUSES",
    "apply_changes",
    "evse_statuses",
    "generate_locations",
    "random_changes",
    "visible_to",
]

# (city, country, postal code prefix, latitude, longitude, time zone)
CITIES: tuple[tuple[str, str, str, float, float, str], ...] = (
    ("Amsterdam", "NLD", "10", 52.3702, 4.8952, "Europe/Amsterdam"),
    ("Rotterdam", "NLD", "30", 51.9244, 4.4777, "Europe/Amsterdam"),
    ("Utrecht", "NLD", "35", 52.0907, 5.1214, "Europe/Amsterdam"),
    ("Eindhoven", "NLD", "56", 51.4416, 5.4697, "Europe/Amsterdam"),
    ("Groningen", "NLD", "97", 53.2194, 6.5665, "Europe/Amsterdam"),
    ("Den Haag", "NLD", "25", 52.0705, 4.3007, "Europe/Amsterdam"),
    ("Gent", "BEL", "90", 51.0543, 3.7174, "Europe/Brussels"),
    ("Antwerpen", "BEL", "20", 51.2194, 4.4025, "Europe/Brussels"),
    ("Köln", "DEU", "50", 50.9375, 6.9603, "Europe/Berlin"),
    ("Düsseldorf", "DEU", "40", 51.2277, 6.7735, "Europe/Berlin"),
)
STREETS = (
    "Stationsplein",
    "Hoofdstraat",
    "Kerkstraat",
    "Marktplein",
    "Dorpsstraat",
    "Industrieweg",
    "Parklaan",
    "Havenkade",
    "Schoolstraat",
    "Molenweg",
)
PARKING_TYPES = ("ON_STREET", "PARKING_LOT", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "ALONG_MOTORWAY")
FACILITIES = ("HOTEL", "RESTAURANT", "CAFE", "MALL", "SUPERMARKET", "TRAIN_STATION", "PARKING_LOT", "WIFI")
CAPABILITIES = (
    "RFID_READER",
    "REMOTE_START_STOP_CAPABLE",
    "UNLOCK_CAPABLE",
    "RESERVABLE",
    "CONTACTLESS_CARD_SUPPORT",
    "CHARGING_PROFILE_CAPABLE",
)
INITIAL_STATUSES = ("AVAILABLE",) * 6 + ("CHARGING",) * 3 + ("OUTOFORDER", "INOPERATIVE", "BLOCKED")
#: The statuses random changes pick from (REMOVED and PLANNED are not day-to-day changes).
CHANGE_STATUSES = ("AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "RESERVED", "UNKNOWN")
BASE_TIME = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def _stamp(rng: random.Random) -> str:
    moment = BASE_TIME + timedelta(seconds=rng.randrange(0, 120 * 24 * 3600))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _degrees(value: float) -> str:
    return f"{value:.6f}"


def _connector(rng: random.Random, number: int, dc: bool, tariff: str) -> dict[str, Any]:
    if dc:
        standard, fmt, power, volts, amps = rng.choice(
            (
                ("IEC_62196_T2_COMBO", "CABLE", "DC", 920, 500),
                ("IEC_62196_T2_COMBO", "CABLE", "DC", 500, 200),
                ("CHADEMO", "CABLE", "DC", 500, 125),
            )
        )
    else:
        standard, fmt, power, volts, amps = rng.choice(
            (
                ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", 400, 32),
                ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", 400, 16),
                ("IEC_62196_T2", "CABLE", "AC_3_PHASE", 400, 32),
                ("IEC_62196_T2", "SOCKET", "AC_1_PHASE", 230, 16),
            )
        )
    connector: dict[str, Any] = {
        "id": str(number),
        "standard": standard,
        "format": fmt,
        "power_type": power,
        "max_voltage": volts,
        "max_amperage": amps,
        "max_electric_power": volts * amps * (3 if power == "AC_3_PHASE" else 1),
        "tariff_ids": [tariff],
        "last_updated": _stamp(rng),
    }
    if rng.random() < 0.2:
        connector["terms_and_conditions"] = "https://cpo.example.com/terms"
    return connector


def _evse(
    rng: random.Random, party: str, location_no: int, evse_no: int, lat: float, lon: float
) -> dict[str, Any]:
    dc = rng.random() < 0.25
    uid = f"{party}-{location_no:05d}-{evse_no}"
    connectors = [
        _connector(rng, n + 1, dc, "DC1" if dc else rng.choice(("AC1", "AC2")))
        for n in range(rng.choice((1, 1, 2, 2, 3)))
    ]
    evse: dict[str, Any] = {
        "uid": uid,
        "evse_id": f"NL*{party}*E{location_no:05d}{evse_no}",
        "status": rng.choice(INITIAL_STATUSES),
        "capabilities": sorted(rng.sample(CAPABILITIES, rng.randint(1, 4))),
        "connectors": connectors,
        "physical_reference": f"{evse_no:02d}",
        "coordinates": {
            "latitude": _degrees(lat + rng.uniform(-0.0002, 0.0002)),
            "longitude": _degrees(lon + rng.uniform(-0.0002, 0.0002)),
        },
        "last_updated": max(c["last_updated"] for c in connectors),
    }
    if rng.random() < 0.3:
        evse["floor_level"] = rng.choice(("-1", "0", "1", "2"))
    if rng.random() < 0.2:
        evse["parking_restrictions"] = ["EV_ONLY"] + (["CUSTOMERS"] if rng.random() < 0.5 else [])
    if rng.random() < 0.1:
        evse["status_schedule"] = [
            {
                "period_begin": "2026-09-01T00:00:00Z",
                "period_end": "2026-09-02T00:00:00Z",
                "status": "BLOCKED",
            }
        ]
    return evse


def _opening_times(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.8:
        return {"twentyfourseven": True}
    hours = [
        {"weekday": day, "period_begin": "07:00", "period_end": "22:00" if day < 6 else "18:00"}
        for day in range(1, 8)
    ]
    times: dict[str, Any] = {"twentyfourseven": False, "regular_hours": hours}
    if rng.random() < 0.3:
        times["exceptional_closings"] = [
            {"period_begin": "2026-12-25T00:00:00Z", "period_end": "2026-12-26T00:00:00Z"}
        ]
    return times


def generate_locations(
    count: int,
    *,
    seed: int,
    country_code: str = "NL",
    party_id: str = "CPO",
    allowed_issuer: str | None = None,
) -> list[dict[str, Any]]:
    """``count`` OCPI 2.2.1 Location objects of ``country_code``*``party_id`` as JSON data.

    About 1 % are ``publish: false`` and name ``allowed_issuer`` in ``publish_allowed_to`` (when it is
    given), about 1 % more are ``publish: false`` for nobody.
    """
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for n in range(count):
        city, country, postal, lat0, lon0, zone = rng.choice(CITIES)
        lat = lat0 + rng.uniform(-0.05, 0.05)
        lon = lon0 + rng.uniform(-0.08, 0.08)
        evses = [_evse(rng, party_id, n, k + 1, lat, lon) for k in range(rng.choice((1, 2, 2, 3, 4)))]
        location: dict[str, Any] = {
            "country_code": country_code,
            "party_id": party_id,
            "id": f"LOC{n:05d}",
            "publish": True,
            "name": f"{city} {rng.choice(STREETS)} {n}",
            "address": f"{rng.choice(STREETS)} {rng.randint(1, 250)}",
            "city": city,
            "postal_code": f"{postal}{rng.randint(10, 99)}" + (" AB" if country == "NLD" else ""),
            "country": country,
            "coordinates": {"latitude": _degrees(lat), "longitude": _degrees(lon)},
            "parking_type": rng.choice(PARKING_TYPES),
            "evses": evses,
            "operator": {"name": "Example Charging B.V.", "website": "https://cpo.example.com"},
            "facilities": sorted(rng.sample(FACILITIES, rng.randint(0, 3))),
            "time_zone": zone,
            "opening_times": _opening_times(rng),
            "charging_when_closed": rng.random() < 0.5,
            "last_updated": max(e["last_updated"] for e in evses),
        }
        if rng.random() < 0.2:
            location["directions"] = [
                {"language": "en", "text": "Enter the car park, chargers are next to the lifts."},
                {"language": "nl", "text": "Rijd de parkeergarage in, de laadpalen staan bij de liften."},
            ]
        if rng.random() < 0.15:
            location["energy_mix"] = {
                "is_green_energy": True,
                "energy_sources": [
                    {"source": "WIND", "percentage": 70},
                    {"source": "SOLAR", "percentage": 30},
                ],
                "supplier_name": "Groene Stroom",
                "energy_product_name": "100% wind en zon",
            }
        if rng.random() < 0.1:
            location["images"] = [
                {
                    "url": f"https://cpo.example.com/img/{n}.jpg",
                    "thumbnail": f"https://cpo.example.com/img/{n}-s.jpg",
                    "category": "LOCATION",
                    "type": "jpeg",
                    "width": 640,
                    "height": 480,
                }
            ]
        draw = rng.random()
        if draw < 0.01 and allowed_issuer is not None:
            location["publish"] = False
            location["publish_allowed_to"] = [{"visual_number": "any", "issuer": allowed_issuer}]
        elif draw < 0.02:
            location["publish"] = False
        out.append(location)
    return out


def visible_to(location: dict[str, Any], issuer: str) -> bool:
    """Whether a partner whose business name is ``issuer`` may see ``location`` (OCPI publish rules)."""
    if location["publish"]:
        return True
    return any(entry.get("issuer") == issuer for entry in location.get("publish_allowed_to") or ())


def evse_statuses(locations: Sequence[dict[str, Any]]) -> dict[str, str]:
    """EVSE uid -> status of generated locations."""
    return {evse["uid"]: evse["status"] for loc in locations for evse in loc["evses"]}


def random_changes(rng: random.Random, statuses: dict[str, str], count: int) -> list[tuple[str, str]]:
    """``count`` status changes of random EVSEs, each to a status the EVSE does not have at that point;
    ``statuses`` (uid -> current status) is updated as they are drawn."""
    uids = sorted(statuses)
    out: list[tuple[str, str]] = []
    for _ in range(count):
        uid = rng.choice(uids)
        status = rng.choice([s for s in CHANGE_STATUSES if s != statuses[uid]])
        statuses[uid] = status
        out.append((uid, status))
    return out


async def apply_changes(data_dir: Path, changes: Sequence[tuple[str, str]], pause: float = 0.0) -> None:
    """Set each EVSE's status through the node's locations service, one change per transaction."""
    from evroam.model.enums import Status
    from evroam.modules.locations.service import LocationAdmin
    from evroam.node.settings import Settings
    from evroam.node.wiring import build_node, cpo_parties
    from evroam.registration.directory import RegisteredPartners

    node = build_node(Settings(data_dir=data_dir))
    try:
        await node.start()
        admin = LocationAdmin(node.store, node.clock, RegisteredPartners(), cpo_parties(node.config))
        for n, (uid, status) in enumerate(changes, start=1):
            await admin.set_status(uid, Status(status))
            print(f"applied {n}", flush=True)
            if pause:
                await asyncio.sleep(pause)
    finally:
        await node.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.integration.locations_data")
    commands = parser.add_subparsers(dest="command", required=True)
    apply = commands.add_parser("apply", help="apply EVSE status changes to a node's own locations")
    apply.add_argument("data_dir", type=Path)
    apply.add_argument("changes", type=Path, help="JSON list of [evse_uid, status] pairs")
    apply.add_argument("--pause", type=float, default=0.0, help="seconds between two changes")
    generate = commands.add_parser("generate", help="write generated locations as a JSON array")
    generate.add_argument("count", type=int)
    generate.add_argument("out", type=Path)
    generate.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "apply":
        pairs = [(str(uid), str(status)) for uid, status in json.loads(args.changes.read_text())]
        asyncio.run(apply_changes(args.data_dir, pairs, args.pause))
    else:
        args.out.write_text(json.dumps(generate_locations(args.count, seed=args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
