"""BookLoop on PostgreSQL with 8 concurrent clients, against the real service.

The seeded directory of `bench.directory_gen` is written into a fresh PostgreSQL database
(`BENCH_DATABASE_URL`, else `TEST_DATABASE_URL`: a server where a database may be created).
Plans for many candidates are found first, in process, each on the world as the plans before
it left it, so the plans do not collide with each other; then 8 clients book them over gRPC
through the scheduling service (with the accommodations service it consults), each booking
re-checked and written with its reservations and invites in one transaction.

Figures: loops booked per second, as a ratio of a raw SQL baseline in the same run (8 threads,
each transaction inserting the rows one booking wrote, on average, in this run: its reservations
with the same ON CONFLICT clause, the loop, its sessions, its outbox rows at their real size and
the request-id record; target >= 0.5; the baseline of reservations and outbox rows only is
printed beside it); the maximum BookLoop latency (target < 200 ms); and the count of overlapping
active reservations afterwards (must be 0).
"""

from __future__ import annotations

import os
import queue
import random
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.directory_gen import World, generate
from bench.grpc_search_bench import SECRET, bench_start, load_world, running_services
from interviews.scheduling.v1 import scheduling_pb2 as pb
from interviews.scheduling.v1 import scheduling_pb2_grpc
from services.core.auth import Role, issue_token
from services.core.db import Database
from services.scheduling import models
from services.scheduling.convert_plans import plan_proto
from services.scheduling.domain import model as dm
from services.scheduling.domain.search import find_plans
from services.scheduling.planning import Policy
from services.scheduling.store import snapshot as snap
from services.scheduling.store.reservations import count_overlaps

CLIENTS = 8
LOOPS = 240
TARGET_RATIO = 0.5
TARGET_MAX_MS = 200.0


def _database_url() -> str | None:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        return None
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def _add_candidates(url: str, world: World, count: int) -> list[tuple[str, str]]:
    """`count` more candidates (areas and zones of the generated ones, no availability limits)."""
    db = Database(url, "scheduling")
    rng = random.Random(3)
    now = datetime.now(UTC)
    made = []
    try:
        with db.transaction() as s:
            for i in range(count):
                model = rng.choice(world.candidates)
                candidate_id = f"book{i:04d}"
                s.add(models.CandidateRow(id=candidate_id, display_name=candidate_id, email=f"{candidate_id}@candidates.example.org",
                                          time_zone=model.time_zone, primary_area=int(model.primary_area),
                                          secondary_area=int(model.secondary_area), availability=[], preferred_hours=None,
                                          preferred_office_id="", etag="bench", create_time=now, update_time=now))
                made.append((candidate_id, model.time_zone))
    finally:
        db.dispose()
    return made


def _plans(url: str, world: World, candidates: list[tuple[str, str]]) -> list[pb.LoopPlan]:
    """One plan per candidate, each found on the world left by the plans before it."""
    db = Database(url, "scheduling")
    policy = Policy()
    now = datetime.now(UTC)
    start, end = world.start, world.start + timedelta(days=world.days)
    try:
        with db.reader() as s:
            directory = snap.DirectoryCache().get(s, now)
            reserved = snap.load_reserved(s, start, end, now)
            template = snap.template(s.get(models.LoopTemplateRow, world.template.id))
            rows = {c.id: snap.candidate(c) for c in s.query(models.CandidateRow).all()}
    finally:
        db.dispose()
    world_now = snap.snapshot(directory, reserved, start, end, lead=timedelta(minutes=int(template.buffer.total_seconds() // 60)))
    busy, rooms, sessions = dict(world_now.interviewer_busy), dict(world_now.room_busy), dict(reserved.interviewer_sessions)
    rng = random.Random(9)
    out = []
    for candidate_id, zone in candidates:
        onsite = rng.random() < 0.6
        first = start + timedelta(days=rng.randrange(0, world.days - 3))
        request = dm.SearchRequest(candidate=rows[candidate_id], template=template, window=dm.TimeRange(first, end),
                                   mode=dm.LocationMode.ONSITE if onsite else dm.LocationMode.REMOTE,
                                   office_id=rng.choice(sorted(world_now.offices)) if onsite else None, now=now, max_plans=1,
                                   min_notice=policy.min_notice, horizon=policy.horizon)
        # A fresh snapshot per search: the search memoises busy time per snapshot object.
        snapshot = dm.DirectorySnapshot(world_now.offices, world_now.rooms, world_now.interviewers, busy, rooms, sessions)
        result = find_plans(request, snapshot)
        if not result.plans:
            continue
        plan = result.plans[0]
        for session in plan.sessions:
            # Led by the gap as well, as the service's own search does (see store.snapshot).
            taken = dm.TimeRange(session.start - plan.gap, session.end + plan.gap)
            for interviewer_id in session.interviewer_ids:
                busy[interviewer_id] = [*busy.get(interviewer_id, ()), taken]
                sessions[interviewer_id] = [*sessions.get(interviewer_id, ()), session.start]
            if session.room_id:
                rooms[session.room_id] = [*rooms.get(session.room_id, ()), taken]
        out.append(plan_proto(plan, zone))
    return out


def _book_all(address: str, plans: list[pb.LoopPlan]) -> tuple[list[float], float, dict[str, int]]:
    work: queue.Queue = queue.Queue()
    for plan in plans:
        work.put(plan)
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    metadata = (("authorization", f"Bearer {issue_token(SECRET, 'services/recruiting', Role.SERVICE)}"),)
    channel = grpc.insecure_channel(address)
    stub = scheduling_pb2_grpc.SchedulingServiceStub(channel)

    def client() -> None:
        while True:
            try:
                plan = work.get_nowait()
            except queue.Empty:
                return
            started = time.perf_counter()
            try:
                stub.BookLoop(pb.BookLoopRequest(plan=plan, request_id=uuid.uuid4().hex), metadata=metadata, timeout=60)
                outcome = "OK"
            except grpc.RpcError as error:
                outcome = error.code().name
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if outcome == "OK":
                    latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    channel.close()
    return latencies, seconds, outcomes


@dataclass(frozen=True)
class Shape:
    """What one booking wrote in the run, on average: the raw baseline writes the same."""

    reservations: int
    sessions: int
    outbox_payload: int  # bytes per SendInvite outbox row
    response: int  # bytes of the stored BookLoop response (request-id record)


def _shape(url: str) -> Shape:
    db = Database(url, "scheduling")
    try:
        with db.reader() as s:
            loops = s.scalar(text("SELECT count(*) FROM loops"))
            return Shape(
                reservations=round(s.scalar(text("SELECT count(*) FROM reservations r JOIN loops l ON r.owner = 'loops/' || l.id")) / loops),
                sessions=round(s.scalar(text("SELECT count(*) FROM loop_sessions")) / loops),
                outbox_payload=round(s.scalar(text("SELECT avg(length(payload)) FROM outbox_messages"))),
                response=round(s.scalar(text("SELECT avg(length(response)) FROM idempotency_records WHERE method = 'BookLoop'"))),
            )
    finally:
        db.dispose()


def _raw_rate(url: str, loops: int, shape: Shape, *, whole_booking: bool = True) -> float:
    """The writes of a booking as bare SQL, per transaction: the reservations
    with the exclusion-constraint ON CONFLICT clause and the outbox rows, and
    (`whole_booking`) the loop, its sessions and the request-id record too,
    each row the size the service wrote in this run. Statements as a careful
    hand-written client would send them (psycopg's pipelined executemany)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    payload = os.urandom(shape.outbox_payload)
    response = os.urandom(shape.response)
    base = datetime(2030, 1, 1, tzinfo=UTC)
    counter = iter(range(10**9))
    lock = threading.Lock()
    per_thread = loops // CLIENTS
    tag = "raw" if whole_booking else "rawr"

    def worker() -> None:
        with psycopg.connect(dsn, options="-c search_path=scheduling,public") as conn:
            for _ in range(per_thread):
                with lock:
                    n = next(counter)
                start = base + timedelta(hours=n)
                loop_id = f"{tag}{n}"
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO reservations (resource, owner, session_id, start_time, end_time, active) "
                        f"VALUES (%s, %s, %s, %s, %s, true) ON CONFLICT ON CONSTRAINT {models.RESERVATION_EXCLUSION} DO NOTHING",
                        [(f"{tag}/{n}/{k}", f"loops/{loop_id}", f"s{k}", start, start + timedelta(minutes=50))
                         for k in range(shape.reservations)],
                    )
                    if whole_booking:
                        cur.execute(
                            "INSERT INTO loops (id, candidate_id, template_id, state, location_mode, office_id, gap_minutes, score, days, "
                            "video_link, cancel_reason, constraint_violations, create_time, update_time, etag) "
                            "VALUES (%s, 'raw', 'standard-5', 1, 1, 'raw', 10, 1.0, 1, %s, '', '[]', now(), now(), 'raw')",
                            (loop_id, f"https://meet.example.com/interviews/{loop_id}"),
                        )
                        cur.executemany(
                            "INSERT INTO loop_sessions (id, loop_id, position, title, kind, start_time, end_time, interviewer_ids, room_id, "
                            "remote, adjustments, sequence) VALUES (%s, %s, %s, 'Session', 1, %s, %s, '[\"raw\"]', NULL, false, '[]', 0)",
                            [(f"{loop_id}s{k}", loop_id, k, start, start + timedelta(minutes=45)) for k in range(shape.sessions)],
                        )
                    cur.executemany(
                        "INSERT INTO outbox_messages (topic, idempotency_key, payload, create_time, attempts, next_attempt_time) "
                        "VALUES ('raw', %s, %s, now(), 0, now() + interval '1 year')",
                        [(f"{tag}:{n}:{k}", payload) for k in range(shape.sessions)],
                    )
                    if whole_booking:
                        cur.execute(
                            "INSERT INTO idempotency_records (method, request_id, fingerprint, response, create_time) "
                            "VALUES ('Raw', %s, %s, %s, now())",
                            (loop_id, "0" * 64, response),
                        )

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return per_thread * CLIENTS / (time.perf_counter() - began)


def main() -> None:
    server_url = _database_url()
    if server_url is None:
        print("booking: skipped, set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL server where a database may be created")
        return
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        world = generate(start=bench_start())
        load_world(url, world)
        candidates = _add_candidates(url, world, LOOPS + 40)
        plans = _plans(url, world, candidates)[:LOOPS]
        with tempfile.TemporaryDirectory(prefix="booking-bench-") as folder, running_services(Path(folder), url) as services:
            _book_all(services.scheduling, plans[:8])  # warm-up: connections, directory cache
            latencies, seconds, outcomes = _book_all(services.scheduling, plans[8:])
        shape = _shape(url)
        raw = _raw_rate(url, 800, shape)
        raw_partial = _raw_rate(url, 800, shape, whole_booking=False)
        db = Database(url, "scheduling")
        with db.reader() as session:
            overlaps = count_overlaps(session)
        db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    booked = outcomes.get("OK", 0)
    rate = booked / seconds
    print(f"BookLoop on PostgreSQL, {CLIENTS} clients: {booked} loops booked in {seconds:.2f} s = {rate:.0f} loops/s "
          f"(outcomes {outcomes}); median {statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms "
          f"(target max < {TARGET_MAX_MS:.0f} ms)")
    print(f"raw SQL booking+outbox insert, the rows of one booking per transaction ({shape.reservations} reservations, the loop, "
          f"{shape.sessions} sessions, {shape.sessions} outbox rows of {shape.outbox_payload} bytes, the request-id record): "
          f"{raw:.0f} loops/s; ratio {rate / raw:.3f} (target >= {TARGET_RATIO})")
    print(f"  (reservations + outbox rows only, the baseline before: {raw_partial:.0f} loops/s; ratio {rate / raw_partial:.3f})")
    print(f"overlapping active reservations afterwards: {overlaps} (must be 0)")


if __name__ == "__main__":
    main()
