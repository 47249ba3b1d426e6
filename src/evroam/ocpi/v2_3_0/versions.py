"""Version information and version details endpoints (OCPI 2.3.0): ModuleID and VersionNumber are open."""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_3_0.enums import InterfaceRole, OpenModuleID, OpenVersionNumber

__all__ = ["Endpoint", "Version", "VersionDetails"]


class Version(WireModel, kw_only=True):
    version: OpenVersionNumber
    url: Url


class Endpoint(WireModel, kw_only=True):
    identifier: OpenModuleID
    role: InterfaceRole
    url: Url


class VersionDetails(WireModel, kw_only=True):
    version: OpenVersionNumber
    endpoints: Annotated[list[Endpoint], msgspec.Meta(min_length=1)]
