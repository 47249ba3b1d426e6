"""``evroam oicp ...``: a node's connection to Hubject (or to the test hub), from the command line.

    evroam oicp connect --hub-url URL (--operator-id DE*ABC | --provider-id DE-XYZ) --cert F --key F --ca F
                        [--name NAME] [--public-url URL [--register]] [--hotline +49...]
                        [--hub-name NAME ...] [--hub-fingerprint SHA256 ...]
    evroam oicp status [--json]
    evroam oicp push evse-data [--full] | pricing | auth-data
    evroam oicp pull evse-data [--full] | pricing --operator-id ID
    evroam oicp pull evse-status [--evse-id ID ...] [--operator-id ID ...]
    evroam oicp remote-start EVSE_ID CONTRACT_ID | remote-stop SESSION_ID
    evroam oicp serve --port P          (only the OICP endpoints; a node: evroam serve --oicp-port P)
    evroam oicp cdrs list [--json] | cdrs get --from TIME --to TIME
    evroam oicp test-hub --port P --cert F --key F --ca F --openapi DIR [--partner ROLE:ID:URL ...]

(``test-hub`` comes from :mod:`evroam.testing.oicp_hub`, which ships the hub.)
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from evroam.modules.kit import NodeContext, emit, run_node
from evroam.modules.oicp.cpo import OicpPusher, push_all_evse_data, push_pricing
from evroam.modules.oicp.emp import EmpService
from evroam.modules.oicp.hub import HubClients
from evroam.modules.oicp.records import (
    HUB_PARTNER_ID,
    Connection,
    delete_connection,
    list_emp_cdrs,
    load_connection,
    load_state,
    save_connection,
)
from evroam.oicp import codec
from evroam.oicp import messages as m
from evroam.oicp.ids import OPERATOR_ID, PROVIDER_ID
from evroam.store.outbox import ObjectChange
from evroam.store.port import OutboxStatus

__all__ = ["oicp"]


def _run(action: Any) -> Any:
    async def wrapped(node: NodeContext) -> Any:
        clients = HubClients()
        try:
            return await action(node, clients)
        finally:
            await clients.aclose()

    return run_node(wrapped)


@click.group()
def oicp() -> None:
    """OICP 2.3 with Hubject: the connection, pushes, pulls, CDRs, and a test hub (docs/oicp.md)."""


@oicp.command()
@click.option(
    "--hub-url", required=True, help="https://service-qa.hubject.com (QA) or https://service.hubject.com"
)
@click.option("--operator-id", help="our OperatorID, as registered at Hubject (the CPO role)")
@click.option("--provider-id", help="our ProviderID, as registered at Hubject (the EMP role)")
@click.option(
    "--cert", required=True, type=click.Path(exists=True, dir_okay=False), help="our certificate (PEM)"
)
@click.option(
    "--key", required=True, type=click.Path(exists=True, dir_okay=False), help="its private key (PEM)"
)
@click.option(
    "--ca", required=True, type=click.Path(exists=True, dir_okay=False), help="the CAs to trust (PEM)"
)
@click.option("--name", help="operator / provider name (OperatorName on every EVSE data push)")
@click.option("--public-url", help="where the hub reaches our OICP endpoints")
@click.option(
    "--register", is_flag=True, help="tell the hub --public-url (the test hub; Hubject: its portal)"
)
@click.option(
    "--hotline", default="+4930000000", show_default=True, help="CPO: HotlinePhoneNumber of our EVSEs"
)
@click.option(
    "--hub-name",
    "hub_names",
    multiple=True,
    help="a name the hub's client certificate carries (CN or alt name) [default: the host of --hub-url]",
)
@click.option(
    "--hub-fingerprint",
    "hub_fingerprints",
    multiple=True,
    help="SHA-256 fingerprint (hex) of the hub's client certificate; given, only it is accepted",
)
@click.option("--json", "as_json", is_flag=True)
def connect(
    hub_url: str,
    operator_id: str | None,
    provider_id: str | None,
    cert: str,
    key: str,
    ca: str,
    name: str | None,
    public_url: str | None,
    register: bool,
    hotline: str,
    hub_names: tuple[str, ...],
    hub_fingerprints: tuple[str, ...],
    as_json: bool,
) -> None:
    """Connect the node to an OICP hub as a CPO (--operator-id) or an EMP (--provider-id)."""
    import re

    if (operator_id is None) == (provider_id is None):
        raise click.UsageError("give exactly one of --operator-id and --provider-id")
    role, ident = ("CPO", operator_id) if operator_id else ("EMP", provider_id)
    assert ident is not None
    if not re.match(OPERATOR_ID if role == "CPO" else PROVIDER_ID, ident):
        raise click.BadParameter(
            f"{ident!r} is not an OICP {'OperatorID' if role == 'CPO' else 'ProviderID'}"
        )
    connection = Connection(
        role=role,
        hub_url=hub_url,
        id=ident,
        name=name or ident,
        cert=str(Path(cert).resolve()),
        key=str(Path(key).resolve()),
        ca=str(Path(ca).resolve()),
        public_url=public_url,
        hotline=hotline,
        hub_names=hub_names,
        hub_fingerprints=tuple(_fingerprint(f) for f in hub_fingerprints),
    )

    async def action(node: NodeContext, clients: HubClients) -> dict[str, Any]:
        await save_connection(node.store, connection, node.clock.now())
        out: dict[str, Any] = {"role": role, "id": ident, "hub_url": hub_url}
        if register:
            if not public_url:
                raise click.UsageError("--register needs --public-url")
            out["registered"] = await _register(connection)
        return out

    emit(_run(action), as_json, f"connected as {role} {ident} to {hub_url}")


def _fingerprint(text: str) -> str:
    value = text.replace(":", "").strip().casefold()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise click.BadParameter(f"{text!r} is not a SHA-256 fingerprint", param_hint="--hub-fingerprint")
    return value


async def _register(connection: Connection) -> Any:
    import httpx

    from evroam.oicp.tls import client_context

    async with httpx.AsyncClient(verify=client_context(connection.tls)) as http:
        response = await http.post(
            connection.hub_url.rstrip("/").removesuffix("/api/oicp") + "/hub/partners",
            json={"Role": connection.role, "ID": connection.id, "URL": connection.public_url},
        )
    if response.status_code != 200:
        raise click.ClickException(
            f"the hub refused the registration: {response.status_code} {response.text}"
        )
    return response.json()


@oicp.command()
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    """The connections: last push, last error, backlog of changes waiting for the hub."""

    async def action(node: NodeContext, clients: HubClients) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for role in ("CPO", "EMP"):
            connection = await load_connection(node.store, role)
            if connection is None:
                continue
            state = await load_state(node.store, role)
            entry: dict[str, Any] = {
                "id": connection.id,
                "hub_url": connection.hub_url,
                "last_push": state.last_push.isoformat() if state.last_push else None,
                "last_push_operation": state.last_push_operation,
                "last_pull": state.last_pull.isoformat() if state.last_pull else None,
                "last_error": state.last_error,
                "last_error_at": state.last_error_at.isoformat() if state.last_error_at else None,
            }
            if role == "CPO":
                backlog = 0
                for status in (OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT):
                    backlog += len(await node.store.outbox_list(status=status, partner_id=HUB_PARTNER_ID))
                entry["backlog"] = backlog
                entry["parked"] = len(
                    await node.store.outbox_list(status=OutboxStatus.PARKED, partner_id=HUB_PARTNER_ID)
                )
                entry["evses_pushed"] = sum(len(v) for v in state.pushed.values())
            out[role] = entry
        return out

    data = _run(action)
    lines = [
        f"{role} {e['id']} -> {e['hub_url']}: last push {e['last_push'] or '-'}"
        + (f", backlog {e['backlog']}" if "backlog" in e else "")
        + (f", last error: {e['last_error']}" if e["last_error"] else "")
        for role, e in data.items()
    ] or ["not connected (evroam oicp connect ...)"]
    emit(data, as_json, "\n".join(lines))


@oicp.command()
@click.argument("role", type=click.Choice(["CPO", "EMP"], case_sensitive=False))
def disconnect(role: str) -> None:
    """Forget the connection of ROLE (a CPO's changes are no longer queued for the hub)."""

    async def action(node: NodeContext, clients: HubClients) -> bool:
        return await delete_connection(node.store, role)

    click.echo("disconnected" if _run(action) else "no such connection")


@oicp.group()
def push() -> None:
    """Push to the hub now."""


@push.command("evse-data")
@click.option("--full", is_flag=True, help="fullLoad: replace everything the hub holds of us")
@click.option("--json", "as_json", is_flag=True)
def push_evse_data(full: bool, as_json: bool) -> None:
    """CPO: our EVSEs as EVSE data and status (insert/update per location, or one fullLoad)."""

    async def action(node: NodeContext, clients: HubClients) -> list[str]:
        connection = await _need(node, "CPO")
        if full:
            return await push_all_evse_data(node.store, connection, clients, node.clock.now())
        from evroam.modules.locations import LOCATIONS

        pusher = OicpPusher(clients, node.clock)
        notes = []
        async for location in LOCATIONS.lookups.iter_locations(node.store, partners=[None]):
            change = ObjectChange(
                module="locations",
                country_code=str(location.country_code),
                party_id=str(location.party_id),
                object_id=str(location.id),
                method="PUT",
            )
            target = await pusher.target(node.store, HUB_PARTNER_ID)
            assert target is not None
            note = await pusher.deliver(node.store, target, change)
            if note:
                notes.append(note)
        return notes

    notes = _run(action)
    emit({"notes": notes}, as_json, "\n".join(notes) or "pushed")


@push.command("pricing")
def push_pricing_command() -> None:
    """CPO: our tariffs as pricing products and the EVSE pricing (fullLoad)."""

    async def action(node: NodeContext, clients: HubClients) -> str | None:
        return await push_pricing(node.store, await _need(node, "CPO"), clients)

    click.echo(_run(action) or "pushed")


@push.command("auth-data")
def push_auth_data() -> None:
    """EMP: our valid tokens as authentication data (fullLoad; an offline EMP's)."""

    async def action(node: NodeContext, clients: HubClients) -> tuple[int, str | None]:
        await _need(node, "EMP")
        return await EmpService(node.store, node.clock, clients).push_authentication_data()

    count, note = _run(action)
    click.echo(note or f"pushed {count} identification(s)")


@oicp.group()
def pull() -> None:
    """EMP: pull from the hub now."""


@pull.command("evse-data")
@click.option("--full", is_flag=True, help="everything, not only what changed since the last pull")
@click.option("--json", "as_json", is_flag=True)
def pull_evse_data(full: bool, as_json: bool) -> None:
    """EVSE data (stored as locations received from the hub)."""

    async def action(node: NodeContext, clients: HubClients) -> list[Any]:
        records = await EmpService(node.store, node.clock, clients).pull_evse_data(full=full)
        return [{"EvseID": r.EvseID, "OperatorID": r.OperatorID, "deltaType": r.deltaType} for r in records]

    rows = _run(action)
    emit(rows, as_json, f"{len(rows)} EVSE record(s)")


@pull.command("evse-status")
@click.option("--evse-id", "evse_ids", multiple=True)
@click.option("--operator-id", "operator_ids", multiple=True)
@click.option("--json", "as_json", is_flag=True)
def pull_evse_status(evse_ids: tuple[str, ...], operator_ids: tuple[str, ...], as_json: bool) -> None:
    """EVSE status: all, by EvseID (at most 100) or by OperatorID."""

    async def action(node: NodeContext, clients: HubClients) -> list[Any]:
        service = EmpService(node.store, node.clock, clients)
        pairs = await service.pull_evse_status(
            evse_ids=list(evse_ids) or None, operator_ids=list(operator_ids) or None
        )
        return [{"EvseID": e, "EvseStatus": s.value} for e, s in pairs]

    rows = _run(action)
    emit(rows, as_json, "\n".join(f"{r['EvseID']} {r['EvseStatus']}" for r in rows) or "no status")


@pull.command("pricing")
@click.option("--operator-id", "operator_ids", multiple=True, required=True)
def pull_pricing(operator_ids: tuple[str, ...]) -> None:
    """Pricing products and EVSE pricing of these operators (used to price their CDRs)."""

    async def action(node: NodeContext, clients: HubClients) -> int:
        data = await EmpService(node.store, node.clock, clients).pull_pricing(list(operator_ids))
        return sum(len(p.PricingProductDataRecords) for p in data.products)

    click.echo(f"{_run(action)} pricing product(s)")


@oicp.command("remote-start")
@click.argument("evse_id")
@click.argument("contract_id")
def remote_start(evse_id: str, contract_id: str) -> None:
    """EMP: start charging at EVSE_ID for the contract (EvcoID) CONTRACT_ID."""

    async def action(node: NodeContext, clients: HubClients) -> m.Acknowledgement:
        return await EmpService(node.store, node.clock, clients).remote_start(evse_id, contract_id)

    click.echo(codec.encode(_run(action)).decode())


@oicp.command("remote-stop")
@click.argument("session_id")
def remote_stop(session_id: str) -> None:
    """EMP: stop the remote session SESSION_ID (Hubject's)."""

    async def action(node: NodeContext, clients: HubClients) -> m.Acknowledgement:
        return await EmpService(node.store, node.clock, clients).remote_stop(session_id)

    click.echo(codec.encode(_run(action)).decode())


@oicp.group()
def cdrs() -> None:
    """EMP: the CDRs received from the hub."""


@cdrs.command("list")
@click.option("--json", "as_json", is_flag=True)
def cdrs_list(as_json: bool) -> None:
    """Every CDR kept, with the price computed from the pulled pricing."""

    async def action(node: NodeContext, clients: HubClients) -> list[dict[str, Any]]:
        out = []
        for kept in await list_emp_cdrs(node.store):
            cdr: m.ChargeDetailRecord = codec.decode(kept.cdr, m.ChargeDetailRecord)
            out.append(
                {
                    "SessionID": kept.session_id,
                    "EvseID": cdr.EvseID,
                    "ConsumedEnergy": str(cdr.ConsumedEnergy),
                    "ChargingStart": cdr.ChargingStart.isoformat(),
                    "ChargingEnd": cdr.ChargingEnd.isoformat(),
                    "source": kept.source,
                    "currency": kept.currency,
                    "price_excl_vat": None if kept.price_excl_vat is None else str(kept.price_excl_vat),
                    "product": kept.product_id,
                    "note": kept.pricing_note,
                }
            )
        return out

    rows = _run(action)
    text = "\n".join(
        f"{r['SessionID']} {r['EvseID']} {r['ConsumedEnergy']} kWh {r['price_excl_vat'] or '-'} "
        f"{r['currency'] or ''}"
        for r in rows
    )
    emit(rows, as_json, text or "no CDRs")


@cdrs.command("get")
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z"]))
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z"]))
def cdrs_get(start: datetime, end: datetime) -> None:
    """Fetch the CDRs of a period from the hub, page by page (the ones not kept yet are kept)."""

    async def action(node: NodeContext, clients: HubClients) -> int:
        return len(await EmpService(node.store, node.clock, clients).get_cdrs(start, end))

    click.echo(f"{_run(action)} new CDR(s)")


async def _need(node: NodeContext, role: str) -> Connection:
    connection = await load_connection(node.store, role)
    if connection is None:
        flag = "--operator-id" if role == "CPO" else "--provider-id"
        raise click.ClickException(f"no OICP {role} connection: evroam oicp connect ... {flag} ID")
    return connection


@oicp.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, required=True)
def serve(host: str, port: int) -> None:
    """Only the OICP endpoints of the node's role(s), without OCPI or the push worker, until stopped (an
    EMP that runs nothing else). A node normally runs them with `evroam serve --oicp-port P`; no charger
    connection is plugged in here, so a CPO's commands are answered 501."""
    from evroam.modules.oicp.endpoints import OicpEndpoints

    async def action(node: NodeContext, clients: HubClients) -> None:
        endpoints = OicpEndpoints(node.store, node.clock, None, host, port, clients=clients)
        try:
            await endpoints.start()
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        roles = "/".join(endpoints.roles)
        click.echo(
            f"OICP {roles} endpoints on https://{host}:{endpoints.port}/api/oicp (mutual TLS)", err=True
        )
        try:
            await asyncio.Event().wait()
        finally:
            await endpoints.stop()

    with contextlib.suppress(KeyboardInterrupt):
        _run(action)
