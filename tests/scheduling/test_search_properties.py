"""Property tests: whatever the world, the search returns only valid, well-ordered plans.

Worlds are small and random: a Los Angeles office, a few rooms and interviewers (two zones,
random areas, hours, busy blocks at odd minutes, load limits, trainees), a candidate in one of
four zones, a 1-3 session template and random accommodations.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.scheduling.domain.model import (
    AreaRule,
    Constraints,
    DailyWindow,
    LocalDateWindow,
    LocationMode,
    MlArea,
    TimeRange,
)
from services.scheduling.domain.search import find_plans, validate_plan
from tests.scheduling.test_search_world import (
    AUCKLAND,
    KOLKATA,
    LA,
    MONDAY,
    NY,
    at,
    candidate,
    directory,
    interviewer,
    office,
    request,
    room,
    session,
    template,
    weekly,
)

AREAS = [MlArea.NLP, MlArea.COMPUTER_VISION, MlArea.REINFORCEMENT_LEARNING]
# Rarely-true flags, so that a good share of worlds has plans to check.
sometimes = st.integers(0, 3).map(lambda n: n == 0)
DAYS = [MONDAY + timedelta(days=d) for d in range(3)]
PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def busy_blocks(draw, zone=LA, max_size=4):
    blocks = []
    for _ in range(draw(st.integers(0, max_size))):
        day = draw(st.sampled_from(DAYS))
        start = draw(st.integers(6 * 60, 18 * 60))  # any minute, not only the 5-minute grid
        length = draw(st.integers(1, 180))
        begin = at(day, f"{start // 60:02d}:{start % 60:02d}", zone)
        blocks.append(TimeRange(begin, begin + timedelta(minutes=length)))
    return blocks


@st.composite
def worlds(draw):
    hours = draw(st.sampled_from(["08:00-18:00", "09:00-17:00", "10:00-16:00"])).split("-")
    holidays = draw(st.sampled_from([(), (DAYS[1],)]))
    offices = [office(hours=weekly(*hours), holidays=holidays)]
    rooms = [
        room(
            f"r{i}",
            capacity=draw(st.integers(2, 8)),
            accessible=draw(st.booleans()),
            quiet=draw(st.booleans()),
            hint=draw(st.sampled_from(["A", "B", ""])),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    people = []
    busy = {}
    booked = {}
    for i in range(draw(st.integers(2, 8))):
        zone = draw(st.sampled_from([LA, LA, NY]))
        start, end = draw(
            st.sampled_from([("08:00", "16:00"), ("09:00", "17:00"), ("11:00", "19:00")])
        )
        person = interviewer(
            f"i{i}",
            *draw(st.lists(st.sampled_from(AREAS), min_size=1, max_size=2, unique=True)),
            zone=zone,
            hours=weekly(start, end),
            max_per_day=draw(st.integers(0, 2)),
            max_per_week=draw(st.integers(0, 4)),
            trainee=draw(st.integers(0, 9)) == 0,
        )
        people.append(person)
        busy[person.id] = draw(busy_blocks(zone))
        booked[person.id] = [b.start for b in draw(busy_blocks(zone, max_size=3))]
    room_busy = {r.id: draw(busy_blocks(max_size=3)) for r in rooms}
    return directory(people, rooms, offices, busy, room_busy, booked)


@st.composite
def requests(draw):
    zone = draw(st.sampled_from([LA, NY, KOLKATA, AUCKLAND]))
    availability = ()
    if draw(st.booleans()):
        availability = tuple(
            LocalDateWindow(
                day + timedelta(days=draw(st.integers(0, 1))),
                draw(st.integers(0, 20)) * 60,
                24 * 60,
            )
            for day in DAYS[:2]
        )
    preferred = draw(st.none() | st.just(DailyWindow(9 * 60, 13 * 60)))
    who = candidate(
        zone=zone,
        primary=draw(st.sampled_from(AREAS)),
        secondary=draw(st.sampled_from([MlArea.UNSPECIFIED, *AREAS])),
        availability=availability,
        preferred=preferred,
    )
    sessions = [
        session(
            f"S{i}",
            draw(st.integers(20, 90)),
            draw(st.sampled_from(list(AreaRule)[1:])),
            draw(st.integers(1, 2)),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    loop = template(
        *sessions,
        buffer=draw(st.sampled_from([0, 5, 10, 15])),
        max_days=draw(st.integers(1, 2)),
    )
    constraints = Constraints(
        duration_multiplier=draw(st.sampled_from([1.0, 1.0, 1.25, 1.5])),
        extra_break_minutes=draw(st.sampled_from([0, 0, 10])),
        max_sessions_per_day=draw(st.integers(0, 2)),
        remote_only=draw(st.integers(0, 4)) == 0,
        accessible_room=draw(sometimes),
        interpreter=draw(sometimes),
        captioning=draw(st.booleans()),
        one_interviewer_at_a_time=draw(st.booleans()),
        quiet_room=draw(sometimes),
        allowed_windows=draw(st.sampled_from([(), (DailyWindow(6 * 60, 20 * 60),)])),
    )
    mode = draw(st.sampled_from([LocationMode.ONSITE, LocationMode.REMOTE]))
    now = at(MONDAY, "00:00") - timedelta(hours=draw(st.integers(0, 48)))
    return request(
        loop,
        who,
        days=3,
        mode=mode,
        constraints=constraints,
        max_plans=draw(st.integers(1, 20)),
        now=now,
    )


def overlaps(a_start, a_end, b_start, b_end) -> bool:
    return a_start < b_end and b_start < a_end


@PROPERTY_SETTINGS
@given(worlds(), requests())
def test_every_plan_is_valid_ordered_and_explained_when_empty(world, req):
    result = find_plans(req, world)
    gap = req.template.buffer + timedelta(minutes=req.constraints.extra_break_minutes)
    for plan in result.plans:
        assert validate_plan(plan, req, world) == []
        # Independently of validate_plan: sessions in order, apart by the gap, never overlapping.
        for a, b in zip(plan.sessions, plan.sessions[1:]):
            assert b.start >= a.end + gap
        for s in plan.sessions:
            for interviewer_id in s.interviewer_ids:
                for block in world.interviewer_busy.get(interviewer_id, ()):
                    assert not overlaps(s.start, s.end, block.start, block.end)
            for block in world.room_busy.get(s.room_id or "", ()):
                assert not overlaps(s.start, s.end, block.start, block.end)
    scores = [p.score for p in result.plans]
    assert scores == sorted(scores, reverse=True)
    assert len(result.plans) <= req.max_plans
    if not result.plans:
        assert result.no_plan_reasons
    else:
        assert result.no_plan_reasons == ()


@PROPERTY_SETTINGS
@given(worlds(), requests(), st.data())
def test_added_busy_time_is_never_used(world, req, data):
    result = find_plans(req, world)
    if result.plans:
        # Block part of a chosen session for one of its interviewers.
        plan = data.draw(st.sampled_from(result.plans))
        s = data.draw(st.sampled_from(plan.sessions))
        who = data.draw(st.sampled_from(s.interviewer_ids))
        cut = data.draw(st.integers(0, int((s.end - s.start).total_seconds() // 60) - 1))
        block = TimeRange(s.start + timedelta(minutes=cut), s.start + timedelta(minutes=cut + 1))
    else:
        who = data.draw(st.sampled_from(sorted(world.interviewers)))
        block = data.draw(busy_blocks(max_size=1).filter(bool))[0]
    busier = replace(
        world,
        interviewer_busy={
            **world.interviewer_busy,
            who: [*world.interviewer_busy.get(who, ()), block],
        },
    )
    after = find_plans(req, busier)
    for plan in after.plans:
        assert validate_plan(plan, req, busier) == []
        for s in plan.sessions:
            if who in s.interviewer_ids:
                assert not overlaps(s.start, s.end, block.start, block.end)


@settings(max_examples=30, deadline=None)
@given(worlds(), requests())
def test_search_is_deterministic(world, req):
    assert find_plans(req, world) == find_plans(req, world)


def test_every_plan_over_a_realistic_directory_is_valid():
    # The benchmark's world (2 offices, 200 interviewers, 20 rooms, two weeks of busy time)
    # with many plans per request, so later, multi-day and far-away layouts are returned too.
    from bench.directory_gen import generate
    from bench.search_bench import requests as bench_requests

    world = generate()
    for req in bench_requests(world, 60):
        req = replace(req, max_plans=50)
        result = find_plans(req, world.directory)
        assert result.plans or result.no_plan_reasons
        for plan in result.plans:
            assert validate_plan(plan, req, world.directory) == [], plan


def test_a_snapshot_shared_by_many_searches_answers_as_a_fresh_one():
    # Searches keep free-time bitsets on the snapshot over the union of the windows seen and
    # shift them for the next window; the answers must not depend on what ran before.
    from bench.directory_gen import generate
    from bench.search_bench import requests as bench_requests

    world = generate(seed=4)
    shared = replace(world.directory)
    rng = random.Random(8)
    items = []
    for req in bench_requests(world, 25, seed=8):
        days = rng.randint(1, 4)
        end = req.window.start + timedelta(days=days)
        narrow = replace(req, window=replace(req.window, end=end))
        items += [narrow, req]
    # Random order: the kept span has to grow to the right, to the left, or not at all.
    rng.shuffle(items)
    for item in items:
        assert find_plans(item, shared) == find_plans(item, replace(world.directory))
