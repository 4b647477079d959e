"""The five cohort RPCs, ready to mix into `SchedulingServicer`.

    class SchedulingServicer(CohortHandlers, scheduling_pb2_grpc.SchedulingServiceServicer): ...

and set `self.cohorts` (a `CohortRuns`). Handlers stay thin: check the role, hand the proto to
`CohortRuns`, return its proto. Committing books through the servicer's own `BookLoop`, so each
loop gets exactly the checks, transaction, invites and request-id record of a single booking.
Roles follow the loop methods: recruiters and admins search and book; coordinators and auditors
may look.
"""

from __future__ import annotations

from typing import Any

from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core.auth import Role, require_role
from services.scheduling.cohort.runs import CohortRuns

WRITE = (Role.RECRUITER, Role.ADMIN)
READ = (Role.RECRUITER, Role.COORDINATOR, Role.AUDITOR, Role.ADMIN)


class CohortHandlers:
    """Needs `self.cohorts` and the servicer's `BookLoop(request, context)`."""

    cohorts: CohortRuns

    def ScheduleCohort(self, request: pb.ScheduleCohortRequest, context: Any) -> pb.CohortRun:
        require_role(*WRITE)
        return self.cohorts.schedule(request)

    def GetCohortRun(self, request: pb.GetCohortRunRequest, context: Any) -> pb.CohortRun:
        require_role(*READ)
        return self.cohorts.get(request.name)

    def ListCohortRuns(self, request: pb.ListCohortRunsRequest, context: Any) -> pb.ListCohortRunsResponse:
        require_role(*READ)
        runs, token = self.cohorts.list(request.page_size, request.page_token)
        return pb.ListCohortRunsResponse(cohort_runs=runs, next_page_token=token)

    def CancelCohortRun(self, request: pb.CancelCohortRunRequest, context: Any) -> pb.CohortRun:
        require_role(*WRITE)
        return self.cohorts.cancel(request.name)

    def CommitCohortRun(
        self, request: pb.CommitCohortRunRequest, context: Any
    ) -> pb.CommitCohortRunResponse:
        require_role(*WRITE)

        def book(plan: pb.LoopPlan, request_id: str) -> pb.Loop:
            return self.BookLoop(  # type: ignore[attr-defined]
                pb.BookLoopRequest(plan=plan, request_id=request_id), context
            )

        return self.cohorts.commit(request.name, request.request_id, book)
