"""Version information and version details endpoints (OCPI 2.2.1)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.enums import InterfaceRole, ModuleID, VersionNumber

__all__ = ["Endpoint", "Version", "VersionDetails"]


class Version(WireModel, kw_only=True):
    """One entry of the version information endpoint's list."""

    version: VersionNumber
    url: Url


class Endpoint(WireModel, kw_only=True):
    identifier: ModuleID
    role: InterfaceRole
    url: Url


class VersionDetails(WireModel, kw_only=True):
    """``data`` of the version details endpoint."""

    version: VersionNumber
    endpoints: Annotated[list[Endpoint], msgspec.Meta(min_length=1)]
