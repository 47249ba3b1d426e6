"""``evroam compat quirks|list|set|clear``: switch partner tolerances on and off.

    evroam compat quirks [--json]
    evroam compat list [--json]
    evroam compat set PARTNER [--profile NAME] [--enable QUIRK]... [--disable QUIRK]... [--json]
    evroam compat clear PARTNER

A running ``evroam serve`` picks changes up within a few seconds.
"""

from __future__ import annotations

from typing import Any

import click

from evroam.cli.node import run_on_node
from evroam.compat.quirks import PROFILES, Quirk, describe
from evroam.compat.switches import PartnerSwitches, load_switches, save_switches
from evroam.modules.kit import emit

__all__ = ["compat"]

_QUIRKS = click.Choice([q.value for q in Quirk])


@click.group()
def compat() -> None:
    """Tolerances for partners that deviate from the OCPI text (off unless switched on)."""


@compat.command("quirks")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def quirks(as_json: bool) -> None:
    """List the deviations evroam can tolerate, and the named profiles."""
    profiles = {name: sorted(q.value for q in members) for name, members in PROFILES.items()}
    data = {"quirks": {q.value: describe(q) for q in Quirk}, "profiles": profiles}
    lines = [f"{q.value}\n    {describe(q)}" for q in Quirk]
    lines += [f"profile {name}: {', '.join(v)}" for name, v in profiles.items()]
    emit(data, as_json, "\n".join(lines))


@compat.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_switches(as_json: bool) -> None:
    """Show the partners with tolerances switched on."""

    async def action(node: Any) -> dict[str, PartnerSwitches]:
        return await load_switches(node.store)

    found = run_on_node(action)
    data = {s.name: [q.value for q in s.quirks] for s in found.values()}
    text = "\n".join(f"{name}: {', '.join(q)}" for name, q in sorted(data.items())) or "no tolerances set"
    emit(data, as_json, text)


@compat.command("set")
@click.argument("partner")
@click.option("--profile", type=click.Choice(sorted(PROFILES)), help="Switch on every quirk of a profile.")
@click.option("--enable", "enable", multiple=True, type=_QUIRKS, help="Switch a quirk on; repeat for more.")
@click.option("--disable", "disable", multiple=True, type=_QUIRKS, help="Switch a quirk off; repeat.")
@click.option(
    "--url",
    default=None,
    help="The partner's versions URL: its host identifies the partner before it is registered.",
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def set_switches(
    partner: str,
    profile: str | None,
    enable: tuple[str, ...],
    disable: tuple[str, ...],
    url: str | None,
    as_json: bool,
) -> None:
    """Switch tolerances on or off for PARTNER (its name; it need not be registered yet)."""

    name = partner.strip()
    if not name:
        raise click.BadParameter("a partner name is needed", param_hint="PARTNER")
    if not (profile or enable or disable or url):
        raise click.UsageError("say what to switch: --profile, --enable, --disable or --url")

    async def action(node: Any) -> PartnerSwitches:
        async with node.store.transaction() as tx:
            switches = await load_switches(tx)
            current = switches.get(name.casefold(), PartnerSwitches(name=name))
            wanted = set(current.quirks)
            if profile:
                wanted |= PROFILES[profile]
            wanted |= {Quirk(q) for q in enable}
            wanted -= {Quirk(q) for q in disable}
            updated = PartnerSwitches(name=current.name, url=url or current.url).with_quirks(wanted)
            switches[name.casefold()] = updated
            await save_switches(tx, switches)
        return updated

    updated = run_on_node(action)
    quirks_on = [q.value for q in updated.quirks]
    emit(
        {"partner": updated.name, "quirks": quirks_on, "url": updated.url},
        as_json,
        f"{updated.name}: {', '.join(quirks_on) or 'no tolerances'}",
    )


@compat.command("clear")
@click.argument("partner")
def clear(partner: str) -> None:
    """Switch every tolerance off for PARTNER."""

    async def action(node: Any) -> bool:
        async with node.store.transaction() as tx:
            switches = await load_switches(tx)
            found = switches.pop(partner.strip().casefold(), None)
            await save_switches(tx, switches)
        return found is not None

    if not run_on_node(action):
        raise click.ClickException(f"no tolerances were set for {partner!r}")
    click.echo(f"{partner}: no tolerances")
