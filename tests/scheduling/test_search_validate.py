"""`validate_plan` catches each kind of broken plan (as a client might send back to BookLoop)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from services.scheduling.domain.model import (
    AreaRule,
    Constraints,
    DailyWindow,
    LocalDateWindow,
    LocationMode,
    MlArea,
)
from services.scheduling.domain.search import find_plans, validate_plan
from tests.scheduling.test_search_world import (
    MONDAY,
    TUESDAY,
    at,
    candidate,
    directory,
    hm,
    interviewer,
    office,
    request,
    room,
    session,
    span,
    template,
)

LOOP = template(session("A", 60), session("B", 45, AreaRule.SECONDARY), buffer=10)
WHO = candidate(primary=MlArea.NLP, secondary=MlArea.COMPUTER_VISION)


def world(**changes):
    people = [
        interviewer("nlp", MlArea.NLP),
        interviewer("cv", MlArea.COMPUTER_VISION),
        interviewer("cv2", MlArea.COMPUTER_VISION),
        interviewer("rl", MlArea.REINFORCEMENT_LEARNING),
        interviewer("trainee", MlArea.NLP, MlArea.COMPUTER_VISION, trainee=True),
        interviewer("elsewhere", MlArea.NLP, office_id="la"),
    ]
    rooms = [room("big", capacity=6), room("tiny", capacity=1), room("la-room", "la")]
    args = {"interviewers": people, "rooms": rooms, "offices": [office(), office("la")]}
    args.update(changes)
    return directory(**args)


def planned(req=None, snapshot=None):
    req = req or request(LOOP, WHO)
    snapshot = snapshot or world()
    result = find_plans(req, snapshot)
    assert result.plans, result.no_plan_reasons
    plan = result.plans[0]
    assert validate_plan(plan, req, snapshot) == []
    return plan, req, snapshot


def with_session(plan, index, **changes):
    sessions = list(plan.sessions)
    sessions[index] = replace(sessions[index], **changes)
    return replace(plan, sessions=tuple(sessions))


def problems(plan, req, snapshot) -> str:
    found = validate_plan(plan, req, snapshot)
    assert found, "the broken plan passed validation"
    return " | ".join(found)


def test_busy_interviewer_is_caught():
    plan, req, snapshot = planned()
    s = plan.sessions[0]
    blocked = {s.interviewer_ids[0]: [span(MONDAY, "09:30", "09:31")]}
    busier = replace(snapshot, interviewer_busy=blocked)
    assert f"interviewer {s.interviewer_ids[0]} is busy" in problems(plan, req, busier)


def test_busy_room_is_caught():
    plan, req, snapshot = planned()
    busier = replace(snapshot, room_busy={"big": [span(MONDAY, "00:00", "23:00")]})
    assert "room big is busy" in problems(plan, req, busier)


@pytest.mark.parametrize(
    ("replacement", "expected"),
    [
        ("rl", "not qualified"),
        ("trainee", "not qualified (or a trainee)"),
        ("elsewhere", "not based at the office"),
        ("ghost", "does not exist"),
    ],
)
def test_wrong_interviewer_is_caught(replacement, expected):
    plan, req, snapshot = planned()
    broken = with_session(plan, 0, interviewer_ids=(replacement,))
    assert expected in problems(broken, req, snapshot)


def test_same_interviewer_twice_in_a_loop_is_caught():
    loop = template(session("A", 60, AreaRule.ANY), session("B", 45, AreaRule.ANY))
    plan, req, snapshot = planned(request(loop, WHO))
    broken = with_session(plan, 1, interviewer_ids=plan.sessions[0].interviewer_ids)
    assert "is in 2 sessions of the loop" in problems(broken, req, snapshot)


def test_wrong_room_is_caught():
    plan, req, snapshot = planned()
    assert "unsuitable (NO_ROOM_LARGE_ENOUGH)" in problems(
        with_session(plan, 0, room_id="tiny"), req, snapshot
    )
    elsewhere = with_session(plan, 0, room_id="la-room")
    assert "is not at office lg" in problems(elsewhere, req, snapshot)
    assert "needs a room" in problems(with_session(plan, 0, room_id=None), req, snapshot)


def test_inaccessible_room_is_caught():
    req = request(LOOP, WHO, constraints=Constraints(accessible_room=True))
    plan, req, snapshot = planned(req)
    stairs = replace(snapshot.rooms["big"], id="stairs", wheelchair_accessible=False)
    snapshot = replace(snapshot, rooms={**snapshot.rooms, "stairs": stairs})
    assert "NO_ACCESSIBLE_ROOM" in problems(with_session(plan, 0, room_id="stairs"), req, snapshot)


def test_moved_sessions_are_caught():
    plan, req, snapshot = planned()
    early = timedelta(hours=-3)  # 06:00: before everyone's hours and the office opening
    s = plan.sessions[0]
    text = problems(with_session(plan, 0, start=s.start + early, end=s.end + early), req, snapshot)
    assert "outside office hours" in text
    assert "outside interviewer" in text
    s1 = plan.sessions[1]
    squeezed = with_session(
        plan, 1, start=s1.start - timedelta(minutes=5), end=s1.end - timedelta(minutes=5)
    )
    assert "starts less than 0:10:00 after session 0 ends" in problems(squeezed, req, snapshot)


def test_wrong_duration_and_adjustments_are_caught():
    plan, req, snapshot = planned()
    s = plan.sessions[0]
    assert "must last 60 minutes" in problems(
        with_session(plan, 0, end=s.end - timedelta(minutes=5)), req, snapshot
    )
    assert "adjustments do not match" in problems(
        with_session(plan, 0, adjustments=("Something private",)), req, snapshot
    )


def test_constraints_tightened_after_booking_are_caught():
    # RevalidateCandidateLoops: a plan valid before is re-checked against new constraints.
    plan, req, snapshot = planned()
    stricter = replace(req, constraints=Constraints(duration_multiplier=1.5))
    assert "must last 90 minutes" in problems(plan, stricter, snapshot)
    afternoons = Constraints(allowed_windows=(DailyWindow(hm("13:00"), hm("17:00")),))
    windows = replace(req, constraints=afternoons)
    assert "allowed time windows" in problems(plan, windows, snapshot)
    remote = replace(req, constraints=Constraints(remote_only=True))
    assert "must be remote" in problems(plan, remote, snapshot)


def test_availability_notice_and_window_are_caught():
    plan, req, snapshot = planned()
    who = replace(WHO, availability=(LocalDateWindow(TUESDAY, hm("09:00"), hm("17:00")),))
    other = replace(req, candidate=who)
    assert "outside the candidate's availability" in problems(plan, other, snapshot)
    late_clock = replace(req, now=at(MONDAY, "08:00"))
    assert "minimum notice" in problems(plan, late_clock, snapshot)
    shorter = replace(req, window=replace(req.window, end=at(MONDAY, "09:30")))
    assert "ends after the window" in problems(plan, shorter, snapshot)


def test_load_limit_is_caught():
    plan, req, snapshot = planned()
    who = plan.sessions[0].interviewer_ids[0]
    limited = replace(snapshot.interviewers[who], max_per_day=1)
    snapshot = replace(
        snapshot,
        interviewers={**snapshot.interviewers, who: limited},
        interviewer_sessions={who: [at(MONDAY, "16:00")]},
    )
    assert "limit 1" in problems(plan, req, snapshot)


def test_days_and_mode_claims_are_caught():
    plan, req, snapshot = planned()
    assert "plan says 2 days" in problems(replace(plan, days=2), req, snapshot)
    assert "REMOTE" in problems(replace(plan, mode=LocationMode.REMOTE), req, snapshot)
    assert "sessions" in problems(replace(plan, sessions=plan.sessions[:1]), req, snapshot)


def test_per_day_cap_is_caught():
    plan, req, snapshot = planned()
    capped = replace(req, constraints=Constraints(max_sessions_per_day=1))
    assert "2 sessions on 2026-12-07, at most 1 allowed" in problems(plan, capped, snapshot)
