"""Building the service's Desk directly on a test database, with a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet

from services.accommodations.crypto import TextCipher
from services.accommodations.domain.access import Role
from services.accommodations.domain.business_time import BusinessCalendar
from services.accommodations.domain.sla import SlaPolicy
from services.accommodations.tickets import Desk, NewTicket
from services.accommodations.views import Caller
from services.core.db import Database

COORDINATOR = Caller(Role.COORDINATOR, "coord@example.com")
RECRUITER = Caller(Role.RECRUITER, "rec@example.com")


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 18, tzinfo=UTC))  # Monday 10:00 LA

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def make_desk(clock: Clock, coordinators=("coord@example.com",), cipher: TextCipher | None = None) -> Desk:
    return Desk(
        cipher or TextCipher([Fernet.generate_key().decode()]),
        SlaPolicy(BusinessCalendar.of("America/Los_Angeles")),
        coordinators,
        clock,
    )


def new_ticket(candidate="candidates/c-1", office="", first_interview_time=None, reason="reason text") -> NewTicket:
    return NewTicket(
        candidate=candidate,
        candidate_email="cand@example.com",
        requested_adjustments=(1,),
        reason=reason,
        loop="",
        office=office,
        first_interview_time=first_interview_time,
    )


def submit(db: Database, desk: Desk, **kwargs) -> str:
    return db.run(lambda s: desk.submit(s, RECRUITER, new_ticket(**kwargs)))
