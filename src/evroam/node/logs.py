"""Logging for the node: one stderr handler on the root logger, guarded by the token-redacting filter.

uvicorn, Litestar and httpx log through the root logger (``log_config=None`` for uvicorn,
``logging_config=None`` for Litestar), so every line passes
:class:`~evroam.registration.redaction.RedactingFilter`.

Two formats (``--log-format`` of ``serve``, or ``EVROAM_LOG_FORMAT`` for every command):

* ``text``: ``2026-01-31 12:00:00,123 INFO evroam.access: GET /ocpi/... 200 1.2 ms module=...``;
* ``json``: one JSON object per line: ``time`` (UTC, RFC 3339), ``level``, ``logger``, ``message``,
  and for the line of a request (logger ``evroam.access``) ``method``, ``path``, ``status``,
  ``duration_ms``, ``partner``, ``module``, ``role``, ``version``, ``request_id``, ``correlation_id``,
  ``client``; ``exception`` with a traceback.

Whatever the format, one record is one line: control characters (CR, LF, ESC, ... and the Unicode line
separators) in a message, a field or an argument are written as escapes (text: ``\\n``, ``\\x1b``,
``\\u2028``; JSON: its own ``\\n``, ``\\u001b``, ``\\u2028``), so that a client cannot start a
forged log line with a ``%0A`` in a path or a raw CR/LF in a header. A traceback (text format) keeps
its lines, each indented, so none of them can pass for a record of its own either. Token values are
masked in every field too.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec

from evroam.registration.redaction import install, redact

_encode = msgspec.json.Encoder().encode

__all__ = ["FORMATS", "LOG_FORMAT_ENV", "JsonFormatter", "TextFormatter", "configure_logging", "escape"]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FORMAT_ENV = "EVROAM_LOG_FORMAT"
FORMATS = ("text", "json")

# C0 controls, DEL, C1 controls and the Unicode line and paragraph separators
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """``text`` with every control character written as an escape: it fits on one line."""
    return _CONTROL.sub(_escape_one, text)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError):  # a message and arguments that do not fit: show both
        return f"{record.msg!r} {record.args!r}"


class TextFormatter(logging.Formatter):
    """The text format: one line per record, control characters escaped; a traceback's lines indented."""

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return self._style.format(record)

    def format(self, record: logging.LogRecord) -> str:
        record.message = escape(_message(record))
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        extra = self._details(record)
        if extra:
            line = f"{line}\n{extra}"
        return line

    def _details(self, record: logging.LogRecord) -> str:
        parts: list[str] = []
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(self.formatStack(record.stack_info))
        if not parts:
            return ""
        lines = "\n".join(parts).splitlines()
        return "\n".join("    " + escape(line) for line in lines)


class JsonFormatter(logging.Formatter):
    """The JSON format: one object per line (see the module docstring). JSON escapes every control
    character itself, and with ``ensure_ascii`` every non-ASCII one too (the Unicode line separators
    included): a value keeps its exact text, and no line break can reach the output."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        fields = getattr(record, "access", None)
        if isinstance(fields, dict):
            for key, value in fields.items():
                out[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        try:
            line = _encode(out).decode("ascii")  # fast, and fine when all of it is ASCII (nearly always)
        except (UnicodeDecodeError, TypeError, ValueError, msgspec.EncodeError):
            line = json.dumps(out, ensure_ascii=True, default=str)  # every non-ASCII character escaped
        return line


def _formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return TextFormatter()
    raise ValueError(f"the log format must be text or json, not {log_format!r}")


def configure_logging(level: str = "INFO", log_format: str | None = None) -> None:
    """Send every log record at ``level`` and above to stderr, with token values masked, as
    ``log_format`` says (``text`` or ``json``; default: ``EVROAM_LOG_FORMAT``, else ``text``)."""
    chosen = (log_format or os.environ.get(LOG_FORMAT_ENV) or "text").strip().lower()
    formatter = _formatter(chosen)
    root = logging.getLogger()
    root.setLevel(level.upper())
    ours: list[logging.Handler] = [h for h in root.handlers if getattr(h, "_evroam", False)]
    if not ours:
        stream = logging.StreamHandler(sys.stderr)
        stream._evroam = True  # type: ignore[attr-defined]
        root.addHandler(stream)
        ours = [stream]
    for handler in ours:
        handler.setFormatter(formatter)
    for existing in root.handlers:
        install(existing)
    # migrations announce themselves at INFO on every start; only worth seeing when debugging
    logging.getLogger("alembic").setLevel("DEBUG" if level.upper() == "DEBUG" else "WARNING")
    # uvicorn's loggers must not keep handlers of their own (they would bypass the filter)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
