"""Limits that keep one caller, one big request or one stuck dependency from
exhausting a service: request size, page size, deadlines on every outgoing
call (gRPC to another service, SMTP), and per-caller rate limits."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent import futures
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from interviews.accommodations.v1 import accommodations_pb2_grpc
from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.notifications.v1 import notifications_pb2_grpc
from interviews.scheduling.v1 import scheduling_pb2 as spb
from sqlalchemy import text

from services.core.pagination import MAX_PAGE_SIZE
from tests.hardening_support import invariants
from tests.hardening_support.fleet import (
    InProcessFleet,
    base_env,
    metadata,
    sqlite_urls,
)
from tests.hardening_support.harness import Caller
from tests.hardening_support.rpcs import NOT_YET_IMPLEMENTED, Rpc, all_rpcs, rpcs
from tests.hardening_support.strategies import Pools
from tests.hardening_support.world import (
    Clients,
    World,
    as_recruiter,
    build_directory,
    time_range,
)
from tests.helpers import wait_until
from tests.security.conftest import REPORT, MatrixWorld
from tests.security.test_access_matrix import REQUESTS

# A caller allowed on each service, for the limits below.
ALLOWED = {
    "scheduling": lambda: metadata("recruiter", "recruiter@example.com"),
    "accommodations": lambda: metadata("coordinator", "coordinator@example.com"),
    "notifications": lambda: metadata("service", "services/scheduling"),
}


def _implemented(service: str) -> list[Rpc]:
    return [r for r in rpcs(service) if str(r) not in NOT_YET_IMPLEMENTED]


# ---------------------------------------------------------------- request size


@pytest.fixture(scope="module")
def small_limit_fleet(tmp_path_factory: pytest.TempPathFactory, sqlite_templates: dict[str, Path]) -> Iterator[InProcessFleet]:
    folder = tmp_path_factory.mktemp("small-limit")
    env = base_env(folder / "data", sqlite_urls(folder, sqlite_templates), extra={"INTERVIEWS_MAX_MESSAGE_BYTES": str(64 * 1024)})
    fleet = InProcessFleet(env).start()
    yield fleet
    fleet.stop()


@pytest.mark.parametrize("rpc", [r for r in all_rpcs() if str(r) not in NOT_YET_IMPLEMENTED], ids=str)
def test_request_over_the_size_limit_is_refused(rpc: Rpc, matrix: MatrixWorld, small_limit_fleet: InProcessFleet) -> None:
    """A request body past INTERVIEWS_MAX_MESSAGE_BYTES (64 KiB here) is
    refused by the transport before any handler runs: RESOURCE_EXHAUSTED."""
    security_caller = Caller(small_limit_fleet.channels, Pools())
    limit = small_limit_fleet.settings.max_message_bytes
    request = REQUESTS[rpc.name](matrix)
    # An unknown field (number 999, length-delimited) carrying the bulk: valid protobuf, too big.
    padding = b"\xba\x3e" + _varint(limit) + b"x" * limit
    raw = request.SerializeToString() + padding  # type: ignore[attr-defined]
    outcome = security_caller.call(rpc, raw, ALLOWED[rpc.service]())
    assert outcome.code is grpc.StatusCode.RESOURCE_EXHAUSTED, (outcome.code, outcome.details)
    # Just under the limit passes the transport (whatever the handler then says).
    fits = request.SerializeToString() + b"\xba\x3e" + _varint(limit // 2) + b"x" * (limit // 2)  # type: ignore[attr-defined]
    assert security_caller.call(rpc, fits, ALLOWED[rpc.service]()).code is not grpc.StatusCode.RESOURCE_EXHAUSTED


@pytest.mark.parametrize("service", ["scheduling", "accommodations", "notifications"])
def test_default_size_limit_is_four_mebibytes(service: str, matrix: MatrixWorld, security_caller: Caller,
                                               security_fleet: InProcessFleet) -> None:
    rpc = _implemented(service)[0]
    limit = security_fleet.settings.max_message_bytes
    assert limit == 4 * 1024 * 1024
    raw = REQUESTS[rpc.name](matrix).SerializeToString() + b"\xba\x3e" + _varint(limit) + b"x" * limit  # type: ignore[attr-defined]
    assert security_caller.call(rpc, raw, ALLOWED[service]()).code is grpc.StatusCode.RESOURCE_EXHAUSTED


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


# ---------------------------------------------------------------- page sizes

LIST_RPCS = [r for r in all_rpcs() if "page_size" in r.input.fields_by_name and str(r) not in NOT_YET_IMPLEMENTED]
LIST_CALLER = {"ListTickets": "coordinator", "ListMessages": "coordinator", "ListAuditEvents": "coordinator"}


@pytest.mark.parametrize("rpc", LIST_RPCS, ids=str)
def test_page_size_is_bounded_and_never_negative(rpc: Rpc, matrix: MatrixWorld, security_caller: Caller) -> None:
    md = ALLOWED[rpc.service]()
    for size in (MAX_PAGE_SIZE + 1, 10**6, 2**31 - 1):
        request = REQUESTS[rpc.name](matrix)
        request.page_size = size  # type: ignore[attr-defined]
        outcome = security_caller.call(rpc, request, md)  # type: ignore[arg-type]
        assert outcome.ok, f"{rpc} page_size={size}: {outcome.code.name} {outcome.details}"
    request = REQUESTS[rpc.name](matrix)
    request.page_size = -1  # type: ignore[attr-defined]
    assert security_caller.call(rpc, request, md).code is grpc.StatusCode.INVALID_ARGUMENT  # type: ignore[arg-type]


def test_a_huge_page_size_gets_at_most_the_maximum(tmp_path: Path, sqlite_templates: dict[str, Path]) -> None:
    """More rows than the largest page: a page of 10**6 returns MAX_PAGE_SIZE and a next token."""
    env = base_env(tmp_path / "data", sqlite_urls(tmp_path, sqlite_templates), extra={"MAIL_FROM": "s@interviews.example.com"})
    fleet = InProcessFleet(env, services=["notifications"]).start()
    try:
        stub = notifications_pb2_grpc.NotificationsServiceStub(fleet.channels["notifications"])
        md = metadata("service", "services/scheduling")

        def send(i: int) -> None:
            stub.SendMessage(npb.SendMessageRequest(
                idempotency_key=f"page-{i}", template=npb.MESSAGE_TEMPLATE_INTERVIEW_REMINDER,
                recipient=npb.Recipient(email=f"r{i}@example.com", time_zone="UTC"),
                parameters={"interview_time": "2027-01-05T09:00:00Z"}), metadata=md, timeout=30)

        with futures.ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(send, range(MAX_PAGE_SIZE + 5)))
        page = stub.ListDeliveries(npb.ListDeliveriesRequest(page_size=10**6), metadata=md, timeout=30)
        assert len(page.deliveries) == MAX_PAGE_SIZE and page.next_page_token
        rest = stub.ListDeliveries(npb.ListDeliveriesRequest(page_size=10**6, page_token=page.next_page_token), metadata=md, timeout=30)
        assert len(rest.deliveries) == 5 and not rest.next_page_token
    finally:
        fleet.stop()


# ---------------------------------------------------------------- deadlines on outgoing calls


class _Stuck(accommodations_pb2_grpc.AccommodationsServiceServicer, notifications_pb2_grpc.NotificationsServiceServicer):
    """A dependency that accepts calls and never answers (until released)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = Counter[str]()
        self.held: dict[str, list[float]] = defaultdict(list)  # how long each call was kept waiting

    def _hang(self, name: str, context: grpc.ServicerContext) -> None:
        self.calls[name] += 1
        started = time.monotonic()
        # Polls until the caller gives up (its deadline) or the test ends.
        while context.is_active() and not self.release.wait(0.01):
            pass
        self.held[name].append(time.monotonic() - started)
        context.abort(grpc.StatusCode.UNAVAILABLE, "stuck")

    def GetSchedulingConstraints(self, request, context):
        self._hang("GetSchedulingConstraints", context)

    def SendInvite(self, request, context):
        self._hang("SendInvite", context)

    def SendMessage(self, request, context):
        self._hang("SendMessage", context)


@pytest.fixture
def stuck() -> Iterator[tuple[_Stuck, str]]:
    servicer = _Stuck()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    accommodations_pb2_grpc.add_AccommodationsServiceServicer_to_server(servicer, server)
    notifications_pb2_grpc.add_NotificationsServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    servicer.release.set()
    server.stop(0)


@pytest.fixture
def scheduling_with_stuck_dependencies(tmp_path: Path, sqlite_templates: dict[str, Path], stuck: tuple[_Stuck, str]) -> Iterator[InProcessFleet]:
    _, address = stuck
    env = base_env(tmp_path / "data", sqlite_urls(tmp_path, sqlite_templates), extra={
        "ACCOMMODATIONS_ADDRESS": address, "NOTIFICATIONS_ADDRESS": address,
        "INTERVIEWS_CALL_TIMEOUT_SECONDS": "1", "MAIL_FROM": "s@interviews.example.com",
    })
    fleet = InProcessFleet(env, services=["scheduling"]).start()
    yield fleet
    fleet.stop()


def _world(fleet: InProcessFleet) -> tuple[Clients, World]:
    channels = {name: fleet.channels["scheduling"] for name in ("scheduling", "accommodations", "notifications")}
    c = Clients.over(channels)
    world = World()
    build_directory(c, world, interviewers=2, candidates=1, prefix="dl")
    return c, world


def _find(c: Clients, world: World, timeout: float) -> spb.FindLoopPlansResponse:
    return c.scheduling.FindLoopPlans(spb.FindLoopPlansRequest(
        candidate=world.candidates[0], loop_template=world.templates[0], location_mode=spb.LOCATION_MODE_REMOTE,
        window=time_range(world.week, world.week + timedelta(days=3))),
        metadata=as_recruiter(), timeout=timeout)


def test_a_stuck_dependency_costs_at_most_the_call_timeout(scheduling_with_stuck_dependencies: InProcessFleet,
                                                          stuck: tuple[_Stuck, str]) -> None:
    servicer, _ = stuck
    c, world = _world(scheduling_with_stuck_dependencies)
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        _find(c, world, timeout=30)
    elapsed = time.monotonic() - started
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert servicer.calls["GetSchedulingConstraints"] >= 1
    assert elapsed < 5, f"FindLoopPlans waited {elapsed:.1f}s on a stuck accommodations (call timeout 1 s)"
    REPORT.append(f"deadlines: FindLoopPlans with accommodations stuck answered UNAVAILABLE in {elapsed * 1000:.0f} ms (call timeout 1 s)")


def test_the_callers_deadline_is_passed_on(scheduling_with_stuck_dependencies: InProcessFleet, stuck: tuple[_Stuck, str]) -> None:
    """With 0.3 s left, scheduling gives the downstream call less than that, not its own 1 s."""
    c, world = _world(scheduling_with_stuck_dependencies)
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as caught:
        _find(c, world, timeout=0.3)
    elapsed = time.monotonic() - started
    assert caught.value.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)
    assert elapsed < 0.9
    # Scheduling's own call gave up within the caller's 0.3 s, not after its 1 s call timeout.
    servicer, _ = stuck
    held = wait_until(lambda: servicer.held["GetSchedulingConstraints"], timeout=5, message="the downstream call to end")
    assert held[0] < 0.6, f"the downstream call waited {held[0]:.2f}s although the caller had 0.3 s"


def test_the_outbox_relay_gives_up_on_a_stuck_notifications_and_retries(scheduling_with_stuck_dependencies: InProcessFleet,
                                                                         stuck: tuple[_Stuck, str]) -> None:
    """Constraints come from the stuck server too, so book through a hold-free path: the
    relay's SendInvite must time out and be scheduled again, never block the relay."""
    servicer, _ = stuck
    fleet = scheduling_with_stuck_dependencies
    engine = invariants.engine_for(fleet.env["SCHEDULING_DATABASE_URL"], "scheduling")
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO outbox_messages (topic, idempotency_key, payload, create_time, attempts, next_attempt_time) "
                "VALUES ('notifications.SendInvite', 'stuck-1', :payload, CURRENT_TIMESTAMP, 0, '2000-01-01 00:00:00')"),
                {"payload": npb.SendInviteRequest(idempotency_key="stuck-1").SerializeToString()})
        started = time.monotonic()

        def attempted() -> bool:
            with engine.connect() as conn:
                return conn.execute(text("SELECT attempts FROM outbox_messages WHERE idempotency_key = 'stuck-1'")).scalar_one() >= 1

        wait_until(attempted, timeout=15, message="the relay to give up on the stuck call")
        assert servicer.calls["SendInvite"] >= 1
        REPORT.append(f"deadlines: the scheduling relay gave up on a stuck notifications after {time.monotonic() - started:.1f} s "
                      "and rescheduled the message")
    finally:
        engine.dispose()


def test_a_stuck_smtp_server_costs_a_delivery_attempt_not_the_sender(tmp_path: Path, sqlite_templates: dict[str, Path]) -> None:
    """An SMTP server that accepts the connection and never speaks: the send
    times out (SMTP_TIMEOUT_SECONDS), the delivery stays pending for a retry."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    env = base_env(tmp_path / "data", sqlite_urls(tmp_path, sqlite_templates), extra={
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_TIMEOUT_SECONDS": "1", "NOTIFICATIONS_LEASE_SECONDS": "3",
        "MAIL_FROM": "s@interviews.example.com"})
    fleet = InProcessFleet(env, services=["notifications"]).start()
    try:
        stub = notifications_pb2_grpc.NotificationsServiceStub(fleet.channels["notifications"])
        md = metadata("service", "services/scheduling")
        delivery = stub.SendMessage(npb.SendMessageRequest(
            idempotency_key="smtp-stuck", template=npb.MESSAGE_TEMPLATE_TICKET_DECIDED,  # due at once
            recipient=npb.Recipient(email="r@example.com", time_zone="UTC"), parameters={"ticket": "tickets/t1", "decision": "approved"}),
            metadata=md, timeout=10)
        started = time.monotonic()
        retried = wait_until(lambda: (d := stub.GetDelivery(npb.GetDeliveryRequest(name=delivery.name), metadata=md, timeout=5))
                             .attempts >= 1 and d.last_error and d, timeout=15, message="the SMTP attempt to time out")
        assert retried.state == npb.DELIVERY_STATE_PENDING
        # The service still answers while its sender waits on SMTP.
        assert stub.ListDeliveries(npb.ListDeliveriesRequest(), metadata=md, timeout=2).deliveries
        REPORT.append(f"deadlines: a silent SMTP server cost one attempt ({time.monotonic() - started:.1f} s, "
                      f"SMTP_TIMEOUT_SECONDS=1): {retried.last_error[:60]!r}")
    finally:
        fleet.stop()
        listener.close()


# ---------------------------------------------------------------- rate limits


@pytest.fixture
def limited_fleet(tmp_path: Path, sqlite_templates: dict[str, Path]) -> Iterator[InProcessFleet]:
    env = base_env(tmp_path / "data", sqlite_urls(tmp_path, sqlite_templates), extra={
        "INTERVIEWS_RATE_LIMIT_PER_SECOND": "5", "INTERVIEWS_RATE_LIMIT_BURST": "10",
        "INTERVIEWS_SERVICE_RATE_LIMIT_PER_SECOND": "5", "MAIL_FROM": "s@interviews.example.com"})
    fleet = InProcessFleet(env).start()
    yield fleet
    fleet.stop()


@pytest.mark.parametrize("service", ["scheduling", "accommodations", "notifications"])
def test_one_caller_cannot_exhaust_a_service(service: str, limited_fleet: InProcessFleet) -> None:
    """A caller firing 60 calls at once (burst 10, 5/s) is throttled with a
    retry hint; another caller is served meanwhile."""
    caller = Caller(limited_fleet.channels, Pools())
    rpc = next(r for r in _implemented(service) if r.name.startswith("List"))
    greedy = metadata(*{"scheduling": ("recruiter", "greedy@example.com"), "accommodations": ("coordinator", "greedy@example.com"),
                        "notifications": ("service", "services/scheduling")}[service])
    polite = metadata(*{"scheduling": ("recruiter", "polite@example.com"), "accommodations": ("coordinator", "polite@example.com"),
                        "notifications": ("service", "services/accommodations")}[service])
    request = rpc.request_class()
    if rpc.name == "ListRooms":
        request.parent = "offices/-"  # type: ignore[attr-defined]
    with futures.ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda _: caller.call(rpc, request, greedy), range(60)))
    codes = Counter(o.code.name for o in outcomes)
    limited = [o for o in outcomes if o.code is grpc.StatusCode.RESOURCE_EXHAUSTED]
    assert limited, f"60 calls in a burst were never limited: {codes}"
    assert codes["OK"] >= 5, codes
    assert all(o.error_info and o.error_info.reason == "RATE_LIMITED" and int(o.error_info.metadata["retry_after_ms"]) > 0 for o in limited)
    assert caller.call(rpc, request, polite).ok, "another caller was starved by the first"
    REPORT.append(f"rate limit ({service}.{rpc.name}, 5/s burst 10): 60 concurrent calls from one caller -> {dict(codes)}; "
                  "another caller served")
