"""The OCPI versions evroam models (a module of its own: ``evroam version`` reads it without loading any
wire model)."""

from __future__ import annotations

__all__ = ["MODELLED_VERSIONS"]

#: Every OCPI version evroam has wire models, converters and a version table for, oldest first.
MODELLED_VERSIONS: tuple[str, ...] = ("2.1.1", "2.2.1", "2.3.0")
