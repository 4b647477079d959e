"""What one service sends another is accepted by the other.

A message the receiver refuses with INVALID_ARGUMENT is failed for good by the
sender's outbox relay (retrying cannot help), so a mismatch between the two
sides silently loses every email of that kind. These tests drive the real
services with their default settings and require every outbox to drain with
nothing given up on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from interviews.accommodations.v1 import accommodations_pb2 as apb
from interviews.common.v1 import common_pb2

from tests.hardening_support import invariants
from tests.hardening_support.fleet import InProcessFleet, base_env, sqlite_urls
from tests.hardening_support.world import (
    Clients,
    World,
    as_candidate,
    as_coordinator,
    book_first,
    build_directory,
    submit_ticket,
)
from tests.helpers import wait_until


@pytest.fixture
def fleet(tmp_path: Path, sqlite_templates: dict[str, Path]) -> Iterator[InProcessFleet]:
    # Default settings apart from what a test run needs (ports, secret, databases).
    env = base_env(tmp_path / "data", sqlite_urls(tmp_path, sqlite_templates),
                   extra={"ACCOMMODATIONS_COORDINATOR_EMAILS": "coordinator@example.com"})
    running = InProcessFleet(env).start()
    yield running
    running.stop()


def _drained(engine) -> bool:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        from sqlalchemy import text

        pending = conn.execute(text(
            "SELECT COUNT(*) FROM outbox_messages WHERE delivered_time IS NULL AND failed_time IS NULL")).scalar_one()
    return pending == 0


def _wait_drained(fleet: InProcessFleet, service: str) -> list[tuple[str, str]]:
    engine = invariants.engine_for(fleet.env[f"{service.upper()}_DATABASE_URL"], service)
    try:
        wait_until(lambda: _drained(engine), timeout=30, message=f"{service} outbox to drain")
        return invariants.failed_outbox(engine)
    finally:
        engine.dispose()


def test_ticket_lifecycle_emails_all_reach_notifications(fleet: InProcessFleet) -> None:
    c = Clients.over(fleet.channels)
    world = World()
    build_directory(c, world, interviewers=1, candidates=1, prefix="lc")
    (candidate,) = world.candidates
    ticket = submit_ticket(c, world, candidate, "lifecycle reason", request_id="lc-1")
    md = as_coordinator()
    ticket = c.accommodations.TriageTicket(apb.TriageTicketRequest(name=ticket.name, etag=ticket.etag), metadata=md, timeout=10)
    ticket = c.accommodations.StartReview(apb.StartReviewRequest(name=ticket.name, etag=ticket.etag), metadata=md, timeout=10)
    ticket = c.accommodations.RequestInformation(apb.RequestInformationRequest(name=ticket.name, etag=ticket.etag, question="Which days?"),
                                                 metadata=md, timeout=10)
    c.accommodations.AddMessage(apb.AddMessageRequest(parent=ticket.name, message=apb.Message(
        visibility=apb.MESSAGE_VISIBILITY_CANDIDATE_VISIBLE, body="Tuesdays")), metadata=as_candidate(candidate), timeout=10)
    ticket = c.accommodations.GetTicket(apb.GetTicketRequest(name=ticket.name), metadata=md, timeout=10)
    c.accommodations.DecideTicket(apb.DecideTicketRequest(name=ticket.name, etag=ticket.etag, decision=apb.Decision(
        outcome=apb.DECISION_OUTCOME_APPROVED, candidate_message="Approved.",
        constraints=common_pb2.SchedulingConstraints(candidate=candidate, extra_break_minutes=10))), metadata=md, timeout=10)
    failed = _wait_drained(fleet, "accommodations")
    assert not failed, f"accommodations gave up on {len(failed)} message(s): {failed}"


def test_invites_with_default_settings_reach_notifications(fleet: InProcessFleet) -> None:
    c = Clients.over(fleet.channels)
    world = World()
    build_directory(c, world, interviewers=2, candidates=1, prefix="inv")
    loop = book_first(c, world, world.candidates[0], request_id="inv-1")
    assert loop is not None, "no plan found for a free candidate and free interviewers"
    failed = _wait_drained(fleet, "scheduling")
    assert not failed, f"scheduling gave up on {len(failed)} invite(s): {failed[:2]}"
