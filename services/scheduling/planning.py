"""What searching, booking and changing loops share: the policy settings, the
search request for a candidate and template, and the server-side check of a
plan against the database (`check_plan`), run inside the booking transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.core.config import DEFAULT_MAIL_FROM, Settings
from services.core.errors import Aborted, FailedPrecondition
from services.scheduling import models
from services.scheduling.domain import model as dm
from services.scheduling.domain import rules
from services.scheduling.domain.validate import validate_plan
from services.scheduling.store import snapshot as snap
from services.scheduling.store.reservations import Wanted


@dataclass(frozen=True)
class Policy:
    """Scheduling settings (environment variables in the README)."""

    min_notice: timedelta = timedelta(hours=24)
    horizon: timedelta = timedelta(days=90)
    default_hold_ttl: timedelta = timedelta(hours=24)
    max_hold_ttl: timedelta = timedelta(days=7)
    video_link_base: str = "https://meet.example.com/interviews"
    organizer_email: str = DEFAULT_MAIL_FROM
    organizer_name: str = "Interview Scheduling"

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            min_notice=timedelta(hours=float(settings.get("SCHEDULING_MIN_NOTICE_HOURS", "24"))),
            horizon=timedelta(days=float(settings.get("SCHEDULING_HORIZON_DAYS", "90"))),
            default_hold_ttl=timedelta(hours=float(settings.get("SCHEDULING_HOLD_TTL_HOURS", "24"))),
            video_link_base=settings.get("SCHEDULING_VIDEO_LINK_BASE", cls.video_link_base) or cls.video_link_base,
            organizer_email=settings.mail_from,
            organizer_name=settings.mail_from_name,
        )


def plan_span(plan: dm.Plan) -> tuple[datetime, datetime]:
    """From the first start to the last end, gap included."""
    return min(s.start for s in plan.sessions), max(s.end for s in plan.sessions) + plan.gap


def with_gap(plan: dm.Plan, template: dm.LoopTemplate, constraints: dm.Constraints) -> dm.Plan:
    """A client plan with the gap the server computes (the proto has no gap)."""
    return dataclasses.replace(plan, gap=timedelta(minutes=rules.gap_minutes(template, constraints)))


def wanted(plan: dm.Plan, session_ids: Sequence[str]) -> list[Wanted]:
    """Every reservation a plan needs: interviewers, room and the candidate,
    each widened by the gap so the next booking keeps it free too."""
    out = []
    for session, session_id in zip(plan.sessions, session_ids, strict=True):
        end = session.end + plan.gap
        resources = [f"interviewers/{i}" for i in session.interviewer_ids]
        if session.room_id:
            resources.append(session.room_id)
        resources.append(f"candidates/{plan.candidate_id}")
        out.extend(Wanted(r, session_id, session.start, end) for r in resources)
    return out


def lock_interviewers(session: Session, interviewer_ids: Sequence[str]) -> None:
    """Serialises bookings that share an interviewer (in id order, so never a
    deadlock). The exclusion constraint keeps times apart on its own, but the
    daily and weekly load limits count across bookings and need this."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite already runs one writer at a time
    ids = sorted(set(interviewer_ids))
    session.execute(select(models.InterviewerRow.id).where(models.InterviewerRow.id.in_(ids)).order_by(models.InterviewerRow.id).with_for_update())


def check_plan(session: Session, cache: snap.DirectoryCache, plan: dm.Plan, candidate: dm.Candidate, template: dm.LoopTemplate,
               constraints: dm.Constraints, policy: Policy, now: datetime, *, exclude_owner: str | None = None,
               min_notice: timedelta | None = None) -> snap.Directory:
    """Raises unless `plan` satisfies every rule against the database now.

    ABORTED when it broke only because of reservations made since it was
    found (search again); FAILED_PRECONDITION when it could never be booked
    (edited, unqualified, outside hours...). Returns the directory used.
    """
    directory = cache.get(session, now)
    start, end = plan_span(plan)
    interviewer_ids = sorted({i for s in plan.sessions for i in s.interviewer_ids})
    resources = [f"interviewers/{i}" for i in interviewer_ids] + sorted({s.room_id for s in plan.sessions if s.room_id})
    request = dm.SearchRequest(
        candidate=candidate,
        template=template,
        window=dm.TimeRange(start, end),
        mode=plan.mode,
        office_id=plan.office_id,
        now=now,
        constraints=constraints,
        max_plans=1,
        min_notice=policy.min_notice if min_notice is None else min_notice,
        horizon=policy.horizon,
    )
    reserved = snap.load_reserved(session, start, end, now, exclude_owner=exclude_owner, resources=resources)
    problems = validate_plan(plan, request, snap.snapshot(directory, reserved, start, end, interviewer_ids))
    if not problems:
        return directory
    without_bookings = validate_plan(plan, request, snap.snapshot(directory, snap.Reserved(), start, end, interviewer_ids))
    summary = "; ".join(problems[:5])
    if not without_bookings:
        clashes = _clashing(plan, reserved)
        metadata = {"resource": clashes[0], "resources": ",".join(clashes)} if clashes else {}
        raise Aborted(f"the plan is no longer free: {summary}; search again", reason="PLAN_STALE", metadata=metadata)
    raise FailedPrecondition(f"the plan cannot be booked: {summary}", reason="PLAN_INVALID", subject="plan")


def _clashing(plan: dm.Plan, reserved: snap.Reserved) -> list[str]:
    """Resources of the plan that a reservation made since the search now
    covers (a load limit reached by other bookings names no resource here)."""
    out = set()
    for session in plan.sessions:
        for interviewer_id in session.interviewer_ids:
            if any(r.start < session.end + plan.gap and session.start < r.end for r in reserved.interviewer_busy.get(interviewer_id, ())):
                out.add(f"interviewers/{interviewer_id}")
        if session.room_id and any(r.start < session.end + plan.gap and session.start < r.end for r in reserved.room_busy.get(session.room_id, ())):
            out.add(session.room_id)
    return sorted(out)
