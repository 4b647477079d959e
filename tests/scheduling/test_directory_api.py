"""Directory RPCs through the server, on SQLite and PostgreSQL: creates with
request ids, validation naming the field, paging, etags, access to own
records, and busy time imported from an .ics file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from tests.scheduling.conftest import MON, NLP, add_candidate, add_interviewer, add_room, add_template, find, time_range


def test_offices_are_seeded_and_admins_change_hours(scheduling, token):
    s = scheduling
    offices = s.call("ListOffices", pb.ListOfficesRequest()).offices
    assert {o.name: o.display_name for o in offices} == {"offices/los-angeles": "Los Angeles", "offices/los-gatos": "Los Gatos"}
    office = s.call("GetOffice", pb.GetOfficeRequest(name="offices/los-gatos"))
    assert office.time_zone == "America/Los_Angeles" and len(office.office_hours) == 5 and office.address
    office.holidays.append(common_pb2.Date(year=2026, month=3, day=9))
    with pytest.raises(grpc.RpcError) as caught:
        s.call("UpdateOffice", pb.UpdateOfficeRequest(office=office, update_mask=FieldMask(paths=["holidays"])))
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    admin = token("admin")
    updated = s.call("UpdateOffice", pb.UpdateOfficeRequest(office=office, update_mask=FieldMask(paths=["holidays"])), as_=admin)
    assert [(d.month, d.day) for d in updated.holidays] == [(3, 9)]
    with pytest.raises(grpc.RpcError) as caught:
        s.call("UpdateOffice", pb.UpdateOfficeRequest(office=office, update_mask=FieldMask(paths=["holidays"])), as_=admin)
    assert caught.value.code() == grpc.StatusCode.ABORTED  # the etag moved on
    # The holiday closes the office for onsite loops, not for remote ones.
    add_interviewer(s, "ana", [NLP])
    add_interviewer(s, "bo", [NLP])
    add_room(s, "r1")
    add_candidate(s, "cand")
    add_template(s, "two")
    onsite = find(s, "cand", "two", MON, MON + timedelta(days=1), onsite="los-gatos")
    assert not onsite.plans and onsite.no_plan_reasons
    assert find(s, "cand", "two", MON, MON + timedelta(days=1)).plans


def test_create_validates_and_names_the_field(scheduling):
    s = scheduling
    bad = pb.Interviewer(email="not-an-email", home_office="offices/los-gatos", time_zone="Mars/Olympus")
    with pytest.raises(grpc.RpcError) as caught:
        s.call("CreateInterviewer", pb.CreateInterviewerRequest(interviewer=bad))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "interviewer.email" in caught.value.details() and "interviewer.time_zone" in caught.value.details()
    with pytest.raises(grpc.RpcError) as caught:
        add_interviewer(s, "ana", [NLP], office="nowhere")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as caught:
        s.call("CreateLoopTemplate", pb.CreateLoopTemplateRequest(loop_template=pb.LoopTemplate(display_name="empty")))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_create_with_request_id_is_idempotent_and_duplicate_ids_clash(scheduling):
    s = scheduling
    request = pb.CreateRoomRequest(parent="offices/los-angeles", room_id="blue", request_id="room-1", room=pb.Room(capacity=4))
    first = s.call("CreateRoom", request)
    assert s.call("CreateRoom", request) == first
    with pytest.raises(grpc.RpcError) as caught:
        s.call("CreateRoom", pb.CreateRoomRequest(parent="offices/los-angeles", room_id="blue", room=pb.Room(capacity=4)))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_lists_page_with_tokens_and_filters(scheduling):
    s = scheduling
    for i in range(7):
        add_interviewer(s, f"iv{i}", [NLP] if i % 2 else [common_pb2.ML_AREA_COMPUTER_VISION])
    seen, token = [], ""
    while True:
        page = s.call("ListInterviewers", pb.ListInterviewersRequest(page_size=3, page_token=token))
        seen += [i.name for i in page.interviewers]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"interviewers/iv{i}" for i in range(7)]
    nlp = s.call("ListInterviewers", pb.ListInterviewersRequest(ml_area=NLP, page_size=2))
    assert [i.name for i in nlp.interviewers] == ["interviewers/iv1", "interviewers/iv3"]
    with pytest.raises(grpc.RpcError) as caught:
        s.call("ListInterviewers", pb.ListInterviewersRequest(page_size=2, page_token=nlp.next_page_token))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # token of another filter


def test_update_with_mask_and_delete_with_etag(scheduling):
    s = scheduling
    room = add_room(s, "r1")
    room.capacity = 9
    room.display_name = "ignored"
    updated = s.call("UpdateRoom", pb.UpdateRoomRequest(room=room, update_mask=FieldMask(paths=["capacity"])))
    assert updated.capacity == 9 and updated.display_name == "R1"
    with pytest.raises(grpc.RpcError) as caught:
        s.call("DeleteRoom", pb.DeleteRoomRequest(name=room.name, etag=room.etag))
    assert caught.value.code() == grpc.StatusCode.ABORTED
    s.call("DeleteRoom", pb.DeleteRoomRequest(name=room.name, etag=updated.etag))
    with pytest.raises(grpc.RpcError) as caught:
        s.call("GetRoom", pb.GetRoomRequest(name=room.name))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_people_reach_only_their_own_records(scheduling, token):
    s = scheduling
    add_interviewer(s, "ana", [NLP])
    add_candidate(s, "cand")
    ana = token("interviewer", "ana@example.com")
    assert s.call("GetInterviewer", pb.GetInterviewerRequest(name="interviewers/ana"), as_=ana).email == "ana@example.com"
    add_interviewer(s, "bo", [NLP])
    for method, request, who in [
        ("GetInterviewer", pb.GetInterviewerRequest(name="interviewers/bo"), ana),
        ("ListCandidates", pb.ListCandidatesRequest(), ana),
        ("GetCandidate", pb.GetCandidateRequest(name="candidates/other"), token("candidate", "candidates/cand")),
        ("ListLoops", pb.ListLoopsRequest(candidate="candidates/other"), token("candidate", "candidates/cand")),
        ("BookLoop", pb.BookLoopRequest(), token("coordinator")),
    ]:
        with pytest.raises(grpc.RpcError) as caught:
            s.call(method, request, as_=who)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED, method
    assert s.call("GetCandidate", pb.GetCandidateRequest(name="candidates/cand"), as_=token("candidate", "candidates/cand")).name


ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:standup@test
DTSTART;TZID=America/Los_Angeles:20260302T100000
DTEND;TZID=America/Los_Angeles:20260302T110000
RRULE:FREQ=DAILY;COUNT=10
SUMMARY:Standup
END:VEVENT
BEGIN:VEVENT
UID:free@test
DTSTART:20260303T200000Z
DTEND:20260303T210000Z
TRANSP:TRANSPARENT
SUMMARY:Free time
END:VEVENT
BEGIN:VEVENT
UID:ooo@test
DTSTART;VALUE=DATE:20260312
DTEND;VALUE=DATE:20260313
X-MICROSOFT-CDO-BUSYSTATUS:OOF
SUMMARY:Vacation
END:VEVENT
END:VCALENDAR
"""


def test_ics_import_expands_recurrence_across_dst_and_replaces_earlier_import(scheduling):
    s = scheduling
    add_interviewer(s, "ana", [NLP])
    window = time_range(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 20, tzinfo=UTC))
    s.call("CreateBusyBlock", pb.CreateBusyBlockRequest(parent="interviewers/ana", busy_block=pb.BusyBlock(
        time_range=time_range(datetime(2026, 3, 16, 17, tzinfo=UTC), datetime(2026, 3, 16, 18, tzinfo=UTC)))))
    response = s.call("ImportBusyBlocks", pb.ImportBusyBlocksRequest(parent="interviewers/ana", ics_data=ICS, expand_range=window))
    assert (response.imported_count, response.replaced_count) == (11, 0)  # 10 standups + 1 day off; the free event skipped
    blocks = s.call("ListBusyBlocks", pb.ListBusyBlocksRequest(parent="interviewers/ana", page_size=100)).busy_blocks
    standups = [b for b in blocks if b.source == pb.BUSY_SOURCE_ICS_IMPORT and b.kind == pb.BUSY_KIND_BUSY]
    hours = [datetime.fromtimestamp(b.time_range.start_time.seconds, UTC).hour for b in standups]
    # 10:00 local: 18:00 UTC in PST, 17:00 UTC from 8 March (PDT).
    assert hours == [18] * 6 + [17] * 4
    ooo = [b for b in blocks if b.kind == pb.BUSY_KIND_OUT_OF_OFFICE]
    assert len(ooo) == 1 and datetime.fromtimestamp(ooo[0].time_range.start_time.seconds, UTC) == datetime(2026, 3, 12, 7, tzinfo=UTC)
    again = s.call("ImportBusyBlocks", pb.ImportBusyBlocksRequest(parent="interviewers/ana", ics_data=ICS, expand_range=window))
    assert (again.imported_count, again.replaced_count) == (11, 11)
    assert len(s.call("ListBusyBlocks", pb.ListBusyBlocksRequest(parent="interviewers/ana", page_size=100)).busy_blocks) == 12
    with pytest.raises(grpc.RpcError) as caught:
        s.call("ImportBusyBlocks", pb.ImportBusyBlocksRequest(parent="interviewers/ana", ics_data=b"garbage", expand_range=window))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_busy_time_and_out_of_office_keep_plans_away(scheduling):
    s = scheduling
    add_interviewer(s, "ana", [NLP])
    add_candidate(s, "cand")
    add_template(s, "one", (60,))
    first = find(s, "cand", "one", MON, MON + timedelta(days=1)).plans[0].sessions[0]
    start = datetime.fromtimestamp(first.time_range.start_time.seconds, UTC)
    s.call("CreateBusyBlock", pb.CreateBusyBlockRequest(parent="interviewers/ana", busy_block=pb.BusyBlock(
        time_range=time_range(start, start + timedelta(hours=2)))))
    after = find(s, "cand", "one", MON, MON + timedelta(days=1)).plans[0].sessions[0]
    assert after.time_range.start_time.seconds >= (start + timedelta(hours=2)).timestamp()
    s.call("CreateBusyBlock", pb.CreateBusyBlockRequest(parent="interviewers/ana", busy_block=pb.BusyBlock(
        kind=pb.BUSY_KIND_OUT_OF_OFFICE, time_range=time_range(MON, MON + timedelta(days=1)))))
    none = find(s, "cand", "one", MON, MON + timedelta(days=1))
    assert not none.plans and none.no_plan_reasons
