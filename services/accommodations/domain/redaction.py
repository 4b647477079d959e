"""Which ticket fields each role sees. Everything not listed is left empty.

Field names are the Ticket message's fields; "decision.x" names a field of the decision.
The reason is in the candidate's and coordinator's views only. Confidential text (the
reason and the decision's texts) appears only on a single-ticket read: lists never carry
it, so that every read of it is one audited GetTicket.
"""

from __future__ import annotations

import enum

from services.accommodations.domain.access import Role


class View(enum.Enum):
    FULL = "full"  # coordinator
    CANDIDATE = "candidate"  # the candidate, about their own ticket
    STATUS = "status"  # the recruiter who submitted it: status labels only
    METADATA = "metadata"  # auditor: who, when, which state; no content


_STATUS = frozenset({"name", "candidate", "submitted_by", "state", "create_time", "update_time"})

_METADATA = _STATUS | frozenset(
    {
        "loop",
        "office",
        "assignee",
        "sla",
        "first_interview_time",
        "legal_hold",
        "hiring_decision_time",
        "close_time",
        "etag",
        "decision.outcome",
        "decision.decided_by",
        "decision.decide_time",
    }
)

_CANDIDATE = _STATUS | frozenset(
    {
        "candidate_email",
        "requested_adjustments",
        "reason",
        "loop",
        "office",
        "sla",
        "first_interview_time",
        "etag",
        "close_time",
        "decision.outcome",
        "decision.constraints",
        "decision.candidate_message",
        "decision.denial_reason",
        "decision.alternatives_considered",
        "decision.decide_time",
    }
)

ALL_FIELDS = frozenset(
    {
        "name",
        "candidate",
        "candidate_email",
        "submitted_by",
        "requested_adjustments",
        "reason",
        "loop",
        "office",
        "state",
        "assignee",
        "sla",
        "first_interview_time",
        "legal_hold",
        "hiring_decision_time",
        "etag",
        "create_time",
        "update_time",
        "close_time",
        "decision.outcome",
        "decision.constraints",
        "decision.candidate_message",
        "decision.denial_reason",
        "decision.alternatives_considered",
        "decision.decided_by",
        "decision.decide_time",
    }
)

_FIELDS = {View.FULL: ALL_FIELDS, View.CANDIDATE: _CANDIDATE, View.STATUS: _STATUS, View.METADATA: _METADATA}

# Fields whose reading is audited: they hold the candidate's words or the coordinator's.
SENSITIVE_FIELDS = frozenset(
    {"reason", "decision.candidate_message", "decision.denial_reason", "decision.alternatives_considered"}
)


def view_for(role: Role) -> View | None:
    return {
        Role.COORDINATOR: View.FULL,
        Role.CANDIDATE: View.CANDIDATE,
        Role.RECRUITER: View.STATUS,
        Role.AUDITOR: View.METADATA,
    }.get(role)


def visible_fields(view: View, *, single_read: bool) -> frozenset[str]:
    fields = _FIELDS[view]
    if not single_read:
        fields = fields - SENSITIVE_FIELDS
    return fields


def is_redacted(fields: frozenset[str]) -> bool:
    return fields != ALL_FIELDS
