"""`interviews accommodations ...`: the coordinator queue and ticket work, and submit /
status for candidates and recruiters. Talks gRPC only; what a command shows is what the
server let the caller see.

Reasons and messages can be read from a file or stdin (`--reason -`) so that confidential
text does not end up in the shell history.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import grpc
from interviews.accommodations.v1 import accommodations_pb2 as pb
from interviews.accommodations.v1 import accommodations_pb2_grpc as pb_grpc
from interviews.common.v1 import common_pb2

from services.cli.common import (
    CliError,
    channel_to,
    command_group,
    describe_rpc_error,
    local_time,
    table,
    token_for,
)

DISPLAY_ZONE = "America/Los_Angeles"
STATE = lambda v: pb.TicketState.Name(v).removeprefix("TICKET_STATE_").lower()  # noqa: E731
SLA = lambda v: pb.SlaState.Name(v).removeprefix("SLA_STATE_").lower()  # noqa: E731
ADJUSTMENTS = {
    name.removeprefix("ADJUSTMENT_TYPE_").lower(): number
    for name, number in common_pb2.AdjustmentType.items()
    if number
}


def call(args: argparse.Namespace, method: object, request: object) -> object:
    """One call with the caller's token and, when given, why they read or change the
    ticket (`--why`, recorded on the audit events)."""
    metadata = [("authorization", f"Bearer {token_for(args)}")]
    if getattr(args, "why", None):
        metadata.append(("x-justification", args.why))
    try:
        return method(request, timeout=args.timeout, metadata=tuple(metadata))  # type: ignore[operator]
    except grpc.RpcError as error:
        raise CliError(describe_rpc_error(error)) from None


def _stub() -> pb_grpc.AccommodationsServiceStub:
    return pb_grpc.AccommodationsServiceStub(channel_to("accommodations"))


def _ticket_name(value: str) -> str:
    return value if value.startswith("tickets/") else f"tickets/{value}"


def _text(value: str) -> str:
    """`-` reads stdin, `@path` reads a file, anything else is the text itself."""
    if value == "-":
        return sys.stdin.read().strip()
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as handle:
            return handle.read().strip()
    return value


def _when(ts: object, zone: str = DISPLAY_ZONE) -> str:
    if not ts.seconds:  # type: ignore[attr-defined]
        return ""
    return local_time(ts.ToDatetime(tzinfo=UTC), zone)  # type: ignore[attr-defined]


def _timestamp(value: str) -> object:
    from google.protobuf.timestamp_pb2 import Timestamp

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(f"not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise CliError(f"give a zone offset with the time, e.g. {value}-08:00 or {value}Z")
    ts = Timestamp()
    ts.FromDatetime(parsed.astimezone(UTC))
    return ts


def _window(value: str) -> common_pb2.DailyWindow:
    try:
        start, end = value.split("-")
        (sh, sm), (eh, em) = (map(int, start.split(":")), map(int, end.split(":")))
    except ValueError:
        raise CliError(f"a window is HH:MM-HH:MM, got {value!r}") from None
    return common_pb2.DailyWindow(start=common_pb2.LocalTime(hours=sh, minutes=sm), end=common_pb2.LocalTime(hours=eh, minutes=em))


# ---------------------------------------------------------------- queue

def sla_due(ticket: pb.Ticket) -> object:
    """The deadline a coordinator works to next: the sooner of the acknowledgement (until
    triaged) and the decision (which an early interview can bring forward)."""
    due = [ticket.sla.decision_due_time]
    if not ticket.sla.acknowledge_time.seconds:
        due.append(ticket.sla.acknowledge_due_time)
    return min(due, key=lambda ts: (ts.seconds, ts.nanos))


def queue_rows(tickets: list[pb.Ticket]) -> list[list[str]]:
    return [
        [
            t.name.removeprefix("tickets/"),
            STATE(t.state),
            SLA(t.sla.state),
            _when(sla_due(t)) if t.sla.state in (pb.SLA_STATE_ON_TRACK, pb.SLA_STATE_AT_RISK, pb.SLA_STATE_OVERDUE) else "",
            t.assignee,
            t.office.removeprefix("offices/"),
            t.candidate,
        ]
        for t in tickets
    ]


def _queue(args: argparse.Namespace) -> int:
    request = pb.ListTicketsRequest(
        page_size=args.page_size,
        states=[pb.TicketState.Value(f"TICKET_STATE_{s.upper()}") for s in args.state],
        assignee=args.assignee or "",
        office=f"offices/{args.office}" if args.office and "/" not in args.office else (args.office or ""),
        sla_states=[pb.SlaState.Value(f"SLA_STATE_{s.upper()}") for s in args.sla],
    )
    if args.due_before:
        request.due_before.CopyFrom(_timestamp(args.due_before))
    tickets: list[pb.Ticket] = []
    while True:
        response = call(args, _stub().ListTickets, request)
        tickets.extend(response.tickets)
        if not args.all or not response.next_page_token:
            break
        request.page_token = response.next_page_token
    headers = ["TICKET", "STATE", "SLA", f"DUE ({DISPLAY_ZONE})", "ASSIGNEE", "OFFICE", "CANDIDATE"]
    print(table(headers, queue_rows(tickets), highlight=lambda row: row[2] == "overdue"))
    if not args.all and response.next_page_token:
        print(f"(more: --all, or page token {response.next_page_token})")
    return 0


# ---------------------------------------------------------------- one ticket

def describe(t: pb.Ticket) -> str:
    lines = [
        f"ticket       {t.name}",
        f"state        {STATE(t.state)}",
        f"candidate    {t.candidate} {t.candidate_email}".rstrip(),
    ]
    if t.HasField("sla"):
        lines.append(f"sla          {SLA(t.sla.state)}; acknowledge by {_when(t.sla.acknowledge_due_time)}, decide by {_when(t.sla.decision_due_time)}")
    optional = [
        ("assignee", t.assignee),
        ("submitted by", t.submitted_by),
        ("office", t.office),
        ("loop", t.loop),
        ("adjustments", ", ".join(common_pb2.AdjustmentType.Name(a).removeprefix("ADJUSTMENT_TYPE_").lower() for a in t.requested_adjustments)),
        ("first interview", _when(t.first_interview_time)),
        ("legal hold", "yes" if t.legal_hold else ""),
        ("etag", t.etag),
    ]
    lines += [f"{label:<12} {value}" for label, value in optional if value]
    if t.reason:
        lines += ["reason:", *(f"  {line}" for line in t.reason.splitlines())]
    if t.HasField("decision"):
        d = t.decision
        lines.append(f"decision     {pb.DecisionOutcome.Name(d.outcome).removeprefix('DECISION_OUTCOME_').lower()}")
        if d.HasField("constraints"):
            c = d.constraints
            granted = [
                f"duration x{c.duration_multiplier:g}" if c.duration_multiplier > 1 else "",
                f"+{c.extra_break_minutes} min breaks" if c.extra_break_minutes else "",
                f"max {c.max_sessions_per_day}/day" if c.max_sessions_per_day else "",
                *(flag.replace("_", " ") for flag in ("remote_only", "accessible_room", "interpreter", "captioning", "one_interviewer_at_a_time", "quiet_room") if getattr(c, flag)),
                *(f"{w.start.hours:02}:{w.start.minutes:02}-{w.end.hours:02}:{w.end.minutes:02}" for w in c.allowed_windows),
            ]
            lines.append(f"  grants     {', '.join(g for g in granted if g) or 'no scheduling change'}")
        for label, value in (("message", d.candidate_message), ("denied", d.denial_reason), ("considered", "; ".join(d.alternatives_considered))):
            if value:
                lines.append(f"  {label:<10} {value}")
    if t.redacted:
        lines.append("(some fields are not shown to your role)")
    return "\n".join(lines)


def _show(args: argparse.Namespace) -> int:
    ticket = call(args, _stub().GetTicket, pb.GetTicketRequest(name=_ticket_name(args.ticket)))
    print(describe(ticket))
    if args.messages:
        messages = call(args, _stub().ListMessages, pb.ListMessagesRequest(parent=ticket.name, page_size=1000))
        for m in messages.messages:
            kind = "internal" if m.visibility == pb.MESSAGE_VISIBILITY_INTERNAL else "to candidate"
            print(f"\n[{_when(m.create_time)}] {m.author} ({kind}):\n  {m.body}")
    return 0


def _print_ticket(ticket: pb.Ticket) -> int:
    print(f"{ticket.name}: {STATE(ticket.state)}")
    return 0


def _assign(args: argparse.Namespace) -> int:
    return _print_ticket(call(args, _stub().AssignTicket, pb.AssignTicketRequest(name=_ticket_name(args.ticket), assignee=args.assignee, etag=args.etag)))


def _add_message(args: argparse.Namespace, visibility: int) -> int:
    message = call(
        args,
        _stub().AddMessage,
        pb.AddMessageRequest(parent=_ticket_name(args.ticket), message=pb.Message(visibility=visibility, body=_text(args.text))),  # type: ignore[arg-type]
    )
    print(f"added {message.name}")
    return 0


def _request_info(args: argparse.Namespace) -> int:
    request = pb.RequestInformationRequest(name=_ticket_name(args.ticket), question=_text(args.question), etag=args.etag)
    return _print_ticket(call(args, _stub().RequestInformation, request))


def decision_from_args(args: argparse.Namespace) -> pb.Decision:
    outcome = {"approve": pb.DECISION_OUTCOME_APPROVED, "offer": pb.DECISION_OUTCOME_ALTERNATIVE_OFFERED, "deny": pb.DECISION_OUTCOME_DENIED}[args.outcome]
    decision = pb.Decision(
        outcome=outcome,
        candidate_message=_text(args.message) if args.message else "",
        denial_reason=_text(args.denial_reason) if args.denial_reason else "",
        alternatives_considered=args.alternative,
    )
    if outcome != pb.DECISION_OUTCOME_DENIED:
        decision.constraints.CopyFrom(
            common_pb2.SchedulingConstraints(
                duration_multiplier=args.duration_multiplier,
                extra_break_minutes=args.extra_break,
                max_sessions_per_day=args.max_sessions,
                remote_only=args.remote_only,
                accessible_room=args.accessible_room,
                interpreter=args.interpreter,
                captioning=args.captioning,
                one_interviewer_at_a_time=args.one_interviewer,
                quiet_room=args.quiet_room,
                allowed_windows=[_window(w) for w in args.window],
                interviewer_notes=args.interviewer_note,
            )
        )
    return decision


def _decide(args: argparse.Namespace) -> int:
    request = pb.DecideTicketRequest(name=_ticket_name(args.ticket), decision=decision_from_args(args), etag=args.etag)
    return _print_ticket(call(args, _stub().DecideTicket, request))


def _step(rpc: str, request_type: type) -> object:
    def run(args: argparse.Namespace) -> int:
        return _print_ticket(call(args, getattr(_stub(), rpc), request_type(name=_ticket_name(args.ticket), etag=args.etag)))

    return run


# ---------------------------------------------------------------- candidates and recruiters

def _submit(args: argparse.Namespace) -> int:
    unknown = [a for a in args.adjustment if a not in ADJUSTMENTS]
    if unknown:
        raise CliError(f"unknown adjustment {unknown[0]!r}; choose from {', '.join(ADJUSTMENTS)}")
    ticket = pb.Ticket(
        candidate=args.candidate or "",
        candidate_email=args.email or "",
        reason=_text(args.reason),
        requested_adjustments=[ADJUSTMENTS[a] for a in args.adjustment],  # type: ignore[misc]
        loop=args.loop or "",
        office=args.office or "",
    )
    if args.first_interview:
        ticket.first_interview_time.CopyFrom(_timestamp(args.first_interview))
    created = call(args, _stub().SubmitTicket, pb.SubmitTicketRequest(ticket=ticket, request_id=args.request_id or ""))
    print(f"submitted {created.name}: {STATE(created.state)}")
    return 0


def _status(args: argparse.Namespace) -> int:
    if args.ticket:
        ticket = call(args, _stub().GetTicket, pb.GetTicketRequest(name=_ticket_name(args.ticket)))
        tickets = [ticket]
    else:
        tickets = list(call(args, _stub().ListTickets, pb.ListTicketsRequest(page_size=1000)).tickets)
    rows = [[t.name, t.candidate, STATE(t.state), _when(t.update_time)] for t in tickets]
    print(table(["TICKET", "CANDIDATE", "STATUS", "UPDATED"], rows))
    return 0


# ---------------------------------------------------------------- records

def _close(args: argparse.Namespace) -> int:
    request = pb.CloseTicketRequest(name=_ticket_name(args.ticket), etag=args.etag)
    if args.hiring_decision:
        request.hiring_decision_time.CopyFrom(_timestamp(args.hiring_decision))
    return _print_ticket(call(args, _stub().CloseTicket, request))


def _legal_hold(args: argparse.Namespace) -> int:
    request = pb.SetLegalHoldRequest(name=_ticket_name(args.ticket), legal_hold=args.state == "on", justification=args.justification)
    ticket = call(args, _stub().SetLegalHold, request)
    print(f"{ticket.name}: legal hold {'on' if ticket.legal_hold else 'off'}")
    return 0


def _candidate_name(value: str) -> str:
    return value if value.startswith("candidates/") else f"candidates/{value}"


def _export(args: argparse.Namespace) -> int:
    response = call(args, _stub().ExportCandidateData, pb.ExportCandidateDataRequest(candidate=_candidate_name(args.candidate)))
    if args.output == "-":
        sys.stdout.write(response.json_export.decode() + "\n")
    else:
        with open(args.output, "wb") as handle:
            handle.write(response.json_export)
        print(f"wrote {len(response.tickets)} tickets and {len(response.messages)} messages to {args.output}")
    return 0


def _delete_data(args: argparse.Namespace) -> int:
    response = call(args, _stub().DeleteCandidateData, pb.DeleteCandidateDataRequest(candidate=_candidate_name(args.candidate)))
    print(f"deleted {response.deleted_tickets} tickets")
    for name in response.retained_tickets:
        print(f"kept {name} (legal retention)")
    return 0


def _purge(args: argparse.Namespace) -> int:
    print(f"purged {call(args, _stub().PurgeExpiredTickets, pb.PurgeExpiredTicketsRequest()).purged_count} tickets")
    return 0


def _audit(args: argparse.Namespace) -> int:
    request = pb.ListAuditEventsRequest(page_size=args.page_size, ticket=_ticket_name(args.ticket) if args.ticket else "")
    response = call(args, _stub().ListAuditEvents, request)
    rows = [[_when(e.create_time), e.actor, e.actor_role, e.action, e.ticket, ",".join(e.fields), e.justification] for e in response.audit_events]
    print(table(["WHEN", "ACTOR", "ROLE", "ACTION", "TICKET", "FIELDS", "WHY"], rows))
    return 0


# ---------------------------------------------------------------- registration

def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    base_command = command_group(groups, "accommodations", "accommodation tickets (coordinators, candidates, recruiters)")

    def command(name: str, help_text: str, func: object, *, ticket: bool = True, etag: bool = False) -> argparse.ArgumentParser:
        parser = base_command(name, help_text, func)
        parser.add_argument("--why", help="why you need it: recorded in the audit log")
        if ticket:
            parser.add_argument("ticket", help="tickets/{id} or the id")
        if etag:
            parser.add_argument("--etag", default="", help="refuse if the ticket changed since you read it")
        return parser

    queue = command("queue", "the coordinator queue, soonest SLA deadline first", _queue, ticket=False)
    queue.add_argument("--state", action="append", default=[], choices=[STATE(v) for v in pb.TicketState.values() if v])
    queue.add_argument("--sla", action="append", default=[], choices=[SLA(v) for v in pb.SlaState.values() if v])
    queue.add_argument("--assignee")
    queue.add_argument("--office", help="office id or offices/{id}")
    queue.add_argument("--due-before", help="ISO 8601 time with offset")
    queue.add_argument("--page-size", type=int, default=50)
    queue.add_argument("--all", action="store_true", help="every page")

    show = command("show", "one ticket, as your role may see it", _show)
    show.add_argument("--messages", action="store_true", help="also the messages you may see")

    assign = command("assign", "assign a coordinator", _assign, etag=True)
    assign.add_argument("assignee")

    note = command("note", "an internal note (coordinators only)", lambda a: _add_message(a, pb.MESSAGE_VISIBILITY_INTERNAL))
    note.add_argument("text", help="the note; - reads stdin, @file reads a file")
    message = command("message", "a message the candidate sees (a candidate's reply, too)", lambda a: _add_message(a, pb.MESSAGE_VISIBILITY_CANDIDATE_VISIBLE))
    message.add_argument("text", help="the message; - reads stdin, @file reads a file")

    info = command("request-info", "ask the candidate a question (pauses the SLA clock)", _request_info, etag=True)
    info.add_argument("question", help="- reads stdin, @file reads a file")

    decide = command("decide", "approve, offer an alternative, or deny", _decide, etag=True)
    decide.add_argument("outcome", choices=["approve", "offer", "deny"])
    decide.add_argument("--duration-multiplier", type=float, default=0.0)
    decide.add_argument("--extra-break", type=int, default=0, help="minutes between sessions")
    decide.add_argument("--max-sessions", type=int, default=0, help="per day")
    for flag in ("remote-only", "accessible-room", "interpreter", "captioning", "one-interviewer", "quiet-room"):
        decide.add_argument(f"--{flag}", action="store_true")
    decide.add_argument("--window", action="append", default=[], help="allowed daily window HH:MM-HH:MM (candidate's zone)")
    decide.add_argument("--interviewer-note", action="append", default=[], help="what interviewers must know (never the reason)")
    decide.add_argument("--message", help="shown to the candidate")
    decide.add_argument("--denial-reason")
    decide.add_argument("--alternative", action="append", default=[], help="an alternative that was considered")

    for name, rpc, request_type, help_text in (
        ("triage", "TriageTicket", pb.TriageTicketRequest, "acknowledge a new ticket"),
        ("review", "StartReview", pb.StartReviewRequest, "start the review"),
        ("activate", "ActivateTicket", pb.ActivateTicketRequest, "hand approved constraints to scheduling"),
        ("fulfill", "FulfillTicket", pb.FulfillTicketRequest, "the interviews took place with the adjustments"),
        ("withdraw", "WithdrawTicket", pb.WithdrawTicketRequest, "withdraw the request"),
    ):
        command(name, help_text, _step(rpc, request_type), etag=True)

    close = command("close", "close a fulfilled, denied or withdrawn ticket", _close, etag=True)
    close.add_argument("--hiring-decision", help="when the hiring decision was made (ISO 8601 with offset); retention counts from it")
    hold = command("legal-hold", "put a ticket on legal hold, or release it", _legal_hold)
    hold.add_argument("state", choices=["on", "off"])
    hold.add_argument("--justification", required=True)
    export = command("export", "a candidate's data as JSON (CCPA)", _export, ticket=False)
    export.add_argument("candidate", help="candidates/{id} or the id")
    export.add_argument("--output", default="-", help="file to write (default stdout)")
    delete = command("delete-data", "delete a candidate's data, except what the law keeps (CCPA)", _delete_data, ticket=False)
    delete.add_argument("candidate", help="candidates/{id} or the id")
    command("purge", "purge closed tickets past retention", _purge, ticket=False)
    audit = command("audit", "the audit log (auditors, coordinators)", _audit, ticket=False)
    audit.add_argument("--ticket")
    audit.add_argument("--page-size", type=int, default=100)

    submit = command("submit", "ask for an accommodation (candidate for themself, recruiter on their behalf)", _submit, ticket=False)
    submit.add_argument("--candidate", help="candidates/{id} (a candidate may leave it out)")
    submit.add_argument("--email", help="where the candidate receives updates")
    submit.add_argument("--reason", required=True, help="in plain words; - reads stdin, @file reads a file")
    submit.add_argument("--adjustment", action="append", default=[], help=f"one of: {', '.join(ADJUSTMENTS)}")
    submit.add_argument("--loop")
    submit.add_argument("--office")
    submit.add_argument("--first-interview", help="ISO 8601 time with offset")
    submit.add_argument("--request-id", help="retry-safe id for this submission")

    status = command("status", "where your requests stand", _status, ticket=False)
    status.add_argument("ticket", nargs="?")
