"""A unique marker planted in a reason (and in a note, a message and a decision's texts)
appears in no log line, no email or call that leaves the service, no other service's
database, and nowhere in plain text in the accommodations database."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from interviews.accommodations.v1 import accommodations_pb2 as pb
from interviews.common.v1 import common_pb2
from services.accommodations.models import OutboxMessage
from services.core.db import Database
from services.core.logs import JsonFormatter
from tests.helpers import wait_until

CANDIDATE = "candidates/c-marker"


def _database_texts(url: str, schema: str) -> list[str]:
    """Every row of every table of one service's database, as text."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url)
        qualified = lambda t: f'"{t}"'
        tables = inspect(engine).get_table_names()
    else:
        engine = create_engine(parsed.set(drivername="postgresql+psycopg"))
        qualified = lambda t: f'"{schema}"."{t}"'
        tables = inspect(engine).get_table_names(schema=schema)
    out = []
    with engine.connect() as conn:
        for table in tables:
            if parsed.get_backend_name() == "sqlite":
                for row in conn.execute(text(f"SELECT * FROM {qualified(table)}")):
                    out.extend(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row)
            else:
                out.extend(r[0] for r in conn.execute(text(f"SELECT t::text FROM {qualified(table)} t")))
    engine.dispose()
    return out


def _sqlite_files(url: str) -> bytes:
    path = Path(make_url(url).database)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def test_marker_never_leaves_in_plain_text(acc, token, caplog, database_urls):
    caplog.set_level(logging.DEBUG)
    marker = f"MARKER-{uuid.uuid4().hex}"
    coord = token("coordinator", "coord-one@example.com")
    cand = token("candidate", CANDIDATE)
    stub = acc.stub

    ticket = stub.SubmitTicket(
        pb.SubmitTicketRequest(
            ticket=pb.Ticket(
                candidate=CANDIDATE, candidate_email="m@example.com", reason=f"My condition {marker} needs breaks.",
                requested_adjustments=[common_pb2.ADJUSTMENT_TYPE_BREAKS],
            ),
            request_id=f"r-{uuid.uuid4().hex}",
        ),
        metadata=cand,
    )
    name = ticket.name
    stub.TriageTicket(pb.TriageTicketRequest(name=name), metadata=coord)
    stub.StartReview(pb.StartReviewRequest(name=name), metadata=coord)
    stub.RequestInformation(pb.RequestInformationRequest(name=name, question=f"About {marker}?"), metadata=coord)
    stub.AddMessage(
        pb.AddMessageRequest(
            parent=name,
            message=pb.Message(visibility=pb.MESSAGE_VISIBILITY_CANDIDATE_VISIBLE, body=f"Yes, {marker}."),
            request_id="m-1",
        ),
        metadata=cand,
    )
    stub.AddMessage(
        pb.AddMessageRequest(parent=name, message=pb.Message(visibility=pb.MESSAGE_VISIBILITY_INTERNAL, body=f"note {marker}")),
        metadata=coord,
    )
    stub.DecideTicket(
        pb.DecideTicketRequest(
            name=name,
            decision=pb.Decision(
                outcome=pb.DECISION_OUTCOME_APPROVED,
                constraints=common_pb2.SchedulingConstraints(extra_break_minutes=20, interviewer_notes=["Allow breaks"]),
                candidate_message=f"Approved given {marker}.",
            ),
        ),
        metadata=coord,
    )
    stub.ActivateTicket(pb.ActivateTicketRequest(name=name), metadata=coord)
    stub.SetLegalHold(pb.SetLegalHoldRequest(name=name, legal_hold=False, justification="review"), metadata=coord)

    # Positive control: the people entitled to it read it back intact.
    assert marker in stub.GetTicket(pb.GetTicketRequest(name=name), metadata=coord).reason
    assert marker in stub.GetTicket(pb.GetTicketRequest(name=name), metadata=cand).reason
    export = stub.ExportCandidateData(pb.ExportCandidateDataRequest(candidate=CANDIDATE), metadata=cand)
    assert marker.encode() in export.json_export
    assert all(f"note {marker}" != m.body for m in export.messages)  # internal notes are not exported

    # Nothing readable by scheduling carries it.
    constraints = stub.GetSchedulingConstraints(
        pb.GetSchedulingConstraintsRequest(candidate=CANDIDATE), metadata=token("service", "services/scheduling")
    )
    assert marker not in str(constraints)

    # What left the service: emails and revalidation calls.
    recorder = acc.recorder
    wait_until(lambda: len(recorder.revalidations) == 1 and len(recorder.emails) >= 5, message="outbox delivered")
    for sent in [*recorder.emails, *recorder.revalidations]:
        assert marker.encode() not in sent.SerializeToString()
        assert marker not in str(sent)

    # The outbox holds only those payloads.
    db = Database(database_urls["accommodations"], "accommodations")
    with db.reader() as session:
        payloads = [row.payload for row in session.query(OutboxMessage)]
    db.dispose()
    assert payloads and all(marker.encode() not in p for p in payloads)

    # Logs: every record, formatted as production formats it.
    formatter = JsonFormatter("test")
    lines = [formatter.format(record) for record in caplog.records]
    assert lines, "expected the server to log its RPCs"
    assert not [line for line in lines if marker in line]

    # Databases: ours holds ciphertext only; the others never saw it.
    for service, url in database_urls.items():
        rows = _database_texts(url, service)
        if service == "accommodations":  # the scan really read the ticket rows
            assert any(CANDIDATE in r for r in rows)
        assert not [r for r in rows if marker in r or marker.encode().hex() in r], service
        if make_url(url).get_backend_name() == "sqlite":
            assert marker.encode() not in _sqlite_files(url), service
