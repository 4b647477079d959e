"""Thin gRPC handlers: check the caller and the request, render, store, wake the sender."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import grpc
from interviews.notifications.v1 import notifications_pb2 as pb
from interviews.notifications.v1 import notifications_pb2_grpc as pb_grpc
from sqlalchemy.orm import Session

from services.core import names, pagination
from services.core.auth import Principal, Role, require_role
from services.core.db import Database, utcnow
from services.core.errors import InvalidArgument, PermissionDenied
from services.notifications import convert, intake, store
from services.notifications.domain import compose, templates, validation
from services.notifications.domain.model import Method, RenderedEmail
from services.notifications.models import DeliveryRow
from services.notifications.settings import NotificationsSettings

log = logging.getLogger(__name__)

# Scheduling and accommodations call through their outbox relays; admins may
# resend. Only scheduling sends invites; accommodations sends templated mail.
# Any other service (or a recruiting tool holding a service token) may neither
# send mail nor read who was mailed what.
INVITE_SENDERS = frozenset({"scheduling"})
MESSAGE_SENDERS = frozenset({"scheduling", "accommodations"})


def require_caller(services: frozenset[str]) -> Principal:
    principal = require_role(Role.SERVICE, Role.ADMIN)
    if principal.role is Role.SERVICE and principal.service_name not in services:
        raise PermissionDenied(f"the {principal.service_name or 'unnamed'} service may not call this method", reason="ROLE_NOT_ALLOWED")
    return principal


class NotificationsServicer(pb_grpc.NotificationsServiceServicer):
    def __init__(self, db: Database, config: NotificationsSettings, wake: Callable[[], None]) -> None:
        self.db = db
        self.config = config
        self.wake = wake

    # -- writes ------------------------------------------------------------------------
    def _accept(
        self,
        method: str,
        request: pb.SendInviteRequest | pb.CancelInviteRequest | pb.SendMessageRequest,
        kind: str,
        render: Callable[[], tuple[list[RenderedEmail], datetime]],
        before: Callable[[Session], None] | None = None,
        after: Callable[[Session], None] | None = None,
    ) -> list[DeliveryRow]:
        convert.raise_if(validation.check_idempotency_key(request.idempotency_key))
        rows = intake.accept(
            self.db,
            key=request.idempotency_key,
            fingerprint=intake.fingerprint(method, request),
            kind=kind,
            envelope_from=self.config.sender.mail_from,
            render=render,
            before=before,
            after=after,
        )
        self.wake()
        return rows

    def _invite(self, method_name: str, request: pb.SendInviteRequest | pb.CancelInviteRequest,
                method: Method) -> list[DeliveryRow]:
        require_caller(INVITE_SENDERS)
        if not request.HasField("invite"):
            raise InvalidArgument("invite", "required")
        invite = convert.invite(request.invite)
        convert.raise_if(validation.check_invite(invite))
        kind = store.INVITE_REQUEST if method is Method.REQUEST else store.INVITE_CANCEL
        now = utcnow()

        def render() -> tuple[list[RenderedEmail], datetime]:
            emails = compose.invite_emails(
                invite, method, self.config.sender, request.idempotency_key, now
            )
            return emails, now

        recipients = [a.email for a in invite.attendees]
        return self._accept(
            method_name, request, kind, render,
            before=lambda session: store.check_sequence(session, invite.uid, invite.sequence, recipients),
            after=lambda session: store.drop_outdated_reminders(
                session, invite.uid, invite.sequence, recipients),
        )

    def SendInvite(self, request: pb.SendInviteRequest, context: grpc.ServicerContext) -> pb.SendInviteResponse:
        rows = self._invite("SendInvite", request, Method.REQUEST)
        return pb.SendInviteResponse(deliveries=_protos(rows))

    def CancelInvite(self, request: pb.CancelInviteRequest, context: grpc.ServicerContext) -> pb.CancelInviteResponse:
        # `reason` is accepted but never rendered: it is internal (a withdrawal, an
        # interviewer's absence) and no invite carries internal notes.
        rows = self._invite("CancelInvite", request, Method.CANCEL)
        return pb.CancelInviteResponse(deliveries=_protos(rows))

    def SendMessage(self, request: pb.SendMessageRequest, context: grpc.ServicerContext) -> pb.Delivery:
        require_caller(MESSAGE_SENDERS)
        template = convert.TEMPLATES.get(request.template)
        if template is None:
            raise InvalidArgument("template", "required")
        if not request.HasField("recipient"):
            raise InvalidArgument("recipient", "required")
        recipient = convert.recipient(request.recipient)
        parameters = dict(request.parameters)
        convert.raise_if(
            validation.check_recipient(recipient)
            + templates.check_parameters(template, parameters)
        )
        now = utcnow()
        uid, sequence = templates.reminded_invite(template, parameters)

        def render() -> tuple[list[RenderedEmail], datetime]:
            convert.raise_if(templates.check_timing(template, parameters, now))
            email = compose.message_email(
                template, recipient, parameters, self.config.sender, request.idempotency_key, now
            )
            return [email], templates.due_time(template, parameters, now)

        def before(session: Session) -> None:
            if uid:
                store.check_reminder(session, uid, sequence, recipient.email)

        (row,) = self._accept("SendMessage", request, store.MESSAGE, render, before=before)
        return convert.delivery(row)

    # -- reads -------------------------------------------------------------------------
    def GetDelivery(self, request: pb.GetDeliveryRequest, context: grpc.ServicerContext) -> pb.Delivery:
        require_caller(MESSAGE_SENDERS)
        delivery_id = names.parse_id("deliveries/{delivery}", request.name, "name")
        with self.db.reader() as session:
            return convert.delivery(store.get(session, delivery_id, request.name))

    def ListDeliveries(self, request: pb.ListDeliveriesRequest, context: grpc.ServicerContext) -> pb.ListDeliveriesResponse:
        require_caller(MESSAGE_SENDERS)
        state = convert.STATE_FILTERS.get(request.state, "") if request.state else ""
        if request.state and not state:
            raise InvalidArgument("state", "unknown state")
        where = store.ListFilter(state, request.recipient, request.idempotency_key)
        page = pagination.KeysetPage(request.page_size, request.page_token, "ListDeliveries", where.state,
                                     where.recipient.lower(), where.idempotency_key)
        last = page.after
        if last is not None and not (len(last) == 1 and isinstance(last[0], int)):
            raise InvalidArgument("page_token", "not a token this service issued")
        with self.db.reader() as session:
            rows = store.list_page(session, where, last[0] if last else None, page.size)
        deliveries, token = page.finish(rows, lambda d: [d.seq])
        return pb.ListDeliveriesResponse(deliveries=_protos(deliveries), next_page_token=token)


def _protos(rows: Sequence[DeliveryRow]) -> list[pb.Delivery]:
    return [convert.delivery(row) for row in rows]
