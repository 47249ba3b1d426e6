"""Version information and version details endpoints (OCPI 2.2.1)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_2_1.enums import InterfaceRole, VersionNumber

__all__ = ["Endpoint", "Version", "VersionDetails"]


class Version(WireModel, kw_only=True):
    """One entry of the version information endpoint's list.

    ``version`` is a plain string: a partner's list is read before any version is agreed and may name
    versions this one does not know (2.3.0, or custom ones); :class:`VersionNumber` holds the known values.
    """

    version: str
    url: Url


class Endpoint(WireModel, kw_only=True):
    """``identifier`` is a plain string: custom modules (``nltnm-tokens``) are allowed (see ModuleID)."""

    identifier: str
    role: InterfaceRole
    url: Url


class VersionDetails(WireModel, kw_only=True):
    """``data`` of the version details endpoint."""

    version: VersionNumber
    endpoints: Annotated[list[Endpoint], msgspec.Meta(min_length=1)]
