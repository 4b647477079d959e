"""Thin gRPC handlers: validate the request, run one Desk use case in a transaction, map
the result. Authorization is the Desk's (per ticket); logs carry ids only."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

import grpc
from google.protobuf.json_format import MessageToDict

from interviews.accommodations.v1 import accommodations_pb2 as pb
from interviews.accommodations.v1 import accommodations_pb2_grpc as pb_grpc
from interviews.common.v1 import common_pb2
from services.accommodations import mapping
from services.accommodations.domain.access import Role, Visibility
from services.accommodations.domain.lifecycle import State
from services.accommodations.domain.sla import SlaState
from services.accommodations.models import IdempotencyRecord
from services.accommodations.tickets import Desk, NewDecision, NewTicket, TicketFilter
from services.accommodations.views import Caller
from services.core import auth
from services.core.db import Database
from services.core.errors import InvalidArgument
from services.core.idempotency import run_idempotent
from services.core.names import parse, parse_id
from services.core.pagination import page_size
from services.core.timeconv import to_datetime

log = logging.getLogger(__name__)
T = TypeVar("T")

TICKET = "tickets/{ticket}"
CANDIDATE = "candidates/{candidate}"
MAX_TEXT = 10_000
_ADJUSTMENTS = {v.number for v in common_pb2.AdjustmentType.DESCRIPTOR.values if v.number != 0}


JUSTIFICATION_HEADER = "x-justification"
MAX_JUSTIFICATION = 500


def caller_from(principal: auth.Principal, why: str = "") -> Caller:
    """The core principal as this service's role (the scheduling service is "scheduler")."""
    if principal.role is auth.Role.SERVICE:
        role = Role.SCHEDULER if principal.service_name == "scheduling" else Role.OTHER_SERVICE
    else:
        role = Role(principal.role.value)
    return Caller(role=role, subject=principal.subject, email=principal.email, why=why)


def justification(context: grpc.ServicerContext) -> str:
    for key, value in context.invocation_metadata() or ():
        if key == JUSTIFICATION_HEADER and isinstance(value, str):
            if len(value) > MAX_JUSTIFICATION:
                raise InvalidArgument(JUSTIFICATION_HEADER, f"at most {MAX_JUSTIFICATION} characters")
            return value.strip()
    return ""


def _text(value: str, field: str, *, required: bool = True) -> str:
    if required and not value.strip():
        raise InvalidArgument(field, "required")
    if len(value) > MAX_TEXT:
        raise InvalidArgument(field, f"at most {MAX_TEXT} characters")
    return value


def _scoped(method: str, caller: Caller) -> str:
    """Request ids are per caller: a replay returns the first result to its own caller
    only, never to someone else who sends the same id."""
    who = hashlib.sha256(f"{caller.role.value}:{caller.subject}".encode()).hexdigest()[:24]
    return f"{method}/{who}"


def _ticket_id(name: str, field: str = "name") -> str:
    return parse_id(TICKET, name, field)


def _candidate(name: str, field: str) -> str:
    parse(CANDIDATE, name, field)
    return name


def _optional_time(msg: object, field: str) -> datetime | None:
    if not msg.HasField(field):  # type: ignore[attr-defined]
        return None
    return to_datetime(getattr(msg, field), field)


class AccommodationsServicer(pb_grpc.AccommodationsServiceServicer):
    def __init__(self, db: Database, desk: Desk, after_write: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.desk = desk
        # Wakes the outbox relay: a commit may have queued an email or a scheduling call.
        self.after_write = after_write

    def _caller(self, rpc: str, context: grpc.ServicerContext) -> Caller:
        """The caller, refused before any validation if its role may not call `rpc` at all
        (per-ticket checks follow in the Desk)."""
        caller = caller_from(auth.current_principal())
        self.desk.require(caller, rpc)
        return replace(caller, why=justification(context))

    def _write(self, work: Callable[..., T]) -> T:
        result = self.db.run(work)
        self.after_write()
        return result

    def _ticket(self, work: Callable[..., object]) -> pb.Ticket:
        return mapping.ticket_to_proto(self._write(work))  # type: ignore[arg-type]

    # ------------------------------------------------------------ intake
    def SubmitTicket(self, request: pb.SubmitTicketRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller = self._caller("SubmitTicket", context)
        t = request.ticket
        candidate = t.candidate or (caller.subject if caller.role is Role.CANDIDATE else "")
        email = t.candidate_email or (caller.email or "" if caller.role is Role.CANDIDATE else "")
        if "@" not in email or len(email) > 320:
            raise InvalidArgument("ticket.candidate_email", "required: where the candidate receives updates")
        adjustments = tuple(t.requested_adjustments)
        for i, kind in enumerate(adjustments):
            if kind not in _ADJUSTMENTS:
                raise InvalidArgument(f"ticket.requested_adjustments[{i}]", "not a known adjustment type")
        if len(set(adjustments)) != len(adjustments):
            raise InvalidArgument("ticket.requested_adjustments", "each adjustment at most once")
        new = NewTicket(
            candidate=_candidate(candidate, "ticket.candidate"),
            candidate_email=email,
            requested_adjustments=adjustments,
            reason=_text(t.reason, "ticket.reason"),
            loop=(parse("loops/{loop}", t.loop, "ticket.loop") and t.loop) if t.loop else "",
            office=(parse("offices/{office}", t.office, "ticket.office") and t.office) if t.office else "",
            first_interview_time=(
                to_datetime(t.first_interview_time, "ticket.first_interview_time")
                if t.HasField("first_interview_time") else None
            ),
        )

        # The stored replay holds the ticket's name only: a response with the reason in it
        # would put the reason in plain text into the idempotency table.
        def produce(session: object) -> pb.Ticket:
            return pb.Ticket(name=f"tickets/{self.desk.submit(session, caller, new)}")  # type: ignore[arg-type]

        created = run_idempotent(self.db, IdempotencyRecord, _scoped("SubmitTicket", caller), request, pb.Ticket, produce)
        self.after_write()
        ticket_id = _ticket_id(created.name)
        log.info("ticket submitted", extra={"ticket": created.name})
        with self.db.reader() as session:
            return mapping.ticket_to_proto(self.desk.render_created(session, caller, ticket_id))

    def GetTicket(self, request: pb.GetTicketRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller, ticket_id = self._caller("GetTicket", context), _ticket_id(request.name)
        return self._ticket(lambda s: self.desk.get(s, caller, ticket_id))

    def ListTickets(self, request: pb.ListTicketsRequest, context: grpc.ServicerContext) -> pb.ListTicketsResponse:
        caller = self._caller("ListTickets", context)
        # A filter is a set: repeated values add nothing (and would each add an OR term).
        try:
            states = tuple(dict.fromkeys(State(s) for s in request.states))
        except ValueError:
            raise InvalidArgument("states", "unknown ticket state") from None
        try:
            sla_states = tuple(dict.fromkeys(SlaState(s) for s in request.sla_states))
        except ValueError:
            raise InvalidArgument("sla_states", "unknown SLA state") from None
        flt = TicketFilter(
            states=states,
            assignee=request.assignee,
            office=request.office,
            sla_states=sla_states,
            due_before=_optional_time(request, "due_before"),
            candidate=_candidate(request.candidate, "candidate") if request.candidate else "",
        )
        size = page_size(request.page_size)
        # Audit rows are only written for confidential reads, which lists never make.
        with self.db.reader() as session:
            page = self.desk.list(session, caller, flt, size, request.page_token)
        return pb.ListTicketsResponse(
            tickets=[mapping.ticket_to_proto(v) for v in page.items], next_page_token=page.next_page_token
        )

    def AssignTicket(self, request: pb.AssignTicketRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller, ticket_id = self._caller("AssignTicket", context), _ticket_id(request.name)
        if len(request.assignee) > 320:
            raise InvalidArgument("assignee", "at most 320 characters")
        return self._ticket(lambda s: self.desk.assign(s, caller, ticket_id, request.assignee, request.etag))

    # ------------------------------------------------------------ lifecycle
    def TriageTicket(self, request: pb.TriageTicketRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller, ticket_id = self._caller("TriageTicket", context), _ticket_id(request.name)
        return self._ticket(lambda s: self.desk.triage(s, caller, ticket_id, request.etag))

    def StartReview(self, request: pb.StartReviewRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller, ticket_id = self._caller("StartReview", context), _ticket_id(request.name)
        return self._ticket(lambda s: self.desk.start_review(s, caller, ticket_id, request.etag))

    def RequestInformation(self, request: pb.RequestInformationRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller, ticket_id = self._caller("RequestInformation", context), _ticket_id(request.name)
        question = _text(request.question, "question")
        return self._ticket(lambda s: self.desk.request_information(s, caller, ticket_id, question, request.etag))

    def DecideTicket(self, request: pb.DecideTicketRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller, ticket_id = self._caller("DecideTicket", context), _ticket_id(request.name)
        d = request.decision
        decision = NewDecision(
            outcome=d.outcome,
            constraints=(
                mapping.constraints_from_proto(d.constraints, "decision.constraints")
                if d.HasField("constraints") else None
            ),
            candidate_message=_text(d.candidate_message, "decision.candidate_message", required=False),
            denial_reason=_text(d.denial_reason, "decision.denial_reason", required=False),
            alternatives_considered=tuple(
                _text(a, f"decision.alternatives_considered[{i}]") for i, a in enumerate(d.alternatives_considered)
            ),
        )
        return self._ticket(lambda s: self.desk.decide(s, caller, ticket_id, decision, request.etag))

    def RespondToAlternative(
        self, request: pb.RespondToAlternativeRequest, context: grpc.ServicerContext
    ) -> pb.Ticket:
        caller, ticket_id = self._caller("RespondToAlternative", context), _ticket_id(request.name)
        return self._ticket(
            lambda s: self.desk.respond_to_alternative(s, caller, ticket_id, request.accept, request.etag)
        )

    def ActivateTicket(self, request: pb.ActivateTicketRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller, ticket_id = self._caller("ActivateTicket", context), _ticket_id(request.name)
        return self._ticket(lambda s: self.desk.activate(s, caller, ticket_id, request.etag))

    def FulfillTicket(self, request: pb.FulfillTicketRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller, ticket_id = self._caller("FulfillTicket", context), _ticket_id(request.name)
        return self._ticket(lambda s: self.desk.fulfill(s, caller, ticket_id, request.etag))

    def WithdrawTicket(self, request: pb.WithdrawTicketRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller, ticket_id = self._caller("WithdrawTicket", context), _ticket_id(request.name)
        return self._ticket(lambda s: self.desk.withdraw(s, caller, ticket_id, request.etag))

    def CloseTicket(self, request: pb.CloseTicketRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller, ticket_id = self._caller("CloseTicket", context), _ticket_id(request.name)
        hired = _optional_time(request, "hiring_decision_time")
        return self._ticket(lambda s: self.desk.close(s, caller, ticket_id, hired, request.etag))

    def SetLegalHold(self, request: pb.SetLegalHoldRequest, context: grpc.ServicerContext) -> pb.Ticket:
        caller, ticket_id = self._caller("SetLegalHold", context), _ticket_id(request.name)
        why = _text(request.justification, "justification")
        return self._ticket(lambda s: self.desk.set_legal_hold(s, caller, ticket_id, request.legal_hold, why))

    # ------------------------------------------------------------ messages
    def AddMessage(self, request: pb.AddMessageRequest, context: grpc.ServicerContext) -> pb.Message:
        caller, ticket_id = self._caller("AddMessage", context), _ticket_id(request.parent, "parent")
        try:
            visibility = Visibility(request.message.visibility)
        except ValueError:
            raise InvalidArgument("message.visibility", "INTERNAL or CANDIDATE_VISIBLE") from None
        body = _text(request.message.body, "message.body")

        # As for tickets, the stored replay is the name only (the body is confidential).
        def produce(session: object) -> pb.Message:
            return pb.Message(name=self.desk.add_message(session, caller, ticket_id, visibility, body))  # type: ignore[arg-type]

        added = run_idempotent(self.db, IdempotencyRecord, _scoped("AddMessage", caller), request, pb.Message, produce)
        self.after_write()
        with self.db.reader() as session:
            return mapping.message_to_proto(self.desk.render_message(session, caller, added.name))

    def ListMessages(self, request: pb.ListMessagesRequest, context: grpc.ServicerContext) -> pb.ListMessagesResponse:
        caller, ticket_id = self._caller("ListMessages", context), _ticket_id(request.parent, "parent")
        size = page_size(request.page_size)
        page = self.db.run(lambda s: self.desk.list_messages(s, caller, ticket_id, size, request.page_token))
        return pb.ListMessagesResponse(
            messages=[mapping.message_to_proto(m) for m in page.items], next_page_token=page.next_page_token
        )

    # ------------------------------------------------------------ scheduling
    def GetSchedulingConstraints(
        self, request: pb.GetSchedulingConstraintsRequest, context: grpc.ServicerContext
    ) -> common_pb2.SchedulingConstraints:
        caller = self._caller("GetSchedulingConstraints", context)
        candidate = _candidate(request.candidate, "candidate")
        with self.db.reader() as session:
            eff = self.desk.constraints_for(session, caller, candidate)
        return mapping.effective_to_proto(eff, candidate)

    # ------------------------------------------------------------ privacy
    def ExportCandidateData(
        self, request: pb.ExportCandidateDataRequest, context: grpc.ServicerContext
    ) -> pb.ExportCandidateDataResponse:
        caller = self._caller("ExportCandidateData", context)
        candidate = _candidate(request.candidate, "candidate")
        tickets, messages = self.db.run(lambda s: self.desk.export(s, caller, candidate))
        response = pb.ExportCandidateDataResponse(
            tickets=[mapping.ticket_to_proto(t) for t in tickets],
            messages=[mapping.message_to_proto(m) for m in messages],
        )
        document = {
            "candidate": candidate,
            "tickets": [MessageToDict(t) for t in response.tickets],
            "messages": [MessageToDict(m) for m in response.messages],
        }
        response.json_export = json.dumps(document, indent=2, ensure_ascii=False).encode()
        return response

    def DeleteCandidateData(
        self, request: pb.DeleteCandidateDataRequest, context: grpc.ServicerContext
    ) -> pb.DeleteCandidateDataResponse:
        caller = self._caller("DeleteCandidateData", context)
        candidate = _candidate(request.candidate, "candidate")
        deleted, retained = self._write(lambda s: self.desk.delete_candidate(s, caller, candidate))
        return pb.DeleteCandidateDataResponse(deleted_tickets=deleted, retained_tickets=retained)

    def PurgeExpiredTickets(
        self, request: pb.PurgeExpiredTicketsRequest, context: grpc.ServicerContext
    ) -> pb.PurgeExpiredTicketsResponse:
        caller = self._caller("PurgeExpiredTickets", context)
        count = self._write(lambda s: self.desk.purge_expired(s, caller))
        return pb.PurgeExpiredTicketsResponse(purged_count=count)

    def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, context: grpc.ServicerContext
    ) -> pb.ListAuditEventsResponse:
        caller = self._caller("ListAuditEvents", context)
        if request.ticket:
            _ticket_id(request.ticket, "ticket")
        size = page_size(request.page_size)
        with self.db.reader() as session:
            page = self.desk.list_audit(session, caller, request.ticket, size, request.page_token)
        return pb.ListAuditEventsResponse(
            audit_events=[mapping.audit_to_proto(a) for a in page.items], next_page_token=page.next_page_token
        )

