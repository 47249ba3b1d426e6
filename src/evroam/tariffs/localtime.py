"""Local wall-clock time of the location, as integers, DST included.

Instants are integer microseconds since the Unix epoch (UTC). Over the span of a session the time
zone is cut into *segments* of constant UTC offset (a DST change starts a new segment); within a
segment the local wall time is simply ``instant + offset``, so the time of day, the weekday and the
local date are integer arithmetic.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["US_PER_DAY", "US_PER_HOUR", "US_PER_SECOND", "LocalClock", "from_us", "to_us", "zone"]

US_PER_SECOND = 1_000_000
US_PER_HOUR = 3_600 * US_PER_SECOND
US_PER_DAY = 24 * US_PER_HOUR
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
_SAMPLE = 6 * US_PER_HOUR  # no real zone changes its offset twice within 6 hours


def to_us(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (a naive one is taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    seconds, micros = divmod(value, US_PER_SECOND)
    return _EPOCH + timedelta(0, seconds, micros)  # positional: twice as fast as microseconds=value


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """The IANA zone ``name`` (``"UTC"`` is UTC). Raises ``ValueError`` for an unknown name."""
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


class LocalClock:
    """Local time of day / weekday / date for instants within ``[start, end]`` (microseconds)."""

    __slots__ = ("_boundaries", "_offsets", "_starts", "segments", "span_end", "span_start")

    def __init__(self, tz: tzinfo, start: int, end: int) -> None:
        self.span_start = start - US_PER_DAY
        self.span_end = end + US_PER_DAY
        self.segments: list[tuple[int, int]] = _segments(tz, self.span_start, self.span_end)
        self._starts = [s for s, _ in self.segments]
        self._offsets = [o for _, o in self.segments]
        self._boundaries: dict[frozenset[int], list[int]] = {}

    @classmethod
    def covering(cls, tz: tzinfo, start: int, end: int) -> LocalClock:
        """A (cached) clock for whole UTC days around ``[start, end]``: sessions of the same days share it."""
        key = (tz, start // US_PER_DAY, end // US_PER_DAY)
        clock = _CLOCKS.get(key)
        if clock is None:
            if len(_CLOCKS) >= 256:
                _CLOCKS.clear()
            clock = cls(tz, key[1] * US_PER_DAY, (key[2] + 1) * US_PER_DAY)
            _CLOCKS[key] = clock
        return clock

    def cuts(self, times_of_day: frozenset[int], start: int, end: int) -> list[int]:
        """:meth:`boundaries` over the clock's whole span (computed once per set of times), cut to
        ``(start, end)``."""
        every = self._boundaries.get(times_of_day)
        if every is None:
            every = self.boundaries(times_of_day, self.span_start, self.span_end)
            self._boundaries[times_of_day] = every
        return every[bisect_right(every, start) : bisect_left(every, end)]

    def offset(self, instant: int) -> int:
        i = bisect_right(self._starts, instant) - 1
        return self._offsets[max(i, 0)]

    def local(self, instant: int) -> int:
        """Local wall time of ``instant`` as microseconds since the local epoch."""
        return instant + self.offset(instant)

    def transitions(self) -> list[int]:
        """The instants where the offset changes (within the span)."""
        return self._starts[1:]

    def boundaries(self, times_of_day: Iterable[int], start: int, end: int) -> list[int]:
        """Every instant in ``(start, end)`` whose local time of day (µs) is one of ``times_of_day``,
        plus every DST change in that span. Wall times skipped by a DST gap produce no instant (the
        DST change itself is one); wall times repeated by a DST overlap produce two."""
        tods = sorted(set(times_of_day))
        out = [t for t in self.transitions() if start < t < end]
        if not tods:
            return out
        seg_bounds = [*self._starts[1:], None]
        first_day = (start + min(self._offsets)) // US_PER_DAY - 1
        last_day = (end + max(self._offsets)) // US_PER_DAY + 1
        for day in range(first_day, last_day + 1):
            base = day * US_PER_DAY
            for tod in tods:
                wall = base + tod
                for (seg_start, off), seg_end in zip(self.segments, seg_bounds, strict=True):
                    instant = wall - off
                    if (
                        instant >= seg_start
                        and (seg_end is None or instant < seg_end)
                        and start < instant < end
                    ):
                        out.append(instant)
        out.sort()
        return out


_CLOCKS: dict[tuple[tzinfo, int, int], LocalClock] = {}


def _offset_us(tz: tzinfo, instant_us: int) -> int:
    off = datetime.fromtimestamp(instant_us // US_PER_SECOND, tz).utcoffset()
    return 0 if off is None else (off.days * 86_400 + off.seconds) * US_PER_SECOND + off.microseconds


def _segments(tz: tzinfo, start: int, end: int) -> list[tuple[int, int]]:
    """``[(segment start, offset)]``; the first segment starts at ``start`` (conceptually -inf)."""
    if tz is UTC:
        return [(start, 0)]
    current = _offset_us(tz, start)
    out = [(start, current)]
    probe_prev = start
    probe = start
    while probe < end:
        probe = min(probe + _SAMPLE, end)
        off = _offset_us(tz, probe)
        if off != current:
            # Bisect on whole seconds: the last second with the old offset, the first with the new.
            lo, hi = probe_prev // US_PER_SECOND, probe // US_PER_SECOND
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_us(tz, mid * US_PER_SECOND) == current:
                    lo = mid
                else:
                    hi = mid
            out.append((hi * US_PER_SECOND, off))
            current = off
        probe_prev = probe
    return out
