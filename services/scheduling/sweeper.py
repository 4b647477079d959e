"""The hold-expiry sweeper: a background worker that marks lapsed holds
expired and frees their reservations. Reads and bookings already ignore lapsed
holds on their own, so a late sweep only delays tidying, never correctness."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from services.core.db import Database
from services.core.workers import PeriodicWorker
from services.scheduling.booking import Booking

log = logging.getLogger(__name__)


class HoldSweeper(PeriodicWorker):
    def __init__(self, db: Database, booking: Booking, clock: Callable[[], datetime], *, interval: float = 30.0) -> None:
        super().__init__(interval=interval, name="hold-sweeper")
        self.db = db
        self.booking = booking
        self.clock = clock

    def run_once(self) -> int:
        expired = self.db.run(lambda session: self.booking.expire_holds(session, self.clock()))
        if expired:
            log.info("holds expired", extra={"count": expired})
        return expired
