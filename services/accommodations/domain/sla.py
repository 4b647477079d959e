"""Service levels for accommodation tickets.

Two deadlines, both in business time (see business_time.py):
- acknowledge (triage) within 1 business day of submission;
- decide within 5 business days of submission *and* before the first affected interview,
  whichever is sooner.

While the ticket waits for the candidate (AWAITING_CANDIDATE) the decision clock is
stopped: the decision deadline moves later by exactly the business time spent waiting.
The first interview is a hard limit that no pause moves.

At risk: a running deadline is *at risk* once less than `at_risk_fraction` (25% by
default) of its window of business time remains. For a 5-business-day decision window
that is the last 1.25 business days; for the acknowledgement, the last 6 business hours.
A window cut short by an early interview is judged against its shortened length.

Every threshold is an instant computed from the ticket's own data (`at_risk_time`,
`next_due_time`), so the store can filter and sort by SLA state in SQL against "now".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.accommodations.domain.business_time import DAY, BusinessCalendar
from services.accommodations.domain.lifecycle import UNDECIDED_STATES, State


class SlaState(enum.Enum):
    # Values match interviews.accommodations.v1.SlaState (0: no SLA applies).
    NOT_APPLICABLE = 0
    ON_TRACK = 1
    AT_RISK = 2
    OVERDUE = 3
    PAUSED = 4
    MET = 5
    MISSED = 6


class Deadline(enum.Enum):
    ACKNOWLEDGE = "acknowledge"
    DECIDE = "decide"


@dataclass(frozen=True)
class SlaPolicy:
    calendar: BusinessCalendar = BusinessCalendar()
    acknowledge_within: timedelta = 1 * DAY
    decide_within: timedelta = 5 * DAY
    at_risk_fraction: float = 0.25

    def __post_init__(self) -> None:
        if not 0.0 < self.at_risk_fraction < 1.0:
            raise ValueError("at_risk_fraction must be between 0 and 1")


@dataclass(frozen=True)
class SlaClock:
    """What a ticket knows about its own timing."""

    submit_time: datetime
    acknowledge_time: datetime | None = None
    decide_time: datetime | None = None
    first_interview_time: datetime | None = None
    # Business time spent in finished pauses, and the start of the pause in progress.
    paused_total: timedelta = timedelta(0)
    paused_since: datetime | None = None


@dataclass(frozen=True)
class SlaSchedule:
    acknowledge_due: datetime
    decision_due: datetime
    # The earliest deadline still running and when it turns at risk; None when no
    # deadline runs (paused, decided, or closed without a decision).
    next_deadline: Deadline | None
    next_due_time: datetime | None
    at_risk_time: datetime | None


def paused_business_time(policy: SlaPolicy, clock: SlaClock, now: datetime) -> timedelta:
    """Business time paused so far, counting a pause still in progress up to `now`."""
    total = clock.paused_total
    if clock.paused_since is not None:
        total += policy.calendar.business_time_between(clock.paused_since, now)
    return total


def resume(policy: SlaPolicy, clock: SlaClock, now: datetime) -> SlaClock:
    """The clock after the candidate's reply ends the pause in progress."""
    if clock.paused_since is None:
        return clock
    return SlaClock(
        submit_time=clock.submit_time,
        acknowledge_time=clock.acknowledge_time,
        decide_time=clock.decide_time,
        first_interview_time=clock.first_interview_time,
        paused_total=paused_business_time(policy, clock, now),
        paused_since=None,
    )


def _risk_time(policy: SlaPolicy, start: datetime, due: datetime, paused: timedelta) -> datetime:
    cal = policy.calendar
    span = cal.business_time_between(start, due)
    window = span - paused
    if window <= timedelta(0):
        return start
    before_due = span - window * policy.at_risk_fraction
    return cal.add_business_time(start, max(before_due, timedelta(0)))


def schedule(policy: SlaPolicy, clock: SlaClock, state: State, now: datetime) -> SlaSchedule:
    cal = policy.calendar
    paused = paused_business_time(policy, clock, now)
    ack_due = cal.add_business_time(clock.submit_time, policy.acknowledge_within)
    decision_due = cal.add_business_time(clock.submit_time, policy.decide_within + paused)
    if clock.first_interview_time is not None:
        decision_due = min(decision_due, clock.first_interview_time)

    running: list[tuple[datetime, datetime, Deadline]] = []
    if state in UNDECIDED_STATES and clock.decide_time is None and clock.paused_since is None:
        if clock.acknowledge_time is None:
            ack_risk = _risk_time(policy, clock.submit_time, ack_due, timedelta(0))
            running.append((ack_due, ack_risk, Deadline.ACKNOWLEDGE))
        decision_risk = _risk_time(policy, clock.submit_time, decision_due, paused)
        running.append((decision_due, decision_risk, Deadline.DECIDE))
    if not running:
        return SlaSchedule(ack_due, decision_due, None, None, None)
    due, _, which = min(running, key=lambda item: item[0])
    return SlaSchedule(
        acknowledge_due=ack_due,
        decision_due=decision_due,
        next_deadline=which,
        next_due_time=due,
        at_risk_time=min(item[1] for item in running),
    )


def evaluate(policy: SlaPolicy, clock: SlaClock, state: State, now: datetime) -> SlaState:
    sched = schedule(policy, clock, state, now)
    return state_from_schedule(sched, clock, state, now)


def state_from_schedule(
    sched: SlaSchedule, clock: SlaClock, state: State, now: datetime
) -> SlaState:
    if clock.decide_time is not None:
        late_ack = clock.acknowledge_time is not None and clock.acknowledge_time > sched.acknowledge_due
        late_decision = clock.decide_time > sched.decision_due
        return SlaState.MISSED if (late_ack or late_decision) else SlaState.MET
    if state not in UNDECIDED_STATES:
        return SlaState.NOT_APPLICABLE
    if clock.paused_since is not None:
        return SlaState.PAUSED
    assert sched.next_due_time is not None and sched.at_risk_time is not None
    if now >= sched.next_due_time:
        return SlaState.OVERDUE
    if now >= sched.at_risk_time:
        return SlaState.AT_RISK
    return SlaState.ON_TRACK
