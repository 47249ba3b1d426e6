"""Mutual TLS for OICP: every connection presents a certificate and checks the other side's.

Partner -> Hubject: the partner presents its client certificate (its identity: there is no other
authentication in OICP 2.3) and verifies Hubject's server certificate. Hubject -> partner: the partner's
server presents its certificate and, as evroam does by default, requires and verifies Hubject's client
certificate. Each connection is configured with its own ``cert``/``key`` (PEM) and ``ca`` (the PEM
bundle of the CAs to trust).
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from typing import Any

__all__ = ["TlsFiles", "client_context", "fingerprint", "is_peer", "peer_names", "server_context"]


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """The files of one connection: our certificate chain and key, and the CAs we trust."""

    cert: str
    key: str
    ca: str


def client_context(files: TlsFiles) -> ssl.SSLContext:
    """For calling the other side: verify its certificate and host name against ``ca``, present ours."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=files.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(files.cert, files.key)
    return ctx


def server_context(files: TlsFiles, *, require_client: bool = True) -> ssl.SSLContext:
    """For serving: present our certificate; require a client certificate signed by ``ca`` (a client
    without one, or with another CA's, fails the handshake)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=files.ca)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(files.cert, files.key)
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client else ssl.CERT_OPTIONAL
    return ctx


def peer_names(peercert: dict[str, Any] | None) -> tuple[str, ...]:
    """The names a verified peer certificate carries (subject common names, then DNS/URI/IP alt names)."""
    if not peercert:
        return ()
    names: list[str] = []
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                names.append(value)
    for _kind, value in peercert.get("subjectAltName", ()):
        names.append(value)
    return tuple(names)


def fingerprint(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate, hex."""
    return hashlib.sha256(der).hexdigest()


def _name_matches(expected: str, name: str) -> bool:
    """``name`` from a certificate against an expected host or name, case-insensitively; a certificate
    name ``*.example.com`` covers exactly one label in front of ``example.com``."""
    expected, name = expected.casefold().rstrip("."), name.casefold().rstrip(".")
    if name == expected:
        return True
    if name.startswith("*.") and "." in expected:
        return expected.split(".", 1)[1] == name[2:]
    return False


def is_peer(
    peercert: dict[str, Any] | None,
    der: bytes | None,
    *,
    names: tuple[str, ...] = (),
    fingerprints: tuple[str, ...] = (),
) -> bool:
    """Whether a verified client certificate is the expected party's: its SHA-256 fingerprint is one of
    ``fingerprints`` when any are given (hex, colons and case ignored), else one of its subject common
    names or alt names matches one of ``names``. Neither given: no certificate is the party's."""
    if fingerprints:
        if der is None:
            return False
        wanted = {f.replace(":", "").casefold() for f in fingerprints}
        return fingerprint(der) in wanted
    have = peer_names(peercert)
    return any(_name_matches(expected, name) for expected in names for name in have)
