"""Calling any RPC with any request and judging the answer.

A fuzzed request must get either a valid response or a canonical error: a
status the service chose (google.rpc.Status details in the `interviews`
domain), never INTERNAL or UNKNOWN (an exception escaped a handler), never a
hang (the client deadline passing is a failure), never DATA_LOSS.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from google.protobuf import text_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.hardening_support.rpcs import Rpc
from tests.hardening_support.strategies import Pools

# A fuzzed call that takes longer than this is a hang.
CALL_TIMEOUT_SECONDS = 10.0

# Codes a service must never answer a client's request with.
FORBIDDEN_CODES = frozenset(
    {
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.DATA_LOSS,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)
# Statuses gRPC itself produces (no google.rpc details): size limits and
# concurrency limits from the server options, transport trouble.
TRANSPORT_CODES = frozenset({grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED})


@dataclass(frozen=True)
class Outcome:
    rpc: Rpc
    code: grpc.StatusCode
    details: str
    elapsed: float
    response: Message | None
    error_info: error_details_pb2.ErrorInfo | None

    @property
    def ok(self) -> bool:
        return self.code is grpc.StatusCode.OK


class Tally:
    """Requests tried and answers by code, per service; printed at the end of a run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.codes: dict[str, Counter[str]] = defaultdict(Counter)
        self.by_rpc: dict[str, Counter[str]] = defaultdict(Counter)
        self.slowest: dict[str, tuple[float, str]] = {}
        self.notes: list[str] = []

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self.codes[outcome.rpc.service][outcome.code.name] += 1
            self.by_rpc[str(outcome.rpc)][outcome.code.name] += 1
            slowest = self.slowest.get(outcome.rpc.service)
            if slowest is None or outcome.elapsed > slowest[0]:
                self.slowest[outcome.rpc.service] = (outcome.elapsed, outcome.rpc.name)

    def note(self, line: str) -> None:
        with self._lock:
            self.notes.append(line)

    def requests(self, service: str) -> int:
        return sum(self.codes[service].values())

    def lines(self) -> list[str]:
        out = []
        for service in sorted(self.codes):
            codes = ", ".join(f"{code} {count}" for code, count in self.codes[service].most_common())
            slow_s, slow_rpc = self.slowest.get(service, (0.0, "-"))
            out.append(f"{service}: {self.requests(service)} requests; {codes}; slowest {slow_rpc} {slow_s * 1000:.0f} ms")
        out.extend(self.notes)
        return out


TALLY = Tally()


def describe(request: Message | bytes, limit: int = 1500) -> str:
    """A request for a failure message, cut to a readable length."""
    if isinstance(request, bytes):
        text = f"raw bytes {request[:200]!r} ({len(request)} bytes)"
    else:
        text = text_format.MessageToString(request, as_utf8=True, as_one_line=True)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


class Caller:
    """Calls RPCs on the fleet's channels, harvests responses into the pools,
    counts outcomes."""

    def __init__(self, channels: dict[str, grpc.Channel], pools: Pools, *, tally: Tally = TALLY, timeout: float = CALL_TIMEOUT_SECONDS) -> None:
        self.channels = channels
        self.pools = pools
        self.tally = tally
        self.timeout = timeout

    def call(self, rpc: Rpc, request: Message | bytes, metadata: Sequence[tuple[str, str]] = (), *, timeout: float | None = None) -> Outcome:
        serializer = (lambda raw: raw) if isinstance(request, bytes) else (lambda m: m.SerializeToString())
        channel = self.channels[rpc.service]
        started = time.monotonic()
        response: Message | None = None
        error_info = None
        try:
            if rpc.server_streaming:
                stub = channel.unary_stream(rpc.path, request_serializer=serializer, response_deserializer=rpc.response_class.FromString)
                responses = list(stub(request, metadata=tuple(metadata), timeout=timeout or self.timeout))
                response = responses[-1] if responses else None
            else:
                stub = channel.unary_unary(rpc.path, request_serializer=serializer, response_deserializer=rpc.response_class.FromString)
                response = stub(request, metadata=tuple(metadata), timeout=timeout or self.timeout)
            code, details = grpc.StatusCode.OK, ""
        except grpc.RpcError as error:
            code, details = error.code(), error.details() or ""  # type: ignore[attr-defined]
            error_info = _error_info(error)
        outcome = Outcome(rpc, code, details, time.monotonic() - started, response, error_info)
        if response is not None:
            self.pools.harvest(response)
            if isinstance(request, Message):
                self.pools.add_message(request)  # a request that worked, to replay and mutate
        self.tally.record(outcome)
        return outcome

    def check(self, rpc: Rpc, request: Message | bytes, metadata: Sequence[tuple[str, str]] = (), *, label: str = "") -> Outcome:
        """Calls and asserts the answer is a valid result or a canonical error."""
        outcome = self.call(rpc, request, metadata)
        assert_canonical(outcome, request, label=label)
        return outcome


def _error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a status whose details do not parse is not canonical either
        return None
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def assert_canonical(outcome: Outcome, request: Message | bytes, *, label: str = "") -> None:
    where = f"{outcome.rpc}{f' as {label}' if label else ''}"
    if outcome.code in FORBIDDEN_CODES:
        raise AssertionError(
            f"{where} answered {outcome.code.name} ({outcome.details!r}) after {outcome.elapsed:.2f}s "
            f"to: {describe(request)}"
        )
    if outcome.ok or outcome.code in TRANSPORT_CODES and outcome.error_info is None:
        return
    if outcome.error_info is None or outcome.error_info.domain != "interviews":
        raise AssertionError(
            f"{where} answered {outcome.code.name} ({outcome.details!r}) without google.rpc.Status details "
            f"(a status built by hand, not a services.core.errors class) to: {describe(request)}"
        )

