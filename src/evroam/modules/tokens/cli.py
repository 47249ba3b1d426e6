"""``evroam tokens ...``: the eMSP's own tokens, and the CPO's authorization decision, from the command line.

    evroam tokens import FILE.json [--ocpi-version V] [--party CC:PID] [--json]
    evroam tokens block UID [--type RFID] [--json]
    evroam tokens unblock UID [--type RFID] [--json]
    evroam tokens list [--received | --partner NAME] [--party CC:PID] [--date-from TIME] [--date-to TIME]
                       [--offset N] [--limit N] [--json]
    evroam tokens show UID [--type RFID] [--received | --partner NAME] [--party CC:PID] [--ocpi-version V]
                       [--json]
    evroam tokens stats [--json]
    evroam tokens authorize UID [--type RFID] [--location ID] [--evse UID]... [--issuer CC:PID]
                            [--allowed-real-time] [--timeout S] [--json]

``import`` reads a JSON array of OCPI Token objects (default: the node's highest OCPI version; each may
carry ``authorization_rules``, see :mod:`.validation`), validates all of them and imports all or
nothing; every created or changed token is queued for push to the CPOs. ``block`` / ``unblock`` set
``valid`` and queue a PATCH. ``authorize`` (CPO) runs the decision service, real-time call included,
and exits with status 0 when the token is allowed, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from evroam.core.codec import encode
from evroam.core.types import CiString
from evroam.model.tokens import LocationReferences, Token
from evroam.modules.kit import NodeContext
from evroam.registration.directory import RegisteredPartners
from evroam.registration.repository import StorePartnerRepository

from .._cli import (
    Selection,
    emit_listing,
    find_received,
    import_options,
    list_documents,
    newest_version,
    parse_party,
    run_admin,
    run_import,
    selection_options,
    show_stats,
)
from ..kit import emit as _emit
from .convert import token_converters
from .decision import AuthorizationDecision, AuthorizationService, OcpiRealTime
from .repository import DEFAULT_TYPE, TOKEN_KIND, decode_document, token_object_id
from .rules import AuthorizationRules
from .service import TokenAdmin, TokenReceiver, describe
from .validation import parse_tokens

__all__ = ["admin_for", "decision_service_for", "tokens"]


def admin_for(node: NodeContext) -> TokenAdmin:
    return TokenAdmin(node.store, node.clock, RegisteredPartners(), node.own.emsp_parties())


def decision_service_for(
    node: NodeContext, *, allowed_real_time: bool = False, timeout: float = 5.0
) -> AuthorizationService:
    """The CPO's :class:`AuthorizationService` of ``node`` (real-time calls through ``node.http``)."""
    return AuthorizationService(
        node.store,
        StorePartnerRepository(node.store, node.clock),
        OcpiRealTime(node.http, clock=node.clock, ids=node.ids),
        parties=node.own.cpo_parties(),
        allowed_real_time=allowed_real_time,
        timeout=timeout,
    )


def _rules(rules: AuthorizationRules | None) -> Any:
    return None if rules is None else json.loads(encode(rules))


def _summary(
    token: Token, rules: AuthorizationRules | None = None, partner: str | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "country_code": str(token.country_code),
        "party_id": str(token.party_id),
        "uid": str(token.uid),
        "type": str(token.type),
        "contract_id": str(token.contract_id),
        "valid": token.valid,
        "whitelist": token.whitelist.value,
        "last_updated": token.last_updated.to_json(),
    }
    if rules is not None:
        out["authorization_rules"] = _rules(rules)
    if partner is not None:
        out["received_from"] = partner
    return out


def _line(token: Token, rules: AuthorizationRules | None = None, partner: str | None = None) -> str:
    state = "valid" if token.valid else "BLOCKED"
    extra = []
    if rules is not None and rules.valid_until is not None:
        extra.append(f"until {rules.valid_until.to_json()}")
    if rules is not None and rules.no_credit:
        extra.append("no credit")
    if rules is not None and rules.locations is not None:
        extra.append(f"{len(rules.locations)} location(s) only")
    if partner is not None:
        extra.append(f"from {partner}")
    tail = ("\t" + ", ".join(extra)) if extra else ""
    return (
        f"{token.country_code}*{token.party_id}\t{token.uid}\t{token.type}\t{token.contract_id}\t"
        f"{state}\t{token.whitelist.value}{tail}"
    )


@click.group()
def tokens() -> None:
    """Tokens: the eMSP's own (import, block, list, show) and the CPO's authorization decision."""


@tokens.command("import")
@import_options("tokens")
def import_tokens(file: Path, ocpi_version: str | None, party: str | None, as_json: bool) -> None:
    """Import FILE, a JSON array of OCPI Token objects: all of them, or none if any is invalid."""
    run_import(
        file,
        ocpi_version,
        party,
        as_json,
        parties=lambda node: node.own.emsp_parties(),
        parse=lambda data, version, owner: parse_tokens(data, version, owner=owner),
        store=lambda node, found: admin_for(node).import_tokens(found),
        no_party="this node has no eMSP party: it issues no tokens",
        module="tokens",
    )


def _set_valid(uid: str, token_type: str, valid: bool, as_json: bool) -> None:
    token, rows = run_admin(lambda node: admin_for(node).set_valid(uid, token_type.upper(), valid))
    state = "valid" if token.valid else "blocked"
    data = {**_summary(token), "outbox_rows": rows}
    text = f"token {describe(token.uid, token.type)}: {state}; {rows} push(es) queued"
    _emit(data, as_json, text)


@tokens.command("block")
@click.argument("uid")
@click.option("--type", "token_type", default=DEFAULT_TYPE, show_default=True, help="Token type.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def block(uid: str, token_type: str, as_json: bool) -> None:
    """Block token UID (valid = false): pushed to the CPOs as a PATCH."""
    _set_valid(uid, token_type, False, as_json)


@tokens.command("unblock")
@click.argument("uid")
@click.option("--type", "token_type", default=DEFAULT_TYPE, show_default=True, help="Token type.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def unblock(uid: str, token_type: str, as_json: bool) -> None:
    """Make token UID valid again: pushed to the CPOs as a PATCH."""
    _set_valid(uid, token_type, True, as_json)


@tokens.command("list")
@selection_options("tokens")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_tokens(selection: Selection, as_json: bool) -> None:
    """List the node's own tokens (eMSP), or those eMSPs pushed (CPO: --received, --partner NAME)."""
    listed = run_admin(lambda node: list_documents(node, TOKEN_KIND, selection, decode_document))
    entries = [
        (d.token, None if selection.wants_received else d.rules, listed.received_from(pid))
        for d, pid in listed.items
    ]
    empty = "no tokens yet (see `evroam tokens import`)"
    if selection.wants_received:
        empty = "no tokens received yet" + (f" from {selection.partner}" if selection.partner else "")
    rows = [_summary(*entry) for entry in entries]
    emit_listing(listed, rows, [_line(*entry) for entry in entries], as_json, noun="tokens", empty=empty)


@tokens.command("show")
@click.argument("uid")
@click.option("--type", "token_type", default=DEFAULT_TYPE, show_default=True, help="Token type.")
@selection_options("tokens", paging=False)
@click.option(
    "--ocpi-version", default=None, help="Show it as this OCPI version [default: the node's highest]."
)
@click.option("--json", "as_json", is_flag=True, help="Print the OCPI object as JSON.")
def show(uid: str, token_type: str, selection: Selection, ocpi_version: str | None, as_json: bool) -> None:
    """Show one of the node's own tokens as CPOs see it (with the eMSP's rules, never sent), or one an
    eMSP pushed (--received, --partner NAME)."""

    async def action(node: NodeContext) -> tuple[Token, AuthorizationRules | None, str | None, Any]:
        sender: str | None = None
        if selection.wants_received:
            object_id = token_object_id(uid, token_type.upper())
            document, sender = await find_received(
                node, TOKEN_KIND, object_id, selection, decode_document, what="token"
            )
            token, rules = document.token, None
        else:
            found = await admin_for(node).get_token(uid, token_type.upper())
            token, rules = found.token, found.rules
        wire = token_converters(ocpi_version or newest_version(node))
        return token, rules, sender, json.loads(encode(wire.token_from_model(token)))

    token, rules, sender, wire_json = run_admin(action)
    lines = [_line(token, rules, sender), json.dumps(wire_json, indent=2)]
    if rules is not None:
        lines.append("authorization rules (kept by the eMSP, never sent): " + json.dumps(_rules(rules)))
    data = {"token": wire_json, "authorization_rules": _rules(rules)}
    _emit(data, as_json, "\n".join(lines))


def _decision_data(decision: AuthorizationDecision) -> dict[str, Any]:
    location = decision.location
    return {
        "outcome": decision.outcome.value,
        "allowed": decision.allowed,
        "route": None if decision.route is None else decision.route.value,
        "source": decision.source,
        "reason": decision.reason,
        "emsp": decision.emsp,
        "authorization_reference": decision.authorization_reference,
        "location": None
        if location is None
        else {
            "location_id": str(location.location_id),
            "evse_uids": None if location.evse_uids is None else [str(e) for e in location.evse_uids],
        },
        "token": None if decision.token is None else _summary(decision.token),
    }


@tokens.command("authorize")
@click.argument("uid")
@click.option("--type", "token_type", default=DEFAULT_TYPE, show_default=True, help="Token type.")
@click.option("--location", "location_id", default=None, help="Location where the driver wants to charge.")
@click.option("--evse", "evse_uids", multiple=True, help="EVSE uid at --location (repeatable).")
@click.option(
    "--issuer", default=None, metavar="CC:PID", help="The eMSP party that issued the token, if known."
)
@click.option(
    "--allowed-real-time/--allowed-local",
    default=False,
    show_default=True,
    help="Whether tokens with whitelist ALLOWED are checked with the eMSP in real time "
    "[env EVROAM_TOKENS_AUTHORIZE_ALLOWED_REAL_TIME].",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds to wait for the eMSP [env EVROAM_TOKENS_AUTHORIZE_TIMEOUT].",
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def authorize(
    uid: str,
    token_type: str,
    location_id: str | None,
    evse_uids: tuple[str, ...],
    issuer: str | None,
    allowed_real_time: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """CPO: may token UID charge (at --location / --evse)? Exit status 0 when allowed, 1 otherwise."""
    if evse_uids and location_id is None:
        raise click.BadParameter("--evse needs --location", param_hint="--evse")
    where = (
        None
        if location_id is None
        else LocationReferences(
            location_id=CiString(location_id), evse_uids=tuple(CiString(e) for e in evse_uids) or None
        )
    )
    owner = parse_party(issuer)

    async def action(node: NodeContext) -> AuthorizationDecision:
        service = decision_service_for(node, allowed_real_time=allowed_real_time, timeout=timeout)
        return await service.authorize(uid, token_type.upper(), where, issuer=owner)

    decision = run_admin(action)
    lines = [f"{decision.outcome.value}: {decision.reason}"]
    whose = "token from eMSP" if decision.source.startswith("local") else "eMSP"
    lines.append(f"decided: {decision.source}" + (f" ({whose} {decision.emsp})" if decision.emsp else ""))
    if decision.authorization_reference:
        lines.append(f"authorization_reference: {decision.authorization_reference}")
    if decision.location is not None and decision.location.evse_uids:
        lines.append("EVSEs permitted: " + ", ".join(str(e) for e in decision.location.evse_uids))
    _emit(_decision_data(decision), as_json, "\n".join(lines))
    sys.exit(0 if decision.allowed else 1)


@tokens.command("stats")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def stats(as_json: bool) -> None:
    """Counts: our tokens, those received from each partner, stale updates ignored."""

    show_stats(
        as_json,
        kind=TOKEN_KIND,
        receiver=lambda node: TokenReceiver(node.store),
        own="own tokens",
        stale="stale token updates ignored",
    )
