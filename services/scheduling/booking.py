"""Searching, booking and holding loops: the transactions behind FindLoopPlans,
BookLoop and the hold RPCs. Each method takes the session of a transaction the
caller opened (and, for creates, wrapped in the request-id record), so a
booking, its reservations, its loop rows and its invites commit together or
not at all."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from services.core.errors import FailedPrecondition, InvalidArgument
from services.core.names import new_id
from services.scheduling import invites, models
from services.scheduling.convert_plans import LoopRecord, plan_from_json, plan_to_json
from services.scheduling.domain import model as dm
from services.scheduling.planning import Policy, check_plan, lock_interviewers, wanted, with_gap
from services.scheduling.store import directory as dir_store
from services.scheduling.store import loops as loop_store
from services.scheduling.store import reservations
from services.scheduling.store import snapshot as snap


# Built once (building a statement costs about as much as running it here).
_C, _T, _I = models.CandidateRow, models.LoopTemplateRow, models.InterviewerRow
# The candidate and template rows, once per interviewer row of the plan, which
# are locked in id order as `lock_interviewers` locks them.
_PREPARE_LOCKED = (
    select(_C, _T).select_from(_I).join(_C, _C.id == bindparam("candidate_id")).join(_T, _T.id == bindparam("template_id"))
    .where(_I.id.in_(bindparam("interviewer_ids", expanding=True))).order_by(_I.id).with_for_update(of=_I)
)
# SQLite: one writer at a time, nothing to lock.
_PREPARE = (
    select(_C, _T).select_from(_C).join(_T, _T.id == bindparam("template_id"))
    .where(_C.id == bindparam("candidate_id"))
)


class Booking:
    def __init__(self, cache: snap.DirectoryCache, policy: Policy) -> None:
        self.cache = cache
        self.policy = policy

    # ------------------------------------------------------------ booking

    def prepare(self, session: Session, plan: dm.Plan, constraints: dm.Constraints) -> tuple[models.CandidateRow, dm.Candidate, dm.LoopTemplate, dm.Plan]:
        candidate_row = dir_store.get_candidate(session, plan.candidate_id)
        template = snap.template(dir_store.get_template(session, plan.template_id))
        return candidate_row, snap.candidate(candidate_row), template, with_gap(plan, template, constraints)

    def prepare_locked(self, session: Session, plan: dm.Plan,
                       constraints: dm.Constraints) -> tuple[models.CandidateRow, dm.Candidate, dm.LoopTemplate, dm.Plan]:
        """`prepare` plus `lock_interviewers`, in one statement when all is
        there: the candidate and template rows, joined to the plan's
        interviewer rows, which PostgreSQL locks (`FOR UPDATE OF`) in id
        order exactly as `lock_interviewers` does. When nothing comes back
        (a missing candidate, template or every interviewer) the two steps
        run one by one, so their errors are the same as ever."""
        interviewer_ids = sorted({i for s in plan.sessions for i in s.interviewer_ids})
        params = {"candidate_id": plan.candidate_id, "template_id": plan.template_id}
        if session.get_bind().dialect.name == "postgresql":
            query, params["interviewer_ids"] = _PREPARE_LOCKED, interviewer_ids
        else:
            query = _PREPARE
        # All rows are read (and so locked) by the one statement; any carries the candidate and template.
        found = session.execute(query, params).all() if interviewer_ids else []
        if not found:
            prepared = self.prepare(session, plan, constraints)
            lock_interviewers(session, interviewer_ids)
            return prepared
        candidate_row, template_row = found[0]
        template = snap.template(template_row)
        return candidate_row, snap.candidate(candidate_row), template, with_gap(plan, template, constraints)

    def book(self, session: Session, plan: dm.Plan, constraints: dm.Constraints, now: datetime) -> LoopRecord:
        """Books every reservation, the loop and its invites, or nothing."""
        candidate_row, candidate, template, plan = self.prepare_locked(session, plan, constraints)
        directory = check_plan(session, self.cache, plan, candidate, template, constraints, self.policy, now)
        return self._create_loop(session, plan, candidate_row, directory, now)

    def _create_loop(self, session: Session, plan: dm.Plan, candidate_row: models.CandidateRow, directory: snap.Directory,
                     now: datetime) -> LoopRecord:
        loop_id = new_id()
        session_ids = [new_id() for _ in plan.sessions]
        reservations.reserve(session, f"loops/{loop_id}", wanted(plan, session_ids), now)
        record = loop_store.add_loop(session, loop_id, plan, session_ids, invites.video_link(self.policy.video_link_base, loop_id),
                                     candidate_row.time_zone, now)
        invites.enqueue_new_loop(session, record.loop, record.sessions, self._context(candidate_row, directory))
        return record

    def _context(self, candidate_row: models.CandidateRow, directory: snap.Directory) -> invites.InviteContext:
        return invites.InviteContext(self.policy.organizer_email, self.policy.organizer_name, candidate_row, directory)

    # ------------------------------------------------------------ holds

    def hold_ttl(self, ttl: timedelta | None) -> timedelta:
        if ttl is None or not ttl:
            return self.policy.default_hold_ttl
        if ttl < timedelta(minutes=1) or ttl > self.policy.max_hold_ttl:
            raise InvalidArgument("ttl", f"must be between 1 minute and {self.policy.max_hold_ttl}")
        return ttl

    def hold(self, session: Session, plan: dm.Plan, constraints: dm.Constraints, ttl: timedelta, now: datetime) -> tuple[models.HoldRow, str]:
        """Reserves the plan's resources until `now + ttl` without booking it."""
        candidate_row, candidate, template, plan = self.prepare_locked(session, plan, constraints)
        check_plan(session, self.cache, plan, candidate, template, constraints, self.policy, now)
        hold_id = new_id()
        expire = now + ttl
        session_ids = [f"h{k}" for k in range(len(plan.sessions))]
        reservations.reserve(session, f"holds/{hold_id}", wanted(plan, session_ids), now, expire_time=expire)
        row = models.HoldRow(id=hold_id, candidate_id=plan.candidate_id, plan=plan_to_json(plan), state=models.HoldState.ACTIVE,
                             expire_time=expire, loop_id="", create_time=now)
        session.add(row)
        session.flush()
        return row, candidate_row.time_zone

    def _active_hold(self, session: Session, hold_id: str, now: datetime) -> models.HoldRow:
        hold = loop_store.get_hold(session, hold_id, for_update=True)
        state = models.HoldState(hold.state)
        if state == models.HoldState.ACTIVE and hold.expire_time <= now:
            state = models.HoldState.EXPIRED  # lapsed; the sweeper records it
        if state != models.HoldState.ACTIVE:
            raise FailedPrecondition(f"holds/{hold_id} is {state.name.lower()}", reason=f"HOLD_{state.name}", subject=f"holds/{hold_id}")
        return hold

    def confirm_hold(self, session: Session, hold_id: str, constraints: dm.Constraints, now: datetime) -> LoopRecord:
        """Books the held plan. It is checked again (constraints may have
        changed meanwhile); the hold's own reservations do not block it."""
        hold = self._active_hold(session, hold_id, now)
        plan = plan_from_json(hold.plan)
        candidate_row, candidate, template, plan = self.prepare_locked(session, plan, constraints)
        reservations.release(session, f"holds/{hold.id}")
        directory = check_plan(session, self.cache, plan, candidate, template, constraints, self.policy, now)
        record = self._create_loop(session, plan, candidate_row, directory, now)
        hold.state = models.HoldState.CONFIRMED
        hold.loop_id = record.loop.id
        return record

    def release_hold(self, session: Session, hold_id: str, now: datetime) -> models.HoldRow:
        hold = self._active_hold(session, hold_id, now)
        reservations.release(session, f"holds/{hold.id}")
        hold.state = models.HoldState.RELEASED
        return hold

    def expire_holds(self, session: Session, now: datetime) -> int:
        """Marks lapsed holds expired and frees their reservations (the sweeper)."""
        ids = loop_store.lapsed_holds(session, now)
        for hold_id in ids:
            reservations.release(session, f"holds/{hold_id}")
        if ids:
            loop_store.mark_expired(session, ids)
        return len(ids)

