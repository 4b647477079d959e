"""The ticket lifecycle as one explicit transition table.

Every state change in the service goes through `transition`, so the table below is the
whole truth about which moves exist. A move that is not in the table is illegal (the
servicer turns `IllegalTransition` into FAILED_PRECONDITION).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass


class State(enum.Enum):
    # Values match interviews.accommodations.v1.TicketState so mapping is a lookup.
    SUBMITTED = 1
    TRIAGED = 2
    IN_REVIEW = 3
    AWAITING_CANDIDATE = 4
    APPROVED = 5
    ALTERNATIVE_OFFERED = 6
    DENIED = 7
    ACTIVE = 8
    FULFILLED = 9
    WITHDRAWN = 10
    CLOSED = 11


class Action(enum.Enum):
    TRIAGE = "triage"
    START_REVIEW = "start_review"
    REQUEST_INFORMATION = "request_information"
    CANDIDATE_REPLY = "candidate_reply"
    APPROVE = "approve"
    OFFER_ALTERNATIVE = "offer_alternative"
    DENY = "deny"
    ACCEPT_ALTERNATIVE = "accept_alternative"
    DECLINE_ALTERNATIVE = "decline_alternative"
    ACTIVATE = "activate"
    FULFILL = "fulfill"
    WITHDRAW = "withdraw"
    CLOSE = "close"


# Open states: the request is still alive, so the candidate may withdraw it.
OPEN_STATES: frozenset[State] = frozenset(
    {
        State.SUBMITTED,
        State.TRIAGED,
        State.IN_REVIEW,
        State.AWAITING_CANDIDATE,
        State.APPROVED,
        State.ALTERNATIVE_OFFERED,
        State.ACTIVE,
    }
)

# Before a decision: the decision SLA clock applies to these.
UNDECIDED_STATES: frozenset[State] = frozenset(
    {State.SUBMITTED, State.TRIAGED, State.IN_REVIEW, State.AWAITING_CANDIDATE}
)

_TABLE: dict[tuple[State, Action], State] = {
    (State.SUBMITTED, Action.TRIAGE): State.TRIAGED,
    (State.TRIAGED, Action.START_REVIEW): State.IN_REVIEW,
    (State.IN_REVIEW, Action.REQUEST_INFORMATION): State.AWAITING_CANDIDATE,
    # A reply resumes the review; a missing reply leaves the ticket waiting forever
    # (never an automatic denial).
    (State.AWAITING_CANDIDATE, Action.CANDIDATE_REPLY): State.IN_REVIEW,
    (State.IN_REVIEW, Action.APPROVE): State.APPROVED,
    (State.IN_REVIEW, Action.OFFER_ALTERNATIVE): State.ALTERNATIVE_OFFERED,
    # Denial only after review, never straight from intake.
    (State.IN_REVIEW, Action.DENY): State.DENIED,
    (State.ALTERNATIVE_OFFERED, Action.ACCEPT_ALTERNATIVE): State.APPROVED,
    (State.ALTERNATIVE_OFFERED, Action.DECLINE_ALTERNATIVE): State.IN_REVIEW,
    (State.APPROVED, Action.ACTIVATE): State.ACTIVE,
    (State.ACTIVE, Action.FULFILL): State.FULFILLED,
    **{(state, Action.WITHDRAW): State.WITHDRAWN for state in OPEN_STATES},
    (State.FULFILLED, Action.CLOSE): State.CLOSED,
    (State.DENIED, Action.CLOSE): State.CLOSED,
    (State.WITHDRAWN, Action.CLOSE): State.CLOSED,
}

TRANSITIONS: Mapping[tuple[State, Action], State] = _TABLE

TERMINAL_STATES: frozenset[State] = frozenset(
    state for state in State if not any(src is state for src, _ in _TABLE)
)


class IllegalTransition(Exception):
    def __init__(self, state: State, action: Action) -> None:
        super().__init__(f"cannot {action.value} a ticket in state {state.name}")
        self.state = state
        self.action = action


class IncompleteDenial(Exception):
    """A denial without its reason or without the alternatives that were considered."""

    def __init__(self, field: str) -> None:
        super().__init__(f"a denial needs {field}")
        self.field = field


@dataclass(frozen=True)
class Denial:
    reason: str
    alternatives_considered: tuple[str, ...]


def allowed_actions(state: State) -> frozenset[Action]:
    return frozenset(action for (src, action) in _TABLE if src is state)


def transition(state: State, action: Action, denial: Denial | None = None) -> State:
    """The state after `action`, or IllegalTransition / IncompleteDenial."""
    target = _TABLE.get((state, action))
    if target is None:
        raise IllegalTransition(state, action)
    if action is Action.DENY:
        if denial is None or not denial.reason.strip():
            raise IncompleteDenial("denial_reason")
        if not any(alt.strip() for alt in denial.alternatives_considered):
            raise IncompleteDenial("alternatives_considered")
    return target
