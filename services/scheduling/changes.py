"""Changing booked loops: reschedule, cancel, replace an interviewer, and
re-check loops when a candidate's constraints change. Every change raises the
changed sessions' SEQUENCE and writes the matching invite updates to the
outbox in the same transaction."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from services.core.errors import FailedPrecondition, InvalidArgument, check_etag
from services.scheduling import invites, models
from services.scheduling.booking import Booking
from services.scheduling.convert_plans import LoopRecord, plan_from_record, session_from_row
from services.scheduling.domain import model as dm
from services.scheduling.domain import rules
from services.scheduling.domain.validate import validate_plan
from services.scheduling.planning import check_plan, lock_interviewers, plan_span, wanted
from services.scheduling.store import directory as dir_store
from services.scheduling.store import loops as loop_store
from services.scheduling.store import reservations
from services.scheduling.store import snapshot as snap

MAX_REASON = 1000


class Changes:
    def __init__(self, booking: Booking) -> None:
        self.booking = booking
        self.cache = booking.cache
        self.policy = booking.policy

    def _booked(self, session: Session, loop_id: str, etag: str) -> LoopRecord:
        record = loop_store.get_loop(session, loop_id, for_update=True)
        check_etag(etag, record.loop.etag, f"loops/{loop_id}")
        if record.loop.state != models.LoopState.BOOKED:
            raise FailedPrecondition(f"loops/{loop_id} is cancelled", reason="LOOP_CANCELLED", subject=f"loops/{loop_id}")
        return record

    def _context(self, session: Session, record: LoopRecord, now: datetime) -> invites.InviteContext:
        candidate_row = dir_store.get_candidate(session, record.loop.candidate_id)
        return invites.InviteContext(self.policy.organizer_email, self.policy.organizer_name, candidate_row, self.cache.get(session, now))

    # ------------------------------------------------------------ reschedule

    def reschedule(self, session: Session, loop_id: str, plan: dm.Plan, etag: str, constraints: dm.Constraints, now: datetime) -> LoopRecord:
        record = self._booked(session, loop_id, etag)
        loop = record.loop
        if plan.candidate_id != loop.candidate_id or plan.template_id != loop.template_id:
            raise InvalidArgument("plan", "must be for the loop's own candidate and loop template")
        if len(plan.sessions) != len(record.sessions):
            raise FailedPrecondition("the loop template changed since booking; cancel and book again", reason="TEMPLATE_CHANGED")
        candidate_row, candidate, template, plan = self.booking.prepare(session, plan, constraints)
        owner = f"loops/{loop.id}"
        # The loop's own reservations must not block its new times.
        reservations.release(session, owner)
        lock_interviewers(session, [i for s in plan.sessions for i in s.interviewer_ids])
        directory = check_plan(session, self.cache, plan, candidate, template, constraints, self.policy, now)
        reservations.reserve(session, owner, wanted(plan, [r.id for r in record.sessions]), now)
        context = invites.InviteContext(self.policy.organizer_email, self.policy.organizer_name, candidate_row, directory)
        changed: list[tuple[models.LoopSessionRow, list[str]]] = []
        for row, new in zip(record.sessions, plan.sessions, strict=True):
            if session_from_row(row) == new:
                continue  # untouched sessions keep their invite as it is
            removed = [i for i in row.interviewer_ids if i not in new.interviewer_ids]
            row.start_time, row.end_time = new.start, new.end
            row.interviewer_ids = list(new.interviewer_ids)
            row.room_id, row.remote, row.adjustments = new.room_id, new.remote, list(new.adjustments)
            row.sequence += 1
            changed.append((row, removed))
        loop.location_mode, loop.office_id = int(plan.mode), plan.office_id
        loop.gap_minutes, loop.score, loop.days = int(plan.gap.total_seconds() // 60), plan.score, plan.days
        loop.constraint_violations = []
        loop_store.touch(loop, now)
        session.flush()
        for row, removed in changed:
            invites.enqueue_request(session, loop, row, record.sessions, context)
            invites.enqueue_cancel(session, loop, row, record.sessions, context, removed)
        return record

    # ------------------------------------------------------------ cancel

    def cancel(self, session: Session, loop_id: str, reason: str, etag: str, now: datetime) -> LoopRecord:
        reason = reason.strip()
        if not reason:
            raise InvalidArgument("reason", "required")
        if len(reason) > MAX_REASON:
            raise InvalidArgument("reason", f"at most {MAX_REASON} characters")
        record = self._booked(session, loop_id, etag)
        reservations.release(session, f"loops/{loop_id}")
        record.loop.state = models.LoopState.CANCELLED
        record.loop.cancel_reason = reason
        loop_store.touch(record.loop, now)
        context = self._context(session, record, now)
        for row in record.sessions:
            row.sequence += 1
        session.flush()
        for row in record.sessions:
            invites.enqueue_cancel(session, record.loop, row, record.sessions, context)
        return record

    # ------------------------------------------------------------ replacing an interviewer

    def _one_session_check(self, record: LoopRecord, row: models.LoopSessionRow, replacement: str, candidate: dm.Candidate,
                           template: dm.LoopTemplate, constraints: dm.Constraints, directory: snap.Directory,
                           reserved: snap.Reserved, now: datetime, old: str) -> list[str]:
        """Problems with `replacement` taking `old`'s seat in one session.

        Only that session is checked (a one-session template and plan), so a
        problem elsewhere in the loop cannot block a replacement here. The
        minimum notice is waived: declines come late, and the session is
        taking place anyway.
        """
        spec = template.sessions[row.position]
        single = dm.LoopTemplate(id=template.id, sessions=(spec,), buffer=template.buffer, max_days=1)
        session_plan = dataclasses.replace(
            session_from_row(row), index=0, interviewer_ids=tuple(replacement if i == old else i for i in row.interviewer_ids)
        )
        plan = dm.Plan(candidate_id=candidate.id, template_id=template.id, mode=dm.LocationMode(record.loop.location_mode),
                       office_id=record.loop.office_id, sessions=(session_plan,), days=1,
                       gap=timedelta(minutes=rules.gap_minutes(single, constraints)))
        request = dm.SearchRequest(candidate=candidate, template=single, window=dm.TimeRange(row.start_time, row.end_time),
                                   mode=plan.mode, office_id=plan.office_id, now=now, constraints=constraints,
                                   min_notice=timedelta(0), horizon=self.policy.horizon)
        return validate_plan(plan, request, snap.snapshot(directory, reserved, row.start_time, row.end_time, [replacement]))

    def _session(self, record: LoopRecord, session_id: str, interviewer: str, now: datetime) -> models.LoopSessionRow:
        row = next((r for r in record.sessions if r.id == session_id), None)
        if row is None:
            raise InvalidArgument("session_id", f"not a session of loops/{record.loop.id}")
        if interviewer not in row.interviewer_ids:
            raise InvalidArgument("interviewer", "is not an interviewer of that session")
        if row.start_time <= now:
            raise FailedPrecondition("the session has already started", reason="SESSION_STARTED")
        return row

    def suggest(self, session: Session, loop_id: str, session_id: str, interviewer: str, limit: int, constraints: dm.Constraints,
                now: datetime) -> list[str]:
        """Qualified interviewers free for the session, least loaded that week first."""
        record = loop_store.get_loop(session, loop_id)
        if record.loop.state != models.LoopState.BOOKED:
            raise FailedPrecondition(f"loops/{loop_id} is cancelled", reason="LOOP_CANCELLED")
        row = self._session(record, session_id, interviewer, now)
        return self._ranked(session, record, row, interviewer, constraints, now)[:limit]

    def _ranked(self, session: Session, record: LoopRecord, row: models.LoopSessionRow, old: str, constraints: dm.Constraints,
                now: datetime) -> list[str]:
        candidate = snap.candidate(dir_store.get_candidate(session, record.loop.candidate_id))
        template = snap.template(dir_store.get_template(session, record.loop.template_id))
        directory = self.cache.get(session, now)
        end = row.end_time + timedelta(minutes=record.loop.gap_minutes)
        # The loop's own reservations (its room, its other interviewers) are not in the way.
        reserved = snap.load_reserved(session, row.start_time, end, now, exclude_owner=f"loops/{record.loop.id}")
        in_loop = {i for r in record.sessions for i in r.interviewer_ids}
        areas = rules.required_areas(template.sessions[row.position].area_rule, candidate)
        options = []
        for interviewer_id, person in directory.interviewers.items():
            if interviewer_id in in_loop or not rules.is_qualified(person, areas):
                continue
            if self._one_session_check(record, row, interviewer_id, candidate, template, constraints, directory, reserved, now, old):
                continue
            load = len(reserved.interviewer_sessions.get(interviewer_id, ()))
            options.append((load, interviewer_id))
        return [i for _, i in sorted(options)]

    def replace(self, session: Session, loop_id: str, session_id: str, interviewer: str, replacement: str, etag: str,
                constraints: dm.Constraints, now: datetime) -> LoopRecord:
        record = self._booked(session, loop_id, etag)
        row = self._session(record, session_id, interviewer, now)
        if not replacement:
            ranked = self._ranked(session, record, row, interviewer, constraints, now)
            if not ranked:
                raise FailedPrecondition("no qualified interviewer is free for that session", reason="NO_REPLACEMENT")
            replacement = ranked[0]
        if replacement in {i for r in record.sessions for i in r.interviewer_ids}:
            raise InvalidArgument("replacement", "already interviews in this loop")
        lock_interviewers(session, [replacement])
        candidate = snap.candidate(dir_store.get_candidate(session, record.loop.candidate_id))
        template = snap.template(dir_store.get_template(session, record.loop.template_id))
        directory = self.cache.get(session, now)
        end = row.end_time + timedelta(minutes=record.loop.gap_minutes)
        reserved = snap.load_reserved(session, row.start_time, end, now, resources=[f"interviewers/{replacement}"])
        problems = self._one_session_check(record, row, replacement, candidate, template, constraints, directory, reserved, now, interviewer)
        if problems:
            raise FailedPrecondition(f"interviewers/{replacement} cannot take the session: {'; '.join(problems[:5])}", reason="REPLACEMENT_INVALID")
        owner = f"loops/{loop_id}"
        reservations.release(session, owner, session_id=row.id, resource=f"interviewers/{interviewer}")
        reservations.reserve(session, owner, [reservations.Wanted(f"interviewers/{replacement}", row.id, row.start_time, end)], now)
        row.interviewer_ids = [replacement if i == interviewer else i for i in row.interviewer_ids]
        row.sequence += 1
        loop_store.touch(record.loop, now)
        session.flush()
        context = invites.InviteContext(self.policy.organizer_email, self.policy.organizer_name,
                                        dir_store.get_candidate(session, record.loop.candidate_id), directory)
        invites.enqueue_request(session, record.loop, row, record.sessions, context)
        invites.enqueue_cancel(session, record.loop, row, record.sessions, context, [interviewer])
        return record

    # ------------------------------------------------------------ constraints changed

    def revalidate(self, session: Session, candidate_id: str, constraints: dm.Constraints, now: datetime) -> tuple[list[LoopRecord], int]:
        """Flags (in `constraint_violations`) the candidate's upcoming loops that
        no longer meet their constraints; returns those and how many were checked."""
        candidate = snap.candidate(dir_store.get_candidate(session, candidate_id))
        records = loop_store.booked_loops_of(session, candidate_id, now)
        violating = []
        for record in records:
            problems = self._loop_problems(session, record, candidate, constraints, now)
            if problems != list(record.loop.constraint_violations):
                record.loop.constraint_violations = problems
                loop_store.touch(record.loop, now)
            if problems:
                violating.append(record)
        return violating, len(records)

    def _loop_problems(self, session: Session, record: LoopRecord, candidate: dm.Candidate, constraints: dm.Constraints,
                       now: datetime) -> list[str]:
        template_row = session.get(models.LoopTemplateRow, record.loop.template_id)
        if template_row is None:
            return ["the loop template was deleted"]
        template = snap.template(template_row)
        plan = plan_from_record(record)
        plan = dataclasses.replace(plan, gap=timedelta(minutes=rules.gap_minutes(template, constraints)))
        start, end = plan_span(plan)
        directory = self.cache.get(session, now)
        interviewer_ids = sorted({i for s in plan.sessions for i in s.interviewer_ids})
        reserved = snap.load_reserved(session, start, end, now, exclude_owner=f"loops/{record.loop.id}")
        # Checked as of the loop's own start so sessions already under way do not count as "too soon".
        as_of = min(now, start)
        request = dm.SearchRequest(candidate=candidate, template=template, window=dm.TimeRange(start, end), mode=plan.mode,
                                   office_id=plan.office_id, now=as_of, constraints=constraints, min_notice=timedelta(0),
                                   horizon=self.policy.horizon + (now - as_of))
        return validate_plan(plan, request, snap.snapshot(directory, reserved, start, end, interviewer_ids))

