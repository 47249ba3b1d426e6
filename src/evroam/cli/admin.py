"""``evroam admin ...``: the operator dashboard's own login (``/dashboard`` on the node).

* ``evroam admin set-password``: asks for the password twice (hidden), or reads it from
  ``--password-stdin`` or the ``EVROAM_ADMIN_PASSWORD`` environment variable; stores it hashed
  (scrypt) in the node's database, and ends every open dashboard session;
* ``evroam admin status``: whether a password is set, and where the dashboard is;
* ``evroam admin logout-all``: ends every dashboard session (the password stays);
* ``evroam admin disable``: removes the password: the dashboard refuses every login.

The password is the node's own: no partner's OCPI token opens the dashboard. See ``docs/dashboard.md``.
"""

from __future__ import annotations

import sys

import click

from evroam.cli.node import run_on_node
from evroam.modules.kit import emit
from evroam.node.wiring import Node

__all__ = ["admin"]

PASSWORD_ENV = "EVROAM_ADMIN_PASSWORD"


@click.group()
def admin() -> None:
    """The dashboard's admin login (at /dashboard on the node)."""


@admin.command("set-password")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def set_password(password_stdin: bool, as_json: bool) -> None:
    """Set the admin password of the dashboard (at least 8 characters); ends every open session.

    Asked twice (hidden) unless --password-stdin or EVROAM_ADMIN_PASSWORD gives it."""
    import os

    from evroam.http.dashboard.auth import MIN_PASSWORD, set_admin_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    else:
        password = click.prompt("Admin password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"the admin password needs at least {MIN_PASSWORD} characters")

    async def action(node: Node) -> str:
        await set_admin_password(node.store, password)
        return f"{node.config.url}/dashboard"

    url = run_on_node(action)
    emit({"password_set": True, "dashboard": url}, as_json, f"admin password set; the dashboard: {url}")


@admin.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def status(as_json: bool) -> None:
    """Whether an admin password is set, and the dashboard's URL."""
    from evroam.http.dashboard.auth import ADMIN_SETTING

    async def action(node: Node) -> tuple[bool, str]:
        return await node.store.get_setting(ADMIN_SETTING) is not None, f"{node.config.url}/dashboard"

    configured, url = run_on_node(action)
    text = (
        f"dashboard: {url}\nadmin password: {'set' if configured else 'not set (evroam admin set-password)'}"
    )
    emit({"password_set": configured, "dashboard": url}, as_json, text)


@admin.command("logout-all")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def logout_all(as_json: bool) -> None:
    """End every dashboard session (the password stays)."""
    from evroam.http.dashboard.auth import clear_admin

    async def action(node: Node) -> None:
        await clear_admin(node.store, keep_password=True)

    run_on_node(action)
    emit({"sessions_ended": True}, as_json, "every dashboard session ended")


@admin.command("disable")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def disable(as_json: bool) -> None:
    """Remove the admin password: the dashboard refuses every login until one is set again."""
    from evroam.http.dashboard.auth import clear_admin

    async def action(node: Node) -> None:
        await clear_admin(node.store)

    run_on_node(action)
    emit({"password_set": False}, as_json, "admin password removed; the dashboard refuses every login")
