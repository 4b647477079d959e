"""The five cohort RPCs, mixed into `SchedulingServicer` (which sets `self.cohorts`).

Handlers stay thin: check access against scheduling's one policy table
(`access.POLICY`: recruiters, admins and the recruiting tool run and commit;
coordinators and auditors may look), hand the proto to `CohortRuns`, return its
proto. Committing books through the servicer's own `BookLoop`, so each loop
gets exactly the checks, transaction, invites and request-id record of a
single booking.
"""

from __future__ import annotations

from typing import Any

from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core.auth import current_principal
from services.scheduling import access
from services.scheduling.cohort.runs import CohortRuns


class CohortHandlers:
    """Needs `self.cohorts` and the servicer's `BookLoop(request, context)`."""

    cohorts: CohortRuns

    def ScheduleCohort(self, request: pb.ScheduleCohortRequest, context: Any) -> pb.CohortRun:
        access.decide("ScheduleCohort", current_principal())
        return self.cohorts.schedule(request)

    def GetCohortRun(self, request: pb.GetCohortRunRequest, context: Any) -> pb.CohortRun:
        access.decide("GetCohortRun", current_principal())
        return self.cohorts.get(request.name)

    def ListCohortRuns(self, request: pb.ListCohortRunsRequest, context: Any) -> pb.ListCohortRunsResponse:
        access.decide("ListCohortRuns", current_principal())
        runs, token = self.cohorts.list(request.page_size, request.page_token)
        return pb.ListCohortRunsResponse(cohort_runs=runs, next_page_token=token)

    def CancelCohortRun(self, request: pb.CancelCohortRunRequest, context: Any) -> pb.CohortRun:
        access.decide("CancelCohortRun", current_principal())
        return self.cohorts.cancel(request.name)

    def CommitCohortRun(
        self, request: pb.CommitCohortRunRequest, context: Any
    ) -> pb.CommitCohortRunResponse:
        access.decide("CommitCohortRun", current_principal())

        def book(plan: pb.LoopPlan, request_id: str) -> pb.Loop:
            return self.BookLoop(  # type: ignore[attr-defined]
                pb.BookLoopRequest(plan=plan, request_id=request_id), context
            )

        return self.cohorts.commit(request.name, request.request_id, book)
