"""Property tests: on random small worlds the cohort result is always valid (checked by the
independent validator against the same snapshot) and never places fewer loops than greedy; the
improvement phase (residual fill and LNS) alone, from greedy's assignment, likewise."""

from __future__ import annotations

import time
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scheduling.cohort.bound import upper_bound
from services.scheduling.cohort.engine import REJECTED, run_cohort
from services.scheduling.cohort.greedy import greedy
from services.scheduling.cohort.improve import improve
from services.scheduling.cohort.options import generate
from services.scheduling.cohort.validate import validate_assignment
from services.scheduling.domain.model import (
    AreaRule,
    Constraints,
    DailyWindow,
    MlArea,
)
from tests.scheduling.cohort import factories as f

AREAS = [MlArea.NLP, MlArea.COMPUTER_VISION]


@st.composite
def worlds(draw):
    ivs = [
        f.interviewer(
            n,
            areas=draw(st.sets(st.sampled_from(AREAS), min_size=1)),
            start_h=draw(st.sampled_from([8, 9, 12])),
            end_h=draw(st.sampled_from([13, 15, 17])),
            max_per_day=draw(st.sampled_from([0, 1, 2, 3])),
            max_per_week=draw(st.sampled_from([0, 3, 6])),
        )
        for n in range(draw(st.integers(2, 5)))
    ]
    rooms = [
        f.room(n, capacity=draw(st.sampled_from([2, 3, 4])), accessible=draw(st.booleans()))
        for n in range(draw(st.integers(0, 2)))
    ]
    busy = {}
    for iv in ivs:
        blocks = draw(st.lists(st.tuples(st.integers(0, 2), st.integers(8, 16)), max_size=3))
        busy[iv.id] = [
            f.TimeRange(f.local(d, h), f.local(d, h) + timedelta(minutes=60)) for d, h in blocks
        ]
    existing = {
        iv.id: [f.local(d, 7) for d in draw(st.lists(st.integers(0, 2), max_size=2))]
        for iv in ivs
    }
    directory = f.directory(ivs, rooms, busy=busy, sessions=existing)
    tmpl = f.template(
        minutes=draw(st.sampled_from([(60,), (45, 30), (30, 45, 30)])),
        buffer=draw(st.sampled_from([0, 10])),
        rule=draw(st.sampled_from([AreaRule.ANY, AreaRule.PRIMARY])),
    )
    entries = []
    for n in range(draw(st.integers(1, 6))):
        days = draw(st.one_of(st.none(), st.sets(st.integers(0, 2), min_size=1).map(sorted)))
        constraints = draw(
            st.sampled_from(
                [
                    Constraints(),
                    Constraints(remote_only=True),
                    Constraints(accessible_room=True),
                    Constraints(duration_multiplier=1.5, extra_break_minutes=15),
                    Constraints(max_sessions_per_day=1),
                    Constraints(allowed_windows=(DailyWindow(10 * 60, 14 * 60),)),
                ]
            )
        )
        cand = f.candidate(n, days=days, area=draw(st.sampled_from(AREAS)))
        entries.append(
            f.entry(cand, tmpl, days=3, onsite=draw(st.booleans()) and bool(rooms),
                    constraints=constraints)
        )
    return entries, directory


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_cohort_is_valid_and_never_worse_than_greedy(world):
    entries, directory = world
    base = greedy(entries, directory)
    assert validate_assignment(entries, directory, base.plans) == []
    result = run_cohort(entries, directory, time_limit=3.0)
    assert validate_assignment(entries, directory, result.plans) == []
    # The engine re-checks the solver's assignment and falls back to greedy's when the
    # validator rejects it; that must never be needed.
    assert result.solver_status != REJECTED
    assert result.greedy_loops == sum(p is not None for p in base.plans)
    assert result.loops >= result.greedy_loops
    # What the improvement phase added came on top of CP-SAT's (or greedy's) result.
    assert 0 <= result.improved_loops <= result.loops - result.greedy_loops
    if result.upper_bound is not None:
        assert result.loops <= result.upper_bound <= len(entries)
    assert result.loops <= upper_bound(entries, directory).loops <= len(entries)
    for plan, reason in zip(result.plans, result.reasons, strict=True):
        assert (plan is None) == bool(reason)
    for plan, request in zip(result.plans, entries, strict=True):
        if plan is not None:
            window = request.window
            assert window.start <= plan.sessions[0].start and plan.sessions[-1].end <= window.end
    # Loads match the plans.
    counted = {}
    for plan in result.plans:
        for s in plan.sessions if plan else ():
            for i in s.interviewer_ids:
                counted[i] = counted.get(i, 0) + 1
    assert {i: load.sessions for i, load in result.loads.items()} == counted

    # The improvement phase on its own, from greedy's assignment: valid, never fewer loops.
    found = generate(entries, directory, base.plans)
    out = improve(
        entries, directory, base.plans, found.options, deadline=time.monotonic() + 1.0,
        should_stop=lambda: False, clock=time.monotonic, seed=len(entries),
    )
    assert validate_assignment(entries, directory, out.plans) == []
    assert sum(p is not None for p in out.plans) == result.greedy_loops + out.filled + out.moved
    assert out.filled >= 0 and out.moved >= 0
