"""Business-day arithmetic in one IANA zone.

Model: a *business day* is a whole local calendar date (midnight to midnight in the zone)
that is neither a Saturday, a Sunday nor a configured holiday. *Business time* between two
instants is the real elapsed time that falls on business days. "N business days after t"
is the instant at which N x 24 hours of business time have elapsed since t; when t itself
is not on a business day the clock starts at the next business midnight.

In America/Los_Angeles (the default) DST changes happen on Sundays, which are never
business days, so every business day lasts exactly 24 hours and "N business days later"
lands on the same local wall-clock time. In a zone that changes offset on a weekday the
day that changes is 23 or 25 hours long and is counted as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

DAY = timedelta(days=1)
DEFAULT_ZONE = "America/Los_Angeles"


def _require_aware(value: datetime, what: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime")


@dataclass(frozen=True)
class BusinessCalendar:
    zone_name: str = DEFAULT_ZONE
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, zone_name: str = DEFAULT_ZONE, holidays: Iterable[date] = ()) -> BusinessCalendar:
        ZoneInfo(zone_name)  # fail early on an unknown zone
        return cls(zone_name, frozenset(holidays))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """[local midnight, next local midnight) of `day`, as UTC instants."""
        zone = self.zone
        start = datetime.combine(day, time(0), zone).astimezone(timezone.utc)
        end = datetime.combine(day + DAY, time(0), zone).astimezone(timezone.utc)
        return start, end

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def _business_spans_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Business-day spans [a, b) in time order, clipped to begin no earlier than start."""
        day = self.local_date(start)
        while True:
            if self.is_business_day(day):
                lo, hi = self.day_bounds(day)
                lo = max(lo, start)
                if lo < hi:
                    yield lo, hi
            day += DAY

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Business time in [start, end); zero when end <= start."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
        total = timedelta(0)
        if end <= start:
            return total
        day = self.local_date(start)
        last = self.local_date(end)
        while day <= last:
            if self.is_business_day(day):
                lo, hi = self.day_bounds(day)
                lo, hi = max(lo, start), min(hi, end)
                if lo < hi:
                    total += hi - lo
            day += DAY
        return total

    def add_business_time(self, start: datetime, amount: timedelta) -> datetime:
        """The earliest instant t with business_time_between(start, t) == amount."""
        _require_aware(start, "start")
        if amount < timedelta(0):
            raise ValueError("amount must not be negative")
        start = start.astimezone(timezone.utc)
        if amount == timedelta(0):
            return start
        remaining = amount
        for lo, hi in self._business_spans_from(start):
            if hi - lo >= remaining:
                return lo + remaining
            remaining -= hi - lo
        raise AssertionError("unreachable: business days never run out")

    def add_business_days(self, start: datetime, days: int) -> datetime:
        return self.add_business_time(start, days * DAY)
