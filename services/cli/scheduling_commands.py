"""`interviews scheduling ...`: recruiter commands for the directory and loops.

Plans are shown in the candidate's own zone. `book` and `reschedule` run the
same search as `find` and book the plan with the number `find` showed; the
server checks it again, so a plan taken meanwhile is refused, never
double-booked.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from google.protobuf.duration_pb2 import Duration
from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from interviews.scheduling.v1 import scheduling_pb2_grpc as pb_grpc

from services.cli.common import CliError, call, channel_to, command_group, table

DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
AREAS = {n.removeprefix("ML_AREA_").lower().replace("_", "-"): v for n, v in common_pb2.MlArea.items() if v}
KINDS = {n.removeprefix("SESSION_KIND_").lower().replace("_", "-"): v for n, v in pb.SessionKind.items() if v}
RULES = {n.removeprefix("AREA_RULE_").lower().replace("_", "-"): v for n, v in pb.AreaRule.items() if v}


def _stub() -> pb_grpc.SchedulingServiceStub:
    return pb_grpc.SchedulingServiceStub(channel_to("scheduling"))


def _name(kind: str, value: str) -> str:
    return value if value.startswith(f"{kind}/") else f"{kind}/{value}"


def _area(value: str) -> int:
    if value not in AREAS:
        raise CliError(f"unknown ML area {value!r}; one of: {', '.join(AREAS)}")
    return AREAS[value]


def _local(text: str) -> common_pb2.LocalTime:
    hours, _, minutes = text.partition(":")
    try:
        return common_pb2.LocalTime(hours=int(hours), minutes=int(minutes or 0))
    except ValueError:
        raise CliError(f"not a time of day: {text!r} (HH:MM)") from None


def parse_hours(text: str) -> list[common_pb2.WeeklyInterval]:
    """"mon-fri 09:00-17:00" (several separated by ';')."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        try:
            days, span = part.split()
            first, _, last = days.lower().partition("-")
            start, end = span.split("-")
            numbers = range(DAYS[first], DAYS[last or first] + 1)
        except (ValueError, KeyError):
            raise CliError(f"not a weekly interval: {part!r} (e.g. 'mon-fri 09:00-17:00')") from None
        out += [common_pb2.WeeklyInterval(day_of_week=d, start=_local(start), end=_local(end)) for d in numbers]
    return out


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"not a date: {text!r} (YYYY-MM-DD)") from None


def _instant(day: date, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def _range(start: datetime, end: datetime) -> common_pb2.TimeRange:
    out = common_pb2.TimeRange()
    out.start_time.FromDatetime(start)
    out.end_time.FromDatetime(end)
    return out


def _minutes(n: int) -> Duration:
    return Duration(seconds=n * 60)


# ---------------------------------------------------------------- directory


def _interviewer_add(args: argparse.Namespace) -> int:
    interviewer = pb.Interviewer(
        display_name=args.display_name or args.id,
        email=args.email,
        home_office=_name("offices", args.office),
        ml_areas=[_area(a) for a in args.areas.split(",") if a],
        time_zone=args.zone,
        working_hours=parse_hours(args.hours),
        max_interviews_per_day=args.per_day,
        max_interviews_per_week=args.per_week,
        trainee=args.trainee,
    )
    created = call(args, _stub().CreateInterviewer, pb.CreateInterviewerRequest(
        interviewer=interviewer, interviewer_id=args.id, request_id=uuid.uuid4().hex))
    print(created.name)
    return 0


def _interviewer_list(args: argparse.Namespace) -> int:
    request = pb.ListInterviewersRequest(page_size=1000, ml_area=_area(args.area) if args.area else 0,
                                         home_office=_name("offices", args.office) if args.office else "")
    rows = []
    while True:
        page = call(args, _stub().ListInterviewers, request)
        for i in page.interviewers:
            areas = ", ".join(common_pb2.MlArea.Name(a).removeprefix("ML_AREA_").lower().replace("_", "-") for a in i.ml_areas)
            rows.append((i.name.removeprefix("interviewers/"), i.display_name, i.email, i.home_office.removeprefix("offices/"),
                         areas, i.time_zone, "trainee" if i.trainee else ""))
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    print(table(["id", "name", "email", "office", "areas", "zone", ""], rows))
    return 0


def _room_add(args: argparse.Namespace) -> int:
    room = pb.Room(display_name=args.display_name or args.id, capacity=args.capacity, wheelchair_accessible=args.accessible,
                   video_equipped=args.video, quiet=args.quiet, location_hint=args.hint)
    created = call(args, _stub().CreateRoom, pb.CreateRoomRequest(parent=_name("offices", args.office), room=room, room_id=args.id,
                                                                   request_id=uuid.uuid4().hex))
    print(created.name)
    return 0


def _room_list(args: argparse.Namespace) -> int:
    request = pb.ListRoomsRequest(parent=_name("offices", args.office) if args.office else "offices/-", page_size=1000)
    rows = []
    while True:
        page = call(args, _stub().ListRooms, request)
        rows += [(r.name, r.display_name, r.capacity, "yes" if r.wheelchair_accessible else "", "yes" if r.video_equipped else "",
                  "yes" if r.quiet else "", r.location_hint) for r in page.rooms]
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    print(table(["room", "name", "seats", "accessible", "video", "quiet", "where"], rows))
    return 0


def _candidate_add(args: argparse.Namespace) -> int:
    candidate = pb.Candidate(display_name=args.display_name or args.id, email=args.email, time_zone=args.zone,
                             primary_area=_area(args.primary), secondary_area=_area(args.secondary) if args.secondary else 0,
                             preferred_office=_name("offices", args.office) if args.office else "")
    created = call(args, _stub().CreateCandidate, pb.CreateCandidateRequest(candidate=candidate, candidate_id=args.id,
                                                                            request_id=uuid.uuid4().hex))
    print(created.name)
    return 0


def _candidate_list(args: argparse.Namespace) -> int:
    request = pb.ListCandidatesRequest(page_size=1000)
    rows = []
    while True:
        page = call(args, _stub().ListCandidates, request)
        rows += [(c.name.removeprefix("candidates/"), c.display_name, c.email, c.time_zone,
                  common_pb2.MlArea.Name(c.primary_area).removeprefix("ML_AREA_").lower()) for c in page.candidates]
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    print(table(["id", "name", "email", "zone", "primary area"], rows))
    return 0


def _template_add(args: argparse.Namespace) -> int:
    sessions = []
    for text in args.session:
        try:
            title, kind, minutes, rule, needed = (text.split(":") + ["", "", "", ""])[:5]
            sessions.append(pb.SessionTemplate(title=title, kind=KINDS[kind or "coding"], duration=_minutes(int(minutes)),
                                               area_rule=RULES[rule or "primary"], interviewers_needed=int(needed or 1)))
        except (ValueError, KeyError):
            raise CliError(f"not a session: {text!r} (title:kind:minutes[:area-rule[:interviewers]])") from None
    template = pb.LoopTemplate(display_name=args.display_name or args.id, sessions=sessions,
                               buffer_between_sessions=_minutes(args.buffer), max_days=args.max_days)
    created = call(args, _stub().CreateLoopTemplate, pb.CreateLoopTemplateRequest(loop_template=template, loop_template_id=args.id,
                                                                                 request_id=uuid.uuid4().hex))
    print(created.name)
    return 0


def _busy_import(args: argparse.Namespace) -> int:
    data = Path(args.file).read_bytes()
    start, end = _instant(_day(args.start), "UTC"), _instant(_day(args.end), "UTC")
    response = call(args, _stub().ImportBusyBlocks, pb.ImportBusyBlocksRequest(
        parent=_name("interviewers", args.interviewer), ics_data=data, expand_range=_range(start, end)))
    print(f"imported {response.imported_count} busy blocks, replaced {response.replaced_count}")
    return 0


# ---------------------------------------------------------------- loops


def _search(args: argparse.Namespace, reschedule: str = "") -> tuple[pb.FindLoopPlansResponse, str]:
    stub = _stub()
    candidate = call(args, stub.GetCandidate, pb.GetCandidateRequest(name=_name("candidates", args.candidate)))
    first = _day(args.start)
    window = _range(_instant(first, candidate.time_zone), _instant(first + timedelta(days=args.days), candidate.time_zone))
    request = pb.FindLoopPlansRequest(
        candidate=candidate.name, loop_template=_name("loopTemplates", args.template), window=window,
        location_mode=pb.LOCATION_MODE_ONSITE if args.onsite else pb.LOCATION_MODE_REMOTE,
        office=_name("offices", args.onsite) if args.onsite else "", max_plans=args.plans, reschedule_loop=reschedule)
    return call(args, stub.FindLoopPlans, request), candidate.time_zone


def plans_table(response: pb.FindLoopPlansResponse, zone: str) -> str:
    tz = ZoneInfo(zone)
    rows = []
    for number, plan in enumerate(response.plans, 1):
        for k, session in enumerate(plan.sessions):
            start = session.time_range.start_time.ToDatetime(tzinfo=UTC).astimezone(tz)
            end = session.time_range.end_time.ToDatetime(tzinfo=UTC).astimezone(tz)
            rows.append((
                str(number) if k == 0 else "",
                f"{plan.score:.3f}" if k == 0 else "",
                start.strftime("%a %Y-%m-%d"),
                f"{start:%H:%M}-{end:%H:%M} {start.tzname()}",
                session.title,
                ", ".join(i.removeprefix("interviewers/") for i in session.interviewers),
                session.room.split("/rooms/")[-1] if session.room else "remote",
            ))
    return table(["plan", "score", "day", f"time ({zone})", "session", "interviewers", "room"], rows)


def _explain(response: pb.FindLoopPlansResponse) -> str:
    lines = ["no plan found:"]
    for reason in response.no_plan_reasons:
        when = f"{reason.date.year:04d}-{reason.date.month:02d}-{reason.date.day:02d} " if reason.date.year else ""
        lines.append(f"  {when}{reason.code}: {reason.message}")
    return "\n".join(lines)


def _find(args: argparse.Namespace) -> int:
    response, zone = _search(args)
    if not response.plans:
        print(_explain(response))
        return 1
    print(plans_table(response, zone))
    return 0


def _pick(response: pb.FindLoopPlansResponse, number: int) -> pb.LoopPlan:
    if not response.plans:
        raise CliError(_explain(response))
    if not 1 <= number <= len(response.plans):
        raise CliError(f"there are {len(response.plans)} plans; choose 1-{len(response.plans)}")
    return response.plans[number - 1]


def _show_loop(loop: pb.Loop) -> None:
    print(f"{loop.name}  {pb.LoopState.Name(loop.state).removeprefix('LOOP_STATE_').lower()}  etag {loop.etag}")
    rows = [(s.session.title, s.session.candidate_local_start, s.session.candidate_local_end,
             ", ".join(i.removeprefix("interviewers/") for i in s.session.interviewers),
             s.session.room.split("/rooms/")[-1] if s.session.room else "remote", s.sequence) for s in loop.sessions]
    print(table(["session", "start (candidate)", "end (candidate)", "interviewers", "room", "seq"], rows))


def _book(args: argparse.Namespace) -> int:
    response, _ = _search(args)
    plan = _pick(response, args.plan)
    loop = call(args, _stub().BookLoop, pb.BookLoopRequest(plan=plan, request_id=args.request_id or uuid.uuid4().hex))
    _show_loop(loop)
    return 0


def _reschedule(args: argparse.Namespace) -> int:
    stub = _stub()
    loop = call(args, stub.GetLoop, pb.GetLoopRequest(name=_name("loops", args.loop)))
    args.candidate, args.template = loop.candidate, loop.loop_template
    response, _ = _search(args, reschedule=loop.name)
    plan = _pick(response, args.plan)
    moved = call(args, stub.RescheduleLoop, pb.RescheduleLoopRequest(name=loop.name, plan=plan, etag=args.etag or loop.etag,
                                                                     request_id=uuid.uuid4().hex))
    _show_loop(moved)
    return 0


def _cancel(args: argparse.Namespace) -> int:
    loop = call(args, _stub().CancelLoop, pb.CancelLoopRequest(name=_name("loops", args.loop), reason=args.reason, etag=args.etag,
                                                               request_id=uuid.uuid4().hex))
    _show_loop(loop)
    return 0


def _loops(args: argparse.Namespace) -> int:
    request = pb.ListLoopsRequest(page_size=1000, candidate=_name("candidates", args.candidate) if args.candidate else "")
    while True:
        page = call(args, _stub().ListLoops, request)
        for loop in page.loops:
            _show_loop(loop)
        if not page.next_page_token:
            return 0
        request.page_token = page.next_page_token


# ---------------------------------------------------------------- parser


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    command = command_group(groups, "scheduling", "directory, plans and loops (recruiters)")

    p = command("interviewer-add", "add an interviewer", _interviewer_add)
    p.add_argument("id")
    p.add_argument("--email", required=True)
    p.add_argument("--office", required=True, help="home office id, e.g. los-gatos")
    p.add_argument("--areas", required=True, help=f"comma-separated: {', '.join(AREAS)}")
    p.add_argument("--zone", default="America/Los_Angeles")
    p.add_argument("--hours", default="mon-fri 09:00-17:00", help="e.g. 'mon-thu 08:00-16:00; fri 08:00-12:00'")
    p.add_argument("--per-day", type=int, default=0, help="at most this many interviews a day (0: no limit)")
    p.add_argument("--per-week", type=int, default=0)
    p.add_argument("--trainee", action="store_true")
    p.add_argument("--name", dest="display_name", default="")

    p = command("interviewer-list", "list interviewers", _interviewer_list)
    p.add_argument("--area")
    p.add_argument("--office")

    p = command("room-add", "add a room to an office", _room_add)
    p.add_argument("office")
    p.add_argument("id")
    p.add_argument("--capacity", type=int, required=True)
    p.add_argument("--accessible", action="store_true", help="wheelchair accessible")
    p.add_argument("--video", action="store_true", help="video equipped")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--hint", default="", help="where in the office, e.g. 'Building B, floor 2'")
    p.add_argument("--name", dest="display_name", default="")

    p = command("room-list", "list rooms", _room_list)
    p.add_argument("--office")

    p = command("candidate-add", "add a candidate", _candidate_add)
    p.add_argument("id")
    p.add_argument("--email", required=True)
    p.add_argument("--zone", required=True, help="IANA zone, e.g. Asia/Kolkata")
    p.add_argument("--primary", required=True, help="primary ML area")
    p.add_argument("--secondary", default="")
    p.add_argument("--office", default="", help="preferred office")
    p.add_argument("--name", dest="display_name", default="")

    command("candidate-list", "list candidates", _candidate_list)

    p = command("template-add", "add a loop template", _template_add)
    p.add_argument("id")
    p.add_argument("--session", action="append", required=True, help="title:kind:minutes[:area-rule[:interviewers]], in order")
    p.add_argument("--buffer", type=int, default=10, help="minutes between sessions")
    p.add_argument("--max-days", type=int, default=1)
    p.add_argument("--name", dest="display_name", default="")

    p = command("busy-import", "replace an interviewer's imported busy time with an .ics file", _busy_import)
    p.add_argument("interviewer")
    p.add_argument("file")
    p.add_argument("--from", dest="start", required=True, help="expand recurring events from this date (YYYY-MM-DD)")
    p.add_argument("--to", dest="end", required=True)

    def search_arguments(parser: argparse.ArgumentParser, *, loop: bool = False) -> None:
        if not loop:
            parser.add_argument("candidate")
            parser.add_argument("template")
        parser.add_argument("--from", dest="start", required=True, help="first day, in the candidate's zone (YYYY-MM-DD)")
        parser.add_argument("--days", type=int, default=7)
        where = parser.add_mutually_exclusive_group(required=True)
        where.add_argument("--onsite", metavar="OFFICE")
        where.add_argument("--remote", action="store_true")
        parser.add_argument("--plans", type=int, default=5)

    search_arguments(command("find", "ranked plans, in the candidate's zone", _find))
    p = command("book", "book plan N of the same search", _book)
    search_arguments(p)
    p.add_argument("--plan", type=int, default=1)
    p.add_argument("--request-id", default="", help="retry-safe: the same id books at most once")

    p = command("reschedule", "move a loop to plan N of a new search", _reschedule)
    p.add_argument("loop")
    search_arguments(p, loop=True)
    p.add_argument("--plan", type=int, default=1)
    p.add_argument("--etag", default="")

    p = command("cancel", "cancel a loop; invites are withdrawn", _cancel)
    p.add_argument("loop")
    p.add_argument("--reason", required=True)
    p.add_argument("--etag", default="")

    p = command("loops", "booked and cancelled loops", _loops)
    p.add_argument("--candidate")
