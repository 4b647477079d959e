"""Fault injection on PostgreSQL with the services as real processes.

1. A driver books, reschedules and cancels loops (CHAOS_OPERATIONS of them)
   while a killer SIGKILLs the notifications service or the scheduling service
   (whose outbox relay sends the invites) at random moments and restarts it.
   The driver retries a call cut by a kill with the same request_id, as a
   client would. Afterwards, with every outbox drained, each attendee's
   mailbox must match the final state of every loop: for each session the
   latest message to each attendee is the REQUEST at the session's current
   SEQUENCE (or the CANCEL, for cancelled loops and removed interviewers);
   none lost, no invite for a loop that does not exist, none sent twice under
   two Message-IDs. The same Message-ID sent again after a kill between the
   SMTP server's 250 and the sender's commit is the documented SMTP window
   (services/notifications/sender.py): counted, and bounded by the kills.
2. PostgreSQL backends are terminated from a side connection while bookings
   run: no loop is left partial, no reservation orphaned, no double booking.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import grpc
import icalendar
import pytest
from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.scheduling.v1 import scheduling_pb2 as spb
from sqlalchemy import create_engine, text

from tests.chaos.conftest import CHAOS_OPERATIONS, DEFAULT_OPERATIONS, REPORT
from tests.hardening_support import invariants
from tests.hardening_support.fleet import ProcessFleet, base_env, metadata, wait_serving
from tests.hardening_support.mail import MailSink
from tests.hardening_support.world import (
    Clients,
    World,
    as_recruiter,
    build_directory,
    time_range,
)
from tests.helpers import wait_until

# The suite-wide 300 s timeout is for ordinary tests; a chaos run scales with its length.
pytestmark = [pytest.mark.chaos, pytest.mark.postgres, pytest.mark.timeout(600 + 3 * CHAOS_OPERATIONS)]
# Without kills the run only separates bugs that need no crash: a few hundred operations do.
BASELINE_OPERATIONS = min(CHAOS_OPERATIONS, 300)

CALL_TIMEOUT = 20
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
REFUSED = {grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.NOT_FOUND}


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailSink]:
    sink = MailSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def fleet(tmp_path: Path, mail: MailSink, request: pytest.FixtureRequest) -> Iterator[ProcessFleet]:
    url = request.getfixturevalue("postgres_database")
    env = base_env(tmp_path / "data", {s: url for s in ("scheduling", "accommodations", "notifications")}, extra={
        **mail.env(),
        "MAIL_FROM": "scheduling@interviews.example.com",
        # Restarted processes take over what a killed one had claimed: short leases.
        "NOTIFICATIONS_LEASE_SECONDS": "25",
        "SMTP_TIMEOUT_SECONDS": "5",
        "NOTIFICATIONS_RETRY_BASE_SECONDS": "1",
        "NOTIFICATIONS_RETRY_CAP_SECONDS": "2",
    })
    running = ProcessFleet(env, tmp_path / "logs").start()
    yield running
    running.stop()


# ---------------------------------------------------------------- driver


@dataclass
class Stats:
    operations: Counter[str] = field(default_factory=Counter)
    retries: int = 0


class Driver:
    def __init__(self, fleet: ProcessFleet, world: World, rng: random.Random) -> None:
        self.fleet = fleet
        self.c = Clients.over(fleet.channels)
        self.world = world
        self.rng = rng
        self.stats = Stats()
        self.booked: list[str] = []
        self.days = [d for d in range(84) if (world.week + timedelta(days=d)).weekday() < 5]

    def call(self, method: Callable[..., Any], request: Any) -> Any:
        """Calls until an answer that is not a cut connection; the same request (and request_id) every time."""
        deadline = time.monotonic() + 180
        while True:
            try:
                return method(request, metadata=as_recruiter(), timeout=CALL_TIMEOUT)
            except grpc.RpcError as error:
                if error.code() not in RETRYABLE or time.monotonic() > deadline:  # type: ignore[attr-defined]
                    raise
                self.stats.retries += 1
                wait_serving(self.fleet.address("scheduling"), timeout=120)

    def _plans(self, candidate: str, reschedule: str = "") -> list[spb.LoopPlan]:
        start = self.world.week + timedelta(days=self.rng.choice(self.days))
        response = self.call(self.c.scheduling.FindLoopPlans, spb.FindLoopPlansRequest(
            candidate=candidate, loop_template=self.world.templates[0], location_mode=spb.LOCATION_MODE_REMOTE,
            window=time_range(start, start + timedelta(days=1)), max_plans=3, reschedule_loop=reschedule))
        return list(response.plans)

    def step(self, index: int) -> None:
        roll = self.rng.random()
        try:
            if roll < 0.5 or not self.booked:
                plans = self._plans(self.rng.choice(self.world.candidates))
                if not plans:
                    self.stats.operations["no plan"] += 1
                    return
                loop = self.call(self.c.scheduling.BookLoop, spb.BookLoopRequest(
                    plan=self.rng.choice(plans), request_id=f"chaos-book-{index}"))
                self.booked.append(loop.name)
                self.stats.operations["booked"] += 1
            elif roll < 0.8:
                name = self.rng.choice(self.booked)
                loop = self.call(self.c.scheduling.GetLoop, spb.GetLoopRequest(name=name))
                plans = self._plans(loop.candidate, reschedule=name)
                if not plans:
                    self.stats.operations["no plan"] += 1
                    return
                self.call(self.c.scheduling.RescheduleLoop, spb.RescheduleLoopRequest(
                    name=name, plan=self.rng.choice(plans), etag=loop.etag, request_id=f"chaos-move-{index}"))
                self.stats.operations["rescheduled"] += 1
            else:
                name = self.booked.pop(self.rng.randrange(len(self.booked)))
                loop = self.call(self.c.scheduling.GetLoop, spb.GetLoopRequest(name=name))
                self.call(self.c.scheduling.CancelLoop, spb.CancelLoopRequest(
                    name=name, reason="chaos", etag=loop.etag, request_id=f"chaos-cancel-{index}"))
                self.stats.operations["cancelled"] += 1
        except grpc.RpcError as error:
            if error.code() not in REFUSED:  # type: ignore[attr-defined]
                raise
            self.stats.operations[f"refused {error.code().name}"] += 1  # type: ignore[attr-defined]


class Killer(threading.Thread):
    """SIGKILLs notifications or scheduling at random moments, restarting each at once."""

    def __init__(self, fleet: ProcessFleet, rng: random.Random, interval: tuple[float, float]) -> None:
        super().__init__(name="chaos-killer", daemon=True)
        self.fleet = fleet
        self.rng = rng
        self.interval = interval
        self.stopped = threading.Event()
        self.error: BaseException | None = None
        self.downtime = 0.0

    def run(self) -> None:
        try:
            # Event.wait: a random pause that ends early when the run is over.
            while not self.stopped.wait(self.rng.uniform(*self.interval)):
                target = self.rng.choice(("notifications", "scheduling"))
                self.fleet.kill(target)
                started = time.monotonic()
                self.fleet.restart(target)
                self.downtime += time.monotonic() - started
        except BaseException as error:  # noqa: BLE001 - whatever stops the killer is reported by the test
            self.error = error


# ---------------------------------------------------------------- mailbox


@dataclass(frozen=True)
class Received:
    uid: str
    recipient: str
    method: str
    sequence: int
    start: Any
    message_id: str


def read_mailbox(mail: MailSink) -> list[Received]:
    out = []
    for message in mail.messages():
        parsed = message.parsed()
        calendars = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
        if not calendars:
            continue
        calendar = icalendar.Calendar.from_ical(calendars[0].get_payload(decode=True))
        (event,) = calendar.walk("VEVENT")
        for recipient in message.rcpt_tos:
            out.append(Received(str(event["UID"]), recipient.lower(), str(calendar["METHOD"]), int(event.get("SEQUENCE", 0)),
                                event.decoded("DTSTART"), str(parsed["Message-ID"])))
    return out


def expected_mailbox(loops: list[spb.Loop], emails: dict[str, str]) -> dict[tuple[str, str], tuple[str, int, Any]]:
    """(uid, recipient) -> (method, sequence, start) that the latest message must have."""
    expected = {}
    for loop in loops:
        method = "REQUEST" if loop.state == spb.LOOP_STATE_BOOKED else "CANCEL"
        for session in loop.sessions:
            uid = f"{session.session_id}@interviews"
            start = session.session.time_range.start_time.ToDatetime().replace(tzinfo=None)
            for person in [loop.candidate, *session.session.interviewers]:
                expected[(uid, emails[person].lower())] = (method, session.sequence, start)
    return expected


@dataclass
class Verdict:
    expected: int
    delivered: int
    lost: list[str]
    stale: list[str]
    orphans: list[str]
    resent_same_id: int
    doubled: list[str]


def _utc_naive(value: Any) -> Any:
    return value.astimezone(UTC).replace(tzinfo=None) if getattr(value, "tzinfo", None) else value


def judge(received: list[Received], expected: dict[tuple[str, str], tuple[str, int, Any]]) -> Verdict:
    by_pair: dict[tuple[str, str], list[Received]] = defaultdict(list)
    for item in received:
        by_pair[(item.uid, item.recipient)].append(item)
    known_uids = {uid for uid, _ in expected}
    lost, stale, orphans = [], [], []
    delivered = 0
    for pair, (method, sequence, start) in expected.items():
        items = by_pair.get(pair, [])
        latest = max(items, key=lambda r: (r.sequence, r.method == "CANCEL"), default=None)
        if latest is None or (latest.method, latest.sequence) != (method, sequence) or (
            method == "REQUEST" and _utc_naive(latest.start) != start
        ):
            lost.append(f"{pair}: want {method} seq {sequence}, latest {latest and (latest.method, latest.sequence)}")
        else:
            delivered += 1
    for pair, items in by_pair.items():
        if pair[0] not in known_uids:
            orphans.append(f"{pair}: {[(r.method, r.sequence) for r in items]}")
        elif pair not in expected:
            latest = max(items, key=lambda r: (r.sequence, r.method == "CANCEL"))
            if latest.method != "CANCEL":
                stale.append(f"{pair}: removed attendee's latest is {latest.method} seq {latest.sequence}")
    copies: dict[tuple[str, str, str, int], list[str]] = defaultdict(list)
    for item in received:
        copies[(item.uid, item.recipient, item.method, item.sequence)].append(item.message_id)
    resent = sum(len(ids) - len(set(ids)) for ids in copies.values())
    doubled = [f"{key}: {len(set(ids))} Message-IDs" for key, ids in copies.items() if len(set(ids)) > 1]
    return Verdict(len(expected), delivered, lost, stale, orphans, resent, doubled)


def _pair(line: str) -> tuple[str, str]:
    uid, recipient = line.split("'")[1], line.split("'")[3]
    return uid, recipient


def _refused_recipients(fleet: ProcessFleet) -> set[tuple[str, str]]:
    """(uid, attendee) of every invite scheduling gave up on because notifications called it stale."""
    engine = invariants.engine_for(fleet.env["SCHEDULING_DATABASE_URL"], "scheduling")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT topic, payload FROM outbox_messages WHERE failed_time IS NOT NULL AND last_error LIKE '%already has SEQUENCE%'")).all()
    finally:
        engine.dispose()
    out = set()
    for topic, payload in rows:
        request = (npb.SendInviteRequest if topic.endswith("SendInvite") else npb.CancelInviteRequest).FromString(payload)
        out.update((request.invite.uid, a.email.lower()) for a in request.invite.attendees)
    return out


def _all_loops(c: Clients) -> list[spb.Loop]:
    loops, token = [], ""
    while True:
        page = c.scheduling.ListLoops(spb.ListLoopsRequest(page_size=1000, page_token=token), metadata=metadata("admin"),
                                      timeout=CALL_TIMEOUT)
        loops.extend(page.loops)
        token = page.next_page_token
        if not token:
            return loops


def _settled(fleet: ProcessFleet, c: Clients) -> bool:
    engine = invariants.engine_for(fleet.env["SCHEDULING_DATABASE_URL"], "scheduling")
    try:
        with engine.connect() as conn:
            pending = conn.execute(text(
                "SELECT COUNT(*) FROM outbox_messages WHERE delivered_time IS NULL AND failed_time IS NULL")).scalar_one()
    finally:
        engine.dispose()
    if pending:
        return False
    waiting = c.notifications.ListDeliveries(npb.ListDeliveriesRequest(state=npb.DELIVERY_STATE_PENDING, page_size=1),
                                             metadata=metadata("admin"), timeout=CALL_TIMEOUT).deliveries
    return not waiting


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("kills", [False, True], ids=["no-kills", "kills"])
def test_every_attendee_gets_exactly_the_invites_of_the_final_state(kills: bool, fleet: ProcessFleet, mail: MailSink) -> None:
    """Without kills first: a failure there is not about crashes at all."""
    if not kills and CHAOS_OPERATIONS <= DEFAULT_OPERATIONS:
        pytest.skip("the baseline without kills runs in `make chaos`; `make test` runs the version with kills")
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    c = Clients.over(fleet.channels)
    world = World()
    build_directory(c, world, interviewers=12, candidates=20, prefix="ch")
    emails = {**dict(zip(world.interviewers, world.interviewer_emails, strict=True)), **world.candidate_emails}
    driver = Driver(fleet, world, rng)
    killer = Killer(fleet, random.Random(seed + 1), interval=(0.2, 1.5))
    started = time.monotonic()
    if kills:
        killer.start()
    try:
        for index in range(CHAOS_OPERATIONS if kills else BASELINE_OPERATIONS):
            driver.step(index)
    finally:
        driven = time.monotonic() - started
        killer.stopped.set()
        if kills:
            killer.join(timeout=180)
    assert killer.error is None, f"the killer failed: {killer.error!r}"
    for name in ("scheduling", "notifications"):
        if not fleet.alive(name):
            fleet.restart(name)
    wait_until(lambda: _settled(fleet, c), timeout=300, interval=0.5, message="outbox and deliveries to drain")
    engine = invariants.engine_for(fleet.env["SCHEDULING_DATABASE_URL"], "scheduling")
    try:
        failed = invariants.failed_outbox(engine)
        problems = invariants.scheduling(engine)
    finally:
        engine.dispose()
    failed_deliveries = c.notifications.ListDeliveries(npb.ListDeliveriesRequest(state=npb.DELIVERY_STATE_FAILED, page_size=50),
                                                       metadata=metadata("admin"), timeout=CALL_TIMEOUT).deliveries
    verdict = judge(read_mailbox(mail), expected_mailbox(_all_loops(c), emails))
    ops = ", ".join(f"{k} {v}" for k, v in sorted(driver.stats.operations.items()))
    REPORT.append(
        f"{'with kills' if kills else 'without kills'}: {dict(fleet.kills)} while the driver ran {driven:.0f} s (seed {seed}); operations: {ops}; "
        f"calls retried after a kill: {driver.stats.retries}; "
        f"restarts took {killer.downtime:.0f} s in all")
    REPORT.append(
        f"invites expected {verdict.expected}, delivered {verdict.delivered}, lost {len(verdict.lost)}, "
        f"doubled (distinct Message-IDs) {len(verdict.doubled)}, resent with the same Message-ID {verdict.resent_same_id}, "
        f"for loops that do not exist {len(verdict.orphans)}, removed attendees not cancelled {len(verdict.stale)}; "
        f"emails received {len(mail.messages())}")
    if verdict.lost or verdict.stale:
        REPORT.extend(f"  mismatch: {line}" for line in (verdict.lost + verdict.stale)[:10])
    # An invite that reached notifications after a newer SEQUENCE of the same
    # session (a killed relay's claim expired after the restarted one sent the
    # newer) is refused as stale: harmless when every mailbox shows the final
    # state, which `verdict.lost` checks. Anything else given up on is a loss.
    superseded = [f for f in failed if "already has SEQUENCE" in f[1]]
    failed = [f for f in failed if f not in superseded]
    # Known bug (tests/chaos/test_invite_order.py): an invite delivered out of
    # order is refused for its whole UID, even when the newer message went to
    # other attendees; the refused attendees are left with a stale calendar.
    # Those mailboxes are counted apart; any other mismatch fails this test.
    refused = _refused_recipients(fleet)
    known_lost = [line for line in verdict.lost + verdict.stale if _pair(line) in refused]
    unexplained = [line for line in verdict.lost + verdict.stale if _pair(line) not in refused]
    REPORT.append(f"stale invites refused by notifications: {len(superseded)}; attendees left with a wrong calendar by those "
                  f"refusals (BUG, test_invite_order.py): {len(known_lost)}; other mismatches: {len(unexplained)}")
    assert not failed, f"scheduling gave up on {len(failed)} invite(s): {failed[:3]}"
    assert not failed_deliveries, f"notifications gave up on {len(failed_deliveries)} deliveries"
    assert not problems, "\n".join(problems[:20])
    assert not unexplained, f"{len(unexplained)} attendees lack the invite their final state needs:\n" + "\n".join(unexplained[:20])
    assert not verdict.orphans, "invites for sessions of no loop:\n" + "\n".join(verdict.orphans[:20])
    assert not verdict.doubled, "the same invite sent as different emails:\n" + "\n".join(verdict.doubled[:20])
    # A resend with the same Message-ID needs a kill inside the sender's
    # 250-to-commit window: at most one per sender thread per kill.
    assert verdict.resent_same_id <= 2 * fleet.kills.get("notifications", 0)
    assert driver.stats.operations["booked"] > 0


def test_terminated_database_connections_leave_no_partial_loop(fleet: ProcessFleet) -> None:
    c = Clients.over(fleet.channels)
    world = World()
    build_directory(c, world, interviewers=8, candidates=12, prefix="pg")
    url = fleet.env["SCHEDULING_DATABASE_URL"]
    side = create_engine(url, isolation_level="AUTOCOMMIT")
    stop = threading.Event()
    terminated = Counter[str]()

    def terminate() -> None:
        rng = random.Random(7)
        with side.connect() as conn:
            while not stop.wait(rng.uniform(0.05, 0.3)):
                rows = conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'")).all()
                terminated["backends"] += sum(1 for (ok,) in rows if ok)

    operations = max(20, CHAOS_OPERATIONS // 3)
    codes = Counter[str]()
    rng = random.Random(11)
    days = [d for d in range(60) if (world.week + timedelta(days=d)).weekday() < 5]
    killer = threading.Thread(target=terminate, daemon=True)
    killer.start()
    try:
        for index in range(operations):
            start = world.week + timedelta(days=rng.choice(days))
            try:
                found = c.scheduling.FindLoopPlans(spb.FindLoopPlansRequest(
                    candidate=rng.choice(world.candidates), loop_template=world.templates[0], location_mode=spb.LOCATION_MODE_REMOTE,
                    window=time_range(start, start + timedelta(days=1)), max_plans=2), metadata=as_recruiter(), timeout=CALL_TIMEOUT)
                if found.plans:
                    c.scheduling.BookLoop(spb.BookLoopRequest(plan=found.plans[0], request_id=f"pg-{index}"),
                                          metadata=as_recruiter(), timeout=CALL_TIMEOUT)
                codes["OK"] += 1
            except grpc.RpcError as error:
                codes[error.code().name] += 1  # type: ignore[attr-defined]
    finally:
        stop.set()
        killer.join(timeout=30)
        side.dispose()
    engine = invariants.engine_for(url, "scheduling")
    try:
        problems = invariants.scheduling(engine)
        with engine.connect() as conn:
            orphans = conn.execute(text(
                "SELECT COUNT(*) FROM reservations r WHERE r.owner LIKE 'loops/%' AND NOT EXISTS "
                "(SELECT 1 FROM loops l WHERE 'loops/' || l.id = r.owner)")).scalar_one()
            sessionless = conn.execute(text(
                "SELECT COUNT(*) FROM loops l WHERE (SELECT COUNT(*) FROM loop_sessions s WHERE s.loop_id = l.id) <> 2")).scalar_one()
    finally:
        engine.dispose()
    REPORT.append(f"database kills: {terminated['backends']} backends terminated during {operations} search+book calls; "
                  f"answers {dict(codes)}; partial loops {sessionless}, orphan reservations {orphans}")
    assert terminated["backends"] > 0, "no backend was terminated: the test did not test anything"
    assert not problems, "\n".join(problems[:20])
    assert orphans == 0 and sessionless == 0
    assert codes["INTERNAL"] == 0 and codes["UNKNOWN"] == 0, f"a cut database connection surfaced as {dict(codes)}"
