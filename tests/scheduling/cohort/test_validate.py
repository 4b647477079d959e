"""The independent validator catches what a wrong solver would produce."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from services.scheduling.cohort.validate import validate_assignment
from services.scheduling.domain.search import find_plans
from tests.scheduling.cohort import factories as f


def best(request, directory):
    (plan, *_) = find_plans(request, directory).plans
    return plan


def test_each_alone_is_fine_but_together_they_double_book():
    directory = f.directory([f.interviewer(1)], [f.room(1)])
    one = f.template(minutes=(60,))
    entries = [f.entry(f.candidate(1), one, onsite=True), f.entry(f.candidate(2), one, onsite=True)]
    plans = [best(e, directory) for e in entries]  # both take the first free hour
    assert validate_assignment(entries, directory, [plans[0], None]) == []
    problems = validate_assignment(entries, directory, plans)
    assert any("interviewer iv1 is double-booked" in p for p in problems)
    assert any("room offices/los-gatos/rooms/r1 is double-booked" in p for p in problems)


def test_the_gap_after_a_session_is_reserved_too():
    directory = f.directory([f.interviewer(1)])
    one = f.template(minutes=(60,), buffer=10)
    entries = [f.entry(f.candidate(1), one), f.entry(f.candidate(2), one)]
    first = best(entries[0], directory)
    assert first.gap == timedelta(minutes=10)
    # The second loop starts right when the first ends: free by the session, not by the gap.
    shift = first.sessions[0].end - first.sessions[0].start
    second = replace(
        first,
        candidate_id="c2",
        sessions=tuple(replace(s, start=s.start + shift, end=s.end + shift) for s in first.sessions),
    )
    problems = validate_assignment(entries, directory, [first, second])
    assert any("double-booked" in p for p in problems)
    later = replace(
        second,
        sessions=tuple(
            replace(s, start=s.start + timedelta(minutes=15), end=s.end + timedelta(minutes=15))
            for s in second.sessions
        ),
    )
    assert validate_assignment(entries, directory, [first, later]) == []


def test_gap_tail_into_existing_busy_time_is_reported():
    one = f.template(minutes=(60,), buffer=15)
    plain = f.directory([f.interviewer(1)])
    entries = [f.entry(f.candidate(1), one)]
    plan = best(entries[0], plain)
    end = plan.sessions[0].end
    busy = f.directory(
        [f.interviewer(1)], busy={"iv1": [f.TimeRange(end + timedelta(minutes=5), end + timedelta(hours=1))]}
    )
    problems = validate_assignment(entries, busy, [plan])
    assert problems == [f"entry 0: interviewer iv1 is busy at {plan.sessions[0].start.isoformat()}"]


def test_daily_limit_across_loops():
    directory = f.directory([f.interviewer(1, max_per_day=1)])
    one = f.template(minutes=(60,))
    entries = [f.entry(f.candidate(1), one), f.entry(f.candidate(2), one)]
    first = best(entries[0], directory)
    later = tuple(
        replace(s, start=s.start + timedelta(hours=2), end=s.end + timedelta(hours=2))
        for s in first.sessions
    )
    second = replace(first, candidate_id="c2", sessions=later)
    problems = validate_assignment(entries, directory, [first, second])
    assert any("limit 1" in p for p in problems)


def test_each_plan_is_checked_on_its_own_too():
    directory = f.directory([f.interviewer(1)])
    one = f.template(minutes=(60,))
    entries = [f.entry(f.candidate(1), one)]
    plan = best(entries[0], directory)
    night = tuple(
        replace(s, start=s.start + timedelta(hours=12), end=s.end + timedelta(hours=12))
        for s in plan.sessions
    )
    problems = validate_assignment(entries, directory, [replace(plan, sessions=night)])
    assert any("working hours" in p for p in problems)
    assert validate_assignment(entries, directory, []) == ["0 plans for 1 entries"]
