"""The database itself refuses overlapping active reservations of one
resource (PostgreSQL exclusion constraint; SQLite trigger), whatever code
path writes them; back-to-back and inactive ones are fine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from services.core.db import Database
from services.core.errors import Aborted
from services.scheduling import models
from services.scheduling.store.reservations import Wanted, count_overlaps, reserve

T0 = datetime(2026, 6, 1, 16, tzinfo=UTC)


@pytest.fixture
def db(database_urls):
    database = Database(database_urls["scheduling"], "scheduling")
    yield database
    database.dispose()


def _row(resource: str, start: datetime, minutes: int, owner: str = "loops/a", active: bool = True) -> models.ReservationRow:
    return models.ReservationRow(resource=resource, owner=owner, session_id="s", start_time=start,
                                 end_time=start + timedelta(minutes=minutes), active=active)


def test_overlap_is_refused_by_the_database(db):
    with db.transaction() as session:
        session.add(_row("interviewers/ana", T0, 60))
    with pytest.raises(IntegrityError):
        with db.transaction() as session:
            session.add(_row("interviewers/ana", T0 + timedelta(minutes=59), 30, owner="loops/b"))
    with db.transaction() as session:
        session.add(_row("interviewers/ana", T0 + timedelta(minutes=60), 30, owner="loops/c"))  # back to back
        session.add(_row("interviewers/bo", T0, 60, owner="loops/c"))  # another resource
        session.add(_row("interviewers/ana", T0, 60, owner="loops/d", active=False))  # inactive
    with db.reader() as session:
        assert count_overlaps(session) == 0


def test_reactivating_into_an_overlap_is_refused(db):
    with db.transaction() as session:
        session.add(_row("offices/x/rooms/r", T0, 60))
        session.add(_row("offices/x/rooms/r", T0, 60, owner="loops/old", active=False))
    with pytest.raises(IntegrityError):
        with db.transaction() as session:
            session.execute(update(models.ReservationRow).where(models.ReservationRow.owner == "loops/old").values(active=True))


def test_reserve_is_all_or_nothing_and_names_the_clash(db):
    with db.transaction() as session:
        session.add(_row("interviewers/ana", T0, 60))
    wanted = [Wanted("interviewers/bo", "s1", T0, T0 + timedelta(minutes=60)),
              Wanted("interviewers/ana", "s1", T0 + timedelta(minutes=30), T0 + timedelta(minutes=90))]
    with pytest.raises(Aborted) as caught:
        with db.transaction() as session:
            reserve(session, "loops/new", wanted, T0 - timedelta(days=1))
    assert caught.value.metadata["resource"] == "interviewers/ana"
    with db.reader() as session:
        assert session.query(models.ReservationRow).filter_by(owner="loops/new").count() == 0


def test_lapsed_hold_gives_way(db):
    with db.transaction() as session:
        row = _row("interviewers/ana", T0, 60, owner="holds/h")
        row.expire_time = T0 - timedelta(hours=2)
        session.add(row)
    with db.transaction() as session:
        reserve(session, "loops/new", [Wanted("interviewers/ana", "s1", T0, T0 + timedelta(minutes=60))], T0 - timedelta(hours=1))
    with db.reader() as session:
        assert count_overlaps(session) == 0
        assert session.query(models.ReservationRow).filter_by(owner="holds/h", active=True).count() == 0
