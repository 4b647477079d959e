"""The service end to end over gRPC, mailing a real SMTP server on loopback, on SQLite and
PostgreSQL: lifecycle of an invite, idempotency, roles, templated mail, listing."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import vobject
from interviews.notifications.v1 import notifications_pb2 as pb

from services.core.auth import Role
from tests.helpers import wait_until
from tests.notifications import factories, protos
from tests.notifications.mail import calendar, event, parse, parts
from tests.notifications.servers import SmtpServer

Token = Callable[..., tuple[tuple[str, str], ...]]
ATTENDEES = {a.email for a in factories.invite().attendees}


def _all_sent(stub, token: Token, key: str, count: int) -> list[pb.Delivery]:  # type: ignore[no-untyped-def]
    def check() -> list[pb.Delivery] | None:
        found = stub.ListDeliveries(pb.ListDeliveriesRequest(idempotency_key=key),
                                    metadata=token(Role.SERVICE)).deliveries
        done = [d for d in found if d.state == pb.DELIVERY_STATE_SENT]
        return list(found) if len(done) == count else None

    return wait_until(check, timeout=20, message=f"{count} deliveries of {key} sent")


def test_request_reschedule_cancel_through_smtp(notifications, smtp_server: SmtpServer, token: Token) -> None:
    service = token(Role.SERVICE)
    sent = notifications.SendInvite(
        pb.SendInviteRequest(idempotency_key="book-1", invite=protos.invite()), metadata=service)
    assert {d.recipient for d in sent.deliveries} == ATTENDEES
    assert all(d.name.startswith("deliveries/") and d.uid == factories.invite().uid
               for d in sent.deliveries)
    _all_sent(notifications, token, "book-1", 3)

    moved = factories.invite(sequence=1, start=factories.START + timedelta(days=1, hours=2),
                             end=factories.START + timedelta(days=1, hours=3))
    notifications.SendInvite(
        pb.SendInviteRequest(idempotency_key="move-1", invite=protos.invite(moved)), metadata=service)
    _all_sent(notifications, token, "move-1", 3)
    notifications.CancelInvite(
        pb.CancelInviteRequest(idempotency_key="cancel-1", invite=protos.invite(sequence=2),
                               reason="INTERNAL-REASON-MARKER"), metadata=service)
    _all_sent(notifications, token, "cancel-1", 3)

    for address in ATTENDEES:
        received = smtp_server.handler.for_recipient(address)
        assert len(received) == 3
        methods, uids, sequences = [], set(), []
        for item in received:
            assert item.envelope_from == "scheduling@example.com"
            assert b"INTERNAL-REASON-MARKER" not in item.raw
            message = parse(item.raw)
            assert [p.get_content_type() for p in message.iter_parts()] == [
                "text/plain", "text/html", "text/calendar"]
            cal_method = str(calendar(message)["METHOD"])
            assert parts(message)["text/calendar"].get_param("method") == cal_method
            methods.append(cal_method)
            uids.add(str(event(message)["UID"]))
            sequences.append(int(event(message)["SEQUENCE"]))
        assert methods == ["REQUEST", "REQUEST", "CANCEL"]
        assert uids == {factories.invite().uid}
        assert sequences == [0, 1, 2]


@pytest.mark.parametrize(
    ("start", "la_local"),
    [
        # 2026-11-01 is the Los Angeles fall-back day; 01:00-02:00 happens twice.
        (datetime(2026, 11, 1, 7, 30, tzinfo=UTC), True),  # 00:30-01:30 PDT
        # The second 01:30 (PST) has no local-time spelling (RFC 5545 reads it as the
        # first), so this recipient's invite must carry UTC: as a start, and as an end.
        (datetime(2026, 11, 1, 9, 30, tzinfo=UTC), False),
        (datetime(2026, 11, 1, 8, 30, tzinfo=UTC), False),
        (datetime(2026, 3, 8, 10, 0, tzinfo=UTC), True),  # 03:00 PDT, right after the gap
    ],
)
def test_times_read_back_by_vobject_from_the_vtimezone_body(
    notifications, smtp_server: SmtpServer, token: Token, start: datetime, la_local: bool
) -> None:
    value = factories.invite(start=start, end=start + timedelta(hours=1), agenda=())
    notifications.SendInvite(pb.SendInviteRequest(idempotency_key="dst", invite=protos.invite(value)),
                             metadata=token(Role.SERVICE))
    _all_sent(notifications, token, "dst", 3)
    for attendee in value.attendees:
        (item,) = smtp_server.handler.for_recipient(attendee.email)
        data = parts(parse(item.raw))["text/calendar"].get_payload(decode=True)
        vevent = vobject.readOne(data.decode()).vevent
        assert vevent.dtstart.value.astimezone(UTC) == start
        assert vevent.dtend.value.astimezone(UTC) == start + timedelta(hours=1)
        tzinfo = vevent.dtstart.value.tzinfo
        if attendee.time_zone != "America/Los_Angeles" or la_local:
            # vobject builds this tzinfo from the VTIMEZONE text (dateutil tzical), not
            # from a zone database: the times above were read through our RRULEs.
            assert type(tzinfo).__module__.startswith("dateutil"), type(tzinfo)
            assert tzinfo._tzid == attendee.time_zone
        else:
            assert vevent.dtstart.value.utcoffset() == timedelta(0)
            assert b"VTIMEZONE" not in data


def test_same_key_same_payload_is_one_email_and_other_payload_is_refused(notifications, smtp_server: SmtpServer, token: Token) -> None:
    service = token(Role.SERVICE)
    request = pb.SendInviteRequest(idempotency_key="k-idem", invite=protos.invite())
    first = notifications.SendInvite(request, metadata=service)
    second = notifications.SendInvite(request, metadata=service)
    assert [d.name for d in first.deliveries] == [d.name for d in second.deliveries]
    _all_sent(notifications, token, "k-idem", 3)
    third = notifications.SendInvite(request, metadata=service)
    assert {d.state for d in third.deliveries} == {pb.DELIVERY_STATE_SENT}
    with pytest.raises(grpc.RpcError) as error:
        notifications.SendInvite(
            pb.SendInviteRequest(idempotency_key="k-idem", invite=protos.invite(summary="Other")),
            metadata=service)
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as error:
        notifications.CancelInvite(
            pb.CancelInviteRequest(idempotency_key="k-idem", invite=protos.invite()), metadata=service)
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert len(smtp_server.handler.messages) == 3


def test_concurrent_calls_with_one_key_make_one_batch(notifications, smtp_server: SmtpServer, token: Token) -> None:
    request = pb.SendInviteRequest(idempotency_key="k-race", invite=protos.invite())
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(
            lambda _: notifications.SendInvite(request, metadata=token(Role.SERVICE)), range(8)))
    assert len({tuple(d.name for d in a.deliveries) for a in answers}) == 1
    _all_sent(notifications, token, "k-race", 3)
    assert len(smtp_server.handler.messages) == 3


def test_stale_sequence_is_refused(notifications, token: Token) -> None:
    service = token(Role.SERVICE)
    notifications.SendInvite(pb.SendInviteRequest(idempotency_key="s2", invite=protos.invite(sequence=2)),
                             metadata=service)
    with pytest.raises(grpc.RpcError) as error:
        notifications.SendInvite(
            pb.SendInviteRequest(idempotency_key="s1", invite=protos.invite(sequence=1)), metadata=service)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as error:
        notifications.CancelInvite(
            pb.CancelInviteRequest(idempotency_key="c1", invite=protos.invite(sequence=1)), metadata=service)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_interviewer_taken_off_then_the_rest_updated_at_the_same_sequence(
    notifications, smtp_server: SmtpServer, token: Token
) -> None:
    """Scheduling cancels for the removed interviewer and re-sends to those who stay."""
    service = token(Role.SERVICE)
    notifications.SendInvite(pb.SendInviteRequest(idempotency_key="p0", invite=protos.invite()),
                             metadata=service)
    removed = factories.invite(sequence=1, attendees=(factories.OTHER,))
    staying = factories.invite(sequence=1, attendees=(factories.CANDIDATE, factories.INTERVIEWER))
    notifications.CancelInvite(pb.CancelInviteRequest(idempotency_key="p1c", invite=protos.invite(removed)),
                               metadata=service)
    notifications.SendInvite(pb.SendInviteRequest(idempotency_key="p1r", invite=protos.invite(staying)),
                             metadata=service)
    _all_sent(notifications, token, "p1r", 2)
    _all_sent(notifications, token, "p1c", 1)
    last = {a: str(calendar(parse(smtp_server.handler.for_recipient(a)[-1].raw))["METHOD"])
            for a in ATTENDEES}
    assert last == {factories.OTHER.email: "CANCEL", factories.CANDIDATE.email: "REQUEST",
                    factories.INTERVIEWER.email: "REQUEST"}


@pytest.mark.parametrize("role", [Role.CANDIDATE, Role.RECRUITER, Role.COORDINATOR, Role.INTERVIEWER])
def test_only_services_and_admins_may_call(notifications, token: Token, role: Role) -> None:
    calls = [
        lambda md: notifications.SendInvite(
            pb.SendInviteRequest(idempotency_key="x", invite=protos.invite()), metadata=md),
        lambda md: notifications.ListDeliveries(pb.ListDeliveriesRequest(), metadata=md),
        lambda md: notifications.GetDelivery(pb.GetDeliveryRequest(name="deliveries/abc"), metadata=md),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as error:
            call(token(role))
        assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert notifications.ListDeliveries(pb.ListDeliveriesRequest(), metadata=token(Role.ADMIN))


def test_bad_requests_name_the_field(notifications, token: Token) -> None:
    service = token(Role.SERVICE)
    bad = protos.invite()
    bad.attendees[0].email = "ada@example.com\r\nBcc: spy@evil.example"
    bad.video_link = "javascript:alert(1)"
    with pytest.raises(grpc.RpcError) as error:
        notifications.SendInvite(pb.SendInviteRequest(idempotency_key="bad", invite=bad), metadata=service)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invite.attendees[0].email" in error.value.details()
    assert "invite.video_link" in error.value.details()
    with pytest.raises(grpc.RpcError) as error:
        notifications.SendInvite(pb.SendInviteRequest(idempotency_key="", invite=protos.invite()),
                                 metadata=service)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_templated_message_and_reminder_timing(notifications, smtp_server: SmtpServer, token: Token) -> None:
    service = token(Role.SERVICE)
    delivery = notifications.SendMessage(pb.SendMessageRequest(
        idempotency_key="ack-1", template=pb.MESSAGE_TEMPLATE_TICKET_ACKNOWLEDGED,
        recipient=pb.Recipient(email="ada@example.com", display_name="Ada", time_zone="Asia/Kolkata"),
        parameters={"ticket": "tickets/t1", "decide_by": "2030-01-02T17:00:00Z"}), metadata=service)
    assert delivery.kind == pb.DELIVERY_KIND_MESSAGE
    _all_sent(notifications, token, "ack-1", 1)
    (received,) = smtp_server.handler.for_recipient("ada@example.com")
    message = parse(received.raw)
    assert message["Subject"] == "We received your accommodation request"
    assert "22:30 IST (Asia/Kolkata)" in parts(message)["text/plain"].get_content()

    interview = datetime.now(UTC) + timedelta(days=3)
    reminder = notifications.SendMessage(pb.SendMessageRequest(
        idempotency_key="remind-1", template=pb.MESSAGE_TEMPLATE_INTERVIEW_REMINDER,
        recipient=pb.Recipient(email="ian@example.com"),
        parameters={"interview_time": interview.isoformat()}), metadata=service)
    assert reminder.state == pb.DELIVERY_STATE_PENDING
    due = reminder.next_attempt_time.ToDatetime(tzinfo=UTC)
    assert abs(due - (interview - timedelta(hours=24))) < timedelta(seconds=1)
    fetched = notifications.GetDelivery(pb.GetDeliveryRequest(name=reminder.name), metadata=service)
    assert fetched.state == pb.DELIVERY_STATE_PENDING and fetched.attempts == 0

    with pytest.raises(grpc.RpcError) as error:
        notifications.SendMessage(pb.SendMessageRequest(
            idempotency_key="leak", template=pb.MESSAGE_TEMPLATE_NEW_TICKET,
            recipient=pb.Recipient(email="coord@example.com"),
            parameters={"ticket": "tickets/t1", "reason": "medical detail"}), metadata=service)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_reminders_follow_their_invite(notifications, token: Token) -> None:
    service = token(Role.SERVICE)
    uid = factories.invite().uid
    who = factories.CANDIDATE.email
    interview = datetime.now(UTC) + timedelta(days=3)

    def remind(key: str, sequence: int, when: datetime = interview) -> pb.Delivery:
        return notifications.SendMessage(pb.SendMessageRequest(
            idempotency_key=key, template=pb.MESSAGE_TEMPLATE_INTERVIEW_REMINDER,
            recipient=pb.Recipient(email=who),
            parameters={"interview_time": when.isoformat(), "uid": uid, "sequence": str(sequence)}),
            metadata=service)

    def state(delivery: pb.Delivery) -> pb.Delivery:
        return notifications.GetDelivery(pb.GetDeliveryRequest(name=delivery.name), metadata=service)

    notifications.SendInvite(pb.SendInviteRequest(idempotency_key="r-inv0", invite=protos.invite()),
                             metadata=service)
    first = remind("r-0", 0)
    assert first.state == pb.DELIVERY_STATE_PENDING and first.uid == uid
    # The interview moves: the pending reminder of the old time is dropped, not sent.
    notifications.SendInvite(pb.SendInviteRequest(idempotency_key="r-inv1",
                                                  invite=protos.invite(sequence=1)), metadata=service)
    dropped = state(first)
    assert dropped.state == pb.DELIVERY_STATE_FAILED and "invite changed" in dropped.last_error
    with pytest.raises(grpc.RpcError) as error:
        remind("r-0b", 0)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    second = remind("r-1", 1)
    assert second.state == pb.DELIVERY_STATE_PENDING
    notifications.CancelInvite(pb.CancelInviteRequest(idempotency_key="r-cancel",
                                                      invite=protos.invite(sequence=2)), metadata=service)
    assert state(second).state == pb.DELIVERY_STATE_FAILED
    with pytest.raises(grpc.RpcError) as error:
        remind("r-2", 2)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as error:
        remind("r-past", 3, datetime.now(UTC) - timedelta(minutes=1))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_pages_and_filters(notifications, token: Token) -> None:
    service = token(Role.SERVICE)
    for index in range(4):
        notifications.SendMessage(pb.SendMessageRequest(
            idempotency_key=f"page-{index}", template=pb.MESSAGE_TEMPLATE_NEW_TICKET,
            recipient=pb.Recipient(email=f"coord{index % 2}@example.com"),
            parameters={"ticket": f"tickets/t{index}"}), metadata=service)
    seen, token_ = [], ""
    while True:
        page = notifications.ListDeliveries(pb.ListDeliveriesRequest(page_size=3, page_token=token_),
                                            metadata=service)
        seen += [d.idempotency_key for d in page.deliveries]
        token_ = page.next_page_token
        if not token_:
            break
    assert seen == [f"page-{i}" for i in range(4)]
    mine = notifications.ListDeliveries(pb.ListDeliveriesRequest(recipient="COORD1@example.com"),
                                        metadata=service)
    assert [d.idempotency_key for d in mine.deliveries] == ["page-1", "page-3"]
    first = notifications.ListDeliveries(pb.ListDeliveriesRequest(page_size=1), metadata=service)
    with pytest.raises(grpc.RpcError) as error:
        notifications.ListDeliveries(pb.ListDeliveriesRequest(
            page_size=1, page_token=first.next_page_token, recipient="coord1@example.com"),
            metadata=service)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as error:
        notifications.GetDelivery(pb.GetDeliveryRequest(name="deliveries/nope"), metadata=service)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def test_injection_through_every_text_field_end_to_end(notifications, smtp_server: SmtpServer, token: Token) -> None:
    evil = 'Eve"\r\nBcc: spy@evil.example\r\nMETHOD:CANCEL\r\nATTENDEE:mailto:spy@evil.example\x07'
    request = protos.invite(summary=evil, location=evil, organizer_name=evil)
    for attendee in request.attendees:
        attendee.display_name = evil
        attendee.notes.append(evil)
    for item in request.agenda:
        item.title = evil
        item.location = evil
        item.interviewer_names.append(evil)
    notifications.SendInvite(pb.SendInviteRequest(idempotency_key="evil", invite=request),
                             metadata=token(Role.SERVICE))
    _all_sent(notifications, token, "evil", 3)
    assert {m.recipients[0] for m in smtp_server.handler.messages} == ATTENDEES
    for item in smtp_server.handler.messages:
        head = item.raw.split(b"\r\n\r\n", 1)[0]
        assert not any(line.lower().startswith(b"bcc:") for line in head.split(b"\r\n"))
        message = parse(item.raw)
        assert len(message["To"].addresses) == 1 and len(message["From"].addresses) == 1
        data = parts(message)["text/calendar"].get_payload(decode=True)
        lines = [line for line in data.split(b"\r\n") if line and not line.startswith(b" ")]
        assert [line for line in lines if line.startswith(b"METHOD")] == [b"METHOD:REQUEST"]
        assert sum(line.startswith(b"ATTENDEE") for line in lines) == 3
        assert b"\x07" not in data and b"\x07" not in item.raw
