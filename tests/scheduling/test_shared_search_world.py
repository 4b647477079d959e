"""The search world a replica shares between searches (store/search_world.py):
what it may miss and for how long, and what it must never miss.

Two `Database` objects on one database stand for two replicas: writes through
`other` are another replica's; writes through `db` are this replica's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from services.core.db import Database
from services.scheduling import models
from services.scheduling.store import directory as dir_store
from services.scheduling.store.search_world import SearchWorlds
from services.scheduling.store.snapshot import DirectoryCache

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
