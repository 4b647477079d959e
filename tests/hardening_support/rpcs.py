"""Every RPC of every service, read from the generated descriptors.

The suites enumerate RPCs from here rather than from a hand-written list, so an
RPC added to a contract is fuzzed and access-checked without anyone editing
the tests (the access matrix then fails until its expectation is written).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from interviews.accommodations.v1 import accommodations_pb2
from interviews.notifications.v1 import notifications_pb2
from interviews.scheduling.v1 import scheduling_pb2

SERVICE_DESCRIPTORS: dict[str, ServiceDescriptor] = {
    "scheduling": scheduling_pb2.DESCRIPTOR.services_by_name["SchedulingService"],
    "accommodations": accommodations_pb2.DESCRIPTOR.services_by_name["AccommodationsService"],
    "notifications": notifications_pb2.DESCRIPTOR.services_by_name["NotificationsService"],
}


@dataclass(frozen=True)
class Rpc:
    service: str  # "scheduling"
    method: MethodDescriptor

    @property
    def name(self) -> str:
        return self.method.name

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def input(self) -> Descriptor:
        return self.method.input_type

    @property
    def output(self) -> Descriptor:
        return self.method.output_type

    @property
    def request_class(self) -> type[Message]:
        return GetMessageClass(self.method.input_type)

    @property
    def response_class(self) -> type[Message]:
        return GetMessageClass(self.method.output_type)

    @property
    def server_streaming(self) -> bool:
        return self.method.server_streaming

    @property
    def client_streaming(self) -> bool:
        return self.method.client_streaming

    def __str__(self) -> str:
        return f"{self.service}.{self.name}"


def rpcs(service: str) -> list[Rpc]:
    return [Rpc(service, method) for method in SERVICE_DESCRIPTORS[service].methods]


def all_rpcs() -> list[Rpc]:
    return [rpc for service in SERVICE_DESCRIPTORS for rpc in rpcs(service)]


# RPCs of the contracts that still answer UNIMPLEMENTED (the generated base
# class). tests/fuzz/test_contract.py expects them to fail (strict xfail), so
# the day one is built that test fails until the entry is removed here, and the
# fuzzers and the access matrix then cover it.
NOT_YET_IMPLEMENTED: frozenset[str] = frozenset()
