"""The operator dashboard at ``/dashboard``: server-rendered pages of what the node holds (partners,
a map of locations, sessions with a chart, CDRs with the tariff engine's explanation, tokens, the
outbox with a retry action), behind an admin login of its own (:mod:`.auth`). Its script and
stylesheet ship in this package (``static/``) and are served by the node: nothing comes from a CDN.
See ``docs/dashboard.md``."""

from evroam.http.dashboard.app import Dashboard
from evroam.http.dashboard.auth import (
    AdminAuth,
    clear_admin,
    hash_password,
    set_admin_password,
    verify_password,
)

__all__ = ["AdminAuth", "Dashboard", "clear_admin", "hash_password", "set_admin_password", "verify_password"]
