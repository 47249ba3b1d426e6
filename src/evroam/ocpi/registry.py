"""Which OCPI versions evroam models, and their version tables."""

from __future__ import annotations

import importlib

from evroam.ocpi.modelled import MODELLED_VERSIONS
from evroam.ocpi.table import VersionSpec

__all__ = ["MODELLED_VERSIONS", "spec_for"]


_PACKAGES = {"2.1.1": "evroam.ocpi.v2_1_1", "2.2.1": "evroam.ocpi.v2_2_1", "2.3.0": "evroam.ocpi.v2_3_0"}


def spec_for(version: str) -> VersionSpec:
    """The version table of one OCPI version; ``KeyError`` for a version evroam does not model."""
    try:
        package = _PACKAGES[version]
    except KeyError:
        raise KeyError(f"OCPI {version} is not modelled (known: {', '.join(MODELLED_VERSIONS)})") from None
    spec = importlib.import_module(package).SPEC
    if not isinstance(spec, VersionSpec):  # pragma: no cover - a packaging error
        raise TypeError(f"{package}.SPEC is not a VersionSpec")
    return spec
