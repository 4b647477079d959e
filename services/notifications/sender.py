"""The background sender: claims due deliveries, hands them to the transport, records
the outcome.

Nothing is lost: a delivery is a committed row before the RPC answers, and it stays
PENDING until a transport accepted it. A sender that dies leaves its claim to expire
(NOTIFICATIONS_LEASE_SECONDS); another sender, or the restarted one, takes it over.

At most one duplicate, and only with SMTP: between the server's "250 accepted" and our
commit of SENT there is a window (one message per sender thread, about a millisecond)
where a crash makes the next sender send it again. The resend carries the same
Message-ID, so receivers that dedupe on it (and calendar clients, which key on UID and
SEQUENCE) show it once. SMTP offers no way to ask "did you get this?", so the window
cannot be closed from this side. The folder transport closes it: it writes under the
Message-ID atomically and a resend finds the file. The claim of a batch is renewed while
it is worked through; only one send that stalls for longer than the whole lease
(NOTIFICATIONS_LEASE_SECONDS, checked to exceed twice SMTP_TIMEOUT_SECONDS) can be taken
over and sent a second time.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid

from services.core.db import Database, utcnow
from services.notifications import store
from services.notifications.domain.backoff import RetryPolicy
from services.notifications.settings import NotificationsSettings
from services.notifications.transport import PermanentSendError, TransientSendError, Transport

log = logging.getLogger(__name__)


class Sender:
    """`NOTIFICATIONS_SENDERS` threads that deliver; start/stop fit the server bootstrap."""

    def __init__(self, db: Database, transport: Transport, config: NotificationsSettings) -> None:
        self.db = db
        self.transport = transport
        self.config = config
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._rng = random.Random()
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._pending_wake = False
        self._threads: list[threading.Thread] = []

    # -- one pass --------------------------------------------------------------
    def run_once(self) -> int:
        """Claim one batch and send it; returns how many were claimed."""
        claimed = store.claim(self.db, self.owner, self.config.lease, self.config.batch_size)
        if not claimed:
            return 0
        remaining = list(claimed)
        renewed_at = time.monotonic()
        try:
            with self.transport.connect() as connection:
                while remaining and not self._stop.is_set():
                    if time.monotonic() - renewed_at > self.config.lease.total_seconds() / 4:
                        # A slow server must not let our claim lapse while the batch is
                        # still queued here: another sender would send those again.
                        mine = store.renew(self.db, [i.seq for i in remaining], self.owner,
                                           self.config.lease)
                        remaining = [i for i in remaining if i.seq in mine]
                        renewed_at = time.monotonic()
                        if not remaining:
                            break
                    item = remaining[0]
                    try:
                        connection.send(item.envelope_from, item.recipient, item.message_id,
                                        item.raw)
                    except PermanentSendError as error:
                        remaining.pop(0)
                        self._failed(item, str(error), self.config.retry, permanent=True)
                        continue
                    except TransientSendError as error:
                        # The connection may be unusable now; the rest of the batch goes
                        # back untried rather than failing one by one.
                        remaining.pop(0)
                        self._failed(item, str(error), self.config.retry, permanent=False)
                        break
                    remaining.pop(0)
                    store.mark_sent(self.db, item.seq)
        except TransientSendError as error:
            # Connecting failed: that counts as an attempt for the first one only.
            first = remaining.pop(0)
            self._failed(first, str(error), self.config.retry, permanent=False)
        finally:
            store.release(self.db, [item.seq for item in remaining], self.owner)
        return len(claimed)

    def _failed(self, item: store.Claimed, error: str, retry: RetryPolicy, *, permanent: bool) -> None:
        retry_at = None if permanent else retry.next_attempt(item.attempts, utcnow(), self._rng)
        log.warning(
            "send failed",
            extra={"delivery": item.id, "attempt": item.attempts, "error": error[:200],
                   "final": retry_at is None},
        )
        store.mark_attempt_failed(self.db, item.seq, error, retry_at)

    # -- background threads -----------------------------------------------------
    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        for index in range(self.config.senders):
            thread = threading.Thread(target=self._loop, name=f"sender-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads.clear()

    def wake(self) -> None:
        """Send now rather than at the next poll (called after a request commits)."""
        with self._wake:
            self._pending_wake = True
            self._wake.notify_all()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once() > 0
            except Exception:
                log.exception("sender pass failed")
                busy = False
            if busy:
                continue
            with self._wake:
                if not self._pending_wake:
                    self._wake.wait(self.config.poll_seconds)
                self._pending_wake = False
