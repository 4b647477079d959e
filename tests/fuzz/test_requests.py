"""Arbitrary and malformed requests to every RPC of every service.

Each RPC of each contract (enumerated from the descriptors, so a new RPC is
fuzzed without editing this file) gets FUZZ_EXAMPLES / (its service's RPC
count) generated requests from a mix of callers. Every answer must be a valid
result or a canonical error within the client deadline; afterwards the
service's database invariants must still hold.
"""

from __future__ import annotations

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.config import SERVICES
from tests.fuzz.conftest import (
    FUZZ_EXAMPLES,
    FuzzContext,
    fuzz_settings,
    per_rpc_examples,
)
from tests.hardening_support.harness import assert_canonical, describe
from tests.hardening_support.rpcs import NOT_YET_IMPLEMENTED, Rpc, all_rpcs, rpcs
from tests.hardening_support.strategies import wire_mutations

pytestmark = [
    # The suite-wide 300 s timeout fits the short run; the long one scales with FUZZ_EXAMPLES.
    pytest.mark.timeout(300 + FUZZ_EXAMPLES // 10),
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),
    # The in-process services use `random` on their own threads (retry jitter)
    # while hypothesis generates; that is not a strategy using it.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]


@pytest.mark.parametrize("rpc", all_rpcs(), ids=str)
def test_fuzzed_request_gets_a_result_or_a_canonical_error(rpc: Rpc, fuzz: FuzzContext) -> None:
    if str(rpc) in NOT_YET_IMPLEMENTED:
        pytest.skip(f"{rpc} is not implemented yet (tests/fuzz/test_contract.py)")
    cases = st.tuples(fuzz.strategies.for_message(rpc.input), fuzz.identity_strategy(rpc.service))

    @fuzz_settings(per_rpc_examples(rpc.service))
    @given(case=cases)
    def run(case) -> None:  # type: ignore[no-untyped-def]
        request, (label, metadata) = case
        fuzz.caller.check(rpc, request, metadata, label=label)

    run()
    problems = fuzz.problems(rpc.service)
    assert not problems, f"after fuzzing {rpc}, the {rpc.service} database is inconsistent:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("service", SERVICES)
def test_malformed_request_bytes_are_refused_cleanly(service: str, fuzz: FuzzContext) -> None:
    """Bytes that are not a valid encoding (truncated, invalid UTF-8 in a
    string, wrong wire types, noise): never INTERNAL, whatever the RPC."""
    service_rpcs = [rpc for rpc in rpcs(service) if str(rpc) not in NOT_YET_IMPLEMENTED]
    by_name = {rpc.name: rpc for rpc in service_rpcs}
    budget = max(20, per_rpc_examples(service) * len(service_rpcs) // 10)
    cases = st.sampled_from(sorted(by_name)).flatmap(
        lambda name: st.tuples(st.just(name), wire_mutations(fuzz.strategies.for_message(by_name[name].input)))
    )

    @fuzz_settings(budget)
    @given(case=cases, identity=fuzz.identity_strategy(service))
    def run(case, identity) -> None:  # type: ignore[no-untyped-def]
        name, raw = case
        label, metadata = identity
        fuzz.caller.check(by_name[name], raw, metadata, label=label)

    run()
    assert not fuzz.problems(service)


def _string_field_numbers(rpc: Rpc) -> list[int]:
    return [f.number for f in rpc.input.fields if f.type == f.TYPE_STRING and not f.is_repeated]


@pytest.mark.parametrize("rpc", [r for r in all_rpcs() if _string_field_numbers(r)], ids=str)
def test_invalid_utf8_in_a_string_field_is_invalid_argument(rpc: Rpc, fuzz: FuzzContext) -> None:
    """gRPC answers INTERNAL when a request does not parse; the core
    interceptor turns that into INVALID_ARGUMENT, after authentication."""
    if str(rpc) in NOT_YET_IMPLEMENTED:
        pytest.skip(f"{rpc} is not implemented yet (tests/fuzz/test_contract.py)")
    number = _string_field_numbers(rpc)[0]
    raw = bytes([(number << 3) | 2, 3]) + b"\xc3\x28\xff"  # a length-delimited field holding invalid UTF-8
    outcome = fuzz.caller.call(rpc, raw, fuzz.identities["admin"])
    assert outcome.code is grpc.StatusCode.INVALID_ARGUMENT, (outcome.code, outcome.details, describe(raw))
    assert_canonical(outcome, raw)
    anonymous = fuzz.caller.call(rpc, raw, ())
    assert anonymous.code is grpc.StatusCode.UNAUTHENTICATED
