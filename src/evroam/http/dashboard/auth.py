"""The dashboard's own admin login: a password hashed with scrypt, a signed session cookie and a
CSRF token derived from it. Nothing here is a partner's OCPI token, and no partner token opens it.

* The password is set with ``evroam admin set-password`` and stored (setting ``dashboard.admin``) as
  ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (base64 salt and hash, 16-byte salt, 32-byte hash).
* A session is a cookie ``evroam_admin=<expiry>.<nonce>.<mac>``: HMAC-SHA256 with a key kept in the
  store (setting ``dashboard.session_key``), so any worker of the node can check it. Setting a new
  password (or ``evroam admin logout-all``) makes a new key: every session ends.
* The cookie is ``HttpOnly; SameSite=Strict; Path=/dashboard`` (``Secure`` when the node's URL is
  https). Every POST also carries a CSRF token (HMAC of the session), checked with ``compare_digest``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from evroam.core.clock import Clock
from evroam.core.passwords import hash_password, verify_password
from evroam.store.port import Operations

__all__ = [
    "ADMIN_SETTING",
    "COOKIE",
    "KEY_SETTING",
    "AdminAuth",
    "clear_admin",
    "hash_password",
    "set_admin_password",
    "verify_password",
]

ADMIN_SETTING = "dashboard.admin"
KEY_SETTING = "dashboard.session_key"
COOKIE = "evroam_admin"
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 8


# scrypt cost: n=2**14, r=8, p=1 (16 MiB, about 50 ms here): the parameters are stored with the hash
async def set_admin_password(ops: Operations, password: str) -> None:
    """Store the admin password (hashed) and a new session key: every open session ends."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the admin password needs at least {MIN_PASSWORD} characters")
    await ops.set_setting(ADMIN_SETTING, hash_password(password))
    await ops.set_setting(KEY_SETTING, secrets.token_hex(32))


async def clear_admin(ops: Operations, *, keep_password: bool = False) -> None:
    """End every session (a new key); without ``keep_password`` also remove the password (the
    dashboard then refuses every login until one is set again)."""
    if not keep_password:
        await ops.delete_setting(ADMIN_SETTING)
    await ops.set_setting(KEY_SETTING, secrets.token_hex(32))


@dataclass(frozen=True, slots=True)
class Session:
    """A checked session cookie and its CSRF token."""

    cookie: str
    csrf: str


class AdminAuth:
    """Login, session and CSRF checks against the settings in the store."""

    def __init__(self, ops: Operations, clock: Clock, *, secure: bool = False) -> None:
        self._ops = ops
        self._clock = clock
        self._secure = secure

    async def configured(self) -> bool:
        return await self._ops.get_setting(ADMIN_SETTING) is not None

    async def _key(self) -> bytes | None:
        key = await self._ops.get_setting(KEY_SETTING)
        return None if key is None else key.encode("ascii")

    async def login(self, password: str) -> Session | None:
        """A new session when ``password`` is the admin password, else ``None``."""
        stored = await self._ops.get_setting(ADMIN_SETTING)
        key = await self._key()
        if stored is None or key is None or not verify_password(password, stored):
            return None
        expiry = int((self._clock.now() + SESSION_LIFETIME).timestamp())
        body = f"{expiry}.{secrets.token_hex(12)}"
        cookie = f"{body}.{_mac(key, body)}"
        return Session(cookie=cookie, csrf=_mac(key, "csrf." + cookie))

    async def check(self, cookie: str | None) -> Session | None:
        """The session of a cookie that is ours, untampered and not expired, else ``None``."""
        if not cookie:
            return None
        key = await self._key()
        if key is None or await self._ops.get_setting(ADMIN_SETTING) is None:
            return None
        try:
            expiry, nonce, mac = cookie.split(".")
            expires = int(expiry)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, _mac(key, f"{expiry}.{nonce}")):
            return None
        if expires < self._clock.now().timestamp():
            return None
        return Session(cookie=cookie, csrf=_mac(key, "csrf." + cookie))

    def set_cookie(self, session: Session) -> str:
        secure = "; Secure" if self._secure else ""
        max_age = int(SESSION_LIFETIME.total_seconds())
        attributes = f"Path=/dashboard; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
        return f"{COOKIE}={session.cookie}; {attributes}"

    def clear_cookie(self) -> str:
        secure = "; Secure" if self._secure else ""
        return f"{COOKIE}=; Path=/dashboard; Max-Age=0; HttpOnly; SameSite=Strict{secure}"


def _mac(key: bytes, text: str) -> str:
    return (
        base64.urlsafe_b64encode(hmac.new(key, text.encode("ascii"), hashlib.sha256).digest())
        .decode("ascii")
        .rstrip("=")
    )
