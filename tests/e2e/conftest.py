"""Fixtures for the end-to-end story: a fresh, empty PostgreSQL database (the
services migrate it themselves at start), the SMTP sink, and the four processes.

Without PostgreSQL (no TEST_DATABASE_URL and no Docker engine) the tests skip,
saying why, through the shared `postgres_server_url` fixture.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.core.config import SERVICES
from tests.conftest import TEST_TOKEN_SECRET
from tests.e2e.stack import SmtpSink, Stack, free_ports

MAIL_FROM = "scheduling@interviews.example.com"
COORDINATOR_EMAIL = "coordinator@interviews.example.com"
START_TIMEOUT = 90


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On failure, the tails of the service logs and the CLI transcript go into the report."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        fixtures = getattr(item, "funcargs", {})
        stack = fixtures.get("stack")
        if isinstance(stack, Stack):
            report.sections.append(("service logs (tails)", stack.tails()))
        transcript = getattr(fixtures.get("world"), "cli", None)
        if transcript is not None and transcript.transcript:
            report.sections.append(("CLI transcript", "\n".join(transcript.transcript[-15:])))


@pytest.fixture(scope="module")
def e2e_database(postgres_server_url: str) -> Iterator[str]:
    """URL of a new, empty database, dropped afterwards."""
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def stack(e2e_database: str, smtp: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """scheduling-a, scheduling-b, accommodations, notifications as OS processes,
    shared by the tests of a module (each test uses its own people and weeks)."""
    tmp_path = tmp_path_factory.mktemp("e2e")
    sched_a, sched_b, acc, notif = free_ports(4)
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "MAIL_DIR") and not k.startswith(("SMTP_", "INTERVIEWS_", *(f"{s.upper()}_" for s in SERVICES)))}
    env.update({
        "DATABASE_URL": e2e_database,
        "INTERVIEWS_DATA_DIR": str(tmp_path / "data"),
        "INTERVIEWS_TOKEN_SECRET": TEST_TOKEN_SECRET,
        "INTERVIEWS_LISTEN_HOST": "127.0.0.1",
        "INTERVIEWS_SHUTDOWN_GRACE_SECONDS": "1",
        "INTERVIEWS_CALL_TIMEOUT_SECONDS": "20",  # two shared cores under load: be patient, not flaky
        "ACCOMMODATIONS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ACCOMMODATIONS_COORDINATOR_EMAILS": COORDINATOR_EMAIL,
        "SCHEDULING_ADDRESS": f"127.0.0.1:{sched_a}",  # accommodations calls replica A
        "ACCOMMODATIONS_ADDRESS": f"127.0.0.1:{acc}",
        "NOTIFICATIONS_ADDRESS": f"127.0.0.1:{notif}",
        "SCHEDULING_OUTBOX_POLL_SECONDS": "0.2",
        "NOTIFICATIONS_POLL_SECONDS": "0.2",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT_SECONDS": "10",
        "MAIL_FROM": MAIL_FROM,
        "MAIL_FROM_NAME": "Interview Scheduling",
        "PYTHONUNBUFFERED": "1",
    })
    running = Stack(env, tmp_path / "logs")
    running.add("scheduling-a", "services.scheduling", sched_a)
    running.add("scheduling-b", "services.scheduling", sched_b)
    running.add("accommodations", "services.accommodations", acc)
    running.add("notifications", "services.notifications", notif)
    try:
        running.start(timeout=START_TIMEOUT)
        yield running
    finally:
        running.stop()
