"""The pure escalation rules behind the CDR retry policy: when an undelivered job is reported, and
the failing state kept at the start of its last error (what ``evroam outbox list`` shows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from evroam.push.retry import (
    RetryPolicy,
    Undelivered,
    escalation_level,
    parse_undelivered,
    strip_undelivered,
    undelivered_note,
)

HOUR = timedelta(hours=1)
SINCE = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("failing_for", "level"),
    [
        (timedelta(0), 0),
        (timedelta(minutes=59, seconds=59), 0),
        (HOUR, 1),
        (timedelta(hours=1, minutes=59), 1),
        (2 * HOUR, 2),
        (3 * HOUR, 2),
        (4 * HOUR, 3),
        (8 * HOUR, 4),
        (timedelta(days=2), 6),  # 48 h: past 32 h, before 64 h
    ],
)
def test_an_escalation_at_the_threshold_then_each_time_the_wait_doubles(
    failing_for: timedelta, level: int
) -> None:
    assert escalation_level(HOUR, failing_for) == level


def test_the_failing_state_is_written_into_the_last_error_and_read_back() -> None:
    quiet = undelivered_note(Undelivered(SINCE), SINCE + timedelta(minutes=5), "HTTP 503")
    assert quiet == "[since 2026-03-01T10:00:00Z] HTTP 503"
    loud = undelivered_note(Undelivered(SINCE, 2), SINCE + timedelta(hours=2, minutes=5), "HTTP 503")
    assert loud == "[UNDELIVERED for 2h 05m since 2026-03-01T10:00:00Z, escalation 2] HTTP 503"
    assert parse_undelivered(quiet) == Undelivered(SINCE, 0)
    assert parse_undelivered(loud) == Undelivered(SINCE, 2)
    assert strip_undelivered(loud) == strip_undelivered(quiet) == "HTTP 503"
    days = undelivered_note(Undelivered(SINCE, 6), SINCE + timedelta(days=2, hours=3), "x")
    assert days.startswith("[UNDELIVERED for 2d 3h since")


@pytest.mark.parametrize(
    "text", [None, "", "HTTP 503", "[since yesterday] HTTP 503", "[since 2026-13-01T10:00:00Z] x"]
)
def test_a_last_error_without_a_valid_state_has_none(text: str | None) -> None:
    assert parse_undelivered(text) is None


def test_an_escalation_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="escalate_after"):
        RetryPolicy(escalate_after=timedelta(0))
    with pytest.raises(ValueError):
        escalation_level(timedelta(0), HOUR)
