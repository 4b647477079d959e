"""Random sequences of coordinator and candidate actions against the real Desk and
database: the stored ticket always follows the transition table, its SLA columns always
match the domain's schedule, and constraints reach scheduling exactly while ACTIVE."""

from __future__ import annotations


from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from services.accommodations.domain.access import Role, Visibility
from services.accommodations.domain.constraints import Constraints
from services.accommodations.domain.lifecycle import TRANSITIONS, Action, State
from services.accommodations.domain.sla import schedule
from services.accommodations.models import TicketRow
from services.accommodations.tickets import NewDecision
from services.accommodations.views import Caller
from services.core.db import Database
from services.core.errors import FailedPrecondition, InvalidArgument
from tests.accommodations.desk_helpers import COORDINATOR, Clock, make_desk, submit

CANDIDATE = Caller(Role.CANDIDATE, "candidates/c-1")
GRANT = Constraints(duration_multiplier=1.5, remote_only=True)

# Desk call -> the lifecycle action it performs.
OPERATIONS = {
    "triage": Action.TRIAGE,
    "start_review": Action.START_REVIEW,
    "request_information": Action.REQUEST_INFORMATION,
    "reply": Action.CANDIDATE_REPLY,
    "approve": Action.APPROVE,
    "offer": Action.OFFER_ALTERNATIVE,
    "deny": Action.DENY,
    "accept": Action.ACCEPT_ALTERNATIVE,
    "decline": Action.DECLINE_ALTERNATIVE,
    "activate": Action.ACTIVATE,
    "fulfill": Action.FULFILL,
    "withdraw": Action.WITHDRAW,
    "close": Action.CLOSE,
}


def run(desk, db, op, ticket):
    d = desk
    calls = {
        "triage": lambda s: d.triage(s, COORDINATOR, ticket, ""),
        "start_review": lambda s: d.start_review(s, COORDINATOR, ticket, ""),
        "request_information": lambda s: d.request_information(s, COORDINATOR, ticket, "?", ""),
        "reply": lambda s: d.add_message(s, CANDIDATE, ticket, Visibility.CANDIDATE_VISIBLE, "reply"),
        "approve": lambda s: d.decide(s, COORDINATOR, ticket, NewDecision(1, GRANT, "ok", "", ()), ""),
        "offer": lambda s: d.decide(s, COORDINATOR, ticket, NewDecision(2, GRANT, "alt", "", ()), ""),
        "deny": lambda s: d.decide(s, COORDINATOR, ticket, NewDecision(3, None, "", "hardship", ("remote",)), ""),
        "accept": lambda s: d.respond_to_alternative(s, CANDIDATE, ticket, True, ""),
        "decline": lambda s: d.respond_to_alternative(s, CANDIDATE, ticket, False, ""),
        "activate": lambda s: d.activate(s, COORDINATOR, ticket, ""),
        "fulfill": lambda s: d.fulfill(s, COORDINATOR, ticket, ""),
        "withdraw": lambda s: d.withdraw(s, CANDIDATE, ticket, ""),
        "close": lambda s: d.close(s, COORDINATOR, ticket, None, ""),
    }
    return db.run(calls[op])


class DeskMachine(RuleBasedStateMachine):
    def __init__(self, db: Database) -> None:
        super().__init__()
        self.db = db
        self.clock = Clock()
        self.desk = make_desk(self.clock)
        self.ticket = submit(db, self.desk)
        self.expected = State.SUBMITTED

    @rule(op=st.sampled_from(sorted(OPERATIONS)))
    def act(self, op):
        action = OPERATIONS[op]
        target = TRANSITIONS.get((self.expected, action))
        if op == "reply" and self.expected is not State.AWAITING_CANDIDATE:
            # Outside a pending question a candidate's message is only a message (no state
            # change); a closed ticket takes none.
            try:
                run(self.desk, self.db, op, self.ticket)
            except FailedPrecondition:
                assert self.expected is State.CLOSED
                return
            assert self.expected is not State.CLOSED
            return
        try:
            run(self.desk, self.db, op, self.ticket)
        except FailedPrecondition:
            assert target is None, f"{op} refused in {self.expected.name}"
            return
        except InvalidArgument:
            raise AssertionError(f"{op} in {self.expected.name} refused as invalid")
        assert target is not None, f"{op} accepted in {self.expected.name}"
        # Read the state back: a candidate's reply returns the message, not the ticket.
        with self.db.reader() as session:
            assert State(session.get(TicketRow, self.ticket).state) is target
        self.expected = target

    @rule(hours=st.integers(min_value=1, max_value=72))
    def time_passes(self, hours):
        self.clock.advance(hours=hours)

    @invariant()
    def stored_state_and_sla_columns_agree_with_the_domain(self):
        with self.db.reader() as session:
            row = session.get(TicketRow, self.ticket)
            assert State(row.state) is self.expected
            assert (row.paused_since is not None) == (self.expected is State.AWAITING_CANDIDATE)
            # Columns were computed at the last change; recompute as of then.
            sched = schedule(self.desk.sla, self.desk.sla_clock(row), self.expected, row.update_time)
            assert row.next_due_time == sched.next_due_time
            assert row.at_risk_time == sched.at_risk_time
            served = self.desk.constraints_for(session, Caller(Role.SCHEDULER, "services/scheduling"), "candidates/c-1")
        assert (served.constraints.source_tickets == (f"tickets/{self.ticket}",)) == (self.expected is State.ACTIVE)
        if self.expected is State.ACTIVE:
            assert served.constraints.remote_only and served.constraints.duration_multiplier == 1.5


def test_random_action_sequences_against_the_database(database_urls):
    db = Database(database_urls["accommodations"], "accommodations")
    try:
        run_state_machine_as_test(
            lambda: DeskMachine(db),
            settings=settings(
                max_examples=25, stateful_step_count=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        db.dispose()
