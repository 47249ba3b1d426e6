"""Each OCPI version's view of CDRs: the version's converters (:mod:`evroam.ocpi.converters`), which
read a 2.1.1 CDR with the owner from the URL and write one with our stored Location. Kept as names
of this module for its callers."""

from __future__ import annotations

from evroam.ocpi.converters import VersionConverters, converters

__all__ = ["CdrConverters", "cdr_converters"]

CdrConverters = VersionConverters
cdr_converters = converters
