"""Inputs the fuzzers found that broke a service, kept as plain regression
tests so they are tried on every run, whatever hypothesis draws."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from interviews.accommodations.v1 import accommodations_pb2 as apb
from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.scheduling.v1 import scheduling_pb2 as spb

from tests.fuzz.conftest import FuzzContext
from tests.hardening_support.harness import assert_canonical
from tests.hardening_support.rpcs import Rpc, rpcs

HUGE = Duration(seconds=2**63 - 1)


def _rpc(service: str, name: str) -> Rpc:
    return next(r for r in rpcs(service) if r.name == name)


@pytest.mark.parametrize("request_", [
    spb.CreateLoopTemplateRequest(loop_template=spb.LoopTemplate(buffer_between_sessions=HUGE)),
    spb.CreateLoopTemplateRequest(loop_template=spb.LoopTemplate(display_name="x", sessions=[spb.SessionTemplate(
        title="s", kind=spb.SESSION_KIND_CODING, duration=HUGE, area_rule=spb.AREA_RULE_ANY, interviewers_needed=1)])),
    spb.CreateLoopTemplateRequest(loop_template=spb.LoopTemplate(buffer_between_sessions=Duration(seconds=-(2**63)))),
], ids=["buffer", "session-duration", "negative-buffer"])
def test_a_duration_past_timedeltas_range_is_invalid_argument(request_: spb.CreateLoopTemplateRequest, fuzz: FuzzContext) -> None:
    """Found by the fuzzer: OverflowError in services/core/timeconv.to_timedelta answered INTERNAL (fixed there)."""
    outcome = fuzz.caller.call(_rpc("scheduling", "CreateLoopTemplate"), request_, fuzz.identities["admin"])
    assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, (outcome.code, outcome.details)
    assert_canonical(outcome, request_)


def test_a_hold_with_a_huge_ttl_is_invalid_argument(fuzz: FuzzContext) -> None:
    plan = fuzz.world.plans[0] if fuzz.world.plans else spb.LoopPlan()
    request = spb.CreateHoldRequest(plan=plan, ttl=HUGE, request_id="found-huge-ttl")
    outcome = fuzz.caller.call(_rpc("scheduling", "CreateHold"), request, fuzz.identities["recruiter"])
    assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, (outcome.code, outcome.details)


@pytest.mark.parametrize("who", ["coordinator", "auditor"])
def test_a_ticket_filter_repeating_one_sla_state_is_answered(who: str, fuzz: FuzzContext) -> None:
    # Found by the fuzzer: one OR term per repeated value overflowed SQLite's
    # expression depth (INTERNAL); the filter is a set now.
    request = apb.ListTicketsRequest(page_size=10, sla_states=[apb.SLA_STATE_ON_TRACK] * 2000)
    outcome = fuzz.caller.call(_rpc("accommodations", "ListTickets"), request, fuzz.identities[who])
    assert_canonical(outcome, request)


@pytest.mark.parametrize(("service", "name", "build", "who"), [
    ("scheduling", "CancelLoop", lambda f: spb.CancelLoopRequest(name=f.world.loops[0].name, reason="late\x00", etag="stale"), "admin"),
    ("notifications", "ListDeliveries", lambda f: npb.ListDeliveriesRequest(recipient="\x00"), "admin"),
    ("scheduling", "CreateCandidate", lambda f: spb.CreateCandidateRequest(candidate=spb.Candidate(
        display_name="A\x00", email="a@example.com", time_zone="UTC", primary_area=1)), "recruiter"),
    ("accommodations", "SubmitTicket", lambda f: apb.SubmitTicketRequest(ticket=apb.Ticket(
        candidate=f.world.candidates[0], candidate_email="c@example.org", requested_adjustments=[1], reason="why\x00")),
     "coordinator"),
], ids=["cancel-reason", "delivery-recipient", "candidate-name", "ticket-reason"])
def test_a_nul_character_in_text_is_invalid_argument(service: str, name: str, build, who: str, fuzz: FuzzContext) -> None:  # type: ignore[no-untyped-def]
    """Found by the fuzzer on PostgreSQL (text cannot hold NUL; psycopg raised,
    the caller got INTERNAL). The core interceptor now refuses NUL in any
    string field, on both backends alike."""
    request = build(fuzz)
    outcome = fuzz.caller.call(_rpc(service, name), request, fuzz.identities[who])
    assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, (outcome.code, outcome.details)
    assert_canonical(outcome, request)
