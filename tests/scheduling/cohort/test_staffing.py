"""Per-session staffing: the pools the solver picks teams and rooms from are exactly what
`validate_plan` accepts, and the solver uses them to free a scarce interviewer for another loop."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings

from services.scheduling.cohort.greedy import greedy
from services.scheduling.cohort.options import generate
from services.scheduling.cohort.solver import solve
from services.scheduling.cohort.staffing import layouts_of
from services.scheduling.cohort.validate import validate_assignment
from services.scheduling.domain.model import AreaRule, MlArea
from services.scheduling.domain.search import find_plans, validate_plan
from tests.scheduling.cohort import factories as f
from tests.scheduling.cohort.test_properties import worlds


def _with(plan, index, team=None, room=None):
    sessions = list(plan.sessions)
    session = sessions[index]
    sessions[index] = replace(
        session,
        interviewer_ids=session.interviewer_ids if team is None else team,
        room_id=session.room_id if room is None else room,
    )
    return replace(plan, sessions=tuple(sessions))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_every_pool_member_makes_a_valid_plan(world):
    entries, directory = world
    found = generate(entries, directory, [None] * len(entries))
    _pools, layouts = layouts_of(entries, directory, found.options, extra=10)
    for request, per_entry in zip(entries, layouts, strict=True):
        for layout in per_entry:
            plan = layout.plan
            assert validate_plan(plan, request, directory) == []
            for k, (team, rooms) in enumerate(zip(layout.teams, layout.rooms, strict=True)):
                own = plan.sessions[k].interviewer_ids
                assert set(own) <= set(team)
                elsewhere = {i for s in plan.sessions if s is not plan.sessions[k]
                             for i in s.interviewer_ids}
                for member in team:
                    if member in own or member in elsewhere:
                        continue
                    swapped = _with(plan, k, team=(member, *own[1:]))
                    assert validate_plan(swapped, request, directory) == [], (k, member)
                    assert validate_assignment([request], directory, [swapped]) == []
                for room_id in rooms:
                    moved = _with(plan, k, room=room_id)
                    assert validate_assignment([request], directory, [moved]) == [], (k, room_id)


def test_the_solver_restaffs_a_loop_to_free_the_only_interviewer_another_needs():
    # iv1 knows NLP and vision, iv2 only NLP; both work 9-10 on Monday only.
    # iv2 already has an interview that week, so the search staffs the NLP loop with iv1.
    ivs = [
        f.interviewer(1, areas=(MlArea.NLP, MlArea.COMPUTER_VISION), start_h=9, end_h=10),
        f.interviewer(2, areas=(MlArea.NLP,), start_h=9, end_h=10),
    ]
    directory = f.directory(ivs, sessions={"iv2": [f.local(1, 7)]})
    one = f.template(minutes=(60,), rule=AreaRule.PRIMARY)
    entries = [
        f.entry(f.candidate(1, area=MlArea.NLP), one, days=1),
        f.entry(f.candidate(2, area=MlArea.COMPUTER_VISION), one, days=1),
    ]
    base = greedy(entries, directory)
    assert base.plans[0].sessions[0].interviewer_ids == ("iv1",) and base.plans[1] is None
    # Each entry is offered only the search's single best plan: no option staffs c1 with iv2.
    options = [[find_plans(e, directory).plans[0]] for e in entries]
    pools, layouts = layouts_of(entries, directory, options)
    assert layouts[0][0].teams == (("iv1", "iv2"),)
    outcome = solve(layouts, directory, hint=base.plans, time_limit=10)
    assert outcome.loops == 2
    plans = [
        pools.staffed(e, layouts[n][c.layout], c.teams, c.rooms)
        for n, (e, c) in enumerate(zip(entries, outcome.choice, strict=True))
    ]
    assert [p.sessions[0].interviewer_ids for p in plans] == [("iv2",), ("iv1",)]
    assert validate_assignment(entries, directory, plans) == []


def test_rooms_are_chosen_per_session_too():
    # Two rooms; each candidate's search plan takes room 1 at the only hour both can do.
    directory = f.directory(
        [f.interviewer(n) for n in range(1, 3)], [f.room(1), f.room(2)], office_hours=(9, 10)
    )
    one = f.template(minutes=(60,))
    entries = [f.entry(f.candidate(n, days=[0]), one, days=1, onsite=True) for n in (1, 2)]
    options = [[find_plans(e, directory).plans[0]] for e in entries]
    assert {p[0].sessions[0].room_id for p in options} == {f.room(1).id}
    pools, layouts = layouts_of(entries, directory, options)
    outcome = solve(layouts, directory, hint=[options[0][0], None], time_limit=10)
    assert outcome.loops == 2
    plans = [
        pools.staffed(e, layouts[n][c.layout], c.teams, c.rooms)
        for n, (e, c) in enumerate(zip(entries, outcome.choice, strict=True))
    ]
    assert {p.sessions[0].room_id for p in plans} == {f.room(1).id, f.room(2).id}
    assert validate_assignment(entries, directory, plans) == []
