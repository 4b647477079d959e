"""Retries, failures and transports: what happens when mail does not go through."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from interviews.notifications.v1 import notifications_pb2 as pb
from interviews.notifications.v1 import notifications_pb2_grpc as pb_grpc
from sqlalchemy import select

from services.core.auth import Role
from services.core.config import Settings
from services.core.db import Database
from services.notifications import store
from services.notifications.domain.compose import message_email
from services.notifications.domain.model import Recipient
from services.notifications.domain.templates import Template
from services.notifications.models import DeliveryRow
from services.notifications.sender import Sender
from services.notifications.settings import NotificationsSettings
from services.notifications.transport import FolderTransport, eml_name, from_settings
from tests.helpers import wait_until
from tests.notifications.conftest import FAST
from tests.notifications.mail import parse
from tests.notifications.servers import SmtpServer

Token = Callable[..., tuple[tuple[str, str], ...]]


def _message(stub, token: Token, key: str, email: str = "coord@example.com") -> pb.Delivery:  # type: ignore[no-untyped-def]
    return stub.SendMessage(pb.SendMessageRequest(
        idempotency_key=key, template=pb.MESSAGE_TEMPLATE_NEW_TICKET,
        recipient=pb.Recipient(email=email), parameters={"ticket": "tickets/t1"}),
        metadata=token(Role.SERVICE))


def _settled(stub, token: Token, name: str) -> pb.Delivery:  # type: ignore[no-untyped-def]
    def check() -> pb.Delivery | None:
        found = stub.GetDelivery(pb.GetDeliveryRequest(name=name), metadata=token(Role.SERVICE))
        return found if found.state != pb.DELIVERY_STATE_PENDING else None

    return wait_until(check, timeout=20, message=f"{name} settled")


def test_transient_refusals_are_retried_until_accepted(notifications, smtp_server: SmtpServer, token: Token) -> None:
    smtp_server.handler.refuse = lambda rcpt, attempt: "451 4.3.0 try later" if attempt < 2 else None
    done = _settled(notifications, token, _message(notifications, token, "retry-1").name)
    assert done.state == pb.DELIVERY_STATE_SENT
    assert done.attempts == 3
    assert len(smtp_server.handler.messages) == 1


def test_permanent_refusal_fails_at_once_and_is_listed(notifications, smtp_server: SmtpServer, token: Token) -> None:
    smtp_server.handler.refuse = lambda rcpt, attempt: "550 5.1.1 no such user"
    done = _settled(notifications, token, _message(notifications, token, "perm-1").name)
    assert done.state == pb.DELIVERY_STATE_FAILED
    assert done.attempts == 1 and "550" in done.last_error
    failed = notifications.ListDeliveries(
        pb.ListDeliveriesRequest(state=pb.DELIVERY_STATE_FAILED), metadata=token(Role.ADMIN))
    assert [d.name for d in failed.deliveries] == [done.name]


def test_gives_up_after_the_attempt_limit(notifications, smtp_server: SmtpServer, token: Token) -> None:
    smtp_server.handler.refuse = lambda rcpt, attempt: "421 4.3.2 shutting down"
    done = _settled(notifications, token, _message(notifications, token, "limit-1").name)
    assert done.state == pb.DELIVERY_STATE_FAILED
    assert done.attempts == int(FAST["NOTIFICATIONS_MAX_ATTEMPTS"])
    assert smtp_server.handler.messages == []


def test_unreachable_server_is_retried_then_delivered(
    settings: Settings, start_service: Callable[..., object], token: Token
) -> None:
    server = SmtpServer()  # port chosen, nothing listening yet
    configured = settings.with_overrides(
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(server.port), **{**FAST, "NOTIFICATIONS_MAX_ATTEMPTS": "50"})
    service = start_service("notifications", configured)
    stub = pb_grpc.NotificationsServiceStub(service.channel)  # type: ignore[attr-defined]
    name = _message(stub, token, "down-1").name
    wait_until(lambda: stub.GetDelivery(pb.GetDeliveryRequest(name=name),
                                        metadata=token(Role.SERVICE)).attempts >= 2,
               message="two failed attempts")
    with server:
        done = _settled(stub, token, name)
    assert done.state == pb.DELIVERY_STATE_SENT and len(server.handler.messages) == 1


def test_embedded_default_writes_eml_files_named_by_message_id(
    settings: Settings, start_service: Callable[..., object], token: Token
) -> None:
    configured = settings.with_overrides(**FAST)
    assert configured.smtp.host is None
    service = start_service("notifications", configured)
    stub = pb_grpc.NotificationsServiceStub(service.channel)  # type: ignore[attr-defined]
    done = _settled(stub, token, _message(stub, token, "file-1").name)
    assert done.state == pb.DELIVERY_STATE_SENT
    folder = Path(configured.data_dir) / "mail"
    (path,) = folder.glob("*.eml")
    assert path.name == eml_name(done.message_id)
    assert parse(path.read_bytes())["Message-ID"] == done.message_id


def test_folder_transport_never_writes_a_message_twice(tmp_path: Path) -> None:
    transport = FolderTransport(tmp_path)
    with transport.connect() as connection:
        connection.send("a@example.com", "b@example.com", "<m1@example.com>", b"first\r\n")
        # A resend after a crash between writing and marking SENT.
        connection.send("a@example.com", "b@example.com", "<m1@example.com>", b"second\r\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".partial", "m1@example.com.eml"]
    assert list((tmp_path / ".partial").iterdir()) == []
    assert (tmp_path / "m1@example.com.eml").read_bytes() == b"first\r\n"
    assert eml_name("<../../etc/passwd>") == ".._.._etc_passwd.eml"


def test_concurrent_senders_never_claim_the_same_delivery(
    settings: Settings, notifications, smtp_server: SmtpServer, token: Token
) -> None:
    """Four extra senders on the same database race the service's own for 60 emails."""
    configured = settings.with_overrides(
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_server.port), **FAST,
        NOTIFICATIONS_BATCH_SIZE="3")
    db = Database(configured.database_url("notifications"), "notifications")
    config = NotificationsSettings.from_settings(configured)
    racers = [Sender(db, from_settings(configured.smtp, configured.mail_dir), config) for _ in range(4)]
    for index in range(60):
        _message(notifications, token, f"race-{index}", f"r{index}@example.com")
    stop = threading.Event()

    def race(sender: Sender) -> None:
        while not stop.is_set():
            sender.run_once()

    threads = [threading.Thread(target=race, args=(s,)) for s in racers]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: len(smtp_server.handler.messages) >= 60, timeout=30, message="60 sent")
        wait_until(lambda: not notifications.ListDeliveries(
            pb.ListDeliveriesRequest(state=pb.DELIVERY_STATE_PENDING),
            metadata=token(Role.SERVICE)).deliveries, message="none pending")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    counts = Counter(m.message_id for m in smtp_server.handler.messages)
    assert len(counts) == 60 and set(counts.values()) == {1}
    with db.reader() as session:
        assert set(session.scalars(select(DeliveryRow.attempts))) == {1}
    db.dispose()


def test_unauthenticated_calls_are_refused(notifications) -> None:
    with pytest.raises(grpc.RpcError) as error:
        notifications.ListDeliveries(pb.ListDeliveriesRequest())
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_folder_transport_clears_only_stale_partial_files(tmp_path: Path) -> None:
    partial = tmp_path / ".partial"
    partial.mkdir()
    stale, fresh = partial / "old.tmp", partial / "new.tmp"
    stale.write_bytes(b"left by a killed process")
    fresh.write_bytes(b"another replica is writing")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    FolderTransport(tmp_path).connect()
    assert [p.name for p in partial.iterdir()] == ["new.tmp"]


def test_a_slow_server_does_not_let_the_batch_claim_lapse(
    settings: Settings, smtp_server: SmtpServer
) -> None:
    """Lease 1 s, 16 emails at 0.15 s each in one claimed batch, and a second sender polling
    for lapsed claims: it finds none, so nothing is sent twice."""
    original = smtp_server.handler.handle_DATA

    async def slow(server: object, session: object, envelope: object) -> str:
        await asyncio.sleep(0.15)
        return await original(server, session, envelope)

    smtp_server.handler.handle_DATA = slow  # type: ignore[method-assign]
    configured = settings.with_overrides(
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_server.port),
        **{**FAST, "NOTIFICATIONS_LEASE_SECONDS": "1", "SMTP_TIMEOUT_SECONDS": "0.4",
           "NOTIFICATIONS_BATCH_SIZE": "16"})
    db = Database(configured.database_url("notifications"), "notifications")
    config = NotificationsSettings.from_settings(configured)
    now = datetime.now(UTC)
    emails = [
        message_email(Template.NEW_TICKET, Recipient(f"s{i}@example.com"), {"ticket": "tickets/t1"},
                      config.sender, f"slow-{i}", now)
        for i in range(16)
    ]
    db.run(lambda session: store.insert(session, key="slow", fingerprint="f", kind=store.MESSAGE,
                                        emails=emails, envelope_from=config.sender.mail_from,
                                        due=now))
    first = Sender(db, from_settings(configured.smtp, configured.mail_dir), config)
    racer = Sender(db, from_settings(configured.smtp, configured.mail_dir), config)
    worker = threading.Thread(target=first.run_once)
    worker.start()

    def claimed_by_first() -> bool:
        with db.reader() as session:
            owners = set(session.scalars(select(DeliveryRow.lease_owner)))
        return first.owner in owners

    wait_until(claimed_by_first, message="the first sender's claim")
    deadline = time.monotonic() + 30
    while worker.is_alive() and time.monotonic() < deadline:
        racer.run_once()
        time.sleep(0.05)
    worker.join()
    counts = Counter(m.message_id for m in smtp_server.handler.messages)
    assert len(counts) == 16 and set(counts.values()) == {1}
    db.dispose()


def test_settled_emails_are_emptied_after_the_keep_period(settings: Settings) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from services.notifications.retention import BodySweeper

    db = Database(settings.database_url("notifications"), "notifications")
    config = NotificationsSettings.from_settings(settings.with_overrides(**FAST))
    now = datetime.now(UTC)
    emails = [
        message_email(Template.NEW_TICKET, Recipient(f"k{i}@example.com"), {"ticket": "tickets/t1"},
                      config.sender, f"keep-{i}", now)
        for i in range(3)
    ]
    rows = db.run(lambda session: store.insert(
        session, key="keep", fingerprint="f", kind=store.MESSAGE, emails=emails,
        envelope_from=config.sender.mail_from, due=now))
    old_sent, old_pending, new_sent = (row.seq for row in rows)
    db.run(lambda session: session.execute(update(DeliveryRow).where(
        DeliveryRow.seq.in_([old_sent, old_pending])).values(create_time=now - timedelta(days=40))))
    for seq in (old_sent, new_sent):
        store.mark_sent(db, seq)
    assert BodySweeper(db, timedelta(days=30), 3600).run_once() == 1
    with db.reader() as session:
        sizes = {row.seq: len(row.raw) for row in session.scalars(select(DeliveryRow))}
    assert sizes[old_sent] == 0 and sizes[old_pending] > 0 and sizes[new_sent] > 0
    db.dispose()
