"""``evroam simulate``: serve a CPO node whose chargers are simulated.

    evroam --data-dir DIR simulate [--port P] [--speed 60] [--meter-interval 300] [--plug-delay 30]
                                   [--unplug-delay 60] [--no-auto-plug] [--never-answer KIND ...]
                                   [--offline-evse UID ...] [--unlock-fails] [--command-timeout S]
                                   [--no-worker]

It is ``evroam serve`` with the simulator (:mod:`evroam.sim`) plugged in as the node's charge point:
one simulated EVSE per EVSE of the node's own locations (import them first with
``evroam locations import``). Commands from eMSPs reach the simulated chargers; status changes go to
the locations (and are pushed), transactions become Sessions and, at the end, a CDR priced with the
connector's tariffs (pushed to the eMSP).

Simulated time runs ``--speed`` times faster than real time while a transaction runs or a driver is
about to plug in or out (``--speed 3600``: one simulated hour per second), and at real speed
otherwise. The charging facts (session start and end, charging periods, meter readings, the CDR's
times) are simulated time; ``last_updated`` stamps and the push outbox keep the node's real clock,
so deliveries and retries happen in real time.

Faults: ``--never-answer`` (start, stop, reserve, cancel, unlock or all) makes the chargers ignore
those commands, ``--offline-evse`` every command to that EVSE; the CPO then reports TIMEOUT after
``--command-timeout`` seconds. ``--unlock-fails``: connectors do not unlock (FAILED).
"""

from __future__ import annotations

import logging
import os

import click

from evroam.chargepoint.port import ChargePointEvent
from evroam.chargepoint.sink import OcpiSink
from evroam.cli.node import run_server
from evroam.cli.oicp_endpoints import serve_oicp
from evroam.cli.smart import config_path, plan_path
from evroam.http.serving import ServeLimits
from evroam.modules.locations import LocationAdmin, iter_locations
from evroam.node.charging import StoredCatalogue, records_for
from evroam.node.config import ConfigError
from evroam.node.logs import configure_logging
from evroam.node.settings import Settings
from evroam.node.sites import SmartSites
from evroam.node.smart import SmartConfig
from evroam.node.wiring import build_node, cpo_parties
from evroam.registration.directory import RegisteredPartners
from evroam.sim.clock import ScaledTime
from evroam.sim.simulator import COMMAND_KINDS, SimOptions, Simulator

__all__ = ["simulate"]

log = logging.getLogger(__name__)


def settings_of() -> Settings:
    obj = click.get_current_context().obj
    return obj if isinstance(obj, Settings) else Settings.from_env()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", type=int, default=None, help="Port [default: the port of the node's --url, else 8100]."
)
@click.option(
    "--speed",
    type=float,
    default=60.0,
    show_default=True,
    help="Simulated seconds per real second while something happens (3600: an hour per second).",
)
@click.option(
    "--meter-interval",
    type=float,
    default=300.0,
    show_default=True,
    help="Simulated seconds between meter readings (each one updates the Session).",
)
@click.option(
    "--plug-delay",
    type=float,
    default=30.0,
    show_default=True,
    help="Simulated seconds until the driver plugs in.",
)
@click.option(
    "--unplug-delay",
    type=float,
    default=60.0,
    show_default=True,
    help="Simulated seconds until the driver unplugs after a stop.",
)
@click.option("--no-auto-plug", is_flag=True, help="Drivers never plug in by themselves (starts lapse).")
@click.option(
    "--never-answer",
    multiple=True,
    type=click.Choice([*COMMAND_KINDS, "all"]),
    help="Commands the chargers never answer (repeat for several).",
)
@click.option(
    "--offline-evse",
    "offline_evses",
    multiple=True,
    metavar="UID",
    help="An EVSE whose charger never answers commands (repeat for several).",
)
@click.option("--unlock-fails", is_flag=True, help="Connectors refuse to unlock (result FAILED).")
@click.option(
    "--command-timeout",
    type=int,
    default=None,
    help="Seconds a charger gets to answer a command [default: EVROAM_COMMANDS_TIMEOUT or 30].",
)
@click.option("--no-worker", is_flag=True, help="Do not deliver the push outbox from this process.")
@click.option(
    "--oicp-port",
    type=int,
    default=None,
    envvar="EVROAM_OICP_PORT",
    help="Serve the OICP endpoints (as `evroam serve --oicp-port`: the CPO's remote start/stop and "
    "reservations, here over the simulator) with the mutual TLS of the node's OICP connection "
    "[env EVROAM_OICP_PORT].",
)
def simulate(
    host: str,
    port: int | None,
    speed: float,
    meter_interval: float,
    plug_delay: float,
    unplug_delay: float,
    no_auto_plug: bool,
    never_answer: tuple[str, ...],
    offline_evses: tuple[str, ...],
    unlock_fails: bool,
    command_timeout: int | None,
    no_worker: bool,
    oicp_port: int | None,
) -> None:
    """Serve this CPO node with simulated chargers for its own locations."""

    settings = settings_of()
    configure_logging(settings.log_level)
    if command_timeout is not None:
        if command_timeout < 1:
            raise click.BadParameter("at least 1 second", param_hint="--command-timeout")
        os.environ["EVROAM_COMMANDS_TIMEOUT"] = str(command_timeout)
    try:
        node = build_node(settings)
        options = SimOptions(
            meter_interval=meter_interval,
            plug_delay=plug_delay,
            unplug_delay=unplug_delay,
            auto_plug=not no_auto_plug,
            never_answer=frozenset(never_answer),
            offline_evses=frozenset(offline_evses),
            unlock_fails=unlock_fails,
        )
        time = ScaledTime(node.clock.now(), speed=speed)
        limits = ServeLimits.from_env()  # the read timeouts and connection cap of `evroam serve`
    except (ConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    parties = cpo_parties(node.config)
    if not parties:
        raise click.ClickException("`simulate` needs a node with a CPO party (see `evroam init --role CPO`)")
    simulator = Simulator((), time=time, ids=node.ids, options=options)
    sink = OcpiSink(
        StoredCatalogue(node.store, parties),
        statuses=LocationAdmin(node.store, node.clock, RegisteredPartners(), parties),
        records=records_for(node, node.clock),
    )
    simulator.subscribe(sink)

    async def wake_worker(event: ChargePointEvent) -> None:
        if not no_worker:
            node.push_worker().wake()

    simulator.subscribe(wake_worker)
    node.charge_point = simulator

    sites = SmartSites()
    smart_sites = SmartConfig.load(config_path(settings.data_dir)).sites

    async def power_on() -> None:
        locations = [location async for location in iter_locations(node.store, partners=[None])]
        count = simulator.add_locations(locations)
        await sites.start(  # smart charging: one energy manager per site (`evroam smart site`)
            smart_sites,
            locations,
            simulator,
            time,
            store=node.store,
            http=node.http,
            plan_path=lambda location_id: plan_path(settings.data_dir, location_id),
        )
        await simulator.power_on()
        log.info(
            "simulating %d EVSE(s) at %d location(s); simulated time runs %gx while busy",
            count,
            len(locations),
            speed,
        )
        if count == 0:
            log.warning("no EVSE to simulate: import locations first (`evroam locations import FILE`)")

    node.startup_hooks.append(power_on)
    if oicp_port is not None:
        serve_oicp(node, host, oicp_port)  # over node.charge_point: the simulator

    node.shutdown_hooks.append(sites.close)
    node.shutdown_hooks.append(simulator.close)
    run_server(node, settings, limits, host=host, port=port, worker=not no_worker)
