"""The read behind FindLoopPlans: the candidate, template and world a search
needs, in one read transaction. The search itself runs after it: it is all
CPU and need not hold a database connection.

New loops search the replica's shared world (`store/search_world.py`);
a reschedule, which must leave its own loop out, reads the reservations
afresh."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from services.core.errors import InvalidArgument
from services.scheduling.candidate_time import without_booked
from services.scheduling.domain import model as dm
from services.scheduling.domain import rules
from services.scheduling.planning import Policy
from services.scheduling.store import directory as dir_store
from services.scheduling.store import loops as loop_store
from services.scheduling.store import snapshot as snap
from services.scheduling.store.search_world import SearchWorlds


@dataclass(frozen=True)
class SearchQuery:
    candidate_id: str
    template_id: str
    window: dm.TimeRange
    mode: dm.LocationMode
    office_id: str | None
    max_plans: int
    reschedule_loop: str | None = None


class Searching:
    def __init__(self, worlds: SearchWorlds, directories: snap.DirectoryCache, policy: Policy) -> None:
        self.worlds = worlds
        self.directories = directories
        self.policy = policy

    def search_input(self, session: Session, query: SearchQuery, constraints: dm.Constraints,
                     now: datetime) -> tuple[dm.SearchRequest, dm.DirectorySnapshot, str]:
        """What `find_plans` needs and the candidate's zone."""
        candidate_row = dir_store.get_candidate(session, query.candidate_id)
        template = snap.template(dir_store.get_template(session, query.template_id))
        if query.office_id:
            dir_store.get_office(session, query.office_id)
        lead = timedelta(minutes=rules.gap_minutes(template, constraints))
        # Nothing outside notice..horizon can be planned, so nothing outside it matters.
        start = max(query.window.start, now + self.policy.min_notice)
        end = max(start, min(query.window.end, now + self.policy.horizon))
        if query.reschedule_loop:
            record = loop_store.get_loop(session, query.reschedule_loop)
            if record.loop.candidate_id != query.candidate_id:
                raise InvalidArgument("reschedule_loop", "belongs to another candidate")
            reserved = snap.load_reserved(session, start, end, now, exclude_owner=f"loops/{record.loop.id}")
            world = snap.snapshot(self.directories.get(session, now), reserved, start, end, lead=lead)
        else:
            shared = self.worlds.get(session, now, lead)
            reserved, world = shared.reserved, shared.snapshot
        candidate = without_booked(snap.candidate(candidate_row), reserved.candidate_busy.get(query.candidate_id, ()),
                                   dm.TimeRange(start, end), lead)
        request = dm.SearchRequest(
            candidate=candidate,
            template=template,
            window=query.window,
            mode=query.mode,
            office_id=query.office_id,
            now=now,
            constraints=constraints,
            max_plans=query.max_plans,
            min_notice=self.policy.min_notice,
            horizon=self.policy.horizon,
        )
        return request, world, candidate_row.time_zone
