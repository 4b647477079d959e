"""The chaos suite: services as real processes on PostgreSQL, killed at random
moments. CHAOS_OPERATIONS sets how many bookings, reschedules and cancels
the driver performs (`make chaos`: 1,000; `make test`: the default below)."""

from __future__ import annotations

import os

import pytest

DEFAULT_OPERATIONS = 60
CHAOS_OPERATIONS = int(os.environ.get("CHAOS_OPERATIONS") or DEFAULT_OPERATIONS)
REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not REPORT:
        return
    terminalreporter.section(f"chaos (CHAOS_OPERATIONS={CHAOS_OPERATIONS})")
    for line in REPORT:
        terminalreporter.write_line(line)
