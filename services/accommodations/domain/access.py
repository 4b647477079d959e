"""Who may do what: one pure policy, role x RPC x relation to the ticket -> allow or deny.

Every handler asks `allowed` before it touches data, and again per ticket. The table is
the whole policy; the access-matrix test walks all of it through the real server.

Roles (see the issue): a candidate sees their own tickets; a recruiter submits and sees the
status of tickets they submitted; a coordinator sees and does everything; an interviewer
sees nothing here; the scheduling service reads constraints only; an auditor reads
metadata and the audit log. Admins and other services are denied everything: the
confidentiality rule names no one else.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping


class Role(enum.Enum):
    CANDIDATE = "candidate"
    RECRUITER = "recruiter"
    COORDINATOR = "coordinator"
    INTERVIEWER = "interviewer"
    SCHEDULER = "scheduler"  # the scheduling service
    AUDITOR = "auditor"
    # An operator: runs the system, reads nothing confidential, so nothing here.
    ADMIN = "admin"
    # Any other service of the product (e.g. notifications): nothing here either.
    OTHER_SERVICE = "other_service"


class Relation(enum.Enum):
    """How the caller relates to the ticket (or candidate) the request is about."""

    OWNER = "owner"  # the candidate the ticket is about, acting as themself
    SUBMITTER = "submitter"  # the recruiter who submitted the ticket
    OTHER = "other"  # anyone else


class Rule(enum.Enum):
    ANY = "any"  # whatever the relation
    OWN = "own"  # only as Relation.OWNER
    SUBMITTED = "submitted"  # only as Relation.SUBMITTER


RPCS: tuple[str, ...] = (
    "SubmitTicket",
    "GetTicket",
    "ListTickets",
    "AssignTicket",
    "TriageTicket",
    "StartReview",
    "RequestInformation",
    "AddMessage",
    "ListMessages",
    "DecideTicket",
    "RespondToAlternative",
    "ActivateTicket",
    "FulfillTicket",
    "WithdrawTicket",
    "CloseTicket",
    "SetLegalHold",
    "GetSchedulingConstraints",
    "ExportCandidateData",
    "DeleteCandidateData",
    "PurgeExpiredTickets",
    "ListAuditEvents",
)

_C, _R, _K = Role.CANDIDATE, Role.RECRUITER, Role.COORDINATOR
_S, _A = Role.SCHEDULER, Role.AUDITOR
_COORDINATOR_ONLY = {_K: Rule.ANY}

POLICY: Mapping[str, Mapping[Role, Rule]] = {
    # A candidate submits for themself; a recruiter or coordinator for any candidate.
    "SubmitTicket": {_C: Rule.OWN, _R: Rule.ANY, _K: Rule.ANY},
    "GetTicket": {_C: Rule.OWN, _R: Rule.SUBMITTED, _K: Rule.ANY, _A: Rule.ANY},
    # Lists are narrowed to what the caller may see (see list_scope).
    "ListTickets": {_C: Rule.ANY, _R: Rule.ANY, _K: Rule.ANY, _A: Rule.ANY},
    "AssignTicket": _COORDINATOR_ONLY,
    "TriageTicket": _COORDINATOR_ONLY,
    "StartReview": _COORDINATOR_ONLY,
    "RequestInformation": _COORDINATOR_ONLY,
    # Candidates post candidate-visible messages only (see may_post).
    "AddMessage": {_C: Rule.OWN, _K: Rule.ANY},
    # Candidates see candidate-visible messages only (see visible_message_kinds).
    "ListMessages": {_C: Rule.OWN, _K: Rule.ANY},
    "DecideTicket": _COORDINATOR_ONLY,
    "RespondToAlternative": {_C: Rule.OWN, _K: Rule.ANY},
    "ActivateTicket": _COORDINATOR_ONLY,
    "FulfillTicket": _COORDINATOR_ONLY,
    "WithdrawTicket": {_C: Rule.OWN, _K: Rule.ANY},
    "CloseTicket": _COORDINATOR_ONLY,
    "SetLegalHold": _COORDINATOR_ONLY,
    # Constraints go to the scheduling service and nowhere else.
    "GetSchedulingConstraints": {_S: Rule.ANY},
    "ExportCandidateData": {_C: Rule.OWN, _K: Rule.ANY},
    "DeleteCandidateData": {_C: Rule.OWN, _K: Rule.ANY},
    "PurgeExpiredTickets": _COORDINATOR_ONLY,
    "ListAuditEvents": {_K: Rule.ANY, _A: Rule.ANY},
}


def may_call(role: Role, rpc: str) -> bool:
    """Whether the role may call the RPC at all (for some ticket)."""
    return role in POLICY[rpc]


def allowed(role: Role, rpc: str, relation: Relation) -> bool:
    """Whether the role may call the RPC about a ticket/candidate it has `relation` to."""
    rule = POLICY[rpc].get(role)
    if rule is None:
        return False
    if rule is Rule.ANY:
        return True
    if rule is Rule.OWN:
        return relation is Relation.OWNER
    return relation is Relation.SUBMITTER


def relation_to_ticket(
    role: Role, subject: str, ticket_candidate: str, ticket_submitted_by: str
) -> Relation:
    if role is Role.CANDIDATE and subject == ticket_candidate:
        return Relation.OWNER
    if role is Role.RECRUITER and subject == ticket_submitted_by:
        return Relation.SUBMITTER
    return Relation.OTHER


def relation_to_candidate(role: Role, subject: str, candidate: str) -> Relation:
    if role is Role.CANDIDATE and subject == candidate:
        return Relation.OWNER
    return Relation.OTHER


class ListScope(enum.Enum):
    ALL = "all"
    OWN_CANDIDATE = "own_candidate"  # tickets whose candidate is the caller
    SUBMITTED_BY_CALLER = "submitted_by_caller"


def list_scope(role: Role) -> ListScope:
    if role is Role.CANDIDATE:
        return ListScope.OWN_CANDIDATE
    if role is Role.RECRUITER:
        return ListScope.SUBMITTED_BY_CALLER
    return ListScope.ALL


class Visibility(enum.Enum):
    # Values match interviews.accommodations.v1.MessageVisibility.
    INTERNAL = 1
    CANDIDATE_VISIBLE = 2


def may_post(role: Role, visibility: Visibility) -> bool:
    if role is Role.COORDINATOR:
        return True
    return role is Role.CANDIDATE and visibility is Visibility.CANDIDATE_VISIBLE


def visible_message_kinds(role: Role) -> frozenset[Visibility]:
    if role is Role.COORDINATOR:
        return frozenset(Visibility)
    if role is Role.CANDIDATE:
        return frozenset({Visibility.CANDIDATE_VISIBLE})
    return frozenset()
