"""The dashboard's routes (framework-free :class:`~evroam.http.server.WebRoute` handlers)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec

from evroam.core.clock import Clock
from evroam.http.server import WebRequest, WebResponse, WebRoute
from evroam.registration.service import RegistrationService
from evroam.store.port import OutboxStatus, Store

from . import views
from .auth import COOKIE, AdminAuth, Session
from .pages import Table, badge, esc, items, layout, login_page, money, object_path, when

__all__ = ["Dashboard"]

_ASSETS = ("dashboard.css", "dashboard.js")
_TYPES = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8"}
_SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_JSON = "application/json"
_LIST_LIMIT = 200

Page = Callable[[WebRequest, Session], Awaitable[WebResponse]]


def _load_assets() -> tuple[dict[str, bytes], str]:
    folder = resources.files("evroam.http.dashboard").joinpath("static")
    files = {name: folder.joinpath(name).read_bytes() for name in _ASSETS}
    digest = hashlib.sha256(b"".join(files[n] for n in _ASSETS)).hexdigest()[:12]
    return files, digest


def _redirect(to: str, cookies: tuple[str, ...] = ()) -> WebResponse:
    return WebResponse(b"", status=303, headers={**_SECURITY, "Location": to}, cookies=cookies)


def _html(text: str, status: int = 200, cookies: tuple[str, ...] = ()) -> WebResponse:
    return WebResponse(text.encode("utf-8"), status=status, headers=_SECURITY, cookies=cookies)


def _json(data: Any, status: int = 200) -> WebResponse:
    return WebResponse(
        msgspec.json.encode(data),
        status=status,
        media_type=_JSON,
        headers=_SECURITY,
    )


def _form(request: WebRequest) -> dict[str, str]:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    parsed = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def _same_origin(request: WebRequest) -> bool:
    """A POST whose ``Origin`` (or else ``Referer``) names another host is refused (CSRF defence in
    depth, next to SameSite=Strict and the CSRF token)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source is None
    return urlsplit(source).netloc == request.headers.get("host", "")


@dataclass(frozen=True, slots=True)
class _Key:
    cc: str
    pid: str
    oid: str


def _key(request: WebRequest) -> _Key:
    p = request.path_params
    return _Key(p["cc"], p["pid"], p["oid"])


class Dashboard:
    """The operator dashboard of one node, at ``/dashboard``."""

    def __init__(
        self,
        store: Store,
        registration: RegistrationService,
        clock: Clock,
        *,
        node_label: str,
        secure: bool = False,
    ) -> None:
        self.store = store
        self.registration = registration
        self.clock = clock
        self.node_label = node_label
        self.auth = AdminAuth(store, clock, secure=secure)
        self.assets, self.asset_version = _load_assets()

    # -- plumbing ----------------------------------------------------------------------------------

    def routes(self) -> list[WebRoute]:
        key = "{cc:str}/{pid:str}/{oid:str}"
        page = self._page
        return [
            WebRoute("/dashboard", ["GET"], self._index),
            WebRoute("/dashboard/login", ["GET", "POST"], self._login),
            WebRoute("/dashboard/logout", ["POST"], self._logout),
            WebRoute("/dashboard/static/{name:str}", ["GET"], self._static),
            WebRoute("/dashboard/partners", ["GET"], page(self.partners)),
            WebRoute("/dashboard/map", ["GET"], page(self.map)),
            WebRoute("/dashboard/api/map", ["GET"], page(self.map_data, api=True)),
            WebRoute(f"/dashboard/locations/{key}", ["GET"], page(self.location)),
            WebRoute("/dashboard/sessions", ["GET"], page(self.sessions)),
            WebRoute(f"/dashboard/sessions/{key}", ["GET"], page(self.session)),
            WebRoute(f"/dashboard/api/sessions/{key}", ["GET"], page(self.session_data, api=True)),
            WebRoute("/dashboard/cdrs", ["GET"], page(self.cdrs)),
            WebRoute(f"/dashboard/cdrs/{key}", ["GET"], page(self.cdr)),
            WebRoute("/dashboard/tokens", ["GET"], page(self.tokens)),
            WebRoute("/dashboard/outbox", ["GET"], page(self.outbox)),
            WebRoute("/dashboard/outbox/retry", ["POST"], page(self.retry)),
            WebRoute("/dashboard/plan", ["GET"], page(self.plan)),
        ]

    def _page(self, handler: Page, *, api: bool = False) -> Callable[[WebRequest], Awaitable[WebResponse]]:
        async def guarded(request: WebRequest) -> WebResponse:
            session = await self.auth.check(request.cookies.get(COOKIE))
            if session is None:
                if api:
                    return _json({"error": "log in first"}, status=401)
                return _redirect("/dashboard/login")
            if request.method == "POST" and not (
                _same_origin(request) and _form(request).get("csrf") == session.csrf
            ):
                return _html("<p>Refused: the form's CSRF token or origin does not match.</p>", status=403)
            try:
                return await handler(request, session)
            except LookupError as exc:
                return _html(f"<p>{esc(exc.args[0] if exc.args else exc)}</p>", status=404)

        return guarded

    def _show(
        self, request: WebRequest, session: Session, title: str, active: str, body: str, **kw: Any
    ) -> WebResponse:
        if request.query.get("fragment") == "1":
            return _html(body)
        return _html(
            layout(
                title,
                active,
                body,
                assets=self.asset_version,
                csrf=session.csrf,
                node=self.node_label,
                **kw,
            )
        )

    async def _index(self, request: WebRequest) -> WebResponse:
        return _redirect("/dashboard/partners")

    async def _static(self, request: WebRequest) -> WebResponse:
        name = request.path_params["name"]
        body = self.assets.get(name)
        if body is None:
            return WebResponse(b"not found", status=404, media_type="text/plain")
        return WebResponse(
            body,
            media_type=_TYPES[name.rsplit(".", 1)[1]],
            headers={
                "Cache-Control": "public, max-age=31536000, immutable",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def _login(self, request: WebRequest) -> WebResponse:
        configured = await self.auth.configured()
        if request.method == "GET":
            return _html(login_page(assets=self.asset_version, configured=configured))
        if not _same_origin(request):
            return _html("<p>Refused: cross-site login.</p>", status=403)
        session = await self.auth.login(_form(request).get("password", ""))
        if session is None:
            message = "Wrong password." if configured else "No admin password is set on this node."
            return _html(
                login_page(assets=self.asset_version, message=message, configured=configured), status=401
            )
        return _redirect("/dashboard/partners", (self.auth.set_cookie(session),))

    async def _logout(self, request: WebRequest) -> WebResponse:
        session = await self.auth.check(request.cookies.get(COOKIE))
        if session is not None and _form(request).get("csrf") != session.csrf:
            return _html("<p>Refused: the form's CSRF token does not match.</p>", status=403)
        return _redirect("/dashboard/login", (self.auth.clear_cookie(),))

    async def _names(self) -> dict[str, str]:
        return {p.id: p.name for p in await self.registration.partners()}

    # -- pages -------------------------------------------------------------------------------------

    async def partners(self, request: WebRequest, session: Session) -> WebResponse:
        rows = await views.partner_rows(self.store, self.registration)
        table = Table(
            ["Partner", "Status", "Version", "Parties", "Endpoints", "Last contact", "Outbox backlog"],
            css="partners",
        )
        for row in rows:
            p = row.partner
            endpoints = "".join(
                f"<li><b>{esc(e.module)}</b> {esc(e.role or '')} <small>{esc(e.url)}</small></li>"
                for e in p.endpoints
            )
            parties = items(f"{r.country_code}*{r.party_id} ({r.role})" for r in p.roles)
            versions = esc(p.version or "-")
            if p.offered_versions:
                versions += f"<br><small>offered {items(p.offered_versions)}</small>"
            backlog = (
                f'<span class="num" data-partner-backlog="{esc(p.name)}">{row.pending + row.in_flight}</span>'
                f" pending"
                + (f", {row.in_flight} in flight" if row.in_flight else "")
                + (
                    f', <a href="/dashboard/outbox">{badge(f"{row.parked} parked", "parked")}</a>'
                    if row.parked
                    else ""
                )
            )
            table.add(
                f'<span class="partner-name">{esc(p.name)}</span><br><small>{esc(p.id)}</small>',
                badge(p.status.value),
                versions,
                parties,
                f'<details><summary>{len(p.endpoints)} endpoints</summary><ul class="endpoints">{endpoints}</ul></details>',
                f"{when(row.last_contact)}<br><small>{esc(row.last_contact_what)}</small>",
                backlog,
            )
        intro = (
            f"<p>{len(rows)} partner{'s' if len(rows) != 1 else ''}. Register one with "
            "<code>evroam partners register</code> or invite one with <code>evroam partners invite</code>.</p>"
        )
        return self._show(request, session, "Partners", "partners", intro + table.render("no partner yet"))

    async def map(self, request: WebRequest, session: Session) -> WebResponse:
        body = (
            '<div class="map-wrap"><div class="map-tools">'
            '<label><input type="checkbox" id="show-own" checked> own</label>'
            '<label><input type="checkbox" id="show-received" checked> received</label>'
            '<span class="legend"><i class="dot available"></i>available <i class="dot charging"></i>in use '
            '<i class="dot fault"></i>out of order <i class="dot unknown"></i>other</span>'
            '<span id="map-count"></span></div>'
            '<svg id="map" role="img" aria-label="Map of locations" viewBox="0 0 1000 600"></svg>'
            '<aside id="map-info"><p>Click a location.</p></aside></div>'
            "<p class=hint>Positions are plotted from the locations' coordinates (no map tiles: the "
            "dashboard works offline). Scroll to zoom, drag to pan, double-click to reset.</p>"
        )
        return self._show(request, session, "Map", "map", body, live=False)

    async def map_data(self, request: WebRequest, session: Session) -> WebResponse:
        pins = await views.location_pins(self.store)
        return _json(views.map_points(pins, await self._names()))

    async def location(self, request: WebRequest, session: Session) -> WebResponse:
        k = _key(request)
        location, partner_id = await views.load_location(self.store, k.cc, k.pid, k.oid)
        names = await self._names()
        source = "own" if partner_id is None else names.get(partner_id, partner_id)
        table = Table(
            ["EVSE", "EVSE id", "Status", "Connectors", "Capabilities", "Last updated"], css="evses"
        )
        for evse in location.evses or ():
            connectors = "<br>".join(
                f"{esc(c.id)}: {esc(c.standard)} {esc(c.format.value)} {esc(c.power_type.value)}"
                f" {c.max_voltage} V {c.max_amperage} A"
                for c in evse.connectors
            )
            table.add(
                esc(evse.uid),
                esc(evse.evse_id or "-"),
                badge(evse.status.value, views.location_colour([evse.status.value])),
                connectors,
                items(str(c) for c in evse.capabilities or ()),
                when(evse.last_updated),
            )
        facts = (
            '<dl class="facts">'
            f"<dt>Owner</dt><dd>{esc(location.country_code)}*{esc(location.party_id)}</dd>"
            f"<dt>Id</dt><dd>{esc(location.id)}</dd>"
            f"<dt>Source</dt><dd>{esc(source)}</dd>"
            f"<dt>Address</dt><dd>{esc(location.address)}, {esc(location.postal_code or '')} {esc(location.city)}, {esc(location.country)}</dd>"
            f"<dt>Coordinates</dt><dd>{esc(location.coordinates.latitude)}, {esc(location.coordinates.longitude)}</dd>"
            f"<dt>Time zone</dt><dd>{esc(location.time_zone or '-')}</dd>"
            f"<dt>Last updated</dt><dd>{when(location.last_updated)}</dd></dl>"
        )
        title = location.name or location.address
        return self._show(
            request, session, f"Location {title}", "map", facts + table.render("no EVSE"), page="location"
        )

    async def sessions(self, request: WebRequest, session: Session) -> WebResponse:
        rows = await views.session_rows(self.store)
        names = await self._names()
        try:
            start = max(0, int(request.query.get("offset", "0")))
        except ValueError:
            start = 0
        shown = rows[start : start + _LIST_LIMIT]
        active = sum(1 for r in rows if r.session.status.value == "ACTIVE")
        table = Table(
            ["Session", "Status", "Location / EVSE", "Token", "Started", "Ended", "kWh", "Cost", "Source"],
            css="sessions",
        )
        for row in shown:
            s = row.session
            cost = (
                "-"
                if s.total_cost is None
                else f"{money(s.total_cost.before_taxes)} {esc(s.currency)} excl. VAT"
            )
            table.add(
                f'<a class="session-link" href="{object_path("sessions", s.country_code, s.party_id, s.id)}">{esc(s.id)}</a>',
                badge(s.status.value),
                f"{esc(s.location_id)} / {esc(s.evse_uid or '-')}",
                esc(s.cdr_token.uid),
                when(s.start_date_time),
                when(s.end_date_time),
                f'<span class="num">{s.kwh:.3f}</span>',
                cost,
                esc(
                    "own"
                    if row.partner_id is None or row.partner_id.startswith("party:")
                    else names.get(row.partner_id, row.partner_id)
                ),
            )
        pager = ""
        if len(rows) > _LIST_LIMIT:
            links = " ".join(
                f'<a href="/dashboard/sessions?offset={o}"{" class=active" if o == start else ""}>{o + 1}-{min(o + _LIST_LIMIT, len(rows))}</a>'
                for o in range(0, len(rows), _LIST_LIMIT)
            )
            pager = f'<p class="pager">{links}</p>'
        intro = f"<p>{active} active, {len(rows)} in all (active first).</p>"
        return self._show(
            request, session, "Sessions", "sessions", intro + table.render("no session yet") + pager
        )

    async def session(self, request: WebRequest, session: Session) -> WebResponse:
        k = _key(request)
        s, _ = await views.load_session(self.store, k.cc, k.pid, k.oid)
        api = object_path("api/sessions", s.country_code, s.party_id, s.id)
        facts = (
            '<dl class="facts">'
            f"<dt>Status</dt><dd>{badge(s.status.value)}</dd>"
            f"<dt>Location / EVSE</dt><dd>{esc(s.location_id)} / {esc(s.evse_uid or '-')} / {esc(s.connector_id or '-')}</dd>"
            f"<dt>Token</dt><dd>{esc(s.cdr_token.uid)} ({esc(s.auth_method.value)})</dd>"
            f"<dt>Started</dt><dd>{when(s.start_date_time)}</dd><dt>Ended</dt><dd>{when(s.end_date_time)}</dd>"
            f'<dt>Energy</dt><dd><span id="session-kwh">{s.kwh:.3f}</span> kWh</dd>'
            f"<dt>Cost</dt><dd>{'-' if s.total_cost is None else money(s.total_cost.before_taxes) + ' ' + esc(s.currency) + ' excl. VAT'}</dd></dl>"
        )
        chart = (
            f'<figure class="chart"><svg id="session-chart" data-src="{esc(api)}" viewBox="0 0 800 320" '
            'role="img" aria-label="Power and energy of the session"></svg>'
            '<figcaption><i class="line power"></i>power (kW) <i class="line energy"></i>energy (kWh)</figcaption></figure>'
        )
        return self._show(
            request, session, f"Session {s.id}", "sessions", facts + chart, live=False, page="session"
        )

    async def session_data(self, request: WebRequest, session: Session) -> WebResponse:
        k = _key(request)
        s, _ = await views.load_session(self.store, k.cc, k.pid, k.oid)
        end = s.end_date_time or (s.last_updated if s.status.value == "ACTIVE" else None)
        chart = views.session_chart(s.charging_periods or (), end)
        return _json(
            {
                "id": str(s.id),
                "status": s.status.value,
                "kwh": float(s.kwh),
                "times": chart.times,
                "power_kw": chart.power_kw,
                "energy_kwh": chart.energy_kwh,
            }
        )

    async def cdrs(self, request: WebRequest, session: Session) -> WebResponse:
        rows = await views.cdr_rows(self.store)
        names = await self._names()
        table = Table(
            ["CDR", "Session", "Location", "Ended", "kWh", "Total excl. VAT", "incl. VAT", "Source"],
            css="cdrs",
        )
        for cdr, partner_id in rows[:_LIST_LIMIT]:
            incl = (
                cdr.total_cost.after_taxes_total() if hasattr(cdr.total_cost, "after_taxes_total") else None
            )
            table.add(
                f'<a class="cdr-link" href="{object_path("cdrs", cdr.country_code, cdr.party_id, cdr.id)}">{esc(cdr.id)}</a>',
                esc(cdr.session_id or "-"),
                esc(cdr.cdr_location.id),
                when(cdr.end_date_time),
                f"{cdr.total_energy:.3f}",
                f"{money(cdr.total_cost.before_taxes)} {esc(cdr.currency)}",
                f"{money(incl)} {esc(cdr.currency)}" if incl is not None else "-",
                esc("own" if partner_id is None else names.get(partner_id, partner_id)),
            )
        intro = f"<p>{len(rows)} CDRs (newest first). Open one for the tariff engine's explanation of its price.</p>"
        return self._show(request, session, "CDRs", "cdrs", intro + table.render("no CDR yet"))

    async def cdr(self, request: WebRequest, session: Session) -> WebResponse:
        k = _key(request)
        cdr, _ = await views.load_cdr(self.store, k.cc, k.pid, k.oid)
        explanation = await views.explain_cdr(self.store, cdr)
        incl = cdr.total_cost.after_taxes_total()
        facts = (
            '<dl class="facts">'
            f"<dt>Session</dt><dd>{esc(cdr.session_id or '-')}</dd>"
            f"<dt>Location / EVSE</dt><dd>{esc(cdr.cdr_location.id)} / {esc(cdr.cdr_location.evse_uid)}</dd>"
            f"<dt>Token</dt><dd>{esc(cdr.cdr_token.uid)}</dd>"
            f"<dt>Period</dt><dd>{when(cdr.start_date_time)} .. {when(cdr.end_date_time)}</dd>"
            f"<dt>Energy</dt><dd>{cdr.total_energy:.3f} kWh</dd>"
            f"<dt>Total</dt><dd>{money(cdr.total_cost.before_taxes)} {esc(cdr.currency)} excl. VAT"
            f"{'' if incl is None else ', ' + money(incl) + ' ' + esc(cdr.currency) + ' incl. VAT'}</dd></dl>"
            "<h2>How the price came about (the tariff engine)</h2>"
            f'<pre class="explain">{esc(explanation)}</pre>'
        )
        return self._show(request, session, f"CDR {cdr.id}", "cdrs", facts, live=False, page="cdr")

    async def tokens(self, request: WebRequest, session: Session) -> WebResponse:
        rows, total = await views.token_rows(self.store, _LIST_LIMIT)
        names = await self._names()
        table = Table(
            ["UID", "Type", "Issuer", "Contract id", "Valid", "Whitelist", "Last updated", "Source"],
            css="tokens",
        )
        for token, partner_id in rows:
            table.add(
                f"{esc(token.uid)}<br><small>{esc(token.country_code)}*{esc(token.party_id)}</small>",
                esc(token.type),
                esc(token.issuer),
                esc(token.contract_id),
                badge("valid" if token.valid else "invalid"),
                esc(token.whitelist),
                when(token.last_updated),
                esc("own" if partner_id is None else names.get(partner_id, partner_id)),
            )
        intro = (
            f"<p>{total} tokens"
            + (f" (the first {_LIST_LIMIT} shown)" if total > _LIST_LIMIT else "")
            + ".</p>"
        )
        return self._show(request, session, "Tokens", "tokens", intro + table.render("no token yet"))

    async def outbox(self, request: WebRequest, session: Session) -> WebResponse:
        names = await self._names()
        parts = []
        for status, title in (
            (OutboxStatus.PARKED, "Parked (given up: retry when the partner is fixed)"),
            (OutboxStatus.PENDING, "Pending"),
            (OutboxStatus.IN_FLIGHT, "In flight"),
        ):
            found, total = await views.outbox_items(self.store, status, _LIST_LIMIT)
            headers = ["Job", "Partner", "Module", "Object", "Attempts", "Due", "Last error"]
            if status is OutboxStatus.PARKED:
                headers.append("")
            table = Table(headers, css=f"outbox {status.value}")
            for item in found:
                cells = [
                    f'<span class="job-id">{item.id}</span>',
                    esc(names.get(item.partner_id, item.partner_id)),
                    esc(item.kind),
                    f"<code>{esc(item.object_key)}</code>",
                    str(item.attempts),
                    when(item.due_at),
                    esc(item.last_error or "-"),
                ]
                if status is OutboxStatus.PARKED:
                    cells.append(
                        '<form method="post" action="/dashboard/outbox/retry">'
                        f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">'
                        f'<input type="hidden" name="id" value="{item.id}">'
                        f'<button type="submit" class="retry" data-job="{item.id}">Retry</button></form>'
                    )
                table.add(*cells)
            more = f" (first {_LIST_LIMIT} of {total})" if total > len(found) else ""
            retry_all = ""
            if status is OutboxStatus.PARKED and total:
                retry_all = (
                    '<form method="post" action="/dashboard/outbox/retry" class="inline">'
                    f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">'
                    '<input type="hidden" name="all" value="1">'
                    '<button type="submit">Retry all parked</button></form>'
                )
            parts.append(
                f'<section id="outbox-{status.value}"><h2>{esc(title)}: <span class="num">{total}</span>{more} {retry_all}</h2>'
                + table.render("none")
                + "</section>"
            )
        flash = ""
        if "retried" in request.query:
            flash = f'<p class="flash" role="status">Retried: {esc(request.query["retried"] or "none")}.</p>'
        return self._show(request, session, "Outbox", "outbox", flash + "".join(parts))

    async def retry(self, request: WebRequest, session: Session) -> WebResponse:
        form = _form(request)
        now = self.clock.now()
        if form.get("all") == "1":
            ids = [item.id for item in await self.store.outbox_list(status=OutboxStatus.PARKED)]
        else:
            try:
                ids = [int(form.get("id", ""))]
            except ValueError:
                return _html("<p>Name a job to retry.</p>", status=400)
        done = [i for i in ids if await self.store.outbox_retry(i, due_at=now)]
        return _redirect("/dashboard/outbox?retried=" + ",".join(str(i) for i in done))

    async def plan(self, request: WebRequest, session: Session) -> WebResponse:
        body = (
            "<p>The smart-charging plan (the scheduler's limits per EVSE over the next hours) will show "
            "here once the node runs the scheduler (<code>evroam.smart</code>). Until then, the charging "
            "profiles partners set are answered by the chargingprofiles module; see "
            "<code>evroam chargingprofiles --help</code>.</p>"
        )
        return self._show(request, session, "Charging plan", "plan", body, live=False)
