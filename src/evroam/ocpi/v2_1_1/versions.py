"""Version information and version details endpoints (OCPI 2.1.1).

Two fields are plain strings on purpose (the known values are :class:`VersionNumber` and
:class:`ModuleID`):

* ``Version.version``: the version list is read *before* a version is agreed, and a partner lists every
  version it speaks, including ones this package does not model (the spec's own example lists ``1.9``).
  Rejecting the whole list because of one unknown entry would make registration impossible.
* ``Endpoint.identifier``: 2.1.1 explicitly allows custom module identifiers (e.g. ``nltnm-tokens``).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from evroam.core.types import Url
from evroam.ocpi.base import WireModel
from evroam.ocpi.v2_1_1.enums import ModuleID, VersionNumber

__all__ = ["Endpoint", "ModuleIdStr", "Version", "VersionDetails", "VersionNumberStr"]

#: A version number as listed by a partner: one of :class:`VersionNumber` or any other version.
VersionNumberStr = str
#: A module identifier: one of :class:`ModuleID` or a custom module agreed with the partner.
ModuleIdStr = str


class Version(WireModel, kw_only=True):
    """One entry of the version information endpoint's list."""

    version: VersionNumberStr
    url: Url


class Endpoint(WireModel, kw_only=True):
    identifier: ModuleIdStr
    url: Url

    @property
    def module(self) -> ModuleID | None:
        """The standard module this endpoint serves, or ``None`` for a custom module."""
        try:
            return ModuleID(self.identifier)
        except ValueError:
            return None


class VersionDetails(WireModel, kw_only=True):
    """``data`` of the version details endpoint."""

    version: VersionNumber
    endpoints: Annotated[list[Endpoint], msgspec.Meta(min_length=1)]
