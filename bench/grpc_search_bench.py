"""FindLoopPlans over gRPC with 32 requests in flight, against the real service.

The seeded directory of `bench.directory_gen` (2 offices, 200 interviewers, 20 rooms, 10-30
busy blocks each over two weeks) is written into a fresh scheduling database; the scheduling
service and the accommodations service it asks for constraints run as their own processes, as
deployed (embedded SQLite by default; `BENCH_DATABASE_URL` for PostgreSQL). Each search is the
5-session standard loop, top 5, for a random candidate, office or remote, and window.

Figures: latency median and p99 with 32 requests in flight (target p99 <= 30 ms), and
throughput as a ratio of a no-op RPC (the standard health Check) on the same server in the
same run, also with 32 in flight (target >= 0.2); then the same with
`SCHEDULING_SEARCH_STALENESS_SECONDS=0` (reservations read on every search).
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.directory_gen import World, generate
from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from interviews.scheduling.v1 import scheduling_pb2_grpc
from services.core.auth import Role, issue_token
from services.core.db import Database
from services.core.migrate import upgrade
from services.core.timeconv import to_timestamp
from services.scheduling import models
from services.scheduling.domain import model as dm

IN_FLIGHT = 32
REQUESTS = 400
NOOP_REQUESTS = 4000
SEQUENTIAL = 100
TARGET_P99_MS = 30.0
TARGET_RATIO = 0.2
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


# ---------------------------------------------------------------- the world in a database


def bench_start() -> date:
    """The Monday at least a week ahead, so windows are past the minimum notice."""
    day = datetime.now(UTC).date() + timedelta(days=7)
    return day + timedelta(days=(7 - day.isoweekday() + 1) % 7)


def _merged(ranges: list[dm.TimeRange]) -> list[tuple[datetime, datetime]]:
    out: list[list[datetime]] = []
    for r in sorted(ranges, key=lambda r: r.start):
        if out and r.start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], r.end)
        else:
            out.append([r.start, r.end])
    return [(a, b) for a, b in out]


def load_world(url: str, world: World) -> None:
    """Writes the generated directory with the service's own models: busy
    blocks, and the generated "already booked" interviews and room bookings as
    reservations (so they count against load limits and rooms)."""
    upgrade("scheduling", url)
    db = Database(url, "scheduling")
    now = datetime.now(UTC)
    d = world.directory
    try:
        with db.transaction() as s:
            for office in d.offices.values():
                row = s.get(models.OfficeRow, office.id)
                row.office_hours = [[w.day_of_week, w.start_minute, w.end_minute] for w in office.office_hours]
                row.holidays = sorted(h.isoformat() for h in office.holidays)
            for room in d.rooms.values():
                room_id = room.id.split("/")[-1]
                s.add(models.RoomRow(office_id=room.office_id, id=room_id, display_name=room_id, capacity=room.capacity,
                                     wheelchair_accessible=room.wheelchair_accessible, video_equipped=room.video_equipped,
                                     quiet=room.quiet, location_hint=room.location_hint, etag="bench", create_time=now, update_time=now))
            s.flush()
            for iv in d.interviewers.values():
                s.add(models.InterviewerRow(id=iv.id, display_name=iv.id, email=iv.email, home_office_id=iv.home_office_id,
                                            ml_areas=sorted(int(a) for a in iv.areas), time_zone=iv.time_zone,
                                            working_hours=[[w.day_of_week, w.start_minute, w.end_minute] for w in iv.working_hours],
                                            max_per_day=iv.max_per_day, max_per_week=iv.max_per_week, trainee=iv.trainee,
                                            etag="bench", create_time=now, update_time=now))
            s.flush()
            reservations = []
            for iv_id, blocks in d.interviewer_busy.items():
                booked = set(d.interviewer_sessions.get(iv_id, ()))
                for k, block in enumerate(blocks):
                    if block.start not in booked:
                        s.add(models.BusyBlockRow(id=f"{iv_id}-b{k}", interviewer_id=iv_id, start_time=block.start, end_time=block.end,
                                                  kind=1, source=1, create_time=now))
                for start, end in _merged([b for b in blocks if b.start in booked]):
                    reservations.append(models.ReservationRow(resource=f"interviewers/{iv_id}", owner="loops/bench-existing",
                                                              start_time=start, end_time=end, active=True))
            for room_id, blocks in d.room_busy.items():
                office_id, _, short = room_id.partition("/")
                for start, end in _merged(list(blocks)):
                    reservations.append(models.ReservationRow(resource=f"offices/{office_id}/rooms/{short}", owner="loops/bench-existing",
                                                              start_time=start, end_time=end, active=True))
            s.add_all(reservations)
            for c in world.candidates:
                s.add(models.CandidateRow(
                    id=c.id, display_name=c.id, email=f"{c.id}@candidates.example.org", time_zone=c.time_zone,
                    primary_area=int(c.primary_area), secondary_area=int(c.secondary_area),
                    availability=[[w.date.isoformat(), w.start_minute, w.end_minute] for w in c.availability],
                    preferred_hours=[c.preferred_hours.start_minute, c.preferred_hours.end_minute] if c.preferred_hours else None,
                    preferred_office_id="", etag="bench", create_time=now, update_time=now))
            t = world.template
            s.add(models.LoopTemplateRow(
                id=t.id, display_name=t.id, buffer_minutes=int(t.buffer.total_seconds() // 60), max_days=t.max_days,
                sessions=[{"title": x.title, "kind": int(x.kind), "minutes": int(x.duration.total_seconds() // 60),
                           "area_rule": int(x.area_rule), "interviewers_needed": x.interviewers_needed} for x in t.sessions],
                etag="bench", create_time=now, update_time=now))
    finally:
        db.dispose()


# ---------------------------------------------------------------- services as processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Services:
    scheduling: str
    env: dict[str, str]


@contextmanager
def running_services(data_dir: Path, scheduling_url: str, *, extra_env: dict[str, str] | None = None) -> Iterator[Services]:
    """Accommodations, notifications and scheduling, each its own process, on
    loopback: the whole system a booking touches (its invites are delivered
    while the benchmark runs; mail goes to .eml files)."""
    ports = {"scheduling": free_port(), "accommodations": free_port(), "notifications": free_port()}
    env = {
        **os.environ,
        "INTERVIEWS_DATA_DIR": str(data_dir),
        "INTERVIEWS_TOKEN_SECRET": SECRET,
        "INTERVIEWS_LISTEN_HOST": "127.0.0.1",
        "SCHEDULING_DATABASE_URL": scheduling_url,
        "ACCOMMODATIONS_DATABASE_URL": f"sqlite:///{data_dir / 'accommodations.sqlite3'}",
        "NOTIFICATIONS_DATABASE_URL": f"sqlite:///{data_dir / 'notifications.sqlite3'}",
        # A benchmark client is one caller sending far more than a person would.
        "INTERVIEWS_RATE_LIMIT_PER_SECOND": "1000000",
        "INTERVIEWS_RATE_LIMIT_BURST": "1000000",
        "INTERVIEWS_SERVICE_RATE_LIMIT_PER_SECOND": "1000000",
        "MAIL_FROM": "scheduling@interviews.example.com",
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **(extra_env or {}),
    }
    children = []
    try:
        for name in ("accommodations", "notifications", "scheduling"):
            children.append(subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env,
                                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for name in ("accommodations", "notifications", "scheduling"):
            _wait_serving(f"127.0.0.1:{ports[name]}", children)
        yield Services(f"127.0.0.1:{ports['scheduling']}", env)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


def _wait_serving(address: str, children: list[subprocess.Popen], timeout: float = 60) -> None:
    channel = grpc.insecure_channel(address)
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for child in children:
                if child.poll() is not None:
                    raise RuntimeError(f"a service exited: {child.stderr.read().decode()[-2000:]}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.2)
        raise RuntimeError(f"{address} did not start")
    finally:
        channel.close()


# ---------------------------------------------------------------- load


def in_flight(call: Callable[[object], grpc.Future], requests: list, concurrency: int) -> tuple[list[float], float, int]:
    """Sends `requests` keeping `concurrency` in flight; (latencies ms, seconds, errors)."""
    latencies: list[float] = []
    errors = 0
    # Re-entrant: a future that is already done runs its callback inside add_done_callback.
    lock = threading.RLock()
    done = threading.Event()
    pending = iter(enumerate(requests))
    outstanding = [0]

    def launch() -> None:
        try:
            _, request = next(pending)
        except StopIteration:
            if outstanding[0] == 0:
                done.set()
            return
        outstanding[0] += 1
        started = time.perf_counter()
        future = call(request)
        future.add_done_callback(lambda f, t=started: finish(f, t))

    def finish(future: grpc.Future, started: float) -> None:
        nonlocal errors
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            outstanding[0] -= 1
            if future.exception() is not None:
                errors += 1
            else:
                latencies.append(elapsed)
            launch()

    began = time.perf_counter()
    with lock:
        for _ in range(concurrency):
            launch()
    done.wait()
    return latencies, time.perf_counter() - began, errors


def search_requests(world: World, count: int, seed: int = 5) -> list[pb.FindLoopPlansRequest]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        candidate = rng.choice(world.candidates)
        first = world.start + timedelta(days=rng.randrange(0, 4))
        onsite = rng.random() < 0.7
        out.append(pb.FindLoopPlansRequest(
            candidate=f"candidates/{candidate.id}", loop_template=f"loopTemplates/{world.template.id}",
            window=common_pb2.TimeRange(start_time=to_timestamp(first), end_time=to_timestamp(world.start + timedelta(days=world.days))),
            location_mode=pb.LOCATION_MODE_ONSITE if onsite else pb.LOCATION_MODE_REMOTE,
            office=f"offices/{rng.choice(sorted(world.directory.offices))}" if onsite else "", max_plans=5))
    return out


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


@dataclass
class Figures:
    latencies: list[float]
    seconds: float
    errors: int
    alone: list[float]
    noop_latencies: list[float]
    noop_seconds: float

    def line(self, label: str) -> str:
        searches_per_s = len(self.latencies) / self.seconds
        noop_per_s = len(self.noop_latencies) / self.noop_seconds
        return (f"{label}: {IN_FLIGHT} in flight: {len(self.latencies)} requests ({self.errors} errors), "
                f"median {statistics.median(self.latencies):.1f} ms, p99 {p99(self.latencies):.1f} ms (target p99 <= {TARGET_P99_MS:.0f} ms); "
                f"one at a time: median {statistics.median(self.alone):.1f} ms, p99 {p99(self.alone):.1f} ms; "
                f"throughput {searches_per_s:.0f} searches/s vs no-op {noop_per_s:.0f} calls/s on the same server: "
                f"ratio {searches_per_s / noop_per_s:.3f} (target >= {TARGET_RATIO})")


def measure(address: str, batch: list[pb.FindLoopPlansRequest]) -> Figures:
    channel = grpc.insecure_channel(address)
    try:
        metadata = (("authorization", f"Bearer {issue_token(SECRET, 'services/recruiting', Role.SERVICE)}"),)
        stub = scheduling_pb2_grpc.SchedulingServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)

        def search(request):
            return stub.FindLoopPlans.future(request, metadata=metadata, timeout=60)

        def noop(request):
            return health.Check.future(request, timeout=60)

        in_flight(search, batch[:40], IN_FLIGHT)  # warm-up: caches, connections
        # One at a time: the service time itself, without queueing.
        alone, _, _ = in_flight(search, batch[:SEQUENTIAL], 1)
        noop_latencies, noop_seconds, _ = in_flight(noop, [health_pb2.HealthCheckRequest()] * NOOP_REQUESTS, IN_FLIGHT)
        latencies, seconds, errors = in_flight(search, batch, IN_FLIGHT)
        return Figures(latencies, seconds, errors, alone, noop_latencies, noop_seconds)
    finally:
        channel.close()


def main() -> None:
    world = generate(start=bench_start())
    batch = search_requests(world, REQUESTS)
    with tempfile.TemporaryDirectory(prefix="grpc-search-bench-") as folder:
        data = Path(folder)
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{data / 'scheduling.sqlite3'}"
        if url.startswith("postgresql"):
            print("grpc search: BENCH_DATABASE_URL is PostgreSQL; this bench writes its own SQLite file instead")
            url = f"sqlite:///{data / 'scheduling.sqlite3'}"
        load_world(url, world)
        load = os.getloadavg()[0]
        with running_services(data, url) as services:
            shared = measure(services.scheduling, batch)
        # The same with no staleness allowed: every search reads the reservations
        # (the shared world, and what searches memoised on it, is kept only while
        # that read finds them unchanged, as it does here).
        with running_services(data, url, extra_env={"SCHEDULING_SEARCH_STALENESS_SECONDS": "0"}) as services:
            fresh = measure(services.scheduling, batch)
    print(shared.line("FindLoopPlans over gRPC, shared search world (the default)"))
    print(fresh.line("FindLoopPlans over gRPC, reservations read on every search (SCHEDULING_SEARCH_STALENESS_SECONDS=0)"))
    print(f"load average at start: {load:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
