"""Every RPC of every service x every kind of caller, through gRPC.

The expected outcome is written out below as the product should behave (not
read from the services' own policy tables): for an allowed caller the answer
is anything but PERMISSION_DENIED/UNAUTHENTICATED (and never INTERNAL); for a
denied caller it is PERMISSION_DENIED. Each request is realistic and points at
a real resource, so the caller's identity is the only thing that varies:
"candidate" owns the loop, holds and ticket the requests name,
"other-candidate" is another real candidate reaching for them by id; the
recruiter submitted the ticket, "other-recruiter" did not; "interviewer" is
the interviewer whose record and busy time are named.

Requests that would change the world carry a stale etag where the RPC takes
one, so an allowed caller gets ABORTED and the next caller meets the same
world. An RPC added to a contract fails `test_matrix_covers_every_rpc` until
its row is written here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import grpc
import pytest
from interviews.accommodations.v1 import accommodations_pb2 as apb
from interviews.common.v1 import common_pb2
from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.scheduling.v1 import scheduling_pb2 as spb

from tests.hardening_support.fleet import metadata
from tests.hardening_support.harness import Caller, assert_canonical, describe
from tests.hardening_support.rpcs import (
    NOT_YET_IMPLEMENTED,
    SERVICE_DESCRIPTORS,
    Rpc,
    all_rpcs,
)
from tests.hardening_support.world import (
    COORDINATOR,
    RECRUITER,
    minutes,
    time_range,
    weekdays,
)
from tests.security.conftest import MatrixWorld

STALE = "stale-etag"

# ---------------------------------------------------------------- callers

C, OC = "candidate", "other-candidate"
R, OR = "recruiter", "other-recruiter"
K, A, AD = "coordinator", "auditor", "admin"
I, OI = "interviewer", "other-interviewer"
SS, SA, SN, SR = "svc-scheduling", "svc-accommodations", "svc-notifications", "svc-recruiting"
CALLERS = (C, OC, R, OR, K, A, AD, I, OI, SS, SA, SN, SR)


def caller_metadata(label: str, m: MatrixWorld) -> tuple[tuple[str, str], ...]:
    return {
        C: lambda: metadata("candidate", m.candidate),
        OC: lambda: metadata("candidate", m.other_candidate),
        R: lambda: metadata("recruiter", RECRUITER),
        OR: lambda: metadata("recruiter", "other-recruiter@example.com"),
        K: lambda: metadata("coordinator", COORDINATOR),
        A: lambda: metadata("auditor", "auditor@example.com"),
        AD: lambda: metadata("admin", "admin@example.com"),
        I: lambda: metadata("interviewer", m.interviewer_email),
        OI: lambda: metadata("interviewer", m.other_interviewer_email),
        SS: lambda: metadata("service", "services/scheduling"),
        SA: lambda: metadata("service", "services/accommodations"),
        SN: lambda: metadata("service", "services/notifications"),
        SR: lambda: metadata("service", "services/recruiting"),
    }[label]()


# ---------------------------------------------------------------- expectations

# Scheduling: staff read the directory and loops; recruiters (and the
# recruiting tool's service principal) and admins change them; offices are
# facility data (admins only); candidates reach their own candidate record,
# loops and holds; interviewers their own record and busy time; only
# accommodations (and admins) trigger a revalidation.
STAFF_READ = {R, OR, K, A, AD, SR}
WRITE = {R, OR, AD, SR}
SCHEDULING: dict[str, set[str]] = {
    "GetOffice": STAFF_READ, "ListOffices": STAFF_READ, "UpdateOffice": {AD},
    "CreateRoom": WRITE, "GetRoom": STAFF_READ, "ListRooms": STAFF_READ, "UpdateRoom": WRITE, "DeleteRoom": WRITE,
    "CreateInterviewer": WRITE, "GetInterviewer": STAFF_READ | {I}, "ListInterviewers": STAFF_READ,
    "UpdateInterviewer": WRITE, "DeleteInterviewer": WRITE,
    "CreateBusyBlock": WRITE, "ListBusyBlocks": STAFF_READ | {I}, "DeleteBusyBlock": WRITE, "ImportBusyBlocks": WRITE,
    "CreateCandidate": WRITE, "GetCandidate": STAFF_READ | {C}, "ListCandidates": STAFF_READ,
    "UpdateCandidate": WRITE, "DeleteCandidate": WRITE,
    "CreateLoopTemplate": WRITE, "GetLoopTemplate": STAFF_READ, "ListLoopTemplates": STAFF_READ,
    "UpdateLoopTemplate": WRITE, "DeleteLoopTemplate": WRITE,
    "FindLoopPlans": WRITE, "BookLoop": WRITE, "GetLoop": STAFF_READ | {C}, "ListLoops": STAFF_READ | {C},
    "RescheduleLoop": WRITE, "CancelLoop": WRITE, "SuggestReplacementInterviewers": WRITE, "ReplaceInterviewer": WRITE,
    "RevalidateCandidateLoops": {AD, SA},
    "CreateHold": WRITE, "GetHold": STAFF_READ | {C}, "ConfirmHold": WRITE | {C}, "ReleaseHold": WRITE | {C},
    "ScheduleCohort": WRITE, "GetCohortRun": STAFF_READ, "ListCohortRuns": STAFF_READ, "CancelCohortRun": WRITE,
    "CommitCohortRun": WRITE,
}
# Accommodations: the reason is confidential; coordinators do everything, the
# candidate reaches their own ticket, the recruiter the ticket they submitted
# (status), auditors metadata and the audit log, scheduling the constraints
# only. Admins and other services: nothing.
ACCOMMODATIONS: dict[str, set[str]] = {
    "SubmitTicket": {C, R, OR, K}, "GetTicket": {C, R, K, A}, "ListTickets": {C, OC, R, OR, K, A},
    "AssignTicket": {K}, "TriageTicket": {K}, "StartReview": {K}, "RequestInformation": {K},
    "AddMessage": {C, K}, "ListMessages": {C, K}, "DecideTicket": {K}, "RespondToAlternative": {C, K},
    "ActivateTicket": {K}, "FulfillTicket": {K}, "WithdrawTicket": {C, K}, "CloseTicket": {K}, "SetLegalHold": {K},
    "GetSchedulingConstraints": {SS}, "ExportCandidateData": {C, K}, "DeleteCandidateData": {C, K},
    "PurgeExpiredTickets": {K}, "ListAuditEvents": {K, A},
}
# Notifications: the product's own services send; an operator may look.
NOTIFICATIONS: dict[str, set[str]] = {
    "SendInvite": {SS, AD}, "CancelInvite": {SS, AD}, "SendMessage": {SS, SA, AD},
    "GetDelivery": {SS, SA, AD}, "ListDeliveries": {SS, SA, AD},
}
EXPECTED = {"scheduling": SCHEDULING, "accommodations": ACCOMMODATIONS, "notifications": NOTIFICATIONS}

# Cells where the service differs from the expectation above, each reported
# (all fixed so far: notifications served any service principal; the cohort
# RPCs refused the recruiting tool).
DEVIATIONS: dict[tuple[str, str], str] = {}


# ---------------------------------------------------------------- requests

def _ics(m: MatrixWorld) -> bytes:
    start = (m.world.week + timedelta(days=90)).strftime("%Y%m%dT170000Z")
    end = (m.world.week + timedelta(days=90)).strftime("%Y%m%dT180000Z")
    return (f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//matrix//EN\r\nBEGIN:VEVENT\r\nUID:mx\r\nDTSTAMP:20261126T000000Z\r\n"
            f"DTSTART:{start}\r\nDTEND:{end}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()


def _invite(m: MatrixWorld) -> npb.Invite:
    start = m.world.week + timedelta(days=30, hours=17)
    return npb.Invite(
        uid="matrix-session@interviews", sequence=0, summary="Interview", time_range=time_range(start, start + timedelta(hours=1)),
        organizer_email="scheduling@interviews.example.com", organizer_name="Interviews",
        attendees=[npb.Attendee(email="cand@candidates.example.org", display_name="Cand", role=npb.ATTENDEE_ROLE_CANDIDATE,
                                time_zone="America/Los_Angeles")],
        video_link="https://video.example.com/mx", loop="loops/mx")


def _session(m: MatrixWorld) -> spb.LoopSession:
    assert m.loop is not None
    return m.loop.sessions[0]


REQUESTS: dict[str, Callable[[MatrixWorld], object]] = {
    # scheduling
    "GetOffice": lambda m: spb.GetOfficeRequest(name="offices/los-gatos"),
    "ListOffices": lambda m: spb.ListOfficesRequest(),
    "UpdateOffice": lambda m: spb.UpdateOfficeRequest(office=spb.Office(name="offices/los-gatos", address="x", etag=STALE),
                                                      update_mask={"paths": ["address"]}),
    "CreateRoom": lambda m: spb.CreateRoomRequest(parent="offices/los-gatos", room=spb.Room(display_name="New", capacity=2)),
    "GetRoom": lambda m: spb.GetRoomRequest(name=m.world.rooms[0]),
    "ListRooms": lambda m: spb.ListRoomsRequest(parent="offices/los-gatos"),
    "UpdateRoom": lambda m: spb.UpdateRoomRequest(room=spb.Room(name=m.world.rooms[0], capacity=3, etag=STALE),
                                                  update_mask={"paths": ["capacity"]}),
    "DeleteRoom": lambda m: spb.DeleteRoomRequest(name=m.world.rooms[0], etag=STALE),
    "CreateInterviewer": lambda m: spb.CreateInterviewerRequest(interviewer=spb.Interviewer(
        display_name="New", email="new-interviewer@example.com", home_office="offices/los-gatos", ml_areas=[common_pb2.ML_AREA_NLP],
        time_zone="America/Los_Angeles", working_hours=weekdays())),
    "GetInterviewer": lambda m: spb.GetInterviewerRequest(name=m.interviewer),
    "ListInterviewers": lambda m: spb.ListInterviewersRequest(),
    "UpdateInterviewer": lambda m: spb.UpdateInterviewerRequest(
        interviewer=spb.Interviewer(name=m.interviewer, display_name="Renamed", etag=STALE), update_mask={"paths": ["display_name"]}),
    "DeleteInterviewer": lambda m: spb.DeleteInterviewerRequest(name=m.interviewer, etag=STALE),
    "CreateBusyBlock": lambda m: spb.CreateBusyBlockRequest(parent=m.interviewer, busy_block=spb.BusyBlock(
        time_range=time_range(m.world.week + timedelta(days=70), m.world.week + timedelta(days=70, hours=1)), kind=spb.BUSY_KIND_BUSY)),
    "ListBusyBlocks": lambda m: spb.ListBusyBlocksRequest(parent=m.interviewer),
    "DeleteBusyBlock": lambda m: spb.DeleteBusyBlockRequest(name=m.busy_block),
    "ImportBusyBlocks": lambda m: spb.ImportBusyBlocksRequest(parent=m.interviewer, ics_data=_ics(m), expand_range=time_range(
        m.world.week + timedelta(days=80), m.world.week + timedelta(days=100))),
    "CreateCandidate": lambda m: spb.CreateCandidateRequest(candidate=spb.Candidate(
        display_name="New", email="new-candidate@candidates.example.org", time_zone="Asia/Kolkata", primary_area=common_pb2.ML_AREA_NLP)),
    "GetCandidate": lambda m: spb.GetCandidateRequest(name=m.candidate),
    "ListCandidates": lambda m: spb.ListCandidatesRequest(),
    "UpdateCandidate": lambda m: spb.UpdateCandidateRequest(candidate=spb.Candidate(name=m.candidate, display_name="X", etag=STALE),
                                                            update_mask={"paths": ["display_name"]}),
    "DeleteCandidate": lambda m: spb.DeleteCandidateRequest(name=m.candidate, etag=STALE),
    "CreateLoopTemplate": lambda m: spb.CreateLoopTemplateRequest(loop_template=spb.LoopTemplate(display_name="One", sessions=[
        spb.SessionTemplate(title="S", kind=spb.SESSION_KIND_CODING, duration=minutes(30), area_rule=spb.AREA_RULE_ANY,
                            interviewers_needed=1)])),
    "GetLoopTemplate": lambda m: spb.GetLoopTemplateRequest(name=m.world.templates[0]),
    "ListLoopTemplates": lambda m: spb.ListLoopTemplatesRequest(),
    "UpdateLoopTemplate": lambda m: spb.UpdateLoopTemplateRequest(
        loop_template=spb.LoopTemplate(name=m.world.templates[0], display_name="X", etag=STALE), update_mask={"paths": ["display_name"]}),
    "DeleteLoopTemplate": lambda m: spb.DeleteLoopTemplateRequest(name=m.world.templates[0], etag=STALE),
    "FindLoopPlans": lambda m: spb.FindLoopPlansRequest(
        candidate=m.candidate, loop_template=m.world.templates[0], location_mode=spb.LOCATION_MODE_REMOTE,
        window=time_range(m.world.week + timedelta(days=7), m.world.week + timedelta(days=8))),
    "BookLoop": lambda m: spb.BookLoopRequest(plan=m.spare_plan, request_id="mx-book"),
    "GetLoop": lambda m: spb.GetLoopRequest(name=m.loop.name),  # type: ignore[union-attr]
    "ListLoops": lambda m: spb.ListLoopsRequest(candidate=m.candidate),
    "RescheduleLoop": lambda m: spb.RescheduleLoopRequest(name=m.loop.name, plan=m.spare_plan, etag=STALE),  # type: ignore[union-attr]
    "CancelLoop": lambda m: spb.CancelLoopRequest(name=m.loop.name, reason="matrix", etag=STALE),  # type: ignore[union-attr]
    "SuggestReplacementInterviewers": lambda m: spb.SuggestReplacementInterviewersRequest(
        loop=m.loop.name, session_id=_session(m).session_id, interviewer=_session(m).session.interviewers[0]),  # type: ignore[union-attr]
    "ReplaceInterviewer": lambda m: spb.ReplaceInterviewerRequest(
        name=m.loop.name, session_id=_session(m).session_id, interviewer=_session(m).session.interviewers[0], etag=STALE),  # type: ignore[union-attr]
    "RevalidateCandidateLoops": lambda m: spb.RevalidateCandidateLoopsRequest(candidate=m.candidate),
    "CreateHold": lambda m: spb.CreateHoldRequest(plan=m.hold_plan, request_id="mx-hold-new"),
    "GetHold": lambda m: spb.GetHoldRequest(name=m.hold_to_confirm),
    "ConfirmHold": lambda m: spb.ConfirmHoldRequest(name=m.hold_to_confirm, request_id="mx-confirm"),
    "ReleaseHold": lambda m: spb.ReleaseHoldRequest(name=m.hold_to_release),
    "ScheduleCohort": lambda m: spb.ScheduleCohortRequest(entries=[spb.CohortEntry(
        candidate=m.candidate, loop_template=m.world.templates[0], location_mode=spb.LOCATION_MODE_REMOTE,
        window=time_range(m.world.week + timedelta(days=7), m.world.week + timedelta(days=8)))]),
    "GetCohortRun": lambda m: spb.GetCohortRunRequest(name="cohortRuns/none"),
    "ListCohortRuns": lambda m: spb.ListCohortRunsRequest(),
    "CancelCohortRun": lambda m: spb.CancelCohortRunRequest(name="cohortRuns/none"),
    "CommitCohortRun": lambda m: spb.CommitCohortRunRequest(name="cohortRuns/none"),
    # accommodations
    "SubmitTicket": lambda m: apb.SubmitTicketRequest(ticket=apb.Ticket(
        candidate=m.candidate, candidate_email=m.world.candidate_emails[m.candidate],
        requested_adjustments=[common_pb2.ADJUSTMENT_TYPE_BREAKS], reason="another matrix reason")),
    "GetTicket": lambda m: apb.GetTicketRequest(name=m.ticket.name),  # type: ignore[union-attr]
    "ListTickets": lambda m: apb.ListTicketsRequest(),
    "AssignTicket": lambda m: apb.AssignTicketRequest(name=m.ticket.name, assignee=COORDINATOR, etag=STALE),  # type: ignore[union-attr]
    "TriageTicket": lambda m: apb.TriageTicketRequest(name=m.ticket.name, etag=STALE),  # type: ignore[union-attr]
    "StartReview": lambda m: apb.StartReviewRequest(name=m.ticket.name, etag=STALE),  # type: ignore[union-attr]
    "RequestInformation": lambda m: apb.RequestInformationRequest(name=m.ticket.name, question="?", etag=STALE),  # type: ignore[union-attr]
    "AddMessage": lambda m: apb.AddMessageRequest(parent=m.ticket.name, message=apb.Message(  # type: ignore[union-attr]
        visibility=apb.MESSAGE_VISIBILITY_CANDIDATE_VISIBLE, body="a matrix message")),
    "ListMessages": lambda m: apb.ListMessagesRequest(parent=m.ticket.name),  # type: ignore[union-attr]
    "DecideTicket": lambda m: apb.DecideTicketRequest(name=m.ticket.name, etag=STALE, decision=apb.Decision(  # type: ignore[union-attr]
        outcome=apb.DECISION_OUTCOME_APPROVED, constraints=common_pb2.SchedulingConstraints(extra_break_minutes=5))),
    "RespondToAlternative": lambda m: apb.RespondToAlternativeRequest(name=m.ticket.name, accept=True, etag=STALE),  # type: ignore[union-attr]
    "ActivateTicket": lambda m: apb.ActivateTicketRequest(name=m.ticket.name, etag=STALE),  # type: ignore[union-attr]
    "FulfillTicket": lambda m: apb.FulfillTicketRequest(name=m.ticket.name, etag=STALE),  # type: ignore[union-attr]
    "WithdrawTicket": lambda m: apb.WithdrawTicketRequest(name=m.ticket.name, etag=STALE),  # type: ignore[union-attr]
    "CloseTicket": lambda m: apb.CloseTicketRequest(name=m.ticket.name, etag=STALE),  # type: ignore[union-attr]
    "SetLegalHold": lambda m: apb.SetLegalHoldRequest(name=m.ticket.name, legal_hold=False, justification="matrix"),  # type: ignore[union-attr]
    "GetSchedulingConstraints": lambda m: apb.GetSchedulingConstraintsRequest(candidate=m.candidate),
    "ExportCandidateData": lambda m: apb.ExportCandidateDataRequest(candidate=m.candidate),
    "DeleteCandidateData": lambda m: apb.DeleteCandidateDataRequest(candidate=m.candidate),
    "PurgeExpiredTickets": lambda m: apb.PurgeExpiredTicketsRequest(),
    "ListAuditEvents": lambda m: apb.ListAuditEventsRequest(),
    # notifications
    "SendInvite": lambda m: npb.SendInviteRequest(idempotency_key="mx-invite", invite=_invite(m)),
    "CancelInvite": lambda m: npb.CancelInviteRequest(idempotency_key="mx-cancel", invite=_invite(m), reason="matrix"),
    "SendMessage": lambda m: npb.SendMessageRequest(
        idempotency_key="mx-message", template=npb.MESSAGE_TEMPLATE_INTERVIEW_REMINDER,
        recipient=npb.Recipient(email="cand@candidates.example.org", time_zone="America/Los_Angeles"),
        parameters={"interview_time": "2027-01-05T09:00:00-08:00"}),
    "GetDelivery": lambda m: npb.GetDeliveryRequest(name=m.delivery or "deliveries/none"),
    "ListDeliveries": lambda m: npb.ListDeliveriesRequest(),
}

# Calls that would change what later rows read run last, in this order.
LAST = ("CancelLoop", "ConfirmHold", "ReleaseHold", "DeleteCandidateData", "PurgeExpiredTickets")


def _ordered_rpcs() -> list[Rpc]:
    rpcs = [r for r in all_rpcs() if str(r) not in NOT_YET_IMPLEMENTED]
    return sorted(rpcs, key=lambda r: (LAST.index(r.name) + 1) if r.name in LAST else 0)


def _cells() -> list[object]:
    cells = []
    for rpc in _ordered_rpcs():
        for who in CALLERS:
            reason = DEVIATIONS.get((str(rpc), who))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cells.append(pytest.param(rpc, who, marks=marks, id=f"{rpc}-{who}"))
    return cells


def test_matrix_covers_every_rpc() -> None:
    for service, descriptor in SERVICE_DESCRIPTORS.items():
        for method in descriptor.methods:
            assert method.name in EXPECTED[service], f"no access expectation for {service}.{method.name}"
            assert method.name in REQUESTS, f"no matrix request for {service}.{method.name}"


@pytest.mark.parametrize(("rpc", "who"), _cells())
def test_access(rpc: Rpc, who: str, matrix: MatrixWorld, security_caller: Caller) -> None:
    request = REQUESTS[rpc.name](matrix)
    outcome = security_caller.call(rpc, request, caller_metadata(who, matrix))  # type: ignore[arg-type]
    allowed = who in EXPECTED[rpc.service][rpc.name]
    assert_canonical(outcome, request, label=who)  # type: ignore[arg-type]
    if allowed:
        assert outcome.code not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED), (
            f"{who} should be allowed {rpc} but got {outcome.code.name}: {outcome.details} (request {describe(request)})")  # type: ignore[arg-type]
    else:
        assert outcome.code is grpc.StatusCode.PERMISSION_DENIED, (
            f"{who} should be denied {rpc} but got {outcome.code.name}: {outcome.details} (request {describe(request)})")  # type: ignore[arg-type]
