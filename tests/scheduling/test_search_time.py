"""Time arithmetic under the search: local hours to UTC (DST days), interval lists, bitsets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduling.domain import grid, timeutil
from services.scheduling.domain.model import LocationMode, MlArea, TimeRange, WeeklyInterval
from services.scheduling.domain.search import find_plans
from tests.scheduling.test_search_world import (
    EVERY_DAY,
    LA,
    at,
    directory,
    interviewer,
    request,
    template,
    weekly,
)

SPRING_FORWARD = date(2026, 3, 8)  # 02:00 PST -> 03:00 PDT
FALL_BACK = date(2026, 11, 1)  # 02:00 PDT -> 01:00 PST


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def minutes(text: str) -> int:
    return timeutil.to_minutes(utc(text))


# ---------------------------------------------------------------- DST


def test_working_hours_on_spring_forward_day_are_pdt():
    hours = (WeeklyInterval(7, 9 * 60, 17 * 60),)  # Sunday 09:00-17:00
    got = timeutil.expand_weekly(LA, hours, [SPRING_FORWARD])
    assert got == [(minutes("2026-03-08T16:00"), minutes("2026-03-09T00:00"))]


def test_working_hours_on_fall_back_day_are_pst():
    hours = (WeeklyInterval(7, 9 * 60, 17 * 60),)
    got = timeutil.expand_weekly(LA, hours, [FALL_BACK])
    assert got == [(minutes("2026-11-01T17:00"), minutes("2026-11-02T01:00"))]


def test_the_day_before_each_transition_keeps_its_old_offset():
    saturday = (WeeklyInterval(6, 9 * 60, 17 * 60),)
    assert timeutil.expand_weekly(LA, saturday, [SPRING_FORWARD - timedelta(days=1)]) == [
        (minutes("2026-03-07T17:00"), minutes("2026-03-08T01:00"))
    ]
    assert timeutil.expand_weekly(LA, saturday, [FALL_BACK - timedelta(days=1)]) == [
        (minutes("2026-10-31T16:00"), minutes("2026-11-01T00:00"))
    ]


def test_dst_days_are_23_and_25_hours_long():
    starts = timeutil.day_starts(LA, [SPRING_FORWARD])
    assert starts[1] - starts[0] == 23 * 60
    starts = timeutil.day_starts(LA, [FALL_BACK])
    assert starts[1] - starts[0] == 25 * 60


def test_hours_spanning_the_transition_are_shorter_or_longer():
    night = (WeeklyInterval(7, 0, 6 * 60),)  # 00:00-06:00 local
    [(s, e)] = timeutil.expand_weekly(LA, night, [SPRING_FORWARD])
    assert e - s == 5 * 60
    [(s, e)] = timeutil.expand_weekly(LA, night, [FALL_BACK])
    assert e - s == 7 * 60


def test_search_on_dst_days_starts_at_local_nine():
    # A Sunday-working interviewer; the search must place 09:00 local at the right instant.
    person = interviewer("i1", MlArea.NLP, hours=weekly("09:00", "17:00", EVERY_DAY))
    world = directory([person])
    for day, expected in ((SPRING_FORWARD, "2026-03-08T16:00"), (FALL_BACK, "2026-11-01T17:00")):
        req = request(
            template(), first_day=day, mode=LocationMode.REMOTE, office_id=None
        )
        result = find_plans(req, world)
        assert result.plans, result.no_plan_reasons
        assert result.plans[0].sessions[0].start == utc(expected)
        assert result.plans[0].sessions[0].start == at(day, "09:00")


def test_nonexistent_local_time_lands_after_the_gap():
    # 02:30 does not exist on 2026-03-08 in Los Angeles; it resolves to 03:30 PDT.
    assert timeutil.local_to_minutes(LA, SPRING_FORWARD, 150) == minutes("2026-03-08T10:30")


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
def test_to_minutes_fast_path_agrees_with_datetime_arithmetic(naive):
    instant = naive.replace(tzinfo=UTC)
    expected = (instant - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(minutes=1)
    assert timeutil.to_minutes(instant) == expected
    assert timeutil.to_minutes(instant.astimezone(ZoneInfo(LA))) == expected


def test_midnight_end_of_day_is_the_next_local_midnight():
    assert timeutil.local_to_minutes(LA, SPRING_FORWARD, 1440) == minutes("2026-03-09T07:00")


# ---------------------------------------------------------------- interval lists

intervals = st.lists(
    st.tuples(st.integers(0, 200), st.integers(1, 40)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=8,
)


def points(items) -> set[int]:
    return {m for s, e in items for m in range(s, e)}


@given(intervals, intervals)
def test_interval_operations_match_sets(a, b):
    ma, mb = timeutil.merge(a), timeutil.merge(b)
    assert points(ma) == points(a)
    assert all(x[1] < y[0] for x, y in zip(ma, ma[1:]))  # sorted, disjoint, not touching
    assert points(timeutil.intersect(ma, mb)) == points(a) & points(b)
    assert points(timeutil.subtract(ma, mb)) == points(a) - points(b)


@given(intervals, st.integers(0, 240), st.integers(1, 30))
def test_contains_means_one_interval_covers_the_range(a, start, length):
    merged = timeutil.merge(a)
    wanted = set(range(start, start + length))
    assert timeutil.contains(merged, start, start + length) == any(
        wanted <= set(range(s, e)) for s, e in merged
    )


# ---------------------------------------------------------------- bitsets


@given(st.integers(0, 2**60 - 1), st.integers(1, 20))
def test_run_starts_marks_exactly_the_starts_of_long_enough_runs(mask, length):
    got = grid.run_starts(mask, length)
    for s in range(60):
        expected = all((mask >> k) & 1 for k in range(s, s + length))
        assert ((got >> s) & 1 == 1) == expected


@given(st.lists(st.integers(0, 2**20 - 1), max_size=6), st.integers(1, 4))
def test_at_least_counts_masks_per_bit(masks, count):
    got = grid.at_least(masks, count)
    for b in range(20):
        assert ((got >> b) & 1 == 1) == (sum((m >> b) & 1 for m in masks) >= count)


@given(
    st.lists(
        st.tuples(st.integers(0, 600), st.integers(1, 90)).map(lambda t: (t[0], t[0] + t[1])),
        max_size=5,
    )
)
def test_grid_rounds_free_time_inward_and_busy_time_outward(items):
    g = grid.SlotGrid(0, 700)
    merged = timeutil.merge(items)
    inside, touching = g.mask_inside(merged), g.mask_touching(merged)
    for k in range(g.size):
        slot = set(range(g.minute(k), g.minute(k) + grid.SLOT_MINUTES))
        covered = points(merged)
        assert ((inside >> k) & 1 == 1) == (slot <= covered)
        assert ((touching >> k) & 1 == 1) == bool(slot & covered)


@settings(max_examples=80)
@given(
    st.integers(0, 10**6),
    st.integers(1, 200),
    st.integers(1, 200),
    st.sampled_from([UTC, ZoneInfo(LA), ZoneInfo("Asia/Kolkata")]),
)
def test_busy_mask_widens_second_precise_ranges_in_any_zone(offset, start, length, tz):
    base = utc("2026-12-07T00:00")
    g = grid.SlotGrid(timeutil.to_minutes(base), timeutil.to_minutes(base) + 600)
    # Instants may come in any zone (only UTC takes the fast path); the result must not care.
    begin = (base + timedelta(seconds=offset % 36000)).astimezone(tz)
    end = begin + timedelta(seconds=start * length)
    expected = g.mask_touching(
        [(timeutil.to_minutes(begin), timeutil.to_minutes_ceil(end))]
    )
    assert grid.busy_mask(g, [TimeRange(begin, end)]) == expected


@given(intervals, intervals)
def test_preferred_part_is_the_share_of_minutes_inside(sessions, preferred):
    from services.scheduling.domain import scoring

    # Sessions of one plan never overlap each other.
    sessions = timeutil.merge(sessions)
    merged = timeutil.merge(preferred)
    total = len(points(sessions))
    expected = len(points(sessions) & points(merged)) / total if total else 1.0
    assert abs(scoring.preferred_part(sessions, merged) - expected) < 1e-9
