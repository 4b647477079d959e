"""Fixtures of the security suite: the three services in process with a world
built for the access matrix (one candidate's loop, holds, ticket; resources of
other people), and the figures the suite prints at the end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from interviews.accommodations.v1 import accommodations_pb2 as apb
from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as spb

from tests.hardening_support.fleet import InProcessFleet, base_env, sqlite_urls
from tests.hardening_support.harness import Caller, Tally
from tests.hardening_support.strategies import Pools
from tests.hardening_support.world import (
    Clients,
    World,
    approve_ticket,
    as_coordinator,
    as_recruiter,
    book_first,
    build_directory,
    find_plans,
    time_range,
)

TALLY = Tally()
REPORT: list[str] = []


@dataclass
class MatrixWorld:
    """Resources the matrix requests point at. `own` things belong to the
    candidate `candidate` (or interviewer `interviewer`); `other` to someone else."""

    world: World
    candidate: str = ""
    other_candidate: str = ""
    interviewer: str = ""
    interviewer_email: str = ""
    other_interviewer_email: str = ""
    loop: spb.Loop | None = None
    hold_to_confirm: str = ""
    hold_to_release: str = ""
    spare_plan: spb.LoopPlan | None = None
    hold_plan: spb.LoopPlan | None = None
    busy_block: str = ""
    ticket: apb.Ticket | None = None
    message: str = ""
    delivery: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def _create_hold(c: Clients, world: World, candidate: str, day: int, request_id: str) -> str:
    found = find_plans(c, world, candidate, day_offset=day, days=1)
    assert found.plans, f"no plan for {candidate} on day {day}: {list(found.no_plan_reasons)}"
    return c.scheduling.CreateHold(spb.CreateHoldRequest(plan=found.plans[0], request_id=request_id),
                                   metadata=as_recruiter(), timeout=30).name


def build_matrix_world(c: Clients) -> MatrixWorld:
    world = World()
    build_directory(c, world, interviewers=6, candidates=3, prefix="mx")
    m = MatrixWorld(world)
    m.candidate, m.other_candidate, spare = world.candidates
    m.interviewer, m.interviewer_email = world.interviewers[0], world.interviewer_emails[0]
    m.other_interviewer_email = world.interviewer_emails[1]
    m.loop = book_first(c, world, m.candidate, request_id="mx-loop")
    assert m.loop is not None
    m.hold_to_confirm = _create_hold(c, world, m.candidate, 1, "mx-hold-1")
    m.hold_to_release = _create_hold(c, world, m.candidate, 2, "mx-hold-2")
    # Plans for the spare candidate on other days, for BookLoop and CreateHold.
    m.spare_plan = find_plans(c, world, spare, day_offset=3, days=1).plans[0]
    m.hold_plan = find_plans(c, world, spare, day_offset=4, days=1).plans[0]
    block = c.scheduling.CreateBusyBlock(spb.CreateBusyBlockRequest(
        parent=m.interviewer, busy_block=spb.BusyBlock(
            time_range=time_range(world.week + timedelta(days=60), world.week + timedelta(days=60, hours=1)), kind=spb.BUSY_KIND_BUSY)),
        metadata=as_recruiter(), timeout=30)
    m.busy_block = block.name
    # The candidate's ticket, submitted by the recruiter on their behalf, with an internal note.
    ticket = c.accommodations.SubmitTicket(apb.SubmitTicketRequest(ticket=apb.Ticket(
        candidate=m.candidate, candidate_email=world.candidate_emails[m.candidate],
        requested_adjustments=[common_pb2.ADJUSTMENT_TYPE_EXTRA_TIME], reason="matrix reason", office="offices/los-gatos"),
        request_id="mx-ticket"), metadata=as_recruiter(), timeout=30)
    m.ticket = approve_ticket(c, world, ticket, note="matrix internal note")
    msgs = c.accommodations.ListMessages(apb.ListMessagesRequest(parent=ticket.name), metadata=as_coordinator(), timeout=30)
    m.message = msgs.messages[0].name if msgs.messages else ""
    return m


@pytest.fixture(scope="session")
def security_fleet(tmp_path_factory: pytest.TempPathFactory, sqlite_templates: dict[str, Path]) -> Iterator[InProcessFleet]:
    folder = tmp_path_factory.mktemp("security")
    env = base_env(folder / "data", sqlite_urls(folder, sqlite_templates), extra={
        "MAIL_FROM": "scheduling@interviews.example.com",
        "ACCOMMODATIONS_COORDINATOR_EMAILS": "coordinator@example.com",
    })
    fleet = InProcessFleet(env).start()
    yield fleet
    fleet.stop()


@pytest.fixture(scope="session")
def matrix(security_fleet: InProcessFleet) -> MatrixWorld:
    return build_matrix_world(Clients.over(security_fleet.channels))


@pytest.fixture(scope="session")
def security_caller(security_fleet: InProcessFleet) -> Caller:
    return Caller(security_fleet.channels, Pools(), tally=TALLY)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = TALLY.lines() + REPORT
    if not lines:
        return
    terminalreporter.section("security: calls and findings")
    for line in lines:
        terminalreporter.write_line(line)
