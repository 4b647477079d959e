"""The relaxation bound: never below what a valid assignment places, and tight where
capacity alone decides."""

from __future__ import annotations

from services.scheduling.cohort.bound import upper_bound
from services.scheduling.domain.model import AreaRule, MlArea
from tests.scheduling.cohort import factories as f


def test_weekly_limit_caps_the_loops():
    # One interviewer, at most 2 interviews a week: three one-session candidates, two loops.
    directory = f.directory([f.interviewer(1, max_per_week=2)])
    entries = [f.entry(f.candidate(n), f.template(minutes=(60,)), days=3) for n in range(3)]
    bound = upper_bound(entries, directory)
    assert bound.loops == 2 and bound.staffable == 3 and bound.optimal


def test_existing_sessions_and_daily_limits_count():
    # Two days, at most one interview a day, and Monday already has one.
    directory = f.directory(
        [f.interviewer(1, max_per_day=1)], sessions={"iv1": [f.local(0, 8)]}
    )
    entries = [f.entry(f.candidate(n), f.template(minutes=(60,)), days=2) for n in range(3)]
    assert upper_bound(entries, directory).loops == 1


def test_working_minutes_cap_the_loops():
    # Two hours a day over two days, two-hour loops: two loops at most.
    directory = f.directory([f.interviewer(1, start_h=9, end_h=11)])
    entries = [f.entry(f.candidate(n), f.template(minutes=(120,)), days=2) for n in range(4)]
    assert upper_bound(entries, directory).loops == 2


def test_unqualified_or_unavailable_entries_cannot_count():
    directory = f.directory([f.interviewer(1, areas=(MlArea.NLP,), start_h=9, end_h=10)])
    vision = f.candidate(1, area=MlArea.COMPUTER_VISION)
    tmpl = f.template(minutes=(60,), rule=AreaRule.PRIMARY)
    entries = [
        f.entry(vision, tmpl, days=3),  # nobody qualified
        f.entry(f.candidate(2, days=[5]), tmpl, days=3),  # available only after the window
        f.entry(f.candidate(3), tmpl, days=3),
    ]
    bound = upper_bound(entries, directory)
    assert bound.staffable == 1 and bound.loops == 1


def test_rooms_cap_onsite_loops():
    # Plenty of interviewers, one room open two hours a day for two days: two loops.
    directory = f.directory(
        [f.interviewer(n) for n in range(6)], [f.room(1)], office_hours=(9, 11)
    )
    entries = [
        f.entry(f.candidate(n), f.template(minutes=(120,)), days=2, onsite=True) for n in range(4)
    ]
    assert upper_bound(entries, directory).loops == 2
