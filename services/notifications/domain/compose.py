"""From a request to the exact emails to send: one per recipient, checked before storing.

Rendering happens once, when the request is accepted, and the bytes are stored: every
retry sends the same Message-ID, Date and content, so a receiver (or a test) can tell a
resend from a new message, and a template change never alters a message already queued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from services.notifications.domain import bodies, itip, mime, templates
from services.notifications.domain.invite import build_calendar
from services.notifications.domain.model import Invite, Method, Recipient, RenderedEmail


@dataclass(frozen=True)
class Sender:
    """Who mail comes from: MAIL_FROM is the envelope sender and the default organizer."""

    mail_from: str
    mail_from_name: str

    @property
    def domain(self) -> str:
        return self.mail_from.rpartition("@")[2] or "localhost"


def invite_emails(
    invite: Invite, method: Method, sender: Sender, idempotency_key: str, now: datetime
) -> list[RenderedEmail]:
    """One iMIP email per attendee; raises itip.ItipError before anything is stored."""
    organizer = invite.organizer_email or sender.mail_from
    organizer_name = invite.organizer_name or sender.mail_from_name
    invite_for_calendar = replace(invite, organizer_email=organizer, organizer_name=organizer_name)
    out = []
    for attendee in invite.attendees:
        text_parts = bodies.render(invite, method, attendee)
        calendar = build_calendar(
            invite_for_calendar, method, attendee, organizer, text_parts.plain, now
        ).to_ical()
        itip.check(calendar, attendee.email, organizer)
        msg_id = mime.message_id(idempotency_key, attendee.email, sender.domain)
        raw = mime.assemble(
            from_email=organizer,
            from_name=organizer_name,
            sender=sender.mail_from,
            to_email=attendee.email,
            to_name=attendee.display_name,
            subject=text_parts.subject,
            plain=text_parts.plain,
            html=text_parts.html,
            msg_id=msg_id,
            date=now,
            calendar=calendar,
            method=method.value,
        )
        out.append(
            RenderedEmail(
                recipient=attendee.email,
                message_id=msg_id,
                subject=text_parts.subject,
                raw=raw,
                uid=invite.uid,
                sequence=invite.sequence,
            )
        )
    return out


def message_email(
    template: templates.Template,
    recipient: Recipient,
    parameters: Mapping[str, str],
    sender: Sender,
    idempotency_key: str,
    now: datetime,
) -> RenderedEmail:
    text_parts = templates.render(template, recipient, parameters)
    msg_id = mime.message_id(idempotency_key, recipient.email, sender.domain)
    raw = mime.assemble(
        from_email=sender.mail_from,
        from_name=sender.mail_from_name,
        to_email=recipient.email,
        to_name=recipient.display_name,
        subject=text_parts.subject,
        plain=text_parts.plain,
        html=text_parts.html,
        msg_id=msg_id,
        date=now,
    )
    uid, sequence = templates.reminded_invite(template, parameters)
    return RenderedEmail(
        recipient=recipient.email, message_id=msg_id, subject=text_parts.subject, raw=raw,
        uid=uid, sequence=sequence,
    )
