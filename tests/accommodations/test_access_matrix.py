"""Every RPC of the accommodations proto x every kind of caller, through the real server.

The expected table is written out here by hand (not read from the policy module), so the
policy and this test must agree. Each case gets a fresh ticket in the state its RPC
needs, so an allowed call succeeds (OK) and a forbidden one is PERMISSION_DENIED.
"""

from __future__ import annotations

import grpc
import pytest

from interviews.accommodations.v1 import accommodations_pb2 as pb
from interviews.common.v1 import common_pb2

OWN = "candidates/c-own"
REASON = "Reason text only the candidate and coordinators may read."

CALLERS = {
    "candidate_owner": ("candidate", OWN),
    "candidate_other": ("candidate", "candidates/c-other"),
    "recruiter_submitter": ("recruiter", "rec@example.com"),
    "recruiter_other": ("recruiter", "other-rec@example.com"),
    "coordinator": ("coordinator", "coord@example.com"),
    "interviewer": ("interviewer", "int@example.com"),
    "scheduler": ("service", "services/scheduling"),
    "other_service": ("service", "services/notifications"),
    "auditor": ("auditor", "audit@example.com"),
    "admin": ("admin", "admin@example.com"),
}

COORD_ONLY = {"coordinator"}
EXPECTED_ALLOWED = {
    "SubmitTicket": {"candidate_owner", "recruiter_submitter", "recruiter_other", "coordinator"},
    "GetTicket": {"candidate_owner", "recruiter_submitter", "coordinator", "auditor"},
    "ListTickets": {"candidate_owner", "candidate_other", "recruiter_submitter", "recruiter_other", "coordinator", "auditor"},
    "AssignTicket": COORD_ONLY,
    "TriageTicket": COORD_ONLY,
    "StartReview": COORD_ONLY,
    "RequestInformation": COORD_ONLY,
    "AddMessage": {"candidate_owner", "coordinator"},
    "ListMessages": {"candidate_owner", "coordinator"},
    "DecideTicket": COORD_ONLY,
    "RespondToAlternative": {"candidate_owner", "coordinator"},
    "ActivateTicket": COORD_ONLY,
    "FulfillTicket": COORD_ONLY,
    "WithdrawTicket": {"candidate_owner", "coordinator"},
    "CloseTicket": COORD_ONLY,
    "SetLegalHold": COORD_ONLY,
    "GetSchedulingConstraints": {"scheduler"},
    "ExportCandidateData": {"candidate_owner", "coordinator"},
    "DeleteCandidateData": {"candidate_owner", "coordinator"},
    "PurgeExpiredTickets": COORD_ONLY,
    "ListAuditEvents": {"coordinator", "auditor"},
}

# The state each ticket-scoped RPC needs, as the coordinator steps that lead there.
PREP = {
    "TriageTicket": [],
    "StartReview": ["triage"],
    "RequestInformation": ["triage", "review"],
    "DecideTicket": ["triage", "review"],
    "RespondToAlternative": ["triage", "review", "offer"],
    "ActivateTicket": ["triage", "review", "approve"],
    "FulfillTicket": ["triage", "review", "approve", "activate"],
    "CloseTicket": ["withdraw"],
}
CONSTRAINTS = common_pb2.SchedulingConstraints(duration_multiplier=1.5)


def _call(stub, rpc, name):
    requests = {
        "SubmitTicket": lambda: pb.SubmitTicketRequest(
            ticket=pb.Ticket(candidate=OWN, candidate_email="own@example.com", reason=REASON)
        ),
        "GetTicket": lambda: pb.GetTicketRequest(name=name),
        "ListTickets": lambda: pb.ListTicketsRequest(),
        "AssignTicket": lambda: pb.AssignTicketRequest(name=name, assignee="coord@example.com"),
        "TriageTicket": lambda: pb.TriageTicketRequest(name=name),
        "StartReview": lambda: pb.StartReviewRequest(name=name),
        "RequestInformation": lambda: pb.RequestInformationRequest(name=name, question="When?"),
        "AddMessage": lambda: pb.AddMessageRequest(
            parent=name, message=pb.Message(visibility=pb.MESSAGE_VISIBILITY_CANDIDATE_VISIBLE, body="hello")
        ),
        "ListMessages": lambda: pb.ListMessagesRequest(parent=name),
        "DecideTicket": lambda: pb.DecideTicketRequest(
            name=name, decision=pb.Decision(outcome=pb.DECISION_OUTCOME_APPROVED, constraints=CONSTRAINTS)
        ),
        "RespondToAlternative": lambda: pb.RespondToAlternativeRequest(name=name, accept=True),
        "ActivateTicket": lambda: pb.ActivateTicketRequest(name=name),
        "FulfillTicket": lambda: pb.FulfillTicketRequest(name=name),
        "WithdrawTicket": lambda: pb.WithdrawTicketRequest(name=name),
        "CloseTicket": lambda: pb.CloseTicketRequest(name=name),
        "SetLegalHold": lambda: pb.SetLegalHoldRequest(name=name, legal_hold=True, justification="litigation"),
        "GetSchedulingConstraints": lambda: pb.GetSchedulingConstraintsRequest(candidate=OWN),
        "ExportCandidateData": lambda: pb.ExportCandidateDataRequest(candidate=OWN),
        "DeleteCandidateData": lambda: pb.DeleteCandidateDataRequest(candidate=OWN),
        "PurgeExpiredTickets": lambda: pb.PurgeExpiredTicketsRequest(),
        "ListAuditEvents": lambda: pb.ListAuditEventsRequest(),
    }
    return getattr(stub, rpc), requests[rpc]()


def _prepare(stub, coord, recruiter, steps):
    ticket = stub.SubmitTicket(
        pb.SubmitTicketRequest(ticket=pb.Ticket(candidate=OWN, candidate_email="own@example.com", reason=REASON)),
        metadata=recruiter,
    )
    name = ticket.name
    for step in steps:
        if step == "triage":
            stub.TriageTicket(pb.TriageTicketRequest(name=name), metadata=coord)
        elif step == "review":
            stub.StartReview(pb.StartReviewRequest(name=name), metadata=coord)
        elif step in ("approve", "offer"):
            outcome = pb.DECISION_OUTCOME_APPROVED if step == "approve" else pb.DECISION_OUTCOME_ALTERNATIVE_OFFERED
            stub.DecideTicket(
                pb.DecideTicketRequest(name=name, decision=pb.Decision(outcome=outcome, constraints=CONSTRAINTS)),
                metadata=coord,
            )
        elif step == "activate":
            stub.ActivateTicket(pb.ActivateTicketRequest(name=name), metadata=coord)
        elif step == "withdraw":
            stub.WithdrawTicket(pb.WithdrawTicketRequest(name=name), metadata=coord)
    return name


def test_matrix_covers_every_rpc_of_the_proto():
    service = pb.DESCRIPTOR.services_by_name["AccommodationsService"]
    assert set(EXPECTED_ALLOWED) == {m.name for m in service.methods}


def test_access_matrix(acc, token):
    stub = acc.stub
    coord = token("coordinator", "coord@example.com")
    recruiter = token("recruiter", "rec@example.com")
    mismatches = []
    cases = 0
    for rpc, allowed in EXPECTED_ALLOWED.items():
        for who, (role, subject) in CALLERS.items():
            name = _prepare(stub, coord, recruiter, PREP.get(rpc, []))
            method, request = _call(stub, rpc, name)
            cases += 1
            try:
                method(request, metadata=token(role, subject))
                outcome = "OK"
            except grpc.RpcError as error:
                outcome = error.code().name
            expected = "OK" if who in allowed else "PERMISSION_DENIED"
            if outcome != expected:
                mismatches.append(f"{rpc} as {who}: expected {expected}, got {outcome}")
    assert cases == len(EXPECTED_ALLOWED) * len(CALLERS)
    assert not mismatches, "\n".join(mismatches)


def test_what_each_role_sees_of_one_ticket(acc, token):
    stub = acc.stub
    coord = token("coordinator", "coord@example.com")
    name = _prepare(stub, coord, token("recruiter", "rec@example.com"), ["triage", "review", "approve"])
    get = lambda role, subject: stub.GetTicket(pb.GetTicketRequest(name=name), metadata=token(role, subject))

    full = get("coordinator", "coord@example.com")
    assert full.reason == REASON and not full.redacted and full.assignee
    mine = get("candidate", OWN)
    assert mine.reason == REASON and mine.redacted and not mine.assignee
    assert mine.decision.constraints.duration_multiplier == 1.5
    status = get("recruiter", "rec@example.com")
    assert status.redacted and status.state == pb.TICKET_STATE_APPROVED
    assert not status.reason and not status.HasField("decision") and not status.HasField("sla")
    assert not status.candidate_email and not status.requested_adjustments
    meta = get("auditor", "audit@example.com")
    assert meta.redacted and not meta.reason and meta.HasField("sla") and meta.assignee
    assert meta.decision.outcome == pb.DECISION_OUTCOME_APPROVED
    assert not meta.decision.HasField("constraints") and not meta.candidate_email


def test_lists_are_narrowed_to_the_caller(acc, token):
    stub = acc.stub
    coord = token("coordinator", "coord@example.com")
    _prepare(stub, coord, token("recruiter", "rec@example.com"), [])
    stub.SubmitTicket(
        pb.SubmitTicketRequest(ticket=pb.Ticket(candidate="candidates/c-other", candidate_email="o@example.com", reason="x")),
        metadata=token("recruiter", "other-rec@example.com"),
    )
    count = lambda role, subject: len(stub.ListTickets(pb.ListTicketsRequest(), metadata=token(role, subject)).tickets)
    assert count("coordinator", "coord@example.com") == 2
    assert count("auditor", "audit@example.com") == 2
    assert count("candidate", OWN) == 1
    assert count("candidate", "candidates/c-nobody") == 0
    assert count("recruiter", "rec@example.com") == 1
    assert count("recruiter", "nobody@example.com") == 0
    # A candidate cannot widen their list with the candidate filter.
    other = stub.ListTickets(pb.ListTicketsRequest(candidate="candidates/c-other"), metadata=token("candidate", OWN))
    assert len(other.tickets) == 0
    for ticket in stub.ListTickets(pb.ListTicketsRequest(), metadata=coord).tickets:
        assert not ticket.reason  # lists never carry the reason


def test_candidates_cannot_post_internal_notes_or_read_them(acc, token):
    stub = acc.stub
    coord = token("coordinator", "coord@example.com")
    name = _prepare(stub, coord, token("recruiter", "rec@example.com"), [])
    stub.AddMessage(
        pb.AddMessageRequest(parent=name, message=pb.Message(visibility=pb.MESSAGE_VISIBILITY_INTERNAL, body="internal")),
        metadata=coord,
    )
    with pytest.raises(grpc.RpcError) as err:
        stub.AddMessage(
            pb.AddMessageRequest(parent=name, message=pb.Message(visibility=pb.MESSAGE_VISIBILITY_INTERNAL, body="x")),
            metadata=token("candidate", OWN),
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    seen = stub.ListMessages(pb.ListMessagesRequest(parent=name), metadata=token("candidate", OWN))
    assert [m.body for m in seen.messages] == []


def test_missing_ticket_does_not_leak_existence_to_non_coordinators(acc, token):
    missing = "tickets/0123456789abcdef0123456789abcdef"
    with pytest.raises(grpc.RpcError) as err:
        acc.stub.GetTicket(pb.GetTicketRequest(name=missing), metadata=token("candidate", OWN))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as err:
        acc.stub.GetTicket(pb.GetTicketRequest(name=missing), metadata=token("coordinator", "coord@example.com"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_unauthenticated_calls_are_refused(acc):
    with pytest.raises(grpc.RpcError) as err:
        acc.stub.ListTickets(pb.ListTicketsRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_role_is_checked_before_the_request_is_validated(acc, token):
    # An interviewer learns nothing, not even which field of a bad request is wrong.
    with pytest.raises(grpc.RpcError) as err:
        acc.stub.DecideTicket(pb.DecideTicketRequest(name="not a name"), metadata=token("interviewer", "i@example.com"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
