"""evroam: an EV-roaming platform for OCPI 2.1.1 / 2.2.1 / 2.3.0 and OICP 2.3."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("evroam")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
