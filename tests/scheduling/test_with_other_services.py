"""Scheduling with the real accommodations and notifications services in
process: approved constraints shape the search and the booking, and the
outbox relay delivers invites (REQUEST, then CANCEL) to notifications."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from sqlalchemy import select

from interviews.accommodations.v1 import accommodations_pb2 as apb
from interviews.accommodations.v1 import accommodations_pb2_grpc
from interviews.common.v1 import common_pb2
from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.notifications.v1 import notifications_pb2_grpc
from interviews.scheduling.v1 import scheduling_pb2 as pb
from interviews.scheduling.v1 import scheduling_pb2_grpc
from services.core.db import Database
from services.core.server import start_server
from services.scheduling import app, models
from tests.helpers import wait_until
from tests.scheduling.conftest import MON, NLP, add_candidate, add_interviewer, add_room, add_template, find, Scheduling


@pytest.fixture
def world(settings, start_service, token, clock):
    accommodations = start_service("accommodations", settings)
    notifications = start_service("notifications", settings)
    own = settings.with_overrides(ACCOMMODATIONS_ADDRESS=accommodations.address, NOTIFICATIONS_ADDRESS=notifications.address,
                                  SCHEDULING_OUTBOX_POLL_SECONDS="0.05", MAIL_FROM="scheduling@interviews.example.com")
    running = start_server(app.build(own, clock=clock), own, port=0, host="127.0.0.1")
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    s = Scheduling(scheduling_pb2_grpc.SchedulingServiceStub(channel), running, own, clock, None, token("recruiter"), token)
    for name in ("ana", "bo", "cy"):
        add_interviewer(s, name, [NLP])
    add_room(s, "plain", capacity=6)
    add_room(s, "access", capacity=6, accessible=True)
    add_candidate(s, "cand")
    add_template(s, "two", (60, 60), buffer=10)
    yield s, accommodations, notifications
    channel.close()
    running.stop(0.5)


def _approve(accommodations, token, constraints: common_pb2.SchedulingConstraints) -> None:
    stub = accommodations_pb2_grpc.AccommodationsServiceStub(accommodations.channel)
    candidate = token("candidate", "candidates/cand")
    coordinator = token("coordinator", "coordinator@example.com")
    ticket = stub.SubmitTicket(apb.SubmitTicketRequest(ticket=apb.Ticket(
        candidate="candidates/cand", candidate_email="cand@candidates.example.org",
        requested_adjustments=[common_pb2.ADJUSTMENT_TYPE_ACCESSIBLE_ROOM, common_pb2.ADJUSTMENT_TYPE_EXTRA_TIME],
        reason="private reason text", office="offices/los-gatos"), request_id="t1"), metadata=candidate)
    ticket = stub.TriageTicket(apb.TriageTicketRequest(name=ticket.name, etag=ticket.etag), metadata=coordinator)
    ticket = stub.StartReview(apb.StartReviewRequest(name=ticket.name, etag=ticket.etag), metadata=coordinator)
    ticket = stub.DecideTicket(apb.DecideTicketRequest(name=ticket.name, etag=ticket.etag, decision=apb.Decision(
        outcome=apb.DECISION_OUTCOME_APPROVED, constraints=constraints, candidate_message="Approved.")), metadata=coordinator)
    stub.ActivateTicket(apb.ActivateTicketRequest(name=ticket.name, etag=ticket.etag), metadata=coordinator)


def test_approved_constraints_shape_the_plans(world, token):
    s, accommodations, _ = world
    plain = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos")
    assert plain.plans and not plain.applied_constraints.accessible_room
    _approve(accommodations, token, common_pb2.SchedulingConstraints(accessible_room=True, duration_multiplier=1.25))
    shaped = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos")
    assert shaped.applied_constraints.accessible_room
    assert shaped.plans
    for plan in shaped.plans:
        for session in plan.sessions:
            assert session.room == "offices/los-gatos/rooms/access"
            assert session.time_range.end_time.seconds - session.time_range.start_time.seconds == 75 * 60
            assert "Session extended by 15 minutes" in session.adjustments
    # A plan found before the accommodation no longer passes the server's check.
    with pytest.raises(grpc.RpcError) as caught:
        s.call("BookLoop", pb.BookLoopRequest(plan=plain.plans[0]))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_accommodations_down_means_unavailable_never_unconstrained(settings, token, clock):
    own = settings.with_overrides(ACCOMMODATIONS_ADDRESS="127.0.0.1:9", INTERVIEWS_CALL_TIMEOUT_SECONDS="1")
    running = start_server(app.build(own, clock=clock), own, port=0, host="127.0.0.1")
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        s = Scheduling(scheduling_pb2_grpc.SchedulingServiceStub(channel), running, own, clock, None, token("recruiter"), token)
        add_candidate(s, "cand")
        add_template(s, "two")
        with pytest.raises(grpc.RpcError) as caught:
            find(s, "cand", "two", MON, MON + timedelta(days=2))
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        channel.close()
        running.stop(0.5)


def test_relay_delivers_invites_then_cancellations(world, token):
    s, _, notifications = world
    plan = find(s, "cand", "two", MON, MON + timedelta(days=5), onsite="los-gatos").plans[0]
    loop = s.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id="b"))
    stub = notifications_pb2_grpc.NotificationsServiceStub(notifications.channel)
    admin = token("admin")

    def deliveries(key: str):
        return stub.ListDeliveries(npb.ListDeliveriesRequest(idempotency_key=key), metadata=admin).deliveries

    first = loop.sessions[0].session_id
    sent = wait_until(lambda: deliveries(f"invite:{first}:0:request"), message="invite delivered")
    assert {d.uid for d in sent} == {f"{first}@interviews"}
    assert {d.recipient for d in sent} >= {"cand@candidates.example.org"}
    s.call("CancelLoop", pb.CancelLoopRequest(name=loop.name, reason="position filled", etag=loop.etag))
    cancelled = wait_until(lambda: deliveries(f"invite:{first}:1:cancel"), message="cancel delivered")
    assert all(d.kind == npb.DELIVERY_KIND_INVITE_CANCEL and d.sequence == 1 for d in cancelled)
    db = Database(s.settings.database_url("scheduling"), "scheduling")
    try:
        wait_until(lambda: _all_delivered(db), message="outbox drained")
    finally:
        db.dispose()


def _all_delivered(db: Database) -> bool:
    with db.reader() as session:
        rows = session.scalars(select(models.OutboxMessage)).all()
    return bool(rows) and all(r.delivered_time is not None for r in rows)
