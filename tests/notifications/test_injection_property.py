"""Whatever text callers put in names, titles, places and notes, each email keeps exactly
its own headers, one recipient, one METHOD and its attendees: checked on arbitrary text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.notifications.domain import itip, text
from services.notifications.domain.compose import Sender, invite_emails
from services.notifications.domain.model import Method
from tests.notifications import factories
from tests.notifications.mail import calendar_bytes, event, parse

# Line breaks, quotes, separators and controls are over-represented on purpose.
NASTY = st.text(
    alphabet=st.one_of(
        st.sampled_from(list('\r\n\t\x00\x07\x1b\x0b\x0c\x85\u2028\u2029"\\;:,<>@^=')),
        st.characters(),
    ),
    max_size=80,
)
HEADERS = ["From", "Sender", "To", "Subject", "Date", "Message-ID", "Auto-Submitted",
           "MIME-Version", "Content-Type", "Content-Class"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(summary=NASTY, location=NASTY, name=NASTY, note=NASTY, title=NASTY,
       method=st.sampled_from(list(Method)))
def test_text_never_escapes_its_field(summary: str, location: str, name: str, note: str,
                                      title: str, method: Method) -> None:
    candidate = replace(factories.CANDIDATE, display_name=name, notes=(note,))
    agenda = (replace(factories.invite().agenda[0], title=title, interviewer_names=(name,),
                      location=location),)
    invite = factories.invite(summary=summary, location=location, organizer_name=name,
                              attendees=(candidate, factories.INTERVIEWER), agenda=agenda)
    for rendered in invite_emails(invite, method, Sender("s@example.com", "S"), "key",
                                  datetime(2026, 3, 1, tzinfo=UTC)):
        message = parse(rendered.raw)
        assert list(message.keys()) == HEADERS
        assert [a.addr_spec for a in message["To"].addresses] == [rendered.recipient]
        assert [a.addr_spec for a in message["From"].addresses] == ["coordinator@example.com"]
        data = calendar_bytes(message)
        itip.check(data, rendered.recipient, "coordinator@example.com")
        lines = [line for line in data.split(b"\r\n") if line and not line.startswith(b" ")]
        names = [line.split(b":")[0].split(b";")[0] for line in lines]
        assert names.count(b"METHOD") == 1 and names.count(b"ATTENDEE") == 2
        assert names.count(b"BEGIN") == names.count(b"END")
        vevent = event(message)
        # The cleaned text survives intact inside its own property.
        assert str(vevent["SUMMARY"]) == (text.one_line(summary, 200) or "Interview")
        assert message["Subject"].endswith(text.one_line(summary, 200) or "Interview")
