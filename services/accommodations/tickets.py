"""Ticket use cases: authorize per ticket, apply the lifecycle, keep the SLA columns,
audit, and queue emails and scheduling calls in the same transaction.

Every method takes the open Session; the servicer decides the transaction boundary (and
request-id idempotency). Confidential text is decrypted only when the caller's view
includes it, and every such read or write is audited.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.accommodations import notices, store
from services.accommodations.crypto import TextCipher
from services.accommodations.domain import access
from services.accommodations.domain.access import Role, Rule, Visibility
from services.accommodations.domain.constraints import Constraints, effective, repeats_reason
from services.accommodations.domain.lifecycle import (
    Action,
    Denial,
    IllegalTransition,
    IncompleteDenial,
    State,
    transition,
)
from services.accommodations.domain.redaction import SENSITIVE_FIELDS, view_for, visible_fields
from services.accommodations.domain.retention import (
    DeletionVerdict,
    RetentionFacts,
    deletion_verdict,
    purgeable,
)
from services.accommodations.domain.sla import (
    SlaClock,
    SlaPolicy,
    SlaState,
    resume,
    schedule,
    state_from_schedule,
)
from services.accommodations.models import AuditEventRow, MessageRow, TicketRow
from services.accommodations.views import (
    AuditView,
    Caller,
    DecisionView,
    MessageView,
    Page,
    SlaView,
    TicketView,
)
from services.core.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, check_etag
from services.core.names import new_id
from services.core.pagination import KeysetPage

OUTCOME_APPROVED, OUTCOME_ALTERNATIVE, OUTCOME_DENIED = 1, 2, 3
_OUTCOME_ACTIONS = {
    OUTCOME_APPROVED: Action.APPROVE,
    OUTCOME_ALTERNATIVE: Action.OFFER_ALTERNATIVE,
    OUTCOME_DENIED: Action.DENY,
}


@dataclass(frozen=True)
class NewTicket:
    candidate: str
    candidate_email: str
    requested_adjustments: tuple[int, ...]
    reason: str
    loop: str
    office: str
    first_interview_time: datetime | None


@dataclass(frozen=True)
class NewDecision:
    outcome: int
    constraints: Constraints | None
    candidate_message: str
    denial_reason: str
    alternatives_considered: tuple[str, ...]


@dataclass(frozen=True)
class TicketFilter:
    states: tuple[State, ...] = ()
    assignee: str = ""
    office: str = ""
    sla_states: tuple[SlaState, ...] = ()
    due_before: datetime | None = None
    candidate: str = ""


def etag_of(row: TicketRow) -> str:
    return hashlib.sha256(f"{row.id}:{row.version}".encode()).hexdigest()[:16]


class Desk:
    """The coordinator desk: every ticket operation of the service."""

    def __init__(
        self,
        cipher: TextCipher,
        sla: SlaPolicy,
        coordinator_emails: Sequence[str],
        clock: Callable[[], datetime],
    ) -> None:
        self.cipher = cipher
        self.sla = sla
        self.coordinator_emails = tuple(coordinator_emails)
        self.clock = clock

    # ------------------------------------------------------------ helpers
    def _deny(self, rpc: str) -> PermissionDenied:
        return PermissionDenied(f"not allowed to call {rpc} here", reason="ACCESS_DENIED", metadata={"method": rpc})

    def require(self, caller: Caller, rpc: str) -> None:
        """The caller's role may call `rpc` at all (checked before any lookup)."""
        if not access.may_call(caller.role, rpc):
            raise self._deny(rpc)

    def _load(self, session: Session, caller: Caller, rpc: str, ticket_id: str, *, lock: bool) -> TicketRow:
        self.require(caller, rpc)
        row = store.get_ticket(session, ticket_id, lock=lock)
        if row is None:
            # Only callers who may see any ticket learn that one does not exist.
            if access.POLICY[rpc].get(caller.role) is Rule.ANY:
                raise NotFound(store.ticket_name(ticket_id))
            raise self._deny(rpc)
        relation = access.relation_to_ticket(caller.role, caller.subject, row.candidate, row.submitted_by)
        if not access.allowed(caller.role, rpc, relation):
            raise self._deny(rpc)
        return row

    def _audit(
        self,
        session: Session,
        caller: Caller,
        action: str,
        ticket: str,
        fields: Sequence[str] = (),
        justification: str = "",
    ) -> None:
        store.add_audit(
            session,
            actor=caller.actor,
            actor_role=caller.role.value,
            action=action,
            ticket=ticket,
            fields=list(fields),
            justification=justification or caller.why,
            now=self.clock(),
        )

    def sla_clock(self, row: TicketRow) -> SlaClock:
        return SlaClock(
            submit_time=row.create_time,
            acknowledge_time=row.acknowledge_time,
            decide_time=row.decide_time,
            first_interview_time=row.first_interview_time,
            paused_total=timedelta(seconds=row.paused_seconds),
            paused_since=row.paused_since,
        )

    def _refresh_sla(self, row: TicketRow, now: datetime) -> None:
        sched = schedule(self.sla, self.sla_clock(row), State(row.state), now)
        row.next_due_time = sched.next_due_time
        row.at_risk_time = sched.at_risk_time

    def _apply(self, row: TicketRow, action: Action, denial: Denial | None = None) -> State:
        try:
            target = transition(State(row.state), action, denial)
        except IllegalTransition as error:
            raise FailedPrecondition(
                str(error), reason="ILLEGAL_TRANSITION", subject=store.ticket_name(row.id),
                metadata={"state": State(row.state).name, "action": action.value},
            ) from None
        except IncompleteDenial as error:
            raise InvalidArgument(f"decision.{error.field}", "required when denying") from None
        row.state = target.value
        return target

    def _changed(self, row: TicketRow, now: datetime) -> None:
        row.version += 1
        row.update_time = now
        self._refresh_sla(row, now)

    def _constraints_etag(self, session: Session, candidate: str) -> str:
        return effective(store.active_constraints(session, candidate)).etag

    def _revalidate_if_changed(self, session: Session, row: TicketRow, before: str) -> None:
        session.flush()
        if self._constraints_etag(session, row.candidate) != before:
            key, payload = notices.revalidate(row.candidate, store.ticket_name(row.id), row.version)
            store.enqueue(session, store.TOPIC_REVALIDATE, key, payload)

    def _email(self, session: Session, built: tuple[str, bytes]) -> None:
        key, payload = built
        store.enqueue(session, store.TOPIC_SEND_MESSAGE, key, payload)

    def _decision_texts(self, row: TicketRow) -> tuple[str, str, tuple[str, ...]]:
        if row.decision_text_ct is None:
            return "", "", ()
        data = json.loads(self.cipher.decrypt(row.decision_text_ct))
        return data["candidate_message"], data["denial_reason"], tuple(data["alternatives_considered"])

    # ------------------------------------------------------------ views
    def view(self, row: TicketRow, caller: Caller, *, single_read: bool) -> TicketView:
        role_view = view_for(caller.role)
        if role_view is None:
            raise PermissionDenied("no view of tickets for this role", reason="ACCESS_DENIED")
        fields = visible_fields(role_view, single_read=single_read)
        now = self.clock()
        clock = self.sla_clock(row)
        state = State(row.state)
        sched = schedule(self.sla, clock, state, now)
        sla = SlaView(
            state=state_from_schedule(sched, clock, state, now),
            acknowledge_due_time=sched.acknowledge_due,
            decision_due_time=sched.decision_due,
            acknowledge_time=row.acknowledge_time,
            decide_time=row.decide_time,
        )
        decision = None
        if row.decision_outcome:
            message, denial, alternatives = ("", "", ())
            if fields & SENSITIVE_FIELDS - {"reason"}:
                message, denial, alternatives = self._decision_texts(row)
            decision = DecisionView(
                outcome=row.decision_outcome,
                constraints=Constraints.from_json(row.decision_constraints) if row.decision_constraints else None,
                candidate_message=message,
                denial_reason=denial,
                alternatives_considered=alternatives,
                decided_by=row.decided_by,
                decide_time=row.decision_time,
            )
        return TicketView(
            name=store.ticket_name(row.id),
            candidate=row.candidate,
            candidate_email=row.candidate_email,
            submitted_by=row.submitted_by,
            requested_adjustments=tuple(row.requested_adjustments or ()),
            reason=self.cipher.decrypt(row.reason_ct) if "reason" in fields else "",
            loop=row.loop,
            office=row.office,
            state=state,
            assignee=row.assignee,
            sla=sla,
            first_interview_time=row.first_interview_time,
            decision=decision,
            legal_hold=row.legal_hold,
            hiring_decision_time=row.hiring_decision_time,
            etag=etag_of(row),
            create_time=row.create_time,
            update_time=row.update_time,
            close_time=row.close_time,
            fields=fields,
        )

    def _read(self, session: Session, row: TicketRow, caller: Caller, action: str) -> TicketView:
        """A single-ticket view; audited when it carries confidential text."""
        view = self.view(row, caller, single_read=True)
        read = sorted(
            f for f in view.fields & SENSITIVE_FIELDS if f == "reason" or view.decision is not None
        )
        if read:
            self._audit(session, caller, action, view.name, read)
        return view

    # ------------------------------------------------------------ intake
    def submit(self, session: Session, caller: Caller, new: NewTicket) -> str:
        """Creates the ticket; returns its id (the servicer renders it afterwards)."""
        self.require(caller, "SubmitTicket")
        relation = access.relation_to_candidate(caller.role, caller.subject, new.candidate)
        if not access.allowed(caller.role, "SubmitTicket", relation):
            raise PermissionDenied("a candidate may submit only for themself", reason="ACCESS_DENIED")
        now = self.clock()
        row = TicketRow(
            id=new_id(),
            candidate=new.candidate,
            candidate_email=new.candidate_email,
            submitted_by=caller.subject,
            submitted_by_role=caller.role.value,
            requested_adjustments=list(new.requested_adjustments),
            reason_ct=self.cipher.encrypt(new.reason),
            loop=new.loop,
            office=new.office,
            state=State.SUBMITTED.value,
            assignee="",
            version=1,
            create_time=now,
            update_time=now,
            first_interview_time=new.first_interview_time,
            paused_seconds=0.0,
            sla_outcome=0,
            decision_outcome=0,
            decided_by="",
            legal_hold=False,
        )
        self._refresh_sla(row, now)
        session.add(row)
        name = store.ticket_name(row.id)
        self._audit(session, caller, "ticket.submit", name, ["reason", "requested_adjustments"])
        acknowledge_due = schedule(self.sla, self.sla_clock(row), State.SUBMITTED, now).acknowledge_due
        for coordinator in self.coordinator_emails:
            self._email(session, notices.new_ticket(name, coordinator, acknowledge_due))
        return row.id

    def get(self, session: Session, caller: Caller, ticket_id: str) -> TicketView:
        row = self._load(session, caller, "GetTicket", ticket_id, lock=False)
        return self._read(session, row, caller, "ticket.read")

    def render_created(self, session: Session, caller: Caller, ticket_id: str) -> TicketView:
        """The submitter's view of the ticket they just created (no extra read audit:
        the submission itself was audited). The submitter may always read it."""
        row = self._load(session, caller, "GetTicket", ticket_id, lock=False)
        return self.view(row, caller, single_read=True)

    # ------------------------------------------------------------ queue
    def list(
        self, session: Session, caller: Caller, flt: TicketFilter, page_size: int, page_token: str
    ) -> Page[TicketView]:
        self.require(caller, "ListTickets")
        now = self.clock()
        t = TicketRow
        query = select(t)
        scope = access.list_scope(caller.role)
        if scope is access.ListScope.OWN_CANDIDATE:
            query = query.where(t.candidate == caller.subject)
        elif scope is access.ListScope.SUBMITTED_BY_CALLER:
            query = query.where(t.submitted_by == caller.subject)
        if flt.states:
            query = query.where(t.state.in_([s.value for s in flt.states]))
        if flt.assignee:
            query = query.where(t.assignee == flt.assignee)
        if flt.office:
            query = query.where(t.office == flt.office)
        if flt.candidate:
            query = query.where(t.candidate == flt.candidate)
        if flt.due_before is not None:
            query = query.where(t.next_due_time < flt.due_before)
        if flt.sla_states:
            query = query.where(or_(*(store.sla_condition(s, now) for s in flt.sla_states)))
        page = KeysetPage(
            page_size, page_token,
            "ListTickets", caller.role.value, caller.subject,
            sorted(s.value for s in flt.states), flt.assignee, flt.office,
            sorted(s.value for s in flt.sla_states),
            flt.due_before.isoformat() if flt.due_before else "", flt.candidate,
        )
        query = store.queue_order(query, page.after).limit(page.size + 1)
        rows, next_token = page.finish(list(session.scalars(query)), store.queue_key)
        return Page([self.view(r, caller, single_read=False) for r in rows], next_token)

    def assign(self, session: Session, caller: Caller, ticket_id: str, assignee: str, etag: str) -> TicketView:
        row = self._load(session, caller, "AssignTicket", ticket_id, lock=True)
        check_etag(etag, etag_of(row), store.ticket_name(row.id))
        if State(row.state) is State.CLOSED:
            raise FailedPrecondition("a closed ticket cannot be reassigned", reason="TICKET_CLOSED", subject=store.ticket_name(row.id))
        row.assignee = assignee
        self._changed(row, self.clock())
        self._audit(session, caller, "ticket.assign", store.ticket_name(row.id), ["assignee"])
        return self._read(session, row, caller, "ticket.read")

    # ------------------------------------------------------------ lifecycle
    def _step(self, session: Session, caller: Caller, rpc: str, ticket_id: str, etag: str) -> TicketRow:
        row = self._load(session, caller, rpc, ticket_id, lock=True)
        check_etag(etag, etag_of(row), store.ticket_name(row.id))
        return row

    def triage(self, session: Session, caller: Caller, ticket_id: str, etag: str) -> TicketView:
        row = self._step(session, caller, "TriageTicket", ticket_id, etag)
        self._apply(row, Action.TRIAGE)
        now = self.clock()
        row.acknowledge_time = now
        if not row.assignee:
            row.assignee = caller.subject  # whoever acknowledges owns it until reassigned
        self._changed(row, now)
        name = store.ticket_name(row.id)
        self._audit(session, caller, "ticket.triage", name, ["state"])
        sched = schedule(self.sla, self.sla_clock(row), State(row.state), now)
        self._email(session, notices.acknowledged(name, row.candidate_email, sched.decision_due))
        return self._read(session, row, caller, "ticket.read")

    def start_review(self, session: Session, caller: Caller, ticket_id: str, etag: str) -> TicketView:
        row = self._step(session, caller, "StartReview", ticket_id, etag)
        self._apply(row, Action.START_REVIEW)
        self._changed(row, self.clock())
        self._audit(session, caller, "ticket.start_review", store.ticket_name(row.id), ["state"])
        return self._read(session, row, caller, "ticket.read")

    def request_information(
        self, session: Session, caller: Caller, ticket_id: str, question: str, etag: str
    ) -> TicketView:
        row = self._step(session, caller, "RequestInformation", ticket_id, etag)
        self._apply(row, Action.REQUEST_INFORMATION)
        now = self.clock()
        row.paused_since = now  # the SLA clock stops until the candidate replies
        self._add_message_row(session, row, caller, Visibility.CANDIDATE_VISIBLE, question, now)
        self._changed(row, now)
        name = store.ticket_name(row.id)
        self._audit(session, caller, "ticket.request_information", name, ["state", "messages"])
        self._email(session, notices.information_requested(name, row.candidate_email, row.version))
        return self._read(session, row, caller, "ticket.read")

    def decide(
        self, session: Session, caller: Caller, ticket_id: str, decision: NewDecision, etag: str
    ) -> TicketView:
        row = self._step(session, caller, "DecideTicket", ticket_id, etag)
        action = _OUTCOME_ACTIONS.get(decision.outcome)
        if action is None:
            raise InvalidArgument("decision.outcome", "must be APPROVED, ALTERNATIVE_OFFERED or DENIED")
        denial = Denial(decision.denial_reason, decision.alternatives_considered)
        if action is Action.DENY:
            if decision.constraints is not None and not decision.constraints.is_empty():
                raise InvalidArgument("decision.constraints", "a denial grants no constraints")
        elif decision.constraints is None:
            raise InvalidArgument("decision.constraints", "required: the adjustments granted or offered")
        elif decision.constraints.interviewer_notes:
            reason = self.cipher.decrypt(row.reason_ct)
            if any(repeats_reason(note, reason) for note in decision.constraints.interviewer_notes):
                raise InvalidArgument(
                    "decision.constraints.interviewer_notes",
                    "a note for interviewers may not quote the candidate's reason",
                )
        self._apply(row, action, denial)
        now = self.clock()
        if row.decide_time is None:  # the SLA is about the first decision
            row.decide_time = now
            clock = self.sla_clock(row)
            sched = schedule(self.sla, clock, State(row.state), now)
            row.sla_outcome = state_from_schedule(sched, clock, State(row.state), now).value
        row.decision_outcome = decision.outcome
        row.decision_time = now
        row.decided_by = caller.subject
        row.decision_constraints = (
            decision.constraints.to_json() if decision.constraints is not None and action is not Action.DENY else None
        )
        row.decision_text_ct = self.cipher.encrypt(
            json.dumps(
                {
                    "candidate_message": decision.candidate_message,
                    "denial_reason": decision.denial_reason if action is Action.DENY else "",
                    "alternatives_considered": list(decision.alternatives_considered),
                }
            )
        )
        self._changed(row, now)
        name = store.ticket_name(row.id)
        self._audit(
            session, caller, "ticket.decide", name,
            ["state", "decision.constraints", "decision.candidate_message", "decision.denial_reason",
             "decision.alternatives_considered"],
        )
        self._email(session, notices.decided(name, row.candidate_email, decision.outcome, row.version))
        return self._read(session, row, caller, "ticket.read")

    def respond_to_alternative(
        self, session: Session, caller: Caller, ticket_id: str, accept: bool, etag: str
    ) -> TicketView:
        row = self._step(session, caller, "RespondToAlternative", ticket_id, etag)
        self._apply(row, Action.ACCEPT_ALTERNATIVE if accept else Action.DECLINE_ALTERNATIVE)
        if accept:
            row.decision_outcome = OUTCOME_APPROVED  # the offered constraints are now granted
        self._changed(row, self.clock())
        self._audit(
            session, caller, "ticket.accept_alternative" if accept else "ticket.decline_alternative",
            store.ticket_name(row.id), ["state"],
        )
        return self._read(session, row, caller, "ticket.read")

    def activate(self, session: Session, caller: Caller, ticket_id: str, etag: str) -> TicketView:
        row = self._step(session, caller, "ActivateTicket", ticket_id, etag)
        before = self._constraints_etag(session, row.candidate)
        self._apply(row, Action.ACTIVATE)
        now = self.clock()
        row.activate_time = now
        self._changed(row, now)
        self._audit(session, caller, "ticket.activate", store.ticket_name(row.id), ["state"])
        self._revalidate_if_changed(session, row, before)
        return self._read(session, row, caller, "ticket.read")

    def fulfill(self, session: Session, caller: Caller, ticket_id: str, etag: str) -> TicketView:
        row = self._step(session, caller, "FulfillTicket", ticket_id, etag)
        before = self._constraints_etag(session, row.candidate)
        self._apply(row, Action.FULFILL)
        self._changed(row, self.clock())
        self._audit(session, caller, "ticket.fulfill", store.ticket_name(row.id), ["state"])
        self._revalidate_if_changed(session, row, before)
        return self._read(session, row, caller, "ticket.read")

    def withdraw(self, session: Session, caller: Caller, ticket_id: str, etag: str) -> TicketView:
        row = self._step(session, caller, "WithdrawTicket", ticket_id, etag)
        before = self._constraints_etag(session, row.candidate)
        self._apply(row, Action.WITHDRAW)
        now = self.clock()
        if row.paused_since is not None:
            row.paused_seconds = resume(self.sla, self.sla_clock(row), now).paused_total.total_seconds()
            row.paused_since = None
        self._changed(row, now)
        self._audit(session, caller, "ticket.withdraw", store.ticket_name(row.id), ["state"])
        self._revalidate_if_changed(session, row, before)
        return self._read(session, row, caller, "ticket.read")

    def close(
        self, session: Session, caller: Caller, ticket_id: str, hiring_decision_time: datetime | None, etag: str
    ) -> TicketView:
        row = self._step(session, caller, "CloseTicket", ticket_id, etag)
        self._apply(row, Action.CLOSE)
        now = self.clock()
        row.close_time = now
        if hiring_decision_time is not None:
            row.hiring_decision_time = hiring_decision_time
        self._changed(row, now)
        self._audit(session, caller, "ticket.close", store.ticket_name(row.id), ["state", "hiring_decision_time"])
        return self._read(session, row, caller, "ticket.read")

    def set_legal_hold(
        self, session: Session, caller: Caller, ticket_id: str, hold: bool, justification: str
    ) -> TicketView:
        row = self._load(session, caller, "SetLegalHold", ticket_id, lock=True)
        row.legal_hold = hold
        self._changed(row, self.clock())
        self._audit(session, caller, "ticket.legal_hold" if hold else "ticket.legal_hold_release",
                    store.ticket_name(row.id), ["legal_hold"], justification)
        return self._read(session, row, caller, "ticket.read")

    # ------------------------------------------------------------ messages
    def _add_message_row(
        self, session: Session, row: TicketRow, caller: Caller, visibility: Visibility, body: str, now: datetime
    ) -> MessageRow:
        message = MessageRow(
            id=new_id(),
            ticket_id=row.id,
            author=caller.subject,
            author_role=caller.role.value,
            visibility=visibility.value,
            body_ct=self.cipher.encrypt(body),
            create_time=now,
            seq=store.next_message_seq(session, row.id),
        )
        session.add(message)
        return message

    def add_message(
        self, session: Session, caller: Caller, ticket_id: str, visibility: Visibility, body: str
    ) -> str:
        """Adds a note or message; a candidate's message answers a pending question.
        Returns the message's name (the servicer renders it afterwards)."""
        row = self._load(session, caller, "AddMessage", ticket_id, lock=True)
        if not access.may_post(caller.role, visibility):
            raise PermissionDenied("candidates post candidate-visible messages only", reason="ACCESS_DENIED")
        if State(row.state) is State.CLOSED:
            raise FailedPrecondition("a closed ticket takes no messages", reason="TICKET_CLOSED", subject=store.ticket_name(row.id))
        now = self.clock()
        message = self._add_message_row(session, row, caller, visibility, body, now)
        if caller.role is Role.CANDIDATE and State(row.state) is State.AWAITING_CANDIDATE:
            self._apply(row, Action.CANDIDATE_REPLY)
            row.paused_seconds = resume(self.sla, self.sla_clock(row), now).paused_total.total_seconds()
            row.paused_since = None
        self._changed(row, now)
        name = store.ticket_name(row.id)
        self._audit(session, caller, "message.add", name, ["messages"])
        return f"{name}/messages/{message.id}"

    def message_view(self, row: MessageRow) -> MessageView:
        return MessageView(
            name=f"{store.ticket_name(row.ticket_id)}/messages/{row.id}",
            author=row.author,
            author_role=row.author_role,
            visibility=row.visibility,
            body=self.cipher.decrypt(row.body_ct),
            create_time=row.create_time,
        )

    def render_message(self, session: Session, caller: Caller, name: str) -> MessageView:
        """The author's view of the message they just added."""
        message_id = name.rsplit("/", 1)[-1]
        row = session.get(MessageRow, message_id)
        if row is None or row.author != caller.subject:
            raise NotFound(name)
        return self.message_view(row)

    def list_messages(
        self, session: Session, caller: Caller, ticket_id: str, page_size: int, page_token: str
    ) -> Page[MessageView]:
        row = self._load(session, caller, "ListMessages", ticket_id, lock=False)
        kinds = [v.value for v in access.visible_message_kinds(caller.role)]
        page = KeysetPage(page_size, page_token, "ListMessages", row.id, sorted(kinds))
        query = select(MessageRow).where(MessageRow.ticket_id == row.id, MessageRow.visibility.in_(kinds))
        if page.after is not None:
            query = query.where(MessageRow.seq > int(page.after[0]))
        rows, token = page.finish(list(session.scalars(query.order_by(MessageRow.seq).limit(page.size + 1))), lambda m: [m.seq])
        if rows:
            self._audit(session, caller, "message.read", store.ticket_name(row.id), ["messages"])
        return Page([self.message_view(m) for m in rows], token)

    # ------------------------------------------------------------ scheduling
    def constraints_for(self, session: Session, caller: Caller, candidate: str):  # type: ignore[no-untyped-def]
        self.require(caller, "GetSchedulingConstraints")
        return effective(store.active_constraints(session, candidate))

    # ------------------------------------------------------------ privacy
    def _candidate_rpc(self, caller: Caller, rpc: str, candidate: str) -> None:
        self.require(caller, rpc)
        relation = access.relation_to_candidate(caller.role, caller.subject, candidate)
        if not access.allowed(caller.role, rpc, relation):
            raise self._deny(rpc)

    def export(self, session: Session, caller: Caller, candidate: str) -> tuple[list[TicketView], list[MessageView]]:
        """Everything the candidate may see about themself (their view of each ticket and
        the messages addressed to them)."""
        self._candidate_rpc(caller, "ExportCandidateData", candidate)
        as_candidate = Caller(Role.CANDIDATE, candidate)
        tickets, messages = [], []
        for row in store.tickets_of_candidate(session, candidate):
            tickets.append(self.view(row, as_candidate, single_read=True))
            for m in sorted(row.messages, key=lambda m: m.seq):
                if m.visibility == Visibility.CANDIDATE_VISIBLE.value:
                    messages.append(self.message_view(m))
            self._audit(session, caller, "candidate.export", store.ticket_name(row.id),
                        ["reason", "messages", "decision.candidate_message"])
        return tickets, messages

    def _facts(self, row: TicketRow) -> RetentionFacts:
        return RetentionFacts(
            state=State(row.state),
            legal_hold=row.legal_hold,
            hiring_decision_time=row.hiring_decision_time,
            close_time=row.close_time,
            decided=row.decision_outcome != 0,
        )

    def delete_candidate(self, session: Session, caller: Caller, candidate: str) -> tuple[int, list[str]]:
        self._candidate_rpc(caller, "DeleteCandidateData", candidate)
        now = self.clock()
        before = self._constraints_etag(session, candidate)
        deleted, retained = 0, []
        for row in store.tickets_of_candidate(session, candidate, lock=True):
            name = store.ticket_name(row.id)
            verdict = deletion_verdict(self._facts(row), now)
            if verdict is DeletionVerdict.DELETE:
                session.delete(row)
                deleted += 1
                self._audit(session, caller, "candidate.delete", name, ["reason", "messages"])
            else:
                retained.append(name)
                self._audit(session, caller, "candidate.delete_refused", name, [], verdict.value)
        session.flush()
        if deleted and self._constraints_etag(session, candidate) != before:
            key, payload = notices.revalidate(candidate, f"candidates-delete/{new_id()}", 0)
            store.enqueue(session, store.TOPIC_REVALIDATE, key, payload)
        return deleted, retained

    def purge_expired(self, session: Session, caller: Caller | None) -> int:
        """Deletes closed tickets past retention. `caller` None: the service's own sweeper."""
        if caller is not None:
            self.require(caller, "PurgeExpiredTickets")
        now = self.clock()
        count = 0
        closed = select(TicketRow).where(TicketRow.state == State.CLOSED.value, TicketRow.legal_hold.is_(False))
        if session.get_bind().dialect.name == "postgresql":
            # Replicas purging at once each take the rows the other has not locked.
            closed = closed.with_for_update(skip_locked=True)
        for row in session.scalars(closed):
            if purgeable(self._facts(row), now):
                name = store.ticket_name(row.id)
                session.delete(row)
                count += 1
                store.add_audit(
                    session,
                    actor=caller.actor if caller else "services/accommodations",
                    actor_role=caller.role.value if caller else "service",
                    action="ticket.purge",
                    ticket=name,
                    fields=["reason", "messages"],
                    justification="retention period over",
                    now=now,
                )
        return count

    # ------------------------------------------------------------ audit
    def list_audit(
        self, session: Session, caller: Caller, ticket: str, page_size: int, page_token: str
    ) -> Page[AuditView]:
        self.require(caller, "ListAuditEvents")
        page = KeysetPage(page_size, page_token, "ListAuditEvents", ticket)
        query = select(AuditEventRow)
        if ticket:
            query = query.where(AuditEventRow.ticket == ticket)
        if page.after is not None:
            query = query.where(AuditEventRow.seq > int(page.after[0]))
        rows, token = page.finish(list(session.scalars(query.order_by(AuditEventRow.seq).limit(page.size + 1))), lambda a: [a.seq])
        return Page(
            [
                AuditView(
                    name=f"auditEvents/{r.id}", actor=r.actor, actor_role=r.actor_role, action=r.action,
                    ticket=r.ticket, fields=tuple(r.fields or ()), justification=r.justification,
                    create_time=r.create_time,
                )
                for r in rows
            ],
            token,
        )

