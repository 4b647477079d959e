"""End to end with the real scheduling and notifications services in process: approved
accommodation constraints change what FindLoopPlans returns, a booked loop that no longer
satisfies them is reported back to scheduling through RevalidateCandidateLoops, and the
reason's planted marker reaches none of the other services (databases, invites, emails)."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest
from sqlalchemy import select
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from interviews.accommodations.v1 import accommodations_pb2 as apb
from interviews.accommodations.v1 import accommodations_pb2_grpc
from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as spb
from interviews.scheduling.v1 import scheduling_pb2_grpc
from services.accommodations.models import OutboxMessage
from services.accommodations.store import TOPIC_REVALIDATE
from services.core.db import Database
from services.core.main import build_spec
from services.core.server import start_server
from tests.accommodations.test_confidentiality import _database_texts, _sqlite_files
from tests.helpers import wait_until

LA = ZoneInfo("America/Los_Angeles")
NLP = common_pb2.ML_AREA_NLP


def _ts(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def _minutes(n: int) -> Duration:
    d = Duration()
    d.FromTimedelta(timedelta(minutes=n))
    return d


def _next_monday() -> datetime:
    today = datetime.now(LA).date()
    monday = today + timedelta(days=7 - today.weekday() + 7)  # a full week ahead: no "too soon" rules
    return datetime(monday.year, monday.month, monday.day, tzinfo=LA)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def trio(settings, start_service):
    base = settings.with_overrides(
        INTERVIEWS_RATE_LIMIT_PER_SECOND="100000",
        INTERVIEWS_RATE_LIMIT_BURST="100000",
        SCHEDULING_OUTBOX_POLL_SECONDS="0.05",
        NOTIFICATIONS_POLL_SECONDS="0.05",
        ACCOMMODATIONS_COORDINATOR_EMAILS="coord@example.com",
    )
    notifications = start_service("notifications", base)
    # Scheduling and accommodations call each other, so accommodations' port is chosen
    # first and given to scheduling before either starts.
    acc_address = f"127.0.0.1:{_free_port()}"
    scheduling = start_service(
        "scheduling", base.with_overrides(ACCOMMODATIONS_ADDRESS=acc_address, NOTIFICATIONS_ADDRESS=notifications.address)
    )
    acc_settings = base.with_overrides(NOTIFICATIONS_ADDRESS=notifications.address, SCHEDULING_ADDRESS=scheduling.address)
    running = start_server(
        build_spec("accommodations", acc_settings), acc_settings, port=int(acc_address.split(":")[1]), host="127.0.0.1"
    )
    channel = grpc.insecure_channel(acc_address)
    yield base, scheduling, channel, notifications
    channel.close()
    running.stop(0.5)


def _directory(stub, md):
    week = [common_pb2.WeeklyInterval(day_of_week=d, start=common_pb2.LocalTime(hours=9), end=common_pb2.LocalTime(hours=17)) for d in range(1, 6)]
    for who in ("ana", "bo", "cy"):
        stub.CreateInterviewer(spb.CreateInterviewerRequest(interviewer_id=who, interviewer=spb.Interviewer(
            display_name=who.title(), email=f"{who}@example.com", home_office="offices/los-gatos", ml_areas=[NLP],
            time_zone="America/Los_Angeles", working_hours=week)), metadata=md)
    for room, accessible in (("plain", False), ("access", True)):
        stub.CreateRoom(spb.CreateRoomRequest(parent="offices/los-gatos", room_id=room, room=spb.Room(
            display_name=room, capacity=6, wheelchair_accessible=accessible, video_equipped=True)), metadata=md)
    stub.CreateCandidate(spb.CreateCandidateRequest(candidate_id="cand", candidate=spb.Candidate(
        display_name="Cand", email="cand@candidates.example.org", time_zone="America/Los_Angeles", primary_area=NLP)), metadata=md)
    stub.CreateLoopTemplate(spb.CreateLoopTemplateRequest(loop_template_id="two", loop_template=spb.LoopTemplate(
        display_name="two", buffer_between_sessions=_minutes(10), max_days=1,
        sessions=[spb.SessionTemplate(title=f"Session {i}", kind=spb.SESSION_KIND_CODING, duration=_minutes(60),
                                      area_rule=spb.AREA_RULE_PRIMARY, interviewers_needed=1) for i in (1, 2)])), metadata=md)


def _find(stub, md, start):
    return stub.FindLoopPlans(spb.FindLoopPlansRequest(
        candidate="candidates/cand", loop_template="loopTemplates/two",
        window=common_pb2.TimeRange(start_time=_ts(start), end_time=_ts(start + timedelta(days=5))),
        location_mode=spb.LOCATION_MODE_ONSITE, office="offices/los-gatos", max_plans=10), metadata=md, timeout=60)


def _minutes_of(session) -> int:
    return (session.time_range.end_time.seconds - session.time_range.start_time.seconds) // 60


def test_approved_constraints_change_plans_and_flag_booked_loops(trio, token):
    settings, scheduling, acc_channel, notifications = trio
    sched = scheduling_pb2_grpc.SchedulingServiceStub(scheduling.channel)
    acc = accommodations_pb2_grpc.AccommodationsServiceStub(acc_channel)
    admin, recruiter = token("admin", "admin@example.com"), token("recruiter", "rec@example.com")
    _directory(sched, admin)
    monday = _next_monday()

    before = _find(sched, recruiter, monday)
    assert before.plans, list(before.no_plan_reasons)
    assert not before.applied_constraints.accessible_room
    assert all(_minutes_of(s) == 60 for p in before.plans for s in p.sessions)
    plain_plan = next((p for p in before.plans if any(s.room.endswith("/plain") for s in p.sessions)), before.plans[0])
    loop = sched.BookLoop(spb.BookLoopRequest(plan=plain_plan, request_id="book-1"), metadata=recruiter, timeout=60)
    assert not loop.constraint_violations

    marker = f"MARKER-{uuid.uuid4().hex}"
    coord = token("coordinator", "coord@example.com")
    ticket = acc.SubmitTicket(apb.SubmitTicketRequest(ticket=apb.Ticket(
        candidate="candidates/cand", candidate_email="cand@candidates.example.org", loop=loop.name,
        requested_adjustments=[common_pb2.ADJUSTMENT_TYPE_ACCESSIBLE_ROOM, common_pb2.ADJUSTMENT_TYPE_EXTRA_TIME],
        reason=f"I use a wheelchair and {marker} slows my typing.")), metadata=token("candidate", "candidates/cand"))
    acc.TriageTicket(apb.TriageTicketRequest(name=ticket.name), metadata=coord)
    acc.StartReview(apb.StartReviewRequest(name=ticket.name), metadata=coord)
    acc.DecideTicket(apb.DecideTicketRequest(name=ticket.name, decision=apb.Decision(
        outcome=apb.DECISION_OUTCOME_APPROVED,
        constraints=common_pb2.SchedulingConstraints(accessible_room=True, duration_multiplier=1.25,
                                                      interviewer_notes=["Allow extra typing time"]),
        candidate_message="Approved.")), metadata=coord)

    # Approved but not active: scheduling does not see it yet.
    assert not _find(sched, recruiter, monday).applied_constraints.accessible_room
    acc.ActivateTicket(apb.ActivateTicketRequest(name=ticket.name), metadata=coord)

    after = _find(sched, recruiter, monday)
    assert after.applied_constraints.accessible_room
    assert after.applied_constraints.duration_multiplier == 1.25
    assert list(after.applied_constraints.source_tickets) == [ticket.name]
    assert after.plans
    for plan in after.plans:
        for session in plan.sessions:
            assert session.room == "offices/los-gatos/rooms/access"
            assert _minutes_of(session) == 75

    # Activation queued RevalidateCandidateLoops; scheduling flags the booked loop.
    flagged = wait_until(
        lambda: (got := sched.GetLoop(spb.GetLoopRequest(name=loop.name), metadata=recruiter)).constraint_violations and got,
        timeout=20, message="the booked loop flagged by revalidation",
    )
    assert flagged.constraint_violations
    acc_db = Database(settings.database_url("accommodations"), "accommodations")
    try:
        def revalidations_delivered():
            with acc_db.reader() as session:
                rows = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == TOPIC_REVALIDATE)).all()
            return rows and all(r.delivered_time is not None for r in rows)

        wait_until(revalidations_delivered, timeout=20, message="revalidation delivered by the outbox relay")
    finally:
        acc_db.dispose()

    # Withdrawal takes the constraints away again.
    acc.WithdrawTicket(apb.WithdrawTicketRequest(name=ticket.name), metadata=coord)
    again = _find(sched, recruiter, monday)
    assert not again.applied_constraints.accessible_room
    assert all(_minutes_of(s) == 60 for p in again.plans for s in p.sessions)

    # Every email this service queued was accepted by notifications before we look.
    acc_db = Database(settings.database_url("accommodations"), "accommodations")
    try:
        def outbox_drained():
            with acc_db.reader() as session:
                rows = session.scalars(select(OutboxMessage)).all()
            return rows and all(r.delivered_time is not None for r in rows)

        wait_until(outbox_drained, timeout=20, message="accommodations outbox drained")
    finally:
        acc_db.dispose()

    # The marker reached no other service: databases, stored invites and emails, mail files.
    wait_until(lambda: list(Path(settings.mail_dir).glob("*.eml")) if Path(settings.mail_dir).exists() else [],
               timeout=20, message="mail written")
    for service in ("scheduling", "notifications"):
        url = settings.database_url(service)
        assert not [r for r in _database_texts(url, service) if marker in r or marker.encode().hex() in r], service
        if url.startswith("sqlite"):
            assert marker.encode() not in _sqlite_files(url), service
    for eml in Path(settings.mail_dir).rglob("*"):
        if eml.is_file():
            assert marker.encode() not in eml.read_bytes(), eml.name
    # ...while accommodations still holds it, encrypted, for the people entitled to it.
    assert marker in acc.GetTicket(apb.GetTicketRequest(name=ticket.name), metadata=coord).reason
