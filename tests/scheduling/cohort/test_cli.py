"""The cohort CLI's pure parts: entries from flags or CSV, and how a run is shown."""

from __future__ import annotations

import argparse

import pytest

from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.cli.cohort_commands import (
    assignment_table,
    commit_report,
    entries_from,
    load_summary,
    progress_line,
    summary,
)
from services.cli.common import CliError
from services.cli.main import build_parser

S = pb.CohortRunState


def args(**kw):
    base = dict(candidates=None, file=None, template="standard", start="2026-12-07", end="2026-12-19",
                zone="America/Los_Angeles", mode="onsite", office="los-gatos")
    return argparse.Namespace(**{**base, **kw})


def test_entries_from_flags_share_one_window_in_the_zone():
    entries = entries_from(args(candidates="ana, bo"))
    assert [e.candidate for e in entries] == ["candidates/ana", "candidates/bo"]
    assert {e.loop_template for e in entries} == {"loopTemplates/standard"}
    assert entries[0].office == "offices/los-gatos" and entries[0].location_mode == pb.LOCATION_MODE_ONSITE
    # Midnight in Los Angeles (PST, UTC-8) on 7 December.
    assert entries[0].window.start_time.ToJsonString() == "2026-12-07T08:00:00Z"
    assert entries[0].window.end_time.ToJsonString() == "2026-12-19T08:00:00Z"


def test_entries_from_csv_cells_override_the_flags():
    text = "candidate,mode,office,start\nana,,,\nbo,remote,,2026-12-10\ncy,onsite,los-angeles,\n"
    entries = entries_from(args(file="c.csv"), read=lambda path: text)
    assert [(e.candidate, e.location_mode, e.office) for e in entries] == [
        ("candidates/ana", pb.LOCATION_MODE_ONSITE, "offices/los-gatos"),
        ("candidates/bo", pb.LOCATION_MODE_REMOTE, ""),
        ("candidates/cy", pb.LOCATION_MODE_ONSITE, "offices/los-angeles"),
    ]
    assert entries[1].window.start_time.ToJsonString() == "2026-12-10T08:00:00Z"


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(), "no entries"),
        (dict(candidates="a", office=None), "needs an office"),
        (dict(candidates="a", start="2026-12-19"), "ends"),
        (dict(candidates="a", start="soon"), "not a date"),
        (dict(candidates="a", template=None), "no loop template"),
    ],
)
def test_bad_entries_are_explained(kw, message):
    with pytest.raises(CliError, match=message):
        entries_from(args(**kw))


def test_csv_with_unknown_columns_is_refused():
    with pytest.raises(CliError, match="header"):
        entries_from(args(file="c.csv"), read=lambda path: "name,when\nana,now\n")


def run_with_result() -> pb.CohortRun:
    session = pb.PlannedSession(
        candidate_local_start="2026-12-08T09:00:00-08:00", candidate_local_end="2026-12-08T10:00:00-08:00",
        interviewers=["interviewers/iv1", "interviewers/iv2"], room="offices/los-gatos/rooms/r1",
    )
    return pb.CohortRun(
        name="cohortRuns/abc", state=S.COHORT_RUN_STATE_SUCCEEDED, progress_percent=100, candidates_total=2,
        loops_scheduled=1, greedy_loops_scheduled=1, loops_upper_bound=1,
        assignments=[
            pb.CohortAssignment(candidate="candidates/ana", plan=pb.LoopPlan(sessions=[session], days=1)),
            pb.CohortAssignment(candidate="candidates/bo", reason="no interviewer qualified in NLP"),
        ],
        interviewer_loads=[pb.InterviewerLoad(interviewer="interviewers/iv1", sessions=3, minutes=150),
                           pb.InterviewerLoad(interviewer="interviewers/iv2", sessions=1, minutes=60)],
    )


def test_result_rendering():
    run = run_with_result()
    text = assignment_table(run)
    assert "ana" in text and "2026-12-08 09:00" in text and "iv1, iv2" in text and "r1" in text
    assert "bo" in text and "no interviewer qualified in NLP" in text and " !" in text  # unplaced marked
    loads = load_summary(run)
    assert loads.startswith("2 interviewers, 4 sessions: max 3, mean 2.0, max/mean 1.50")
    assert "2.5" in loads  # hours
    assert "1 of 2 candidates placed" in summary(run) and "at most 1" in summary(run)
    assert progress_line(pb.CohortRun(progress_percent=50, candidates_total=4, loops_scheduled=2,
                                      state=S.COHORT_RUN_STATE_RUNNING), width=10) == (
        "[#####.....]  50%  2/4 loops  (greedy -)  running"
    )


def test_commit_report_lists_failures():
    response = pb.CommitCohortRunResponse(
        loops=[pb.Loop(name="loops/1", candidate="candidates/ana")],
        failures=[pb.CohortCommitFailure(candidate="candidates/bo", reason="the plan is no longer free")],
    )
    text = commit_report(response)
    assert "booked 1 loops" in text and "loops/1  ana" in text
    assert "bo: the plan is no longer free" in text


def test_commands_are_registered():
    parsed = build_parser().parse_args(["cohort", "run", "--candidates", "a", "--template", "t", "--start",
                                        "2026-12-07", "--end", "2026-12-19", "--office", "los-gatos", "--no-commit"])
    assert parsed.func.__name__ == "_run" and parsed.time_limit == 60
    for command in ("show", "cancel", "commit"):
        assert build_parser().parse_args(["cohort", command, "abc"]).run == "abc"
