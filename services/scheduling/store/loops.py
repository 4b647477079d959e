"""Rows of loops, their sessions and holds."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, Table, TextClause, insert, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from services.core.db import UtcDateTime
from services.core.errors import NotFound
from services.core.names import new_id
from services.scheduling import models
from services.scheduling.convert_plans import LoopRecord
from services.scheduling.domain import model as dm


def _zone(session: Session, candidate_id: str) -> str:
    zone = session.scalar(select(models.CandidateRow.time_zone).where(models.CandidateRow.id == candidate_id))
    return zone or "UTC"  # the candidate was deleted after the loop was cancelled


def _sessions(session: Session, loop_id: str) -> list[models.LoopSessionRow]:
    return list(session.scalars(select(models.LoopSessionRow).where(models.LoopSessionRow.loop_id == loop_id).order_by(models.LoopSessionRow.position)))


def get_loop(session: Session, loop_id: str, *, for_update: bool = False) -> LoopRecord:
    loop = session.get(models.LoopRow, loop_id, with_for_update=for_update)
    if loop is None:
        raise NotFound(f"loops/{loop_id}")
    return LoopRecord(loop, _sessions(session, loop_id), _zone(session, loop.candidate_id))


def list_loops(session: Session, candidate_id: str, state: int, after: list[Any] | None, limit: int) -> list[LoopRecord]:
    query = select(models.LoopRow).order_by(models.LoopRow.id).limit(limit)
    if candidate_id:
        query = query.where(models.LoopRow.candidate_id == candidate_id)
    if state:
        query = query.where(models.LoopRow.state == state)
    if after is not None:
        query = query.where(models.LoopRow.id > after[0])
    loops = list(session.scalars(query))
    if not loops:
        return []
    rows = session.scalars(select(models.LoopSessionRow).where(models.LoopSessionRow.loop_id.in_([l.id for l in loops])))
    by_loop: dict[str, list[models.LoopSessionRow]] = {}
    for row in rows:
        by_loop.setdefault(row.loop_id, []).append(row)
    zones = dict(session.execute(select(models.CandidateRow.id, models.CandidateRow.time_zone).where(
        models.CandidateRow.id.in_({l.candidate_id for l in loops}))).all())
    return [
        LoopRecord(l, sorted(by_loop.get(l.id, []), key=lambda r: r.position), zones.get(l.candidate_id, "UTC"))
        for l in loops
    ]


def booked_loops_of(session: Session, candidate_id: str, after: datetime) -> list[LoopRecord]:
    """The candidate's booked loops that end after `after`."""
    loops = session.scalars(select(models.LoopRow).where(
        models.LoopRow.candidate_id == candidate_id, models.LoopRow.state == models.LoopState.BOOKED).order_by(models.LoopRow.id))
    zone = _zone(session, candidate_id)
    out = []
    for loop in loops:
        sessions = _sessions(session, loop.id)
        if sessions and max(s.end_time for s in sessions) > after:
            out.append(LoopRecord(loop, sessions, zone))
    return out


def add_loop(session: Session, loop_id: str, plan: dm.Plan, session_ids: Sequence[str], video_link: str, zone: str,
             now: datetime) -> LoopRecord:
    """Writes a new loop and its sessions straight to the tables (one
    statement on PostgreSQL, see below; on SQLite the loop, then its
    sessions), not through the ORM's unit of work, which costs more than the
    statements themselves. The returned rows are plain (transient) objects
    holding exactly what was written; `get_loop` reads them back."""
    loop = models.LoopRow(
        id=loop_id,
        candidate_id=plan.candidate_id,
        template_id=plan.template_id,
        state=models.LoopState.BOOKED,
        location_mode=int(plan.mode),
        office_id=plan.office_id,
        gap_minutes=int(plan.gap.total_seconds() // 60),
        score=plan.score,
        days=plan.days,
        video_link=video_link,
        cancel_reason="",
        constraint_violations=[],
        etag=new_id()[:16],
        create_time=now,
        update_time=now,
    )
    rows = [
        models.LoopSessionRow(
            id=session_id,
            loop_id=loop_id,
            position=s.index,
            title=s.title,
            kind=int(s.kind),
            start_time=s.start,
            end_time=s.end,
            interviewer_ids=list(s.interviewer_ids),
            room_id=s.room_id,
            remote=s.remote,
            adjustments=list(s.adjustments),
            sequence=0,
        )
        for s, session_id in zip(plan.sessions, session_ids, strict=True)
    ]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_insert_loop_postgres(), {**_arrays(_LOOPS, [loop], "l_"), **_arrays(_SESSIONS, rows, "s_")})
    else:
        session.execute(insert(_LOOPS), [_values(loop, _LOOPS)])
        if rows:
            session.execute(insert(_SESSIONS), [_values(row, _SESSIONS) for row in rows])
    return LoopRecord(loop, rows, zone)


_LOOPS = models.LoopRow.__table__
_SESSIONS = models.LoopSessionRow.__table__


def _values(row: Any, table: Table) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in table.columns}


# PostgreSQL: the loop and all its sessions in one statement (one round trip
# instead of three or more; a list of rows sent with executemany costs a
# pipeline sync of its own). Every column travels as an array that `unnest`
# turns back into rows; JSON values as text, cast back. The column lists come
# from the tables, so a new column cannot be left out unnoticed. The sessions'
# foreign key is checked at the end of the statement, when the loop is there.


def _arrays(table: Table, rows: Sequence[Any], prefix: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for c in table.columns:
        values = [getattr(row, c.key) for row in rows]
        if isinstance(c.type, JSON):
            values = [json.dumps(v) for v in values]
        elif isinstance(c.type, Integer):
            values = [None if v is None else int(v) for v in values]  # IntEnum members as plain numbers
        elif isinstance(c.type, UtcDateTime) and any(v is not None and v.tzinfo is None for v in values):
            raise ValueError(f"naive datetime given to {table.name}.{c.name}")  # as UtcDateTime refuses it
        out[prefix + c.key] = values
    return out


def _unnest(table: Table, prefix: str, alias: str) -> tuple[str, str, str]:
    """(column list, select list, FROM unnest(...) clause) of an INSERT ... SELECT for `table`."""
    dialect = postgresql.dialect()
    names, selected, arrays = [], [], []
    for c in table.columns:
        names.append(c.name)
        if isinstance(c.type, JSON):
            arrays.append(f"CAST(:{prefix}{c.key} AS text[])")
            selected.append(f"CAST({alias}.{c.name} AS json)")
        else:
            arrays.append(f"CAST(:{prefix}{c.key} AS {c.type.compile(dialect=dialect)}[])")
            selected.append(f"{alias}.{c.name}")
    return ", ".join(names), ", ".join(selected), f"unnest({', '.join(arrays)}) AS {alias}({', '.join(names)})"


@functools.cache
def _insert_loop_postgres() -> TextClause:
    loop_columns, loop_select, loop_from = _unnest(_LOOPS, "l_", "l")
    session_columns, session_select, session_from = _unnest(_SESSIONS, "s_", "s")
    return text(
        f"WITH new_loop AS (INSERT INTO {_LOOPS.name} ({loop_columns}) SELECT {loop_select} FROM {loop_from} RETURNING id) "
        f"INSERT INTO {_SESSIONS.name} ({session_columns}) SELECT {session_select} FROM {session_from} "
        "WHERE EXISTS (SELECT 1 FROM new_loop)"
    )


def touch(loop: models.LoopRow, now: datetime) -> None:
    loop.update_time = now
    loop.etag = new_id()[:16]


def get_hold(session: Session, hold_id: str, *, for_update: bool = False) -> models.HoldRow:
    hold = session.get(models.HoldRow, hold_id, with_for_update=for_update)
    if hold is None:
        raise NotFound(f"holds/{hold_id}")
    return hold


def lapsed_holds(session: Session, now: datetime, limit: int = 500) -> list[str]:
    return list(session.scalars(select(models.HoldRow.id).where(
        models.HoldRow.state == models.HoldState.ACTIVE, models.HoldRow.expire_time <= now).limit(limit)))


def mark_expired(session: Session, hold_ids: Sequence[str]) -> None:
    session.execute(update(models.HoldRow).where(models.HoldRow.id.in_(list(hold_ids)), models.HoldRow.state == models.HoldState.ACTIVE)
                    .values(state=models.HoldState.EXPIRED).execution_options(synchronize_session=False))
