"""The cohort RPCs as the scheduling service serves them, over gRPC, and the
`interviews cohort` CLI against them: schedule, poll, show, commit through BookLoop."""

from __future__ import annotations

import time
from datetime import date, timedelta

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.cli.main import main as cli
from tests.scheduling.conftest import (
    START,
    Scheduling,
    add_candidate,
    add_interviewer,
    add_template,
    time_range,
    weekdays,
)

S = pb.CohortRunState
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def wired(scheduling):
    """The scheduling service as app.build wires it, cohort runs included."""
    return scheduling


def directory(s: Scheduling) -> None:
    """One NLP interviewer 9-11 and a two-hour loop: one loop a day, Tuesday and Wednesday."""
    add_interviewer(s, "ada", [common_pb2.ML_AREA_NLP], hours=weekdays(9, 11))
    add_template(s, "talk", (120,))
    add_candidate(s, "flexible")
    day = common_pb2.Date(year=TUESDAY.year, month=TUESDAY.month, day=TUESDAY.day)
    add_candidate(s, "tuesday", availability=[
        common_pb2.LocalDateWindow(date=day, start=common_pb2.LocalTime(hours=0), end=common_pb2.LocalTime(hours=24))
    ])


def test_rpcs_schedule_poll_list_and_commit(wired):
    directory(wired)
    window = time_range(START + timedelta(days=1), START + timedelta(days=3))
    entries = [pb.CohortEntry(candidate=f"candidates/{c}", loop_template="loopTemplates/talk", window=window,
                              location_mode=pb.LOCATION_MODE_REMOTE) for c in ("flexible", "tuesday")]
    request = pb.ScheduleCohortRequest(entries=entries, time_limit=Duration(seconds=10), request_id="wave-1")
    with pytest.raises(grpc.RpcError) as denied:
        wired.call("ScheduleCohort", request, as_=wired.token("interviewer"))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    bad = pb.ScheduleCohortRequest(entries=[pb.CohortEntry(candidate="candidates/nobody", loop_template="loopTemplates/talk",
                                                           window=window, location_mode=pb.LOCATION_MODE_REMOTE)])
    with pytest.raises(grpc.RpcError) as missing:
        wired.call("ScheduleCohort", bad)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    run = wired.call("ScheduleCohort", request)
    assert wired.call("ScheduleCohort", request).name == run.name  # a retry, same run
    deadline = time.monotonic() + 30
    while run.state == S.COHORT_RUN_STATE_RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
        run = wired.call("GetCohortRun", pb.GetCohortRunRequest(name=run.name), as_=wired.token("coordinator"))
    assert (run.state, run.greedy_loops_scheduled, run.loops_scheduled) == (S.COHORT_RUN_STATE_SUCCEEDED, 1, 2)
    listed = wired.call("ListCohortRuns", pb.ListCohortRunsRequest())
    assert [r.name for r in listed.cohort_runs] == [run.name]

    committed = wired.call("CommitCohortRun", pb.CommitCohortRunRequest(name=run.name, request_id="c-1"))
    assert sorted(loop.candidate for loop in committed.loops) == ["candidates/flexible", "candidates/tuesday"]
    assert not committed.failures
    loops = wired.call("ListLoops", pb.ListLoopsRequest()).loops
    assert sorted(loop.name for loop in loops) == sorted(loop.name for loop in committed.loops)
    with pytest.raises(grpc.RpcError) as finished:
        wired.call("CancelCohortRun", pb.CancelCohortRunRequest(name=run.name))
    assert finished.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_cli_runs_shows_and_commits(wired, monkeypatch, capsys):
    directory(wired)
    monkeypatch.setenv("SCHEDULING_ADDRESS", wired.address)
    bearer = dict(wired.metadata)["authorization"].removeprefix("Bearer ")
    code = cli(["cohort", "run", "--candidates", "flexible,tuesday", "--template", "talk", "--start", "2026-03-03",
                "--end", "2026-03-05", "--mode", "remote", "--time-limit", "10", "--commit", "--token", bearer])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 of 2 candidates placed (arrival-order booking would place 1" in out
    assert "flexible" in out and "2026-03-04 09:00" in out and "tuesday" in out and "2026-03-03 09:00" in out
    assert "1 interviewers, 2 sessions: max 2" in out
    assert "booked 2 loops" in out
    assert len(wired.call("ListLoops", pb.ListLoopsRequest()).loops) == 2

    assert cli(["cohort", "list", "--token", bearer]) == 0
    assert "succeeded" not in capsys.readouterr().out  # committed by now
    (run,) = wired.call("ListCohortRuns", pb.ListCohortRunsRequest()).cohort_runs
    assert run.state == S.COHORT_RUN_STATE_COMMITTED
    assert cli(["cohort", "show", run.name.removeprefix("cohortRuns/"), "--token", bearer]) == 0
    assert "committed, 2 of 2" in capsys.readouterr().out
