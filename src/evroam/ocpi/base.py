"""Base class of every OCPI wire model."""

from __future__ import annotations

import msgspec

__all__ = ["WireModel"]


class WireModel(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A msgspec Struct as OCPI puts it on the wire.

    * keyword-only construction, so field order never matters;
    * fields equal to their default (``None`` for optional ones) are left out when encoding;
    * unknown JSON fields are ignored when decoding (2.3.0 requires receivers to tolerate them;
      evroam does so for every version).
    """
