"""What the dashboard shows, read through the modules' public lookups, the registration service and
the store port (never raw SQL): plain values ready for a page or a JSON answer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from evroam.core.clock import Clock
from evroam.model.cdrs import CDR, ChargingPeriod
from evroam.model.enums import CdrDimensionType
from evroam.model.locations import Location
from evroam.model.sessions import Session
from evroam.modules.cdrs import CDRS, iter_cdr_records
from evroam.modules.locations import LOCATIONS, LocationPin
from evroam.modules.sessions import iter_session_records, load_session_record
from evroam.modules.tariffs import TARIFFS
from evroam.modules.tokens import TOKENS
from evroam.ocpi.converters import converters
from evroam.registration.model import Partner
from evroam.registration.service import RegistrationService
from evroam.store.port import Operations, OutboxItem, OutboxStatus
from evroam.tariffs import TariffError, price
from evroam.tariffs.adapt import session_from_wire, tariff_from_wire, tariffs_of_wire_cdr

__all__ = [
    "BACKLOG_KINDS",
    "PartnerRow",
    "SessionChart",
    "explain_cdr",
    "location_colour",
    "map_points",
    "partner_rows",
    "session_chart",
]

#: Object kinds a partner may have sent us, looked at for its last contact.
BACKLOG_KINDS = ("location", "session", "cdr", "token", "tariff")


@dataclass(frozen=True, slots=True)
class PartnerRow:
    partner: Partner
    pending: int
    in_flight: int
    parked: int
    last_contact: datetime | None
    last_contact_what: str


async def _last_received(ops: Operations, partner_id: str) -> tuple[datetime | None, str]:
    best: tuple[datetime | None, str] = (None, "")
    for kind in BACKLOG_KINDS:
        total = await ops.count(kind, partners=[partner_id])
        if not total:
            continue
        page = await ops.find(kind, partners=[partner_id], offset=total - 1, limit=1)
        for item in page.items:
            if best[0] is None or item.last_updated > best[0]:
                best = (item.last_updated, f"{kind} received")
    return best


async def _last_delivered(ops: Operations, partner_id: str) -> datetime | None:
    total = await ops.outbox_count(status=OutboxStatus.DELIVERED, partner_id=partner_id)
    if not total:
        return None
    items = await ops.outbox_list(
        status=OutboxStatus.DELIVERED, partner_id=partner_id, offset=total - 1, limit=1
    )
    return items[0].due_at if items else None


async def partner_rows(ops: Operations, registration: RegistrationService) -> list[PartnerRow]:
    """Every partner with its outbox backlog and last contact: the latest of the handshake (the
    partner record's last change), a push we delivered, and an object it sent us."""
    rows = []
    for partner in await registration.partners():  # the handshake is a contact too
        contact: datetime = partner.updated
        what = "handshake"
        delivered = await _last_delivered(ops, partner.id)
        if delivered is not None and delivered > contact:
            contact, what = delivered, "push delivered"
        received, kind = await _last_received(ops, partner.id)
        if received is not None and received > contact:
            contact, what = received, kind
        rows.append(
            PartnerRow(
                partner=partner,
                pending=await ops.outbox_count(status=OutboxStatus.PENDING, partner_id=partner.id),
                in_flight=await ops.outbox_count(status=OutboxStatus.IN_FLIGHT, partner_id=partner.id),
                parked=await ops.outbox_count(status=OutboxStatus.PARKED, partner_id=partner.id),
                last_contact=contact,
                last_contact_what=what,
            )
        )
    return rows


# -- the map ------------------------------------------------------------------------------------------

#: The colour class of a location on the map, from its EVSEs' statuses (the first that applies).
_COLOUR_ORDER = (
    ("available", {"AVAILABLE"}),
    ("charging", {"CHARGING", "BLOCKED", "RESERVED"}),
    ("fault", {"OUTOFORDER", "INOPERATIVE"}),
)


def location_colour(statuses: Sequence[str]) -> str:
    """``available`` when one EVSE is free, else ``charging`` when one is in use, else ``fault`` when
    one is out of order, else ``unknown`` (no EVSE, all planned, removed or unknown)."""
    present = set(statuses)
    for name, members in _COLOUR_ORDER:
        if present & members:
            return name
    return "unknown"


def map_points(pins: Sequence[LocationPin], partner_names: dict[str, str]) -> dict[str, Any]:
    """The map's JSON: one compact row per location
    ``[country_code, party_id, id, name, lat, lon, colour, source, evses, free]`` and the counts."""
    rows = []
    colours: Counter[str] = Counter()
    for pin in pins:
        statuses = [e.status for e in pin.evses]
        colour = location_colour(statuses)
        colours[colour] += 1
        source = "own" if pin.partner_id is None else partner_names.get(pin.partner_id, pin.partner_id)
        rows.append(
            [
                pin.country_code,
                pin.party_id,
                pin.id,
                pin.name or pin.address,
                pin.latitude,
                pin.longitude,
                colour,
                source,
                len(statuses),
                statuses.count("AVAILABLE"),
            ]
        )
    return {"fields": _MAP_FIELDS, "locations": rows, "colours": dict(colours)}


_MAP_FIELDS = ["country_code", "party_id", "id", "name", "lat", "lon", "colour", "source", "evses", "free"]


async def location_pins(ops: Operations) -> list[LocationPin]:
    return await LOCATIONS.lookups.location_pins(ops)


async def load_location(ops: Operations, cc: str, pid: str, location_id: str) -> tuple[Location, str | None]:
    record = await LOCATIONS.lookups.load_location_record(ops, cc, pid, location_id)
    if record is None:
        raise LookupError(f"no location {cc}*{pid} {location_id}")
    return record.location, record.partner_id


# -- sessions ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionRow:
    session: Session
    partner_id: str | None


async def session_rows(ops: Operations) -> list[SessionRow]:
    """Every stored session: active ones first (newest start first), then the others."""
    rows = [SessionRow(r.session, r.partner_id) async for r in iter_session_records(ops, batch=2000)]
    rows.sort(key=lambda r: (r.session.status.value != "ACTIVE", -r.session.start_date_time.timestamp()))
    return rows


@dataclass(slots=True)
class SessionChart:
    """Power (kW) and energy charged so far (kWh): one point at the start of each charging period, and
    one at the end of the session."""

    times: list[str] = field(default_factory=list)
    power_kw: list[float | None] = field(default_factory=list)
    energy_kwh: list[float] = field(default_factory=list)


def _volume(period: ChargingPeriod, kind: CdrDimensionType) -> Decimal | None:
    for dim in period.dimensions:
        if dim.type is kind:
            return dim.volume
    return None


def session_chart(periods: Sequence[ChargingPeriod], end: datetime | None) -> SessionChart:
    """The chart of a session's (or CDR's) charging periods. The power is the period's POWER dimension
    when it has one, else its energy over its duration (up to the next period, or ``end``)."""
    chart = SessionChart()
    total = Decimal(0)
    ordered = sorted(periods, key=lambda p: p.start_date_time)
    for i, period in enumerate(ordered):
        energy = _volume(period, CdrDimensionType.ENERGY) or Decimal(0)
        power = _volume(period, CdrDimensionType.POWER)
        stop = ordered[i + 1].start_date_time if i + 1 < len(ordered) else end
        if power is None and stop is not None:
            hours = Decimal((stop - period.start_date_time).total_seconds()) / 3600
            power = energy / hours if hours > 0 else None
        chart.times.append(period.start_date_time.isoformat().replace("+00:00", "Z"))
        chart.power_kw.append(None if power is None else round(float(power), 3))
        chart.energy_kwh.append(round(float(total), 3))  # what was charged before this period
        total += energy
    if end is not None and ordered:
        chart.times.append(end.isoformat().replace("+00:00", "Z"))
        chart.power_kw.append(chart.power_kw[-1])
        chart.energy_kwh.append(round(float(total), 3))
    return chart


async def load_session(ops: Operations, cc: str, pid: str, session_id: str) -> tuple[Session, str | None]:
    record = await load_session_record(ops, cc, pid, session_id)
    if record is None:
        raise LookupError(f"no session {cc}*{pid} {session_id}")
    return record.session, record.partner_id


# -- CDRs --------------------------------------------------------------------------------------------


async def cdr_rows(ops: Operations) -> list[tuple[CDR, str | None]]:
    """Every stored CDR, newest end first."""
    rows = [(r.cdr, r.partner_id) async for r in iter_cdr_records(ops, batch=2000)]
    rows.sort(key=lambda r: -r[0].end_date_time.timestamp())
    return rows


async def load_cdr(ops: Operations, cc: str, pid: str, cdr_id: str) -> tuple[CDR, str | None]:
    record = await CDRS.lookups.load_cdr_record(ops, cc, pid, cdr_id)
    if record is None:
        raise LookupError(f"no CDR {cc}*{pid} {cdr_id}")
    return record.cdr, record.partner_id


async def explain_cdr(ops: Operations, cdr: CDR) -> str:
    """The tariff engine's account of the CDR's price, priced again from its charging periods with the
    tariffs it carries (else the stored tariffs its periods name), in its location's time zone."""
    conv = converters("2.2.1")
    try:
        wire = conv.cdr_from_model(cdr)
        tariffs = list(tariffs_of_wire_cdr(wire))
        if not tariffs:
            ids = {str(p.tariff_id) for p in cdr.charging_periods if p.tariff_id is not None}
            for tariff_id in sorted(ids):
                stored = await TARIFFS.lookups.load_tariff(ops, cdr.country_code, cdr.party_id, tariff_id)
                if stored is not None:
                    tariffs.append(tariff_from_wire(conv.tariff_from_model(stored)))
        if not tariffs:
            return "No tariff to explain this price: the CDR carries none and names no stored tariff."
        zone = "UTC"
        location = await LOCATIONS.lookups.load_location(
            ops, cdr.country_code, cdr.party_id, str(cdr.cdr_location.id)
        )
        if location is not None and location.time_zone:
            zone = location.time_zone
        result = price(tariffs, session_from_wire(wire), zone)
    except (TariffError, ValueError, KeyError) as exc:
        return f"The tariff engine cannot price this CDR again: {exc}"
    return result.explain(places=2)


# -- tokens and the outbox ---------------------------------------------------------------------------


async def token_rows(ops: Operations, limit: int) -> tuple[list[tuple[Any, str | None]], int]:
    """Up to ``limit`` stored tokens (ours and received) and how many there are."""
    rows: list[tuple[Any, str | None]] = []
    total = 0
    async for found, document in TOKENS.lookups.iter_tokens(ops, batch=1000):
        total += 1
        if len(rows) < limit:
            rows.append((document.token, found.partner_id))
    return rows, total


async def outbox_items(ops: Operations, status: OutboxStatus, limit: int) -> tuple[list[OutboxItem], int]:
    total = await ops.outbox_count(status=status)
    return await ops.outbox_list(status=status, limit=limit), total


def now_of(clock: Clock) -> datetime:
    return clock.now()
