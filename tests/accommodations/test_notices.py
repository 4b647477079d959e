"""Contract: every email this service queues passes the notifications service's own
template check, and none carries more than the ticket's name, a decision label and times."""

from datetime import UTC, datetime

import pytest

from interviews.notifications.v1 import notifications_pb2
from services.accommodations import notices
from services.notifications.domain.templates import Template, check_parameters

WHEN = datetime(2026, 11, 3, 18, tzinfo=UTC)
T = "tickets/abc"
BUILT = [
    notices.new_ticket(T, "coord@example.com", WHEN),
    notices.acknowledged(T, "cand@example.com", WHEN),
    notices.information_requested(T, "cand@example.com", 3),
    *(notices.decided(T, "cand@example.com", outcome, 4 + outcome) for outcome in (1, 2, 3)),
    notices.sla_alert(T, "coord@example.com", "decide", "overdue", WHEN),
]


@pytest.mark.parametrize("built", BUILT, ids=lambda b: b[0])
def test_parameters_match_the_notifications_templates(built):
    key, payload = built
    request = notifications_pb2.SendMessageRequest.FromString(payload)
    assert request.idempotency_key == key
    name = notifications_pb2.MessageTemplate.Name(request.template).removeprefix("MESSAGE_TEMPLATE_").lower()
    assert check_parameters(Template(name), dict(request.parameters)) == []
    assert set(request.parameters) <= {"ticket", "decision", "due_time", "decide_by"}


def test_keys_are_distinct_per_event():
    keys = [k for k, _ in BUILT]
    assert len(set(keys)) == len(keys)
    assert notices.sla_alert(T, "a@x", "decide", "at_risk", WHEN)[0] != notices.sla_alert(T, "a@x", "decide", "overdue", WHEN)[0]
