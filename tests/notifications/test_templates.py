"""Templated emails: closed parameter sets, the recipient's zone, reminder timing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.domain import templates
from services.notifications.domain.compose import Sender, message_email
from services.notifications.domain.model import Recipient
from services.notifications.domain.templates import Template
from tests.notifications.mail import parse, parts

CANDIDATE = Recipient("ada@example.com", "Ada", "Asia/Kolkata")
GOOD = {
    Template.TICKET_ACKNOWLEDGED: {"ticket": "tickets/t1", "decide_by": "2026-03-05T17:00:00Z"},
    Template.INFORMATION_REQUESTED: {"ticket": "tickets/t1", "link": "https://portal.example.com/t1"},
    Template.TICKET_DECIDED: {"ticket": "tickets/t1", "decision": "approved"},
    Template.NEW_TICKET: {"ticket": "tickets/t1"},
    Template.SLA_AT_RISK: {"ticket": "tickets/t1", "due_time": "2026-03-05T17:00:00+00:00"},
    Template.INTERVIEW_REMINDER: {"interview_time": "2026-03-10T17:00:00Z",
                                  "summary": "Coding interview",
                                  "video_link": "https://meet.example.com/x"},
}


@pytest.mark.parametrize("template", list(Template))
def test_every_template_renders_plain_and_html(template: Template) -> None:
    assert templates.check_parameters(template, GOOD[template]) == []
    rendered = message_email(template, CANDIDATE, GOOD[template],
                             Sender("s@example.com", "Scheduling"), "key", datetime.now(UTC))
    message = parse(rendered.raw)
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] and message["Message-ID"] == rendered.message_id
    assert "Hello Ada," in parts(message)["text/plain"].get_content()


def test_times_are_shown_in_the_recipients_zone() -> None:
    bodies = templates.render(Template.SLA_AT_RISK, CANDIDATE, GOOD[Template.SLA_AT_RISK])
    assert "22:30 IST (Asia/Kolkata)" in bodies.plain


def test_parameters_are_a_closed_checked_set() -> None:
    check = templates.check_parameters
    assert [v.field for v in check(Template.TICKET_DECIDED, {"ticket": "tickets/t1"})] == [
        "parameters[decision]"]
    assert check(Template.TICKET_DECIDED, {"ticket": "tickets/t1", "decision": "maybe"})
    # No free text can ride along: an unknown parameter (e.g. a reason) is refused.
    assert check(Template.NEW_TICKET, {"ticket": "tickets/t1", "reason": "private"})
    assert check(Template.NEW_TICKET, {"ticket": "tickets/T1\r\nBcc: x@y.z"})
    assert check(Template.SLA_AT_RISK, {"ticket": "tickets/t1", "due_time": "2026-03-05 17:00"})
    assert check(Template.INTERVIEW_REMINDER, {"interview_time": "2026-03-10T17:00:00Z",
                                               "summary": "a\nb"})
    assert check(Template.INFORMATION_REQUESTED, {"ticket": "tickets/t1",
                                                  "link": "javascript:alert(1)"})
    reminder = {"interview_time": "2026-03-10T17:00:00Z"}
    assert check(Template.INTERVIEW_REMINDER, {**reminder, "uid": "a b"})
    assert check(Template.INTERVIEW_REMINDER, {**reminder, "uid": "u@x", "sequence": "-1"})
    assert check(Template.INTERVIEW_REMINDER, {**reminder, "uid": "u@x", "sequence": "١"})
    assert not check(Template.INTERVIEW_REMINDER, {**reminder, "uid": "u@x", "sequence": "3"})


def test_reminder_names_its_invite_and_refuses_a_past_interview() -> None:
    params = {"interview_time": "2026-03-10T17:00:00Z", "uid": "s1@interviews", "sequence": "2"}
    assert templates.reminded_invite(Template.INTERVIEW_REMINDER, params) == ("s1@interviews", 2)
    assert templates.reminded_invite(Template.NEW_TICKET, {"ticket": "tickets/t1"}) == ("", 0)
    assert templates.check_timing(Template.INTERVIEW_REMINDER, params,
                                  datetime(2026, 3, 10, 16, 59, tzinfo=UTC)) == []
    assert templates.check_timing(Template.INTERVIEW_REMINDER, params,
                                  datetime(2026, 3, 10, 17, 0, tzinfo=UTC))
    subject = templates.render(Template.INTERVIEW_REMINDER, CANDIDATE, params).subject
    assert subject == "Reminder: your interview, Tuesday 10 March 2026, 22:30 IST (Asia/Kolkata)"


def test_reminder_is_due_24_hours_before_and_others_now() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    params = GOOD[Template.INTERVIEW_REMINDER]
    assert templates.due_time(Template.INTERVIEW_REMINDER, params, now) == datetime(
        2026, 3, 9, 17, tzinfo=UTC)
    late = datetime(2026, 3, 10, 9, tzinfo=UTC)
    assert templates.due_time(Template.INTERVIEW_REMINDER, params, late) == late
    assert templates.due_time(Template.NEW_TICKET, {"ticket": "tickets/t1"}, now) == now
    assert templates.REMINDER_LEAD == timedelta(hours=24)


def test_recipient_name_cannot_add_headers() -> None:
    evil = Recipient("ada@example.com", 'Ada", Bcc: spy@evil.example\r\nBcc: spy@evil.example', "")
    rendered = message_email(Template.NEW_TICKET, evil, {"ticket": "tickets/t1"},
                             Sender("s@example.com", "Scheduling"), "key", datetime.now(UTC))
    message = parse(rendered.raw)
    assert message["Bcc"] is None
    assert [a.addr_spec for a in message["To"].addresses] == ["ada@example.com"]
