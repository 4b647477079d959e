"""What each allowed caller actually sees: the reason and internal notes reach
coordinators and the candidate who wrote them, nobody else; lists are narrowed
to the caller's own; every read of the reason is audited. (The access matrix
proves who may call; these prove what comes back.)"""

from __future__ import annotations

import grpc
import pytest
from interviews.accommodations.v1 import accommodations_pb2 as apb
from interviews.scheduling.v1 import scheduling_pb2 as spb

from tests.hardening_support.fleet import InProcessFleet, metadata
from tests.hardening_support.world import COORDINATOR, RECRUITER, Clients
from tests.security.conftest import MatrixWorld

REASON = "matrix reason"
NOTE = "matrix internal note"


@pytest.fixture(scope="module")
def c(security_fleet: InProcessFleet) -> Clients:
    return Clients.over(security_fleet.channels)


def _ticket(c: Clients, m: MatrixWorld, md: tuple) -> apb.Ticket:  # type: ignore[type-arg]
    return c.accommodations.GetTicket(apb.GetTicketRequest(name=m.ticket.name), metadata=md, timeout=10)  # type: ignore[union-attr]


def test_the_candidate_and_coordinators_read_the_reason(c: Clients, matrix: MatrixWorld) -> None:
    assert _ticket(c, matrix, metadata("candidate", matrix.candidate)).reason == REASON
    ticket = _ticket(c, matrix, metadata("coordinator", COORDINATOR))
    assert ticket.reason == REASON and not ticket.redacted


@pytest.mark.parametrize("who", ["recruiter", "auditor"])
def test_others_allowed_to_see_the_ticket_get_it_without_the_reason(who: str, c: Clients, matrix: MatrixWorld) -> None:
    subject = RECRUITER if who == "recruiter" else "auditor@example.com"
    ticket = _ticket(c, matrix, metadata(who, subject))
    assert ticket.redacted
    assert REASON not in str(ticket), f"the {who} sees the reason"
    assert ticket.decision.candidate_message == "" and ticket.decision.denial_reason == ""


def test_the_candidate_does_not_see_internal_notes(c: Clients, matrix: MatrixWorld) -> None:
    own = c.accommodations.ListMessages(apb.ListMessagesRequest(parent=matrix.ticket.name),  # type: ignore[union-attr]
                                        metadata=metadata("candidate", matrix.candidate), timeout=10).messages
    assert all(m.visibility == apb.MESSAGE_VISIBILITY_CANDIDATE_VISIBLE for m in own)
    assert NOTE not in str(own)
    everything = c.accommodations.ListMessages(apb.ListMessagesRequest(parent=matrix.ticket.name),  # type: ignore[union-attr]
                                               metadata=metadata("coordinator", COORDINATOR), timeout=10).messages
    assert NOTE in str(everything)


@pytest.mark.parametrize(("role", "subject_of"), [("candidate", "other"), ("recruiter", "other-recruiter")])
def test_lists_hold_only_the_callers_own_tickets(role: str, subject_of: str, c: Clients, matrix: MatrixWorld) -> None:
    subject = matrix.other_candidate if subject_of == "other" else "other-recruiter@example.com"
    listed = c.accommodations.ListTickets(apb.ListTicketsRequest(page_size=1000), metadata=metadata(role, subject), timeout=10).tickets
    assert matrix.ticket.name not in {t.name for t in listed}  # type: ignore[union-attr]
    # Asking for the other candidate's tickets by filter does not widen the scope.
    filtered = c.accommodations.ListTickets(apb.ListTicketsRequest(candidate=matrix.candidate), metadata=metadata(role, subject), timeout=10)
    assert matrix.ticket.name not in {t.name for t in filtered.tickets}  # type: ignore[union-attr]


def test_the_candidate_lists_their_own_ticket(c: Clients, matrix: MatrixWorld) -> None:
    listed = c.accommodations.ListTickets(apb.ListTicketsRequest(), metadata=metadata("candidate", matrix.candidate), timeout=10).tickets
    assert matrix.ticket.name in {t.name for t in listed}  # type: ignore[union-attr]
    assert {t.candidate for t in listed} == {matrix.candidate}


def test_a_candidate_lists_only_their_own_loops(c: Clients, matrix: MatrixWorld) -> None:
    md = metadata("candidate", matrix.other_candidate)
    try:
        listed = c.scheduling.ListLoops(spb.ListLoopsRequest(), metadata=md, timeout=10).loops
    except grpc.RpcError as error:  # refusing the unfiltered list is as good as narrowing it
        assert error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED)
        return
    assert {loop.candidate for loop in listed} <= {matrix.other_candidate}


def test_reading_the_reason_is_audited(c: Clients, matrix: MatrixWorld) -> None:
    k = metadata("coordinator", COORDINATOR)

    def reads() -> int:
        events = c.accommodations.ListAuditEvents(apb.ListAuditEventsRequest(ticket=matrix.ticket.name, page_size=1000),  # type: ignore[union-attr]
                                                  metadata=k, timeout=10).audit_events
        return sum(1 for e in events if e.action.startswith("ticket.read") and e.actor == COORDINATOR)

    before = reads()
    _ticket(c, matrix, k)
    assert reads() == before + 1
    # The audit trail names fields, never their content.
    events = c.accommodations.ListAuditEvents(apb.ListAuditEventsRequest(ticket=matrix.ticket.name, page_size=1000),  # type: ignore[union-attr]
                                              metadata=k, timeout=10).audit_events
    assert REASON not in str(events) and NOTE not in str(events)


def test_scheduling_gets_constraints_not_the_reason(c: Clients, matrix: MatrixWorld) -> None:
    constraints = c.accommodations.GetSchedulingConstraints(apb.GetSchedulingConstraintsRequest(candidate=matrix.candidate),
                                                            metadata=metadata("service", "services/scheduling"), timeout=10)
    assert constraints.duration_multiplier == pytest.approx(1.25)
    assert REASON not in str(constraints) and NOTE not in str(constraints)
