"""How BookLoop writes, on SQLite and PostgreSQL: the reservations of a
booking in one statement (a clash found only there is ABORTED naming the
resource, and nothing of the loop stays), the loop and its sessions straight
to their tables (read back exactly as answered), its invites in one INSERT,
and the candidate, template and interviewer locks read in one statement
(with the same errors as before when something is missing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core.db import Database
from services.core.outbox import enqueue_new
from services.scheduling import models
from services.scheduling.domain import model as dm
from services.scheduling.store import loops as loop_store
from services.scheduling.store.reservations import count_overlaps
from tests.scheduling.conftest import MON, NLP, add_candidate, add_interviewer, add_room, add_template, count_rows, error_info, find


def _db(s) -> Database:
    return Database(s.settings.database_url("scheduling"), "scheduling")


@pytest.fixture
def directory(scheduling):
    for name in ("ana", "bo", "cy", "dan"):
        add_interviewer(scheduling, name, [NLP])
    add_room(scheduling, "r1")
    add_room(scheduling, "r2")
    add_candidate(scheduling, "cand")
    add_template(scheduling, "two", (60, 60), buffer=10)
    return scheduling


def _other_people_same_time(s, plan: pb.LoopPlan) -> pb.LoopPlan:
    """The plan at the same times with interviewers and rooms it does not use:
    the server's re-check finds nothing taken (it reads interviewer and room
    reservations), only the candidate's own reservations clash."""
    used = {i for x in plan.sessions for i in x.interviewers}
    free = [f"interviewers/{n}" for n in ("ana", "bo", "cy", "dan") if f"interviewers/{n}" not in used]
    rooms = {x.room for x in plan.sessions}
    free_rooms = [r for r in ("offices/los-gatos/rooms/r1", "offices/los-gatos/rooms/r2") if r not in rooms]
    other = pb.LoopPlan()
    other.CopyFrom(plan)
    for k, session in enumerate(other.sessions):
        session.interviewers[:] = [free[k]]
        if session.room and free_rooms:
            session.room = free_rooms[0]
    return other


def test_a_clash_found_only_by_the_insert_is_aborted_naming_the_resource(directory):
    s = directory
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5)).plans[0]  # remote: no room to share
    first = s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="first"))
    with pytest.raises(grpc.RpcError) as caught:
        s.call("BookLoop", pb.BookLoopRequest(plan=_other_people_same_time(s, plan), request_id="second"))
    assert caught.value.code() == grpc.StatusCode.ABORTED
    info = error_info(caught.value)
    assert info.reason == "RESOURCE_CONFLICT"
    assert info.metadata["resource"] == "candidates/cand"
    assert info.metadata["resources"] == "candidates/cand"
    # All or nothing: only the first loop's rows exist.
    assert count_rows(s, models.LoopRow) == 1
    assert count_rows(s, models.LoopSessionRow) == 2
    assert count_rows(s, models.ReservationRow) == 2 * 2
    assert count_rows(s, models.ReservationRow, models.ReservationRow.owner != first.name) == 0
    assert count_rows(s, models.OutboxMessage) == 2
    assert count_rows(s, models.IdempotencyRecord, models.IdempotencyRecord.request_id == "second") == 0
    db = _db(s)
    try:
        with db.reader() as session:
            assert count_overlaps(session) == 0
    finally:
        db.dispose()


@pytest.mark.parametrize("onsite", [None, "los-gatos"])
def test_a_booked_loop_reads_back_exactly_as_answered(directory, onsite):
    s = directory
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite=onsite).plans[0]
    booked = s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="book"))
    assert s.call("GetLoop", pb.GetLoopRequest(name=booked.name)) == booked
    assert s.call("ListLoops", pb.ListLoopsRequest(candidate="candidates/cand")).loops == [booked]
    db = _db(s)
    try:
        with db.reader() as session:
            rows = session.scalars(select(models.ReservationRow).where(models.ReservationRow.owner == booked.name)).all()
            messages = session.scalars(select(models.OutboxMessage).order_by(models.OutboxMessage.id)).all()
    finally:
        db.dispose()
    # Each session's interviewer, room (onsite) and the candidate, widened by the 10-minute gap.
    per_session = 3 if onsite else 2
    assert len(rows) == 2 * per_session
    for loop_session in booked.sessions:
        mine = [r for r in rows if r.session_id == loop_session.session_id]
        start = datetime.fromtimestamp(loop_session.session.time_range.start_time.seconds, UTC)
        end = datetime.fromtimestamp(loop_session.session.time_range.end_time.seconds, UTC) + timedelta(minutes=10)
        assert {r.resource for r in mine} == {*loop_session.session.interviewers, *([loop_session.session.room] if onsite else []),
                                              "candidates/cand"}
        assert all(r.active and r.expire_time is None and (r.start_time, r.end_time) == (start, end) for r in mine)
    # One REQUEST per session, keyed by the session, with the whole agenda.
    assert [m.topic for m in messages] == ["notifications.SendInvite"] * 2
    for message, loop_session in zip(messages, booked.sessions, strict=True):
        invite = npb.SendInviteRequest.FromString(message.payload)
        assert message.idempotency_key == invite.idempotency_key == f"invite:{loop_session.session_id}:0:request"
        assert invite.invite.uid == f"{loop_session.session_id}@interviews"
        assert [a.title for a in invite.invite.agenda] == ["Session 1", "Session 2"]
        assert message.failed_time is None


def test_unknown_candidate_template_or_interviewers_fail_as_before(directory):
    s = directory
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5)).plans[0]
    for field, value in (("candidate", "candidates/nobody"), ("loop_template", "loopTemplates/none")):
        wrong = pb.LoopPlan()
        wrong.CopyFrom(plan)
        setattr(wrong, field, value)
        with pytest.raises(grpc.RpcError) as caught:
            s.call("BookLoop", pb.BookLoopRequest(plan=wrong, request_id=f"wrong-{field}"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND, field
        assert value in caught.value.details()
    ghosts = pb.LoopPlan()
    ghosts.CopyFrom(plan)
    for session in ghosts.sessions:
        session.interviewers[:] = ["interviewers/ghost"]
    with pytest.raises(grpc.RpcError) as caught:
        s.call("BookLoop", pb.BookLoopRequest(plan=ghosts, request_id="ghosts"))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "does not exist" in caught.value.details()
    assert count_rows(s, models.LoopRow) == 0 and count_rows(s, models.ReservationRow) == 0


# ---------------------------------------------------------------- the store functions themselves


@pytest.fixture
def db(database_urls):
    database = Database(database_urls["scheduling"], "scheduling")
    yield database
    database.dispose()


def test_new_outbox_rows_go_in_together_and_a_duplicate_key_fails_them_all(db):
    with db.transaction() as session:
        enqueue_new(session, models.OutboxMessage, [("t", "k1", b"\x00one"), ("t", "k2", b"two\xff")])
    with pytest.raises(IntegrityError):
        with db.transaction() as session:
            enqueue_new(session, models.OutboxMessage, [("t", "k3", b"three"), ("t", "k1", b"again")])
    with db.reader() as session:
        rows = session.scalars(select(models.OutboxMessage).order_by(models.OutboxMessage.id)).all()
    assert [(r.topic, r.idempotency_key, r.payload, r.attempts) for r in rows] == [("t", "k1", b"\x00one", 0), ("t", "k2", b"two\xff", 0)]
    assert all(r.next_attempt_time is not None and r.create_time is not None and r.delivered_time is None for r in rows)


def _plan(start: datetime) -> dm.Plan:
    sessions = tuple(
        dm.PlannedSession(index=k, title=f"S{k}", kind=dm.SessionKind(1), start=start + timedelta(hours=k),
                          end=start + timedelta(hours=k, minutes=45), interviewer_ids=("ana", "bo")[: k + 1],
                          room_id=None if k else "offices/x/rooms/r", remote=bool(k), adjustments=("extra time",) if k else ())
        for k in range(2)
    )
    return dm.Plan(candidate_id="c", template_id="t", mode=dm.LocationMode.ONSITE, office_id="x", sessions=sessions,
                   score=0.5, days=1, gap=timedelta(minutes=10))


def test_add_loop_writes_what_it_returns_and_refuses_naive_times(db):
    now = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
    with db.transaction() as session:
        written = loop_store.add_loop(session, "L1", _plan(datetime(2026, 3, 9, 17, tzinfo=UTC)), ["s0", "s1"], "https://v/1", "UTC", now)
    with db.reader() as session:
        read = loop_store.get_loop(session, "L1")
    columns = [c.key for c in models.LoopRow.__table__.columns]
    assert {c: getattr(read.loop, c) for c in columns} == {c: getattr(written.loop, c) for c in columns}
    columns = [c.key for c in models.LoopSessionRow.__table__.columns]
    assert [{c: getattr(r, c) for c in columns} for r in read.sessions] == [{c: getattr(r, c) for c in columns} for r in written.sessions]
    assert read.sessions[0].room_id == "offices/x/rooms/r" and read.sessions[1].room_id is None
    assert read.sessions[1].interviewer_ids == ["ana", "bo"] and read.sessions[1].adjustments == ["extra time"]
    with pytest.raises(Exception, match="naive datetime"):
        with db.transaction() as session:
            loop_store.add_loop(session, "L2", _plan(datetime(2026, 3, 9, 17)), ["t0", "t1"], "https://v/2", "UTC", now)
    with db.reader() as session:
        assert session.scalar(select(func.count()).select_from(models.LoopRow)) == 1
