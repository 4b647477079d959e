"""A small, real world built through the public APIs of the three services:
interviewers, rooms, candidates, loop templates, an approved accommodation,
booked loops, a hold, tickets at several lifecycle states. Fuzzed requests draw
names from it (through the pools) so they regularly hit real resources."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
from google.protobuf.duration_pb2 import Duration
from interviews.accommodations.v1 import accommodations_pb2 as apb
from interviews.accommodations.v1 import accommodations_pb2_grpc
from interviews.common.v1 import common_pb2
from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.notifications.v1 import notifications_pb2_grpc
from interviews.scheduling.v1 import scheduling_pb2 as spb
from interviews.scheduling.v1 import scheduling_pb2_grpc

from services.core import timeconv
from tests.hardening_support.fleet import metadata

LA = ZoneInfo("America/Los_Angeles")
NLP = common_pb2.ML_AREA_NLP
CALL_TIMEOUT = 30


def reminder_time(now: datetime | None = None) -> str:
    """An interview time ahead of now, as a service would name one in a reminder
    (notifications refuses times in the past: a fixed date here broke once it passed)."""
    day = next_monday(now).astimezone(ZoneInfo("Asia/Kolkata")).date()
    return datetime(day.year, day.month, day.day, 9, tzinfo=ZoneInfo("Asia/Kolkata")).isoformat()


def next_monday(now: datetime | None = None, *, weeks_ahead: int = 1) -> datetime:
    """00:00 Los Angeles time of a Monday at least a week away, so searches
    and bookings made with the real clock lie in the future."""
    now = (now or datetime.now(UTC)).astimezone(LA)
    days = (7 - now.weekday()) % 7 or 7
    day = (now + timedelta(days=days + 7 * (weeks_ahead - 1))).date()
    return datetime(day.year, day.month, day.day, tzinfo=LA)


def time_range(start: datetime, end: datetime) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(start_time=timeconv.to_timestamp(start), end_time=timeconv.to_timestamp(end))


def minutes(n: int) -> Duration:
    return timeconv.to_duration(timedelta(minutes=n))


def weekdays(start: int = 8, end: int = 18) -> list[common_pb2.WeeklyInterval]:
    return [
        common_pb2.WeeklyInterval(day_of_week=d, start=common_pb2.LocalTime(hours=start), end=common_pb2.LocalTime(hours=end))
        for d in range(1, 6)
    ]


@dataclass
class Clients:
    scheduling: scheduling_pb2_grpc.SchedulingServiceStub
    accommodations: accommodations_pb2_grpc.AccommodationsServiceStub
    notifications: notifications_pb2_grpc.NotificationsServiceStub

    @classmethod
    def over(cls, channels: dict[str, grpc.Channel]) -> Clients:
        return cls(
            scheduling_pb2_grpc.SchedulingServiceStub(channels["scheduling"]),
            accommodations_pb2_grpc.AccommodationsServiceStub(channels["accommodations"]),
            notifications_pb2_grpc.NotificationsServiceStub(channels["notifications"]),
        )


RECRUITER = "recruiter@example.com"
COORDINATOR = "coordinator@example.com"


def as_recruiter() -> tuple[tuple[str, str], ...]:
    return metadata("recruiter", RECRUITER)


def as_coordinator() -> tuple[tuple[str, str], ...]:
    return metadata("coordinator", COORDINATOR)


def as_candidate(candidate: str) -> tuple[tuple[str, str], ...]:
    return metadata("candidate", candidate)


@dataclass
class World:
    interviewers: list[str] = field(default_factory=list)  # names
    interviewer_emails: list[str] = field(default_factory=list)
    rooms: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    candidate_emails: dict[str, str] = field(default_factory=dict)
    templates: list[str] = field(default_factory=list)
    loops: list[spb.Loop] = field(default_factory=list)
    holds: list[str] = field(default_factory=list)
    tickets: dict[str, apb.Ticket] = field(default_factory=dict)  # by name
    plans: list[spb.LoopPlan] = field(default_factory=list)
    deliveries: list[str] = field(default_factory=list)
    week: datetime = field(default_factory=next_monday)


def _call(method: Callable[..., object], request: object, md: tuple) -> object:
    return method(request, metadata=md, timeout=CALL_TIMEOUT)


def build_directory(c: Clients, world: World, *, interviewers: int = 4, candidates: int = 3, prefix: str = "w") -> None:
    md = as_recruiter()
    for i in range(interviewers):
        ident = f"{prefix}-iv{i}"
        iv = _call(c.scheduling.CreateInterviewer, spb.CreateInterviewerRequest(
            interviewer_id=ident,
            interviewer=spb.Interviewer(display_name=f"Interviewer {i}", email=f"{ident}@example.com", home_office="offices/los-gatos",
                                        ml_areas=[NLP], time_zone="America/Los_Angeles", working_hours=weekdays())), md)
        world.interviewers.append(iv.name)
        world.interviewer_emails.append(iv.email)
    for i, accessible in enumerate((False, True)):
        room = _call(c.scheduling.CreateRoom, spb.CreateRoomRequest(
            parent="offices/los-gatos", room_id=f"{prefix}-room{i}",
            room=spb.Room(display_name=f"Room {i}", capacity=6, wheelchair_accessible=accessible, video_equipped=True)), md)
        world.rooms.append(room.name)
    zones = ("America/Los_Angeles", "Asia/Kolkata", "Pacific/Auckland")
    for i in range(candidates):
        ident = f"{prefix}-cand{i}"
        cand = _call(c.scheduling.CreateCandidate, spb.CreateCandidateRequest(
            candidate_id=ident,
            candidate=spb.Candidate(display_name=f"Candidate {i}", email=f"{ident}@candidates.example.org",
                                    time_zone=zones[i % len(zones)], primary_area=NLP)), md)
        world.candidates.append(cand.name)
        world.candidate_emails[cand.name] = cand.email
    template = _call(c.scheduling.CreateLoopTemplate, spb.CreateLoopTemplateRequest(
        loop_template_id=f"{prefix}-two",
        loop_template=spb.LoopTemplate(display_name="Two sessions", buffer_between_sessions=minutes(10), max_days=1, sessions=[
            spb.SessionTemplate(title=f"Session {n}", kind=spb.SESSION_KIND_CODING, duration=minutes(45),
                                area_rule=spb.AREA_RULE_PRIMARY, interviewers_needed=1) for n in (1, 2)])), md)
    world.templates.append(template.name)


def find_plans(c: Clients, world: World, candidate: str, *, day_offset: int = 0, days: int = 5, k: int = 5,
               reschedule: str = "", remote: bool = True) -> spb.FindLoopPlansResponse:
    start = world.week + timedelta(days=day_offset)
    return _call(c.scheduling.FindLoopPlans, spb.FindLoopPlansRequest(
        candidate=candidate, loop_template=world.templates[0], window=time_range(start, start + timedelta(days=days)),
        location_mode=spb.LOCATION_MODE_REMOTE if remote else spb.LOCATION_MODE_ONSITE,
        office="" if remote else "offices/los-gatos", max_plans=k, reschedule_loop=reschedule), as_recruiter())


def submit_ticket(c: Clients, world: World, candidate: str, reason: str, *, request_id: str) -> apb.Ticket:
    ticket = _call(c.accommodations.SubmitTicket, apb.SubmitTicketRequest(
        ticket=apb.Ticket(candidate=candidate, candidate_email=world.candidate_emails.get(candidate, "c@example.org"),
                          requested_adjustments=[common_pb2.ADJUSTMENT_TYPE_EXTRA_TIME, common_pb2.ADJUSTMENT_TYPE_BREAKS],
                          reason=reason, office="offices/los-gatos"),
        request_id=request_id), as_candidate(candidate))
    world.tickets[ticket.name] = ticket
    return ticket


def approve_ticket(c: Clients, world: World, ticket: apb.Ticket, *, note: str = "", message: str = "Approved.",
                   constraints: common_pb2.SchedulingConstraints | None = None) -> apb.Ticket:
    md = as_coordinator()
    ticket = _call(c.accommodations.TriageTicket, apb.TriageTicketRequest(name=ticket.name, etag=ticket.etag), md)
    ticket = _call(c.accommodations.StartReview, apb.StartReviewRequest(name=ticket.name, etag=ticket.etag), md)
    if note:
        _call(c.accommodations.AddMessage, apb.AddMessageRequest(
            parent=ticket.name, message=apb.Message(visibility=apb.MESSAGE_VISIBILITY_INTERNAL, body=note)), md)
        ticket = _call(c.accommodations.GetTicket, apb.GetTicketRequest(name=ticket.name), md)
    constraints = constraints or common_pb2.SchedulingConstraints(
        candidate=ticket.candidate, duration_multiplier=1.25, extra_break_minutes=10,
        interviewer_notes=["Questions shared in writing in advance"])
    ticket = _call(c.accommodations.DecideTicket, apb.DecideTicketRequest(name=ticket.name, etag=ticket.etag, decision=apb.Decision(
        outcome=apb.DECISION_OUTCOME_APPROVED, constraints=constraints, candidate_message=message)), md)
    ticket = _call(c.accommodations.ActivateTicket, apb.ActivateTicketRequest(name=ticket.name, etag=ticket.etag), md)
    world.tickets[ticket.name] = ticket
    return ticket


def book_first(c: Clients, world: World, candidate: str, *, request_id: str, day_offset: int = 0) -> spb.Loop | None:
    found = find_plans(c, world, candidate, day_offset=day_offset)
    world.plans.extend(found.plans)
    if not found.plans:
        return None
    loop = _call(c.scheduling.BookLoop, spb.BookLoopRequest(plan=found.plans[0], request_id=request_id), as_recruiter())
    world.loops.append(loop)
    return loop


def build_world(c: Clients, *, prefix: str = "w") -> World:
    """Everything the fuzzers and the access matrix start from."""
    world = World()
    build_directory(c, world, prefix=prefix)
    cand0, cand1, cand2 = world.candidates[:3]
    # cand0: an approved, active accommodation (constraints reach scheduling).
    t0 = submit_ticket(c, world, cand0, "fuzz world reason 0", request_id=f"{prefix}-t0")
    approve_ticket(c, world, t0, note="internal note 0")
    # cand1: a ticket left at SUBMITTED; cand2: one waiting for the candidate.
    submit_ticket(c, world, cand1, "fuzz world reason 1", request_id=f"{prefix}-t1")
    t2 = submit_ticket(c, world, cand2, "fuzz world reason 2", request_id=f"{prefix}-t2")
    md = as_coordinator()
    t2 = _call(c.accommodations.TriageTicket, apb.TriageTicketRequest(name=t2.name, etag=t2.etag), md)
    t2 = _call(c.accommodations.StartReview, apb.StartReviewRequest(name=t2.name, etag=t2.etag), md)
    t2 = _call(c.accommodations.RequestInformation, apb.RequestInformationRequest(name=t2.name, etag=t2.etag, question="Which days?"), md)
    world.tickets[t2.name] = t2
    # Loops for two candidates, on different days so they do not compete.
    book_first(c, world, cand0, request_id=f"{prefix}-b0", day_offset=0)
    book_first(c, world, cand1, request_id=f"{prefix}-b1", day_offset=1)
    # A hold for the third.
    found = find_plans(c, world, cand2, day_offset=2)
    world.plans.extend(found.plans)
    if found.plans:
        hold = _call(c.scheduling.CreateHold, spb.CreateHoldRequest(plan=found.plans[0], request_id=f"{prefix}-h0"), as_recruiter())
        world.holds.append(hold.name)
    # A templated message straight to notifications, as a service would send it.
    delivery = _call(c.notifications.SendMessage, npb.SendMessageRequest(
        idempotency_key=f"{prefix}-m0", template=npb.MESSAGE_TEMPLATE_INTERVIEW_REMINDER,
        recipient=npb.Recipient(email="someone@example.com", display_name="Someone", time_zone="Asia/Kolkata"),
        parameters={"interview_time": reminder_time()}), metadata("service", "services/scheduling"))
    world.deliveries.append(delivery.name)
    return world
