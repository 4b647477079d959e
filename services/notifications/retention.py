"""Data minimisation: rendered emails are kept only while they may still be needed.

A settled delivery (SENT or FAILED) keeps its row for good, but the email text it was
rendered to (names, times, per-interviewer notes) is emptied after
NOTIFICATIONS_KEEP_EMAIL_DAYS. Runs in every replica; the update is idempotent.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from services.core.db import Database, utcnow
from services.core.workers import PeriodicWorker
from services.notifications import store

log = logging.getLogger(__name__)


class BodySweeper(PeriodicWorker):
    def __init__(self, db: Database, keep: timedelta, interval_seconds: float) -> None:
        super().__init__(interval=interval_seconds, name="body-sweeper")
        self.db = db
        self.keep = keep

    def run_once(self) -> int:
        forgotten = store.forget_bodies(self.db, utcnow() - self.keep)
        if forgotten:
            log.info("emptied stored emails", extra={"deliveries": forgotten})
        return forgotten
