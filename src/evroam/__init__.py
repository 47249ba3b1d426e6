"""evroam: an EV-roaming platform for OCPI 2.1.1 / 2.2.1 / 2.3.0 and OICP 2.3."""

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    """``__version__``, read from the installed package's metadata when first asked for (importing
    :mod:`importlib.metadata` costs a CLI command about 20 ms at start-up)."""
    if name != "__version__":
        raise AttributeError(f"module 'evroam' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("evroam")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        found = "0.0.0"
    globals()["__version__"] = found
    return found
