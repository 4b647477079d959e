"""The search world a replica shares between searches (store/search_world.py):
what it may miss and for how long, and what it must never miss.

Two `Database` objects on one database stand for two replicas: writes through
`other` are another replica's; writes through `db` are this replica's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from interviews.scheduling.v1 import scheduling_pb2 as pb
from interviews.scheduling.v1 import scheduling_pb2_grpc
from services.core.db import Database
from services.core.server import start_server
from services.scheduling import app, models
from services.scheduling.store import directory as dir_store
from services.scheduling.store.search_world import SearchWorlds
from services.scheduling.store.snapshot import DirectoryCache
from tests.scheduling.conftest import MON, NLP, Scheduling, add_candidate, add_interviewer, add_room, add_template, find

NOW = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)
SOON = NOW + timedelta(days=3)
NO_LEAD = timedelta(0)


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def url(database_urls: dict[str, str]) -> str:
    return database_urls["scheduling"]


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    database = Database(url, "scheduling")
    yield database
    database.dispose()


@pytest.fixture
def other(url: str) -> Iterator[Database]:
    database = Database(url, "scheduling")
    yield database
    database.dispose()


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


def worlds_for(db: Database, ticks: Ticks, max_age: float = 1.0) -> SearchWorlds:
    worlds = SearchWorlds(DirectoryCache(), max_age=max_age, min_notice=timedelta(hours=24), horizon=timedelta(days=90),
                          clock=ticks)
    db.after_write(worlds.invalidate)
    return worlds


def reserve(database: Database, resource: str, start: datetime, minutes: int = 60) -> None:
    with database.transaction() as s:
        s.add(models.ReservationRow(resource=resource, owner="loops/x", session_id="s", start_time=start,
                                    end_time=start + timedelta(minutes=minutes), active=True))


def room_busy(worlds: SearchWorlds, db: Database) -> dict:
    with db.reader() as s:
        return worlds.get(s, NOW, NO_LEAD).snapshot.room_busy


ROOM = "offices/los-gatos/rooms/a"


def test_another_replicas_booking_is_seen_once_the_world_is_older_than_max_age(db, other, ticks):
    worlds = worlds_for(db, ticks)
    assert room_busy(worlds, db) == {}
    reserve(other, ROOM, SOON)
    assert room_busy(worlds, db) == {}  # within the staleness bound: allowed to miss it
    ticks.value += 1.0
    assert [r.start for r in room_busy(worlds, db)[ROOM]] == [SOON]


def test_a_booking_through_this_replica_is_seen_at_once(db, ticks):
    worlds = worlds_for(db, ticks, max_age=3600)
    assert room_busy(worlds, db) == {}
    reserve(db, ROOM, SOON)
    assert [r.start for r in room_busy(worlds, db)[ROOM]] == [SOON]


def test_a_rolled_back_write_through_this_replica_drops_the_world_too(db, other, ticks):
    """A booking that clashed (ABORTED) rolls back: the next search must see the
    reservation it clashed with, not the world that offered the plan."""
    worlds = worlds_for(db, ticks, max_age=3600)
    assert room_busy(worlds, db) == {}
    reserve(other, ROOM, SOON)
    with pytest.raises(RuntimeError), db.transaction():
        raise RuntimeError("the booking clashed")
    assert [r.start for r in room_busy(worlds, db)[ROOM]] == [SOON]


def test_a_directory_change_through_another_replica_is_seen_at_once(db, other, ticks):
    worlds = worlds_for(db, ticks, max_age=3600)
    with db.reader() as s:
        before = worlds.get(s, NOW, NO_LEAD).snapshot
    assert "ana" not in before.interviewers
    with other.transaction() as s:
        s.add(models.InterviewerRow(id="ana", display_name="Ana", email="ana@example.com", home_office_id="los-gatos",
                                    ml_areas=[2], time_zone="America/Los_Angeles", working_hours=[[1, 540, 1020]],
                                    max_per_day=0, max_per_week=0, trainee=False, etag="e", create_time=NOW, update_time=NOW))
        dir_store.bump_directory_version(s)
    with db.reader() as s:
        assert "ana" in worlds.get(s, NOW, NO_LEAD).snapshot.interviewers


def test_an_unchanged_reload_keeps_the_snapshot_and_what_searches_memoised_on_it(db, ticks):
    worlds = worlds_for(db, ticks)
    reserve(db, ROOM, SOON)
    with db.reader() as s:
        first = worlds.get(s, NOW, NO_LEAD).snapshot
    first.memo["marker"] = True
    ticks.value += 5
    with db.reader() as s:
        again = worlds.get(s, NOW + timedelta(seconds=5), NO_LEAD).snapshot
    assert again is first and again.memo["marker"]


def test_each_lead_gets_its_own_snapshot_with_reservations_started_that_much_earlier(db, ticks):
    worlds = worlds_for(db, ticks)
    reserve(db, ROOM, SOON)
    with db.reader() as s:
        plain = worlds.get(s, NOW, NO_LEAD).snapshot
        led = worlds.get(s, NOW, timedelta(minutes=15)).snapshot
    assert [r.start for r in plain.room_busy[ROOM]] == [SOON]
    assert [r.start for r in led.room_busy[ROOM]] == [SOON - timedelta(minutes=15)]


def test_max_age_zero_reads_the_reservations_on_every_search(db, other, ticks):
    worlds = worlds_for(db, ticks, max_age=0)
    assert room_busy(worlds, db) == {}
    reserve(other, ROOM, SOON)
    assert [r.start for r in room_busy(worlds, db)[ROOM]] == [SOON]


def test_a_later_search_past_the_worlds_span_reads_again(db, other, ticks):
    """However young, a world read earlier must cover the horizon of a search
    made now, or it is read again."""
    worlds = worlds_for(db, ticks, max_age=10**9)
    late = NOW + timedelta(days=91, hours=12)  # past the first world's span (horizon + 1 day)
    with db.reader() as s:
        assert worlds.get(s, NOW, NO_LEAD).end < late
    reserve(other, ROOM, late)
    later = NOW + timedelta(days=2)
    with db.reader() as s:
        world = worlds.get(s, later, NO_LEAD)
    assert world.end >= later + timedelta(days=90)
    assert [r.start for r in world.snapshot.room_busy[ROOM]] == [late]


# ---------------------------------------------------------------- through the service


@contextmanager
def replica(settings, token, clock, constraints, staleness: str) -> Iterator[Scheduling]:
    own = settings.with_overrides(SCHEDULING_SEARCH_STALENESS_SECONDS=staleness)
    running = start_server(app.build(own, constraints=constraints, clock=clock), own, port=0, host="127.0.0.1")
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield Scheduling(scheduling_pb2_grpc.SchedulingServiceStub(channel), running, own, clock, constraints, token("recruiter"), token)
    finally:
        channel.close()
        running.stop(0.5)


def _clashes(plan: pb.LoopPlan, booked: pb.LoopPlan) -> bool:
    for a in plan.sessions:
        for b in booked.sessions:
            overlap = a.time_range.start_time.seconds < b.time_range.end_time.seconds and b.time_range.start_time.seconds < a.time_range.end_time.seconds
            if overlap and (set(a.interviewers) & set(b.interviewers) or (a.room and a.room == b.room)):
                return True
    return False


def _two_interviewers_one_room(s: Scheduling) -> None:
    add_interviewer(s, "ana", [NLP])
    add_interviewer(s, "bo", [NLP])
    add_room(s, "r1")
    add_candidate(s, "cand")
    add_candidate(s, "next")
    add_template(s, "one", (60,))


def test_a_replica_never_offers_again_what_it_just_booked_however_long_its_world_lives(settings, token, clock, fake_constraints):
    with replica(settings, token, clock, fake_constraints, "3600") as s:
        _two_interviewers_one_room(s)
        first = find(s, "cand", "one", MON, MON + timedelta(days=1), onsite="los-gatos").plans[0]
        s.call("BookLoop", pb.BookLoopRequest(plan=first, request_id="b1"))
        again = find(s, "next", "one", MON, MON + timedelta(days=1), onsite="los-gatos")
        assert again.plans and not any(_clashes(p, first) for p in again.plans)


def test_a_replica_that_reads_afresh_sees_another_replicas_booking_at_once(settings, token, clock, fake_constraints):
    with replica(settings, token, clock, fake_constraints, "3600") as a, replica(settings, token, clock, fake_constraints, "0") as b:
        _two_interviewers_one_room(a)
        first = find(b, "cand", "one", MON, MON + timedelta(days=1), onsite="los-gatos").plans[0]
        a.call("BookLoop", pb.BookLoopRequest(plan=first, request_id="b1"))
        again = find(b, "next", "one", MON, MON + timedelta(days=1), onsite="los-gatos")
        assert again.plans and not any(_clashes(p, first) for p in again.plans)
