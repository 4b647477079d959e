"""The generated VTIMEZONEs, read back by dateutil (the parser vobject uses), agree with
zoneinfo at every hour of the checked window, including the DST days."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from dateutil import tz as dateutil_tz
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifications.domain.vtimezone import vtimezone

ZONES = [
    "America/Los_Angeles", "America/New_York", "Europe/Berlin", "Europe/London",
    "Pacific/Auckland", "Australia/Sydney", "Australia/Lord_Howe", "America/Santiago",
    "Asia/Kolkata", "Asia/Tokyo", "America/Phoenix", "Asia/Jerusalem",
]


# Chile changes on "first Sunday on or after 2 April": no yearly BYDAY rule says that for
# every year (2029 breaks "1SU"), so some windows must fall back to UTC.
IRREGULAR = {"America/Santiago"}


def _body_zone(tzid: str, year: int) -> dateutil_tz.tzical | None:
    component = vtimezone(tzid, year)
    if component is None:
        return None
    data = b"BEGIN:VCALENDAR\r\n" + component.to_ical() + b"END:VCALENDAR\r\n"
    return dateutil_tz.tzical(io.StringIO(data.decode())).get(tzid)


@pytest.mark.parametrize("tzid", ZONES)
def test_rrule_only_and_matches_zoneinfo_every_hour(tzid: str) -> None:
    component = vtimezone(tzid, 2026)
    assert component is not None
    assert b"RDATE" not in component.to_ical()
    parsed = _body_zone(tzid, 2026)
    assert parsed is not None
    zone = ZoneInfo(tzid)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    while moment < datetime(2027, 1, 1, tzinfo=UTC):
        # Compare the wall clock each side computes for the same instant.
        assert moment.astimezone(parsed).replace(tzinfo=None) == moment.astimezone(
            zone
        ).replace(tzinfo=None), (tzid, moment)
        moment += timedelta(minutes=30)


@settings(max_examples=300, deadline=None)
@given(
    tzid=st.sampled_from(ZONES),
    moment=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
)
def test_any_instant_reads_back_the_same(tzid: str, moment: datetime) -> None:
    parsed = _body_zone(tzid, moment.year)
    if parsed is None:
        assert tzid in IRREGULAR
        return
    assert moment.astimezone(parsed).utcoffset() == moment.astimezone(ZoneInfo(tzid)).utcoffset()


def test_los_angeles_dst_days() -> None:
    parsed = _body_zone("America/Los_Angeles", 2026)
    assert parsed is not None
    # 2026-03-08 02:00 PST does not exist: 10:00 UTC is 03:00 PDT.
    assert datetime(2026, 3, 8, 10, tzinfo=UTC).astimezone(parsed).hour == 3
    assert datetime(2026, 3, 8, 9, 59, tzinfo=UTC).astimezone(parsed).hour == 1
    # 2026-11-01 01:30 happens twice: 08:30 UTC (PDT) and 09:30 UTC (PST).
    first = datetime(2026, 11, 1, 8, 30, tzinfo=UTC).astimezone(parsed)
    second = datetime(2026, 11, 1, 9, 30, tzinfo=UTC).astimezone(parsed)
    assert (first.hour, first.minute) == (second.hour, second.minute) == (1, 30)
    assert first.utcoffset() == timedelta(hours=-7)
    assert second.utcoffset() == timedelta(hours=-8)


def test_zone_whose_rule_is_not_yearly_gets_none() -> None:
    # Morocco suspends DST for Ramadan: dates move every year, no yearly RRULE fits.
    assert vtimezone("Africa/Casablanca", 2026) is None


ALL_ZONES = sorted(available_timezones())


@settings(max_examples=400, deadline=None)
@given(
    tzid=st.sampled_from(ALL_ZONES),
    moment=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
)
def test_every_zone_either_matches_zoneinfo_or_is_refused(tzid: str, moment: datetime) -> None:
    """No zone in the database gets a VTIMEZONE that disagrees with it in its window."""
    parsed = _body_zone(tzid, moment.year)
    if parsed is not None:
        assert moment.astimezone(parsed).utcoffset() == moment.astimezone(ZoneInfo(tzid)).utcoffset()
