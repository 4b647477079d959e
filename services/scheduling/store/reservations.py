"""Reserving resources so that no two active reservations of one resource
overlap, with the database as the last line (shared/DESIGN.md).

PostgreSQL: one `INSERT ... ON CONFLICT ON CONSTRAINT <exclusion> DO NOTHING
RETURNING` for all the rows of a booking; a plain INSERT under contention
sometimes deadlocks, this does not.
Fewer rows back than sent means a clash: the caller's transaction rolls back.
SQLite: writers are serialised, so an overlap query inside the transaction
sees every committed reservation; a trigger refuses overlaps regardless.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.errors import Aborted
from services.scheduling import models

R = models.ReservationRow


@dataclass(frozen=True)
class Wanted:
    resource: str
    session_id: str
    start: datetime
    end: datetime  # session end plus the gap kept after it


def conflict(resources: Sequence[str]) -> Aborted:
    names = sorted(set(resources))
    return Aborted(
        f"already booked meanwhile: {', '.join(names)}; search again",
        reason="RESOURCE_CONFLICT",
        metadata={"resource": names[0], "resources": ",".join(names)},
    )


def reserve(session: Session, owner: str, wanted: Sequence[Wanted], now: datetime, *, expire_time: datetime | None = None) -> None:
    """Adds every reservation or raises Aborted naming the clashing resources
    (the caller's transaction then rolls back: all or nothing)."""
    if not wanted:
        return
    if session.get_bind().dialect.name == "postgresql":
        _reserve_postgres(session, owner, wanted, now, expire_time)
        return
    rows = [
        {"resource": w.resource, "owner": owner, "session_id": w.session_id, "start_time": w.start,
         "end_time": w.end, "active": True, "expire_time": expire_time}
        for w in wanted
    ]
    _reserve_sqlite(session, rows, now)


# One statement text whatever the number of rows: the rows travel as arrays
# and `unnest` turns them back into rows. A fixed text is parsed once by the
# driver and, after a few uses, runs as a server-side prepared statement; a
# multi-row VALUES list is a new text for every row count and long enough
# that the driver re-parses it on every booking. The exclusion constraint
# decides exactly as for VALUES: a row that overlaps an active reservation
# (committed, or in the same statement) is skipped and not returned.
_INSERT = text(
    "INSERT INTO reservations (resource, owner, session_id, start_time, end_time, active, expire_time) "
    "SELECT t.resource, :owner, t.session_id, t.start_time, t.end_time, true, CAST(:expire_time AS timestamptz) "
    "FROM unnest(CAST(:resources AS text[]), CAST(:session_ids AS text[]), CAST(:starts AS timestamptz[]), "
    "CAST(:ends AS timestamptz[])) AS t(resource, session_id, start_time, end_time) "
    f"ON CONFLICT ON CONSTRAINT {models.RESERVATION_EXCLUSION} DO NOTHING "
    "RETURNING resource, session_id"
)


def _insert_postgres(session: Session, owner: str, wanted: Sequence[Wanted], expire_time: datetime | None) -> list[Wanted]:
    """Inserts what fits in one round trip; returns the reservations that clashed."""
    params = {
        "owner": owner,
        "expire_time": expire_time,
        "resources": [w.resource for w in wanted],
        "session_ids": [w.session_id for w in wanted],
        "starts": [w.start for w in wanted],
        "ends": [w.end for w in wanted],
    }
    inserted = Counter(tuple(row) for row in session.execute(_INSERT, params).all())
    missing = []
    for w in wanted:
        key = (w.resource, w.session_id)
        if inserted[key]:
            inserted[key] -= 1
        else:
            missing.append(w)
    return missing


def _reserve_postgres(session: Session, owner: str, wanted: Sequence[Wanted], now: datetime, expire_time: datetime | None) -> None:
    missing = _insert_postgres(session, owner, wanted, expire_time)
    if missing and _release_lapsed(session, [_bounds(w) for w in missing], now):
        missing = _insert_postgres(session, owner, missing, expire_time)
    if missing:
        raise conflict([w.resource for w in missing])


def _bounds(w: Wanted) -> dict:
    return {"resource": w.resource, "start_time": w.start, "end_time": w.end}


def _overlapping(session: Session, rows: list[dict]) -> list[tuple[str, datetime | None]]:
    clauses = [and_(R.resource == r["resource"], R.start_time < r["end_time"], R.end_time > r["start_time"]) for r in rows]
    query = select(R.resource, R.expire_time).where(R.active.is_(True), or_(*clauses))
    return [(resource, expire) for resource, expire in session.execute(query)]


def _reserve_sqlite(session: Session, rows: list[dict], now: datetime) -> None:
    clashes = _overlapping(session, rows)
    if clashes and any(expire is not None and expire <= now for _, expire in clashes):
        _release_lapsed(session, rows, now)
        clashes = _overlapping(session, rows)
    if clashes:
        raise conflict([resource for resource, _ in clashes])
    try:
        session.execute(R.__table__.insert(), rows)
    except IntegrityError:
        # The trigger caught what the check above did not (it never should).
        raise conflict([r["resource"] for r in rows]) from None


def _release_lapsed(session: Session, rows: list[dict], now: datetime) -> int:
    """Deactivates expired hold reservations in the way of `rows` (the sweeper
    may not have run yet); returns how many were released."""
    clauses = [and_(R.resource == r["resource"], R.start_time < r["end_time"], R.end_time > r["start_time"]) for r in rows]
    result = session.execute(
        update(R)
        .where(R.active.is_(True), R.expire_time.is_not(None), R.expire_time <= now, or_(*clauses))
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def release(session: Session, owner: str, *, session_id: str | None = None, resource: str | None = None) -> int:
    """Deactivates an owner's reservations (all, or one session's, or one resource's)."""
    query = update(R).where(R.owner == owner, R.active.is_(True))
    if session_id is not None:
        query = query.where(R.session_id == session_id)
    if resource is not None:
        query = query.where(R.resource == resource)
    return session.execute(query.values(active=False).execution_options(synchronize_session=False)).rowcount or 0


def transfer(session: Session, from_owner: str, to_owner: str) -> int:
    """Moves active reservations to another owner (a confirmed hold becomes a loop)."""
    query = update(R).where(R.owner == from_owner, R.active.is_(True)).values(owner=to_owner, expire_time=None)
    return session.execute(query.execution_options(synchronize_session=False)).rowcount or 0


def count_overlaps(session: Session) -> int:
    """Pairs of active reservations of one resource that overlap (must be 0)."""
    a, b = R.__table__.alias("a"), R.__table__.alias("b")
    query = select(a.c.id).select_from(a.join(b, and_(a.c.resource == b.c.resource, a.c.id < b.c.id))).where(
        a.c.active.is_(True), b.c.active.is_(True), a.c.start_time < b.c.end_time, b.c.start_time < a.c.end_time
    )
    return len(session.execute(query).all())
