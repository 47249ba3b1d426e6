"""``evroam tariffs price``: price an OCPI Session or CDR with a tariff, from the command line.

    evroam tariffs price TARIFF.json SESSION_OR_CDR.json [--time-zone Europe/Amsterdam]
                         [--ocpi-version 2.2.1] [--json] [--explain] [--places 2] [--now 2024-01-15T12:00:00Z]

``TARIFF.json`` holds a Tariff, a list of Tariffs, a CDR (its embedded ``tariffs`` are used) or an OCPI
response envelope around any of them. ``SESSION_OR_CDR.json`` holds a Session or a CDR (or an envelope)
as it comes over the wire. The OCPI version is detected from the objects' shape unless ``--version``
says it. Restrictions are evaluated in ``--time-zone`` (a 2.1.1 CDR's embedded location time zone when
the option is absent, else UTC). ``--json`` prints the computed totals under the CDR's own field names,
money rounded half up to ``--places`` decimals.

The click group :data:`tariffs` is registered in the main ``evroam`` command by the node's CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import click
import msgspec

from evroam.core.types import DateTime
from evroam.tariffs.adapt import (
    AdaptError,
    guess_version,
    session_from_json,
    tariff_from_json,
    time_zone_of,
)
from evroam.tariffs.engine import TariffError, estimate, price
from evroam.tariffs.result import Price, PricingResult

__all__ = ["price_command", "render_json", "render_text", "tariffs"]

_decoder = msgspec.json.Decoder(float_hook=Decimal)
_encoder = msgspec.json.Encoder(decimal_format="number")
_VERSIONS = ("2.1.1", "2.2.1", "2.3.0")


@click.group("tariffs")
def tariffs() -> None:
    """Price OCPI sessions and CDRs with tariffs (the evroam tariff engine)."""


@tariffs.command("price")
@click.argument("tariff_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("session_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--time-zone",
    default=None,
    help="IANA time zone of the location, e.g. Europe/Amsterdam (default: a 2.1.1 CDR's location, else UTC).",
)
@click.option(
    "--ocpi-version",
    "ocpi_version",
    type=click.Choice(_VERSIONS),
    default=None,
    help="OCPI version of the files (default: detected from their shape).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the totals as JSON, under the CDR's field names."
)
@click.option("--explain", is_flag=True, help="Say which tariff element priced which interval.")
@click.option("--places", type=click.IntRange(0, 12), default=2, show_default=True, help="Decimals of money.")
@click.option(
    "--now",
    default=None,
    help="For an ongoing session: price it as if it ended at this time (RFC 3339, UTC when no offset).",
)
def price_command(
    tariff_file: Path,
    session_file: Path,
    time_zone: str | None,
    ocpi_version: str | None,
    as_json: bool,
    explain: bool,
    places: int,
    now: str | None,
) -> None:
    """Price SESSION_FILE (an OCPI Session or CDR) with TARIFF_FILE."""
    tariff_doc = _unwrap(_read(tariff_file))
    session_doc = _unwrap(_read(session_file))
    if not isinstance(session_doc, Mapping) or not (
        {"start_date_time", "start_datetime"} & session_doc.keys()
    ):
        raise click.ClickException(f"{session_file}: not an OCPI Session or CDR (no start_date_time)")
    version = ocpi_version or _version(tariff_doc, session_doc)
    moment = None
    if now is not None:
        try:
            moment = DateTime.parse(now)
        except ValueError as exc:
            raise click.ClickException(f"--now: {exc}") from None
    zone_name = time_zone or time_zone_of(session_doc) or "UTC"
    try:
        tariff_list = _tariffs(tariff_doc, version, tariff_file)
        session = session_from_json(session_doc, version, now=moment)
        if moment is not None:
            result = estimate(tariff_list, session, moment, zone_name)
        else:
            result = price(tariff_list, session, zone_name)
    except (AdaptError, TariffError) as exc:
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:  # unknown time zone, inconsistent tariff
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(msgspec.json.format(_encoder.encode(render_json(result, places, explain)), indent=2))
    else:
        click.echo(render_text(result, places, explain, zone_name))


def _read(path: Path) -> Any:
    try:
        return _decoder.decode(path.read_bytes())
    except msgspec.DecodeError as exc:
        raise click.ClickException(f"{path}: not valid JSON ({exc})") from None


def _unwrap(doc: Any) -> Any:
    """The ``data`` of an OCPI response envelope; anything else as it is."""
    if isinstance(doc, Mapping) and "data" in doc and "status_code" in doc:
        return doc["data"]
    return doc


def _version(tariff_doc: Any, session_doc: Mapping[str, Any]) -> str:
    for doc in (session_doc, tariff_doc[0] if isinstance(tariff_doc, list) and tariff_doc else tariff_doc):
        if isinstance(doc, Mapping):
            found = guess_version(doc)
            if found is not None:
                return found
    return "2.2.1"


def _tariffs(doc: Any, version: str, path: Path) -> list[Any]:
    if isinstance(doc, list):
        items = doc
    elif isinstance(doc, Mapping) and "elements" in doc:
        items = [doc]
    elif isinstance(doc, Mapping) and isinstance(doc.get("tariffs"), list):
        items = doc["tariffs"]  # a CDR: the tariffs it embeds
    else:
        raise click.ClickException(f"{path}: neither a Tariff, a list of Tariffs nor a CDR with tariffs")
    if not items:
        raise click.ClickException(f"{path}: no tariff in it")
    return [tariff_from_json(item, version) for item in items]


# --------------------------------------------------------------------------------------------------
# rendering


def _money(value: Decimal | None, places: int) -> Decimal | None:
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _quantity(value: Decimal) -> Decimal:
    """Quantities (kWh, hours) to 6 decimals without trailing zeros."""
    return Decimal(format(value.quantize(Decimal("0.000001"), ROUND_HALF_UP).normalize(), "f"))


def _number(value: Decimal) -> Decimal:
    """A JSON number, written exactly (msgspec writes Decimal as a number)."""
    return value


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _price_json(price_: Price, version: str, places: int) -> Any:
    excl = _money(price_.excl_vat, places)
    incl = _money(price_.incl_vat, places)
    if version == "2.1.1":
        return None if excl is None else _number(excl)
    if version == "2.2.1":
        out: dict[str, Any] = {"excl_vat": None if excl is None else _number(excl)}
        if incl is not None:
            out["incl_vat"] = _number(incl)
        return out
    out = {"before_taxes": None if excl is None else _number(excl)}
    taxes = []
    for tax in price_.taxes:
        item: dict[str, Any] = {"name": tax.name}
        if tax.percentage is not None:
            item["percentage"] = _number(tax.percentage)
        item["amount"] = _number(_money(tax.amount, places) or Decimal(0))
        taxes.append(item)
    if taxes:
        out["taxes"] = taxes
    return out


_COST_FIELDS = (
    "total_fixed_cost",
    "total_energy_cost",
    "total_time_cost",
    "total_parking_cost",
    "total_reservation_cost",
)


def render_json(result: PricingResult, places: int = 2, explain: bool = False) -> dict[str, Any]:
    """The computed CDR fields as JSON values (``Price`` shaped as the result's OCPI version)."""
    version = result.version
    out: dict[str, Any] = {
        "currency": result.currency,
        "start_date_time": _ts(result.start),
        ("stop_date_time" if version == "2.1.1" else "end_date_time"): _ts(result.end),
        "total_cost": _price_json(result.total_cost, version, places),
    }
    if version != "2.1.1":
        for name in _COST_FIELDS:
            out[name] = _price_json(getattr(result, name), version, places)
    out["total_energy"] = _number(_quantity(result.total_energy))
    out["total_time"] = _number(_quantity(result.total_time))
    out["total_parking_time"] = _number(_quantity(result.total_parking_time))
    periods = []
    for period in result.charging_periods:
        item: dict[str, Any] = {
            "start_date_time": _ts(period.start),
            "dimensions": [
                {"type": d.type, "volume": _number(_quantity(d.volume))}
                for d in period.dimensions
                if version != "2.1.1" or d.type not in ("RESERVATION_TIME", "MIN_POWER", "MAX_POWER")
            ],
        }
        if version != "2.1.1" and period.tariff_id is not None:
            item["tariff_id"] = period.tariff_id
        periods.append(item)
    out["charging_periods"] = periods
    if result.provisional:
        out["provisional"] = True
    if explain:
        out["explanation"] = [
            {
                "kind": line.kind,
                "start": None if line.start is None else _ts(line.start),
                "end": None if line.end is None else _ts(line.end),
                "dimension": line.dimension,
                "quantity": _number(_quantity(line.quantity)),
                "tariff_id": line.tariff_id,
                "component": line.component,
                "price": None if line.price is None else _number(line.price),
                "cost": _number(_money(line.cost, max(places, 4)) or Decimal(0)),
                "note": line.note,
            }
            for line in result.lines
        ]
    return out


def render_text(result: PricingResult, places: int = 2, explain: bool = False, zone_name: str = "UTC") -> str:
    """A readable breakdown: charging periods, every total, and on request the explanation."""
    tz = result.time_zone
    lines = [
        f"OCPI {result.version}, {result.currency}, time zone {zone_name}"
        + (" - provisional (ongoing session)" if result.provisional else ""),
        f"Session {result.start.astimezone(tz).isoformat(timespec='seconds')}"
        f" .. {result.end.astimezone(tz).isoformat(timespec='seconds')}",
        "",
        "Charging periods:",
    ]
    for period in result.charging_periods:
        dims = ", ".join(f"{d.type} {_quantity(d.volume)}" for d in period.dimensions)
        priced = "; ".join(f"{dim} by {label}" for dim, label in period.components) or "not priced"
        lines.append(
            f"  {period.start.astimezone(tz).strftime('%Y-%m-%d %H:%M:%S')}"
            f" .. {period.end.astimezone(tz).strftime('%H:%M:%S')}  {period.state.value:<11} {dims}"
        )
        lines.append(f"      tariff {period.tariff_id}: {priced}")
    before, after = (
        ("before taxes", "after taxes") if result.version == "2.3.0" else ("excl. VAT", "incl. VAT")
    )
    lines += ["", f"  {'':<24}{before:>14}{after:>14}"]
    for name in (*_COST_FIELDS, "total_cost"):
        value: Price = getattr(result, name)
        excl, incl = _money(value.excl_vat, places), _money(value.incl_vat, places)
        shown = ["unknown" if v is None else str(v) for v in (excl, incl)]
        lines.append(f"  {name:<24}{shown[0]:>14}{shown[1]:>14}")
    if result.version == "2.3.0" and result.total_cost.taxes:
        taxes = ", ".join(
            f"{t.name}{'' if t.percentage is None else f' {t.percentage}%'} {_money(t.amount, places)}"
            for t in result.total_cost.taxes
        )
        lines.append(f"  {'taxes':<24}{taxes}")
    limits = [
        n for n, f in (("min_price", result.min_price_applied), ("max_price", result.max_price_applied)) if f
    ]
    if limits:
        lines.append(f"  ({' and '.join(limits)} of the tariff applied to total_cost)")
    lines.append(
        f"  total_energy {_quantity(result.total_energy)} kWh, total_time {_quantity(result.total_time)} h,"
        f" total_parking_time {_quantity(result.total_parking_time)} h"
    )
    if explain:
        lines += ["", "Explanation:", result.explain()]
    return "\n".join(lines)
