"""FindLoopPlans and BookLoop through a real in-process gRPC server, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import select

from interviews.common.v1 import common_pb2
from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core.db import Database
from services.scheduling import models
from services.scheduling.store.reservations import count_overlaps
from tests.scheduling.conftest import MON, NLP, add_candidate, add_interviewer, add_room, add_template, count_rows, error_info, find

CV = common_pb2.ML_AREA_COMPUTER_VISION


def _db(s) -> Database:
    return Database(s.settings.database_url("scheduling"), "scheduling")




@pytest.fixture
def directory(scheduling):
    for name in ("ana", "bo", "cy"):
        add_interviewer(scheduling, name, [NLP])
    add_interviewer(scheduling, "dee", [CV])
    add_room(scheduling, "r1")
    add_room(scheduling, "r2", accessible=True)
    add_candidate(scheduling, "cand")
    add_template(scheduling, "two", (60, 60), buffer=15)
    return scheduling


def test_find_returns_ranked_plans_with_local_times(directory):
    s = directory
    response = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos", k=5)
    assert len(response.plans) == 5
    scores = [p.score for p in response.plans]
    assert scores == sorted(scores, reverse=True)
    plan = response.plans[0]
    assert plan.office == "offices/los-gatos" and plan.location_mode == pb.LOCATION_MODE_ONSITE
    first, second = plan.sessions
    assert first.room.startswith("offices/los-gatos/rooms/")
    # 15 minutes of buffer between the sessions.
    assert second.time_range.start_time.seconds - first.time_range.end_time.seconds >= 15 * 60
    local = datetime.fromisoformat(first.candidate_local_start)
    assert local.utcoffset() == timedelta(hours=-7)  # PDT, after the change
    assert local == datetime.fromtimestamp(first.time_range.start_time.seconds, UTC)
    for session in plan.sessions:
        for interviewer in session.interviewers:
            assert interviewer in ("interviewers/ana", "interviewers/bo", "interviewers/cy")


def test_book_writes_reservations_loop_and_invites(directory):
    s = directory
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    loop = s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="req-1"))
    assert loop.state == pb.LOOP_STATE_BOOKED and loop.name.startswith("loops/")
    assert [ls.session.time_range for ls in loop.sessions] == [p.time_range for p in plan.sessions]
    assert all(ls.sequence == 0 and ls.video_link for ls in loop.sessions)
    # Per session: each interviewer, the room and the candidate.
    assert count_rows(s, models.ReservationRow, models.ReservationRow.owner == loop.name) == 2 * 3
    db = _db(s)
    with db.reader() as session:
        rows = session.scalars(select(models.OutboxMessage).order_by(models.OutboxMessage.id)).all()
    db.dispose()
    assert len(rows) == 2
    invite = npb.SendInviteRequest.FromString(rows[0].payload)
    first = loop.sessions[0]
    assert invite.idempotency_key == f"invite:{first.session_id}:0:request"
    assert invite.invite.uid == f"{first.session_id}@interviews"
    assert invite.invite.location.startswith("121 Albright Way")
    roles = {a.email: a.role for a in invite.invite.attendees}
    assert roles["cand@candidates.example.org"] == npb.ATTENDEE_ROLE_CANDIDATE
    assert len(invite.invite.agenda) == 2


def test_retry_with_same_request_id_returns_first_loop_and_books_nothing_new(directory):
    s = directory
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    first = s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="same"))
    again = s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="same"))
    assert again == first
    assert count_rows(s, models.LoopRow) == 1
    assert count_rows(s, models.OutboxMessage) == 2


def test_retry_is_answered_even_while_accommodations_is_down(directory):
    s = directory
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    first = s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="before-outage"))
    s.constraints.down = True
    assert s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="before-outage")) == first
    with pytest.raises(grpc.RpcError) as caught:
        s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="during-outage"))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_second_booking_of_the_same_plan_is_aborted_naming_the_resource(directory):
    s = directory
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="a"))
    add_candidate(s, "other")
    clone = pb.LoopPlan()
    clone.CopyFrom(plan)
    clone.candidate = "candidates/other"
    with pytest.raises(grpc.RpcError) as caught:
        s.call("BookLoop", pb.BookLoopRequest(plan=clone, request_id="b"))
    assert caught.value.code() == grpc.StatusCode.ABORTED
    info = error_info(caught.value)
    assert info.reason in ("PLAN_STALE", "RESOURCE_CONFLICT")
    taken = {i for x in plan.sessions for i in x.interviewers} | {x.room for x in plan.sessions}
    assert info.metadata["resource"] in taken
    assert set(info.metadata["resources"].split(",")) <= taken
    assert count_rows(s, models.LoopRow) == 1
    with _db(s).reader() as session:
        assert count_overlaps(session) == 0


def test_unqualified_interviewer_in_a_client_plan_is_refused(directory):
    s = directory
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    plan.sessions[0].interviewers[:] = ["interviewers/dee"]  # computer vision, the candidate is NLP
    with pytest.raises(grpc.RpcError) as caught:
        s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="x"))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "not qualified" in caught.value.details()
    assert count_rows(s, models.ReservationRow) == 0


def test_plan_moved_outside_working_hours_is_refused(directory):
    s = directory
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    for session in plan.sessions:
        session.time_range.start_time.seconds -= 12 * 3600
        session.time_range.end_time.seconds -= 12 * 3600
    with pytest.raises(grpc.RpcError) as caught:
        s.call("BookLoop", pb.BookLoopRequest(plan=plan))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert count_rows(s, models.LoopRow) == 0


def test_accommodations_unreachable_fails_unavailable(directory):
    s = directory
    s.constraints.down = True
    with pytest.raises(grpc.RpcError) as caught:
        find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos")
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
