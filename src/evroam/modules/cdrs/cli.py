"""``evroam cdrs ...``: the CDRs a node holds, and the CPO's own CDRs from the command line.

    evroam cdrs list [--received | --partner NAME] [--party CC:PID] [--date-from TIME] [--date-to TIME]
                     [--offset N] [--limit N] [--json]
    evroam cdrs show CDR_ID [--received | --partner NAME] [--party CC:PID] [--ocpi-version V] [--json]
    evroam cdrs create FILE.json [--ocpi-version V] [--party CC:PID] [--json]
    evroam cdrs create --from-session SESSION_ID [--id CDR_ID] [--total-cost N] [--json]
    evroam cdrs credit CDR_ID [--id CREDIT_ID] [--json]

``list`` and ``show`` cover both sides: our own CDRs (CPO, with the partners that acknowledged them and
the ``Location`` they answered) and those partners posted (eMSP, with the URL we answered). ``create``
stores a final CDR of ours and queues its POST to the eMSP whose token it concerns; ``credit`` makes
the credit CDR of one of ours (costs negated) and queues it the same way.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from evroam.core.codec import decode, encode
from evroam.model.common import NotRepresentable, Price
from evroam.modules.kit import NodeContext
from evroam.registration.directory import RegisteredPartners

from .._cli import (
    Selection,
    emit_listing,
    find_received,
    list_documents,
    newest_version,
    parse_party,
    parse_served,
    partner_names,
    run_admin,
    selection_options,
)
from .._shared import token_owner
from ..kit import emit as _emit
from .convert import cdr_converters
from .ports import CdrCreated
from .repository import CDR_KIND, CdrDocument, decode_cdr_document
from .service import CdrAdmin, CdrSender

__all__ = ["admin_for", "cdrs"]


def admin_for(node: NodeContext) -> CdrAdmin:
    return CdrAdmin(node.store, node.clock, RegisteredPartners(), node.own.cpo_parties())


def _summary(document: CdrDocument, source: str, names: dict[str, str]) -> dict[str, Any]:
    cdr = document.cdr
    owner = token_owner(cdr.cdr_token)
    return {
        "source": source,
        "country_code": str(cdr.country_code),
        "party_id": str(cdr.party_id),
        "id": str(cdr.id),
        "session_id": None if cdr.session_id is None else str(cdr.session_id),
        "credit": bool(cdr.credit),
        "credit_reference_id": None if cdr.credit_reference_id is None else str(cdr.credit_reference_id),
        "token_owner": None if owner is None else "*".join(owner),
        "total_cost": str(cdr.total_cost.before_taxes),
        "total_cost_incl_vat": None
        if cdr.total_cost.after_taxes is None
        else str(cdr.total_cost.after_taxes),
        "currency": cdr.currency,
        "total_energy": str(cdr.total_energy),
        "total_time": str(cdr.total_time),
        "last_updated": cdr.last_updated.to_json(),
        "location_url": document.location_url,
        "deliveries": [
            {"partner": names.get(d.partner_id, d.partner_id), "url": d.url, "at": d.at.to_json()}
            for d in document.deliveries
        ],
    }


def _line(s: dict[str, Any]) -> str:
    credit = f"\tcredit of {s['credit_reference_id']}" if s["credit"] else ""
    vat = "" if s["total_cost_incl_vat"] is None else f" ({s['total_cost_incl_vat']} incl. VAT)"
    delivered = ""
    if s["deliveries"]:
        delivered = "\tdelivered to " + ", ".join(d["partner"] for d in s["deliveries"])
    return (
        f"{s['country_code']}*{s['party_id']}\t{s['id']}\t{s['total_cost']} {s['currency']} excl. VAT{vat}\t"
        f"{s['total_energy']} kWh\ttoken {s['token_owner'] or '?'}\t{s['source']}{credit}{delivered}"
    )


def _created(created: CdrCreated, as_json: bool) -> None:
    cdr = created.cdr
    out = {
        "country_code": str(cdr.country_code),
        "party_id": str(cdr.party_id),
        "id": str(cdr.id),
        "credit": bool(cdr.credit),
        "total_cost": str(cdr.total_cost.before_taxes),
        "currency": cdr.currency,
        "outbox_rows": created.outbox_rows,
    }
    text = f"CDR {cdr.country_code}*{cdr.party_id}*{cdr.id} created; {created.outbox_rows} POST(s) queued"
    _emit(out, as_json, text)


@click.group()
def cdrs() -> None:
    """Charge detail records: the node's own (CPO) and those partners posted (eMSP)."""


@cdrs.command("list")
@selection_options("CDRs", default="ours and received ones")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_cdrs(selection: Selection, as_json: bool) -> None:
    """List every CDR the node holds, ours and received ones (only received: --received, --partner NAME)."""
    listed = run_admin(
        lambda node: list_documents(node, CDR_KIND, selection, decode_cdr_document, own_default=False)
    )
    rows = [_summary(document, listed.source(pid), listed.names) for document, pid in listed.items]
    empty = "no CDRs received" if selection.wants_received else "no CDRs"
    emit_listing(listed, rows, [_line(s) for s in rows], as_json, noun="CDRs", empty=empty)


@cdrs.command("show")
@click.argument("cdr_id")
@selection_options("CDRs", paging=False, default="ours and received ones")
@click.option(
    "--ocpi-version", default=None, help="Show it as this OCPI version [default: the node's highest]."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def show(cdr_id: str, selection: Selection, ocpi_version: str | None, as_json: bool) -> None:
    """Show one CDR as OCPI sends it, with its deliveries (ours) or the URL we answered (received)."""

    async def action(node: NodeContext) -> dict[str, Any]:
        names = await partner_names(node)
        if selection.wants_received:
            document, sender = await find_received(
                node, CDR_KIND, cdr_id, selection, decode_cdr_document, what="CDR"
            )
            summary = _summary(document, f"from {sender}", names)
        else:
            record = await admin_for(node).get(cdr_id, party=selection.party)
            document = record.document
            source = "own" if record.own else f"from {names.get(record.partner_id or '', record.partner_id)}"
            summary = _summary(document, source, names)
        cdr = document.cdr
        wire = cdr_converters(ocpi_version or newest_version(node))
        location = None
        if not wire.carries_owner("CDR") and cdr.location is None:
            location = await CdrSender(node.store).location_of(cdr)
        try:
            rendered: Any = json.loads(encode(wire.cdr_from_model(cdr, location)))
        except NotRepresentable as exc:
            rendered = {"not_representable": str(exc)}
        return {"summary": summary, "cdr": rendered}

    data = run_admin(action)
    s = data["summary"]
    lines = [_line(s)]
    if s["location_url"]:
        lines.append(f"answered Location: {s['location_url']}")
    lines.extend(
        f"delivered to {d['partner']} at {d['at']}: {d['url'] or 'no Location'}" for d in s["deliveries"]
    )
    _emit(data, as_json, "\n".join(lines) + "\n" + json.dumps(data["cdr"], indent=2))


@cdrs.command("create")
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path)
)
@click.option(
    "--from-session", "session_id", default=None, help="Make the CDR of this COMPLETED session of ours."
)
@click.option(
    "--id", "cdr_id", default=None, help="With --from-session: the CDR id [default: the session id]."
)
@click.option(
    "--total-cost", default=None, help="With --from-session: the cost before taxes [default: the session's]."
)
@click.option("--ocpi-version", default=None, help="OCPI version of FILE [default: the node's highest].")
@click.option("--party", default=None, metavar="CC:PID", help="Owner of an OCPI 2.1.1 CDR / of the session.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def create(
    file: Path | None,
    session_id: str | None,
    cdr_id: str | None,
    total_cost: str | None,
    ocpi_version: str | None,
    party: str | None,
    as_json: bool,
) -> None:
    """Create a final CDR of ours, from FILE (one OCPI CDR object) or --from-session; queue its POST."""
    if (file is None) == (session_id is None):
        raise click.UsageError("give either FILE or --from-session")
    owner = parse_party(party)
    cost = None
    if total_cost is not None:
        try:
            cost = Price(before_taxes=Decimal(total_cost))
        except InvalidOperation:
            raise click.BadParameter(f"{total_cost!r} is not a number", param_hint="--total-cost") from None
    data = b""
    if file is not None:
        data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()

    async def action(node: NodeContext) -> CdrCreated:
        admin = admin_for(node)
        if session_id is not None:
            return await admin.from_session(session_id, cdr_id=cdr_id, total_cost=cost, party=owner)
        parties = node.own.cpo_parties()
        cc, pid = owner or (parties[0] if len(parties) == 1 else ("", ""))

        def parse(version: str) -> Any:
            wire = cdr_converters(version)
            return wire.cdr_to_model(decode(data, wire.models["CDR"]), country_code=cc, party_id=pid)

        return await admin.create(parse_served(node, ocpi_version, parse))

    _created(run_admin(action), as_json)


@cdrs.command("credit")
@click.argument("cdr_id")
@click.option("--id", "credit_id", default=None, help="Id of the credit CDR [default: CDR_ID-C].")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def credit(cdr_id: str, credit_id: str | None, as_json: bool) -> None:
    """Create the credit CDR of one of our CDRs (same data, costs negated); queue its POST."""
    _created(run_admin(lambda node: admin_for(node).credit(cdr_id, credit_id=credit_id)), as_json)
