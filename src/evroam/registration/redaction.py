"""Keeping credentials tokens out of logs.

Two nets, both applied by :class:`RedactingFilter`:

1. every token value the process learns (tokens we issue, tokens partners give us, tokens presented to
   us that turned out valid) is registered with :func:`remember_secret`; any occurrence of it — raw, or
   Base64-encoded as it travels in the Authorization header — is replaced in every log record;
2. patterns that carry a token whatever its value: the value of anything named ``Authorization``,
   ``Token <value>`` (an Authorization header value), ``"token": "<value>"`` (a credentials body) and
   ``token=<value>`` are masked.

The filter rewrites the record itself (message, arguments, formatted traceback), so attach it to every
*handler* (:func:`install`) — a filter on a logger does not see records propagated from its children.
"""

from __future__ import annotations

import base64
import logging
import re
import threading

__all__ = ["MASK", "RedactingFilter", "forget_all_secrets", "install", "redact", "remember_secret"]

MASK = "[REDACTED]"

_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: tuple[str, ...] = ()

# An Authorization header value, a JSON "token" field, a token=... keyword.
_PATTERNS = (
    re.compile(r"""(?i)(authorization['"]?\s*[:,=]\s*b?['"]?)[^'"\r\n]+"""),
    re.compile(r"(\bToken\s+)[\x21-\x7e]{8,}"),
    re.compile(r"""(?i)(["']token["']\s*:\s*["'])[^"']*"""),
    re.compile(r"""(?i)(\btoken\s*=\s*["']?)[^\s"',)]+"""),
)
_MIN_LENGTH = 3  # shorter values would mask ordinary text; such tokens are still caught by the patterns


def remember_secret(token: str | None) -> None:
    """Never let ``token`` (nor its Base64 form) appear in a log line of this process."""
    global _ordered
    if not token or len(token) < _MIN_LENGTH or token in _secrets:  # known: its Base64 form is too
        return
    forms = {token, base64.b64encode(token.encode("utf-8")).decode("ascii")}
    with _lock:
        if forms <= _secrets:
            return
        _secrets.update(forms)
        # longest first, so that a token containing another is masked whole
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def forget_all_secrets() -> None:
    """Clear the registry (tests)."""
    global _ordered
    with _lock:
        _secrets.clear()
        _ordered = ()


def redact(text: str) -> str:
    """``text`` with every known token and every token-shaped field masked."""
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    lowered = text.lower()
    if "token" not in lowered and "authorization" not in lowered:
        return text  # every pattern needs one of the two words: no need to run them
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record so that no token value reaches a handler's output."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the raw template, without arguments
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(handler: logging.Handler) -> logging.Handler:
    """Attach one :class:`RedactingFilter` to ``handler`` (idempotent); returns the handler."""
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())
    return handler
