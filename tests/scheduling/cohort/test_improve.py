"""The improvement phase after CP-SAT: the residual fill finds gaps the options missed, the LNS
only ever keeps more loops (or a flatter load), and both stop on cancellation and deadline."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

from services.scheduling.cohort.engine import run_cohort
from services.scheduling.cohort.greedy import greedy
from services.scheduling.cohort.improve import improve, load_key
from services.scheduling.cohort.model import Source
from services.scheduling.cohort.options import generate
from services.scheduling.cohort.validate import validate_assignment
from services.scheduling.domain.model import Candidate, LocalDateWindow, MlArea
from tests.scheduling.cohort import factories as f

ZONE = ZoneInfo(f.ZONE)


def _at(plan) -> str:
    return plan.sessions[0].start.astimezone(ZONE).strftime("%H:%M")


def _gap_world():
    """One interviewer 9-17 on Monday, two-hour loops: four fit (9, 11, 13, 15).

    c2 can only do 9-11. Greedy (arrival order) gives 9-11 to c1 and strands c2: 3 loops. The
    options are the search's earliest starts of the day and of its afternoon (9:00-9:45,
    12:30-13:15) plus greedy's own plans (11:00 for c3, 13:00 for c4), so CP-SAT, which moves
    c1 aside for c2, finds only 3 non-overlapping options: 9, 11 and 13. The 15:00 gap appears
    only once those are placed, and only the residual search sees it.
    """
    directory = f.directory([f.interviewer(1)])
    talk = f.template(minutes=(120,))
    morning = Candidate(
        id="c2", time_zone=f.ZONE, primary_area=MlArea.NLP,
        availability=(LocalDateWindow(f.MONDAY, 9 * 60, 11 * 60),),
    )
    entries = [
        f.entry(f.candidate(1), talk, days=1),
        f.entry(morning, talk, days=1),
        f.entry(f.candidate(3), talk, days=1),
        f.entry(f.candidate(4), talk, days=1),
    ]
    return entries, directory


def test_residual_fill_adds_the_loop_the_options_miss():
    entries, directory = _gap_world()
    base = greedy(entries, directory)
    assert [p is not None for p in base.plans] == [True, False, True, True]
    found = generate(entries, directory, base.plans)
    starts = {_at(p) for options in found.options for p in options}
    assert "15:00" not in starts  # no option fills the last gap

    result = run_cohort(entries, directory, time_limit=5.0)
    assert validate_assignment(entries, directory, result.plans) == []
    assert result.greedy_loops == 3 and result.upper_bound == 3  # CP-SAT's best over options
    assert result.loops == 4 and result.improved_loops == 1
    assert result.source is Source.IMPROVED
    assert sorted(_at(p) for p in result.plans) == ["09:00", "11:00", "13:00", "15:00"]
    assert _at(result.plans[1]) == "09:00"  # c2 kept its only slot
    assert result.reasons == ("", "", "", "")


def test_improve_alone_fills_the_gap_and_never_drops_a_loop():
    entries, directory = _gap_world()
    base = greedy(entries, directory)
    found = generate(entries, directory, base.plans)
    out = improve(
        entries, directory, base.plans, found.options, deadline=time.monotonic() + 2.0,
        should_stop=lambda: False, clock=time.monotonic, seed=1,
    )
    assert validate_assignment(entries, directory, out.plans) == []
    # Greedy's 9/11/13 leaves nobody a gap to fill (c2 can only do 9-11); the LNS takes c1
    # out of 9:00 for c2 and the residual search re-places c1 at 15:00.
    assert _at(out.plans[1]) == "09:00" and _at(out.plans[0]) == "15:00"
    assert (out.filled, out.moved) == (0, 1)


def test_same_seed_same_result():
    entries, directory = _gap_world()
    base = greedy(entries, directory)
    found = generate(entries, directory, base.plans)

    def once():
        return improve(
            entries, directory, base.plans, found.options, deadline=time.monotonic() + 5.0,
            should_stop=lambda: False, clock=time.monotonic, seed=7,
        ).plans

    assert once() == once()


def test_stopped_or_past_deadline_returns_the_assignment_as_given():
    entries, directory = f.bench_world(30, 3, 40)
    base = greedy(entries, directory)
    found = generate(entries, directory, base.plans)
    for should_stop, deadline in ((lambda: True, time.monotonic() + 60), (lambda: False, 0.0)):
        started = time.monotonic()
        out = improve(
            entries, directory, base.plans, found.options, deadline=deadline,
            should_stop=should_stop, clock=time.monotonic,
        )
        assert time.monotonic() - started < 1.0
        assert out.plans == base.plans and out.filled == out.moved == out.moves == 0


def test_load_key_prefers_the_flatter_assignment():
    entries, directory = _gap_world()
    base = greedy(entries, directory)
    assert load_key(base.plans) == (3, 9)
    assert load_key([None] * 4) == (0, 0)
