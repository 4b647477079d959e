"""Plans, loops, holds and constraints between protos, the domain dataclasses
and the JSON a hold keeps its plan in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core import names, timeconv
from services.core.errors import InvalidArgument
from services.scheduling import models
from services.scheduling.domain import model as dm

MAX_PLAN_SESSIONS = 12


# ---------------------------------------------------------------- constraints


def constraints(message: common_pb2.SchedulingConstraints | None) -> dm.Constraints:
    if message is None:
        return dm.Constraints()
    return dm.Constraints(
        duration_multiplier=message.duration_multiplier or 1.0,
        extra_break_minutes=max(0, message.extra_break_minutes),
        max_sessions_per_day=max(0, message.max_sessions_per_day),
        remote_only=message.remote_only,
        accessible_room=message.accessible_room,
        interpreter=message.interpreter,
        captioning=message.captioning,
        one_interviewer_at_a_time=message.one_interviewer_at_a_time,
        quiet_room=message.quiet_room,
        allowed_windows=tuple(
            dm.DailyWindow(w.start.hours * 60 + w.start.minutes, w.end.hours * 60 + w.end.minutes)
            for w in message.allowed_windows
        ),
        interviewer_notes=tuple(message.interviewer_notes),
    )


# ---------------------------------------------------------------- plans


def _local(instant: datetime, zone: str) -> str:
    return instant.astimezone(ZoneInfo(zone)).isoformat()


def _range(start: datetime, end: datetime) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(start_time=timeconv.to_timestamp(start), end_time=timeconv.to_timestamp(end))


def session_proto(session: dm.PlannedSession, zone: str) -> pb.PlannedSession:
    return pb.PlannedSession(
        session_index=session.index,
        title=session.title,
        kind=int(session.kind),
        time_range=_range(session.start, session.end),
        candidate_local_start=_local(session.start, zone),
        candidate_local_end=_local(session.end, zone),
        interviewers=[f"interviewers/{i}" for i in session.interviewer_ids],
        room=session.room_id or "",
        remote=session.remote,
        adjustments=list(session.adjustments),
    )


def plan_proto(plan: dm.Plan, zone: str) -> pb.LoopPlan:
    return pb.LoopPlan(
        candidate=f"candidates/{plan.candidate_id}",
        loop_template=f"loopTemplates/{plan.template_id}",
        location_mode=int(plan.mode),
        office=f"offices/{plan.office_id}" if plan.office_id else "",
        sessions=[session_proto(s, zone) for s in plan.sessions],
        score=plan.score,
        score_breakdown=dict(plan.score_breakdown),
        days=plan.days,
    )


def plan_from_proto(message: pb.LoopPlan, field: str) -> dm.Plan:
    """A client's plan, checked for shape only; the rules are checked by
    `validate_plan` against the database. `gap` is left 0 for the caller to
    set from the template and the constraints (the proto does not carry it)."""
    candidate_id = names.parse_id("candidates/{candidate}", message.candidate, f"{field}.candidate")
    template_id = names.parse_id("loopTemplates/{loop_template}", message.loop_template, f"{field}.loop_template")
    if message.location_mode not in (pb.LOCATION_MODE_ONSITE, pb.LOCATION_MODE_REMOTE):
        raise InvalidArgument(f"{field}.location_mode", "must be ONSITE or REMOTE")
    onsite = message.location_mode == pb.LOCATION_MODE_ONSITE
    office_id = names.parse_id("offices/{office}", message.office, f"{field}.office") if onsite else None
    if not onsite and message.office:
        raise InvalidArgument(f"{field}.office", "must be empty for a remote plan")
    if not message.sessions:
        raise InvalidArgument(f"{field}.sessions", "a plan needs at least one session")
    if len(message.sessions) > MAX_PLAN_SESSIONS:
        raise InvalidArgument(f"{field}.sessions", f"at most {MAX_PLAN_SESSIONS} sessions")
    sessions = []
    for i, s in enumerate(message.sessions):
        where = f"{field}.sessions[{i}]"
        start, end = timeconv.time_range(s.time_range, f"{where}.time_range")
        if not s.interviewers:
            raise InvalidArgument(f"{where}.interviewers", "at least one interviewer")
        interviewers = tuple(names.parse_id("interviewers/{interviewer}", v, f"{where}.interviewers[{j}]") for j, v in enumerate(s.interviewers))
        room_id = None
        if s.room:
            names.parse("offices/{office}/rooms/{room}", s.room, f"{where}.room")
            room_id = s.room
        if s.kind not in pb.SessionKind.values():
            raise InvalidArgument(f"{where}.kind", "unknown session kind")
        sessions.append(
            dm.PlannedSession(
                index=s.session_index,
                title=s.title,
                kind=dm.SessionKind(s.kind),
                start=start,
                end=end,
                interviewer_ids=interviewers,
                room_id=room_id,
                remote=s.remote,
                adjustments=tuple(s.adjustments),
            )
        )
    return dm.Plan(
        candidate_id=candidate_id,
        template_id=template_id,
        mode=dm.LocationMode(message.location_mode),
        office_id=office_id,
        sessions=tuple(sessions),
        score=message.score,
        score_breakdown=dict(message.score_breakdown),
        days=message.days,
    )


def plan_to_json(plan: dm.Plan) -> dict[str, Any]:
    return {
        "candidate": plan.candidate_id,
        "template": plan.template_id,
        "mode": int(plan.mode),
        "office": plan.office_id,
        "score": plan.score,
        "breakdown": dict(plan.score_breakdown),
        "days": plan.days,
        "gap_minutes": int(plan.gap.total_seconds() // 60),
        "sessions": [
            {
                "index": s.index,
                "title": s.title,
                "kind": int(s.kind),
                "start": s.start.isoformat(),
                "end": s.end.isoformat(),
                "interviewers": list(s.interviewer_ids),
                "room": s.room_id,
                "remote": s.remote,
                "adjustments": list(s.adjustments),
            }
            for s in plan.sessions
        ],
    }


def plan_from_json(data: dict[str, Any]) -> dm.Plan:
    return dm.Plan(
        candidate_id=data["candidate"],
        template_id=data["template"],
        mode=dm.LocationMode(data["mode"]),
        office_id=data["office"],
        sessions=tuple(
            dm.PlannedSession(
                index=s["index"],
                title=s["title"],
                kind=dm.SessionKind(s["kind"]),
                start=datetime.fromisoformat(s["start"]),
                end=datetime.fromisoformat(s["end"]),
                interviewer_ids=tuple(s["interviewers"]),
                room_id=s["room"],
                remote=s["remote"],
                adjustments=tuple(s["adjustments"]),
            )
            for s in data["sessions"]
        ),
        score=data["score"],
        score_breakdown=data["breakdown"],
        days=data["days"],
        gap=timedelta(minutes=data["gap_minutes"]),
    )


def no_plan_reason_proto(reason: dm.NoPlanReason) -> pb.NoPlanReason:
    message = pb.NoPlanReason(code=reason.code, message=reason.message)
    if reason.date is not None:
        message.date.CopyFrom(_date(reason.date))
    return message


def _date(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


# ---------------------------------------------------------------- loops and holds


@dataclass(frozen=True)
class LoopRecord:
    """A loop as the store returns it: its row, its sessions in order, and the
    candidate's zone (for the candidate-local times)."""

    loop: models.LoopRow
    sessions: list[models.LoopSessionRow]
    time_zone: str


def session_from_row(row: models.LoopSessionRow) -> dm.PlannedSession:
    return dm.PlannedSession(
        index=row.position,
        title=row.title,
        kind=dm.SessionKind(row.kind),
        start=row.start_time,
        end=row.end_time,
        interviewer_ids=tuple(row.interviewer_ids),
        room_id=row.room_id,
        remote=row.remote,
        adjustments=tuple(row.adjustments),
    )


def plan_from_record(record: LoopRecord) -> dm.Plan:
    loop = record.loop
    return dm.Plan(
        candidate_id=loop.candidate_id,
        template_id=loop.template_id,
        mode=dm.LocationMode(loop.location_mode),
        office_id=loop.office_id,
        sessions=tuple(session_from_row(s) for s in record.sessions),
        score=loop.score,
        days=loop.days,
        gap=timedelta(minutes=loop.gap_minutes),
    )


def loop_proto(record: LoopRecord) -> pb.Loop:
    loop = record.loop
    return pb.Loop(
        name=f"loops/{loop.id}",
        candidate=f"candidates/{loop.candidate_id}",
        loop_template=f"loopTemplates/{loop.template_id}",
        state=loop.state,
        location_mode=loop.location_mode,
        office=f"offices/{loop.office_id}" if loop.office_id else "",
        sessions=[
            pb.LoopSession(
                session_id=s.id,
                session=session_proto(session_from_row(s), record.time_zone),
                video_link=loop.video_link,
                sequence=s.sequence,
            )
            for s in record.sessions
        ],
        cancel_reason=loop.cancel_reason,
        constraint_violations=list(loop.constraint_violations),
        etag=loop.etag,
        create_time=timeconv.to_timestamp(loop.create_time),
        update_time=timeconv.to_timestamp(loop.update_time),
    )


def hold_proto(row: models.HoldRow, time_zone: str, now: datetime) -> pb.Hold:
    state = row.state
    # The sweeper persists expiry a little later; readers never see a lapsed hold as active.
    if state == models.HoldState.ACTIVE and row.expire_time <= now:
        state = models.HoldState.EXPIRED
    return pb.Hold(
        name=f"holds/{row.id}",
        plan=plan_proto(plan_from_json(row.plan), time_zone),
        state=int(state),
        expire_time=timeconv.to_timestamp(row.expire_time),
        loop=f"loops/{row.loop_id}" if row.loop_id else "",
        create_time=timeconv.to_timestamp(row.create_time),
    )
