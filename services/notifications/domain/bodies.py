"""The human-readable parts of an invite email, per recipient, in the recipient's zone.

What each person may see is decided here and only here:
- the candidate: their session, the whole loop agenda and the logistics;
- an interviewer or observer: their session and the notes addressed to them (the
  adjustment that affects the session, e.g. "Session extended by 15 minutes"), never the
  agenda of other sessions and never a reason;
- nobody: the cancellation reason or any other internal text (it is not an input here).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from services.notifications.domain import text, timefmt
from services.notifications.domain.model import Attendee, Invite, Method, Role


@dataclass(frozen=True)
class Bodies:
    subject: str
    plain: str
    html: str


@dataclass(frozen=True)
class _Section:
    heading: str
    lines: tuple[str, ...]
    links: tuple[str, ...] = ()


def _sections(invite: Invite, method: Method, recipient: Attendee) -> list[_Section]:
    zone = recipient.time_zone
    out = [_Section("When", (timefmt.span(invite.start, invite.end, zone),))]
    location = text.one_line(invite.location)
    if location:
        out.append(_Section("Where", (location,)))
    if invite.video_link:
        out.append(_Section("Video link", (), (invite.video_link,)))
    if method is Method.CANCEL:
        return out
    if recipient.role is Role.CANDIDATE and invite.agenda:
        lines = []
        for item in sorted(invite.agenda, key=lambda a: a.start):
            line = f"{timefmt.span(item.start, item.end, zone)}: {text.one_line(item.title)}"
            names = ", ".join(text.display_name(n) for n in item.interviewer_names if n.strip())
            if names:
                line += f" with {names}"
            if item.location.strip():
                line += f" ({text.one_line(item.location)})"
            lines.append(line)
        out.append(_Section("Your interview day", tuple(lines)))
    notes = tuple(n for n in (text.one_line(n) for n in recipient.notes) if n)
    if notes:
        heading = (
            "Arrangements for you"
            if recipient.role is Role.CANDIDATE
            else "Adjustments for this session"
        )
        out.append(_Section(heading, notes))
    return out


def _subject(invite: Invite, method: Method) -> str:
    summary = text.one_line(invite.summary, 200) or "Interview"
    if method is Method.CANCEL:
        return f"Cancelled: {summary}"
    if invite.sequence > 0:
        return f"Updated: {summary}"
    return f"Invitation: {summary}"


def _lead(invite: Invite, method: Method) -> str:
    if method is Method.CANCEL:
        return "This interview has been cancelled. It is removed from your calendar."
    if invite.sequence > 0:
        return "This interview has changed. Your calendar shows the new details."
    return "You are invited to this interview."


def render(invite: Invite, method: Method, recipient: Attendee) -> Bodies:
    name = text.display_name(recipient.display_name)
    greeting = f"Hello {name}," if name else "Hello,"
    summary = text.one_line(invite.summary, 200) or "Interview"
    sections = _sections(invite, method, recipient)

    plain = [greeting, "", _lead(invite, method), "", summary, ""]
    for section in sections:
        plain.append(f"{section.heading}:")
        plain += [f"  {line}" for line in section.lines]
        plain += [f"  {link}" for link in section.links]
        plain.append("")

    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"></head><body>',
        f"<p>{esc(greeting)}</p>",
        f"<p>{esc(_lead(invite, method))}</p>",
        f"<h2>{esc(summary)}</h2>",
    ]
    for section in sections:
        parts.append(f"<h3>{esc(section.heading)}</h3><ul>")
        parts += [f"<li>{esc(line)}</li>" for line in section.lines]
        parts += [
            f'<li><a href="{esc(link, quote=True)}">{esc(link)}</a></li>' for link in section.links
        ]
        parts.append("</ul>")
    parts.append("</body></html>")
    return Bodies(_subject(invite, method), "\n".join(plain).rstrip() + "\n", "\n".join(parts))
