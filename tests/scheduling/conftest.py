"""Fixtures for scheduling service tests: an in-process server with a test
clock and a constraints source standing in for the accommodations service
(the edge this service does not own), plus helpers that build a directory
through the public API."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from interviews.scheduling.v1 import scheduling_pb2_grpc
from services.core import timeconv
from services.core.config import Settings
from services.core.errors import Unavailable
from services.core.server import RunningServer, start_server
from services.scheduling import app

# Monday 2 March 2026, 00:00 in Los Angeles: a week before the spring DST change.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LA = ZoneInfo("America/Los_Angeles")
MON = datetime(2026, 3, 9, tzinfo=LA)  # the Monday after the spring DST change
NLP = common_pb2.ML_AREA_NLP


class TestClock:
    __test__ = False

    def __init__(self, now: datetime = START) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self.now += delta


class FakeConstraints:
    """Approved constraints per candidate name; `down` makes it behave as an
    unreachable accommodations service (what AccommodationsConstraints raises)."""

    def __init__(self) -> None:
        self.by_candidate: dict[str, common_pb2.SchedulingConstraints] = {}
        self.down = False
        self.calls: list[str] = []

    def fetch(self, candidate: str) -> common_pb2.SchedulingConstraints:
        self.calls.append(candidate)
        if self.down:
            raise Unavailable("a dependency did not answer (UNAVAILABLE)", reason="DEPENDENCY_UNAVAILABLE")
        return self.by_candidate.get(candidate, common_pb2.SchedulingConstraints(candidate=candidate))


@dataclass
class Scheduling:
    stub: scheduling_pb2_grpc.SchedulingServiceStub
    running: RunningServer
    settings: Settings
    clock: TestClock
    constraints: FakeConstraints
    metadata: tuple = ()
    token: Callable[..., tuple] = field(default=lambda *a, **k: ())

    def call(self, method: str, request, *, as_=None):
        return getattr(self.stub, method)(request, metadata=as_ or self.metadata, timeout=30)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.running.port}"


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def fake_constraints() -> FakeConstraints:
    return FakeConstraints()


@pytest.fixture
def scheduling(settings, token, clock, fake_constraints) -> Iterator[Scheduling]:
    settings = settings.with_overrides(SCHEDULING_OUTBOX_POLL_SECONDS="0.05", INTERVIEWS_RATE_LIMIT_PER_SECOND="100000",
                                       INTERVIEWS_RATE_LIMIT_BURST="100000")
    spec = app.build(settings, constraints=fake_constraints, clock=clock)
    running = start_server(spec, settings, port=0, host="127.0.0.1")
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    yield Scheduling(scheduling_pb2_grpc.SchedulingServiceStub(channel), running, settings, clock, fake_constraints,
                     token("recruiter"), token)
    channel.close()
    running.stop(0.5)


# ---------------------------------------------------------------- directory helpers


def local_time(h: int, m: int = 0) -> common_pb2.LocalTime:
    return common_pb2.LocalTime(hours=h, minutes=m)


def weekdays(start: int = 9, end: int = 17) -> list[common_pb2.WeeklyInterval]:
    return [common_pb2.WeeklyInterval(day_of_week=d, start=local_time(start), end=local_time(end)) for d in range(1, 6)]


def time_range(start: datetime, end: datetime) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(start_time=timeconv.to_timestamp(start), end_time=timeconv.to_timestamp(end))


def minutes(n: int) -> Duration:
    return timeconv.to_duration(timedelta(minutes=n))


def add_interviewer(s: Scheduling, interviewer_id: str, areas, *, office="los-gatos", zone="America/Los_Angeles",
                    hours=None, per_day=0, per_week=0, trainee=False) -> pb.Interviewer:
    return s.call("CreateInterviewer", pb.CreateInterviewerRequest(
        interviewer_id=interviewer_id,
        interviewer=pb.Interviewer(
            display_name=interviewer_id.title(), email=f"{interviewer_id}@example.com", home_office=f"offices/{office}",
            ml_areas=list(areas), time_zone=zone, working_hours=hours if hours is not None else weekdays(),
            max_interviews_per_day=per_day, max_interviews_per_week=per_week, trainee=trainee)))


def add_room(s: Scheduling, room_id: str, *, office="los-gatos", capacity=4, accessible=False, video=True, quiet=False, hint="") -> pb.Room:
    return s.call("CreateRoom", pb.CreateRoomRequest(parent=f"offices/{office}", room_id=room_id, room=pb.Room(
        display_name=room_id.upper(), capacity=capacity, wheelchair_accessible=accessible, video_equipped=video, quiet=quiet,
        location_hint=hint)))


def add_candidate(s: Scheduling, candidate_id: str, *, zone="America/Los_Angeles", primary=common_pb2.ML_AREA_NLP,
                  secondary=common_pb2.ML_AREA_UNSPECIFIED, availability=()) -> pb.Candidate:
    return s.call("CreateCandidate", pb.CreateCandidateRequest(candidate_id=candidate_id, candidate=pb.Candidate(
        display_name=candidate_id.title(), email=f"{candidate_id}@candidates.example.org", time_zone=zone, primary_area=primary,
        secondary_area=secondary, availability=list(availability))))


def add_template(s: Scheduling, template_id: str, session_minutes=(60, 60), *, buffer=0, max_days=1, needed=1,
                 rule=pb.AREA_RULE_PRIMARY) -> pb.LoopTemplate:
    return s.call("CreateLoopTemplate", pb.CreateLoopTemplateRequest(loop_template_id=template_id, loop_template=pb.LoopTemplate(
        display_name=template_id, buffer_between_sessions=minutes(buffer), max_days=max_days,
        sessions=[pb.SessionTemplate(title=f"Session {i + 1}", kind=pb.SESSION_KIND_CODING, duration=minutes(m), area_rule=rule,
                                     interviewers_needed=needed) for i, m in enumerate(session_minutes)])))


def find(s: Scheduling, candidate: str, template: str, start: datetime, end: datetime, *, onsite: str | None = None, k=5,
         reschedule: str = "") -> pb.FindLoopPlansResponse:
    return s.call("FindLoopPlans", pb.FindLoopPlansRequest(
        candidate=f"candidates/{candidate}", loop_template=f"loopTemplates/{template}", window=time_range(start, end),
        location_mode=pb.LOCATION_MODE_ONSITE if onsite else pb.LOCATION_MODE_REMOTE, office=f"offices/{onsite}" if onsite else "",
        max_plans=k, reschedule_loop=reschedule))


def status_of(error: grpc.RpcError):
    from grpc_status import rpc_status

    return rpc_status.from_call(error)


def error_info(error: grpc.RpcError):
    from google.rpc import error_details_pb2

    status = status_of(error)
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def count_rows(s: Scheduling, model, *where) -> int:
    """Rows of one of the service's tables, read directly."""
    from sqlalchemy import func, select

    from services.core.db import Database

    db = Database(s.settings.database_url("scheduling"), "scheduling")
    try:
        with db.reader() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))
    finally:
        db.dispose()
