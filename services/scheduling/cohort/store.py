"""Where cohort runs live between requests.

`SqlRunStore` keeps each run as its serialized `CohortRun` in the scheduling database
(`cohort_runs`, model below on the service's Base), so any replica can answer GetCohortRun,
ListCohortRuns and CommitCohortRun. The replica running a run writes it back about once a second
(progress and a heartbeat) and reads `cancel_requested` at the same time, which is how a
CancelCohortRun that lands on another replica reaches it. `MemoryRunStore` is the same contract
in one process (a single replica, or tests); its runs are lost on restart.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from sqlalchemy import Boolean, Integer, LargeBinary, String, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core.db import Database, UtcDateTime
from services.scheduling.models import Base


class CohortRunRow(Base):
    __tablename__ = "cohort_runs"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    # Unique when set: a retried ScheduleCohort returns the run it started first.
    request_id: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[int] = mapped_column(Integer)  # CohortRunState number
    run: Mapped[bytes] = mapped_column(LargeBinary)  # the serialized CohortRun
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    heartbeat_time: Mapped[datetime] = mapped_column(UtcDateTime)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    commit_request_id: Mapped[str] = mapped_column(String(128), default="")
    commit_response: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


@dataclass(frozen=True)
class StoredRun:
    id: str
    run: pb.CohortRun
    request_id: str
    fingerprint: str
    cancel_requested: bool
    heartbeat_time: datetime
    create_time: datetime
    commit_request_id: str = ""
    commit_response: pb.CommitCohortRunResponse | None = None

    @property
    def key(self) -> list[str]:
        """Keyset position in the list (newest first)."""
        return [self.create_time.isoformat(), self.id]


class RunStore(Protocol):
    def create(self, stored: StoredRun) -> StoredRun:
        """Adds the run; if its request_id is taken, returns the run that has it instead."""

    def find_request(self, request_id: str) -> StoredRun | None: ...

    def get(self, run_id: str) -> StoredRun | None: ...

    def save(self, run_id: str, run: pb.CohortRun, now: datetime) -> bool:
        """Writes the run and its heartbeat; returns whether a cancel was requested."""

    def request_cancel(self, run_id: str) -> None: ...

    def save_commit(
        self, run_id: str, run: pb.CohortRun, request_id: str, response: pb.CommitCohortRunResponse
    ) -> None: ...

    def page(self, after: list | None, limit: int) -> list[StoredRun]:
        """Up to `limit` runs, newest first, after the keyset position `after`."""


class MemoryRunStore:
    def __init__(self) -> None:
        self._runs: dict[str, StoredRun] = {}
        self._lock = threading.Lock()

    def create(self, stored: StoredRun) -> StoredRun:
        with self._lock:
            if stored.request_id:
                for other in self._runs.values():
                    if other.request_id == stored.request_id:
                        return other
            self._runs[stored.id] = stored
            return stored

    def find_request(self, request_id: str) -> StoredRun | None:
        with self._lock:
            return next((r for r in self._runs.values() if r.request_id == request_id), None)

    def get(self, run_id: str) -> StoredRun | None:
        with self._lock:
            return self._runs.get(run_id)

    def save(self, run_id: str, run: pb.CohortRun, now: datetime) -> bool:
        with self._lock:
            old = self._runs[run_id]
            self._runs[run_id] = replace(old, run=_copy(run), heartbeat_time=now)
            return old.cancel_requested

    def request_cancel(self, run_id: str) -> None:
        with self._lock:
            self._runs[run_id] = replace(self._runs[run_id], cancel_requested=True)

    def save_commit(self, run_id, run, request_id, response) -> None:
        with self._lock:
            self._runs[run_id] = replace(
                self._runs[run_id], run=_copy(run), commit_request_id=request_id,
                commit_response=_copy(response),
            )

    def page(self, after: list | None, limit: int) -> list[StoredRun]:
        with self._lock:
            runs = sorted(self._runs.values(), key=lambda r: r.key, reverse=True)
        if after is not None:
            runs = [r for r in runs if r.key < list(after)]
        return runs[:limit]


class SqlRunStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, stored: StoredRun) -> StoredRun:
        row = CohortRunRow(
            id=stored.id,
            request_id=stored.request_id or None,
            fingerprint=stored.fingerprint,
            state=stored.run.state,
            run=stored.run.SerializeToString(),
            cancel_requested=False,
            heartbeat_time=stored.heartbeat_time,
            create_time=stored.create_time,
        )
        try:
            self.db.run(lambda s: s.add(row))
        except IntegrityError:
            # A concurrent retry with the same request_id won the race: that run is the one.
            existing = self.find_request(stored.request_id) if stored.request_id else None
            if existing is None:
                raise
            return existing
        return stored

    def find_request(self, request_id: str) -> StoredRun | None:
        with self.db.reader() as s:
            row = s.scalars(select(CohortRunRow).where(CohortRunRow.request_id == request_id)).first()
            return None if row is None else _stored(row)

    def get(self, run_id: str) -> StoredRun | None:
        with self.db.reader() as s:
            row = s.get(CohortRunRow, run_id)
            return None if row is None else _stored(row)

    def save(self, run_id: str, run: pb.CohortRun, now: datetime) -> bool:
        def work(s) -> bool:
            s.execute(
                update(CohortRunRow)
                .where(CohortRunRow.id == run_id)
                .values(state=run.state, run=run.SerializeToString(), heartbeat_time=now)
            )
            return bool(s.scalar(select(CohortRunRow.cancel_requested).where(CohortRunRow.id == run_id)))

        return self.db.run(work)

    def request_cancel(self, run_id: str) -> None:
        self.db.run(
            lambda s: s.execute(
                update(CohortRunRow).where(CohortRunRow.id == run_id).values(cancel_requested=True)
            )
        )

    def save_commit(self, run_id, run, request_id, response) -> None:
        self.db.run(
            lambda s: s.execute(
                update(CohortRunRow)
                .where(CohortRunRow.id == run_id)
                .values(
                    state=run.state,
                    run=run.SerializeToString(),
                    commit_request_id=request_id,
                    commit_response=response.SerializeToString(),
                )
            )
        )

    def page(self, after: list | None, limit: int) -> list[StoredRun]:
        query = select(CohortRunRow).order_by(
            CohortRunRow.create_time.desc(), CohortRunRow.id.desc()
        )
        if after is not None:
            when = datetime.fromisoformat(after[0])
            query = query.where(
                tuple_(CohortRunRow.create_time, CohortRunRow.id) < tuple_(when, after[1])
            )
        with self.db.reader() as s:
            return [_stored(row) for row in s.scalars(query.limit(limit))]


def _stored(row: CohortRunRow) -> StoredRun:
    return StoredRun(
        id=row.id,
        run=pb.CohortRun.FromString(row.run),
        request_id=row.request_id or "",
        fingerprint=row.fingerprint,
        cancel_requested=row.cancel_requested,
        heartbeat_time=row.heartbeat_time,
        create_time=row.create_time,
        commit_request_id=row.commit_request_id,
        commit_response=(
            None if row.commit_response is None
            else pb.CommitCohortRunResponse.FromString(row.commit_response)
        ),
    )


def _copy(message):
    out = type(message)()
    out.CopyFrom(message)
    return out
