"""Retention: closed tickets are kept 4 years after the hiring decision, then purged,
unless under legal hold (California Gov. Code 12946 keeps them that long).

A candidate's deletion request (CCPA/CPRA) deletes what the law does not require us to
keep: see deletion_verdict.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from services.accommodations.domain.lifecycle import State

RETENTION_YEARS = 4


def add_years(instant: datetime, years: int) -> datetime:
    try:
        return instant.replace(year=instant.year + years)
    except ValueError:  # 29 February into a non-leap year: the day after
        return instant.replace(year=instant.year + years, month=3, day=1)


@dataclass(frozen=True)
class RetentionFacts:
    state: State
    legal_hold: bool
    hiring_decision_time: datetime | None
    close_time: datetime | None
    # Whether a decision (approval, alternative or denial) was ever made.
    decided: bool = False


def retention_start(facts: RetentionFacts) -> datetime | None:
    """The hiring decision; when none was recorded, the close of the ticket."""
    return facts.hiring_decision_time or facts.close_time


def purge_after(facts: RetentionFacts) -> datetime | None:
    start = retention_start(facts)
    return None if start is None else add_years(start, RETENTION_YEARS)


def purgeable(facts: RetentionFacts, now: datetime) -> bool:
    """Purged by the retention job: closed, past retention, not on legal hold."""
    if facts.state is not State.CLOSED or facts.legal_hold:
        return False
    after = purge_after(facts)
    return after is not None and now >= after


class DeletionVerdict(enum.Enum):
    DELETE = "delete"
    KEEP_LEGAL_HOLD = "legal_hold"
    KEEP_RETENTION = "retention_period"


def deletion_verdict(facts: RetentionFacts, now: datetime) -> DeletionVerdict:
    """What a candidate's deletion request does to one of their tickets.

    A decided ticket is a record of an employment decision and is kept for the retention
    period (counted from the hiring decision, or from the close when there is none yet;
    a decided ticket that is still open is kept). An undecided request (never approved,
    offered or denied) is not such a record and is deleted at once. Legal hold keeps all.
    """
    if facts.legal_hold:
        return DeletionVerdict.KEEP_LEGAL_HOLD
    if not facts.decided:
        return DeletionVerdict.DELETE
    after = purge_after(facts)
    if after is not None and now >= after:
        return DeletionVerdict.DELETE
    return DeletionVerdict.KEEP_RETENTION
