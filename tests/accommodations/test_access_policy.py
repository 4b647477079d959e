"""The pure access policy and the per-role field views."""

import pytest

from services.accommodations.domain.access import (
    POLICY,
    RPCS,
    ListScope,
    Relation,
    Role,
    Visibility,
    allowed,
    list_scope,
    may_post,
    relation_to_ticket,
    visible_message_kinds,
)
from services.accommodations.domain.redaction import ALL_FIELDS, SENSITIVE_FIELDS, View, view_for, visible_fields


def test_policy_names_every_rpc_of_the_proto():
    from interviews.accommodations.v1 import accommodations_pb2

    service = accommodations_pb2.DESCRIPTOR.services_by_name["AccommodationsService"]
    assert set(RPCS) == {m.name for m in service.methods} == set(POLICY)


@pytest.mark.parametrize("role", [Role.INTERVIEWER, Role.ADMIN, Role.OTHER_SERVICE])
def test_roles_with_nothing_here(role):
    assert not any(allowed(role, rpc, rel) for rpc in RPCS for rel in Relation)


def test_scheduler_reads_constraints_only():
    assert {rpc for rpc in RPCS if allowed(Role.SCHEDULER, rpc, Relation.OTHER)} == {"GetSchedulingConstraints"}


def test_constraints_reach_scheduling_only():
    assert {r for r in Role if any(allowed(r, "GetSchedulingConstraints", rel) for rel in Relation)} == {Role.SCHEDULER}


def test_candidate_only_about_themself():
    for rpc in RPCS:
        if rpc == "ListTickets":  # narrowed by list_scope instead
            continue
        assert not allowed(Role.CANDIDATE, rpc, Relation.OTHER), rpc
    assert allowed(Role.CANDIDATE, "GetTicket", Relation.OWNER)
    assert list_scope(Role.CANDIDATE) is ListScope.OWN_CANDIDATE


def test_recruiter_submits_and_sees_status_of_their_own_submissions():
    assert {rpc for rpc in RPCS if allowed(Role.RECRUITER, rpc, Relation.SUBMITTER)} == {
        "SubmitTicket", "GetTicket", "ListTickets"
    }
    assert not allowed(Role.RECRUITER, "GetTicket", Relation.OTHER)
    assert view_for(Role.RECRUITER) is View.STATUS
    assert "reason" not in visible_fields(View.STATUS, single_read=True)


def test_auditor_reads_metadata_and_audit_log_only():
    assert {rpc for rpc in RPCS if allowed(Role.AUDITOR, rpc, Relation.OTHER)} == {
        "GetTicket", "ListTickets", "ListAuditEvents"
    }
    fields = visible_fields(View.METADATA, single_read=True)
    assert not fields & {"reason", "decision.denial_reason", "decision.candidate_message",
                         "decision.constraints", "requested_adjustments"}


def test_coordinator_may_do_everything_but_read_constraints_as_scheduler():
    assert {rpc for rpc in RPCS if allowed(Role.COORDINATOR, rpc, Relation.OTHER)} == set(RPCS) - {
        "GetSchedulingConstraints"
    }
    assert visible_fields(View.FULL, single_read=True) == ALL_FIELDS


def test_lists_never_carry_confidential_text():
    for view in View:
        assert not visible_fields(view, single_read=False) & SENSITIVE_FIELDS
    assert "reason" in SENSITIVE_FIELDS and "decision.denial_reason" in SENSITIVE_FIELDS


def test_candidate_sees_their_words_but_not_internal_fields():
    fields = visible_fields(View.CANDIDATE, single_read=True)
    assert "reason" in fields
    assert not fields & {"assignee", "legal_hold", "decision.decided_by"}


@pytest.mark.parametrize("role", list(Role))
def test_messages(role):
    assert may_post(role, Visibility.INTERNAL) == (role is Role.COORDINATOR)
    assert may_post(role, Visibility.CANDIDATE_VISIBLE) == (role in (Role.COORDINATOR, Role.CANDIDATE))
    kinds = visible_message_kinds(role)
    assert (Visibility.INTERNAL in kinds) == (role is Role.COORDINATOR)


def test_relations():
    assert relation_to_ticket(Role.CANDIDATE, "candidates/c1", "candidates/c1", "x@r") is Relation.OWNER
    assert relation_to_ticket(Role.CANDIDATE, "candidates/c2", "candidates/c1", "x@r") is Relation.OTHER
    assert relation_to_ticket(Role.RECRUITER, "x@r", "candidates/c1", "x@r") is Relation.SUBMITTER
    # A recruiter can never be the ticket's owner, even with a look-alike subject.
    assert relation_to_ticket(Role.RECRUITER, "candidates/c1", "candidates/c1", "x@r") is Relation.OTHER
