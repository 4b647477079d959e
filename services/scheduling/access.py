"""Who may call what: one table, pure, tested on its own.

Staff roles are allowed or not per method. Candidates and interviewers reach
only their own records: for those methods the table says which kind of
ownership to check, and the servicer checks it once it knows the target.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from services.core.auth import Principal, Role
from services.core.errors import PermissionDenied


class Own(enum.Enum):
    """Self-access a non-staff caller may have to a method's target."""

    NONE = "none"
    CANDIDATE = "candidate"  # a candidate, to their own candidate, loops and holds
    INTERVIEWER = "interviewer"  # an interviewer, to their own record and busy time


# Service principals of the tools that schedule interviews on recruiters'
# behalf (a recruiting system); they have recruiter rights.
SCHEDULING_CLIENTS = frozenset({"recruiting"})
ACCOMMODATIONS = "accommodations"

_READ = frozenset({Role.RECRUITER, Role.COORDINATOR, Role.AUDITOR, Role.ADMIN})
_WRITE = frozenset({Role.RECRUITER, Role.ADMIN})
_ADMIN = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    own: Own = Own.NONE
    # Service principals (by service name) allowed besides the roles above.
    services: frozenset[str] = SCHEDULING_CLIENTS


POLICY: dict[str, Rule] = {
    # offices: read by all staff, changed by admins only (facility data)
    "GetOffice": Rule(_READ),
    "ListOffices": Rule(_READ),
    "UpdateOffice": Rule(_ADMIN, services=frozenset()),
    # rooms
    "CreateRoom": Rule(_WRITE),
    "GetRoom": Rule(_READ),
    "ListRooms": Rule(_READ),
    "UpdateRoom": Rule(_WRITE),
    "DeleteRoom": Rule(_WRITE),
    # interviewers and their busy time
    "CreateInterviewer": Rule(_WRITE),
    "GetInterviewer": Rule(_READ, Own.INTERVIEWER),
    "ListInterviewers": Rule(_READ),
    "UpdateInterviewer": Rule(_WRITE),
    "DeleteInterviewer": Rule(_WRITE),
    "CreateBusyBlock": Rule(_WRITE),
    "ListBusyBlocks": Rule(_READ, Own.INTERVIEWER),
    "DeleteBusyBlock": Rule(_WRITE),
    "ImportBusyBlocks": Rule(_WRITE),
    # candidates
    "CreateCandidate": Rule(_WRITE),
    "GetCandidate": Rule(_READ, Own.CANDIDATE),
    "ListCandidates": Rule(_READ),
    "UpdateCandidate": Rule(_WRITE),
    "DeleteCandidate": Rule(_WRITE),
    # loop templates
    "CreateLoopTemplate": Rule(_WRITE),
    "GetLoopTemplate": Rule(_READ),
    "ListLoopTemplates": Rule(_READ),
    "UpdateLoopTemplate": Rule(_WRITE),
    "DeleteLoopTemplate": Rule(_WRITE),
    # loops
    "FindLoopPlans": Rule(_WRITE),
    "BookLoop": Rule(_WRITE),
    "GetLoop": Rule(_READ, Own.CANDIDATE),
    "ListLoops": Rule(_READ, Own.CANDIDATE),
    "RescheduleLoop": Rule(_WRITE),
    "CancelLoop": Rule(_WRITE),
    "SuggestReplacementInterviewers": Rule(_WRITE),
    "ReplaceInterviewer": Rule(_WRITE),
    "RevalidateCandidateLoops": Rule(_ADMIN, services=frozenset({ACCOMMODATIONS})),
    # holds: recruiters make them, the candidate confirms or lets go
    "CreateHold": Rule(_WRITE),
    "GetHold": Rule(_READ, Own.CANDIDATE),
    "ConfirmHold": Rule(_WRITE, Own.CANDIDATE),
    "ReleaseHold": Rule(_WRITE, Own.CANDIDATE),
    # cohorts: recruiters run and commit them, coordinators and auditors look
    "ScheduleCohort": Rule(_WRITE),
    "GetCohortRun": Rule(_READ),
    "ListCohortRuns": Rule(_READ),
    "CancelCohortRun": Rule(_WRITE),
    "CommitCohortRun": Rule(_WRITE),
}


@dataclass(frozen=True)
class Grant:
    """What the caller may do: everything the method does, or only to its own target."""

    principal: Principal
    own: Own  # Own.NONE: no ownership check needed

    def require_candidate(self, candidate_id: str) -> None:
        if self.own is Own.CANDIDATE and self.principal.subject != f"candidates/{candidate_id}":
            raise _denied("candidates may only reach their own records")

    def require_interviewer(self, email: str) -> None:
        if self.own is Own.INTERVIEWER and email.lower() not in _emails(self.principal):
            raise _denied("interviewers may only reach their own record")


def _emails(principal: Principal) -> set[str]:
    return {e.lower() for e in (principal.subject, principal.email) if e}


def _denied(message: str) -> PermissionDenied:
    return PermissionDenied(message, reason="NOT_OWNER")


def decide(method: str, principal: Principal) -> Grant:
    """The grant for `principal` calling `method`, or PermissionDenied."""
    rule = POLICY.get(method)
    if rule is None:
        raise PermissionDenied(f"{method} is not open to callers", reason="METHOD_NOT_ALLOWED")
    if principal.role in rule.roles:
        return Grant(principal, Own.NONE)
    if principal.role is Role.SERVICE and principal.service_name in rule.services:
        return Grant(principal, Own.NONE)
    if rule.own is Own.CANDIDATE and principal.role is Role.CANDIDATE:
        return Grant(principal, Own.CANDIDATE)
    if rule.own is Own.INTERVIEWER and principal.role is Role.INTERVIEWER:
        return Grant(principal, Own.INTERVIEWER)
    raise PermissionDenied(
        f"role {principal.role.value} may not call {method}", reason="ROLE_NOT_ALLOWED", metadata={"role": principal.role.value}
    )
