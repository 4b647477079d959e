"""Reschedule, cancel, replace an interviewer, holds and revalidation through
the gRPC API, on SQLite and PostgreSQL; the invites each change writes."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from sqlalchemy import select

from interviews.common.v1 import common_pb2
from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core.db import Database
from services.scheduling import models
from tests.helpers import wait_until
from tests.scheduling.conftest import MON, NLP, add_candidate, add_interviewer, add_room, add_template, count_rows, error_info, find, minutes


def _outbox(s) -> list[tuple[str, object]]:
    db = Database(s.settings.database_url("scheduling"), "scheduling")
    try:
        with db.reader() as session:
            rows = session.scalars(select(models.OutboxMessage).order_by(models.OutboxMessage.id)).all()
    finally:
        db.dispose()
    parse = {"notifications.SendInvite": npb.SendInviteRequest, "notifications.CancelInvite": npb.CancelInviteRequest}
    return [(r.topic, parse[r.topic].FromString(r.payload)) for r in rows]


@pytest.fixture
def booked(scheduling):
    s = scheduling
    for name in ("ana", "bo", "cy", "dan", "eve"):
        add_interviewer(s, name, [NLP])
    add_room(s, "r1")
    add_room(s, "r2")
    add_candidate(s, "cand")
    add_template(s, "two", (60, 60), buffer=10)
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    return s, s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="book"))


def test_reschedule_sends_same_uid_with_sequence_plus_one(booked):
    s, loop = booked
    later = MON + timedelta(days=2)
    plan = find(s, "cand", "two", later, later + timedelta(days=2), onsite="los-gatos", reschedule=loop.name).plans[0]
    moved = s.call("RescheduleLoop", pb.RescheduleLoopRequest(name=loop.name, plan=plan, etag=loop.etag, request_id="move"))
    assert [x.session_id for x in moved.sessions] == [x.session_id for x in loop.sessions]
    assert all(x.sequence == 1 for x in moved.sessions)
    assert moved.sessions[0].session.time_range == plan.sessions[0].time_range
    requests = [m for t, m in _outbox(s) if t == "notifications.SendInvite" and m.invite.sequence == 1]
    assert {m.invite.uid for m in requests} == {f"{x.session_id}@interviews" for x in loop.sessions}
    assert {m.idempotency_key for m in requests} == {f"invite:{x.session_id}:1:request" for x in loop.sessions}
    # The old times are free again and the new ones reserved: 2 sessions x 3 resources.
    assert count_rows(s, models.ReservationRow, models.ReservationRow.owner == loop.name, models.ReservationRow.active.is_(True)) == 6


def test_reschedule_with_a_stale_etag_is_aborted(booked):
    s, loop = booked
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos", reschedule=loop.name).plans[1]
    with pytest.raises(grpc.RpcError) as caught:
        s.call("RescheduleLoop", pb.RescheduleLoopRequest(name=loop.name, plan=plan, etag="stale"))
    assert caught.value.code() == grpc.StatusCode.ABORTED
    assert error_info(caught.value).reason == "ETAG_MISMATCH"


def test_cancel_sends_cancel_to_everyone_and_frees_the_time(booked):
    s, loop = booked
    cancelled = s.call("CancelLoop", pb.CancelLoopRequest(name=loop.name, reason="candidate withdrew", etag=loop.etag, request_id="c"))
    assert cancelled.state == pb.LOOP_STATE_CANCELLED and cancelled.cancel_reason == "candidate withdrew"
    cancels = [m for t, m in _outbox(s) if t == "notifications.CancelInvite"]
    assert len(cancels) == 2
    for message, session in zip(cancels, loop.sessions, strict=True):
        assert message.invite.uid == f"{session.session_id}@interviews" and message.invite.sequence == 1
        assert message.idempotency_key == f"invite:{session.session_id}:1:cancel"
        assert len(message.invite.attendees) == 2  # the candidate and the interviewer
        assert "withdrew" not in message.reason  # the recruiter's reason stays internal
    assert count_rows(s, models.ReservationRow, models.ReservationRow.active.is_(True)) == 0
    again = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    assert again.sessions[0].time_range == loop.sessions[0].session.time_range
    with pytest.raises(grpc.RpcError) as caught:
        s.call("CancelLoop", pb.CancelLoopRequest(name=loop.name, reason="again"))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_replace_interviewer_suggests_and_applies_a_free_qualified_one(booked):
    s, loop = booked
    session = loop.sessions[0]
    leaving = session.session.interviewers[0]
    add_interviewer(s, "fay", [common_pb2.ML_AREA_COMPUTER_VISION])  # not qualified
    suggestions = s.call("SuggestReplacementInterviewers", pb.SuggestReplacementInterviewersRequest(
        loop=loop.name, session_id=session.session_id, interviewer=leaving, max_suggestions=10)).interviewers
    in_loop = {i for x in loop.sessions for i in x.session.interviewers}
    assert suggestions and not (set(suggestions) & in_loop) and "interviewers/fay" not in suggestions
    replaced = s.call("ReplaceInterviewer", pb.ReplaceInterviewerRequest(
        name=loop.name, session_id=session.session_id, interviewer=leaving, etag=loop.etag, request_id="r"))
    assert list(replaced.sessions[0].session.interviewers) == [suggestions[0]]
    assert replaced.sessions[0].sequence == 1 and replaced.sessions[1].sequence == 0
    messages = _outbox(s)
    request = [m for t, m in messages if t == "notifications.SendInvite" and m.invite.sequence == 1]
    cancel = [m for t, m in messages if t == "notifications.CancelInvite"]
    assert [a.email for a in cancel[0].invite.attendees] == [f"{leaving.split('/')[1]}@example.com"]
    assert {a.email for a in request[0].invite.attendees} == {"cand@candidates.example.org", f"{suggestions[0].split('/')[1]}@example.com"}
    with pytest.raises(grpc.RpcError) as caught:
        s.call("ReplaceInterviewer", pb.ReplaceInterviewerRequest(
            name=loop.name, session_id=session.session_id, interviewer=suggestions[0], replacement="interviewers/fay"))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_hold_blocks_others_until_it_expires(booked):
    s, _ = booked
    add_candidate(s, "held")
    plan = find(s, "held", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    hold = s.call("CreateHold", pb.CreateHoldRequest(plan=plan, ttl=minutes(30), request_id="h"))
    assert hold.state == pb.HOLD_STATE_ACTIVE
    # Held time is not offered again.
    offered = find(s, "held", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans
    assert all(p.sessions[0].time_range != plan.sessions[0].time_range or p.sessions[0].interviewers != plan.sessions[0].interviewers
               for p in offered)
    s.clock.advance(timedelta(minutes=31))
    assert s.call("GetHold", pb.GetHoldRequest(name=hold.name)).state == pb.HOLD_STATE_EXPIRED
    with pytest.raises(grpc.RpcError) as caught:
        s.call("ConfirmHold", pb.ConfirmHoldRequest(name=hold.name, request_id="late"))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # Lapsed but not yet swept: booking the same plan still succeeds.
    loop = s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="after-hold"))
    assert loop.state == pb.LOOP_STATE_BOOKED


def test_candidate_confirms_own_hold(booked, token):
    s, _ = booked
    add_candidate(s, "held")
    plan = find(s, "held", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    hold = s.call("CreateHold", pb.CreateHoldRequest(plan=plan, request_id="h2"))
    with pytest.raises(grpc.RpcError) as caught:
        s.call("ConfirmHold", pb.ConfirmHoldRequest(name=hold.name), as_=token("candidate", "candidates/cand"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    loop = s.call("ConfirmHold", pb.ConfirmHoldRequest(name=hold.name, request_id="ok"), as_=token("candidate", "candidates/held"))
    assert loop.state == pb.LOOP_STATE_BOOKED
    assert s.call("GetHold", pb.GetHoldRequest(name=hold.name)).loop == loop.name
    held = token("candidate", "candidates/held")
    assert s.call("GetLoop", pb.GetLoopRequest(name=loop.name), as_=held).name == loop.name
    mine = s.call("ListLoops", pb.ListLoopsRequest(candidate="candidates/held"), as_=held).loops
    assert [x.name for x in mine] == [loop.name]
    with pytest.raises(grpc.RpcError) as caught:
        s.call("GetLoop", pb.GetLoopRequest(name=loop.name), as_=token("candidate", "candidates/cand"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert count_rows(s, models.ReservationRow, models.ReservationRow.owner == hold.name, models.ReservationRow.active.is_(True)) == 0


def test_hold_sweeper_frees_lapsed_holds(booked):
    s, _ = booked
    add_candidate(s, "held")
    plan = find(s, "held", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    hold = s.call("CreateHold", pb.CreateHoldRequest(plan=plan, ttl=minutes(5)))
    s.clock.advance(timedelta(minutes=6))
    sweeper = s.running.spec.workers[1]
    assert sweeper.run_once() == 1
    assert count_rows(s, models.HoldRow, models.HoldRow.state == models.HoldState.EXPIRED) == 1
    assert count_rows(s, models.ReservationRow, models.ReservationRow.owner == hold.name, models.ReservationRow.active.is_(True)) == 0


def test_revalidate_flags_loops_that_break_new_constraints(booked, token):
    s, loop = booked
    s.constraints.by_candidate["candidates/cand"] = common_pb2.SchedulingConstraints(candidate="candidates/cand", remote_only=True)
    with pytest.raises(grpc.RpcError) as caught:
        s.call("RevalidateCandidateLoops", pb.RevalidateCandidateLoopsRequest(candidate="candidates/cand"))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # recruiters may not
    response = s.call("RevalidateCandidateLoops", pb.RevalidateCandidateLoopsRequest(candidate="candidates/cand"),
                      as_=token("service", "services/accommodations"))
    assert response.checked_count == 1
    assert [x.name for x in response.violating_loops] == [loop.name]
    assert response.violating_loops[0].constraint_violations
    assert s.call("GetLoop", pb.GetLoopRequest(name=loop.name)).constraint_violations


def test_relay_wakes_and_marks_rows_delivered_when_notifications_answers(booked):
    # Without a notifications service the relay keeps retrying: nothing is lost.
    s, _ = booked
    wait_until(lambda: count_rows(s, models.OutboxMessage, models.OutboxMessage.attempts > 0) == 2, message="delivery attempts")
    assert count_rows(s, models.OutboxMessage, models.OutboxMessage.delivered_time.is_not(None)) == 0


def test_change_retries_with_the_same_request_id_change_nothing_more(booked):
    s, loop = booked
    later = MON + timedelta(days=2)
    plan = find(s, "cand", "two", later, later + timedelta(days=2), onsite="los-gatos", reschedule=loop.name).plans[0]
    move = pb.RescheduleLoopRequest(name=loop.name, plan=plan, etag=loop.etag, request_id="move-once")
    moved = s.call("RescheduleLoop", move)
    assert s.call("RescheduleLoop", move) == moved  # the etag is stale now, yet the retry answers as the first call did
    cancel = pb.CancelLoopRequest(name=loop.name, reason="filled", etag=moved.etag, request_id="cancel-once")
    cancelled = s.call("CancelLoop", cancel)
    assert s.call("CancelLoop", cancel) == cancelled
    topics = [t for t, _ in _outbox(s)]
    assert topics.count("notifications.SendInvite") == 4 and topics.count("notifications.CancelInvite") == 2
    assert all(x.sequence == 2 for x in cancelled.sessions)
