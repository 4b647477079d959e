"""The loader CohortRuns needs, built on the scheduling store's public functions.

One read transaction for the whole cohort: the directory (cached), each candidate and template,
and every active reservation between the earliest usable start and the latest window end (busy
time and the sessions that count towards load limits). Constraints come from the accommodations
service per distinct candidate, after the names are known to exist, as FindLoopPlans does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from services.core.db import Database
from services.scheduling.cohort.protos import CohortQuery
from services.scheduling.domain import model as dm
from services.scheduling.planning import Policy
from services.scheduling.store import directory as dir_store
from services.scheduling.store import snapshot as snap

FetchConstraints = Callable[[str], dm.Constraints]  # candidate id -> approved constraints


def make_loader(
    db: Database,
    cache: snap.DirectoryCache,
    policy: Policy,
    constraints: FetchConstraints,
    clock: Callable[[], datetime],
) -> Callable[[Sequence[CohortQuery]], tuple[dm.DirectorySnapshot, list[dm.SearchRequest]]]:
    def load(queries: Sequence[CohortQuery]) -> tuple[dm.DirectorySnapshot, list[dm.SearchRequest]]:
        now = clock()
        start = min(max(q.window.start, now + policy.min_notice) for q in queries)
        end = max(start, max(min(q.window.end, now + policy.horizon) for q in queries))
        with db.reader() as session:
            directory = cache.get(session, now)
            for office_id in sorted({q.office_id for q in queries if q.office_id}):
                dir_store.get_office(session, office_id)
            candidates = {
                cid: snap.candidate(dir_store.get_candidate(session, cid))
                for cid in dict.fromkeys(q.candidate_id for q in queries)
            }
            templates = {
                tid: snap.template(dir_store.get_template(session, tid))
                for tid in dict.fromkeys(q.template_id for q in queries)
            }
            reserved = snap.load_reserved(session, start, end, now)
        approved = {cid: constraints(cid) for cid in candidates}
        requests = [
            dm.SearchRequest(
                candidate=candidates[q.candidate_id],
                template=templates[q.template_id],
                window=q.window,
                mode=q.mode,
                office_id=q.office_id,
                now=now,
                constraints=approved[q.candidate_id],
                min_notice=policy.min_notice,
                horizon=policy.horizon,
            )
            for q in queries
        ]
        return snap.snapshot(directory, reserved, start, end), requests

    return load
