"""`CohortRuns`: the long-running ScheduleCohort operation (AIP-151 style) the servicer calls.

ScheduleCohort parses the entries and loads the world synchronously (so a bad name or an unknown
candidate fails the call itself, with the caller's deadline and credentials), stores the run as
RUNNING and returns it; the search runs in a background thread of this process. At most
`max_parallel` runs solve at once per process (CP-SAT is given `workers` threads each); others
wait, RUNNING at 0 %, and their time limit starts when they do.

A run's progress and result are written to the store about once a second, so GetCohortRun and
ListCohortRuns work from any replica. A cancel on another replica sets a flag the running
replica reads at its next write. A RUNNING run whose heartbeat is older than `stale_after` lost
its process (a restart, a crash) and is reported FAILED.

CommitCohortRun books each planned loop through the normal booking path (`book`, i.e. BookLoop,
with its own checks and database guarantees) with a request id derived from the run and the
entry, so committing again (after a failure, or a retry) never books a loop twice: booked loops
come back as they were and only the failed ones are tried again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core import names, pagination, timeconv
from services.core.db import utcnow
from services.core.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from services.core.idempotency import fingerprint
from services.scheduling.cohort import protos
from services.scheduling.cohort.engine import run_cohort
from services.scheduling.cohort.model import Progress
from services.scheduling.cohort.protos import CohortQuery
from services.scheduling.cohort.solver import WORKERS
from services.scheduling.cohort.store import RunStore, StoredRun
from services.scheduling.domain import model as dm

log = logging.getLogger(__name__)

Loader = Callable[[Sequence[CohortQuery]], tuple[dm.DirectorySnapshot, Sequence[dm.SearchRequest]]]
Book = Callable[[pb.LoopPlan, str], pb.Loop]
RUN_PATTERN = "cohortRuns/{cohort_run}"
SAVE_EVERY = timedelta(seconds=1)
STALE_AFTER = timedelta(minutes=2)
CANCEL_WAIT_SECONDS = 5.0
S = pb.CohortRunState


@dataclass
class _Live:
    run: pb.CohortRun
    stop: threading.Event
    thread: threading.Thread | None = None
    saved_at: datetime | None = None


class CohortRuns:
    def __init__(
        self,
        store: RunStore,
        load: Loader,
        *,
        clock: Callable[[], datetime] = utcnow,
        workers: int = WORKERS,
        max_parallel: int = 1,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        self.store = store
        self.load = load
        self.clock = clock
        self.workers = workers
        self.stale_after = stale_after
        self._slots = threading.Semaphore(max_parallel)
        self._live: dict[str, _Live] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ the five methods

    def schedule(self, request: pb.ScheduleCohortRequest) -> pb.CohortRun:
        queries = protos.parse_entries(request)
        limit = protos.parse_time_limit(request)
        digest = ""
        if request.request_id:
            if not names_ok(request.request_id):
                raise InvalidArgument("request_id", "must be 1-128 printable ASCII characters")
            digest = fingerprint(request)
            existing = self.store.find_request(request.request_id)
            if existing is not None:
                return self._answer(existing, digest)
        directory, searches = self.load(queries)
        searches = list(searches)
        if len(searches) != len(queries):
            raise ValueError("the loader must return one search request per entry")
        now = self.clock()
        run_id = names.new_id()[:20]
        run = pb.CohortRun(
            name=f"cohortRuns/{run_id}",
            state=S.COHORT_RUN_STATE_RUNNING,
            candidates_total=len(queries),
            create_time=timeconv.to_timestamp(now),
        )
        stored = self.store.create(
            StoredRun(run_id, run, request.request_id, digest, False, now, now)
        )
        if stored.id != run_id:  # a concurrent retry with the same request id started it
            return self._answer(stored, digest)
        live = _Live(run=_copy(run), stop=threading.Event())
        live.thread = threading.Thread(
            target=self._work,
            args=(run_id, live, directory, searches, limit),
            name=f"cohort-{run_id}",
            daemon=True,
        )
        with self._lock:
            self._live[run_id] = live
        live.thread.start()
        return _copy(run)

    def get(self, name: str) -> pb.CohortRun:
        run_id = names.parse_id(RUN_PATTERN, name, "name")
        with self._lock:
            live = self._live.get(run_id)
            if live is not None:
                return _copy(live.run)
        return self._checked(self._stored(run_id, name)).run

    def list(self, page_size: int, page_token: str) -> tuple[list[pb.CohortRun], str]:
        page = pagination.KeysetPage(page_size, page_token, "ListCohortRuns")
        rows, token = page.finish(self.store.page(page.after, page.size + 1), lambda r: r.key)
        runs = []
        for stored in rows:
            with self._lock:
                live = self._live.get(stored.id)
            runs.append(_copy(live.run) if live else self._checked(stored).run)
        return runs, token

    def cancel(self, name: str) -> pb.CohortRun:
        run_id = names.parse_id(RUN_PATTERN, name, "name")
        with self._lock:
            live = self._live.get(run_id)
        if live is not None:
            live.stop.set()
            if live.thread is not None:
                live.thread.join(CANCEL_WAIT_SECONDS)
            return self.get(name)
        stored = self._checked(self._stored(run_id, name))
        state = stored.run.state
        if state == S.COHORT_RUN_STATE_RUNNING:
            self.store.request_cancel(run_id)  # the replica running it stops within a second
            return stored.run
        if state == S.COHORT_RUN_STATE_CANCELLED:
            return stored.run
        raise FailedPrecondition(
            f"{name} already finished ({S.Name(state)}); there is nothing to cancel",
            reason="COHORT_RUN_FINISHED",
            subject=name,
        )

    def commit(self, name: str, request_id: str, book: Book) -> pb.CommitCohortRunResponse:
        run_id = names.parse_id(RUN_PATTERN, name, "name")
        if request_id and not names_ok(request_id):
            raise InvalidArgument("request_id", "must be 1-128 printable ASCII characters")
        with self._lock:
            running = run_id in self._live
        stored = self._checked(self._stored(run_id, name))
        state = stored.run.state
        if running or state == S.COHORT_RUN_STATE_RUNNING:
            raise FailedPrecondition(
                f"{name} is still running; wait for it or cancel it first",
                reason="COHORT_RUN_RUNNING", subject=name,
            )
        if state == S.COHORT_RUN_STATE_FAILED:
            raise FailedPrecondition(
                f"{name} failed and has no result to commit", reason="COHORT_RUN_FAILED",
                subject=name,
            )
        if request_id and stored.commit_request_id == request_id and stored.commit_response:
            return stored.commit_response
        response = pb.CommitCohortRunResponse()
        for index, assignment in enumerate(stored.run.assignments):
            if not assignment.HasField("plan"):
                continue
            try:
                response.loops.append(book(assignment.plan, f"cohort-{run_id}-{index}"))
            except DomainError as error:
                response.failures.append(
                    pb.CohortCommitFailure(candidate=assignment.candidate, reason=error.message)
                )
            except Exception:
                log.exception("booking one loop of a cohort run failed")
                response.failures.append(
                    pb.CohortCommitFailure(
                        candidate=assignment.candidate,
                        reason="internal error while booking; commit again to retry",
                    )
                )
        run = _copy(stored.run)
        run.state = S.COHORT_RUN_STATE_COMMITTED
        self.store.save_commit(run_id, run, request_id, response)
        return response

    def close(self, wait_seconds: float = CANCEL_WAIT_SECONDS) -> None:
        """On shutdown: stop every local run; each is stored CANCELLED with its best result so
        far (instead of turning FAILED two minutes later for want of a heartbeat)."""
        with self._lock:
            live = list(self._live.values())
        for item in live:
            item.stop.set()
        deadline = time.monotonic() + wait_seconds
        for item in live:
            if item.thread is not None:
                item.thread.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------ background work

    def _work(self, run_id, live: _Live, directory, searches, limit: timedelta) -> None:
        try:
            # Wait for a solving slot; the else branch runs once one is taken, a break means
            # the run was cancelled while it waited.
            while not self._slots.acquire(timeout=0.5):
                if live.stop.is_set() or self._save(run_id, live, force=True):
                    live.stop.set()
                    break
            else:
                try:
                    self._solve(run_id, live, directory, searches, limit)
                finally:
                    self._slots.release()
                return
            self._finish(run_id, live, S.COHORT_RUN_STATE_CANCELLED)
        except Exception:
            log.exception("cohort run %s failed", run_id)
            live.run.error_message = "the cohort run failed unexpectedly; see the server log"
            self._finish(run_id, live, S.COHORT_RUN_STATE_FAILED)

    def _solve(self, run_id, live: _Live, directory, searches, limit: timedelta) -> None:
        def progress(p: Progress) -> None:
            with self._lock:
                live.run.progress_percent = max(
                    live.run.progress_percent, min(99, int(p.fraction * 100))
                )
                live.run.loops_scheduled = p.loops
            if self._save(run_id, live):
                live.stop.set()

        result = run_cohort(
            searches, directory, time_limit=limit.total_seconds(), stop=live.stop,
            progress=progress, workers=self.workers,
        )
        with self._lock:
            protos.fill_result(live.run, result, searches)
        state = S.COHORT_RUN_STATE_CANCELLED if result.cancelled else S.COHORT_RUN_STATE_SUCCEEDED
        self._finish(run_id, live, state)

    def _save(self, run_id: str, live: _Live, *, force: bool = False) -> bool:
        """Writes the live run at most once per SAVE_EVERY; True when a cancel was requested."""
        now = self.clock()
        if not force and live.saved_at is not None and now - live.saved_at < SAVE_EVERY:
            return False
        live.saved_at = now
        with self._lock:
            snapshot = _copy(live.run)
        return self.store.save(run_id, snapshot, now)

    def _finish(self, run_id: str, live: _Live, state: int) -> None:
        """Stores the final run first, so a final state seen here is already in the store."""
        now = self.clock()
        with self._lock:
            final = _copy(live.run)
        final.state = state
        final.end_time.CopyFrom(timeconv.to_timestamp(now))
        try:
            self.store.save(run_id, final, now)
        finally:
            with self._lock:
                live.run = final
                self._live.pop(run_id, None)

    # ------------------------------------------------------------ helpers

    def _stored(self, run_id: str, name: str) -> StoredRun:
        stored = self.store.get(run_id)
        if stored is None:
            raise NotFound(name)
        return stored

    def _checked(self, stored: StoredRun) -> StoredRun:
        """A RUNNING run nobody has written for `stale_after` lost its process: FAILED."""
        if stored.run.state != S.COHORT_RUN_STATE_RUNNING:
            return stored
        now = self.clock()
        if now - stored.heartbeat_time < self.stale_after:
            return stored
        run = _copy(stored.run)
        run.state = S.COHORT_RUN_STATE_FAILED
        run.error_message = "the server running this cohort stopped before it finished; start it again"
        run.end_time.CopyFrom(timeconv.to_timestamp(now))
        self.store.save(stored.id, run, now)
        return replace(stored, run=run, heartbeat_time=now)

    def _answer(self, existing: StoredRun, digest: str) -> pb.CohortRun:
        if existing.fingerprint != digest:
            raise InvalidArgument("request_id", "already used for a different request")
        return self.get(existing.run.name)


def names_ok(request_id: str) -> bool:
    return 1 <= len(request_id) <= 128 and all(0x21 <= ord(c) <= 0x7E for c in request_id)


def _copy(message):
    out = type(message)()
    out.CopyFrom(message)
    return out
