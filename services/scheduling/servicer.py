"""Thin gRPC handlers: check access, parse, run one transaction, map to protos.

The cohort RPCs (ScheduleCohort and friends) come from `CohortHandlers`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from google.protobuf import empty_pb2
from google.protobuf.message import Message

from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from interviews.scheduling.v1 import scheduling_pb2_grpc
from services.core import names, pagination, timeconv
from services.core.auth import current_principal
from services.core.db import Database
from services.core.errors import Aborted, DomainError, InvalidArgument
from services.core.idempotency import fingerprint, run_idempotent
from services.scheduling import access, ics_import
from services.scheduling import convert_directory as cd
from services.scheduling import convert_plans as cp
from services.scheduling.booking import Booking
from services.scheduling.changes import Changes
from services.scheduling.cohort.handlers import CohortHandlers
from services.scheduling.constraints_source import ConstraintsSource
from services.scheduling.domain import model as dm
from services.scheduling.domain.search import find_plans
from services.scheduling.models import IdempotencyRecord
from services.scheduling.searching import Searching, SearchQuery
from services.scheduling.store import directory as store
from services.scheduling.store import loops as loop_store

Clock = Callable[[], datetime]
MAX_PLANS = 50
MAX_SUGGESTIONS = 50
ICS_IMPORT_SOURCE = pb.BUSY_SOURCE_ICS_IMPORT


def _grant(method: str) -> access.Grant:
    return access.decide(method, current_principal())


def _id(pattern: str, value: str, field: str) -> str:
    return names.parse_id(pattern, value, field)


def _new_id(given: str, field: str) -> str:
    return names.validate_id(given, field) if given else names.new_id()[:20]


def _page(request: Message, *filters: Any) -> pagination.KeysetPage:
    """Keyset paging over one list method and its filters."""
    return pagination.KeysetPage(request.page_size, request.page_token, type(request).__name__, *filters)  # type: ignore[attr-defined]


class SchedulingServicer(CohortHandlers, scheduling_pb2_grpc.SchedulingServiceServicer):
    def __init__(self, db: Database, booking: Booking, searching: Searching, constraints: ConstraintsSource, clock: Clock,
                 after_write: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.searching = searching
        # Called after a commit that wrote invites to the outbox: the relay sends them now.
        self.after_write = after_write
        self.booking = booking
        self.changes = Changes(booking)
        self.constraints = constraints
        self.clock = clock

    def _idempotent(self, method: str, request: Message, response_type: type, produce: Callable[[Any], Message]) -> Any:
        try:
            return run_idempotent(self.db, IdempotencyRecord, method, request, response_type, produce)
        except Aborted:
            # A retry that ran while its first attempt was still committing
            # collides with that attempt's own reservations; the first result
            # is the answer, not a conflict.
            stored = self._stored(method, request, response_type)
            if stored is None:
                raise
            return stored

    def _write_constraints(self, method: str, request: Message, candidate_id: str) -> tuple[Any, dm.Constraints]:
        """(None, constraints) for a write that books; (its first result, None)
        for a retry while the constraints cannot be had: a retry must get the
        first result even while accommodations is down. (A retry that does get
        them is answered from its record inside the write transaction.)"""
        try:
            return None, self._constraints(candidate_id)[1]
        except DomainError:
            stored = self._stored(method, request, pb.Loop)
            if stored is None:
                raise
            return stored, None

    def _stored(self, method: str, request: Message, response_type: type) -> Any:
        request_id = getattr(request, "request_id", "")
        if not request_id:
            return None
        with self.db.reader() as s:
            record = s.get(IdempotencyRecord, (method, request_id))
        if record is None or record.fingerprint != fingerprint(request):
            return None
        return response_type.FromString(record.response)

    def _write_invites(self, method: str, request: Message, produce: Callable[[Any], Message]) -> pb.Loop:
        loop = self._idempotent(method, request, pb.Loop, produce)
        self.after_write()
        return loop

    def _constraints(self, candidate_id: str) -> tuple[Any, dm.Constraints]:
        message = self.constraints.fetch(f"candidates/{candidate_id}")
        return message, cp.constraints(message)

    # ------------------------------------------------------------ offices

    def GetOffice(self, request, context):
        _grant("GetOffice")
        office_id = _id("offices/{office}", request.name, "name")
        with self.db.reader() as s:
            return cd.office_proto(store.get_office(s, office_id))

    def ListOffices(self, request, context):
        _grant("ListOffices")
        page = _page(request)
        with self.db.reader() as s:
            rows = store.list_offices(s, page.after, page.size + 1)
        rows, token = page.finish(rows, lambda r: [r.id])
        return pb.ListOfficesResponse(offices=[cd.office_proto(r) for r in rows], next_page_token=token)

    def UpdateOffice(self, request, context):
        _grant("UpdateOffice")
        office_id = _id("offices/{office}", request.office.name, "office.name")
        values = cd.values(request.office, cd.OFFICE_FIELDS, "office", request.update_mask if request.HasField("update_mask") else None)
        now = self.clock()
        return cd.office_proto(self.db.run(lambda s: store.update_office(s, office_id, values, request.office.etag, now)))

    # ------------------------------------------------------------ rooms

    def CreateRoom(self, request, context):
        _grant("CreateRoom")
        office_id = _id("offices/{office}", request.parent, "parent")
        room_id = _new_id(request.room_id, "room_id")
        values = cd.values(request.room, cd.ROOM_FIELDS, "room")
        now = self.clock()
        return self._idempotent("CreateRoom", request, pb.Room, lambda s: cd.room_proto(store.create_room(s, office_id, room_id, values, now)))

    def GetRoom(self, request, context):
        _grant("GetRoom")
        parts = names.parse("offices/{office}/rooms/{room}", request.name, "name")
        with self.db.reader() as s:
            return cd.room_proto(store.get_room(s, parts["office"], parts["room"]))

    def ListRooms(self, request, context):
        _grant("ListRooms")
        office_id = None if request.parent in ("", "offices/-") else _id("offices/{office}", request.parent, "parent")
        page = _page(request, office_id)
        with self.db.reader() as s:
            rows = store.list_rooms(s, office_id, page.after, page.size + 1)
        rows, token = page.finish(rows, lambda r: [r.office_id, r.id])
        return pb.ListRoomsResponse(rooms=[cd.room_proto(r) for r in rows], next_page_token=token)

    def UpdateRoom(self, request, context):
        _grant("UpdateRoom")
        parts = names.parse("offices/{office}/rooms/{room}", request.room.name, "room.name")
        values = cd.values(request.room, cd.ROOM_FIELDS, "room", request.update_mask if request.HasField("update_mask") else None)
        now = self.clock()
        return cd.room_proto(self.db.run(lambda s: store.update_room(s, parts["office"], parts["room"], values, request.room.etag, now)))

    def DeleteRoom(self, request, context):
        _grant("DeleteRoom")
        parts = names.parse("offices/{office}/rooms/{room}", request.name, "name")
        now = self.clock()
        self.db.run(lambda s: store.delete_room(s, parts["office"], parts["room"], request.etag, now))
        return empty_pb2.Empty()

    # ------------------------------------------------------------ interviewers

    def CreateInterviewer(self, request, context):
        _grant("CreateInterviewer")
        interviewer_id = _new_id(request.interviewer_id, "interviewer_id")
        values = cd.values(request.interviewer, cd.INTERVIEWER_FIELDS, "interviewer")
        now = self.clock()
        return self._idempotent("CreateInterviewer", request, pb.Interviewer,
                                lambda s: cd.interviewer_proto(store.create_interviewer(s, interviewer_id, values, now)))

    def GetInterviewer(self, request, context):
        grant = _grant("GetInterviewer")
        interviewer_id = _id("interviewers/{interviewer}", request.name, "name")
        with self.db.reader() as s:
            row = store.get_interviewer(s, interviewer_id)
        grant.require_interviewer(row.email)
        return cd.interviewer_proto(row)

    def ListInterviewers(self, request, context):
        _grant("ListInterviewers")
        if request.ml_area not in common_pb2.MlArea.values():
            raise InvalidArgument("ml_area", "unknown ML area")
        office_id = _id("offices/{office}", request.home_office, "home_office") if request.home_office else ""
        page = _page(request, request.ml_area, office_id)
        with self.db.reader() as s:
            rows = store.list_interviewers(s, request.ml_area, office_id, page.after, page.size + 1)
        rows, token = page.finish(rows, lambda r: [r.id])
        return pb.ListInterviewersResponse(interviewers=[cd.interviewer_proto(r) for r in rows], next_page_token=token)

    def UpdateInterviewer(self, request, context):
        _grant("UpdateInterviewer")
        interviewer_id = _id("interviewers/{interviewer}", request.interviewer.name, "interviewer.name")
        values = cd.values(request.interviewer, cd.INTERVIEWER_FIELDS, "interviewer", request.update_mask if request.HasField("update_mask") else None)
        now = self.clock()
        return cd.interviewer_proto(self.db.run(lambda s: store.update_interviewer(s, interviewer_id, values, request.interviewer.etag, now)))

    def DeleteInterviewer(self, request, context):
        _grant("DeleteInterviewer")
        interviewer_id = _id("interviewers/{interviewer}", request.name, "name")
        now = self.clock()
        self.db.run(lambda s: store.delete_interviewer(s, interviewer_id, request.etag, now))
        return empty_pb2.Empty()

    # ------------------------------------------------------------ busy time

    def CreateBusyBlock(self, request, context):
        _grant("CreateBusyBlock")
        interviewer_id = _id("interviewers/{interviewer}", request.parent, "parent")
        start, end = timeconv.time_range(request.busy_block.time_range, "busy_block.time_range")
        if end - start > timedelta(days=366):
            raise InvalidArgument("busy_block.time_range", "at most one year")
        kind = request.busy_block.kind or pb.BUSY_KIND_BUSY
        if kind not in pb.BusyKind.values():
            raise InvalidArgument("busy_block.kind", "unknown kind")
        now = self.clock()
        return self._idempotent("CreateBusyBlock", request, pb.BusyBlock, lambda s: cd.busy_block_proto(
            store.create_busy_block(s, interviewer_id, start, end, kind, pb.BUSY_SOURCE_API, now)))

    def ListBusyBlocks(self, request, context):
        grant = _grant("ListBusyBlocks")
        interviewer_id = _id("interviewers/{interviewer}", request.parent, "parent")
        start = end = None
        if request.HasField("time_range"):
            start, end = timeconv.time_range(request.time_range, "time_range")
        page = _page(request, interviewer_id, start, end)
        with self.db.reader() as s:
            grant.require_interviewer(store.get_interviewer(s, interviewer_id).email)
            rows = store.list_busy_blocks(s, interviewer_id, start, end, page.after, page.size + 1)
        rows, token = page.finish(rows, lambda r: [r.start_time.isoformat(), r.id])
        return pb.ListBusyBlocksResponse(busy_blocks=[cd.busy_block_proto(r) for r in rows], next_page_token=token)

    def DeleteBusyBlock(self, request, context):
        _grant("DeleteBusyBlock")
        parts = names.parse("interviewers/{interviewer}/busyBlocks/{busy_block}", request.name, "name")
        self.db.run(lambda s: store.delete_busy_block(s, parts["interviewer"], parts["busy_block"]))
        return empty_pb2.Empty()

    def ImportBusyBlocks(self, request, context):
        _grant("ImportBusyBlocks")
        interviewer_id = _id("interviewers/{interviewer}", request.parent, "parent")
        start, end = timeconv.time_range(request.expand_range, "expand_range")
        with self.db.reader() as s:
            zone = store.get_interviewer(s, interviewer_id).time_zone
        blocks = ics_import.parse_busy(request.ics_data, start, end, zone)
        now = self.clock()
        imported, replaced = self.db.run(lambda s: store.replace_imported_busy_blocks(s, interviewer_id, blocks, ICS_IMPORT_SOURCE, now))
        return pb.ImportBusyBlocksResponse(imported_count=imported, replaced_count=replaced)

    # ------------------------------------------------------------ candidates

    def CreateCandidate(self, request, context):
        _grant("CreateCandidate")
        candidate_id = _new_id(request.candidate_id, "candidate_id")
        values = cd.values(request.candidate, cd.CANDIDATE_FIELDS, "candidate")
        now = self.clock()
        return self._idempotent("CreateCandidate", request, pb.Candidate,
                                lambda s: cd.candidate_proto(store.create_candidate(s, candidate_id, values, now)))

    def GetCandidate(self, request, context):
        grant = _grant("GetCandidate")
        candidate_id = _id("candidates/{candidate}", request.name, "name")
        grant.require_candidate(candidate_id)
        with self.db.reader() as s:
            return cd.candidate_proto(store.get_candidate(s, candidate_id))

    def ListCandidates(self, request, context):
        _grant("ListCandidates")
        page = _page(request)
        with self.db.reader() as s:
            rows = store.list_candidates(s, page.after, page.size + 1)
        rows, token = page.finish(rows, lambda r: [r.id])
        return pb.ListCandidatesResponse(candidates=[cd.candidate_proto(r) for r in rows], next_page_token=token)

    def UpdateCandidate(self, request, context):
        _grant("UpdateCandidate")
        candidate_id = _id("candidates/{candidate}", request.candidate.name, "candidate.name")
        values = cd.values(request.candidate, cd.CANDIDATE_FIELDS, "candidate", request.update_mask if request.HasField("update_mask") else None)
        now = self.clock()
        return cd.candidate_proto(self.db.run(lambda s: store.update_candidate(s, candidate_id, values, request.candidate.etag, now)))

    def DeleteCandidate(self, request, context):
        _grant("DeleteCandidate")
        candidate_id = _id("candidates/{candidate}", request.name, "name")
        now = self.clock()
        self.db.run(lambda s: store.delete_candidate(s, candidate_id, request.etag, now))
        return empty_pb2.Empty()

    # ------------------------------------------------------------ loop templates

    def CreateLoopTemplate(self, request, context):
        _grant("CreateLoopTemplate")
        template_id = _new_id(request.loop_template_id, "loop_template_id")
        values = cd.values(request.loop_template, cd.TEMPLATE_FIELDS, "loop_template")
        now = self.clock()
        return self._idempotent("CreateLoopTemplate", request, pb.LoopTemplate,
                                lambda s: cd.template_proto(store.create_template(s, template_id, values, now)))

    def GetLoopTemplate(self, request, context):
        _grant("GetLoopTemplate")
        template_id = _id("loopTemplates/{loop_template}", request.name, "name")
        with self.db.reader() as s:
            return cd.template_proto(store.get_template(s, template_id))

    def ListLoopTemplates(self, request, context):
        _grant("ListLoopTemplates")
        page = _page(request)
        with self.db.reader() as s:
            rows = store.list_templates(s, page.after, page.size + 1)
        rows, token = page.finish(rows, lambda r: [r.id])
        return pb.ListLoopTemplatesResponse(loop_templates=[cd.template_proto(r) for r in rows], next_page_token=token)

    def UpdateLoopTemplate(self, request, context):
        _grant("UpdateLoopTemplate")
        template_id = _id("loopTemplates/{loop_template}", request.loop_template.name, "loop_template.name")
        mask = request.update_mask if request.HasField("update_mask") else None
        values = cd.values(request.loop_template, cd.TEMPLATE_FIELDS, "loop_template", mask)
        now = self.clock()
        return cd.template_proto(self.db.run(lambda s: store.update_template(s, template_id, values, request.loop_template.etag, now)))

    def DeleteLoopTemplate(self, request, context):
        _grant("DeleteLoopTemplate")
        template_id = _id("loopTemplates/{loop_template}", request.name, "name")
        self.db.run(lambda s: store.delete_template(s, template_id, request.etag))
        return empty_pb2.Empty()

    # ------------------------------------------------------------ search and booking

    def FindLoopPlans(self, request, context):
        _grant("FindLoopPlans")
        candidate_id = _id("candidates/{candidate}", request.candidate, "candidate")
        template_id = _id("loopTemplates/{loop_template}", request.loop_template, "loop_template")
        start, end = timeconv.time_range(request.window, "window")
        if request.location_mode not in (pb.LOCATION_MODE_ONSITE, pb.LOCATION_MODE_REMOTE):
            raise InvalidArgument("location_mode", "must be ONSITE or REMOTE")
        office_id = None
        if request.location_mode == pb.LOCATION_MODE_ONSITE:
            office_id = _id("offices/{office}", request.office, "office")
        if not 0 <= request.max_plans <= MAX_PLANS:
            raise InvalidArgument("max_plans", f"must be 0-{MAX_PLANS} (0 means 5)")
        reschedule = _id("loops/{loop}", request.reschedule_loop, "reschedule_loop") if request.reschedule_loop else None
        query = SearchQuery(candidate_id, template_id, dm.TimeRange(start, end), dm.LocationMode(request.location_mode), office_id,
                            request.max_plans or 5, reschedule)
        applied, constraints = self._constraints(candidate_id)
        now = self.clock()
        with self.db.reader() as s:
            search, world, zone = self.searching.search_input(s, query, constraints, now)
        result = find_plans(search, world)
        return pb.FindLoopPlansResponse(
            plans=[cp.plan_proto(p, zone) for p in result.plans],
            no_plan_reasons=[cp.no_plan_reason_proto(r) for r in result.no_plan_reasons],
            applied_constraints=applied,
        )

    def BookLoop(self, request, context):
        _grant("BookLoop")
        plan = cp.plan_from_proto(request.plan, "plan")
        stored, constraints = self._write_constraints("BookLoop", request, plan.candidate_id)
        if stored is not None:
            return stored
        now = self.clock()
        return self._write_invites("BookLoop", request, lambda s: cp.loop_proto(self.booking.book(s, plan, constraints, now)))

    def GetLoop(self, request, context):
        grant = _grant("GetLoop")
        loop_id = _id("loops/{loop}", request.name, "name")
        with self.db.reader() as s:
            record = loop_store.get_loop(s, loop_id)
        grant.require_candidate(record.loop.candidate_id)
        return cp.loop_proto(record)

    def ListLoops(self, request, context):
        grant = _grant("ListLoops")
        candidate_id = _id("candidates/{candidate}", request.candidate, "candidate") if request.candidate else ""
        if grant.own is access.Own.CANDIDATE and not candidate_id:
            raise InvalidArgument("candidate", "required for candidates (your own name)")
        grant.require_candidate(candidate_id)
        if request.state not in pb.LoopState.values():
            raise InvalidArgument("state", "unknown state")
        page = _page(request, candidate_id, request.state)
        with self.db.reader() as s:
            records = loop_store.list_loops(s, candidate_id, request.state, page.after, page.size + 1)
        records, token = page.finish(records, lambda r: [r.loop.id])
        return pb.ListLoopsResponse(loops=[cp.loop_proto(r) for r in records], next_page_token=token)

    def RescheduleLoop(self, request, context):
        _grant("RescheduleLoop")
        loop_id = _id("loops/{loop}", request.name, "name")
        plan = cp.plan_from_proto(request.plan, "plan")
        stored, constraints = self._write_constraints("RescheduleLoop", request, plan.candidate_id)
        if stored is not None:
            return stored
        now = self.clock()
        return self._write_invites("RescheduleLoop", request, lambda s: cp.loop_proto(
            self.changes.reschedule(s, loop_id, plan, request.etag, constraints, now)))

    def CancelLoop(self, request, context):
        _grant("CancelLoop")
        loop_id = _id("loops/{loop}", request.name, "name")
        now = self.clock()
        return self._write_invites("CancelLoop", request, lambda s: cp.loop_proto(
            self.changes.cancel(s, loop_id, request.reason, request.etag, now)))

    def _loop_constraints(self, loop_id: str) -> dm.Constraints:
        with self.db.reader() as s:
            candidate_id = loop_store.get_loop(s, loop_id).loop.candidate_id
        return self._constraints(candidate_id)[1]

    def SuggestReplacementInterviewers(self, request, context):
        _grant("SuggestReplacementInterviewers")
        loop_id = _id("loops/{loop}", request.loop, "loop")
        interviewer = _id("interviewers/{interviewer}", request.interviewer, "interviewer")
        if not 0 <= request.max_suggestions <= MAX_SUGGESTIONS:
            raise InvalidArgument("max_suggestions", f"must be 0-{MAX_SUGGESTIONS} (0 means 5)")
        constraints = self._loop_constraints(loop_id)
        now = self.clock()
        with self.db.reader() as s:
            found = self.changes.suggest(s, loop_id, request.session_id, interviewer, request.max_suggestions or 5, constraints, now)
        return pb.SuggestReplacementInterviewersResponse(interviewers=[f"interviewers/{i}" for i in found])

    def ReplaceInterviewer(self, request, context):
        _grant("ReplaceInterviewer")
        loop_id = _id("loops/{loop}", request.name, "name")
        interviewer = _id("interviewers/{interviewer}", request.interviewer, "interviewer")
        replacement = _id("interviewers/{interviewer}", request.replacement, "replacement") if request.replacement else ""
        constraints = self._loop_constraints(loop_id)
        now = self.clock()
        return self._write_invites("ReplaceInterviewer", request, lambda s: cp.loop_proto(
            self.changes.replace(s, loop_id, request.session_id, interviewer, replacement, request.etag, constraints, now)))

    def RevalidateCandidateLoops(self, request, context):
        _grant("RevalidateCandidateLoops")
        candidate_id = _id("candidates/{candidate}", request.candidate, "candidate")
        _, constraints = self._constraints(candidate_id)
        now = self.clock()
        violating, checked = self.db.run(lambda s: self.changes.revalidate(s, candidate_id, constraints, now))
        return pb.RevalidateCandidateLoopsResponse(violating_loops=[cp.loop_proto(r) for r in violating], checked_count=checked)

    # ------------------------------------------------------------ holds

    def CreateHold(self, request, context):
        _grant("CreateHold")
        plan = cp.plan_from_proto(request.plan, "plan")
        ttl = self.booking.hold_ttl(timeconv.to_timedelta(request.ttl, "ttl") if request.HasField("ttl") else None)
        _, constraints = self._constraints(plan.candidate_id)
        now = self.clock()

        def produce(s):
            row, zone = self.booking.hold(s, plan, constraints, ttl, now)
            return cp.hold_proto(row, zone, now)

        return self._idempotent("CreateHold", request, pb.Hold, produce)

    def _hold_owner(self, grant: access.Grant, hold_id: str) -> str:
        with self.db.reader() as s:
            candidate_id = loop_store.get_hold(s, hold_id).candidate_id
        grant.require_candidate(candidate_id)
        return candidate_id

    def GetHold(self, request, context):
        grant = _grant("GetHold")
        hold_id = _id("holds/{hold}", request.name, "name")
        candidate_id = self._hold_owner(grant, hold_id)
        with self.db.reader() as s:
            row = loop_store.get_hold(s, hold_id)
            zone = store.get_candidate(s, candidate_id).time_zone
        return cp.hold_proto(row, zone, self.clock())

    def ConfirmHold(self, request, context):
        grant = _grant("ConfirmHold")
        hold_id = _id("holds/{hold}", request.name, "name")
        candidate_id = self._hold_owner(grant, hold_id)
        stored, constraints = self._write_constraints("ConfirmHold", request, candidate_id)
        if stored is not None:
            return stored
        now = self.clock()
        return self._write_invites("ConfirmHold", request, lambda s: cp.loop_proto(
            self.booking.confirm_hold(s, hold_id, constraints, now)))

    def ReleaseHold(self, request, context):
        grant = _grant("ReleaseHold")
        hold_id = _id("holds/{hold}", request.name, "name")
        candidate_id = self._hold_owner(grant, hold_id)
        now = self.clock()

        def work(s):
            row = self.booking.release_hold(s, hold_id, now)
            return cp.hold_proto(row, store.get_candidate(s, candidate_id).time_zone, now)

        return self.db.run(work)
