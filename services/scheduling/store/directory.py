"""Reads and writes of the directory: offices, rooms, interviewers, busy
blocks, candidates and loop templates. Every function takes the session of a
transaction the caller opened; every directory write bumps the directory
version so each replica's cached copy (`store.snapshot`) reloads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, delete, exists, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from services.core.errors import AlreadyExists, FailedPrecondition, NotFound, check_etag
from services.core.names import new_id
from services.scheduling import models

T = TypeVar("T")


def bump_directory_version(session: Session) -> None:
    session.execute(update(models.DirectoryState).where(models.DirectoryState.id == 1).values(version=models.DirectoryState.version + 1))


# Read on every search and booking: built once (building a SELECT costs about
# as much as running this one).
_VERSION = select(models.DirectoryState.version).where(models.DirectoryState.id == 1)


def directory_version(session: Session) -> int:
    return session.scalar(_VERSION) or 0


def _etag() -> str:
    return new_id()[:16]


def _apply(row: Any, values: dict[str, Any], now: datetime) -> None:
    for column, value in values.items():
        setattr(row, column, value)
    row.update_time = now
    row.etag = _etag()


def _get(session: Session, model: type[T], key: Any, name: str, *, for_update: bool = False) -> T:
    row = session.get(model, key, with_for_update=for_update)
    if row is None:
        raise NotFound(name)
    return row


def _page(session: Session, model: type[T], keys: Sequence[Any], after: list[Any] | None, limit: int, *where: Any,
          keep: Callable[[T], bool] | None = None) -> list[T]:
    """Rows in key order after the `after` key, `limit` of them (those passing
    `keep`, a filter SQL cannot express portably, e.g. inside a JSON list)."""
    query = select(model).where(*where).order_by(*keys)
    if after is not None:
        query = query.where(tuple_(*keys) > tuple_(*after)) if len(keys) > 1 else query.where(keys[0] > after[0])
    if keep is None:
        return list(session.scalars(query.limit(limit)))
    out: list[T] = []
    for row in session.scalars(query.execution_options(yield_per=200)):
        if keep(row):
            out.append(row)
            if len(out) >= limit:
                break
    return out


# ---------------------------------------------------------------- offices


def get_office(session: Session, office_id: str) -> models.OfficeRow:
    return _get(session, models.OfficeRow, office_id, f"offices/{office_id}")


def list_offices(session: Session, after: list[Any] | None, limit: int) -> list[models.OfficeRow]:
    return _page(session, models.OfficeRow, [models.OfficeRow.id], after, limit)


def update_office(session: Session, office_id: str, values: dict[str, Any], etag: str, now: datetime) -> models.OfficeRow:
    row = _get(session, models.OfficeRow, office_id, f"offices/{office_id}", for_update=True)
    check_etag(etag, row.etag, f"offices/{office_id}")
    _apply(row, values, now)
    bump_directory_version(session)
    return row


# ---------------------------------------------------------------- rooms


def create_room(session: Session, office_id: str, room_id: str, values: dict[str, Any], now: datetime) -> models.RoomRow:
    get_office(session, office_id)
    if session.get(models.RoomRow, (office_id, room_id)) is not None:
        raise AlreadyExists(f"offices/{office_id}/rooms/{room_id} already exists")
    row = models.RoomRow(office_id=office_id, id=room_id, create_time=now)
    _apply(row, values, now)
    session.add(row)
    session.flush()
    bump_directory_version(session)
    return row


def get_room(session: Session, office_id: str, room_id: str, *, for_update: bool = False) -> models.RoomRow:
    return _get(session, models.RoomRow, (office_id, room_id), f"offices/{office_id}/rooms/{room_id}", for_update=for_update)


def list_rooms(session: Session, office_id: str | None, after: list[Any] | None, limit: int) -> list[models.RoomRow]:
    where = [models.RoomRow.office_id == office_id] if office_id else []
    return _page(session, models.RoomRow, [models.RoomRow.office_id, models.RoomRow.id], after, limit, *where)


def update_room(session: Session, office_id: str, room_id: str, values: dict[str, Any], etag: str, now: datetime) -> models.RoomRow:
    row = get_room(session, office_id, room_id, for_update=True)
    check_etag(etag, row.etag, row.name)
    _apply(row, values, now)
    bump_directory_version(session)
    return row


def _has_future_reservations(session: Session, resource: str, now: datetime) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    models.ReservationRow.resource == resource,
                    models.ReservationRow.active.is_(True),
                    models.ReservationRow.end_time > now,
                )
            )
        )
    )


def delete_room(session: Session, office_id: str, room_id: str, etag: str, now: datetime) -> None:
    row = get_room(session, office_id, room_id, for_update=True)
    check_etag(etag, row.etag, row.name)
    if _has_future_reservations(session, row.name, now):
        raise FailedPrecondition(f"{row.name} has booked or held sessions; move them first", reason="RESOURCE_IN_USE", subject=row.name)
    session.delete(row)
    bump_directory_version(session)


# ---------------------------------------------------------------- interviewers


def create_interviewer(session: Session, interviewer_id: str, values: dict[str, Any], now: datetime) -> models.InterviewerRow:
    get_office(session, values["home_office_id"])
    if session.get(models.InterviewerRow, interviewer_id) is not None:
        raise AlreadyExists(f"interviewers/{interviewer_id} already exists")
    row = models.InterviewerRow(id=interviewer_id, create_time=now)
    _apply(row, values, now)
    session.add(row)
    session.flush()
    bump_directory_version(session)
    return row


def get_interviewer(session: Session, interviewer_id: str, *, for_update: bool = False) -> models.InterviewerRow:
    return _get(session, models.InterviewerRow, interviewer_id, f"interviewers/{interviewer_id}", for_update=for_update)


def get_interviewers(session: Session, ids: Sequence[str]) -> dict[str, models.InterviewerRow]:
    rows = session.scalars(select(models.InterviewerRow).where(models.InterviewerRow.id.in_(list(ids))))
    return {row.id: row for row in rows}


def list_interviewers(session: Session, ml_area: int, office_id: str, after: list[Any] | None, limit: int) -> list[models.InterviewerRow]:
    where = [models.InterviewerRow.home_office_id == office_id] if office_id else []
    keep = (lambda row: ml_area in row.ml_areas) if ml_area else None
    return _page(session, models.InterviewerRow, [models.InterviewerRow.id], after, limit, *where, keep=keep)


def update_interviewer(session: Session, interviewer_id: str, values: dict[str, Any], etag: str, now: datetime) -> models.InterviewerRow:
    row = get_interviewer(session, interviewer_id, for_update=True)
    check_etag(etag, row.etag, f"interviewers/{interviewer_id}")
    if "home_office_id" in values:
        get_office(session, values["home_office_id"])
    _apply(row, values, now)
    bump_directory_version(session)
    return row


def delete_interviewer(session: Session, interviewer_id: str, etag: str, now: datetime) -> None:
    row = get_interviewer(session, interviewer_id, for_update=True)
    name = f"interviewers/{interviewer_id}"
    check_etag(etag, row.etag, name)
    if _has_future_reservations(session, name, now):
        raise FailedPrecondition(f"{name} has booked or held sessions; replace them first", reason="RESOURCE_IN_USE", subject=name)
    session.execute(delete(models.BusyBlockRow).where(models.BusyBlockRow.interviewer_id == interviewer_id))
    session.delete(row)
    bump_directory_version(session)


# ---------------------------------------------------------------- busy blocks


def create_busy_block(session: Session, interviewer_id: str, start: datetime, end: datetime, kind: int, source: int, now: datetime) -> models.BusyBlockRow:
    get_interviewer(session, interviewer_id)
    row = models.BusyBlockRow(id=new_id(), interviewer_id=interviewer_id, start_time=start, end_time=end, kind=kind, source=source, create_time=now)
    session.add(row)
    session.flush()
    bump_directory_version(session)
    return row


def list_busy_blocks(session: Session, interviewer_id: str, start: datetime | None, end: datetime | None,
                     after: list[Any] | None, limit: int) -> list[models.BusyBlockRow]:
    get_interviewer(session, interviewer_id)
    where = [models.BusyBlockRow.interviewer_id == interviewer_id]
    if start is not None and end is not None:
        where += [models.BusyBlockRow.start_time < end, models.BusyBlockRow.end_time > start]
    keys = [models.BusyBlockRow.start_time, models.BusyBlockRow.id]
    if after is not None:
        after = [datetime.fromisoformat(after[0]), after[1]]
        where.append(or_(models.BusyBlockRow.start_time > after[0], and_(models.BusyBlockRow.start_time == after[0], models.BusyBlockRow.id > after[1])))
    return list(session.scalars(select(models.BusyBlockRow).where(*where).order_by(*keys).limit(limit)))


def delete_busy_block(session: Session, interviewer_id: str, block_id: str) -> None:
    row = session.get(models.BusyBlockRow, block_id)
    if row is None or row.interviewer_id != interviewer_id:
        raise NotFound(f"interviewers/{interviewer_id}/busyBlocks/{block_id}")
    session.delete(row)
    bump_directory_version(session)


def replace_imported_busy_blocks(session: Session, interviewer_id: str, ranges: Sequence[tuple[datetime, datetime, int]],
                                 source: int, now: datetime) -> tuple[int, int]:
    """Deletes the interviewer's earlier imported blocks and adds `ranges`, in
    the caller's one transaction: readers see the old set or the new, never a mix."""
    get_interviewer(session, interviewer_id, for_update=True)
    replaced = session.execute(
        delete(models.BusyBlockRow).where(models.BusyBlockRow.interviewer_id == interviewer_id, models.BusyBlockRow.source == source)
    ).rowcount
    session.add_all(
        models.BusyBlockRow(id=new_id(), interviewer_id=interviewer_id, start_time=s, end_time=e, kind=k, source=source, create_time=now)
        for s, e, k in ranges
    )
    session.flush()
    bump_directory_version(session)
    return len(ranges), replaced or 0


# ---------------------------------------------------------------- candidates


def create_candidate(session: Session, candidate_id: str, values: dict[str, Any], now: datetime) -> models.CandidateRow:
    if values.get("preferred_office_id"):
        get_office(session, values["preferred_office_id"])
    if session.get(models.CandidateRow, candidate_id) is not None:
        raise AlreadyExists(f"candidates/{candidate_id} already exists")
    row = models.CandidateRow(id=candidate_id, create_time=now)
    _apply(row, values, now)
    session.add(row)
    session.flush()
    return row


def get_candidate(session: Session, candidate_id: str, *, for_update: bool = False) -> models.CandidateRow:
    return _get(session, models.CandidateRow, candidate_id, f"candidates/{candidate_id}", for_update=for_update)


def list_candidates(session: Session, after: list[Any] | None, limit: int) -> list[models.CandidateRow]:
    return _page(session, models.CandidateRow, [models.CandidateRow.id], after, limit)


def update_candidate(session: Session, candidate_id: str, values: dict[str, Any], etag: str, now: datetime) -> models.CandidateRow:
    row = get_candidate(session, candidate_id, for_update=True)
    check_etag(etag, row.etag, f"candidates/{candidate_id}")
    if values.get("preferred_office_id"):
        get_office(session, values["preferred_office_id"])
    _apply(row, values, now)
    return row


def delete_candidate(session: Session, candidate_id: str, etag: str, now: datetime) -> None:
    row = get_candidate(session, candidate_id, for_update=True)
    name = f"candidates/{candidate_id}"
    check_etag(etag, row.etag, name)
    if _has_future_reservations(session, name, now):
        raise FailedPrecondition(f"{name} has booked or held loops; cancel them first", reason="RESOURCE_IN_USE", subject=name)
    session.delete(row)


# ---------------------------------------------------------------- loop templates


def create_template(session: Session, template_id: str, values: dict[str, Any], now: datetime) -> models.LoopTemplateRow:
    if session.get(models.LoopTemplateRow, template_id) is not None:
        raise AlreadyExists(f"loopTemplates/{template_id} already exists")
    row = models.LoopTemplateRow(id=template_id, create_time=now)
    _apply(row, values, now)
    session.add(row)
    session.flush()
    return row


def get_template(session: Session, template_id: str, *, for_update: bool = False) -> models.LoopTemplateRow:
    return _get(session, models.LoopTemplateRow, template_id, f"loopTemplates/{template_id}", for_update=for_update)


def list_templates(session: Session, after: list[Any] | None, limit: int) -> list[models.LoopTemplateRow]:
    return _page(session, models.LoopTemplateRow, [models.LoopTemplateRow.id], after, limit)


def update_template(session: Session, template_id: str, values: dict[str, Any], etag: str, now: datetime) -> models.LoopTemplateRow:
    row = get_template(session, template_id, for_update=True)
    check_etag(etag, row.etag, f"loopTemplates/{template_id}")
    _apply(row, values, now)
    return row


def delete_template(session: Session, template_id: str, etag: str) -> None:
    row = get_template(session, template_id, for_update=True)
    check_etag(etag, row.etag, f"loopTemplates/{template_id}")
    in_use = session.scalar(select(func.count()).select_from(models.LoopRow).where(
        models.LoopRow.template_id == template_id, models.LoopRow.state == models.LoopState.BOOKED))
    if in_use:
        raise FailedPrecondition(f"loopTemplates/{template_id} is used by {in_use} booked loop(s)", reason="RESOURCE_IN_USE",
                                 subject=f"loopTemplates/{template_id}")
    session.delete(row)
