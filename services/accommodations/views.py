"""What the use cases return: plain dataclasses, already cut down to what the caller may
see (`fields`). The servicer maps them to protos; nothing here knows about gRPC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from services.accommodations.domain.access import Role
from services.accommodations.domain.constraints import Constraints
from services.accommodations.domain.lifecycle import State
from services.accommodations.domain.sla import SlaState


@dataclass(frozen=True)
class Caller:
    role: Role
    subject: str
    email: str | None = None
    # Why the caller reads or changes confidential data (the `x-justification` call
    # metadata); recorded on the audit events the call writes.
    why: str = ""

    @property
    def actor(self) -> str:
        return self.subject


@dataclass(frozen=True)
class SlaView:
    state: SlaState
    acknowledge_due_time: datetime
    decision_due_time: datetime
    acknowledge_time: datetime | None
    decide_time: datetime | None


@dataclass(frozen=True)
class DecisionView:
    outcome: int  # interviews.accommodations.v1.DecisionOutcome value
    constraints: Constraints | None
    candidate_message: str
    denial_reason: str
    alternatives_considered: tuple[str, ...]
    decided_by: str
    decide_time: datetime | None


@dataclass(frozen=True)
class TicketView:
    name: str
    candidate: str
    candidate_email: str
    submitted_by: str
    requested_adjustments: tuple[int, ...]
    reason: str  # empty unless "reason" is in fields
    loop: str
    office: str
    state: State
    assignee: str
    sla: SlaView
    first_interview_time: datetime | None
    decision: DecisionView | None
    legal_hold: bool
    hiring_decision_time: datetime | None
    etag: str
    create_time: datetime
    update_time: datetime
    close_time: datetime | None
    fields: frozenset[str]


@dataclass(frozen=True)
class MessageView:
    name: str
    author: str
    author_role: str
    visibility: int
    body: str
    create_time: datetime


@dataclass(frozen=True)
class AuditView:
    name: str
    actor: str
    actor_role: str
    action: str
    ticket: str
    fields: tuple[str, ...]
    justification: str
    create_time: datetime


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str
