"""Protos <-> the service's dataclasses. Redaction happens here in one place: only the
fields named in a view's `fields` are copied into the Ticket message."""

from __future__ import annotations

from interviews.accommodations.v1 import accommodations_pb2 as pb
from interviews.common.v1 import common_pb2
from services.accommodations.domain.constraints import Constraints, EffectiveConstraints, InvalidConstraints, validate
from services.accommodations.domain.redaction import ALL_FIELDS as _ALL
from services.accommodations.views import AuditView, MessageView, TicketView
from services.core.errors import InvalidArgument
from services.core.timeconv import to_timestamp


def _minutes(t: common_pb2.LocalTime, field: str) -> int:
    if not (0 <= t.hours <= 24 and 0 <= t.minutes < 60) or (t.hours == 24 and t.minutes):
        raise InvalidArgument(field, "hours must be 0-23 (or 24:00) and minutes 0-59")
    return t.hours * 60 + t.minutes


def constraints_from_proto(msg: common_pb2.SchedulingConstraints, field: str) -> Constraints:
    """Structural checks only; Desk.decide also checks the notes against the reason."""
    windows = tuple(
        (_minutes(w.start, f"{field}.allowed_windows[{i}].start"), _minutes(w.end, f"{field}.allowed_windows[{i}].end"))
        for i, w in enumerate(msg.allowed_windows)
    )
    raw = Constraints(
        duration_multiplier=msg.duration_multiplier or 1.0,
        extra_break_minutes=msg.extra_break_minutes,
        max_sessions_per_day=msg.max_sessions_per_day,
        remote_only=msg.remote_only,
        accessible_room=msg.accessible_room,
        interpreter=msg.interpreter,
        captioning=msg.captioning,
        one_interviewer_at_a_time=msg.one_interviewer_at_a_time,
        quiet_room=msg.quiet_room,
        allowed_windows=windows,
        interviewer_notes=tuple(msg.interviewer_notes),
    )
    try:
        return validate(raw)
    except InvalidConstraints as error:
        raise InvalidArgument(f"{field}.{error.field}", error.why) from None


def _local(minutes: int) -> common_pb2.LocalTime:
    return common_pb2.LocalTime(hours=minutes // 60, minutes=minutes % 60)


def constraints_to_proto(c: Constraints, candidate: str = "") -> common_pb2.SchedulingConstraints:
    return common_pb2.SchedulingConstraints(
        candidate=candidate,
        duration_multiplier=c.duration_multiplier,
        extra_break_minutes=c.extra_break_minutes,
        max_sessions_per_day=c.max_sessions_per_day,
        remote_only=c.remote_only,
        accessible_room=c.accessible_room,
        interpreter=c.interpreter,
        captioning=c.captioning,
        one_interviewer_at_a_time=c.one_interviewer_at_a_time,
        quiet_room=c.quiet_room,
        allowed_windows=[common_pb2.DailyWindow(start=_local(a), end=_local(b)) for a, b in c.allowed_windows],
        interviewer_notes=list(c.interviewer_notes),
        source_tickets=list(c.source_tickets),
    )


def effective_to_proto(eff: EffectiveConstraints, candidate: str) -> common_pb2.SchedulingConstraints:
    msg = constraints_to_proto(eff.constraints, candidate)
    msg.etag = eff.etag
    if eff.update_time is not None:
        msg.update_time.CopyFrom(to_timestamp(eff.update_time))
    return msg


def ticket_to_proto(v: TicketView) -> pb.Ticket:
    f = v.fields
    t = pb.Ticket(redacted=f != _ALL)
    if "name" in f:
        t.name = v.name
    if "candidate" in f:
        t.candidate = v.candidate
    if "candidate_email" in f:
        t.candidate_email = v.candidate_email
    if "submitted_by" in f:
        t.submitted_by = v.submitted_by
    if "requested_adjustments" in f:
        t.requested_adjustments.extend(v.requested_adjustments)  # type: ignore[arg-type]
    if "reason" in f:
        t.reason = v.reason
    if "loop" in f:
        t.loop = v.loop
    if "office" in f:
        t.office = v.office
    if "state" in f:
        t.state = v.state.value  # type: ignore[assignment]
    if "assignee" in f:
        t.assignee = v.assignee
    if "sla" in f:
        s = v.sla
        t.sla.state = s.state.value  # type: ignore[assignment]
        t.sla.acknowledge_due_time.CopyFrom(to_timestamp(s.acknowledge_due_time))
        t.sla.decision_due_time.CopyFrom(to_timestamp(s.decision_due_time))
        if s.acknowledge_time:
            t.sla.acknowledge_time.CopyFrom(to_timestamp(s.acknowledge_time))
        if s.decide_time:
            t.sla.decide_time.CopyFrom(to_timestamp(s.decide_time))
    if "first_interview_time" in f and v.first_interview_time:
        t.first_interview_time.CopyFrom(to_timestamp(v.first_interview_time))
    if "legal_hold" in f:
        t.legal_hold = v.legal_hold
    if "hiring_decision_time" in f and v.hiring_decision_time:
        t.hiring_decision_time.CopyFrom(to_timestamp(v.hiring_decision_time))
    if "etag" in f:
        t.etag = v.etag
    if "create_time" in f:
        t.create_time.CopyFrom(to_timestamp(v.create_time))
    if "update_time" in f:
        t.update_time.CopyFrom(to_timestamp(v.update_time))
    if "close_time" in f and v.close_time:
        t.close_time.CopyFrom(to_timestamp(v.close_time))
    d = v.decision
    if d is not None and "decision.outcome" in f:
        t.decision.outcome = d.outcome  # type: ignore[assignment]
        if "decision.constraints" in f and d.constraints is not None:
            t.decision.constraints.CopyFrom(constraints_to_proto(d.constraints, v.candidate))
        if "decision.candidate_message" in f:
            t.decision.candidate_message = d.candidate_message
        if "decision.denial_reason" in f:
            t.decision.denial_reason = d.denial_reason
        if "decision.alternatives_considered" in f:
            t.decision.alternatives_considered.extend(d.alternatives_considered)
        if "decision.decided_by" in f:
            t.decision.decided_by = d.decided_by
        if "decision.decide_time" in f and d.decide_time:
            t.decision.decide_time.CopyFrom(to_timestamp(d.decide_time))
    return t


def message_to_proto(m: MessageView) -> pb.Message:
    msg = pb.Message(
        name=m.name, author=m.author, author_role=m.author_role, visibility=m.visibility, body=m.body  # type: ignore[arg-type]
    )
    msg.create_time.CopyFrom(to_timestamp(m.create_time))
    return msg


def audit_to_proto(a: AuditView) -> pb.AuditEvent:
    msg = pb.AuditEvent(
        name=a.name, actor=a.actor, actor_role=a.actor_role, action=a.action, ticket=a.ticket,
        fields=list(a.fields), justification=a.justification,
    )
    msg.create_time.CopyFrom(to_timestamp(a.create_time))
    return msg

