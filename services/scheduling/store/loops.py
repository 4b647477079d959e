"""Rows of loops, their sessions and holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

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
    session.add(loop)
    session.flush()  # the loop row first: sessions reference it
    session.add_all(rows)
    session.flush()
    return LoopRecord(loop, rows, zone)


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
