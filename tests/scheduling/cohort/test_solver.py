"""The cohort solver on small worlds: better than arrival order where it can be, never worse,
always valid by the independent validator, within its time limit and cancellable."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.scheduling.cohort.engine import run_cohort
from services.scheduling.cohort.greedy import describe, greedy
from services.scheduling.cohort.model import Source
from services.scheduling.cohort.validate import validate_assignment
from services.scheduling.domain.model import Constraints, MlArea, NoPlanReason, TimeRange
from tests.scheduling.cohort import factories as f


def solve(entries, directory, limit=5.0, **kwargs):
    result = run_cohort(entries, directory, time_limit=limit, **kwargs)
    assert validate_assignment(entries, directory, result.plans) == []
    assert result.loops >= result.greedy_loops
    return result


def test_flexible_candidate_moves_aside_for_one_who_can_only_do_monday():
    # One interviewer, two hours a day, one two-hour session per loop: one loop a day.
    directory = f.directory([f.interviewer(1, start_h=9, end_h=11)])
    long_talk = f.template(minutes=(120,))
    flexible = f.entry(f.candidate(1), long_talk)
    monday_only = f.entry(f.candidate(2, days=[0]), long_talk)
    entries = [flexible, monday_only]

    base = greedy(entries, directory)
    assert [p is not None for p in base.plans] == [True, False]  # arrival order strands c2

    result = solve(entries, directory)
    assert result.loops == 2 and result.greedy_loops == 1
    assert result.source is Source.CP_SAT
    assert result.upper_bound == 2
    by_candidate = {p.candidate_id: p for p in result.plans}
    assert by_candidate["c2"].sessions[0].start.date() == f.local(0, 9).date()
    assert by_candidate["c1"].sessions[0].start >= f.local(1, 0)
    assert result.reasons == ("", "")


def test_room_is_the_bottleneck_onsite():
    # Two interviewers but one room and office hours for one loop a day.
    directory = f.directory(
        [f.interviewer(1), f.interviewer(2)], [f.room(1)], office_hours=(9, 11)
    )
    entries = [
        f.entry(f.candidate(1), days=3, onsite=True),
        f.entry(f.candidate(2, days=[0]), days=3, onsite=True),
        f.entry(f.candidate(3, days=[1]), days=3, onsite=True),
        f.entry(f.candidate(4, days=[1]), days=3, onsite=True),
    ]
    result = solve(entries, directory)
    assert result.greedy_loops == 2  # c1 takes Monday, c2 is stranded, c3 Tuesday, c4 nothing
    assert result.loops == 3  # three days, one room: c1 on Wednesday
    assert result.upper_bound == 3
    assert [p is not None for p in result.plans[:2]] == [True, True]
    unplaced = [r for p, r in zip(result.plans, result.reasons) if p is None]
    assert len(unplaced) == 1 and "collides" in unplaced[0]


def test_daily_limit_counts_across_loops_and_existing_sessions():
    # iv1 may do one interview a day and already has one on Monday; every two-session loop
    # needs both interviewers, so only Tuesday can hold a loop, and only one.
    ivs = [f.interviewer(1, max_per_day=1), f.interviewer(2)]
    directory = f.directory(ivs, sessions={"iv1": [f.local(0, 16)]})
    entries = [f.entry(f.candidate(n)) for n in range(1, 4)]
    result = solve(entries, directory)
    for plan in result.plans:
        if plan is None:
            continue
        for session in plan.sessions:
            if "iv1" in session.interviewer_ids:
                assert session.start >= f.local(1, 0)
    assert result.loops == 1
    assert result.upper_bound == 1


def test_accommodations_hold_in_the_cohort():
    directory = f.directory(
        [f.interviewer(1), f.interviewer(2)],
        [f.room(1), f.room(2, accessible=True)],
    )
    needs = Constraints(accessible_room=True, duration_multiplier=1.5, extra_break_minutes=15)
    entries = [
        f.entry(f.candidate(1), onsite=True),
        f.entry(f.candidate(2), onsite=True, constraints=needs),
        f.entry(f.candidate(3), onsite=True, constraints=Constraints(remote_only=True)),
    ]
    result = solve(entries, directory)
    assert result.loops == 3
    accessible = result.plans[1]
    assert all(s.room_id.endswith("/r2") for s in accessible.sessions)
    assert all(s.end - s.start == timedelta(minutes=90) for s in accessible.sessions)
    assert accessible.sessions[1].start - accessible.sessions[0].end >= timedelta(minutes=15)
    assert all(s.remote and s.room_id is None for s in result.plans[2].sessions)


def test_unplaceable_candidate_gets_the_search_reason():
    directory = f.directory([f.interviewer(1, areas=(MlArea.NLP,))])
    entries = [
        f.entry(f.candidate(1, area=MlArea.COMPUTER_VISION), f.template(rule=f.AreaRule.PRIMARY))
    ]
    result = solve(entries, directory)
    assert result.plans == (None,)
    assert "computer vision" in result.reasons[0]
    assert result.loops_possible == 0


def test_same_candidate_twice_never_overlaps_itself():
    directory = f.directory([f.interviewer(1), f.interviewer(2), f.interviewer(3)])
    cand = f.candidate(1)
    entries = [f.entry(cand), f.entry(cand)]
    result = solve(entries, directory)
    assert result.loops == 2
    a, b = result.plans
    assert a.sessions[-1].end <= b.sessions[0].start or b.sessions[-1].end <= a.sessions[0].start


def test_time_limit_is_respected():
    # Unlimited, this world keeps CP-SAT balancing load for a minute.
    entries, directory = f.bench_world(30, 3, 40)
    started = time.monotonic()
    result = solve(entries, directory, limit=3.0)
    elapsed = time.monotonic() - started
    assert result.solver_status != "NOT_RUN"
    # The limit covers greedy, options and solving; a little slack for building the model.
    assert elapsed < 3.0 + 1.5, elapsed
    assert result.seconds_total <= elapsed


@pytest.mark.parametrize("stage, limit", [
    # A tight world where balancing load cannot be proven optimal in seconds.
    ("solving", 120),
    # The improvement phase after CP-SAT (improve.py).
    ("improving", 10),
])
def test_cancel_while_searching_returns_promptly_with_a_valid_best_so_far(stage, limit):
    result, entries, directory, asked, seen = f.cancel_at(stage, time_limit=limit)
    assert asked is not None, f"the run never reported {stage!r} before it ended"
    assert time.monotonic() - asked < 5
    assert result.cancelled and seen[-1] == "done"
    assert validate_assignment(entries, directory, result.plans) == []
    assert result.loops >= result.greedy_loops


def test_cancel_during_greedy_keeps_what_was_placed():
    directory = f.directory([f.interviewer(1), f.interviewer(2)])
    entries = [f.entry(f.candidate(n)) for n in range(4)]
    stop = threading.Event()

    def progress(p):
        if p.stage == "greedy" and p.fraction > 0:
            stop.set()  # after the first entry

    result = run_cohort(entries, directory, time_limit=30, stop=stop, progress=progress)
    assert result.cancelled and result.source is Source.GREEDY
    assert result.plans[0] is not None and result.plans[1:] == (None, None, None)
    assert result.reasons[1].startswith("cancelled")
    assert validate_assignment(entries, directory, result.plans) == []


def test_window_outside_is_never_used():
    directory = f.directory([f.interviewer(1), f.interviewer(2)])
    e = f.entry(f.candidate(1))
    e = type(e)(**{**e.__dict__, "window": TimeRange(f.local(1, 10), f.local(1, 13))})
    result = solve([e], directory)
    (plan,) = result.plans
    assert f.local(1, 10) <= plan.sessions[0].start and plan.sessions[-1].end <= f.local(1, 13)


def test_options_cover_every_day_of_the_window_not_only_the_first_morning():
    from services.scheduling.cohort.options import generate

    directory = f.directory([f.interviewer(n) for n in range(3)])
    entries = [f.entry(f.candidate(1), days=5)]
    found = generate(entries, directory, [None])
    days = {p.sessions[0].start.date() for p in found.options[0]}
    assert days == {f.local(d, 9).date() for d in range(5)}
    zone = ZoneInfo(f.ZONE)
    local_starts = {p.sessions[0].start.astimezone(zone).strftime("%H:%M") for p in found.options[0]}
    assert {"09:00", "12:30"} <= local_starts  # mornings, and later starts of the same days
    assert found.complete and found.reasons == ("",)


def test_reasons_say_why_usable_days_failed_before_listing_closed_days():
    sunday, monday, tuesday = date(2026, 12, 6), date(2026, 12, 7), date(2026, 12, 8)
    reasons = [
        NoPlanReason("OFFICE_CLOSED", "office los-gatos is closed on 2026-12-06 (weekend)", sunday),
        NoPlanReason("NO_QUALIFIED_INTERVIEWER", "no NLP interviewer free on 2026-12-08", tuesday),
        NoPlanReason("OUTSIDE_AVAILABILITY", "the candidate is not available on 2026-12-07", monday),
        NoPlanReason("NO_ACCESSIBLE_ROOM", "no wheelchair-accessible room free on 2026-12-07", monday),
    ]
    assert describe(reasons, limit=2) == (
        "no wheelchair-accessible room free on 2026-12-07; no NLP interviewer free on 2026-12-08 (and 2 more)"
    )
    assert describe([NoPlanReason("WINDOW_EMPTY", "the window is past the horizon"), *reasons], limit=1).startswith(
        "the window is past the horizon"
    )
