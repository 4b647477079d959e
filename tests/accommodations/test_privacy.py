"""Retention, legal hold, CCPA export and deletion, audit trail, and key rotation."""

from __future__ import annotations


import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from services.accommodations.crypto import TextCipher
from services.accommodations.domain.access import Role, Visibility
from services.accommodations.models import AuditEventRow, MessageRow, TicketRow
from services.accommodations.rotate_keys import rotate_all
from services.accommodations.tickets import NewDecision
from services.accommodations.domain.constraints import Constraints
from services.accommodations.views import Caller
from services.core.db import Database
from tests.accommodations.desk_helpers import COORDINATOR, Clock, make_desk, submit

CANDIDATE = "candidates/c-1"
AS_CANDIDATE = Caller(Role.CANDIDATE, CANDIDATE)


@pytest.fixture
def db(database_urls):
    database = Database(database_urls["accommodations"], "accommodations")
    yield database
    database.dispose()


def decide_and_close(db, desk, ticket, clock, hired=None):
    for step in (desk.triage, desk.start_review):
        db.run(lambda s, step=step: step(s, COORDINATOR, ticket, ""))
    db.run(lambda s: desk.decide(s, COORDINATOR, ticket, NewDecision(3, None, "", "Undue hardship", ("Remote",)), ""))
    db.run(lambda s: desk.close(s, COORDINATOR, ticket, hired, ""))


def names(rows):
    return sorted(r.id for r in rows)


def test_purge_after_four_years_unless_on_hold(db):
    clock = Clock()
    desk = make_desk(clock)
    kept, held, fresh = submit(db, desk), submit(db, desk), submit(db, desk)
    for t in (kept, held):
        decide_and_close(db, desk, t, clock, hired=clock.now)
    db.run(lambda s: desk.set_legal_hold(s, COORDINATOR, held, True, "pending lawsuit"))
    clock.advance(days=365 * 4 - 2)
    assert db.run(lambda s: desk.purge_expired(s, COORDINATOR)) == 0
    clock.advance(days=3)
    assert db.run(lambda s: desk.purge_expired(s, COORDINATOR)) == 1
    with db.reader() as s:
        assert names(s.scalars(select(TicketRow))) == sorted([held, fresh])
        purge = s.scalars(select(AuditEventRow).where(AuditEventRow.action == "ticket.purge")).all()
    assert [e.ticket for e in purge] == [f"tickets/{kept}"]


def test_deletion_request_keeps_decided_records_and_held_tickets(db):
    clock = Clock()
    desk = make_desk(clock)
    undecided = submit(db, desk)
    decided = submit(db, desk)
    decide_and_close(db, desk, decided, clock, hired=clock.now)
    db.run(lambda s: desk.add_message(s, COORDINATOR, undecided, Visibility.INTERNAL, "note"))
    other = submit(db, desk, candidate="candidates/c-2")

    deleted, retained = db.run(lambda s: desk.delete_candidate(s, AS_CANDIDATE, CANDIDATE))
    assert deleted == 1 and retained == [f"tickets/{decided}"]
    with db.reader() as s:
        assert names(s.scalars(select(TicketRow))) == sorted([decided, other])
        assert s.scalars(select(MessageRow).where(MessageRow.ticket_id == undecided)).all() == []
    clock.advance(days=365 * 4 + 1)
    deleted, retained = db.run(lambda s: desk.delete_candidate(s, AS_CANDIDATE, CANDIDATE))
    assert (deleted, retained) == (1, [])


def test_export_has_the_candidate_view_and_only_their_messages(db):
    clock = Clock()
    desk = make_desk(clock)
    ticket = submit(db, desk, reason="my own words")
    db.run(lambda s: desk.add_message(s, COORDINATOR, ticket, Visibility.INTERNAL, "internal"))
    db.run(lambda s: desk.add_message(s, COORDINATOR, ticket, Visibility.CANDIDATE_VISIBLE, "to you"))
    tickets, messages = db.run(lambda s: desk.export(s, AS_CANDIDATE, CANDIDATE))
    assert [t.reason for t in tickets] == ["my own words"]
    assert "assignee" not in tickets[0].fields
    assert [m.body for m in messages] == ["to you"]


def test_reads_of_confidential_fields_are_audited(db):
    clock = Clock()
    desk = make_desk(clock)
    ticket = submit(db, desk)
    auditor = Caller(Role.AUDITOR, "audit@example.com")
    db.run(lambda s: desk.get(s, auditor, ticket))  # metadata only: nothing confidential read
    db.run(lambda s: desk.get(s, COORDINATOR, ticket))
    db.run(lambda s: desk.get(s, AS_CANDIDATE, ticket))
    with db.reader() as s:
        events = s.scalars(select(AuditEventRow).order_by(AuditEventRow.seq)).all()
    assert [(e.action, e.actor, e.fields) for e in events] == [
        ("ticket.submit", "rec@example.com", ["reason", "requested_adjustments"]),
        ("ticket.read", "coord@example.com", ["reason"]),
        ("ticket.read", CANDIDATE, ["reason"]),
    ]
    with db.reader() as s:
        page = desk.list_audit(s, auditor, f"tickets/{ticket}", 2, "")
        rest = desk.list_audit(s, auditor, f"tickets/{ticket}", 2, page.next_page_token)
    assert len(page.items) == 2 and len(rest.items) == 1 and not rest.next_page_token


def test_key_rotation_re_encrypts_everything(db):
    clock = Clock()
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old_desk = make_desk(clock, cipher=TextCipher([old_key]))
    ticket = submit(db, old_desk, reason="secret words")
    db.run(lambda s: old_desk.add_message(s, COORDINATOR, ticket, Visibility.INTERNAL, "secret note"))
    decide_and_close(db, old_desk, ticket, clock)

    rotating = TextCipher([new_key, old_key])
    assert rotate_all(db, rotating) == 3  # reason, decision texts, note
    assert rotate_all(db, rotating) == 0
    new_only = make_desk(clock, cipher=TextCipher([new_key]))
    assert db.run(lambda s: new_only.get(s, COORDINATOR, ticket)).reason == "secret words"
    with db.reader() as s:
        (message,) = s.scalars(select(MessageRow)).all()
        assert new_only.message_view(message).body == "secret note"


def test_decision_notes_may_not_quote_the_reason(db):
    from services.core.errors import InvalidArgument

    clock = Clock()
    desk = make_desk(clock)
    ticket = submit(db, desk, reason="I was diagnosed with something rare last year")
    for step in (desk.triage, desk.start_review):
        db.run(lambda s, step=step: step(s, COORDINATOR, ticket, ""))
    leaky = NewDecision(1, Constraints(interviewer_notes=("Diagnosed with something rare",)), "", "", ())
    with pytest.raises(InvalidArgument) as err:
        db.run(lambda s: desk.decide(s, COORDINATOR, ticket, leaky, ""))
    assert err.value.violations[0][0] == "decision.constraints.interviewer_notes"
