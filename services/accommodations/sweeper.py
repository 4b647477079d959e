"""The SLA sweeper: a background thread that emails coordinators about tickets that are
at risk or overdue, once per ticket, deadline and state, and purges tickets past
retention.

Safe with several replicas: the email goes into the outbox under a key made of the
ticket, the deadline and the state, and the outbox key is unique. Two replicas that sweep
at once both try to insert it; one commits, the other's transaction fails on the unique
key and is dropped. Ticket rows are not locked, so the sweep never blocks coordinators.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.accommodations import notices, store
from services.accommodations.domain.lifecycle import UNDECIDED_STATES, State
from services.accommodations.domain.sla import SlaState, schedule, state_from_schedule
from services.accommodations.models import TicketRow
from services.accommodations.tickets import Desk
from services.core.db import Database
from services.core.workers import PeriodicWorker

log = logging.getLogger(__name__)

BATCH = 200
PURGE_EVERY = timedelta(hours=1)
_ALERT_STATES = {SlaState.AT_RISK: "at_risk", SlaState.OVERDUE: "overdue"}


class SlaSweeper(PeriodicWorker):
    def __init__(
        self,
        db: Database,
        desk: Desk,
        *,
        interval_seconds: float,
        after_write: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(interval=interval_seconds, name="sla-sweeper")
        self.db = db
        self.desk = desk
        self.after_write = after_write
        self._last_purge: datetime | None = None

    # -- one pass ---------------------------------------------------------
    def _due_alerts(self, session: Session, now: datetime) -> list[tuple[str, bytes]]:
        rows = session.scalars(
            select(TicketRow)
            .where(
                TicketRow.state.in_([s.value for s in UNDECIDED_STATES]),
                TicketRow.paused_since.is_(None),
                TicketRow.at_risk_time <= now,
            )
            .order_by(TicketRow.next_due_time, TicketRow.id)
            .limit(BATCH)
        )
        alerts = []
        for row in rows:
            clock = self.desk.sla_clock(row)
            state = State(row.state)
            sched = schedule(self.desk.sla, clock, state, now)
            label = _ALERT_STATES.get(state_from_schedule(sched, clock, state, now))
            if label is None or sched.next_deadline is None or sched.next_due_time is None:
                continue
            recipients = list(self.desk.coordinator_emails)
            if "@" in row.assignee and row.assignee not in recipients:
                recipients.append(row.assignee)
            for email in recipients:
                alerts.append(
                    notices.sla_alert(
                        store.ticket_name(row.id), email, sched.next_deadline.value, label, sched.next_due_time
                    )
                )
        return alerts

    def run_once(self) -> int:
        """Queues the alerts that are due and not yet queued; returns how many it queued."""
        now = self.desk.clock()
        with self.db.reader() as session:
            alerts = self._due_alerts(session, now)
        queued = 0
        for key, payload in alerts:
            try:
                with self.db.transaction() as session:
                    added = store.enqueue(session, store.TOPIC_SEND_MESSAGE, key, payload)
            except IntegrityError:
                continue  # another replica queued the same alert first (seen at commit)
            queued += bool(added)
        if queued:
            self.after_write()
            log.info("sla alerts queued", extra={"count": queued})
        if self._last_purge is None or now - self._last_purge >= PURGE_EVERY:
            purged = self.db.run(lambda s: self.desk.purge_expired(s, None))
            self._last_purge = now
            if purged:
                log.info("expired tickets purged", extra={"count": purged})
        return queued
