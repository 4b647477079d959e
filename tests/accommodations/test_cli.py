"""The `interviews accommodations` commands against the service in process."""

from __future__ import annotations

import io

import pytest

from services.cli.main import main
from services.core.auth import Role, issue_token
from tests.conftest import TEST_TOKEN_SECRET


@pytest.fixture
def cli(acc, monkeypatch, capsys):
    monkeypatch.setenv("ACCOMMODATIONS_ADDRESS", acc.service.address)
    monkeypatch.delenv("INTERVIEWS_TOKEN", raising=False)

    def run(role: str, subject: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        token = issue_token(TEST_TOKEN_SECRET, subject, Role(role))
        code = main(["accommodations", args[0], "--token", token, *args[1:]])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_coordinator_and_candidate_commands(cli):
    code, out, _ = cli("candidate", "candidates/c-9", "submit", "--email", "c9@example.com",
                       "--reason", "-", "--adjustment", "extra_time", stdin="I need extra time.\n")
    assert code == 0 and "submitted tickets/" in out
    name = out.split()[1].rstrip(":")

    code, out, _ = cli("recruiter", "rec@example.com", "submit", "--candidate", "candidates/c-8",
                       "--email", "c8@example.com", "--reason", "Needs a quiet room", "--office", "offices/los-gatos")
    assert code == 0

    code, out, _ = cli("coordinator", "coord@example.com", "queue")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("TICKET") and len(lines) == 4  # header, rule, two tickets
    assert "submitted" in out and "on_track" in out

    coord = ("coordinator", "coord@example.com")
    assert cli(*coord, "triage", name)[0] == 0
    assert cli(*coord, "review", name)[0] == 0
    assert cli(*coord, "note", name, "internal only")[0] == 0
    assert cli(*coord, "request-info", name, "How much extra time?")[0] == 0
    assert cli("candidate", "candidates/c-9", "message", name, "Half again, please.")[0] == 0
    code, out, _ = cli(*coord, "decide", name, "approve", "--duration-multiplier", "1.5",
                       "--window", "09:00-13:00", "--message", "Approved")
    assert code == 0 and "approved" in out
    code, out, _ = cli(*coord, "show", name, "--messages", "--why", "preparing the interview plan")
    assert "I need extra time." in out and "duration x1.5" in out and "09:00-13:00" in out
    assert "internal only" in out and "Half again, please." in out

    code, out, _ = cli("candidate", "candidates/c-9", "show", name, "--messages")
    assert "I need extra time." in out and "internal only" not in out

    code, out, _ = cli("recruiter", "rec@example.com", "status")
    assert code == 0 and "candidates/c-8" in out and "candidates/c-9" not in out

    code, _, err = cli("interviewer", "i@example.com", "show", name)
    assert code == 1 and "PERMISSION_DENIED" in err

    code, _, err = cli(*coord, "decide", name, "deny")
    assert code == 1 and "FAILED_PRECONDITION" in err

    # The justification given with --why is on the audit events of that read.
    code, out, _ = cli("auditor", "audit@example.com", "audit", "--ticket", name)
    assert code == 0 and "preparing the interview plan" in out


def test_overdue_rows_are_highlighted():
    from interviews.accommodations.v1 import accommodations_pb2 as pb
    from services.cli.accommodations_commands import queue_rows
    from services.cli.common import table

    overdue = pb.Ticket(name="tickets/a", state=pb.TICKET_STATE_SUBMITTED, sla=pb.Sla(state=pb.SLA_STATE_OVERDUE))
    fine = pb.Ticket(name="tickets/b", state=pb.TICKET_STATE_SUBMITTED, sla=pb.Sla(state=pb.SLA_STATE_ON_TRACK))
    text = table(["T", "STATE", "SLA", "DUE", "A", "O", "C"], queue_rows([overdue, fine]), highlight=lambda r: r[2] == "overdue")
    marked = [line for line in text.splitlines() if line.endswith("!")]
    assert len(marked) == 1 and marked[0].startswith("a ")


def test_records_commands(cli, tmp_path):
    code, out, _ = cli("candidate", "candidates/c-7", "submit", "--email", "c7@example.com", "--reason", "words")
    name = out.split()[1].rstrip(":")
    coord = ("coordinator", "coord@example.com")
    assert cli(*coord, "withdraw", name)[0] == 0
    code, out, _ = cli(*coord, "close", name, "--hiring-decision", "2026-11-20T10:00:00-08:00")
    assert code == 0 and "closed" in out
    code, out, _ = cli(*coord, "legal-hold", name, "on", "--justification", "litigation")
    assert code == 0 and "legal hold on" in out
    target = tmp_path / "export.json"
    code, out, _ = cli("candidate", "candidates/c-7", "export", "c-7", "--output", str(target))
    assert code == 0 and '"words"' in target.read_text()
    code, out, _ = cli("candidate", "candidates/c-7", "delete-data", "c-7")
    assert code == 0 and f"kept {name}" in out  # on legal hold
    code, out, _ = cli(*coord, "purge")
    assert code == 0 and "purged 0 tickets" in out
    code, out, _ = cli("auditor", "audit@example.com", "audit", "--ticket", name)
    assert "ticket.legal_hold" in out and "litigation" in out
