"""End to end (issue #6): the three services as separate OS processes on PostgreSQL,
two replicas of scheduling, a real SMTP server on loopback, the public gRPC API and
the `interviews` CLI.

The story: a candidate (primary area NLP, in Pacific/Auckland) asks for extra time and
a remote interview -> a coordinator approves and activates -> the recruiter finds plans
(longer sessions, all remote, though asked onsite) and books -> the candidate and the
interviewers receive iTIP REQUESTs at the SMTP server -> the loop is rescheduled
(updated REQUESTs, same UIDs, SEQUENCE 1) -> cancelled (CANCEL, higher SEQUENCE).
Neither the accommodation reason nor the cancel reason is in any email.

Concurrency: bookings of conflicting plans raced through both replicas; exactly one
wins each contested slot, and no two active reservations overlap (through the API and
in the database).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import icalendar
import pytest
import vobject
from google.protobuf.duration_pb2 import Duration
from sqlalchemy import create_engine, text

from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from interviews.scheduling.v1 import scheduling_pb2_grpc
from services.core.auth import Role, issue_token
from tests.conftest import TEST_TOKEN_SECRET
from tests.e2e.conftest import COORDINATOR_EMAIL, MAIL_FROM
from tests.e2e.stack import Cli, Mail, SmtpSink, Stack, poll

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.timeout(300)]

LA = ZoneInfo("America/Los_Angeles")
NLP, CV = common_pb2.ML_AREA_NLP, common_pb2.ML_AREA_COMPUTER_VISION
CANDIDATE = "kiri"
CANDIDATE_ZONE = "Pacific/Auckland"  # UTC+13 in December: LA's Monday morning is Auckland's Tuesday
CANDIDATE_EMAIL = "kiri@candidates.example.org"
TEMPLATE = "nlp-loop"
SESSIONS = (("Research deep dive", pb.SESSION_KIND_ML_DEPTH, 40, 2), ("Coding", pb.SESSION_KIND_CODING, 60, 1))
MULTIPLIER = 1.5
NLP_HOME_LOS_GATOS = ("ana", "bo", "cy", "dee")
NLP_QUALIFIED = {f"interviewers/{i}" for i in (*NLP_HOME_LOS_GATOS, "fay")}  # eve is computer vision only
INTERVIEWER_NOTE = "The candidate has extra time in every session"
MAIL_WAIT = 60  # seconds; outbox relays and the SMTP sender poll every 0.2 s


def metadata(role: str, subject: str, email: str | None = None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {issue_token(TEST_TOKEN_SECRET, subject, Role(role), email=email)}"),)


def raw_token(role: str, subject: str, email: str | None = None) -> str:
    return issue_token(TEST_TOKEN_SECRET, subject, Role(role), email=email)


RECRUITER = metadata("recruiter", "rita@interviews.example.com")


def minutes(n: float) -> Duration:
    return Duration(seconds=int(n * 60))


def first_monday(weeks_ahead: int = 0) -> date:
    """A Monday at least eight days away (past the 24-hour notice, inside the horizon)."""
    today = datetime.now(LA).date()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    if (monday - today).days < 8:
        monday += timedelta(days=7)
    return monday + timedelta(weeks=weeks_ahead)


def utc(ts) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def window(first: date, days: int, zone: str) -> common_pb2.TimeRange:
    """The window the CLI searches: `--from first --days days` in the candidate's zone."""
    tz = ZoneInfo(zone)
    out = common_pb2.TimeRange()
    out.start_time.FromDatetime(datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(UTC))
    last = first + timedelta(days=days)
    out.end_time.FromDatetime(datetime(last.year, last.month, last.day, tzinfo=tz).astimezone(UTC))
    return out


def email_of(interviewer: str) -> str:
    return f"{interviewer.removeprefix('interviewers/')}@interviews.example.com"


# ---------------------------------------------------------------- module fixtures


@dataclass
class World:
    stack: Stack
    smtp: SmtpSink
    database_url: str
    a: scheduling_pb2_grpc.SchedulingServiceStub
    b: scheduling_pb2_grpc.SchedulingServiceStub
    cli: Cli


@pytest.fixture(scope="module")
def world(stack: Stack, smtp: SmtpSink, e2e_database: str) -> Iterator[World]:
    a = scheduling_pb2_grpc.SchedulingServiceStub(stack.channel("scheduling-a"))
    b = scheduling_pb2_grpc.SchedulingServiceStub(stack.channel("scheduling-b"))
    cli = Cli({"scheduling": stack.address("scheduling-a"), "accommodations": stack.address("accommodations"),
               "notifications": stack.address("notifications")})
    seed_directory(a, b)
    yield World(stack, smtp, e2e_database, a, b, cli)


def seed_directory(a: scheduling_pb2_grpc.SchedulingServiceStub, b: scheduling_pb2_grpc.SchedulingServiceStub) -> None:
    """Through the public API as a recruiter, half through each replica."""
    call = dict(timeout=60, metadata=RECRUITER)
    week = [common_pb2.WeeklyInterval(day_of_week=d, start=common_pb2.LocalTime(hours=9), end=common_pb2.LocalTime(hours=17))
            for d in range(1, 6)]
    for room in ("aspen", "birch"):
        a.CreateRoom(pb.CreateRoomRequest(parent="offices/los-gatos", room_id=room, request_id=f"room-{room}", room=pb.Room(
            display_name=room.title(), capacity=6, video_equipped=True, location_hint="Building A")), **call)
    people = [(i, [NLP], "los-gatos") for i in NLP_HOME_LOS_GATOS] + [("fay", [NLP], "los-angeles"), ("eve", [CV], "los-gatos")]
    for k, (who, areas, office) in enumerate(people):
        stub = a if k % 2 else b
        stub.CreateInterviewer(pb.CreateInterviewerRequest(interviewer_id=who, request_id=f"int-{who}", interviewer=pb.Interviewer(
            display_name=who.title(), email=email_of(who), home_office=f"offices/{office}", ml_areas=areas,
            time_zone="America/Los_Angeles", working_hours=week)), **call)
    b.CreateCandidate(pb.CreateCandidateRequest(candidate_id=CANDIDATE, request_id="cand-kiri", candidate=pb.Candidate(
        display_name="Kiri Tane", email=CANDIDATE_EMAIL, time_zone=CANDIDATE_ZONE, primary_area=NLP)), **call)
    a.CreateLoopTemplate(pb.CreateLoopTemplateRequest(loop_template_id=TEMPLATE, request_id="tpl-nlp", loop_template=pb.LoopTemplate(
        display_name="NLP internship loop", buffer_between_sessions=minutes(10), max_days=1,
        sessions=[pb.SessionTemplate(title=title, kind=kind, duration=minutes(m), area_rule=pb.AREA_RULE_PRIMARY,
                                     interviewers_needed=n) for title, kind, m, n in SESSIONS])), **call)


# ---------------------------------------------------------------- mail reading


@dataclass(frozen=True)
class Invite:
    recipient: str
    method: str
    mime_method: str
    uid: str
    sequence: int
    start: datetime
    end: datetime
    attendees: frozenset[str]
    organizer: str
    sender: str
    tzid: str
    mail: Mail

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.uid, self.sequence, self.method, self.recipient)


def _address(value: object) -> str:
    return str(value).lower().removeprefix("mailto:")


def _instant(value: datetime | date) -> datetime:
    assert isinstance(value, datetime) and value.tzinfo is not None, f"DTSTART/DTEND must be an instant, got {value!r}"
    return value.astimezone(UTC)


def invites(smtp: SmtpSink) -> list[Invite]:
    out = []
    for mail in smtp.mail():
        message = mail.parsed()
        calendars = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        if not calendars:
            continue
        (part,) = calendars
        cal = icalendar.Calendar.from_ical(part.get_payload(decode=True))
        (event,) = cal.walk("VEVENT")
        attendees = event.get("ATTENDEE")
        attendees = attendees if isinstance(attendees, list) else [attendees]
        out.append(Invite(
            recipient=mail.recipient, method=str(cal["METHOD"]), mime_method=str(part.get_param("method")),
            uid=str(event["UID"]), sequence=int(event.get("SEQUENCE", 0)),
            start=_instant(event["DTSTART"].dt), end=_instant(event["DTEND"].dt),
            attendees=frozenset(_address(a) for a in attendees if a is not None),
            organizer=_address(event["ORGANIZER"]), sender=message["From"].addresses[0].addr_spec.lower(),
            tzid=str(event["DTSTART"].params.get("TZID", "")), mail=mail))
    return out


def calendar_part(mail: Mail) -> bytes:
    (part,) = [p for p in mail.parsed().walk() if p.get_content_type() == "text/calendar"]
    return part.get_payload(decode=True)


def decoded_texts(mail: Mail) -> list[str]:
    """The raw message and every part decoded (base64 and quoted-printable hide plain text)."""
    texts = [mail.raw.decode("utf-8", "replace")]
    for part in mail.parsed().walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if payload:
            texts.append(payload.decode("utf-8", "replace"))
    texts.append(str(mail.parsed()["Subject"] or ""))
    return texts


def expected_invites(loop: pb.Loop, method: str, *, only: dict[int, list[str]] | None = None) -> dict[tuple, pb.LoopSession]:
    """(uid-part, sequence, method, recipient) -> session, for every attendee of every session."""
    out = {}
    for index, s in enumerate(loop.sessions):
        recipients = [CANDIDATE_EMAIL, *(email_of(i) for i in s.session.interviewers)] if only is None else only.get(index, [])
        for recipient in recipients:
            out[(s.session_id, s.sequence, method, recipient)] = s
    return out


def matching(found: list[Invite], session_id: str, sequence: int, method: str, recipient: str) -> list[Invite]:
    return [i for i in found if session_id in i.uid and i.sequence == sequence and i.method == method and i.recipient == recipient]


def wait_for_invites(smtp: SmtpSink, wanted: dict[tuple, pb.LoopSession], what: str) -> list[Invite]:
    def arrived():
        found = invites(smtp)
        return found if all(matching(found, *key) for key in wanted) else None

    try:
        return poll(arrived, timeout=MAIL_WAIT, message=what, interval=0.2)
    except AssertionError:
        found = invites(smtp)
        missing = [key for key in wanted if not matching(found, *key)]
        raise AssertionError(f"{what}: missing {missing}; have {sorted(i.key for i in found)}") from None


def check_invite(invite: Invite, session: pb.LoopSession, method: str) -> None:
    assert invite.mime_method == method, invite
    assert invite.organizer == MAIL_FROM and invite.sender == MAIL_FROM, invite
    assert invite.recipient in invite.attendees, invite
    assert invite.start == utc(session.session.time_range.start_time), (invite.start, session)
    assert invite.end == utc(session.session.time_range.end_time), (invite.end, session)
    # Read again by an independent parser that takes the offsets from the VTIMEZONE
    # text itself (not from a zone database): the same instants.
    vevent = vobject.readOne(calendar_part(invite.mail).decode()).vevent
    assert vevent.dtstart.value.astimezone(UTC) == invite.start and vevent.dtend.value.astimezone(UTC) == invite.end


def outboxes_drained(database_url: str) -> bool:
    """Read-only: every outbox row delivered (or failed), no email still pending."""
    with read_only(database_url) as conn:
        pending = 0
        for schema in ("scheduling", "accommodations"):
            pending += conn.execute(text(
                f"SELECT count(*) FROM {schema}.outbox_messages WHERE delivered_time IS NULL AND failed_time IS NULL")).scalar_one()
        pending += conn.execute(text("SELECT count(*) FROM notifications.deliveries WHERE state = 'pending'")).scalar_one()
    return pending == 0


def database_rows_containing(database_url: str, schema: str, marker: str) -> list[str]:
    """Tables of `schema` with a row whose text (or bytes, as hex) contains `marker`."""
    hexed = marker.encode().hex()
    found = []
    with read_only(database_url) as conn:
        tables = conn.execute(text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                              {"s": schema}).scalars().all()
        assert tables, f"no tables in schema {schema}"
        for table in tables:
            rows = conn.execute(text(f'SELECT t::text FROM "{schema}"."{table}" t')).scalars().all()
            found += [f"{table}: {r[:200]}" for r in rows if marker in r or hexed in r]
    return found


class read_only:
    """A read-only connection to the test database (never writes)."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})

    def __enter__(self):
        self.conn = self.engine.connect()
        return self.conn

    def __exit__(self, *exc) -> None:
        self.conn.close()
        self.engine.dispose()


# ---------------------------------------------------------------- the story


def test_story_accommodation_to_booking_reschedule_and_cancel(world: World) -> None:
    started = time.monotonic()
    timings: dict[str, float] = {}
    a, b, cli, smtp = world.a, world.b, world.cli, world.smtp
    call = dict(timeout=60, metadata=RECRUITER)
    week1, week2 = first_monday(0), first_monday(1)
    durations = [m for _, _, m, _ in SESSIONS]

    # Before any accommodation: onsite plans with rooms, the template's durations,
    # only NLP interviewers (eve is computer vision only). Searched on replica B,
    # though everything was written through both: B's directory cache follows the database.
    before = b.FindLoopPlans(pb.FindLoopPlansRequest(
        candidate=f"candidates/{CANDIDATE}", loop_template=f"loopTemplates/{TEMPLATE}", window=window(week1, 5, CANDIDATE_ZONE),
        location_mode=pb.LOCATION_MODE_ONSITE, office="offices/los-gatos", max_plans=5), **call)
    assert before.plans, list(before.no_plan_reasons)
    for plan in before.plans:
        assert [int((utc(s.time_range.end_time) - utc(s.time_range.start_time)).total_seconds() // 60) for s in plan.sessions] == durations
        assert all(not s.remote and s.room.startswith("offices/los-gatos/rooms/") for s in plan.sessions)
        assert all(set(s.interviewers) <= NLP_QUALIFIED for s in plan.sessions)

    # The candidate asks through the CLI; the reason goes in on stdin (not argv).
    reason_marker = f"REASON-{uuid.uuid4().hex}"
    candidate_token = raw_token("candidate", f"candidates/{CANDIDATE}", email=CANDIDATE_EMAIL)
    out = cli("accommodations", "submit", "--email", CANDIDATE_EMAIL, "--reason", "-", "--adjustment", "extra_time",
              "--adjustment", "remote_interview", "--office", "offices/los-gatos", "--request-id", "kiri-ticket-1",
              token=candidate_token, stdin=f"I have a chronic condition ({reason_marker}); travel and long sessions are hard.\n")
    ticket = re.search(r"submitted (tickets/\S+?):", out).group(1)
    assert "submitted" in out

    # A coordinator works it through the CLI: acknowledge, review, approve, activate.
    coordinator = raw_token("coordinator", COORDINATOR_EMAIL)
    assert "triaged" in cli("accommodations", "triage", ticket, token=coordinator)
    assert "in_review" in cli("accommodations", "review", ticket, token=coordinator)
    out = cli("accommodations", "decide", ticket, "approve", "--duration-multiplier", str(MULTIPLIER), "--remote-only",
              "--interviewer-note", INTERVIEWER_NOTE, "--message", "Approved: extra time, remote.",
              token=coordinator)
    assert "approved" in out
    assert "active" in cli("accommodations", "activate", ticket, token=coordinator)
    shown = cli("accommodations", "show", ticket, token=candidate_token)
    assert reason_marker in shown and "duration x1.5" in shown  # the candidate reads their own words
    timings["accommodation approved"] = time.monotonic() - started

    # The recruiter finds plans (CLI, replica A), asking onsite: every session is
    # remote and 1.5 times as long, and the table says so in the candidate's zone.
    recruiter = raw_token("recruiter", "rita@interviews.example.com")
    search = ("--from", week1.isoformat(), "--days", "5", "--onsite", "los-gatos")
    out = cli("scheduling", "find", CANDIDATE, TEMPLATE, *search, token=recruiter)
    rows = [line for line in out.splitlines()[2:] if line.strip()]
    assert rows and all(line.rstrip().endswith("remote") for line in rows), out
    assert f"time ({CANDIDATE_ZONE})" in out and "NZDT" in out, out
    found = a.FindLoopPlans(pb.FindLoopPlansRequest(
        candidate=f"candidates/{CANDIDATE}", loop_template=f"loopTemplates/{TEMPLATE}", window=window(week1, 5, CANDIDATE_ZONE),
        location_mode=pb.LOCATION_MODE_ONSITE, office="offices/los-gatos", max_plans=5), **call)
    assert found.applied_constraints.remote_only and found.applied_constraints.duration_multiplier == MULTIPLIER
    assert list(found.applied_constraints.source_tickets) == [ticket]
    assert reason_marker not in str(found)
    assert found.plans, list(found.no_plan_reasons)
    for plan in found.plans:
        for s, base in zip(plan.sessions, durations, strict=True):
            assert (utc(s.time_range.end_time) - utc(s.time_range.start_time)) == timedelta(minutes=base * MULTIPLIER)
            assert s.remote and not s.room, s
            assert f"Session extended by {int(base * (MULTIPLIER - 1))} minutes" in s.adjustments, s.adjustments
            assert INTERVIEWER_NOTE in s.adjustments, s.adjustments
            assert set(s.interviewers) <= NLP_QUALIFIED, s.interviewers
            local = datetime.fromisoformat(s.candidate_local_start)
            assert local == utc(s.time_range.start_time)
            assert local.utcoffset() == utc(s.time_range.start_time).astimezone(ZoneInfo(CANDIDATE_ZONE)).utcoffset()

    # The recruiter books plan 1 of the same search, through replica B.
    out = cli("scheduling", "book", CANDIDATE, TEMPLATE, *search, "--plan", "1", "--request-id", "kiri-book-1",
              token=recruiter, scheduling=world.stack.address("scheduling-b"))
    loop_name = re.search(r"(loops/\S+)", out).group(1)
    loop = a.GetLoop(pb.GetLoopRequest(name=loop_name), **call)
    assert loop.state == pb.LOOP_STATE_BOOKED
    assert [(s.session.time_range, list(s.session.interviewers)) for s in loop.sessions] == \
           [(s.time_range, list(s.interviewers)) for s in found.plans[0].sessions]
    assert all(s.sequence == 0 and s.session.remote for s in loop.sessions)
    timings["booked"] = time.monotonic() - started

    # Invites: one REQUEST per attendee per session, SEQUENCE 0, at the booked times.
    wanted = expected_invites(loop, "REQUEST")
    found_mail = wait_for_invites(smtp, wanted, "REQUESTs after booking")
    uids = {}
    for (session_id, seq, method, recipient), session in wanted.items():
        (invite,) = matching(found_mail, session_id, seq, method, recipient)
        check_invite(invite, session, "REQUEST")
        assert invite.attendees == {CANDIDATE_EMAIL, *(email_of(i) for i in session.session.interviewers)}
        assert invite.tzid == (CANDIDATE_ZONE if recipient == CANDIDATE_EMAIL else "America/Los_Angeles"), invite.tzid
        uids.setdefault(session_id, invite.uid)
        assert invite.uid == uids[session_id]
    assert len(set(uids.values())) == len(loop.sessions)
    # The interviewers learn the adjustment that affects them; the candidate's copy is plain.
    for (session_id, _, _, recipient), session in wanted.items():
        (invite,) = matching(found_mail, session_id, 0, "REQUEST", recipient)
        body = "\n".join(decoded_texts(invite.mail))
        if recipient != CANDIDATE_EMAIL:
            assert "Session extended by" in body and INTERVIEWER_NOTE in body, recipient
    timings["invites received"] = time.monotonic() - started

    # Reschedule a week later (CLI, replica A): same UIDs, SEQUENCE 1, new times;
    # an interviewer taken off a session gets that session's CANCEL.
    out = cli("scheduling", "reschedule", loop_name, "--from", week2.isoformat(), "--days", "5", "--onsite", "los-gatos",
              "--plan", "1", token=recruiter)
    assert loop_name in out
    moved = b.GetLoop(pb.GetLoopRequest(name=loop_name), **call)
    assert [s.session_id for s in moved.sessions] == [s.session_id for s in loop.sessions]
    assert all(s.sequence == 1 and s.session.remote for s in moved.sessions)
    assert all(utc(m.session.time_range.start_time) >= utc(o.session.time_range.start_time) + timedelta(days=5)
               for m, o in zip(moved.sessions, loop.sessions, strict=True))
    removed = {k: [email_of(i) for i in o.session.interviewers if i not in m.session.interviewers]
               for k, (o, m) in enumerate(zip(loop.sessions, moved.sessions, strict=True))}
    wanted = expected_invites(moved, "REQUEST")
    wanted_cancel = expected_invites(moved, "CANCEL", only=removed)
    found_mail = wait_for_invites(smtp, {**wanted, **wanted_cancel}, "updated REQUESTs after rescheduling")
    for (session_id, seq, method, recipient), session in {**wanted, **wanted_cancel}.items():
        (invite,) = matching(found_mail, session_id, seq, method, recipient)
        check_invite(invite, session, method)
        assert invite.uid == uids[session_id]
    timings["rescheduled"] = time.monotonic() - started

    # Cancel (CLI, replica B): METHOD:CANCEL, same UIDs, SEQUENCE higher again; the
    # recruiter's reason stays on the loop and out of every email.
    cancel_marker = f"CANCEL-{uuid.uuid4().hex}"
    out = cli("scheduling", "cancel", loop_name, "--reason", f"Hiring freeze {cancel_marker}", token=recruiter,
              scheduling=world.stack.address("scheduling-b"))
    assert "cancelled" in out
    gone = a.GetLoop(pb.GetLoopRequest(name=loop_name), **call)
    assert gone.state == pb.LOOP_STATE_CANCELLED and all(s.sequence == 2 for s in gone.sessions)
    wanted = expected_invites(gone, "CANCEL")
    found_mail = wait_for_invites(smtp, wanted, "CANCELs after cancelling")
    for (session_id, seq, method, recipient), session in wanted.items():
        (invite,) = matching(found_mail, session_id, seq, method, recipient)
        check_invite(invite, session, "CANCEL")
        assert invite.uid == uids[session_id] and invite.sequence > 1
    timings["cancelled"] = time.monotonic() - started

    # The candidate may read their own loops, through either replica.
    mine = b.ListLoops(pb.ListLoopsRequest(candidate=f"candidates/{CANDIDATE}"), timeout=60,
                       metadata=metadata("candidate", f"candidates/{CANDIDATE}"))
    assert [l.name for l in mine.loops] == [loop_name]

    # Everything queued was sent; then nothing twice, and no reason anywhere in the mail.
    poll(lambda: outboxes_drained(world.database_url), timeout=MAIL_WAIT, message="outboxes drained")
    story = [i for i in invites(smtp) if any(s.session_id in i.uid for s in loop.sessions)]
    counts = Counter(i.key for i in story)
    assert not [k for k, n in counts.items() if n > 1], counts
    expected_total = sum(1 + len(s.session.interviewers) for s in loop.sessions) + \
        sum(1 + len(s.session.interviewers) for s in moved.sessions) + sum(len(v) for v in removed.values()) + \
        sum(1 + len(s.session.interviewers) for s in gone.sessions)
    assert len(story) == expected_total, sorted(counts)
    everything = smtp.mail()
    message_ids = Counter((m.parsed()["Message-ID"], m.recipient) for m in everything)
    assert all(n == 1 for n in message_ids.values()), message_ids
    for mail in everything:
        for body in decoded_texts(mail):
            assert reason_marker not in body, mail.recipient
            assert cancel_marker not in body, mail.recipient
    # Nor in any service's log, nor in the databases of scheduling and notifications
    # (the cancel reason is kept on the loop, for staff: scheduling only).
    for process in world.stack.processes.values():
        log = process.log_path.read_text(errors="replace")
        assert reason_marker not in log and cancel_marker not in log, process.name
    assert database_rows_containing(world.database_url, "scheduling", cancel_marker)  # the scan finds what is there
    assert not database_rows_containing(world.database_url, "scheduling", reason_marker)
    for marker in (reason_marker, cancel_marker):
        assert not database_rows_containing(world.database_url, "notifications", marker), marker
    # The accommodation's own emails went out too (acknowledgement, decision, the coordinator's notice).
    others = [m for m in everything if not any(p.get_content_type() == "text/calendar" for p in m.parsed().walk())]
    assert {m.recipient for m in others} >= {CANDIDATE_EMAIL, COORDINATOR_EMAIL}, [m.recipient for m in others]
    timings["total"] = time.monotonic() - started
    print("story timings (s):", {k: round(v, 1) for k, v in timings.items()})


# ---------------------------------------------------------------- concurrency


def _resources(loop_or_plan_sessions, candidate: str) -> list[tuple[str, datetime, datetime]]:
    out = []
    for s in loop_or_plan_sessions:
        s = getattr(s, "session", s)
        start, end = utc(s.time_range.start_time), utc(s.time_range.end_time)
        out += [(i, start, end) for i in s.interviewers]
        if s.room:
            out.append((s.room, start, end))
        out.append((candidate, start, end))
    return out


def _conflict(x: pb.LoopPlan, y: pb.LoopPlan) -> bool:
    return any(r1 == r2 and s1 < e2 and s2 < e1
               for r1, s1, e1 in _resources(x.sessions, x.candidate) for r2, s2, e2 in _resources(y.sessions, y.candidate))


def _race(world: World, plans: list[pb.LoopPlan], tag: str) -> list[tuple[pb.LoopPlan, pb.Loop | None, grpc.StatusCode | None]]:
    """Books every plan at once, even ones through replica A, odd ones through B."""
    barrier = threading.Barrier(len(plans))
    results: list = [None] * len(plans)

    def book(k: int) -> None:
        stub = world.a if k % 2 == 0 else world.b
        barrier.wait(timeout=30)
        try:
            loop = stub.BookLoop(pb.BookLoopRequest(plan=plans[k], request_id=f"{tag}-{k}"), timeout=120, metadata=RECRUITER)
            results[k] = (plans[k], loop, None)
        except grpc.RpcError as error:
            results[k] = (plans[k], None, error.code())

    threads = [threading.Thread(target=book, args=(k,)) for k in range(len(plans))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert all(r is not None for r in results), "a booking thread did not finish"
    return results


def _check_race(results) -> list[pb.Loop]:
    winners = [(plan, loop) for plan, loop, _ in results if loop is not None]
    losers = [(plan, code) for plan, loop, code in results if loop is None]
    assert winners, "no booking won"
    assert all(code in (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION) for _, code in losers), losers
    for i, (p, _) in enumerate(winners):
        for q, _ in winners[i + 1:]:
            assert not _conflict(p, q), "two conflicting plans were both booked"
    for p, _ in losers:  # a loser lost to someone: nothing was refused for no reason
        assert any(_conflict(p, w) for w, _ in winners), "a plan that conflicted with no winner was refused"
    return [loop for _, loop in winners]


def test_concurrent_bookings_through_both_replicas_never_overlap(world: World) -> None:
    started = time.monotonic()
    a, b = world.a, world.b
    call = dict(timeout=120, metadata=RECRUITER)
    day = first_monday(2) + timedelta(days=1)  # a Tuesday two weeks on: apart from the story's weeks
    a.CreateLoopTemplate(pb.CreateLoopTemplateRequest(loop_template_id="solo", request_id="tpl-solo", loop_template=pb.LoopTemplate(
        display_name="One NLP session", max_days=1, sessions=[pb.SessionTemplate(
            title="NLP depth", kind=pb.SESSION_KIND_ML_DEPTH, duration=minutes(60), area_rule=pb.AREA_RULE_PRIMARY,
            interviewers_needed=1)])), **call)
    names = [f"race-{k}" for k in range(16)]
    for k, name in enumerate([*names, "race-twice"]):
        (a if k % 2 else b).CreateCandidate(pb.CreateCandidateRequest(candidate_id=name, request_id=f"cand-{name}", candidate=pb.Candidate(
            display_name=name, email=f"{name}@candidates.example.org", time_zone="America/Los_Angeles", primary_area=NLP)), **call)

    def search(k: int, name: str, count: int) -> list[pb.LoopPlan]:
        response = (a if k % 2 else b).FindLoopPlans(pb.FindLoopPlansRequest(
            candidate=f"candidates/{name}", loop_template="loopTemplates/solo", window=window(day, 1, "America/Los_Angeles"),
            location_mode=pb.LOCATION_MODE_ONSITE, office="offices/los-gatos", max_plans=count), **call)
        assert response.plans, list(response.no_plan_reasons)
        return list(response.plans)

    # Round 1: every candidate's best plan is the same slot (interviewer, room, time).
    firsts = [search(k, name, 1)[0] for k, name in enumerate(names)]
    slots = {(s.time_range.SerializeToString(), tuple(s.interviewers), s.room) for p in firsts for s in p.sessions}
    results = _race(world, firsts, "round1")
    winners = _check_race(results)
    assert len(slots) == 1, "the same best plan for identical candidates: one contested slot"
    assert len(winners) == 1, f"{len(winners)} bookings of one slot succeeded"
    booked = list(winners)

    # Round 2: eight of the others, in pairs; each pair searches its own two hours
    # of the day (apart from every other pair's), so both of a pair get the same
    # best plan. All race at once, each pair split over the two replicas:
    # exactly one winner per pair, every pair wins once.
    rest = [(k, name) for k, name in enumerate(names) if name not in {l.candidate.removeprefix("candidates/") for l in booked}]
    plans = []
    for pair in range(4):
        start = datetime(day.year, day.month, day.day, 9 + 2 * pair, tzinfo=LA)
        hours = common_pb2.TimeRange()
        hours.start_time.FromDatetime(start.astimezone(UTC))
        hours.end_time.FromDatetime((start + timedelta(hours=2)).astimezone(UTC))
        both = []
        for k, name in rest[2 * pair:2 * pair + 2]:
            response = (a if k % 2 else b).FindLoopPlans(pb.FindLoopPlansRequest(
                candidate=f"candidates/{name}", loop_template="loopTemplates/solo", window=hours,
                location_mode=pb.LOCATION_MODE_ONSITE, office="offices/los-gatos", max_plans=1), **call)
            assert response.plans, list(response.no_plan_reasons)
            both.append(response.plans[0])
        assert _conflict(*both), "a pair's best plans should be one slot"
        plans += both
    round2 = _check_race(_race(world, plans, "round2"))
    assert len(round2) == 4, f"{len(round2)} winners for four contested slots"
    booked += round2

    # Round 3: one request sent to both replicas at once (a client retrying on
    # another replica while the first call is in flight) books one loop.
    plan = search(len(names), "race-twice", 1)[0]
    barrier = threading.Barrier(2)
    twice: list = [None, None]

    def same(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            twice[i] = (a if i == 0 else b).BookLoop(pb.BookLoopRequest(plan=plan, request_id="round3-same"), **call).name
        except grpc.RpcError as error:
            twice[i] = error.code()

    threads = [threading.Thread(target=same, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)

    # Through the API (either replica): no resource is in two booked loops at once.
    loops, token = [], ""
    while True:
        page = b.ListLoops(pb.ListLoopsRequest(state=pb.LOOP_STATE_BOOKED, page_size=100, page_token=token), **call)
        loops += page.loops
        token = page.next_page_token
        if not token:
            break
    assert {l.name for l in booked} <= {l.name for l in loops}
    spans = defaultdict(list)
    for loop in loops:
        for resource, start, end in _resources(loop.sessions, loop.candidate):
            spans[resource].append((start, end, loop.name))
    overlaps = [(r, x, y) for r, items in spans.items() for i, x in enumerate(items) for y in items[i + 1:] if x[0] < y[1] and y[0] < x[1]]
    assert not overlaps, overlaps

    # In the database (read-only SQL): no two active reservations of one resource overlap.
    with read_only(world.database_url) as conn:
        clashes = conn.execute(text(
            "SELECT count(*) FROM scheduling.reservations x JOIN scheduling.reservations y "
            "ON x.resource = y.resource AND x.id < y.id AND x.active AND y.active "
            "AND x.start_time < y.end_time AND y.start_time < x.end_time")).scalar_one()
        owners = conn.execute(text("SELECT count(DISTINCT owner) FROM scheduling.reservations WHERE active")).scalar_one()
    assert clashes == 0
    assert owners == len(loops)

    # Only the winners' invites were sent: one per attendee, none twice, none for a loser.
    wanted = {}
    for loop in loops:
        for s in loop.sessions:
            for recipient in (f"{loop.candidate.removeprefix('candidates/')}@candidates.example.org",
                              *(email_of(i) for i in s.session.interviewers)):
                wanted[(s.session_id, 0, "REQUEST", recipient)] = s
    poll(lambda: outboxes_drained(world.database_url), timeout=MAIL_WAIT, message="outboxes drained")
    found = wait_for_invites(world.smtp, wanted, "REQUESTs of the winning bookings")
    session_ids = {s.session_id for loop in loops for s in loop.sessions}
    race_mail = [i for i in found if any(a.startswith("race-") for a in i.attendees)]
    assert all(any(sid in i.uid for sid in session_ids) for i in race_mail), "an invite for a booking that lost"
    counts = Counter(i.key for i in race_mail)
    assert not [k for k, n in counts.items() if n > 1], counts
    assert all(n == 1 for n in Counter((i.mail.parsed()["Message-ID"], i.recipient) for i in race_mail).values())
    assert {i.recipient for i in race_mail if i.recipient.startswith("race-")} == \
           {l.candidate.removeprefix("candidates/") + "@candidates.example.org" for l in loops}
    print(f"concurrency: {len(booked)} loops booked by racing, {len(loops)} booked in all; "
          f"same request twice -> {twice}; {time.monotonic() - started:.1f}s")
    assert twice[0] == twice[1] and isinstance(twice[0], str), \
            f"one request_id sent to both replicas at once gave {twice}; expected the same loop twice"


def test_replicas_started_together_migrated_once(world: World) -> None:
    """All four processes started at once on an empty database: both scheduling
    replicas ran the migrations (the advisory lock serialised them), each schema
    holds one alembic version, and every process is still serving."""
    for name in ("scheduling-a", "scheduling-b"):
        assert '"message": "migrated"' in world.stack.processes[name].log_path.read_text(errors="replace"), name
    with read_only(world.database_url) as conn:
        for schema in ("scheduling", "accommodations", "notifications"):
            versions = conn.execute(text(f"SELECT version_num FROM {schema}.alembic_version")).scalars().all()
            assert len(versions) == 1, (schema, versions)
    assert all(p.popen is not None and p.popen.poll() is None for p in world.stack.processes.values())
