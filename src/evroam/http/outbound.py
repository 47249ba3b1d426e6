"""Which addresses the node may call: the outbound policy against server-side request forgery.

Partners hand us URLs (their versions URL, the endpoints in their version details, a command's
``response_url``) and the node calls them. A partner must not be able to make a node on the public
internet call into the network it runs in (``http://127.0.0.1:5432``, ``http://169.254.169.254/``,
``http://10.0.0.5/admin`` ...). The policy, ``EVROAM_OUTBOUND_PRIVATE``:

* ``deny``: every host is resolved before the request and refused (:class:`DestinationRefused`) if
  *any* of its addresses is not public: loopback, private (RFC 1918, ``fc00::/7``), link-local,
  shared (``100.64.0.0/10``), reserved, multicast or unspecified; IPv4-mapped IPv6 addresses are
  judged as the IPv4 address they carry. The request then goes to the address that was checked;
* ``allow``: no check (two nodes on one machine or one private network, tests, the demo);
* ``auto`` (the default): ``deny`` when the node's own URL (``evroam init --url``) is public, ``allow``
  when its host is an IP address that is not public, ``localhost``, a name without a dot, or a name
  under a special-use or internal suffix (``.localhost``, ``.test``, ``.example``, ``.invalid``,
  ``.local``, ``.internal``, ``.lan``, ``.home.arpa``). A node on a private DNS name of its own
  (``ocpi.corp.example.net`` resolving to ``10.x``) sets ``allow`` explicitly.

This module decides; :mod:`evroam.http.client` (the httpx layer) enforces it on every request,
redirects included.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from evroam.core.errors import DestinationRefused

__all__ = [
    "OUTBOUND_ENV",
    "OutboundPolicy",
    "is_public_address",
    "outbound_policy",
    "outbound_policy_from_env",
]

OUTBOUND_ENV = "EVROAM_OUTBOUND_PRIVATE"
_CHOICES = ("allow", "deny", "auto")
_LOCAL_SUFFIXES = (
    ".localhost",
    ".test",
    ".example",
    ".invalid",
    ".local",
    ".internal",
    ".lan",
    ".home.arpa",
    ".localdomain",
)


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    """``deny_private``: refuse non-public destinations; ``setting`` and ``reason`` say why (logs)."""

    deny_private: bool
    setting: str = "auto"
    reason: str = ""

    def check(self, host: str, addresses: Iterable[str]) -> None:
        """Raise :class:`DestinationRefused` when the policy refuses ``host`` resolved to ``addresses``."""
        if not self.deny_private:
            return
        for address in addresses:
            if not is_public_address(address):
                raise DestinationRefused(
                    f"{host} resolves to {address}, which is not a public address; this node "
                    f"({OUTBOUND_ENV}={self.setting}) does not call loopback, private or link-local "
                    "addresses"
                )


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def is_public_address(address: str) -> bool:
    """Whether an IP address is globally routable (and not multicast)."""
    try:
        ip = _ip(address)
    except ValueError:
        return False
    return ip.is_global and not ip.is_multicast


def _local_host(host: str) -> bool:
    host = host.strip("[]").rstrip(".").lower()
    try:
        return not is_public_address(str(_ip(host)))
    except ValueError:
        pass
    return host == "localhost" or "." not in host or host.endswith(_LOCAL_SUFFIXES)


def outbound_policy(setting: str, own_url: str) -> OutboundPolicy:
    """The policy for ``setting`` (``allow``, ``deny`` or ``auto``) on a node reached at ``own_url``."""
    choice = setting.strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ValueError(f"{OUTBOUND_ENV} must be one of {', '.join(_CHOICES)}, not {setting!r}")
    if choice != "auto":
        return OutboundPolicy(choice == "deny", choice, f"{OUTBOUND_ENV}={choice}")
    host = urlsplit(own_url).hostname or ""
    if _local_host(host):
        return OutboundPolicy(False, "auto", f"the node's own URL {own_url} is not public")
    return OutboundPolicy(True, "auto", f"the node's own URL {own_url} is public")


def outbound_policy_from_env(environ: Mapping[str, str], own_url: str) -> OutboundPolicy:
    """:func:`outbound_policy` with the setting read from ``EVROAM_OUTBOUND_PRIVATE`` (default auto)."""
    return outbound_policy(environ.get(OUTBOUND_ENV, "auto"), own_url)
