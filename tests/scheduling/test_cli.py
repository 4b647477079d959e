"""The recruiter CLI against a real in-process scheduling server."""

from __future__ import annotations

import pytest

from services.cli.main import main
from services.core.auth import Role, issue_token
from tests.conftest import TEST_TOKEN_SECRET
from tests.scheduling.test_changes_api import _outbox

ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:weekly@test
DTSTART;TZID=America/Los_Angeles:20260309T090000
DTEND;TZID=America/Los_Angeles:20260309T120000
RRULE:FREQ=WEEKLY;COUNT=3
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def cli(scheduling, monkeypatch, capsys):
    monkeypatch.setenv("SCHEDULING_ADDRESS", scheduling.address)
    monkeypatch.setenv("INTERVIEWS_TOKEN", issue_token(TEST_TOKEN_SECRET, "recruiter@example.com", Role.RECRUITER))

    def run(*argv: str) -> tuple[int, str]:
        code = main(["scheduling", *argv])
        out = capsys.readouterr()
        return code, out.out + out.err

    return run


def test_recruiter_flow(cli, scheduling, tmp_path):
    assert cli("interviewer-add", "ana", "--email", "ana@example.com", "--office", "los-gatos", "--areas", "nlp,computer-vision")[0] == 0
    assert cli("interviewer-add", "bo", "--email", "bo@example.com", "--office", "los-gatos", "--areas", "nlp",
               "--hours", "mon-thu 10:00-16:00; fri 10:00-12:00")[0] == 0
    code, out = cli("interviewer-list", "--area", "computer-vision")
    assert code == 0 and "ana" in out and "bo@" not in out
    assert cli("room-add", "los-gatos", "r1", "--capacity", "4", "--accessible", "--video")[0] == 0
    assert "offices/los-gatos/rooms/r1" in cli("room-list")[1]
    assert cli("candidate-add", "kim", "--email", "kim@example.org", "--zone", "Asia/Kolkata", "--primary", "nlp")[0] == 0
    assert "Asia/Kolkata" in cli("candidate-list")[1]
    assert cli("template-add", "pair", "--session", "Coding:coding:60", "--session", "Depth:ml-depth:45", "--buffer", "15")[0] == 0
    ics = tmp_path / "ana.ics"
    ics.write_bytes(ICS)
    code, out = cli("busy-import", "ana", str(ics), "--from", "2026-03-01", "--to", "2026-04-01")
    assert code == 0 and "imported 3" in out

    code, out = cli("find", "kim", "pair", "--from", "2026-03-10", "--days", "3", "--onsite", "los-gatos")
    assert code == 0, out
    assert "IST" in out and "time (Asia/Kolkata)" in out and "r1" in out
    code, out = cli("book", "kim", "pair", "--from", "2026-03-10", "--days", "3", "--onsite", "los-gatos", "--plan", "1")
    assert code == 0, out
    loop = next(word for word in out.split() if word.startswith("loops/"))
    code, out = cli("reschedule", loop, "--from", "2026-03-12", "--days", "2", "--remote")
    assert code == 0, out
    assert "remote" in out
    code, out = cli("cancel", loop, "--reason", "schedule changed")
    assert code == 0 and "cancelled" in out
    assert any(topic == "notifications.CancelInvite" for topic, _ in _outbox(scheduling))


def test_errors_are_readable(cli):
    code, out = cli("candidate-add", "x", "--email", "nope", "--zone", "Nowhere/Land", "--primary", "nlp")
    assert code == 1
    assert "INVALID_ARGUMENT" in out and "candidate.email" in out and "candidate.time_zone" in out
    code, out = cli("find", "nobody", "pair", "--from", "2026-03-10", "--remote")
    assert code == 1 and "NOT_FOUND" in out
