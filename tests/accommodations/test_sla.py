"""SLA deadlines and states: weekends, holidays, the candidate pause, the interview rule."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.accommodations.domain.business_time import DAY, BusinessCalendar
from services.accommodations.domain.lifecycle import State
from services.accommodations.domain.sla import (
    Deadline,
    SlaClock,
    SlaPolicy,
    SlaState,
    evaluate,
    paused_business_time,
    resume,
    schedule,
)

LA = ZoneInfo("America/Los_Angeles")
POLICY = SlaPolicy(BusinessCalendar.of("America/Los_Angeles", [date(2026, 11, 26), date(2026, 11, 27)]))


def la(*args):
    return datetime(*args, tzinfo=LA)


MONDAY_10 = la(2026, 11, 2, 10)


def test_deadlines_for_a_plain_week():
    sched = schedule(POLICY, SlaClock(MONDAY_10), State.SUBMITTED, MONDAY_10)
    assert sched.acknowledge_due == la(2026, 11, 3, 10)
    assert sched.decision_due == la(2026, 11, 9, 10)
    assert sched.next_deadline is Deadline.ACKNOWLEDGE and sched.next_due_time == la(2026, 11, 3, 10)
    # 25% of one business day is 6 hours.
    assert sched.at_risk_time == la(2026, 11, 3, 4)


def test_friday_submission_skips_the_weekend():
    fri = la(2026, 11, 6, 16)
    sched = schedule(POLICY, SlaClock(fri), State.SUBMITTED, fri)
    assert sched.acknowledge_due == la(2026, 11, 9, 16)
    assert sched.decision_due == la(2026, 11, 13, 16)


def test_holidays_skip():
    wed = la(2026, 11, 25, 9)
    sched = schedule(POLICY, SlaClock(wed), State.SUBMITTED, wed)
    assert sched.acknowledge_due == la(2026, 11, 30, 9)
    assert sched.decision_due == la(2026, 12, 4, 9)


def test_states_over_time_for_acknowledgement():
    clock = SlaClock(MONDAY_10)
    assert evaluate(POLICY, clock, State.SUBMITTED, la(2026, 11, 2, 11)) is SlaState.ON_TRACK
    assert evaluate(POLICY, clock, State.SUBMITTED, la(2026, 11, 3, 4)) is SlaState.AT_RISK
    assert evaluate(POLICY, clock, State.SUBMITTED, la(2026, 11, 3, 10)) is SlaState.OVERDUE


def test_decision_at_risk_in_the_last_quarter():
    clock = SlaClock(MONDAY_10, acknowledge_time=la(2026, 11, 2, 12))
    sched = schedule(POLICY, clock, State.IN_REVIEW, MONDAY_10)
    assert sched.next_deadline is Deadline.DECIDE
    # 25% of 5 days = 30 business hours before Monday 9th 10:00: Monday's first 10 hours,
    # then 20 of Friday's 24 (the weekend does not count) -> Friday 6th 04:00.
    assert sched.at_risk_time == la(2026, 11, 6, 4)
    assert evaluate(POLICY, clock, State.IN_REVIEW, la(2026, 11, 6, 3)) is SlaState.ON_TRACK
    assert evaluate(POLICY, clock, State.IN_REVIEW, la(2026, 11, 6, 9)) is SlaState.AT_RISK
    assert evaluate(POLICY, clock, State.IN_REVIEW, la(2026, 11, 9, 10)) is SlaState.OVERDUE


def test_pause_shifts_the_decision_by_paused_business_time():
    acked = SlaClock(MONDAY_10, acknowledge_time=la(2026, 11, 2, 11))
    # Paused from Thursday 12:00 to the next Tuesday 12:00: Thursday and Friday afternoons /
    # mornings plus Monday, i.e. 3 business days (the weekend does not count).
    paused = SlaClock(MONDAY_10, acknowledge_time=acked.acknowledge_time, paused_since=la(2026, 11, 5, 12))
    during = la(2026, 11, 9, 9)
    assert evaluate(POLICY, paused, State.AWAITING_CANDIDATE, during) is SlaState.PAUSED
    resumed = resume(POLICY, paused, la(2026, 11, 10, 12))
    assert resumed.paused_since is None and resumed.paused_total == 3 * DAY
    sched = schedule(POLICY, resumed, State.IN_REVIEW, la(2026, 11, 10, 12))
    assert sched.decision_due == la(2026, 11, 12, 10)  # Monday 9th + 3 business days


def test_missing_reply_never_turns_overdue():
    paused = SlaClock(MONDAY_10, acknowledge_time=la(2026, 11, 2, 11), paused_since=la(2026, 11, 3, 9))
    months_later = la(2027, 3, 1, 9)
    assert evaluate(POLICY, paused, State.AWAITING_CANDIDATE, months_later) is SlaState.PAUSED
    sched = schedule(POLICY, paused, State.AWAITING_CANDIDATE, months_later)
    assert sched.next_due_time is None and sched.decision_due > months_later


def test_first_interview_cuts_the_decision_deadline():
    interview = la(2026, 11, 4, 9)
    clock = SlaClock(MONDAY_10, acknowledge_time=la(2026, 11, 2, 11), first_interview_time=interview)
    sched = schedule(POLICY, clock, State.IN_REVIEW, MONDAY_10)
    assert sched.decision_due == interview
    # Window: Monday 10:00 -> Wednesday 09:00 = 47 business hours; at risk in the last 11.75h.
    assert sched.at_risk_time == interview - timedelta(hours=11.75)


def test_interview_is_not_moved_by_a_pause():
    interview = la(2026, 11, 6, 9)
    clock = SlaClock(
        MONDAY_10,
        acknowledge_time=la(2026, 11, 2, 11),
        first_interview_time=interview,
        paused_total=2 * DAY,
    )
    assert schedule(POLICY, clock, State.IN_REVIEW, la(2026, 11, 5, 9)).decision_due == interview


def test_interview_before_acknowledgement_deadline_comes_first():
    interview = la(2026, 11, 2, 16)
    sched = schedule(POLICY, SlaClock(MONDAY_10, first_interview_time=interview), State.SUBMITTED, MONDAY_10)
    assert sched.next_deadline is Deadline.DECIDE and sched.next_due_time == interview


def test_met_and_missed():
    on_time = SlaClock(MONDAY_10, la(2026, 11, 2, 12), decide_time=la(2026, 11, 6, 12))
    late = SlaClock(MONDAY_10, la(2026, 11, 2, 12), decide_time=la(2026, 11, 10, 12))
    late_ack = SlaClock(MONDAY_10, la(2026, 11, 4, 12), decide_time=la(2026, 11, 5, 12))
    assert evaluate(POLICY, on_time, State.APPROVED, la(2026, 12, 1)) is SlaState.MET
    assert evaluate(POLICY, late, State.DENIED, la(2026, 12, 1)) is SlaState.MISSED
    assert evaluate(POLICY, late_ack, State.APPROVED, la(2026, 12, 1)) is SlaState.MISSED


def test_withdrawn_before_decision_has_no_sla():
    clock = SlaClock(MONDAY_10)
    assert evaluate(POLICY, clock, State.WITHDRAWN, la(2026, 12, 1)) is SlaState.NOT_APPLICABLE


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(timezone.utc)
)
spans = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))


@given(instants, spans, spans)
def test_state_only_gets_worse_as_time_passes(submit, a, b):
    clock = SlaClock(submit)
    order = [SlaState.ON_TRACK, SlaState.AT_RISK, SlaState.OVERDUE]
    early, late = sorted([a, b])
    s1 = evaluate(POLICY, clock, State.SUBMITTED, submit + early)
    s2 = evaluate(POLICY, clock, State.SUBMITTED, submit + late)
    assert order.index(s1) <= order.index(s2)


@given(instants, spans, spans)
def test_pause_moves_the_decision_by_exactly_the_paused_business_time(submit, start_after, length):
    cal = POLICY.calendar
    pause_start = submit + start_after
    pause_end = pause_start + length
    clock = SlaClock(submit, acknowledge_time=submit, paused_since=pause_start)
    resumed = resume(POLICY, clock, pause_end)
    paused = cal.business_time_between(pause_start, pause_end)
    assert resumed.paused_total == paused == paused_business_time(POLICY, clock, pause_end)
    base = schedule(POLICY, SlaClock(submit, acknowledge_time=submit), State.IN_REVIEW, submit)
    shifted = schedule(POLICY, resumed, State.IN_REVIEW, pause_end)
    assert shifted.decision_due >= base.decision_due
    assert cal.business_time_between(base.decision_due, shifted.decision_due) == paused
    assert cal.business_time_between(submit, shifted.decision_due) == 5 * DAY + paused


@given(instants, st.timedeltas(min_value=timedelta(hours=1), max_value=timedelta(days=30)))
def test_decision_due_never_after_the_interview(submit, until_interview):
    clock = SlaClock(submit, first_interview_time=submit + until_interview)
    sched = schedule(POLICY, clock, State.TRIAGED, submit)
    assert sched.decision_due <= submit + until_interview
    assert sched.at_risk_time <= sched.next_due_time


def test_policy_rejects_a_silly_fraction():
    with pytest.raises(ValueError):
        SlaPolicy(at_risk_fraction=1.5)
