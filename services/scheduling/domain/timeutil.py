"""Time arithmetic for the search: epoch minutes, local hours expanded to UTC, interval lists.

Inside the search every instant is an int: minutes since 1970-01-01T00:00Z ("epoch minutes").
Ints compare and subtract far faster than aware datetimes, and every rule of the product is
minute-precise. Intervals are `(start, end)` half-open tuples; an "interval list" is sorted,
disjoint and non-adjacent (as `merge` returns it).

Local wall-clock hours are turned into instants with `zoneinfo`, date by date, so DST days come
out right: 09:00 in America/Los_Angeles is 16:00Z on 2026-03-08 (PDT) and 17:00Z on 2026-11-01
(PST). A wall time that does not exist (inside the spring-forward gap) resolves with the offset
before the transition (PEP 495 fold=0), i.e. it lands just after the gap.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from services.scheduling.domain.model import (
    MINUTES_PER_DAY,
    DailyWindow,
    LocalDateWindow,
    WeeklyInterval,
)

Interval = tuple[int, int]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE = timedelta(minutes=1)
_EPOCH_ORDINAL = _EPOCH.toordinal()


def to_minutes(instant: datetime) -> int:
    """Epoch minutes of an aware instant, rounded down (seconds are dropped)."""
    if instant.tzinfo is UTC:
        # From the fields: about twice as fast as subtracting datetimes, and this runs for
        # every booked session the load limits count.
        return (instant.toordinal() - _EPOCH_ORDINAL) * 1440 + instant.hour * 60 + instant.minute
    return (instant - _EPOCH) // _MINUTE


def to_minutes_ceil(instant: datetime) -> int:
    """Epoch minutes of an aware instant, rounded up: for the start of a busy range."""
    whole, rest = divmod(instant - _EPOCH, _MINUTE)
    return whole + (1 if rest else 0)


def from_minutes(minutes: int) -> datetime:
    return _EPOCH + timedelta(minutes=minutes)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=65536)
def local_to_minutes(zone_name: str, day: date, minute_of_day: int) -> int:
    """The instant at which the wall clock in `zone_name` shows `day` + `minute_of_day`.

    `minute_of_day` may be 1440 (24:00, the next midnight). Cached: a search expands the same
    few (zone, date, hour) triples for hundreds of interviewers.
    """
    wall = datetime(day.year, day.month, day.day, tzinfo=zone(zone_name))
    # Adding a timedelta to an aware datetime moves the wall clock, then the offset is
    # looked up for the resulting wall time: exactly "this local time on this date".
    wall += timedelta(minutes=minute_of_day)
    return (wall - _EPOCH) // _MINUTE


def local_date(zone_name: str, minutes: int) -> date:
    """The date the wall clock in `zone_name` shows at an epoch minute."""
    return from_minutes(minutes).astimezone(zone(zone_name)).date()


def local_dates_covering(zone_name: str, start: int, end: int) -> list[date]:
    """Every local date that overlaps `[start, end)` in `zone_name`, in order."""
    first = local_date(zone_name, start)
    last = local_date(zone_name, max(start, end - 1))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def day_starts(zone_name: str, days: Sequence[date]) -> list[int]:
    """Epoch minutes of local midnight for each date (plus the one after the last)."""
    if not days:
        return []
    bounds = [local_to_minutes(zone_name, d, 0) for d in days]
    bounds.append(local_to_minutes(zone_name, days[-1] + timedelta(days=1), 0))
    return bounds


# ---------------------------------------------------------------- expansion to UTC


def expand_weekly(
    zone_name: str, hours: Iterable[WeeklyInterval], days: Sequence[date]
) -> list[Interval]:
    """Weekly local hours on the given local dates, as a merged UTC interval list."""
    by_weekday: dict[int, list[WeeklyInterval]] = {}
    for item in hours:
        if item.end_minute > item.start_minute:
            by_weekday.setdefault(item.day_of_week, []).append(item)
    out: list[Interval] = []
    for d in days:
        for item in by_weekday.get(d.isoweekday(), ()):
            out.append(
                (
                    local_to_minutes(zone_name, d, item.start_minute),
                    local_to_minutes(zone_name, d, item.end_minute),
                )
            )
    return merge(out)


def expand_daily(
    zone_name: str, windows: Iterable[DailyWindow], days: Sequence[date]
) -> list[Interval]:
    """Daily local windows on the given local dates, as a merged UTC interval list."""
    windows = [w for w in windows if w.end_minute > w.start_minute]
    out = [
        (
            local_to_minutes(zone_name, d, w.start_minute),
            local_to_minutes(zone_name, d, w.end_minute),
        )
        for d in days
        for w in windows
    ]
    return merge(out)


def expand_dated(zone_name: str, windows: Iterable[LocalDateWindow]) -> list[Interval]:
    """Dated local windows as a merged UTC interval list."""
    return merge(
        (
            local_to_minutes(zone_name, w.date, w.start_minute),
            local_to_minutes(zone_name, w.date, w.end_minute),
        )
        for w in windows
        if w.end_minute > w.start_minute
    )


def whole_days(zone_name: str, days: Sequence[date], skip: frozenset[date]) -> list[Interval]:
    """Local days except `skip`, as UTC intervals (to cut holidays out of office hours)."""
    return merge(
        (local_to_minutes(zone_name, d, 0), local_to_minutes(zone_name, d, MINUTES_PER_DAY))
        for d in days
        if d not in skip
    )


# ---------------------------------------------------------------- interval lists


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort, drop empties, and join overlapping or touching intervals."""
    items = sorted(i for i in intervals if i[1] > i[0])
    out: list[Interval] = []
    for start, end in items:
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersection of two interval lists (linear merge)."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """`a` minus `b`, both interval lists."""
    out: list[Interval] = []
    j = 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        k = j
        cur = start
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            k += 1
        if cur < end:
            out.append((cur, end))
    return out


def clip(a: Sequence[Interval], start: int, end: int) -> list[Interval]:
    return intersect(a, [(start, end)]) if start < end else []


def contains(intervals: Sequence[Interval], start: int, end: int) -> bool:
    """Whether one interval of the (merged) list covers all of `[start, end)`."""
    i = bisect_right(intervals, (start, float("inf"))) - 1
    return i >= 0 and intervals[i][0] <= start and end <= intervals[i][1]


def overlaps(intervals: Sequence[Interval], start: int, end: int) -> bool:
    """Whether any interval of a sorted list (possibly overlapping) meets `[start, end)`."""
    return any(s < end and start < e for s, e in intervals)


def longest(intervals: Sequence[Interval]) -> int:
    return max((e - s for s, e in intervals), default=0)
