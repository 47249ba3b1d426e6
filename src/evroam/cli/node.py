"""``evroam init``, ``evroam serve`` and ``evroam partners ...``.

Failures print one line (``Error: ...``) saying what failed and why, and exit with status 1 (3 when
what was asked for does not exist; with ``--json`` the failure is JSON on stdout, see docs/cli.md).
No command prints or logs a token, except ``partners invite``, whose point is to hand token A over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click

from evroam.core.errors import EvroamError, NotFound
from evroam.http.serving import ServeLimits, guarded_protocol
from evroam.modules.output import CommandFailed, NothingFound, emit
from evroam.node.config import (
    ConfigError,
    NodeConfig,
    PartyConfig,
    config_path,
    normalise_base_url,
    save_config,
)
from evroam.node.logs import configure_logging
from evroam.node.settings import Settings
from evroam.node.wiring import Node, build_node, prepare_store
from evroam.ocpi.modelled import MODELLED_VERSIONS
from evroam.registration.model import Partner
from evroam.store.failures import storage_failure
from evroam.store.files import read_only_filesystem

if TYPE_CHECKING:
    from evroam.modules.oicp.emp import EmpFallback, EmpListener

__all__ = [
    "Tls",
    "database_problem",
    "init",
    "partner_summary",
    "partners",
    "quiet_level",
    "run_on_node",
    "run_server",
    "serve",
    "settings_of",
]

T = TypeVar("T")

log = logging.getLogger(__name__)


def settings_of() -> Settings:
    obj = click.get_current_context().obj
    return obj if isinstance(obj, Settings) else Settings.from_env()


def quiet_level(settings: Settings) -> str:
    """One-shot commands log warnings only, unless --log-level / EVROAM_LOG_LEVEL asked for more."""
    ctx = click.get_current_context()
    root = ctx.find_root()
    source = root.get_parameter_source("log_level")
    if source in (None, click.core.ParameterSource.DEFAULT):
        return "WARNING"
    return settings.log_level


def run_on_node(action: Callable[[Node], Awaitable[T]], *, quiet: bool = True) -> T:
    """Build the node for the current settings, run ``action`` on it, close it; errors become one line.

    ``quiet``: log warnings only unless ``--log-level`` asked for more."""
    settings = settings_of()
    configure_logging(quiet_level(settings) if quiet else settings.log_level)

    async def main() -> T:
        node = build_node(settings)
        try:
            await node.start()
            return await action(node)
        finally:
            await node.close()

    try:
        return asyncio.run(main())
    except NotFound as exc:
        raise NothingFound(str(exc)) from None
    except (EvroamError, ConfigError) as exc:
        raise CommandFailed(str(exc)) from None
    except click.ClickException:
        raise
    except Exception as exc:
        problem = database_problem(exc, settings)
        if problem is None:
            raise
        raise CommandFailed(problem) from None


def database_problem(exc: BaseException, settings: Settings) -> str | None:
    """One line saying why the node's database cannot be used, when ``exc`` says so: an unsupported or
    malformed URL, or a database that is unreachable, read-only, full ...; ``None`` for anything else."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    if isinstance(exc, NoSuchModuleError | ArgumentError):
        return f"cannot use the database URL: {exc}".split("\n")[0]
    if isinstance(exc, ValueError) and "database URL" in str(exc):
        return str(exc)
    failure = storage_failure(exc)
    if failure is None:
        return None
    reason, detail = failure.reason, failure.detail
    if settings.database_url is None and read_only_filesystem(settings.data_dir):
        reason, detail = "read-only", f"{detail}: {settings.data_dir} is on a read-only filesystem"
    where = ""
    if settings.database_url is not None and not settings.database_url.strip().lower().startswith("sqlite"):
        where = f" at {_shown_url(settings.database_url)}"  # which server (a SQLite file's path is in detail)
    return f"cannot use the database{where} ({reason}): {detail}"


def _shown_url(url: str) -> str:
    """The URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unreadable URL)"


# -- init -----------------------------------------------------------------------------------------


def _parse_party(value: str) -> tuple[str, str, str]:
    parts = value.split(":")
    if len(parts) != 3:
        raise click.BadParameter(
            f"{value!r} is not COUNTRY:PARTY:ROLE, e.g. NL:ABC:CPO", param_hint="--party"
        )
    return parts[0], parts[1], parts[2].upper()


@click.command()
@click.option("--country-code", help="ISO 3166-1 alpha-2 country code of the party, e.g. NL.")
@click.option("--party-id", help="The party's 3-character id, e.g. ABC.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="A role of --country-code/--party-id (CPO, EMSP, HUB, NAP, NSP, OTHER, SCSP); repeat for several.",
)
@click.option(
    "--party",
    "parties",
    multiple=True,
    metavar="CC:PID:ROLE",
    help="Another party and role this node hosts, e.g. DE:XYZ:EMSP; repeat for several.",
)
@click.option(
    "--url", required=True, help="Public base URL partners reach this node at, e.g. https://ocpi.example.com."
)
@click.option(
    "--name", "business_name", default=None, help="Business name sent to partners [default: CC PID]."
)
@click.option("--website", default=None, help="Business website sent to partners.")
@click.option(
    "--ocpi-version",
    "ocpi_version",
    multiple=True,
    default=MODELLED_VERSIONS,
    show_default=True,
    help="An OCPI version to serve; repeat for several [default: all three].",
)
@click.option("--force", is_flag=True, help="Overwrite an existing node configuration.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def init(
    country_code: str | None,
    party_id: str | None,
    roles: tuple[str, ...],
    parties: tuple[str, ...],
    url: str,
    business_name: str | None,
    website: str | None,
    ocpi_version: tuple[str, ...],
    force: bool,
    as_json: bool,
) -> None:
    """Create the node's configuration (node.json) and its database in the data directory."""
    settings = settings_of()
    triples: list[tuple[str, str, str]] = []
    if roles and not (country_code and party_id):
        raise click.UsageError("--role needs --country-code and --party-id")
    if (country_code or party_id) and not roles:
        raise click.UsageError("--country-code/--party-id need at least one --role")
    triples.extend((country_code or "", party_id or "", role.upper()) for role in roles)
    triples.extend(_parse_party(p) for p in parties)
    if not triples:
        raise click.UsageError("give the node a party: --country-code NL --party-id ABC --role CPO")
    if config_path(settings.data_dir).exists() and not force:
        raise click.ClickException(
            f"{config_path(settings.data_dir)} already exists; add --force to overwrite it"
        )
    if settings.database_url is not None:
        problem = _url_problem(settings)
        if problem is not None:
            raise click.ClickException(problem)
    undo = _Undo.before_init(settings)
    try:
        base_url = normalise_base_url(url)
    except ValueError:
        base_url = url.strip()  # reported with every other problem by validate()
    try:
        config = NodeConfig(
            url=base_url,
            parties=[
                PartyConfig(
                    country_code=cc.upper(),
                    party_id=pid.upper(),
                    role=role,
                    name=business_name or f"{cc.upper()} {pid.upper()}",
                    website=website,
                )
                for cc, pid, role in triples
            ],
            versions=list(ocpi_version),
        )
        path = save_config(settings.data_dir, config)
    except (ConfigError, ValueError) as exc:
        undo()
        raise click.ClickException(str(exc)) from None

    async def create_database(node: Node) -> None:
        return None

    try:
        run_on_node(create_database)
    except BaseException:
        undo()  # a failed init leaves nothing behind
        raise
    parties_text = ", ".join(f"{p.country_code}*{p.party_id} ({p.role})" for p in config.parties)
    data = {
        "config": str(path),
        "versions_url": config.versions_url,
        "parties": [
            {"country_code": p.country_code, "party_id": p.party_id, "role": p.role} for p in config.parties
        ],
        "ocpi_versions": config.versions,
    }
    emit(
        data,
        as_json,
        f"node configured in {settings.data_dir}: {parties_text}\n"
        f"versions URL: {config.versions_url} (OCPI {', '.join(config.versions)})\n"
        f"next: evroam --data-dir {settings.data_dir} serve",
    )


def _url_problem(settings: Settings) -> str | None:
    """What is wrong with ``--database-url`` on its face (scheme, driver, syntax), or ``None``."""
    from evroam.store.sql import normalise_url

    assert settings.database_url is not None
    if settings.database_url.strip().rstrip("/:").lower() == "memory":
        return None
    try:
        normalise_url(settings.database_url)
    except Exception as exc:
        return database_problem(exc, settings) or str(exc)
    return None


class _Undo:
    """Puts the data directory back as it was before ``init``: the directories it created removed, the
    files it created deleted, a ``node.json`` it overwrote (``--force``) restored."""

    def __init__(self, created_dir: Path | None, data_dir: Path, before: dict[Path, bytes | None]) -> None:
        self.created_dir = created_dir
        self.data_dir = data_dir
        self.before = before

    @classmethod
    def before_init(cls, settings: Settings) -> _Undo:
        data_dir = Path(settings.data_dir).absolute()
        created: Path | None = None
        probe = data_dir
        while not probe.exists():  # the outermost directory init would create
            created = probe
            if probe.parent == probe:
                break
            probe = probe.parent
        before: dict[Path, bytes | None] = {}
        if created is None:
            names = [config_path(data_dir).name]
            if settings.database_url is None:
                names += [f"evroam.db{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
            for name in names:
                file = data_dir / name
                try:
                    before[file] = file.read_bytes() if name == config_path(data_dir).name else b""
                except FileNotFoundError:
                    before[file] = None
        return cls(created, data_dir, before)

    def __call__(self) -> None:
        if self.created_dir is not None:
            shutil.rmtree(self.created_dir, ignore_errors=True)
            return
        for file, content in self.before.items():
            if content is None:
                file.unlink(missing_ok=True)
            elif file.name == config_path(self.data_dir).name:
                file.write_bytes(content)


# -- serve ----------------------------------------------------------------------------------------


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=int,
    default=None,
    help="Port to listen on [default: the port of the node's --url, else 8100].",
)
@click.option(
    "--no-worker",
    is_flag=True,
    help="Do not deliver the push outbox from this process (run `evroam worker` separately).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    envvar=["EVROAM_WORKERS", "EVROAM_SERVE_WORKERS"],
    help="Request-serving processes sharing the port (PostgreSQL only for more than 1); each also "
    "delivers the outbox unless --no-worker. Env: EVROAM_WORKERS.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"], case_sensitive=False),
    default=None,
    envvar="EVROAM_LOG_FORMAT",
    help="Log lines as text or as one JSON object each [env EVROAM_LOG_FORMAT; default: text].",
)
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Serve HTTPS with this certificate (PEM, the chain after it) [env EVROAM_SERVE_TLS_CERT].",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The private key of --tls-cert (PEM) [env EVROAM_SERVE_TLS_KEY].",
)
@click.option(
    "--tls-client-ca",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Require a client certificate signed by these CAs (PEM): mutual TLS "
    "[env EVROAM_SERVE_TLS_CLIENT_CA].",
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    envvar="EVROAM_METRICS_PORT",
    help="Also serve /metrics, without login, on this port of --metrics-host [env EVROAM_METRICS_PORT].",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    envvar="EVROAM_METRICS_HOST",
    help="Interface of --metrics-port [env EVROAM_METRICS_HOST].",
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    envvar="EVROAM_FORWARDED_ALLOW_IPS",
    help="Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated, '*': "
    "any) [env EVROAM_FORWARDED_ALLOW_IPS; default: 127.0.0.1].",
)
@click.option(
    "--ocpp-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Also be the OCPP 1.6J / 2.0.1 central system of the registered chargers (`evroam chargers`), "
    "at ws://HOST:PORT/ocpp/{charge_point_id} [env EVROAM_SERVE_OCPP_PORT].",
)
@click.option(
    "--ocpp-host",
    default=None,
    help="Interface of --ocpp-port [default: --host] [env EVROAM_SERVE_OCPP_HOST].",
)
@click.option(
    "--ocpp-tls-cert",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Serve the OCPP endpoint as wss:// with this certificate (PEM) [env EVROAM_SERVE_OCPP_TLS_CERT].",
)
@click.option(
    "--ocpp-tls-key",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="The private key of --ocpp-tls-cert (PEM) [env EVROAM_SERVE_OCPP_TLS_KEY].",
)
@click.option(
    "--ocpp-heartbeat",
    type=click.IntRange(10, 86400),
    default=300,
    show_default=True,
    help="Heartbeat interval (s) the BootNotification answer asks chargers for.",
)
@click.option(
    "--ocpp-timeout",
    type=click.FloatRange(1, 600),
    default=30.0,
    show_default=True,
    help="Seconds a charger gets to answer a call of the central system.",
)
@click.option(
    "--oicp-port",
    type=click.IntRange(0, 65535),
    default=None,
    envvar=["EVROAM_OICP_PORT", "EVROAM_SERVE_OICP_PORT"],
    help="Also serve the OICP endpoints of the node's OICP role on this port of --host, with the mutual TLS "
    "of its OICP connection (evroam oicp connect) [env EVROAM_OICP_PORT].",
)
@click.option(
    "--gateway",
    is_flag=True,
    envvar="EVROAM_SERVE_GATEWAY",
    help="Be an OCPI <-> OICP gateway: republish the chargers the OICP EMP connection finds at the hub as "
    "this CPO's own locations and tariffs, carry OCPI commands to them and their sessions and CDRs back "
    "(docs/bridge.md). Needs --oicp-port [env EVROAM_SERVE_GATEWAY].",
)
@click.option(
    "--gateway-every",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    envvar="EVROAM_SERVE_GATEWAY_EVERY",
    help="Seconds between the gateway's status pulls (each followed by the republishing).",
)
@click.option(
    "--gateway-data-every",
    type=click.FloatRange(min=0.1),
    default=900.0,
    show_default=True,
    envvar="EVROAM_SERVE_GATEWAY_DATA_EVERY",
    help="Seconds between the gateway's EVSE data and pricing pulls.",
)
@click.option(
    "--gateway-time-zone",
    default="UTC",
    show_default=True,
    envvar="EVROAM_SERVE_GATEWAY_TIME_ZONE",
    help="The IANA time zone of republished locations whose OICP offset names none (e.g. UTC+05:30).",
)
def serve(
    host: str,
    port: int | None,
    no_worker: bool,
    workers: int,
    log_format: str | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    tls_client_ca: Path | None,
    metrics_port: int | None,
    metrics_host: str,
    forwarded_allow_ips: str | None,
    ocpp_port: int | None = None,
    ocpp_host: str | None = None,
    ocpp_tls_cert: Path | None = None,
    ocpp_tls_key: Path | None = None,
    ocpp_heartbeat: int = 300,
    ocpp_timeout: float = 30.0,
    oicp_port: int | None = None,
    gateway: bool = False,
    gateway_every: float = 60.0,
    gateway_data_every: float = 900.0,
    gateway_time_zone: str = "UTC",
) -> None:
    """Serve the node's OCPI endpoints (uvicorn), and deliver the push outbox in the background."""
    settings = settings_of()
    if log_format is not None:  # worker processes configure their logging from the environment
        os.environ["EVROAM_LOG_FORMAT"] = log_format.lower()
    if metrics_port is not None:  # read by the app of every worker process (Node.app)
        os.environ["EVROAM_METRICS_PORT"] = str(metrics_port)
        os.environ["EVROAM_METRICS_HOST"] = metrics_host
    if forwarded_allow_ips is not None:  # read by uvicorn (in every worker process)
        os.environ["FORWARDED_ALLOW_IPS"] = forwarded_allow_ips
    configure_logging(settings.log_level, log_format.lower() if log_format else None)
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if tls_client_ca is not None and tls_cert is None:
        raise click.UsageError("--tls-client-ca needs --tls-cert and --tls-key")
    tls = None if tls_cert is None or tls_key is None else Tls(tls_cert, tls_key, tls_client_ca)
    if workers > 1 and not _postgresql(settings):
        raise click.ClickException(
            f"--workers {workers} needs PostgreSQL (--database-url / EVROAM_DATABASE_URL): "
            "the SQLite database is served by one process"
        )
    if (ocpp_tls_cert is None) != (ocpp_tls_key is None):
        raise click.UsageError("--ocpp-tls-cert and --ocpp-tls-key go together")
    if ocpp_port is not None and workers > 1:
        raise click.UsageError("--ocpp-port needs a single process (the chargers' connections live in it)")
    if gateway and oicp_port is None:
        raise click.UsageError("--gateway needs --oicp-port (the hub sends the sessions and CDRs there)")
    if gateway and ocpp_port is not None:
        raise click.UsageError("--gateway and --ocpp-port each plug in the node's chargers: give one")
    emp_listeners: list[EmpListener] = []
    emp_fallback: EmpFallback | None = None
    try:
        node = build_node(settings)
        limits = ServeLimits.from_env()  # EVROAM_HEADER_TIMEOUT, _BODY_TIMEOUT, _MAX_CONNECTIONS_PER_CLIENT
        if ocpp_port is not None:
            from evroam.chargepoint.ocpp import tls_context
            from evroam.cli.smart import config_path, plan_path
            from evroam.node.ocpp import attach_ocpp
            from evroam.node.smart import SmartConfig

            attach_ocpp(
                node,
                host=ocpp_host or host,
                port=ocpp_port,
                tls=None
                if ocpp_tls_cert is None or ocpp_tls_key is None
                else tls_context(ocpp_tls_cert, ocpp_tls_key),
                heartbeat=ocpp_heartbeat,
                timeout=ocpp_timeout,
                worker=not no_worker,
                smart_sites=SmartConfig.load(config_path(settings.data_dir)).sites,
                plan_path=lambda location_id: plan_path(settings.data_dir, location_id),
            )
        if gateway:
            from evroam.node.gateway import attach_gateway

            attached = attach_gateway(
                node,
                every=gateway_every,
                data_every=gateway_data_every,
                time_zone=gateway_time_zone,
                worker=not no_worker,
            )
            emp_listeners.append(attached.charge_point.on_emp_event)
            emp_fallback = attached.charge_point.authorize_start
    except (ConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if oicp_port is not None:
        _oicp_preflight(settings, gateway)
        _serve_oicp(node, host, oicp_port, workers, emp_listeners, emp_fallback)
    run_server(node, settings, limits, host=host, port=port, worker=not no_worker, tls=tls, workers=workers)


def _oicp_preflight(settings: Settings, gateway: bool) -> None:
    """Before serving: the node's OICP connections allow what was asked (else one line, exit status 1,
    rather than a failed start-up inside uvicorn). A database that cannot be read is left to the start."""
    from evroam.modules.oicp.records import load_connection

    async def roles() -> tuple[set[str], bool]:
        node = build_node(settings)
        try:
            await node.start()
            found = {role for role in ("CPO", "EMP") if await load_connection(node.store, role) is not None}
            return found, bool(node.own.emsp_parties())
        finally:
            await node.close()

    try:
        held, emsp = asyncio.run(roles())
    except Exception:
        return
    if not held:
        raise click.ClickException(
            "--oicp-port: no OICP connection to serve "
            "(evroam oicp connect --operator-id ... | --provider-id ...)"
        )
    if gateway and "EMP" not in held and not ("CPO" in held and emsp):
        raise click.ClickException(
            "--gateway needs an OICP EMP connection (the hub's chargers for OCPI drivers) or an OICP CPO "
            "connection and an eMSP party (OCPI CPOs' chargers for OICP drivers)"
        )


def _serve_oicp(
    node: Node,
    host: str,
    port: int,
    workers: int,
    emp_listeners: Sequence[EmpListener] = (),
    emp_fallback: EmpFallback | None = None,
) -> None:
    """``--oicp-port``: the OICP endpoints in this process, started and stopped with the node."""
    from evroam.cli.oicp_endpoints import serve_oicp

    if workers > 1:
        raise click.UsageError("--oicp-port is served by one process: not with --workers")
    serve_oicp(node, host, port, emp_listeners=emp_listeners, emp_fallback=emp_fallback)


@dataclass(frozen=True, slots=True)
class Tls:
    """The certificate and key ``serve`` answers HTTPS with; ``client_ca``: require client certificates
    signed by these CAs."""

    cert: Path
    key: Path
    client_ca: Path | None = None

    def uvicorn_options(self) -> dict[str, Any]:
        import ssl

        options: dict[str, Any] = {"ssl_certfile": str(self.cert), "ssl_keyfile": str(self.key)}
        if self.client_ca is not None:
            options.update(ssl_ca_certs=str(self.client_ca), ssl_cert_reqs=ssl.CERT_REQUIRED)
        return options


def _postgresql(settings: Settings) -> bool:
    url = settings.database_url
    return url is not None and url.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def run_server(
    node: Node,
    settings: Settings,
    limits: ServeLimits,
    *,
    host: str,
    port: int | None,
    worker: bool,
    tls: Tls | None = None,
    workers: int = 1,
) -> None:
    """Serve ``node`` with uvicorn until stopped: its port from its URL unless ``port`` is given, the read
    timeouts and per-address connection cap of ``limits``, the push worker unless ``worker`` is false.
    First the database is opened, migrated and written once: one it cannot use stops it with one line.
    ``workers`` > 1: that many processes on one socket (:mod:`evroam.cli.workers`)."""
    import uvicorn

    try:
        asyncio.run(prepare_store(settings))
    except Exception as exc:
        problem = database_problem(exc, settings)
        if problem is None:
            raise
        raise click.ClickException(problem) from None
    if port is None:
        port = urlsplit(node.config.url).port or 8100
    if workers > 1:
        _run_workers(
            settings,
            limits,
            host=host,
            port=port,
            worker=worker,
            workers=workers,
            server_options=tls.uvicorn_options() if tls is not None else {},
        )
        return
    server = uvicorn.Server(
        uvicorn.Config(
            node.app(worker=worker),
            host=host,
            port=port,
            log_config=None,
            log_level=settings.log_level.lower(),
            access_log=False,  # the app logs one line per request itself (evroam.access)
            lifespan="on",
            server_header=False,
            http=guarded_protocol(limits),  # read timeouts and a per-address connection cap
            **(tls.uvicorn_options() if tls is not None else {}),
        )
    )
    server.run()


def _run_workers(
    settings: Settings,
    limits: ServeLimits,
    *,
    host: str,
    port: int,
    worker: bool,
    workers: int,
    server_options: dict[str, Any],
) -> None:
    from evroam.cli.workers import WorkersFailed, bind_socket, fresh_metrics_dir, supervise

    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(fresh_metrics_dir(settings.data_dir))
    log.info("serving on http://%s:%d with %d worker processes", host, port, workers)
    try:
        supervise(settings, limits, sock, workers=workers, push=worker, server_options=server_options)
    except WorkersFailed as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        sock.close()


# -- partners -------------------------------------------------------------------------------------


def partner_summary(partner: Partner) -> dict[str, Any]:
    """Everything about a partner except token values."""
    return {
        "name": partner.name,
        "id": partner.id,
        "status": partner.status.value,
        "initiated_by": partner.initiated_by,
        "version": partner.version,
        "versions_url": partner.versions_url,
        "offered_versions": list(partner.offered_versions),
        "roles": [
            {
                "role": r.role,
                "country_code": r.country_code,
                "party_id": r.party_id,
                "name": r.name,
                "website": r.website,
            }
            for r in partner.roles
        ],
        "endpoints": [{"module": e.module, "role": e.role, "url": e.url} for e in partner.endpoints],
        "has_token": partner.token is not None,
        "token_encoding": partner.token_encoding,
        "created": str(partner.created),
        "updated": str(partner.updated),
    }


def _one_line(partner: Partner) -> str:
    roles = ", ".join(str(r) for r in partner.roles) or "-"
    return f"{partner.name}\t{partner.status.value}\tOCPI {partner.version or '-'}\t{roles}"


def _details(partner: Partner) -> str:
    lines = [
        f"name:          {partner.name}",
        f"status:        {partner.status.value} (initiated by {partner.initiated_by})",
        f"OCPI version:  {partner.version or '-'} (offered: {', '.join(partner.offered_versions) or '-'})",
        f"versions URL:  {partner.versions_url or '-'}",
        f"roles:         {', '.join(str(r) for r in partner.roles) or '-'}",
        f"our token:     {'set' if partner.token else 'none'}",
        "endpoints:",
    ]
    lines.extend(f"  {e.module:<18} {e.role or '':<9} {e.url}" for e in partner.endpoints)
    return "\n".join(lines)


@click.group()
def partners() -> None:
    """Register, list, rotate and unregister OCPI partners."""


@partners.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--token-only", is_flag=True, help="Print token A alone (for scripts).")
def invite(name: str, as_json: bool, token_only: bool) -> None:
    """Issue a token A for partner NAME and print it with this node's versions URL.

    Inviting a partner again replaces its unused token A.
    """
    invitation = run_on_node(lambda node: node.registration.invite(name))
    if token_only:
        click.echo(invitation.token)
        return
    data = {
        "name": invitation.partner.name,
        "versions_url": invitation.versions_url,
        "token": invitation.token,
    }
    emit(
        data,
        as_json,
        f"give partner {invitation.partner.name} these two values (token A works once):\n"
        f"versions URL: {invitation.versions_url}\n"
        f"token:        {invitation.token}",
    )


@partners.command()
@click.option("--versions-url", required=True, help="The partner's versions URL.")
@click.option("--token", "token_a", required=True, help="The token A the partner gave you.")
@click.option("--name", default=None, help="Name for the partner [default: COUNTRY-PARTY of its first role].")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def register(versions_url: str, token_a: str, name: str | None, as_json: bool) -> None:
    """Register with a partner using the versions URL and token A it gave you.

    `evroam serve` must be running for the same data directory: the partner calls it back.
    """
    partner = run_on_node(lambda node: node.registration.register(versions_url, token_a, name))
    roles = ", ".join(str(r) for r in partner.roles)
    emit(
        partner_summary(partner),
        as_json,
        f"registered with {partner.name} over OCPI {partner.version}: {roles}; "
        f"{len(partner.endpoints)} endpoint(s)",
    )


@partners.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def rotate(name: str, as_json: bool) -> None:
    """Renew the tokens with partner NAME (PUT of our credentials with a new token)."""
    partner = run_on_node(lambda node: node.registration.rotate(name))
    emit(
        partner_summary(partner),
        as_json,
        f"tokens with {partner.name} renewed over OCPI {partner.version}; the old ones no longer work",
    )


@partners.command()
@click.argument("name")
@click.option(
    "--force", is_flag=True, help="Stop all traffic on this side even if the partner cannot be told."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def unregister(name: str, force: bool, as_json: bool) -> None:
    """Unregister partner NAME (DELETE of our credentials at the partner); all traffic stops."""
    partner = run_on_node(lambda node: node.registration.unregister(name, force=force))
    emit(partner_summary(partner), as_json, f"unregistered {partner.name}; no traffic in either direction")


@partners.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_partners(as_json: bool) -> None:
    """List partners and the state of each connection."""
    found = run_on_node(lambda node: node.registration.partners())
    text = (
        "\n".join(_one_line(p) for p in found) if found else "no partners yet (see `evroam partners invite`)"
    )
    emit([partner_summary(p) for p in found], as_json, text)


@partners.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def show(name: str, as_json: bool) -> None:
    """Show partner NAME: status, version, roles, endpoints."""
    partner = run_on_node(lambda node: node.registration.get(name))
    emit(partner_summary(partner), as_json, _details(partner))
