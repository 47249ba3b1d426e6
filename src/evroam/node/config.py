"""The node's own configuration: ``node.json`` in the data directory, written by ``evroam init``.

It says who the node is (its parties and roles, with business details), where partners reach it (the
public base URL; the versions URL is ``<url>/ocpi/versions``), which OCPI versions it serves and which
modules a partner must expose for a registration to succeed. It holds no secret.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import msgspec

from evroam.core.codec import decode
from evroam.core.errors import InvalidJson, ValidationFailed
from evroam.ocpi.registry import MODELLED_VERSIONS
from evroam.store.files import private_dir

__all__ = [
    "CONFIG_FILE",
    "ConfigError",
    "NodeConfig",
    "PartyConfig",
    "config_path",
    "load_config",
    "normalise_base_url",
    "save_config",
]

CONFIG_FILE = "node.json"
ROLES = ("CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP")

_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_PARTY = re.compile(r"^[A-Za-z0-9]{3}$")


class ConfigError(Exception):
    """The node configuration is missing or wrong; the message says what to do."""


class PartyConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One role this node plays for one party."""

    country_code: str
    party_id: str
    role: str
    name: str
    """Business name sent in the credentials' business details."""
    website: str | None = None


class NodeConfig(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    """Public base URL, e.g. ``https://ocpi.example.com`` (no trailing slash)."""
    parties: Annotated[list[PartyConfig], msgspec.Meta(min_length=1)]
    versions: list[str] = msgspec.field(default_factory=lambda: ["2.2.1"])
    """The OCPI versions served (each needs a version table in evroam)."""
    required_modules: list[str] = msgspec.field(default_factory=lambda: ["credentials"])
    """Modules a partner's version details must list for a registration to succeed (else 3003)."""

    @property
    def versions_url(self) -> str:
        return f"{self.url}/ocpi/versions"

    def validate(self) -> None:
        """Raise :class:`ConfigError` naming every problem."""
        problems: list[str] = []
        seen: set[tuple[str, str, str]] = set()
        for party in self.parties:
            if not _COUNTRY.match(party.country_code):
                problems.append(f"country code {party.country_code!r} is not 2 letters (ISO 3166-1 alpha-2)")
            if not _PARTY.match(party.party_id):
                problems.append(f"party id {party.party_id!r} is not 3 letters or digits")
            if party.role not in ROLES:
                problems.append(f"role {party.role!r} is not one of {', '.join(ROLES)}")
            if not party.name or len(party.name) > 100:
                problems.append("a business name has 1 to 100 characters")
            key = (party.country_code.upper(), party.party_id.upper(), party.role)
            if key in seen:
                problems.append(f"{party.country_code}*{party.party_id} {party.role} is listed twice")
            seen.add(key)
        try:
            normalise_base_url(self.url)
        except ValueError as exc:
            problems.append(str(exc))
        for version in self.versions:
            if version not in MODELLED_VERSIONS:
                problems.append(f"OCPI {version} is not modelled (known: {', '.join(MODELLED_VERSIONS)})")
        if not self.versions:
            problems.append("a node serves at least one OCPI version")
        if problems:
            raise ConfigError("; ".join(problems))


def normalise_base_url(url: str) -> str:
    """``url`` without trailing slash (and without a trailing ``/ocpi/versions`` pasted by mistake)."""
    url = url.strip().rstrip("/")
    if url.endswith("/ocpi/versions"):
        url = url[: -len("/ocpi/versions")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--url {url!r} is not an http(s) URL such as https://ocpi.example.com")
    if parts.query or parts.fragment:
        raise ValueError(f"--url {url!r} must not have a query or fragment")
    return url


def config_path(data_dir: Path) -> Path:
    return Path(data_dir) / CONFIG_FILE


def load_config(data_dir: Path) -> NodeConfig:
    path = config_path(data_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"no node configuration in {data_dir} (run `evroam --data-dir {data_dir} init ...` first)"
        ) from None
    try:
        config: NodeConfig = decode(raw, NodeConfig)
    except (InvalidJson, ValidationFailed) as exc:
        raise ConfigError(f"{path} is not a valid node configuration: {exc.message}") from None
    config.validate()
    return config


def save_config(data_dir: Path, config: NodeConfig) -> Path:
    """Write ``node.json`` atomically (temporary file, then rename)."""
    config.validate()
    data_dir = Path(data_dir)
    private_dir(data_dir)  # 0700: the database next to node.json holds partners' tokens
    path = config_path(data_dir)
    fd, tmp = tempfile.mkstemp(prefix=".node.", suffix=".json", dir=data_dir)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(msgspec.json.format(msgspec.json.encode(config), indent=2) + b"\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
