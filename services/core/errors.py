"""Domain errors and their one mapping to canonical gRPC status codes.

Handlers raise these; the server interceptor turns them into a
`google.rpc.Status` with ErrorInfo (and BadRequest, ResourceInfo or
PreconditionFailure where they apply), so clients can act on the details.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "interviews"


class DomainError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # ErrorInfo.reason defaults to the status code's name, e.g. NOT_FOUND.
        self.reason = reason or self.code.name
        self.metadata = dict(metadata or {})

    def details(self) -> list[Message]:
        return [
            error_details_pb2.ErrorInfo(
                reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata
            )
        ]

    def to_status(self) -> grpc.Status:
        packed = []
        for detail in self.details():
            holder = any_pb2.Any()
            holder.Pack(detail)
            packed.append(holder)
        status = status_pb2.Status(
            code=getattr(code_pb2, self.code.name), message=self.message, details=packed
        )
        return rpc_status.to_status(status)


class InvalidArgument(DomainError):
    """A request field is malformed. Names the field, AIP-193 style."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, field: str, description: str, *, reason: str | None = None) -> None:
        self.violations: list[tuple[str, str]] = [(field, description)]
        super().__init__(f"invalid {field}: {description}", reason=reason)

    @classmethod
    def many(cls, violations: Iterable[tuple[str, str]]) -> InvalidArgument:
        items = list(violations)
        if not items:
            raise ValueError("InvalidArgument.many needs at least one violation")
        error = cls(*items[0])
        error.violations = items
        if len(items) > 1:
            error.message = "invalid request: " + "; ".join(f"{f}: {d}" for f, d in items)
            error.args = (error.message,)
        return error

    def details(self) -> list[Message]:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d)
                for f, d in self.violations
            ]
        )
        return [*super().details(), bad_request]


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND

    def __init__(self, resource_name: str, *, resource_type: str = "") -> None:
        self.resource_name = resource_name
        self.resource_type = resource_type or resource_name.split("/")[0]
        super().__init__(f"{resource_name} not found")

    def details(self) -> list[Message]:
        info = error_details_pb2.ResourceInfo(
            resource_type=self.resource_type, resource_name=self.resource_name
        )
        return [*super().details(), info]


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    """The system is not in a state that allows the call (e.g. an illegal
    ticket transition). Retrying the same call will not help."""

    code = grpc.StatusCode.FAILED_PRECONDITION

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        subject: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.subject = subject

    def details(self) -> list[Message]:
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=self.reason, subject=self.subject, description=self.message
                )
            ]
        )
        return [*super().details(), failure]


class Aborted(DomainError):
    """A concurrency conflict (etag mismatch, a resource booked meanwhile):
    re-read and try again."""

    code = grpc.StatusCode.ABORTED


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(DomainError):
    """A dependency (another service, the database) cannot be reached now."""

    code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(DomainError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


def check_etag(given: str, current: str, resource_name: str) -> None:
    """AIP-154: an empty etag means "unconditional"; a stale one is ABORTED."""
    if given and given != current:
        raise Aborted(
            f"{resource_name} was changed by someone else (etag mismatch); read it again",
            reason="ETAG_MISMATCH",
            metadata={"resource": resource_name},
        )
