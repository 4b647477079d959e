"""The ticket lifecycle: the transition table, and random action sequences against it."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from services.accommodations.domain.lifecycle import (
    OPEN_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    Denial,
    IllegalTransition,
    IncompleteDenial,
    State,
    allowed_actions,
    transition,
)

S, A = State, Action

# The lifecycle written out by hand, so a change to the table must change this too.
EXPECTED = {
    (S.SUBMITTED, A.TRIAGE): S.TRIAGED,
    (S.TRIAGED, A.START_REVIEW): S.IN_REVIEW,
    (S.IN_REVIEW, A.REQUEST_INFORMATION): S.AWAITING_CANDIDATE,
    (S.AWAITING_CANDIDATE, A.CANDIDATE_REPLY): S.IN_REVIEW,
    (S.IN_REVIEW, A.APPROVE): S.APPROVED,
    (S.IN_REVIEW, A.OFFER_ALTERNATIVE): S.ALTERNATIVE_OFFERED,
    (S.IN_REVIEW, A.DENY): S.DENIED,
    (S.ALTERNATIVE_OFFERED, A.ACCEPT_ALTERNATIVE): S.APPROVED,
    (S.ALTERNATIVE_OFFERED, A.DECLINE_ALTERNATIVE): S.IN_REVIEW,
    (S.APPROVED, A.ACTIVATE): S.ACTIVE,
    (S.ACTIVE, A.FULFILL): S.FULFILLED,
    (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
    (S.TRIAGED, A.WITHDRAW): S.WITHDRAWN,
    (S.IN_REVIEW, A.WITHDRAW): S.WITHDRAWN,
    (S.AWAITING_CANDIDATE, A.WITHDRAW): S.WITHDRAWN,
    (S.APPROVED, A.WITHDRAW): S.WITHDRAWN,
    (S.ALTERNATIVE_OFFERED, A.WITHDRAW): S.WITHDRAWN,
    (S.ACTIVE, A.WITHDRAW): S.WITHDRAWN,
    (S.FULFILLED, A.CLOSE): S.CLOSED,
    (S.DENIED, A.CLOSE): S.CLOSED,
    (S.WITHDRAWN, A.CLOSE): S.CLOSED,
}
GOOD_DENIAL = Denial("Not feasible for this role", ("Remote interview", "Extra time"))


def test_table_is_exactly_the_documented_lifecycle():
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize("state", list(State))
@pytest.mark.parametrize("action", list(Action))
def test_every_state_action_pair(state, action):
    expected = EXPECTED.get((state, action))
    if expected is None:
        with pytest.raises(IllegalTransition):
            transition(state, action, GOOD_DENIAL)
    else:
        assert transition(state, action, GOOD_DENIAL) is expected


def test_only_closed_is_terminal_and_withdrawal_only_from_open_states():
    assert TERMINAL_STATES == {S.CLOSED}
    assert {s for s in State if A.WITHDRAW in allowed_actions(s)} == OPEN_STATES
    assert S.DENIED not in OPEN_STATES and S.FULFILLED not in OPEN_STATES


@pytest.mark.parametrize(
    "denial, field",
    [
        (None, "denial_reason"),
        (Denial("  ", ("Remote interview",)), "denial_reason"),
        (Denial("Undue hardship", ()), "alternatives_considered"),
        (Denial("Undue hardship", (" ",)), "alternatives_considered"),
    ],
)
def test_denial_needs_reason_and_alternatives(denial, field):
    with pytest.raises(IncompleteDenial) as err:
        transition(S.IN_REVIEW, A.DENY, denial)
    assert err.value.field == field


@pytest.mark.parametrize("state", [s for s in State if s is not S.IN_REVIEW])
def test_denial_only_from_review(state):
    with pytest.raises(IllegalTransition):
        transition(state, A.DENY, GOOD_DENIAL)


denials = st.one_of(
    st.none(),
    st.builds(
        Denial,
        st.sampled_from(["", " ", "Not feasible"]),
        st.lists(st.sampled_from(["", "Remote"]), max_size=2).map(tuple),
    ),
)


class TicketMachine(RuleBasedStateMachine):
    """Random actions, legal or not: the ticket only ever moves along the table."""

    def __init__(self):
        super().__init__()
        self.state = S.SUBMITTED
        self.history = [S.SUBMITTED]

    @rule(action=st.sampled_from(list(Action)), denial=denials)
    def act(self, action, denial):
        before = self.state
        try:
            after = transition(before, action, denial)
        except IllegalTransition:
            assert (before, action) not in TRANSITIONS
            return
        except IncompleteDenial:
            assert action is A.DENY and before is S.IN_REVIEW
            return
        assert TRANSITIONS[(before, action)] is after
        assert before not in TERMINAL_STATES
        if after is S.DENIED:
            assert before is S.IN_REVIEW
            assert denial is not None and denial.reason.strip()
            assert any(a.strip() for a in denial.alternatives_considered)
        self.state = after
        self.history.append(after)

    @invariant()
    def state_is_in_the_table(self):
        assert self.state is S.SUBMITTED or any(t is self.state for t in TRANSITIONS.values())

    @invariant()
    def terminal_stays_terminal(self):
        first_terminal = next((i for i, s in enumerate(self.history) if s in TERMINAL_STATES), None)
        if first_terminal is not None:
            assert all(s is self.history[first_terminal] for s in self.history[first_terminal:])


TestTicketMachine = TicketMachine.TestCase
TestTicketMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)


@given(st.lists(st.sampled_from(list(Action)), max_size=30))
def test_closed_accepts_nothing(actions):
    for action in actions:
        with pytest.raises(IllegalTransition):
            transition(S.CLOSED, action, GOOD_DENIAL)
