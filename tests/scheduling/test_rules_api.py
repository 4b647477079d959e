"""Each scheduling rule seen through FindLoopPlans and BookLoop (the search's
own unit tests cover the rules in depth): notice and horizon, buffers kept
by reservations, load limits across bookings, accommodation constraints,
the DST days and candidates far away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest

from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from tests.scheduling.conftest import LA, MON, NLP, START, add_candidate, add_interviewer, add_room, add_template, find, local_time


def _start(session) -> datetime:
    return datetime.fromtimestamp(session.time_range.start_time.seconds, UTC)


def _end(session) -> datetime:
    return datetime.fromtimestamp(session.time_range.end_time.seconds, UTC)


@pytest.fixture
def small(scheduling):
    s = scheduling
    add_interviewer(s, "ana", [NLP])
    add_interviewer(s, "bo", [NLP])
    add_room(s, "r1", capacity=2)
    add_room(s, "big", capacity=8, accessible=True, quiet=True)
    add_candidate(s, "cand")
    add_template(s, "two", (60, 60), buffer=15)
    return s


def test_minimum_notice_and_horizon(small):
    s = small
    plans = find(s, "cand", "two", START, START + timedelta(days=3)).plans
    assert plans and all(_start(p.sessions[0]) >= START + timedelta(hours=24) for p in plans)
    far = find(s, "cand", "two", START + timedelta(days=100), START + timedelta(days=105))
    assert not far.plans and far.no_plan_reasons


def test_gap_after_a_booked_session_is_kept_by_later_bookings(small):
    s = small
    rl = common_pb2.ML_AREA_REINFORCEMENT_LEARNING
    add_interviewer(s, "gil", [rl])  # the only one qualified
    add_candidate(s, "first", primary=rl)
    add_candidate(s, "other", primary=rl)
    add_template(s, "one", (60,), buffer=30)
    late_morning = MON.replace(hour=11)
    booked = s.call("BookLoop", pb.BookLoopRequest(plan=find(s, "first", "one", late_morning, MON + timedelta(days=1)).plans[0]))
    session = booked.sessions[0].session
    assert _start(session).astimezone(LA).hour == 11
    gap = timedelta(minutes=30)
    plans = find(s, "other", "one", MON.replace(hour=9), MON.replace(hour=14), k=10).plans
    assert plans
    for plan in plans:
        planned = plan.sessions[0]
        # The gap is kept on both sides: after the booked session, and after the new one.
        assert _start(planned) >= _end(session) + gap or _end(planned) + gap <= _start(session), planned.candidate_local_start
    # So every plan offered is bookable; the latest one before the booking ends 30 minutes ahead of it.
    before = max((p for p in plans if _start(p.sessions[0]) < _start(session)), key=lambda p: _start(p.sessions[0]))
    assert _end(before.sessions[0]) + gap == _start(session)
    assert s.call("BookLoop", pb.BookLoopRequest(plan=before)).state == pb.LOOP_STATE_BOOKED


def test_daily_load_limit_counts_earlier_bookings(scheduling):
    s = scheduling
    add_interviewer(s, "solo", [NLP], per_day=1)
    add_candidate(s, "a")
    add_candidate(s, "b")
    add_template(s, "one", (45,))
    first = s.call("BookLoop", pb.BookLoopRequest(plan=find(s, "a", "one", MON, MON + timedelta(days=1)).plans[0]))
    day = _start(first.sessions[0].session).astimezone(LA).date()
    response = find(s, "b", "one", MON, MON + timedelta(days=2))
    assert response.plans
    assert all(_start(p.sessions[0]).astimezone(LA).date() != day for p in response.plans)


def test_remote_only_constraint_makes_any_request_remote(small):
    s = small
    s.constraints.by_candidate["candidates/cand"] = common_pb2.SchedulingConstraints(remote_only=True)
    response = find(s, "cand", "two", MON, MON + timedelta(days=2), onsite="los-gatos")
    assert response.applied_constraints.remote_only
    assert response.plans and all(p.location_mode == pb.LOCATION_MODE_REMOTE and not p.office for p in response.plans)
    assert all(x.remote and not x.room for p in response.plans for x in p.sessions)


def test_interpreter_needs_a_seat_and_extra_break_widens_the_gap(small):
    s = small
    s.constraints.by_candidate["candidates/cand"] = common_pb2.SchedulingConstraints(interpreter=True, extra_break_minutes=20)
    plans = find(s, "cand", "two", MON, MON + timedelta(days=2), onsite="los-gatos").plans
    assert plans
    for plan in plans:
        first, second = plan.sessions
        # r1 seats two: the candidate and the interviewer, not the interpreter too.
        assert first.room == second.room == "offices/los-gatos/rooms/big"
        assert _start(second) - _end(first) >= timedelta(minutes=35)
        assert "Interpreter attending" in first.adjustments


def test_max_sessions_per_day_spreads_the_loop(small):
    s = small
    add_interviewer(s, "cy", [NLP])
    add_interviewer(s, "dan", [NLP])  # nobody interviews twice in one loop
    add_template(s, "four", (45, 45, 45, 45), max_days=1)
    s.constraints.by_candidate["candidates/cand"] = common_pb2.SchedulingConstraints(max_sessions_per_day=2)
    plans = find(s, "cand", "four", MON, MON + timedelta(days=5)).plans
    assert plans
    for plan in plans:
        days = [_start(x).astimezone(LA).date() for x in plan.sessions]
        assert max(days.count(d) for d in days) <= 2 and plan.days >= 2


def test_allowed_windows_in_the_candidates_zone(small):
    s = small
    s.constraints.by_candidate["candidates/cand"] = common_pb2.SchedulingConstraints(
        allowed_windows=[common_pb2.DailyWindow(start=local_time(13), end=local_time(17))])
    plans = find(s, "cand", "two", MON, MON + timedelta(days=2)).plans
    assert plans
    for plan in plans:
        for x in plan.sessions:
            local = _start(x).astimezone(LA)
            assert local.hour >= 13 and _end(x).astimezone(LA) <= local.replace(hour=17, minute=0)


@pytest.mark.parametrize("day", [datetime(2026, 3, 6, tzinfo=LA), datetime(2026, 10, 30, tzinfo=LA)], ids=["spring", "fall"])
def test_working_hours_hold_on_both_sides_of_a_dst_change(scheduling, clock, day):
    s = scheduling
    clock.now = day.astimezone(UTC) - timedelta(days=2)
    add_interviewer(s, "ana", [NLP], hours=[common_pb2.WeeklyInterval(day_of_week=d, start=local_time(9), end=local_time(10))
                                            for d in (5, 1)])  # Friday before, Monday after
    add_candidate(s, "cand")
    add_template(s, "one", (60,))
    plans = find(s, "cand", "one", day, day + timedelta(days=4), k=5).plans
    starts = sorted(_start(p.sessions[0]) for p in plans)
    assert len(starts) == 2
    # 09:00 local both days; the UTC hour moves by one across the change.
    assert [t.astimezone(LA).hour for t in starts] == [9, 9]
    assert {t.hour for t in starts} == {16, 17}
    assert starts[1] - starts[0] in (timedelta(days=3, hours=1), timedelta(days=3, hours=-1))


@pytest.mark.parametrize(("zone", "start", "end"), [("Asia/Kolkata", (19, 30), (22, 30)), ("Pacific/Auckland", (8, 0), (10, 0))])
def test_far_away_candidates_get_times_in_their_zone(scheduling, zone, start, end):
    s = scheduling
    add_interviewer(s, "ana", [NLP], hours=[common_pb2.WeeklyInterval(day_of_week=d, start=local_time(7), end=local_time(19))
                                            for d in range(1, 6)])
    tz = ZoneInfo(zone)
    # The candidate is free a few evening or morning hours of their Tuesday 10 March only,
    # which is Tuesday morning or Monday noon in Los Angeles.
    window = common_pb2.LocalDateWindow(date=common_pb2.Date(year=2026, month=3, day=10), start=local_time(*start), end=local_time(*end))
    add_candidate(s, "far", zone=zone, availability=[window])
    add_template(s, "one", (60,))
    response = find(s, "far", "one", MON - timedelta(days=1), MON + timedelta(days=4), k=3)
    assert response.plans, response.no_plan_reasons
    for plan in response.plans:
        x = plan.sessions[0]
        local = datetime.fromisoformat(x.candidate_local_start)
        assert local.utcoffset() == _start(x).astimezone(tz).utcoffset()
        assert local.date().isoformat() == "2026-03-10"
        assert (start[0], start[1]) <= (local.hour, local.minute) and local + timedelta(hours=1) <= local.replace(hour=end[0], minute=end[1])
        assert 7 <= _start(x).astimezone(LA).hour < 19  # inside the interviewer's own hours
    loop = s.call("BookLoop", pb.BookLoopRequest(plan=response.plans[0]))
    assert loop.sessions[0].session.candidate_local_start == response.plans[0].sessions[0].candidate_local_start


def test_no_plan_says_why(small):
    s = small
    add_candidate(s, "cv", primary=common_pb2.ML_AREA_COMPUTER_VISION)
    response = find(s, "cv", "two", MON, MON + timedelta(days=2))
    assert not response.plans
    assert any("QUALIFIED" in r.code for r in response.no_plan_reasons), response.no_plan_reasons


def test_find_rejects_bad_requests(small):
    s = small
    with pytest.raises(grpc.RpcError) as caught:
        s.call("FindLoopPlans", pb.FindLoopPlansRequest(candidate="candidates/cand", loop_template="loopTemplates/two",
                                                       location_mode=pb.LOCATION_MODE_ONSITE))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as caught:
        find(s, "nobody", "two", MON, MON + timedelta(days=1))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_candidates_other_loops_are_kept_free(small):
    s = small
    add_template(s, "one", (60,))
    add_interviewer(s, "cy", [NLP])
    first = s.call("BookLoop", pb.BookLoopRequest(plan=find(s, "cand", "two", MON, MON + timedelta(days=1)).plans[0]))
    taken_from = _start(first.sessions[0].session)
    taken_to = _end(first.sessions[-1].session) + timedelta(minutes=15)  # the template's buffer
    plans = find(s, "cand", "one", MON, MON + timedelta(days=1), k=20).plans
    assert plans
    for plan in plans:
        x = plan.sessions[0]
        assert _end(x) <= taken_from or _start(x) >= taken_to, x.candidate_local_start
    # ...and each of them books (the candidate is a reserved resource too).
    assert s.call("BookLoop", pb.BookLoopRequest(plan=plans[0])).state == pb.LOOP_STATE_BOOKED
