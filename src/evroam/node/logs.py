"""Logging for the node: one stderr handler on the root logger, guarded by the token-redacting filter.

uvicorn, Litestar and httpx log through the root logger (``log_config=None`` for uvicorn,
``logging_config=None`` for Litestar), so every line passes
:class:`~evroam.registration.redaction.RedactingFilter`.
"""

from __future__ import annotations

import logging
import sys

from evroam.registration.redaction import install

__all__ = ["configure_logging"]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Send every log record at ``level`` and above to stderr, with token values masked."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not any(getattr(h, "_evroam", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._evroam = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    for existing in root.handlers:
        install(existing)
    # migrations announce themselves at INFO on every start; only worth seeing when debugging
    logging.getLogger("alembic").setLevel("DEBUG" if level.upper() == "DEBUG" else "WARNING")
    # uvicorn's loggers must not keep handlers of their own (they would bypass the filter)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
