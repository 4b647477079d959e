"""Keeps a candidate's other booked or held loops out of a new search.

The search knows when a candidate is available (`Candidate.availability`,
wall-clock windows in their zone) but not what they have already booked, so
the candidate's reservations are cut out of their availability here. Without
this the search would offer plans the database then refuses (the candidate
is a reserved resource too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.scheduling.domain import model as dm

# A window no search reaches: availability that is all booked must not read as
# "no limit", which is what an empty availability means.
_NEVER = dm.LocalDateWindow(date(2199, 1, 1), 0, 1)


def _at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """Wall-clock minute of a local day as a UTC instant (1440 is the next midnight).
    Aware datetime arithmetic in Python is wall-clock arithmetic, which is what this wants."""
    return (datetime.combine(day, time(0), zone) + timedelta(minutes=minute)).astimezone(UTC)


def _subtract(free: list[tuple[datetime, datetime]], busy: Sequence[dm.TimeRange]) -> list[tuple[datetime, datetime]]:
    for taken in sorted(busy, key=lambda r: r.start):
        out = []
        for a, b in free:
            if taken.end <= a or b <= taken.start:
                out.append((a, b))
                continue
            if a < taken.start:
                out.append((a, taken.start))
            if taken.end < b:
                out.append((taken.end, b))
        free = out
    return free


def _wall_minute(instant: datetime, zone: ZoneInfo, *, up: bool) -> int:
    local = instant.astimezone(zone)
    minute = local.hour * 60 + local.minute
    return minute + 1 if up and (local.second or local.microsecond) else minute


def _windows(free: list[tuple[datetime, datetime]], zone: ZoneInfo) -> list[dm.LocalDateWindow]:
    """UTC intervals as wall-clock windows, split at local midnights."""
    out = []
    for a, b in free:
        cursor = a
        while cursor < b:
            day = cursor.astimezone(zone).date()
            midnight = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
            end = min(b, midnight)
            start_minute = _wall_minute(cursor, zone, up=True)
            end_minute = 1440 if end == midnight else _wall_minute(end, zone, up=False)
            if end_minute > start_minute:  # also drops pieces inverted by a repeated (fall-back) hour
                out.append(dm.LocalDateWindow(day, start_minute, end_minute))
            cursor = end
    return out


def without_booked(candidate: dm.Candidate, booked: Sequence[dm.TimeRange], window: dm.TimeRange, lead: timedelta) -> dm.Candidate:
    """`candidate` with `booked` (their reservations, gap included) and `lead`
    before each cut out of their availability within `window`."""
    busy = [dm.TimeRange(r.start - lead, r.end) for r in booked if r.start - lead < window.end and window.start < r.end]
    if not busy:
        return candidate
    zone = ZoneInfo(candidate.time_zone)
    if candidate.availability:
        base = [(_at(w.date, w.start_minute, zone), _at(w.date, w.end_minute, zone)) for w in candidate.availability]
    else:
        base = [(window.start, window.end)]
    windows = _windows(_subtract(base, busy), zone)
    return dataclasses.replace(candidate, availability=tuple(windows) or (_NEVER,))
