"""`interviews cohort ...`: schedule a whole hiring wave at once, inspect it, then commit.

`run` starts a ScheduleCohort, shows a progress bar while polling GetCohortRun (Ctrl-C cancels
the run and keeps its best result so far), prints the assignment (one row per candidate) and
the interviewer-load summary, then asks before committing; CommitCohortRun books each loop
through BookLoop, so a loop taken meanwhile is reported, never double-booked.

Entries come from `--candidates a,b,c` with one template, window and location for all, or from
`--file` (CSV with a header: candidate,loop_template,start,end,mode,office; start and end are
dates in `--zone`, end exclusive; empty cells take the command-line values).
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from google.protobuf.duration_pb2 import Duration
from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from interviews.scheduling.v1 import scheduling_pb2_grpc as pb_grpc

from services.cli.common import CliError, call, channel_to, command_group, table

S = pb.CohortRunState
POLL_SECONDS = 0.5
CSV_FIELDS = ("candidate", "loop_template", "start", "end", "mode", "office")


def _name(kind: str, value: str) -> str:
    return value if value.startswith(f"{kind}/") else f"{kind}/{value}"


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"{what}: not a date {text!r} (YYYY-MM-DD)") from None


def _window(start: str, end: str, zone: str) -> common_pb2.TimeRange:
    tz = ZoneInfo(zone)
    first, last = _day(start, "start"), _day(end, "end")
    if last <= first:
        raise CliError(f"the window ends ({last}) on or before it starts ({first})")
    out = common_pb2.TimeRange()
    out.start_time.FromDatetime(datetime(first.year, first.month, first.day, tzinfo=tz).astimezone(UTC))
    out.end_time.FromDatetime(datetime(last.year, last.month, last.day, tzinfo=tz).astimezone(UTC))
    return out


def _entry(candidate: str, template: str, start: str, end: str, mode: str, office: str, zone: str) -> pb.CohortEntry:
    if not template:
        raise CliError(f"{candidate}: no loop template (--template or the CSV column)")
    if mode not in ("onsite", "remote"):
        raise CliError(f"{candidate}: mode must be onsite or remote, not {mode!r}")
    if mode == "onsite" and not office:
        raise CliError(f"{candidate}: onsite needs an office (--office or the CSV column)")
    return pb.CohortEntry(
        candidate=_name("candidates", candidate.strip()),
        loop_template=_name("loopTemplates", template.strip()),
        window=_window(start, end, zone),
        location_mode=pb.LOCATION_MODE_ONSITE if mode == "onsite" else pb.LOCATION_MODE_REMOTE,
        office=_name("offices", office.strip()) if mode == "onsite" else "",
    )


def entries_from(args: argparse.Namespace, read: Callable[[str], str] | None = None) -> list[pb.CohortEntry]:
    """The entries from --candidates or --file, each cell defaulting to the command line."""
    default = {"loop_template": args.template or "", "start": args.start or "", "end": args.end or "",
               "mode": args.mode, "office": args.office or ""}
    rows: list[dict[str, str]] = []
    if args.file:
        text = (read or (lambda path: open(path, encoding="utf-8").read()))(args.file)
        reader = csv.DictReader(io.StringIO(text))
        unknown = set(reader.fieldnames or ()) - set(CSV_FIELDS)
        if unknown or "candidate" not in (reader.fieldnames or ()):
            raise CliError(f"CSV header must be a subset of {','.join(CSV_FIELDS)} with candidate; got {reader.fieldnames}")
        rows = [{k: (v or "").strip() for k, v in row.items()} for row in reader]
    elif args.candidates:
        rows = [{"candidate": c} for c in args.candidates.split(",") if c.strip()]
    if not rows:
        raise CliError("no entries: pass --candidates a,b,c or --file cohort.csv")
    out = []
    for row in rows:
        cell = {k: row.get(k) or default.get(k, "") for k in CSV_FIELDS}
        if not cell["start"] or not cell["end"]:
            raise CliError(f"{cell['candidate']}: no window (--start/--end or the CSV columns)")
        out.append(_entry(cell["candidate"], cell["loop_template"], cell["start"], cell["end"], cell["mode"].lower(),
                          cell["office"], args.zone))
    return out


# ---------------------------------------------------------------- rendering


def _state(run: pb.CohortRun) -> str:
    return S.Name(run.state).removeprefix("COHORT_RUN_STATE_").lower()


def progress_line(run: pb.CohortRun, width: int = 30) -> str:
    done = max(0, min(100, run.progress_percent))
    filled = width * done // 100
    return (f"[{'#' * filled}{'.' * (width - filled)}] {done:3d}%  {run.loops_scheduled}/{run.candidates_total} loops"
            f"  (greedy {run.greedy_loops_scheduled or '-'})  {_state(run)}")


def assignment_table(run: pb.CohortRun) -> str:
    rows = []
    for a in run.assignments:
        who = a.candidate.removeprefix("candidates/")
        if not a.HasField("plan"):
            rows.append((who, "unplaced", "", "", "", "", a.reason))
            continue
        plan = a.plan
        first, last = plan.sessions[0], plan.sessions[-1]
        interviewers = sorted({i.removeprefix("interviewers/") for s in plan.sessions for i in s.interviewers})
        rooms = sorted({s.room.split("/rooms/")[-1] for s in plan.sessions if s.room}) or ["remote"]
        rows.append((who, "planned", first.candidate_local_start[:16].replace("T", " "),
                     last.candidate_local_end[11:16], plan.days, ", ".join(interviewers), ", ".join(rooms)))
    return table(["candidate", "status", "first start (candidate)", "ends", "days", "interviewers", "rooms / reason"],
                 rows, highlight=lambda row: row[1] == "unplaced")


def load_summary(run: pb.CohortRun, top: int = 10) -> str:
    loads = list(run.interviewer_loads)
    if not loads:
        return "no interviewer has a session in this result"
    sessions = [x.sessions for x in loads]
    mean = statistics.mean(sessions)
    head = (f"{len(loads)} interviewers, {sum(sessions)} sessions: max {max(sessions)}, mean {mean:.1f}, "
            f"max/mean {max(sessions) / mean:.2f}")
    rows = [(x.interviewer.removeprefix("interviewers/"), x.sessions, f"{x.minutes / 60:.1f}") for x in loads[:top]]
    more = f"\n... and {len(loads) - top} more" if len(loads) > top else ""
    return head + "\n" + table(["interviewer", "sessions", "hours"], rows) + more


def summary(run: pb.CohortRun) -> str:
    bound = f", at most {run.loops_upper_bound} possible over the plans considered" if run.loops_upper_bound else ""
    text = (f"{run.name}: {_state(run)}, {run.loops_scheduled} of {run.candidates_total} candidates placed "
            f"(arrival-order booking would place {run.greedy_loops_scheduled}{bound})")
    if run.error_message:
        text += f"\n{run.error_message}"
    return text


def commit_report(response: pb.CommitCohortRunResponse) -> str:
    lines = [f"booked {len(response.loops)} loops"]
    lines += [f"  {loop.name}  {loop.candidate.removeprefix('candidates/')}" for loop in response.loops]
    if response.failures:
        lines.append(f"{len(response.failures)} no longer fit (commit again to retry them, or run a new cohort):")
        lines += [f"  {f.candidate.removeprefix('candidates/')}: {f.reason}" for f in response.failures]
    return "\n".join(lines)


# ---------------------------------------------------------------- commands


def _stub() -> pb_grpc.SchedulingServiceStub:
    return pb_grpc.SchedulingServiceStub(channel_to("scheduling"))


def _wait(args: argparse.Namespace, stub, run: pb.CohortRun, out=None) -> pb.CohortRun:
    """Polls until the run ends; Ctrl-C cancels it (the best result so far is kept)."""
    out = out or sys.stderr  # looked up now: the stream may have been replaced since import
    tty = out.isatty()
    try:
        while run.state == S.COHORT_RUN_STATE_RUNNING:
            print(("\r" if tty else "") + progress_line(run), end="" if tty else "\n", file=out, flush=True)
            time.sleep(POLL_SECONDS)
            run = call(args, stub.GetCohortRun, pb.GetCohortRunRequest(name=run.name))
    except KeyboardInterrupt:
        print("\ncancelling...", file=out)
        run = call(args, stub.CancelCohortRun, pb.CancelCohortRunRequest(name=run.name))
        while run.state == S.COHORT_RUN_STATE_RUNNING:
            time.sleep(POLL_SECONDS)
            run = call(args, stub.GetCohortRun, pb.GetCohortRunRequest(name=run.name))
    print(("\r" if tty else "") + progress_line(run), file=out, flush=True)
    return run


def _show(run: pb.CohortRun) -> None:
    print(summary(run))
    if run.assignments:
        print(assignment_table(run))
        print()
        print(load_summary(run))


def _commit(args: argparse.Namespace, stub, name: str) -> int:
    response = call(args, stub.CommitCohortRun, pb.CommitCohortRunRequest(name=name, request_id=uuid.uuid4().hex))
    print(commit_report(response))
    return 1 if response.failures else 0


def _run(args: argparse.Namespace) -> int:
    stub = _stub()
    request = pb.ScheduleCohortRequest(entries=entries_from(args), time_limit=Duration(seconds=args.time_limit),
                                       request_id=uuid.uuid4().hex)
    # The server may take a moment to load the world; the search itself runs in the background.
    run = call(args, stub.ScheduleCohort, request)
    run = _wait(args, stub, run)
    _show(run)
    if run.state not in (S.COHORT_RUN_STATE_SUCCEEDED, S.COHORT_RUN_STATE_CANCELLED) or not run.loops_scheduled:
        return 1 if run.state == S.COHORT_RUN_STATE_FAILED else 0
    if not args.commit:
        if args.no_commit or not sys.stdin.isatty():
            print(f"\nnot committed; later: interviews cohort commit {run.name.removeprefix('cohortRuns/')}")
            return 0
        answer = input(f"\nBook these {run.loops_scheduled} loops now? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print(f"not committed; later: interviews cohort commit {run.name.removeprefix('cohortRuns/')}")
            return 0
    return _commit(args, stub, run.name)


def _show_command(args: argparse.Namespace) -> int:
    _show(call(args, _stub().GetCohortRun, pb.GetCohortRunRequest(name=_name("cohortRuns", args.run))))
    return 0


def _list(args: argparse.Namespace) -> int:
    response = call(args, _stub().ListCohortRuns, pb.ListCohortRunsRequest(page_size=args.limit))
    rows = [(r.name.removeprefix("cohortRuns/"), _state(r), f"{r.progress_percent}%", r.candidates_total, r.loops_scheduled,
             r.greedy_loops_scheduled, r.create_time.ToDatetime(UTC).strftime("%Y-%m-%d %H:%M")) for r in response.cohort_runs]
    print(table(["run", "state", "progress", "candidates", "loops", "greedy", "created (UTC)"], rows))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    print(summary(call(args, _stub().CancelCohortRun, pb.CancelCohortRunRequest(name=_name("cohortRuns", args.run)))))
    return 0


def _commit_command(args: argparse.Namespace) -> int:
    return _commit(args, _stub(), _name("cohortRuns", args.run))


def register(groups: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    command = command_group(groups, "cohort", "schedule a whole cohort of candidates at once")

    p = command("run", "search for a cohort (progress bar), show the result, then commit", _run)
    p.add_argument("--candidates", help="comma-separated candidate ids (or use --file)")
    p.add_argument("--file", help="CSV: candidate,loop_template,start,end,mode,office")
    p.add_argument("--template", help="loop template id for every entry")
    p.add_argument("--start", help="first day of the window (YYYY-MM-DD, --zone)")
    p.add_argument("--end", help="day after the last one (exclusive)")
    p.add_argument("--zone", default="America/Los_Angeles", help="zone of the window's dates")
    p.add_argument("--mode", choices=["onsite", "remote"], default="onsite")
    p.add_argument("--office", help="office id for onsite entries, e.g. los-gatos")
    p.add_argument("--time-limit", type=int, default=60, help="seconds the solver may use (max 600)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--commit", action="store_true", help="book without asking")
    when.add_argument("--no-commit", action="store_true", help="only show the result")

    p = command("show", "show a cohort run: assignment and interviewer load", _show_command)
    p.add_argument("run")
    p = command("list", "list cohort runs, newest first", _list)
    p.add_argument("--limit", type=int, default=20)
    p = command("cancel", "stop a running cohort search (its best result so far is kept)", _cancel)
    p.add_argument("run")
    p = command("commit", "book every loop of a finished cohort run", _commit_command)
    p.add_argument("run")
