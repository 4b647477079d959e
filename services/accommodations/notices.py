"""The emails and calls this service sends, as outbox payloads.

An email names the ticket and what happened, never the reason, the messages or the
decision's texts: the candidate reads those in the product, where reads are audited.
Each payload has an idempotency key made of the ticket and the event, so a retried
transaction or a second replica never sends twice.
"""

from __future__ import annotations

from datetime import datetime

from interviews.notifications.v1 import notifications_pb2 as n
from interviews.scheduling.v1 import scheduling_pb2

T = n.MessageTemplate

DECISION_LABELS = {1: "approved", 2: "alternative_offered", 3: "denied"}


def _email(key: str, template: int, recipient: str, parameters: dict[str, str]) -> tuple[str, bytes]:
    request = n.SendMessageRequest(
        idempotency_key=key,
        template=template,  # type: ignore[arg-type]
        recipient=n.Recipient(email=recipient),
        parameters=parameters,
    )
    return key, request.SerializeToString(deterministic=True)


def new_ticket(ticket: str, coordinator: str, acknowledge_due: datetime) -> tuple[str, bytes]:
    return _email(
        f"{ticket}:new:{coordinator}",
        T.MESSAGE_TEMPLATE_NEW_TICKET,
        coordinator,
        {"ticket": ticket, "due_time": acknowledge_due.isoformat()},
    )


def acknowledged(ticket: str, candidate_email: str, decision_due: datetime) -> tuple[str, bytes]:
    return _email(
        f"{ticket}:acknowledged",
        T.MESSAGE_TEMPLATE_TICKET_ACKNOWLEDGED,
        candidate_email,
        {"ticket": ticket, "decide_by": decision_due.isoformat()},
    )


def information_requested(ticket: str, candidate_email: str, version: int) -> tuple[str, bytes]:
    # No "respond_by": a missing reply never ends the request, so there is no deadline.
    return _email(
        f"{ticket}:information-requested:{version}",
        T.MESSAGE_TEMPLATE_INFORMATION_REQUESTED,
        candidate_email,
        {"ticket": ticket},
    )


def decided(ticket: str, candidate_email: str, outcome: int, version: int) -> tuple[str, bytes]:
    return _email(
        f"{ticket}:decided:{version}",
        T.MESSAGE_TEMPLATE_TICKET_DECIDED,
        candidate_email,
        {"ticket": ticket, "decision": DECISION_LABELS[outcome]},
    )


def sla_alert(ticket: str, coordinator: str, deadline: str, sla_state: str, due: datetime) -> tuple[str, bytes]:
    # One email per ticket, deadline, state and recipient, whichever replica sweeps first.
    # The template shows the due time (past when overdue); the key tells the states apart.
    return _email(
        f"{ticket}:sla:{deadline}:{sla_state}:{coordinator}",
        T.MESSAGE_TEMPLATE_SLA_AT_RISK,
        coordinator,
        {"ticket": ticket, "due_time": due.isoformat()},
    )


def revalidate(candidate: str, ticket: str, version: int) -> tuple[str, bytes]:
    request = scheduling_pb2.RevalidateCandidateLoopsRequest(candidate=candidate)
    return f"revalidate:{ticket}:{version}", request.SerializeToString(deterministic=True)
