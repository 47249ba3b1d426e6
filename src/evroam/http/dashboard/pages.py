"""The dashboard's HTML: plain functions building escaped strings (no template engine needed for a
dozen small pages). Every dynamic value goes through :func:`esc`; no inline script or style (the
pages are served with a strict Content-Security-Policy)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

__all__ = ["Table", "esc", "layout", "login_page", "object_path", "when"]

NAV = (
    ("partners", "Partners"),
    ("map", "Map"),
    ("sessions", "Sessions"),
    ("cdrs", "CDRs"),
    ("tokens", "Tokens"),
    ("outbox", "Outbox"),
    ("plan", "Charging plan"),
)


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def when(value: datetime | None) -> str:
    """A timestamp as UTC ``YYYY-MM-DD HH:MM:SSZ`` (the page's script shows it as local time too)."""
    if value is None:
        return "-"
    text = value.isoformat().replace("+00:00", "Z")
    return f'<time datetime="{esc(text)}">{esc(text[:19].replace("T", " "))}Z</time>'


def money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def object_path(prefix: str, country_code: str, party_id: str, object_id: str) -> str:
    parts = (quote(str(p), safe="") for p in (country_code, party_id, object_id))
    return f"/dashboard/{prefix}/" + "/".join(parts)


class Table:
    """An HTML table: ``headers`` and rows of already-escaped cells."""

    def __init__(self, headers: Sequence[str], *, css: str = "") -> None:
        self.headers = headers
        self.rows: list[Sequence[str]] = []
        self.css = css

    def add(self, *cells: str) -> None:
        self.rows.append(cells)

    def render(self, empty: str = "nothing here yet") -> str:
        head = "".join(f"<th>{esc(h)}</th>" for h in self.headers)
        if not self.rows:
            body = f'<tr><td colspan="{len(self.headers)}" class="empty">{esc(empty)}</td></tr>'
        else:
            body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in self.rows)
        css = f' class="{esc(self.css)}"' if self.css else ""
        return f"<table{css}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def badge(text: str, kind: str | None = None) -> str:
    return f'<span class="badge {esc((kind or text).lower())}">{esc(text)}</span>'


def layout(
    title: str,
    active: str,
    body: str,
    *,
    assets: str,
    csrf: str,
    node: str,
    live: bool = True,
    page: str = "",
) -> str:
    """A whole page. ``body`` goes in ``<div id="live">``, which the script refreshes every few seconds
    (``?fragment=1`` of the same URL) when ``live``."""
    links = "".join(
        f'<a href="/dashboard/{key}"{" class=active" if key == active else ""}>{esc(label)}</a>'
        for key, label in NAV
    )
    live_attr = ' data-live="5"' if live else ""
    return (
        "<!doctype html>"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="csrf-token" content="{esc(csrf)}">'
        f"<title>{esc(title)} - evroam</title>"
        '<link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="/dashboard/static/dashboard.css?v={esc(assets)}">'
        f'<script defer src="/dashboard/static/dashboard.js?v={esc(assets)}"></script>'
        f'</head><body data-page="{esc(page or active)}">'
        f'<header><span class="brand">evroam</span><span class="node">{esc(node)}</span>'
        f"<nav>{links}</nav>"
        '<form method="post" action="/dashboard/logout" class="logout">'
        f'<input type="hidden" name="csrf" value="{esc(csrf)}">'
        '<button type="submit">Log out</button></form></header>'
        f'<main><h1>{esc(title)}</h1><p class="updated" id="updated" aria-live="polite"></p>'
        f'<div id="live"{live_attr}>{body}</div></main></body></html>'
    )


def login_page(*, assets: str, message: str = "", configured: bool = True) -> str:
    note = (
        ""
        if configured
        else '<p class="warn">No admin password is set on this node: run '
        "<code>evroam admin set-password</code> first.</p>"
    )
    error = f'<p class="error" role="alert">{esc(message)}</p>' if message else ""
    return (
        "<!doctype html>"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Log in - evroam</title>"
        '<link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="/dashboard/static/dashboard.css?v={esc(assets)}">'
        '</head><body class="login"><main><h1>evroam dashboard</h1>'
        f"{note}{error}"
        '<form method="post" action="/dashboard/login">'
        '<label for="password">Admin password</label>'
        '<input id="password" name="password" type="password" autocomplete="current-password" required>'
        '<button type="submit">Log in</button></form>'
        "<p class=hint>The admin password is the node's own (<code>evroam admin set-password</code>), "
        "not a partner's OCPI token.</p></main></body></html>"
    )


def items(values: Iterable[str], sep: str = ", ") -> str:
    return sep.join(esc(v) for v in values) or "-"
