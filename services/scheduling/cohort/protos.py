"""CohortRun protos from cohort results, and the parsed entries of a ScheduleCohort request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core import names, timeconv
from services.core.errors import InvalidArgument
from services.scheduling.cohort.model import CohortResult
from services.scheduling.convert_plans import plan_proto
from services.scheduling.domain import model as dm

MAX_ENTRIES = 1000
DEFAULT_TIME_LIMIT = timedelta(seconds=60)
MAX_TIME_LIMIT = timedelta(minutes=10)
MIN_TIME_LIMIT = timedelta(seconds=1)


@dataclass(frozen=True)
class CohortQuery:
    """One parsed entry: what the loader turns into a `SearchRequest`."""

    candidate_id: str
    template_id: str
    window: dm.TimeRange
    mode: dm.LocationMode
    office_id: str | None


def parse_entries(request: pb.ScheduleCohortRequest) -> list[CohortQuery]:
    if not request.entries:
        raise InvalidArgument("entries", "at least one entry")
    if len(request.entries) > MAX_ENTRIES:
        raise InvalidArgument("entries", f"at most {MAX_ENTRIES} entries per run")
    out = []
    for i, entry in enumerate(request.entries):
        field = f"entries[{i}]"
        candidate_id = names.parse_id("candidates/{candidate}", entry.candidate, f"{field}.candidate")
        template_id = names.parse_id(
            "loopTemplates/{loop_template}", entry.loop_template, f"{field}.loop_template"
        )
        start, end = timeconv.time_range(entry.window, f"{field}.window")
        if entry.location_mode not in (pb.LOCATION_MODE_ONSITE, pb.LOCATION_MODE_REMOTE):
            raise InvalidArgument(f"{field}.location_mode", "must be ONSITE or REMOTE")
        office_id = None
        if entry.location_mode == pb.LOCATION_MODE_ONSITE:
            office_id = names.parse_id("offices/{office}", entry.office, f"{field}.office")
        elif entry.office:
            raise InvalidArgument(f"{field}.office", "must be empty for a remote entry")
        out.append(
            CohortQuery(
                candidate_id, template_id, dm.TimeRange(start, end),
                dm.LocationMode(entry.location_mode), office_id,
            )
        )
    return out


def parse_time_limit(request: pb.ScheduleCohortRequest) -> timedelta:
    if not request.HasField("time_limit"):
        return DEFAULT_TIME_LIMIT
    return timeconv.to_timedelta(
        request.time_limit, "time_limit", minimum=MIN_TIME_LIMIT, maximum=MAX_TIME_LIMIT
    )


def fill_result(
    run: pb.CohortRun, result: CohortResult, searches: list[dm.SearchRequest]
) -> None:
    """Writes the assignment, loads and figures of `result` into `run` (state left alone)."""
    del run.assignments[:]
    del run.interviewer_loads[:]
    for request, plan, reason in zip(searches, result.plans, result.reasons, strict=True):
        assignment = pb.CohortAssignment(
            candidate=f"candidates/{request.candidate.id}", reason=reason
        )
        if plan is not None:
            assignment.plan.CopyFrom(plan_proto(plan, request.candidate.time_zone))
        run.assignments.append(assignment)
    for interviewer_id, load in sorted(
        result.loads.items(), key=lambda item: (-item[1].sessions, -item[1].minutes, item[0])
    ):
        run.interviewer_loads.append(
            pb.InterviewerLoad(
                interviewer=f"interviewers/{interviewer_id}",
                sessions=load.sessions,
                minutes=load.minutes,
            )
        )
    run.loops_scheduled = result.loops
    run.greedy_loops_scheduled = result.greedy_loops
    run.loops_upper_bound = result.upper_bound if result.upper_bound is not None else 0
    run.progress_percent = 100
