"""Cutting a candidate's booked loops out of their availability (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.scheduling.candidate_time import without_booked
from services.scheduling.domain import model as dm

LA = ZoneInfo("America/Los_Angeles")


def _candidate(availability=()) -> dm.Candidate:
    return dm.Candidate(id="c", time_zone="America/Los_Angeles", primary_area=dm.MlArea.NLP, availability=availability)


def _local(day: date, h: int, m: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, h, m, tzinfo=LA).astimezone(UTC)


def test_nothing_booked_changes_nothing():
    candidate = _candidate()
    window = dm.TimeRange(_local(date(2026, 3, 9), 0), _local(date(2026, 3, 10), 0))
    assert without_booked(candidate, [], window, timedelta(minutes=15)) is candidate


def test_booked_time_and_its_lead_are_cut_on_a_dst_day():
    day = date(2026, 3, 8)  # 23 hours long in Los Angeles
    candidate = _candidate((dm.LocalDateWindow(day, 0, 1440),))
    booked = [dm.TimeRange(_local(day, 10), _local(day, 11, 30))]
    window = dm.TimeRange(_local(day, 0), _local(day + timedelta(days=1), 0))
    result = without_booked(candidate, booked, window, timedelta(minutes=15))
    assert result.availability == (dm.LocalDateWindow(day, 0, 9 * 60 + 45), dm.LocalDateWindow(day, 11 * 60 + 30, 1440))


def test_any_time_becomes_the_window_minus_bookings_split_at_midnight():
    monday = date(2026, 3, 9)
    window = dm.TimeRange(_local(monday, 20), _local(monday + timedelta(days=1), 4))
    booked = [dm.TimeRange(_local(monday, 22), _local(monday, 23))]
    result = without_booked(_candidate(), booked, window, timedelta(0))
    assert result.availability == (
        dm.LocalDateWindow(monday, 20 * 60, 22 * 60),
        dm.LocalDateWindow(monday, 23 * 60, 1440),
        dm.LocalDateWindow(monday + timedelta(days=1), 0, 4 * 60),
    )


def test_fully_booked_never_reads_as_unlimited():
    day = date(2026, 3, 9)
    candidate = _candidate((dm.LocalDateWindow(day, 9 * 60, 10 * 60),))
    window = dm.TimeRange(_local(day, 0), _local(day, 23))
    result = without_booked(candidate, [dm.TimeRange(_local(day, 8), _local(day, 11))], window, timedelta(0))
    assert result.availability and all(w.date.year > 2100 for w in result.availability)
