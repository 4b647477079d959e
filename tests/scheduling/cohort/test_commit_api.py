"""A cohort found over the real scheduling database and committed through the real BookLoop:
the database guarantees hold, and a loop that stopped fitting meanwhile is reported while the
others are booked. Runs on SQLite and PostgreSQL (the `scheduling` fixture's database)."""

from __future__ import annotations

import time
from datetime import date, timedelta

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration

from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core.db import Database
from services.core.errors import Aborted, FailedPrecondition
from services.scheduling.cohort.loading import make_loader
from services.scheduling.cohort.runs import CohortRuns
from services.scheduling.cohort.store import MemoryRunStore
from services.scheduling.convert_plans import constraints as constraints_of
from services.scheduling.planning import Policy
from services.scheduling.store.snapshot import DirectoryCache
from tests.scheduling.conftest import (
    START,
    add_candidate,
    add_interviewer,
    add_template,
    find,
    time_range,
    weekdays,
)

S = pb.CohortRunState
TUESDAY = date(2026, 3, 3)


@pytest.fixture
def cohort(scheduling):
    db = Database(scheduling.settings.database_url("scheduling"), "scheduling")
    fetch = lambda cid: constraints_of(scheduling.constraints.fetch(f"candidates/{cid}"))  # noqa: E731
    yield CohortRuns(MemoryRunStore(), make_loader(db, DirectoryCache(), Policy(), fetch, scheduling.clock))
    db.dispose()


def book_through(scheduling):
    """BookLoop over gRPC; its refusals come back as the domain errors the servicer raises."""

    def book(plan, request_id):
        try:
            return scheduling.call("BookLoop", pb.BookLoopRequest(plan=plan, request_id=request_id))
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.ABORTED:
                raise Aborted(error.details()) from None
            raise FailedPrecondition(error.details()) from None

    return book


def test_cohort_commit_through_book_loop(scheduling, cohort):
    # One NLP interviewer 9-11 and a two-hour loop: one loop a day, Tuesday and Wednesday.
    add_interviewer(scheduling, "ada", [common_pb2.ML_AREA_NLP], hours=weekdays(9, 11))
    add_template(scheduling, "talk", (120,))
    add_candidate(scheduling, "flexible")
    tuesday = common_pb2.LocalDateWindow(
        date=common_pb2.Date(year=TUESDAY.year, month=TUESDAY.month, day=TUESDAY.day),
        start=common_pb2.LocalTime(hours=0), end=common_pb2.LocalTime(hours=24),
    )
    add_candidate(scheduling, "tuesday", availability=[tuesday])
    add_candidate(scheduling, "late")
    window = time_range(START + timedelta(days=1), START + timedelta(days=3))
    entries = [
        pb.CohortEntry(candidate=f"candidates/{c}", loop_template="loopTemplates/talk", window=window,
                       location_mode=pb.LOCATION_MODE_REMOTE)
        for c in ("flexible", "tuesday")
    ]
    started = cohort.schedule(pb.ScheduleCohortRequest(entries=entries, time_limit=Duration(seconds=10)))
    deadline = time.monotonic() + 30
    while (run := cohort.get(started.name)).state == S.COHORT_RUN_STATE_RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert run.state == S.COHORT_RUN_STATE_SUCCEEDED
    assert (run.greedy_loops_scheduled, run.loops_scheduled) == (1, 2)
    flexible_plan = run.assignments[0].plan
    assert flexible_plan.sessions[0].candidate_local_start.startswith("2026-03-04T09:00")

    # Meanwhile someone books Wednesday morning for another candidate through FindLoopPlans.
    (taken, *_) = find(scheduling, "late", "talk", START + timedelta(days=2), START + timedelta(days=3)).plans
    assert taken.sessions[0].time_range == flexible_plan.sessions[0].time_range
    scheduling.call("BookLoop", pb.BookLoopRequest(plan=taken, request_id="someone-else"))

    response = cohort.commit(started.name, "commit-1", book_through(scheduling))
    assert [loop.candidate for loop in response.loops] == ["candidates/tuesday"]
    assert [f.candidate for f in response.failures] == ["candidates/flexible"]
    assert response.failures[0].reason
    assert cohort.get(started.name).state == S.COHORT_RUN_STATE_COMMITTED

    # Committing again books nothing twice: the Tuesday loop comes back as it was.
    again = cohort.commit(started.name, "commit-2", book_through(scheduling))
    assert [loop.name for loop in again.loops] == [loop.name for loop in response.loops]
    loops = scheduling.call("ListLoops", pb.ListLoopsRequest(candidate="candidates/tuesday")).loops
    assert [loop.name for loop in loops] == [response.loops[0].name]
