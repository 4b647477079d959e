"""The service over gRPC: a ticket's whole life, emails, constraints and revalidation."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from interviews.accommodations.v1 import accommodations_pb2 as pb
from interviews.common.v1 import common_pb2
from tests.accommodations.conftest import COORDINATORS
from tests.helpers import wait_until

CANDIDATE = "candidates/c-1"
N = pb.TicketState


def submit(acc, token, *, reason="I need more time because of a condition.", as_candidate=True, request_id=""):
    md = token("candidate", CANDIDATE, email="cand@example.com") if as_candidate else token("recruiter", "rec@example.com")
    return acc.stub.SubmitTicket(
        pb.SubmitTicketRequest(
            ticket=pb.Ticket(
                candidate=CANDIDATE,
                candidate_email="cand@example.com",
                reason=reason,
                requested_adjustments=[common_pb2.ADJUSTMENT_TYPE_EXTRA_TIME, common_pb2.ADJUSTMENT_TYPE_BREAKS],
                office="offices/los-gatos",
            ),
            request_id=request_id,
        ),
        metadata=md,
    )


def to_review(acc, token, name):
    coord = token("coordinator", "coord-one@example.com")
    acc.stub.TriageTicket(pb.TriageTicketRequest(name=name), metadata=coord)
    return acc.stub.StartReview(pb.StartReviewRequest(name=name), metadata=coord)


def approve(acc, token, name, constraints):
    coord = token("coordinator", "coord-one@example.com")
    return acc.stub.DecideTicket(
        pb.DecideTicketRequest(
            name=name,
            decision=pb.Decision(
                outcome=pb.DECISION_OUTCOME_APPROVED, constraints=constraints, candidate_message="Approved."
            ),
        ),
        metadata=coord,
    )


def test_full_life_emails_and_constraints(acc, token):
    coord = token("coordinator", "coord-one@example.com")
    ticket = submit(acc, token)
    assert ticket.state == N.TICKET_STATE_SUBMITTED and ticket.reason  # the candidate sees their words
    assert ticket.sla.state == pb.SLA_STATE_ON_TRACK
    name = ticket.name
    wait_until(lambda: len(acc.recorder.emails) == 2, message="new-ticket emails")
    assert {e.recipient.email for e in acc.recorder.emails} == set(COORDINATORS)

    triaged = acc.stub.TriageTicket(pb.TriageTicketRequest(name=name, etag=ticket.etag), metadata=coord)
    assert triaged.state == N.TICKET_STATE_TRIAGED and triaged.assignee == "coord-one@example.com"
    acc.stub.StartReview(pb.StartReviewRequest(name=name), metadata=coord)
    asked = acc.stub.RequestInformation(
        pb.RequestInformationRequest(name=name, question="Which times of day suit you?"), metadata=coord
    )
    assert asked.state == N.TICKET_STATE_AWAITING_CANDIDATE and asked.sla.state == pb.SLA_STATE_PAUSED

    reply = acc.stub.AddMessage(
        pb.AddMessageRequest(
            parent=name,
            message=pb.Message(visibility=pb.MESSAGE_VISIBILITY_CANDIDATE_VISIBLE, body="Mornings, please."),
        ),
        metadata=token("candidate", CANDIDATE),
    )
    assert reply.body == "Mornings, please."
    acc.stub.AddMessage(
        pb.AddMessageRequest(
            parent=name, message=pb.Message(visibility=pb.MESSAGE_VISIBILITY_INTERNAL, body="internal note")
        ),
        metadata=coord,
    )
    got = acc.stub.GetTicket(pb.GetTicketRequest(name=name), metadata=coord)
    assert got.state == N.TICKET_STATE_IN_REVIEW

    seen_by_candidate = acc.stub.ListMessages(pb.ListMessagesRequest(parent=name), metadata=token("candidate", CANDIDATE))
    assert [m.body for m in seen_by_candidate.messages] == ["Which times of day suit you?", "Mornings, please."]
    seen_by_coord = acc.stub.ListMessages(pb.ListMessagesRequest(parent=name), metadata=coord)
    assert len(seen_by_coord.messages) == 3

    constraints = common_pb2.SchedulingConstraints(
        duration_multiplier=1.5,
        extra_break_minutes=15,
        allowed_windows=[common_pb2.DailyWindow(start=common_pb2.LocalTime(hours=9), end=common_pb2.LocalTime(hours=12))],
    )
    decided = approve(acc, token, name, constraints)
    assert decided.state == N.TICKET_STATE_APPROVED and decided.sla.state == pb.SLA_STATE_MET
    sched = token("service", "services/scheduling")
    empty = acc.stub.GetSchedulingConstraints(pb.GetSchedulingConstraintsRequest(candidate=CANDIDATE), metadata=sched)
    assert not empty.source_tickets  # approved is not yet active

    active = acc.stub.ActivateTicket(pb.ActivateTicketRequest(name=name), metadata=coord)
    assert active.state == N.TICKET_STATE_ACTIVE
    served = acc.stub.GetSchedulingConstraints(pb.GetSchedulingConstraintsRequest(candidate=CANDIDATE), metadata=sched)
    assert served.duration_multiplier == 1.5 and served.extra_break_minutes == 15
    assert served.source_tickets == [name] and served.etag
    assert served.allowed_windows[0].start.hours == 9
    wait_until(lambda: len(acc.recorder.revalidations) == 1, message="revalidation call")
    assert acc.recorder.revalidations[0].candidate == CANDIDATE

    templates = wait_until(
        lambda: (t := [e.template for e in acc.recorder.emails if e.recipient.email == "cand@example.com"]) and len(t) == 3 and t,
        message="candidate emails",
    )
    assert sorted(templates) == sorted([
        pb_template("TICKET_ACKNOWLEDGED"), pb_template("INFORMATION_REQUESTED"), pb_template("TICKET_DECIDED")
    ])

    acc.stub.WithdrawTicket(pb.WithdrawTicketRequest(name=name), metadata=token("candidate", CANDIDATE))
    wait_until(lambda: len(acc.recorder.revalidations) == 2, message="revalidation after withdrawal")
    after = acc.stub.GetSchedulingConstraints(pb.GetSchedulingConstraintsRequest(candidate=CANDIDATE), metadata=sched)
    assert not after.source_tickets and after.etag != served.etag

    hired = Timestamp(seconds=1_800_000_000)
    closed = acc.stub.CloseTicket(pb.CloseTicketRequest(name=name, hiring_decision_time=hired), metadata=coord)
    assert closed.state == N.TICKET_STATE_CLOSED and closed.close_time.seconds > 0
    # The relay's calls carry the accommodations service's own token.
    assert all(m["authorization"].startswith("Bearer ") for m in acc.recorder.metadata)


def pb_template(short):
    from interviews.notifications.v1 import notifications_pb2

    return notifications_pb2.MessageTemplate.Value(f"MESSAGE_TEMPLATE_{short}")


def test_illegal_transition_is_failed_precondition(acc, token):
    name = submit(acc, token).name
    coord = token("coordinator", "coord-one@example.com")
    with pytest.raises(grpc.RpcError) as err:
        acc.stub.ActivateTicket(pb.ActivateTicketRequest(name=name), metadata=coord)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as err:
        acc.stub.DecideTicket(
            pb.DecideTicketRequest(
                name=name,
                decision=pb.Decision(outcome=pb.DECISION_OUTCOME_DENIED, denial_reason="x", alternatives_considered=["y"]),
            ),
            metadata=coord,
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_denial_needs_reason_and_alternatives(acc, token):
    name = submit(acc, token).name
    to_review(acc, token, name)
    coord = token("coordinator", "coord-one@example.com")
    with pytest.raises(grpc.RpcError) as err:
        acc.stub.DecideTicket(
            pb.DecideTicketRequest(name=name, decision=pb.Decision(outcome=pb.DECISION_OUTCOME_DENIED, denial_reason="Undue hardship")),
            metadata=coord,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    denied = acc.stub.DecideTicket(
        pb.DecideTicketRequest(
            name=name,
            decision=pb.Decision(
                outcome=pb.DECISION_OUTCOME_DENIED, denial_reason="Undue hardship",
                alternatives_considered=["Remote interview", "Split over two days"],
            ),
        ),
        metadata=coord,
    )
    assert denied.state == N.TICKET_STATE_DENIED
    assert list(denied.decision.alternatives_considered) == ["Remote interview", "Split over two days"]


def test_etag_mismatch_is_aborted(acc, token):
    ticket = submit(acc, token)
    coord = token("coordinator", "coord-one@example.com")
    acc.stub.AssignTicket(pb.AssignTicketRequest(name=ticket.name, assignee="coord-two@example.com"), metadata=coord)
    with pytest.raises(grpc.RpcError) as err:
        acc.stub.TriageTicket(pb.TriageTicketRequest(name=ticket.name, etag=ticket.etag), metadata=coord)
    assert err.value.code() == grpc.StatusCode.ABORTED


def test_submit_is_idempotent_by_request_id(acc, token):
    first = submit(acc, token, request_id="req-123")
    again = submit(acc, token, request_id="req-123")
    assert first.name == again.name and again.reason == first.reason
    listed = acc.stub.ListTickets(pb.ListTicketsRequest(), metadata=token("coordinator", "k@example.com"))
    assert len(listed.tickets) == 1


def test_alternative_offered_then_accepted_and_merging_two_tickets(acc, token):
    coord = token("coordinator", "coord-one@example.com")
    first = submit(acc, token).name
    to_review(acc, token, first)
    approve(acc, token, first, common_pb2.SchedulingConstraints(duration_multiplier=1.25, max_sessions_per_day=3))
    acc.stub.ActivateTicket(pb.ActivateTicketRequest(name=first), metadata=coord)

    second = submit(acc, token, reason="Also a second request.").name
    to_review(acc, token, second)
    offered = acc.stub.DecideTicket(
        pb.DecideTicketRequest(
            name=second,
            decision=pb.Decision(
                outcome=pb.DECISION_OUTCOME_ALTERNATIVE_OFFERED,
                constraints=common_pb2.SchedulingConstraints(remote_only=True, max_sessions_per_day=2),
                candidate_message="Could remote work instead?",
            ),
        ),
        metadata=coord,
    )
    assert offered.state == N.TICKET_STATE_ALTERNATIVE_OFFERED
    accepted = acc.stub.RespondToAlternative(
        pb.RespondToAlternativeRequest(name=second, accept=True), metadata=token("candidate", CANDIDATE)
    )
    assert accepted.state == N.TICKET_STATE_APPROVED
    acc.stub.ActivateTicket(pb.ActivateTicketRequest(name=second), metadata=coord)
    merged = acc.stub.GetSchedulingConstraints(
        pb.GetSchedulingConstraintsRequest(candidate=CANDIDATE), metadata=token("service", "services/scheduling")
    )
    assert merged.duration_multiplier == 1.25 and merged.remote_only and merged.max_sessions_per_day == 2
    assert sorted(merged.source_tickets) == sorted([first, second])


def test_request_ids_are_per_caller(acc, token):
    request = pb.SubmitTicketRequest(
        ticket=pb.Ticket(candidate=CANDIDATE, candidate_email="cand@example.com", reason="private words"),
        request_id="same-id",
    )
    mine = acc.stub.SubmitTicket(request, metadata=token("recruiter", "rec@example.com"))
    # Someone else replaying the identical request does not get the first ticket back.
    theirs = acc.stub.SubmitTicket(request, metadata=token("recruiter", "other@example.com"))
    assert theirs.name != mine.name
    assert acc.stub.SubmitTicket(request, metadata=token("recruiter", "rec@example.com")).name == mine.name
