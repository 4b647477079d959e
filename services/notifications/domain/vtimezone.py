"""VTIMEZONE components that Outlook reads: yearly RRULEs derived from zoneinfo.

icalendar's `Timezone.from_tzid` lists every transition as RDATE; Outlook ignores RDATE and
would show such an event at the wrong hour for half the year. So the rule is rebuilt here:
the zone's transitions from the year before the event to two years after are found in zoneinfo, each
kind (to daylight, to standard) is expressed as "nth (or last) weekday of month at local
time", and the rule is used only if it reproduces every one of those transitions. A zone
whose rules cannot be said that way (or changed in that window) gets no VTIMEZONE, and the
caller writes the times in UTC instead, which every client reads.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import icalendar

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_STEP = timedelta(hours=6)


@dataclass(frozen=True)
class _Transition:
    local: datetime  # naive wall time in the offset before the transition
    offset_from: timedelta
    offset_to: timedelta
    name: str
    daylight: bool


@dataclass(frozen=True)
class _Rule:
    month: int
    weekday: int
    nth: int  # 1..4, or -1 for the last one in the month
    hour: int
    minute: int
    offset_from: timedelta
    offset_to: timedelta
    name: str
    daylight: bool


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(zone).utcoffset() or timedelta(0)


def _transitions(zone: ZoneInfo, year: int) -> list[_Transition]:
    """Every offset change in `year` (UTC), each found to the minute by bisection."""
    out: list[_Transition] = []
    cursor = datetime(year, 1, 1, tzinfo=UTC)
    stop = datetime(year + 1, 1, 1, tzinfo=UTC)
    before = _offset(zone, cursor)
    while cursor < stop:
        nxt = cursor + _STEP
        after = _offset(zone, nxt)
        if after != before:
            low, high = cursor, nxt
            while high - low > timedelta(minutes=1):
                mid = low + (high - low) / 2
                if _offset(zone, mid) == before:
                    low = mid
                else:
                    high = mid
            at = high.replace(second=0, microsecond=0)
            local = at.astimezone(zone)
            out.append(
                _Transition(
                    local=(at + before).replace(tzinfo=None),
                    offset_from=before,
                    offset_to=after,
                    name=local.tzname() or "",
                    daylight=bool(local.dst()),
                )
            )
        cursor, before = nxt, after
    return out


def _rule_candidates(t: _Transition) -> set[_Rule]:
    day = t.local.day
    days_in_month = _calendar.monthrange(t.local.year, t.local.month)[1]
    nths = set()
    if day <= 28:
        nths.add((day - 1) // 7 + 1)
    if day + 7 > days_in_month:
        nths.add(-1)
    return {
        _Rule(
            month=t.local.month,
            weekday=t.local.weekday(),
            nth=nth,
            hour=t.local.hour,
            minute=t.local.minute,
            offset_from=t.offset_from,
            offset_to=t.offset_to,
            name=t.name,
            daylight=t.daylight,
        )
        for nth in nths
    }


@lru_cache(maxsize=512)
def vtimezone(tzid: str, year: int) -> icalendar.Timezone | None:
    """A VTIMEZONE for `tzid` checked from the year before `year` to two years after, or None.

    None means the zone's rules cannot be written as yearly RRULEs over that window;
    use UTC times then.
    """
    zone = ZoneInfo(tzid)
    years = (year - 1, year, year + 1, year + 2)
    per_year = [_transitions(zone, y) for y in years]
    tz = icalendar.Timezone()
    tz.add("tzid", tzid)
    if not any(per_year):
        # No transitions: one fixed STANDARD observance covers the whole window.
        start = datetime(years[0], 1, 1)
        offset = _offset(zone, datetime(years[0], 1, 1, tzinfo=UTC))
        std = icalendar.TimezoneStandard()
        std.add("dtstart", start)
        std.add("tzoffsetfrom", offset)
        std.add("tzoffsetto", offset)
        std.add("tzname", datetime(years[0], 1, 1, tzinfo=UTC).astimezone(zone).tzname())
        tz.add_component(std)
        return tz
    if {len(t) for t in per_year} != {2}:
        return None
    rules: list[_Rule] = []
    for index in range(2):
        common = set.intersection(*(_rule_candidates(t[index]) for t in per_year))
        if not common:
            return None
        # When "4th Sunday" and "last Sunday" both fit every year, real rules almost always
        # say "last" (EU, Oceania), so prefer it.
        rules.append(min(common, key=lambda r: r.nth))
    if rules[0].daylight == rules[1].daylight:
        return None
    for rule, first in zip(rules, per_year[0], strict=True):
        part = icalendar.TimezoneDaylight() if rule.daylight else icalendar.TimezoneStandard()
        part.add("dtstart", first.local)
        byday = f"{rule.nth}{_WEEKDAYS[rule.weekday]}"
        part.add("rrule", {"freq": "yearly", "bymonth": rule.month, "byday": byday})
        part.add("tzoffsetfrom", rule.offset_from)
        part.add("tzoffsetto", rule.offset_to)
        part.add("tzname", rule.name)
        tz.add_component(part)
    return tz
