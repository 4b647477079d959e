"""CohortRuns, the operation the servicer exposes: schedule, poll, list, cancel, commit.

Runs against the in-memory store and the SQL store (SQLite and PostgreSQL, the table created
from the model) with the same test bodies; `book` stands in for BookLoop here (its own tests cover it;
test_commit_api commits through the real one)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from google.protobuf.duration_pb2 import Duration

from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core import timeconv
from services.core.db import Database
from services.core.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from services.scheduling.cohort.runs import CohortRuns
from services.scheduling.cohort.store import CohortRunRow, MemoryRunStore, SqlRunStore, StoredRun
from services.scheduling.cohort.validate import validate_assignment
from services.scheduling.convert_plans import plan_from_proto
from tests.scheduling.cohort import factories as f

S = pb.CohortRunState


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    if request.param == "memory":
        yield MemoryRunStore()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/scheduling.sqlite3"
    else:
        url = request.getfixturevalue("postgres_database")
    db = Database(url, "scheduling")
    # Until the migration that adds it lands, the table is created from the model.
    CohortRunRow.__table__.create(db.engine, checkfirst=True)
    yield SqlRunStore(db)
    db.dispose()


class World:
    """One interviewer working 9-11 and two-hour loops: one loop a day, Monday and Tuesday."""

    def __init__(self):
        self.directory = f.directory([f.interviewer(1, end_h=11)])
        self.template = f.template(minutes=(120,))
        self.candidates = {f"c{n}": f.candidate(n, days=[0] if n == 2 else None) for n in range(1, 4)}
        self.loaded = []

    def load(self, queries):
        self.loaded.append(queries)
        searches = []
        for q in queries:
            if q.candidate_id not in self.candidates:
                raise NotFound(f"candidates/{q.candidate_id}")
            entry = f.entry(self.candidates[q.candidate_id], self.template)
            searches.append(type(entry)(**{**entry.__dict__, "window": q.window}))
        return self.directory, searches


def entries(*ids):
    window = pb.CohortEntry(
        window={"start_time": timeconv.to_timestamp(f.local(0, 0)),
                "end_time": timeconv.to_timestamp(f.local(2, 0))},
        location_mode=pb.LOCATION_MODE_REMOTE,
        loop_template="loopTemplates/two",
    )
    out = []
    for cid in ids:
        e = pb.CohortEntry()
        e.CopyFrom(window)
        e.candidate = f"candidates/{cid}"
        out.append(e)
    return out


def wait_done(runs, name, deadline=30.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        run = runs.get(name)
        if run.state != S.COHORT_RUN_STATE_RUNNING:
            return run
        time.sleep(0.05)
    raise AssertionError(f"{name} still running")


def test_schedule_poll_and_inspect(store):
    world = World()
    runs = CohortRuns(store, world.load)
    started = runs.schedule(pb.ScheduleCohortRequest(entries=entries("c1", "c2"), time_limit=Duration(seconds=5)))
    assert started.state == S.COHORT_RUN_STATE_RUNNING and started.candidates_total == 2
    run = wait_done(runs, started.name)
    assert run.state == S.COHORT_RUN_STATE_SUCCEEDED and run.progress_percent == 100
    assert run.HasField("end_time")
    # c1 first takes Monday in arrival order and strands c2; the cohort moves c1 to Tuesday.
    assert run.greedy_loops_scheduled == 1 and run.loops_scheduled == 2
    assert run.loops_upper_bound == 2
    assert [(a.candidate, a.HasField("plan"), a.reason) for a in run.assignments] == [
        ("candidates/c1", True, ""), ("candidates/c2", True, "")
    ]
    assert [(x.interviewer, x.sessions, x.minutes) for x in run.interviewer_loads] == [
        ("interviewers/iv1", 2, 240)
    ]
    # The stored result is what any replica reads, and it is a valid assignment.
    again = CohortRuns(store, world.load).get(started.name)
    assert again == run
    _, searches = world.load([q for q in world.loaded[0]])
    plans = [plan_from_proto(a.plan, "plan") if a.HasField("plan") else None for a in run.assignments]
    plans = [p if p is None else type(p)(**{**p.__dict__, "gap": timedelta(0)}) for p in plans]
    assert validate_assignment(searches, world.directory, plans) == []


def test_request_id_retry_returns_the_same_run_and_bad_input_is_refused(store):
    world = World()
    runs = CohortRuns(store, world.load)
    request = pb.ScheduleCohortRequest(entries=entries("c1"), request_id="r-1")
    first = runs.schedule(request)
    assert runs.schedule(request).name == first.name
    assert len(world.loaded) == 1
    other = pb.ScheduleCohortRequest(entries=entries("c2"), request_id="r-1")
    with pytest.raises(InvalidArgument, match="request_id"):
        runs.schedule(other)
    with pytest.raises(InvalidArgument, match="entries"):
        runs.schedule(pb.ScheduleCohortRequest())
    with pytest.raises(InvalidArgument, match=r"entries\[0\].office"):
        bad = entries("c1")
        bad[0].location_mode = pb.LOCATION_MODE_ONSITE
        runs.schedule(pb.ScheduleCohortRequest(entries=bad))
    with pytest.raises(InvalidArgument, match="time_limit"):
        runs.schedule(pb.ScheduleCohortRequest(entries=entries("c1"), time_limit=Duration(seconds=3600)))
    with pytest.raises(NotFound):
        runs.schedule(pb.ScheduleCohortRequest(entries=entries("nobody")))
    with pytest.raises(NotFound):
        runs.get("cohortRuns/missing")
    with pytest.raises(InvalidArgument, match="name"):
        runs.get("loops/x")
    wait_done(runs, first.name)


def test_list_pages_newest_first(store):
    world = World()
    clock = f.NOW
    ticks = iter(range(1000))
    runs = CohortRuns(store, world.load, clock=lambda: clock + timedelta(seconds=next(ticks)))
    names = [runs.schedule(pb.ScheduleCohortRequest(entries=entries("c1"))).name for _ in range(3)]
    for name in names:
        wait_done(runs, name)
    page, token = runs.list(2, "")
    assert [r.name for r in page] == names[::-1][:2] and token
    rest, end = runs.list(2, token)
    assert [r.name for r in rest] == [names[0]] and end == ""
    with pytest.raises(InvalidArgument, match="page_token"):
        runs.list(2, "not-a-token")


def test_commit_books_each_loop_and_reports_those_that_no_longer_fit(store):
    world = World()
    runs = CohortRuns(store, world.load)
    run = wait_done(runs, runs.schedule(pb.ScheduleCohortRequest(entries=entries("c1", "c2"))).name)
    booked = {}

    def book(plan, request_id):
        if plan.candidate == "candidates/c1":
            raise Aborted("the plan is no longer free: interviewer iv1 is busy; search again")
        # BookLoop's own idempotency: the same request id returns the first loop.
        booked.setdefault(request_id, pb.Loop(name=f"loops/{len(booked)}", candidate=plan.candidate))
        return booked[request_id]

    response = runs.commit(run.name, "commit-1", book)
    assert [loop.candidate for loop in response.loops] == ["candidates/c2"]
    assert [(x.candidate, "no longer free" in x.reason) for x in response.failures] == [("candidates/c1", True)]
    assert runs.get(run.name).state == S.COHORT_RUN_STATE_COMMITTED
    # A retry with the same request id answers from the record; a new one re-tries the
    # failures and gets the already booked loops back without booking them twice.
    assert runs.commit(run.name, "commit-1", book) == response
    second = runs.commit(run.name, "commit-2", book)
    assert [loop.name for loop in second.loops] == [loop.name for loop in response.loops]
    assert len(booked) == 1


class LongWorld:
    """Loads the seeded benchmark world whatever the entries say (one search per entry)."""

    def __init__(self):
        self.searches, self.directory = f.bench_world(30, 3, 40)

    def load(self, queries):
        return self.directory, self.searches[: len(queries)]

    def request(self):
        return pb.ScheduleCohortRequest(
            entries=entries(*[f"c{n}" for n in range(40)]), time_limit=Duration(seconds=300)
        )


def test_cancel_a_running_run_and_commit_rules(store):
    world = LongWorld()
    runs = CohortRuns(store, world.load)
    started = runs.schedule(world.request())
    with pytest.raises(FailedPrecondition, match="still running"):
        runs.commit(started.name, "", lambda plan, rid: pb.Loop())
    cancelled = runs.cancel(started.name)
    assert cancelled.state == S.COHORT_RUN_STATE_CANCELLED
    assert runs.cancel(started.name).state == S.COHORT_RUN_STATE_CANCELLED
    # Whatever was found before the cancel is a valid result and can still be committed.
    response = runs.commit(started.name, "", lambda plan, rid: pb.Loop(candidate=plan.candidate))
    assert len(response.loops) == cancelled.loops_scheduled
    with pytest.raises(FailedPrecondition, match="already finished"):
        runs.cancel(started.name)


def test_cancel_from_another_replica_and_a_lost_process(store):
    world = LongWorld()
    here = CohortRuns(store, world.load)
    there = CohortRuns(store, world.load)
    started = here.schedule(world.request())
    time.sleep(0.2)  # let it start; the cancel must reach it through the store
    assert there.cancel(started.name).state == S.COHORT_RUN_STATE_RUNNING
    stopped = wait_done(there, started.name, deadline=20)
    assert stopped.state == S.COHORT_RUN_STATE_CANCELLED
    assert stopped.loops_scheduled >= stopped.greedy_loops_scheduled or not stopped.assignments

    # A RUNNING record nobody writes any more is reported FAILED after `stale_after`.
    later = CohortRuns(store, world.load, clock=lambda: f.NOW + timedelta(days=365))
    ghost = pb.CohortRun(name="cohortRuns/ghost", state=S.COHORT_RUN_STATE_RUNNING)
    store.create(StoredRun("ghost", ghost, "", "", False, f.NOW, f.NOW))
    lost = later.get("cohortRuns/ghost")
    assert lost.state == S.COHORT_RUN_STATE_FAILED and "stopped" in lost.error_message
    assert later.get("cohortRuns/ghost") == lost


def test_close_stores_running_runs_as_cancelled(store):
    world = LongWorld()
    runs = CohortRuns(store, world.load)
    started = runs.schedule(world.request())
    runs.close()
    after = CohortRuns(store, world.load).get(started.name)  # as another replica sees it
    assert after.state == S.COHORT_RUN_STATE_CANCELLED and after.HasField("end_time")
