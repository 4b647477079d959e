"""Business-day arithmetic: weekends, holidays, DST, and its algebraic properties."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from services.accommodations.domain.business_time import DAY, BusinessCalendar

LA = ZoneInfo("America/Los_Angeles")
THANKSGIVING = date(2026, 11, 26)
CAL = BusinessCalendar.of("America/Los_Angeles", [THANKSGIVING, date(2026, 11, 27), date(2026, 12, 25)])


def la(*args):
    return datetime(*args, tzinfo=LA)


@pytest.mark.parametrize(
    "start, days, expected",
    [
        (la(2026, 11, 2, 10), 1, la(2026, 11, 3, 10)),  # Monday -> Tuesday
        (la(2026, 11, 6, 15), 1, la(2026, 11, 9, 15)),  # Friday -> Monday
        (la(2026, 11, 7, 15), 1, la(2026, 11, 10, 0)),  # Saturday: clock starts Monday 00:00
        (la(2026, 11, 6, 15), 5, la(2026, 11, 13, 15)),  # a full week
        (la(2026, 11, 25, 9), 1, la(2026, 11, 30, 9)),  # Wed before Thanksgiving -> Monday
        (la(2026, 11, 24, 9), 5, la(2026, 12, 3, 9)),  # across the two holidays
        # DST ends Sunday 2026-11-01: wall time is kept across it.
        (la(2026, 10, 30, 16), 1, la(2026, 11, 2, 16)),
        # DST starts Sunday 2026-03-08.
        (la(2026, 3, 6, 9, 30), 1, la(2026, 3, 9, 9, 30)),
        (la(2026, 3, 5, 9, 30), 5, la(2026, 3, 12, 9, 30)),
    ],
)
def test_add_business_days(start, days, expected):
    assert CAL.add_business_days(start, days) == expected


def test_dst_week_days_are_24_hours():
    assert CAL.business_time_between(la(2026, 3, 6, 12), la(2026, 3, 9, 12)) == DAY
    assert CAL.add_business_days(la(2026, 3, 6, 12), 1) - la(2026, 3, 6, 12) == timedelta(hours=71)
    assert CAL.add_business_days(la(2026, 10, 30, 12), 1) - la(2026, 10, 30, 12) == timedelta(hours=73)


def test_other_zone_day_boundaries():
    kolkata = BusinessCalendar.of("Asia/Kolkata")
    # Friday 23:00 in Kolkata is Friday 17:30 UTC; one business day later is Monday 23:00 IST.
    start = datetime(2026, 11, 6, 17, 30, tzinfo=timezone.utc)
    assert kolkata.add_business_days(start, 1) == datetime(2026, 11, 9, 23, tzinfo=ZoneInfo("Asia/Kolkata"))


def test_weekend_and_holiday_time_does_not_count():
    assert CAL.business_time_between(la(2026, 11, 7), la(2026, 11, 9)) == timedelta(0)
    assert CAL.business_time_between(la(2026, 11, 26, 8), la(2026, 11, 28, 8)) == timedelta(0)
    assert CAL.business_time_between(la(2026, 11, 6, 12), la(2026, 11, 9, 12)) == DAY


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(timezone.utc)
)
amounts = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=15))
holiday_sets = st.frozensets(st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 3, 1)), max_size=40)


@given(instants, amounts, holiday_sets)
def test_add_then_measure_round_trips(start, amount, holidays):
    cal = BusinessCalendar.of("America/Los_Angeles", holidays)
    end = cal.add_business_time(start, amount)
    assert end >= start
    assert cal.business_time_between(start, end) == amount


@given(instants, amounts, amounts, holiday_sets)
def test_add_is_monotonic_and_additive(start, a, b, holidays):
    cal = BusinessCalendar.of("America/Los_Angeles", holidays)
    lo, hi = sorted([a, b])
    assert cal.add_business_time(start, lo) <= cal.add_business_time(start, hi)
    assert cal.add_business_time(cal.add_business_time(start, a), b) == cal.add_business_time(start, a + b) or (
        # Adding zero from a non-business instant stays put, while a positive amount jumps
        # to the next business day: the sums agree once any time is actually added.
        a == timedelta(0) or b == timedelta(0)
    )


@given(instants, instants, instants, holiday_sets)
def test_measure_is_monotonic_and_additive(x, y, z, holidays):
    cal = BusinessCalendar.of("America/Los_Angeles", holidays)
    a, b, c = sorted([x, y, z])
    assert cal.business_time_between(a, b) <= cal.business_time_between(a, c)
    assert cal.business_time_between(a, b) + cal.business_time_between(b, c) == cal.business_time_between(a, c)
    assert cal.business_time_between(a, c) <= c - a


@given(instants, st.integers(min_value=1, max_value=10), holiday_sets)
def test_business_days_end_on_business_days(start, days, holidays):
    cal = BusinessCalendar.of("America/Los_Angeles", holidays)
    end = cal.add_business_days(start, days)
    # The deadline is reached during a business day, or exactly at its closing midnight.
    last_moment = end - timedelta(microseconds=1)
    assert cal.is_business_day(cal.local_date(last_moment))


@given(instants, st.integers(min_value=1, max_value=10))
def test_holidays_only_push_deadlines_later(start, days):
    plain = BusinessCalendar.of("America/Los_Angeles")
    end_plain = plain.add_business_days(start, days)
    holiday = plain.local_date(end_plain - timedelta(microseconds=1))
    assume(plain.is_business_day(holiday))
    with_holiday = BusinessCalendar.of("America/Los_Angeles", [holiday])
    assert with_holiday.add_business_days(start, days) > end_plain


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        CAL.add_business_days(datetime(2026, 11, 2), 1)
