"""A candidate's approved accommodation constraints, from the accommodations
service. Scheduling never plans without them: if accommodations cannot answer,
the search or booking fails UNAVAILABLE instead of silently ignoring an
approved accommodation."""

from __future__ import annotations

import logging
from typing import Protocol

import grpc

from interviews.accommodations.v1 import accommodations_pb2, accommodations_pb2_grpc
from interviews.common.v1 import common_pb2
from services.core.clients import ServiceClients
from services.core.errors import Unavailable

log = logging.getLogger(__name__)


class ConstraintsSource(Protocol):
    def fetch(self, candidate: str) -> common_pb2.SchedulingConstraints:
        """The constraints for `candidates/{id}`; empty when there are none."""
        ...


class AccommodationsConstraints:
    """GetSchedulingConstraints over gRPC with this service's own token."""

    def __init__(self, clients: ServiceClients) -> None:
        self._clients = clients
        self._stub = accommodations_pb2_grpc.AccommodationsServiceStub(clients.channel("accommodations"))

    def fetch(self, candidate: str) -> common_pb2.SchedulingConstraints:
        request = accommodations_pb2.GetSchedulingConstraintsRequest(candidate=candidate)
        try:
            return self._clients.call(self._stub.GetSchedulingConstraints, request)
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else None
            if code == grpc.StatusCode.NOT_FOUND:
                return common_pb2.SchedulingConstraints(candidate=candidate)  # no approved accommodation
            # Anything else (refused, misconfigured, not built) leaves us not
            # knowing the constraints, which must not read as "none".
            log.warning("accommodations did not give constraints", extra={"code": code.name if code else "unknown"})
            raise Unavailable("accommodation constraints are unavailable; try again later", reason="CONSTRAINTS_UNAVAILABLE") from None
