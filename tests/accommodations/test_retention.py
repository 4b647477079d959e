"""Retention and deletion rules."""

from datetime import datetime, timezone

from services.accommodations.domain.lifecycle import State
from services.accommodations.domain.retention import (
    DeletionVerdict,
    RetentionFacts,
    add_years,
    deletion_verdict,
    purgeable,
)

HIRED = datetime(2026, 3, 1, tzinfo=timezone.utc)


def facts(state=State.CLOSED, hold=False, hired=HIRED, closed=HIRED, decided=True):
    return RetentionFacts(state, hold, hired, closed, decided)


def test_purged_four_years_after_hiring_decision():
    assert not purgeable(facts(), datetime(2030, 2, 28, tzinfo=timezone.utc))
    assert purgeable(facts(), datetime(2030, 3, 1, tzinfo=timezone.utc))


def test_legal_hold_and_open_tickets_are_never_purged():
    later = datetime(2040, 1, 1, tzinfo=timezone.utc)
    assert not purgeable(facts(hold=True), later)
    assert not purgeable(facts(state=State.FULFILLED), later)


def test_without_hiring_decision_retention_counts_from_close():
    assert purgeable(facts(hired=None, closed=datetime(2026, 1, 1, tzinfo=timezone.utc)),
                     datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert not purgeable(facts(hired=None, closed=None), datetime(2040, 1, 1, tzinfo=timezone.utc))


def test_leap_day():
    assert add_years(datetime(2028, 2, 29, tzinfo=timezone.utc), 4) == datetime(2032, 2, 29, tzinfo=timezone.utc)
    assert add_years(datetime(2028, 2, 29, tzinfo=timezone.utc), 1) == datetime(2029, 3, 1, tzinfo=timezone.utc)


def test_deletion_request():
    now = datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert deletion_verdict(facts(state=State.SUBMITTED, hired=None, closed=None, decided=False), now) is DeletionVerdict.DELETE
    assert deletion_verdict(facts(state=State.WITHDRAWN, hired=None, closed=None, decided=False), now) is DeletionVerdict.DELETE
    assert deletion_verdict(facts(), now) is DeletionVerdict.KEEP_RETENTION
    assert deletion_verdict(facts(state=State.ACTIVE, hired=None, closed=None), now) is DeletionVerdict.KEEP_RETENTION
    assert deletion_verdict(facts(hold=True, decided=False), now) is DeletionVerdict.KEEP_LEGAL_HOLD
    assert deletion_verdict(facts(), datetime(2031, 1, 1, tzinfo=timezone.utc)) is DeletionVerdict.DELETE
