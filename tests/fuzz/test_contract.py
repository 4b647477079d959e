"""Every RPC of every contract is served: none answers UNIMPLEMENTED."""

from __future__ import annotations

import grpc
import pytest

from tests.fuzz.conftest import FuzzContext
from tests.hardening_support.rpcs import NOT_YET_IMPLEMENTED, Rpc, all_rpcs


def _cases() -> list[object]:
    return [
        pytest.param(rpc, marks=pytest.mark.xfail(strict=True, reason=f"BUG: {rpc} answers UNIMPLEMENTED (not built yet)"))
        if str(rpc) in NOT_YET_IMPLEMENTED
        else rpc
        for rpc in all_rpcs()
    ]


@pytest.mark.parametrize("rpc", _cases(), ids=str)
def test_rpc_is_implemented(rpc: Rpc, fuzz: FuzzContext) -> None:
    # An empty request as each caller: whatever the answer, it must not be
    # the generated base class's UNIMPLEMENTED.
    for label in ("admin", "recruiter", "coordinator", "service-scheduling"):
        outcome = fuzz.caller.call(rpc, rpc.request_class(), fuzz.identities[label])
        assert outcome.code is not grpc.StatusCode.UNIMPLEMENTED, f"{rpc} answers UNIMPLEMENTED"
