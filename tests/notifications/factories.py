"""Sample invites for the notifications tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifications.domain.model import AgendaItem, Attendee, Invite, Role

START = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # 10:00 in Los Angeles (PDT, after 8 March)

CANDIDATE = Attendee(
    "ada.candidate@example.com", "Ada Candidate", Role.CANDIDATE, "Asia/Kolkata",
    ("Live captions are provided",),
)
INTERVIEWER = Attendee(
    "ian.interviewer@example.com", "Ian Interviewer", Role.INTERVIEWER, "America/Los_Angeles",
    ("Session extended by 15 minutes",),
)
OTHER = Attendee(
    "olga.other@example.com", "Olga Other", Role.INTERVIEWER, "Europe/Berlin",
    ("Interpreter attending",),
)


def invite(**changes: object) -> Invite:
    base = dict(
        uid="loops-l1-s1@interviews.example.com",
        sequence=0,
        summary="Coding interview",
        start=START,
        end=START + timedelta(hours=1),
        organizer_email="coordinator@example.com",
        organizer_name="Casey Coordinator",
        attendees=(CANDIDATE, INTERVIEWER, OTHER),
        location="1 Infinite Loop, Cupertino, Room 4",
        video_link="https://meet.example.com/abc-def",
        agenda=(
            AgendaItem("Coding interview", START, START + timedelta(hours=1),
                       ("Ian Interviewer", "Olga Other"), "Room 4"),
            AgendaItem("System design", START + timedelta(hours=1, minutes=15),
                       START + timedelta(hours=2, minutes=15), ("Sam Second",), "Room 5"),
        ),
        loop="loops/l1",
    )
    base.update(changes)
    return Invite(**base)  # type: ignore[arg-type]
