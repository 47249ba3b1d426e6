"""Each OCPI version's view of sessions: the version's converters (:mod:`evroam.ocpi.converters`),
which read a 2.1.1 Session with the owner from the URL and write one with our stored Location.
Kept as names of this module for its callers."""

from __future__ import annotations

from evroam.ocpi.converters import VersionConverters, converters

__all__ = ["SessionConverters", "session_converters"]

SessionConverters = VersionConverters
session_converters = converters
