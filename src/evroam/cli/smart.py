"""``evroam smart``: the site energy managers of a CPO node (docs/smart-charging.md).

    evroam smart site set LOCATION_ID --limit-kw 11 [--phase-limit-kw A] [--prices P0,...,P23|tariff]
                                      [--price-file F] [--capacity-file F] [--capacity-url URL]
                                      [--capacity-refresh-seconds 300] [--carbon-file F]
                                      [--vtn-url URL --ven-name N]
                                      [--default-departure-hours 4] [--default-energy-kwh 30]
                                      [--period-seconds 300] [--horizon-hours 12] [--peak-weight 0.3]
    evroam smart site list [--json]
    evroam smart site remove LOCATION_ID
    evroam smart status [--json]

The sites are kept in ``<data dir>/smart.json``; ``evroam simulate`` runs one manager per site (the
chargers' limits follow its plan) and writes each plan to ``<data dir>/smart/plan-<location>.json``,
which ``status`` shows: per session the schedule, per site the forecast load against the limit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from evroam.modules.output import emit
from evroam.node.settings import Settings
from evroam.node.smart import SiteConfig, SmartConfig

__all__ = ["config_path", "plan_path", "smart"]


def _settings() -> Settings:
    obj = click.get_current_context().obj
    return obj if isinstance(obj, Settings) else Settings.from_env()


def config_path(data_dir: Path) -> Path:
    return data_dir / "smart.json"


def plan_path(data_dir: Path, location_id: str) -> Path:
    return data_dir / "smart" / f"plan-{location_id}.json"


@click.group()
def smart() -> None:
    """Smart charging: the sites' energy managers and their plans."""


@smart.group()
def site() -> None:
    """The sites (one per location) and their limits, prices and signals."""


TARIFF = "tariff"
"""``--prices tariff``: the prices come from the location's OCPI tariff."""


def _prices(text: str | None) -> list[float] | None:
    if text is None or text.strip().casefold() == TARIFF:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(
            "prices per kWh separated by commas, or `tariff`", param_hint="--prices"
        ) from None
    if len(values) not in (1, 24):
        raise click.BadParameter("one price, or 24 (one per hour of the day)", param_hint="--prices")
    return values


@site.command("set")
@click.argument("location_id")
@click.option("--limit-kw", type=float, required=True, help="The site's grid limit (kW).")
@click.option("--phase-limit-kw", type=float, default=None, help="Also cap each phase (kW).")
@click.option(
    "--prices",
    default=None,
    help="One price per kWh, or 24 (per hour of the day, UTC), or `tariff`: the location's OCPI tariff.",
)
@click.option("--price-file", type=click.Path(dir_okay=False), default=None, help="JSON hourly prices.")
@click.option(
    "--capacity-file", type=click.Path(dir_okay=False), default=None, help="JSON capacity forecast."
)
@click.option("--capacity-url", default=None, help="The capacity forecast over HTTP(S) (same JSON).")
@click.option(
    "--capacity-refresh-seconds",
    type=float,
    default=300.0,
    show_default=True,
    help="Fetch --capacity-url again this often.",
)
@click.option(
    "--carbon-file", type=click.Path(dir_okay=False), default=None, help="JSON carbon intensity (GREEN)."
)
@click.option("--vtn-url", default=None, help="OpenADR 2.0b VTN whose events lower the limit.")
@click.option("--ven-name", default=None, help="This site's VEN name at the VTN.")
@click.option("--default-departure-hours", type=float, default=4.0, show_default=True)
@click.option("--default-energy-kwh", type=float, default=30.0, show_default=True)
@click.option("--period-seconds", type=int, default=300, show_default=True)
@click.option("--horizon-hours", type=float, default=12.0, show_default=True)
@click.option(
    "--peak-weight", type=float, default=0.3, show_default=True, help="Demand charge per kW of peak."
)
@click.option("--json", "as_json", is_flag=True)
def site_set(
    location_id: str,
    limit_kw: float,
    phase_limit_kw: float | None,
    prices: str | None,
    price_file: str | None,
    capacity_file: str | None,
    capacity_url: str | None,
    capacity_refresh_seconds: float,
    carbon_file: str | None,
    vtn_url: str | None,
    ven_name: str | None,
    default_departure_hours: float,
    default_energy_kwh: float,
    period_seconds: int,
    horizon_hours: float,
    peak_weight: float,
    as_json: bool,
) -> None:
    """Add or replace the site of LOCATION_ID."""
    if limit_kw <= 0:
        raise click.BadParameter("must be positive", param_hint="--limit-kw")
    if period_seconds < 1:
        raise click.BadParameter("at least 1", param_hint="--period-seconds")
    if vtn_url and not ven_name:
        raise click.BadParameter("--vtn-url needs --ven-name", param_hint="--ven-name")
    for given in (price_file, capacity_file, carbon_file):
        if given is not None and not Path(given).exists():
            raise click.BadParameter(f"{given} does not exist")
    if capacity_url is not None and not capacity_url.startswith(("http://", "https://")):
        raise click.BadParameter("an http:// or https:// URL", param_hint="--capacity-url")
    if capacity_refresh_seconds <= 0:
        raise click.BadParameter("must be positive", param_hint="--capacity-refresh-seconds")
    settings = _settings()
    path = config_path(settings.data_dir)
    config = SmartConfig.load(path)
    entry = SiteConfig(
        location_id=location_id,
        limit_kw=limit_kw,
        phase_limit_kw=phase_limit_kw,
        prices=_prices(prices),
        price_file=str(Path(price_file).resolve()) if price_file else None,
        prices_from_tariff=prices is not None and prices.strip().casefold() == TARIFF,
        capacity_file=str(Path(capacity_file).resolve()) if capacity_file else None,
        capacity_url=capacity_url,
        capacity_refresh_seconds=capacity_refresh_seconds,
        carbon_file=str(Path(carbon_file).resolve()) if carbon_file else None,
        vtn_url=vtn_url,
        ven_name=ven_name,
        default_departure_hours=default_departure_hours,
        default_energy_kwh=default_energy_kwh,
        period_seconds=period_seconds,
        horizon_hours=horizon_hours,
        peak_weight=peak_weight,
    )
    config.sites = [s for s in config.sites if s.location_id.casefold() != location_id.casefold()] + [entry]
    config.save(path)
    emit(_site_data(entry), as_json, f"site {location_id}: limit {limit_kw:g} kW")


def _site_data(entry: SiteConfig) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps({f: getattr(entry, f) for f in entry.__struct_fields__}))
    return data


@site.command("list")
@click.option("--json", "as_json", is_flag=True)
def site_list(as_json: bool) -> None:
    """The sites."""
    config = SmartConfig.load(config_path(_settings().data_dir))
    lines = [
        f"{s.location_id}: limit {s.limit_kw:g} kW"
        + (f", phase {s.phase_limit_kw:g} kW" if s.phase_limit_kw else "")
        + (", prices from the location's tariff" if s.prices_from_tariff else "")
        + (f", capacity from {s.capacity_url}" if s.capacity_url else "")
        + (f", VTN {s.vtn_url} as {s.ven_name}" if s.vtn_url else "")
        for s in config.sites
    ]
    emit([_site_data(s) for s in config.sites], as_json, "\n".join(lines) or "no site")


@site.command("remove")
@click.argument("location_id")
@click.option("--json", "as_json", is_flag=True)
def site_remove(location_id: str, as_json: bool) -> None:
    """Remove the site of LOCATION_ID."""
    path = config_path(_settings().data_dir)
    config = SmartConfig.load(path)
    if config.site(location_id) is None:
        raise click.ClickException(f"no site {location_id}")
    config.sites = [s for s in config.sites if s.location_id.casefold() != location_id.casefold()]
    config.save(path)
    emit({"removed": location_id}, as_json, f"removed site {location_id}")


@smart.command("status")
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    """Each site's plan: per session the schedule, per site the forecast load against the limit."""
    settings = _settings()
    config = SmartConfig.load(config_path(settings.data_dir))
    plans = []
    for entry in config.sites:
        path = plan_path(settings.data_dir, entry.location_id)
        if path.exists():
            plans.append(json.loads(path.read_text()))
        else:
            plans.append({"location_id": entry.location_id, "limit_kw": entry.limit_kw, "solved_at": None})
    emit(plans, as_json, "\n\n".join(_text(p) for p in plans) or "no site (see `evroam smart site set`)")


def _text(plan: dict[str, Any]) -> str:
    head = f"site {plan['location_id']}: limit {plan['limit_kw']:g} kW"
    if not plan.get("solved_at"):
        return head + ", no plan yet (the manager runs in `evroam simulate`)"
    lines = [head + f", solved at {plan['solved_at']} ({plan['status']}, {plan['solves']} solves)"]
    for event in plan.get("events", []):
        lines.append(
            f"  event {event['id']}: {event['limit_kw']:g} kW from {event['start']} to {event['end']}"
        )
    forecast = plan.get("forecast", [])
    lines.append("  forecast (load / limit kW):")
    for row in forecast[:12]:
        lines.append(f"    {row['at']}  {row['load_kw']:7.2f} / {row['limit_kw']:7.2f}")
    for s in plan.get("sessions", []):
        rates = " ".join(f"{r:.1f}" for r in s["rates_kw"][:12])
        lines.append(
            f"  session {s['transaction_id']} on {s['evse_uid']}: {s['planned_kwh']:.2f} of "
            f"{s['requested_kwh']:.2f} kWh planned; kW per period: {rates}"
        )
    return "\n".join(lines)
