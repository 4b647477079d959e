"""Many concurrent BookLoop calls for overlapping plans, spread over two
replicas of the service on one database (PostgreSQL, and SQLite with its
serialised writers): exactly one loop is booked, every other call is
ABORTED, and no partial loop is left behind."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import grpc
import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from interviews.scheduling.v1 import scheduling_pb2_grpc
from services.core.db import Database
from services.core.server import start_server
from services.scheduling import app, models
from services.scheduling.store.reservations import count_overlaps
from tests.helpers import wait_until
from tests.scheduling.conftest import MON, add_candidate, add_interviewer, add_room, add_template, error_info, find

CALLERS = 60


def test_concurrent_bookings_of_overlapping_plans_have_exactly_one_winner(scheduling, clock, fake_constraints):
    s = scheduling
    for name in ("ana", "bo", "cy", "dan"):
        add_interviewer(s, name, [common_pb2.ML_AREA_NLP])
    add_room(s, "r1")
    add_template(s, "three", (45, 45, 45), buffer=10)
    add_candidate(s, "c0")
    plans = list(find(s, "c0", "three", MON, MON + timedelta(days=1), onsite="los-gatos", k=5).plans)
    assert len(plans) >= 2
    requests = []
    for i in range(CALLERS):
        add_candidate(s, f"c{i + 1}")
        # Every plan of the search overlaps the others (one room, few interviewers,
        # the same morning); each caller books one of them for a different candidate.
        plan = pb.LoopPlan()
        plan.CopyFrom(plans[i % len(plans)])
        plan.candidate = f"candidates/c{i + 1}"
        requests.append(pb.BookLoopRequest(plan=plan, request_id=f"race-{i}"))

    # A second replica on the same database takes half of the calls.
    settings = s.settings.with_overrides(INTERVIEWS_GRPC_MAX_WORKERS="32")
    replica = start_server(app.build(settings, constraints=fake_constraints, clock=clock), settings, port=0, host="127.0.0.1")
    channels = [grpc.insecure_channel(s.address), grpc.insecure_channel(f"127.0.0.1:{replica.port}")]
    stubs = [scheduling_pb2_grpc.SchedulingServiceStub(c) for c in channels]
    barrier = threading.Barrier(CALLERS)

    def book(i: int):
        barrier.wait()
        try:
            return stubs[i % 2].BookLoop(requests[i], metadata=s.metadata, timeout=60)
        except grpc.RpcError as error:
            info = error_info(error)
            return error.code(), info.metadata.get("resource", "") if info else ""

    try:
        with ThreadPoolExecutor(CALLERS) as pool:
            results = list(pool.map(book, range(CALLERS)))
    finally:
        for channel in channels:
            channel.close()
        replica.stop(0.5)

    winners = [r for r in results if isinstance(r, pb.Loop)]
    losers = [r for r in results if not isinstance(r, pb.Loop)]
    assert len(winners) == 1, results
    assert {code for code, _ in losers} == {grpc.StatusCode.ABORTED}
    # Every loser is told which resource was taken.
    assert all(resource.startswith(("interviewers/", "offices/", "candidates/")) for _, resource in losers), losers
    db = Database(s.settings.database_url("scheduling"), "scheduling")
    try:
        with db.reader() as session:
            assert session.scalar(select(func.count()).select_from(models.LoopRow)) == 1
            owners = session.execute(select(models.ReservationRow.owner, func.count()).where(models.ReservationRow.active.is_(True))
                                     .group_by(models.ReservationRow.owner)).all()
            # One loop's reservations only: 3 sessions x (interviewer, room, candidate).
            assert owners == [(winners[0].name, 9)]
            assert count_overlaps(session) == 0
            assert session.scalar(select(func.count()).select_from(models.OutboxMessage)) == 3
    finally:
        db.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_retry_racing_its_first_attempt_gets_the_same_loop(scheduling):
    s = scheduling
    add_interviewer(s, "ana", [common_pb2.ML_AREA_NLP])
    add_template(s, "one", (60,))
    add_candidate(s, "c0")
    plan = find(s, "c0", "one", MON, MON + timedelta(days=1), k=1).plans[0]
    request = pb.BookLoopRequest(plan=plan, request_id="twice")
    url = make_url(s.settings.database_url("scheduling")).set(drivername="postgresql").render_as_string(hide_password=False)
    channel = grpc.insecure_channel(s.address)
    stub = scheduling_pb2_grpc.SchedulingServiceStub(channel)
    # Hold the interviewer's row so both attempts get past the request-id check
    # and wait at the booking lock; then let them go one after the other.
    with psycopg.connect(url) as blocker, psycopg.connect(url, autocommit=True) as watcher:
        blocker.execute("SELECT id FROM scheduling.interviewers WHERE id = 'ana' FOR UPDATE")
        with ThreadPoolExecutor(2) as pool:
            calls = [pool.submit(stub.BookLoop, request, metadata=s.metadata, timeout=30) for _ in range(2)]
            wait_until(lambda: watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[0] >= 2, message="both attempts waiting")
            blocker.commit()
            first, second = (c.result() for c in calls)
    channel.close()
    assert first == second
    db = Database(s.settings.database_url("scheduling"), "scheduling")
    try:
        with db.reader() as session:
            assert session.scalar(select(func.count()).select_from(models.LoopRow)) == 1
    finally:
        db.dispose()
