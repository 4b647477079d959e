"""A unique marker planted in an accommodation's reason, notes, messages and
decision text is found nowhere in clear afterwards: not in any log line (at
DEBUG), any email (raw, or any decoded MIME part, or a header), any file of the
data folder (SQLite databases with their WAL, mail folders), nor any row of any
table of any schema on PostgreSQL. Only the encrypted columns hold it, as
ciphertext that the configured key opens.

The services run as real processes (`python -m services.<name>`), with an SMTP
server on loopback catching the mail, through the whole flow: ticket submitted,
reviewed with notes and messages, approved, activated; the candidate's loop
found, booked, rescheduled and cancelled, so invites and cancellations are
sent to the candidate and the interviewers. (No service exposes metrics, so
there are none to search.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, MultiFernet
from interviews.accommodations.v1 import accommodations_pb2 as apb
from interviews.common.v1 import common_pb2
from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.scheduling.v1 import scheduling_pb2 as spb
from sqlalchemy import text

from tests.hardening_support import invariants, scan
from tests.hardening_support.fleet import ProcessFleet, base_env, metadata
from tests.hardening_support.mail import MailSink
from tests.hardening_support.world import (
    Clients,
    World,
    as_candidate,
    as_coordinator,
    as_recruiter,
    build_directory,
    find_plans,
    submit_ticket,
)
from tests.helpers import wait_until
from tests.security.conftest import REPORT

TIMEOUT = 30


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[MailSink]:
    sink = MailSink(tmp_path / "received").start()
    yield sink
    sink.stop()


def _fleet(tmp_path: Path, mail: MailSink, database_urls: dict[str, str]) -> ProcessFleet:
    env = base_env(tmp_path / "data", database_urls, extra={
        **mail.env(),
        "MAIL_FROM": "scheduling@interviews.example.com",
        "ACCOMMODATIONS_COORDINATOR_EMAILS": "coordinator@example.com",
        "INTERVIEWS_LOG_LEVEL": "DEBUG",
    })
    return ProcessFleet(env, tmp_path / "logs")


def _flow(c: Clients, marker: str) -> tuple[World, apb.Ticket, int]:
    """Everything a candidate's accommodation goes through, marker in every confidential text."""
    world = World()
    build_directory(c, world, interviewers=3, candidates=1, prefix="cf")
    (candidate,) = world.candidates
    ticket = submit_ticket(c, world, candidate, f"Diagnosis details {marker} please keep private", request_id="cf-1")
    k = as_coordinator()
    ticket = c.accommodations.TriageTicket(apb.TriageTicketRequest(name=ticket.name, etag=ticket.etag), metadata=k, timeout=TIMEOUT)
    ticket = c.accommodations.StartReview(apb.StartReviewRequest(name=ticket.name, etag=ticket.etag), metadata=k, timeout=TIMEOUT)
    c.accommodations.AddMessage(apb.AddMessageRequest(parent=ticket.name, message=apb.Message(
        visibility=apb.MESSAGE_VISIBILITY_INTERNAL, body=f"Internal note {marker}")), metadata=k, timeout=TIMEOUT)
    ticket = c.accommodations.GetTicket(apb.GetTicketRequest(name=ticket.name), metadata=k, timeout=TIMEOUT)
    ticket = c.accommodations.RequestInformation(apb.RequestInformationRequest(
        name=ticket.name, etag=ticket.etag, question=f"Question about {marker}?"), metadata=k, timeout=TIMEOUT)
    c.accommodations.AddMessage(apb.AddMessageRequest(parent=ticket.name, message=apb.Message(
        visibility=apb.MESSAGE_VISIBILITY_CANDIDATE_VISIBLE, body=f"My answer {marker}")), metadata=as_candidate(candidate), timeout=TIMEOUT)
    ticket = c.accommodations.GetTicket(apb.GetTicketRequest(name=ticket.name), metadata=k, timeout=TIMEOUT)
    ticket = c.accommodations.DecideTicket(apb.DecideTicketRequest(name=ticket.name, etag=ticket.etag, decision=apb.Decision(
        outcome=apb.DECISION_OUTCOME_APPROVED, candidate_message=f"Approved given {marker}",
        constraints=common_pb2.SchedulingConstraints(candidate=candidate, duration_multiplier=1.25, extra_break_minutes=10,
                                                     interviewer_notes=["Questions shared in writing in advance"]))),
        metadata=k, timeout=TIMEOUT)
    ticket = c.accommodations.ActivateTicket(apb.ActivateTicketRequest(name=ticket.name, etag=ticket.etag), metadata=k, timeout=TIMEOUT)
    # The rightful readers get the text back through the API (the marker was planted).
    assert marker in c.accommodations.GetTicket(apb.GetTicketRequest(name=ticket.name), metadata=k, timeout=TIMEOUT).reason
    export = c.accommodations.ExportCandidateData(apb.ExportCandidateDataRequest(candidate=candidate),
                                                  metadata=as_candidate(candidate), timeout=TIMEOUT)
    assert marker.encode() in export.json_export
    # The candidate's loop: booked, moved, cancelled; invites go to everyone.
    found = wait_until(lambda: find_plans(c, world, candidate, days=3).plans, timeout=TIMEOUT, message="plans")
    assert found[0].sessions[0].adjustments, "approved constraints did not reach the search"
    r = as_recruiter()
    loop = c.scheduling.BookLoop(spb.BookLoopRequest(plan=found[0], request_id="cf-book"), metadata=r, timeout=TIMEOUT)
    moved = find_plans(c, world, candidate, day_offset=1, days=3, reschedule=loop.name).plans
    if moved:
        loop = c.scheduling.RescheduleLoop(spb.RescheduleLoopRequest(name=loop.name, plan=moved[0], etag=loop.etag,
                                                                     request_id="cf-move"), metadata=r, timeout=TIMEOUT)
    c.scheduling.CancelLoop(spb.CancelLoopRequest(name=loop.name, reason="position filled", etag=loop.etag, request_id="cf-cancel"),
                            metadata=r, timeout=TIMEOUT)
    attendees = 1 + len({i for s in loop.sessions for i in s.session.interviewers})
    return world, ticket, attendees


def _settled(c: Clients, fleet: ProcessFleet, mail: MailSink, minimum_mails: int) -> bool:
    for service in ("scheduling", "accommodations"):
        engine = invariants.engine_for(fleet.env[f"{service.upper()}_DATABASE_URL"], service)
        try:
            with engine.connect() as conn:
                pending = conn.execute(text(
                    "SELECT COUNT(*) FROM outbox_messages WHERE delivered_time IS NULL AND failed_time IS NULL")).scalar_one()
        finally:
            engine.dispose()
        if pending:
            return False
    deliveries = c.notifications.ListDeliveries(npb.ListDeliveriesRequest(page_size=1000, state=npb.DELIVERY_STATE_PENDING),
                                                metadata=metadata("admin"), timeout=TIMEOUT).deliveries
    return not deliveries and len(mail.messages()) >= minimum_mails


def _sweep(tmp_path: Path, mail: MailSink, fleet: ProcessFleet, marker: str, postgres_url: str | None) -> tuple[scan.Findings, int]:
    findings = scan.Findings()
    for service, log in fleet.logs().items():
        for number, line in enumerate(log.splitlines()):
            scan.scan_bytes(line, marker, f"{service} log line {number + 1}", findings)
        findings.count("log line", len(log.splitlines()))
    for index, received in enumerate(mail.messages()):
        scan.scan_mail(received.raw, marker, f"email {index + 1} to {','.join(received.rcpt_tos)}", findings)
        findings.count("email")
    scan.scan_tree(tmp_path / "data", marker, findings, kind="data file")
    scan.scan_tree(tmp_path / "received", marker, findings, kind=".eml file")
    # Rows whose encrypted columns hold the marker (opened with the key): the only place it may be.
    keys = MultiFernet([Fernet(k) for k in fleet.env["ACCOMMODATIONS_ENCRYPTION_KEYS"].split(",")])
    engine = invariants.engine_for(fleet.env["ACCOMMODATIONS_DATABASE_URL"], "accommodations")
    ciphertexts = 0
    try:
        if postgres_url:
            scan.scan_postgres(engine, marker, findings)
        with engine.connect() as conn:
            for table, columns in invariants.ENCRYPTED_COLUMNS.items():
                for column in columns:
                    for (value,) in conn.execute(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")):
                        if marker.encode() in keys.decrypt(bytes(value)):
                            ciphertexts += 1
    finally:
        engine.dispose()
    return findings, ciphertexts


def _run(tmp_path: Path, mail: MailSink, database_urls: dict[str, str], backend: str) -> None:
    marker = scan.new_marker()
    fleet = _fleet(tmp_path, mail, database_urls)
    if not database_urls:
        for service in ("scheduling", "accommodations", "notifications"):
            fleet.env[f"{service.upper()}_DATABASE_URL"] = f"sqlite:///{tmp_path / 'data' / f'{service}.sqlite3'}"
    fleet.start()
    try:
        c = Clients.over(fleet.channels)
        world, _ticket, attendees = _flow(c, marker)
        # Each attendee gets an invite, maybe an update, and a cancellation.
        wait_until(lambda: _settled(c, fleet, mail, 2 * attendees), timeout=60, message="outboxes and deliveries to settle")
    finally:
        fleet.stop()
    findings, ciphertexts = _sweep(tmp_path, mail, fleet, marker, database_urls.get("accommodations"))
    scanned = ", ".join(f"{n} {kind}s" for kind, n in sorted(findings.scanned.items()))
    REPORT.append(f"confidentiality ({backend}): marker searched in {scanned}; found in clear: {len(findings.places)}; "
                  f"encrypted values holding it: {ciphertexts}")
    # The sweep looked where it should: mail went out, logs were written, databases were read.
    assert findings.scanned.get("email", 0) >= 2 * attendees
    assert findings.scanned.get("log line", 0) > 50
    if backend == "sqlite":
        assert findings.scanned.get("data file", 0) >= 3  # one database per service
    else:
        assert findings.scanned.get("postgres row", 0) > 0
    assert any(world.candidate_emails[world.candidates[0]] in ",".join(m.rcpt_tos) for m in mail.messages())
    # Reason, internal note, question, reply and decision text, each encrypted.
    assert ciphertexts >= 4, f"only {ciphertexts} encrypted values hold the marker: was it planted?"
    leaks = "\n".join(f"  {place}: {sorted(forms)}" for place, forms in sorted(findings.places.items()))
    assert not findings.places, f"the confidential marker {marker} leaked in clear to:\n{leaks}"


def test_marker_is_nowhere_in_clear_on_sqlite(tmp_path: Path, mail: MailSink) -> None:
    _run(tmp_path, mail, {}, "sqlite")


@pytest.mark.postgres
def test_marker_is_nowhere_in_clear_on_postgresql(tmp_path: Path, mail: MailSink, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("postgres_database")
    _run(tmp_path, mail, {s: url for s in ("scheduling", "accommodations", "notifications")}, "postgresql")


