"""Templated emails: accommodation ticket updates and interview reminders.

Parameters are a closed set per template, each with a kind that is checked, so a caller
cannot pass free text through (the reason for an accommodation must never reach an email;
the candidate reads details in the accommodations portal, which the `link` points at).

A reminder may name the invite it reminds of (`uid`, `sequence`): when that invite is
changed or cancelled before the reminder is due, the reminder is dropped (store.py), so
nobody is reminded of an interview that moved or no longer exists.
"""

from __future__ import annotations

import enum
import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.core.names import ID_PATTERN
from services.notifications.domain import text, timefmt
from services.notifications.domain.bodies import Bodies
from services.notifications.domain.model import Recipient
from services.notifications.domain.validation import UID, Violation, check_link

REMINDER_LEAD = timedelta(hours=24)

_TICKET = re.compile(rf"^tickets/{ID_PATTERN}$")


class Template(enum.Enum):
    TICKET_ACKNOWLEDGED = "ticket_acknowledged"
    INFORMATION_REQUESTED = "information_requested"
    TICKET_DECIDED = "ticket_decided"
    NEW_TICKET = "new_ticket"
    SLA_AT_RISK = "sla_at_risk"
    INTERVIEW_REMINDER = "interview_reminder"


class Kind(enum.Enum):
    TICKET = "a ticket name, tickets/{ticket}"
    TIME = "an RFC 3339 time with an offset"
    LINK = "an http(s) URL"
    DECISION = "one of approved, alternative_offered, denied"
    LINE = "one line of text, at most 200 characters"
    UID = "an invite UID (A-Z a-z 0-9 @ . _ : / + = -)"
    COUNT = "a whole number from 0"


_DECISIONS = {
    "approved": "Your accommodation request has been approved. Your interviews will be "
    "scheduled with the adjustments agreed with you.",
    "alternative_offered": "We have proposed an alternative arrangement for your interviews. "
    "Please review it and tell us whether it works for you.",
    "denied": "We were not able to approve your request as submitted. A coordinator will "
    "contact you to discuss the alternatives that were considered.",
}


@dataclass(frozen=True)
class Spec:
    required: Mapping[str, Kind]
    optional: Mapping[str, Kind]


SPECS: dict[Template, Spec] = {
    Template.TICKET_ACKNOWLEDGED: Spec(
        {"ticket": Kind.TICKET}, {"decide_by": Kind.TIME, "link": Kind.LINK}
    ),
    Template.INFORMATION_REQUESTED: Spec(
        {"ticket": Kind.TICKET}, {"respond_by": Kind.TIME, "link": Kind.LINK}
    ),
    Template.TICKET_DECIDED: Spec(
        {"ticket": Kind.TICKET, "decision": Kind.DECISION}, {"link": Kind.LINK}
    ),
    Template.NEW_TICKET: Spec({"ticket": Kind.TICKET}, {"due_time": Kind.TIME, "link": Kind.LINK}),
    Template.SLA_AT_RISK: Spec(
        {"ticket": Kind.TICKET, "due_time": Kind.TIME}, {"link": Kind.LINK}
    ),
    Template.INTERVIEW_REMINDER: Spec(
        {"interview_time": Kind.TIME},
        {"summary": Kind.LINE, "location": Kind.LINE, "video_link": Kind.LINK,
         "uid": Kind.UID, "sequence": Kind.COUNT},
    ),
}


def parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return timefmt.utc(moment) if moment.tzinfo else None


def _kind_ok(kind: Kind, value: str) -> bool:
    match kind:
        case Kind.TICKET:
            return bool(_TICKET.match(value))
        case Kind.TIME:
            return parse_time(value) is not None
        case Kind.LINK:
            return bool(value) and not check_link(value, "")
        case Kind.DECISION:
            return value in _DECISIONS
        case Kind.LINE:
            return len(value) <= 200 and text.one_line(value) == value.strip()
        case Kind.UID:
            return bool(UID.match(value))
        case Kind.COUNT:
            return value.isascii() and value.isdigit() and len(value) <= 9


def check_parameters(
    template: Template, parameters: Mapping[str, str], field: str = "parameters"
) -> list[Violation]:
    spec = SPECS[template]
    out = [
        Violation(f"{field}[{name}]", f"is required: {kind.value}")
        for name, kind in spec.required.items()
        if name not in parameters
    ]
    allowed = {**spec.required, **spec.optional}
    for name in sorted(parameters):
        if name not in allowed:
            out.append(Violation(f"{field}[{name}]", f"is not a parameter of {template.name}"))
        elif not _kind_ok(allowed[name], parameters[name]):
            out.append(Violation(f"{field}[{name}]", f"must be {allowed[name].value}"))
    return out


def check_timing(template: Template, parameters: Mapping[str, str], now: datetime) -> list[Violation]:
    """A reminder for an interview that has already started is refused, not sent late."""
    if template is Template.INTERVIEW_REMINDER:
        interview = parse_time(parameters["interview_time"])
        if interview is not None and interview <= now:
            return [Violation("parameters[interview_time]", "is in the past")]
    return []


def due_time(template: Template, parameters: Mapping[str, str], now: datetime) -> datetime:
    """When the email should go out: reminders 24 h before the interview, others now."""
    if template is Template.INTERVIEW_REMINDER:
        interview = parse_time(parameters["interview_time"])
        assert interview is not None  # checked by check_parameters
        return max(now, interview - REMINDER_LEAD)
    return now


def reminded_invite(template: Template, parameters: Mapping[str, str]) -> tuple[str, int]:
    """(UID, SEQUENCE) of the invite a reminder belongs to, or ("", 0)."""
    if template is not Template.INTERVIEW_REMINDER or "uid" not in parameters:
        return "", 0
    return parameters["uid"], int(parameters.get("sequence", "0"))


_Content = tuple[str, list[str], list[tuple[str, str]]]  # subject, paragraphs, (label, link)


def _when(parameters: Mapping[str, str], name: str, zone: str) -> str:
    moment = parse_time(parameters[name])
    assert moment is not None
    return timefmt.instant(moment, zone)


def _content(
    template: Template, p: Mapping[str, str], zone: str
) -> _Content:
    ticket = p.get("ticket", "")
    links = [("Open the request", p["link"])] if "link" in p else []
    builders: dict[Template, Callable[[], _Content]] = {
        Template.TICKET_ACKNOWLEDGED: lambda: (
            "We received your accommodation request",
            [
                f"Thank you. We received your accommodation request ({ticket}).",
                "A coordinator will review it and contact you if anything is unclear."
                + (f" We aim to decide by {_when(p, 'decide_by', zone)}." if "decide_by" in p
                   else ""),
            ],
            links,
        ),
        Template.INFORMATION_REQUESTED: lambda: (
            "We need a little more information about your request",
            [
                f"A coordinator has a question about your accommodation request ({ticket}).",
                "Please sign in to read it and reply."
                + (f" A reply by {_when(p, 'respond_by', zone)} helps us keep to your "
                   "interview dates." if "respond_by" in p else ""),
                "Your request stays open while we wait; it is never declined for a late reply.",
            ],
            links,
        ),
        Template.TICKET_DECIDED: lambda: (
            "A decision on your accommodation request",
            [f"We have decided on your accommodation request ({ticket}).",
             _DECISIONS[p["decision"]]],
            links,
        ),
        Template.NEW_TICKET: lambda: (
            f"New accommodation request {ticket}",
            [f"A new accommodation request ({ticket}) is waiting for triage."]
            + ([f"Acknowledge it by {_when(p, 'due_time', zone)}."] if "due_time" in p else []),
            links,
        ),
        Template.SLA_AT_RISK: lambda: (
            f"Due soon: accommodation request {ticket}",
            [f"Accommodation request {ticket} is due by {_when(p, 'due_time', zone)}.",
             "Please act on it before then."],
            links,
        ),
        Template.INTERVIEW_REMINDER: lambda: (
            f"Reminder: {text.one_line(p.get('summary', '')) or 'your interview'}, "
            f"{_when(p, 'interview_time', zone)}",
            [f"This is a reminder of {text.one_line(p.get('summary', '')) or 'your interview'} "
             f"on {_when(p, 'interview_time', zone)}."]
            + ([f"Where: {text.one_line(p['location'])}"] if p.get("location") else []),
            [("Video link", p["video_link"])] if "video_link" in p else [],
        ),
    }
    return builders[template]()


def render(template: Template, recipient: Recipient, parameters: Mapping[str, str]) -> Bodies:
    """Subject and bodies; `parameters` must have passed `check_parameters`."""
    subject, paras, links = _content(template, parameters, recipient.time_zone)
    name = text.display_name(recipient.display_name)
    greeting = f"Hello {name}," if name else "Hello,"
    plain = [greeting, ""]
    for para in paras:
        plain += [para, ""]
    plain += [f"{label}: {link}" for label, link in links]
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"></head><body>',
        f"<p>{esc(greeting)}</p>",
        *(f"<p>{esc(para)}</p>" for para in paras),
        *(f'<p><a href="{esc(link, quote=True)}">{esc(label)}</a></p>' for label, link in links),
        "</body></html>",
    ]
    return Bodies(text.one_line(subject, 250), "\n".join(plain).rstrip() + "\n", "\n".join(parts))
