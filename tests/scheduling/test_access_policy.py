"""The access policy table, pure: every method, every role."""

from __future__ import annotations

import pytest

from interviews.scheduling.v1 import scheduling_pb2
from services.core.auth import Principal, Role
from services.core.errors import PermissionDenied
from services.scheduling.access import POLICY, Own, decide

RPCS = [m.name for m in scheduling_pb2.DESCRIPTOR.services_by_name["SchedulingService"].methods]


def who(role: Role, subject: str = "someone@example.com") -> Principal:
    return Principal(subject, role)


def allowed(method: str, principal: Principal) -> Own | None:
    try:
        return decide(method, principal).own
    except PermissionDenied:
        return None


def test_every_rpc_has_a_rule():
    assert set(POLICY) == set(RPCS)


@pytest.mark.parametrize("method", sorted(POLICY))
def test_admins_may_call_everything(method):
    assert allowed(method, who(Role.ADMIN)) is Own.NONE


def test_recruiters_write_except_offices_and_revalidation():
    recruiter = who(Role.RECRUITER)
    assert allowed("BookLoop", recruiter) is Own.NONE
    assert allowed("CreateInterviewer", recruiter) is Own.NONE
    assert allowed("UpdateOffice", recruiter) is None
    assert allowed("RevalidateCandidateLoops", recruiter) is None


def test_coordinators_and_auditors_only_read():
    for role in (Role.COORDINATOR, Role.AUDITOR):
        principal = who(role)
        for method in POLICY:
            reads = method.startswith(("Get", "List"))
            assert (allowed(method, principal) is Own.NONE) == reads, (role, method)


def test_candidates_reach_only_their_own_things():
    candidate = who(Role.CANDIDATE, "candidates/c1")
    own = {m for m in POLICY if allowed(m, candidate) is Own.CANDIDATE}
    assert own == {"GetCandidate", "GetLoop", "ListLoops", "GetHold", "ConfirmHold", "ReleaseHold"}
    grant = decide("GetLoop", candidate)
    grant.require_candidate("c1")
    with pytest.raises(PermissionDenied):
        grant.require_candidate("c2")


def test_interviewers_reach_only_their_own_record_and_busy_time():
    interviewer = Principal("ana@example.com", Role.INTERVIEWER)
    own = {m for m in POLICY if allowed(m, interviewer) is Own.INTERVIEWER}
    assert own == {"GetInterviewer", "ListBusyBlocks"}
    grant = decide("GetInterviewer", interviewer)
    grant.require_interviewer("Ana@Example.com")
    with pytest.raises(PermissionDenied):
        grant.require_interviewer("bo@example.com")


def test_services_by_name():
    recruiting = who(Role.SERVICE, "services/recruiting")
    accommodations = who(Role.SERVICE, "services/accommodations")
    stranger = who(Role.SERVICE, "services/notifications")
    assert allowed("BookLoop", recruiting) is Own.NONE
    assert allowed("RevalidateCandidateLoops", recruiting) is None
    assert allowed("RevalidateCandidateLoops", accommodations) is Own.NONE
    assert allowed("BookLoop", accommodations) is None
    assert all(allowed(m, stranger) is None for m in POLICY)


def test_unknown_methods_are_denied():
    assert allowed("NoSuchMethod", who(Role.ADMIN)) is None
