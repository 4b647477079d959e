"""The server bootstrap: health, reflection, authentication, error mapping."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from interviews.notifications.v1 import notifications_pb2, notifications_pb2_grpc
from services.core.auth import Role, issue_token
from services.core.config import Settings
from services.core.errors import InvalidArgument, NotFound
from services.core.server import ServiceSpec, start_server
from tests.conftest import TEST_TOKEN_SECRET

SERVICE_NAME = "interviews.notifications.v1.NotificationsService"


class _Probe(notifications_pb2_grpc.NotificationsServiceServicer):
    """Exercises each path of the interceptor through a real RPC."""

    def GetDelivery(self, request, context):
        if request.name == "deliveries/missing":
            raise NotFound(request.name)
        if request.name == "boom":
            raise RuntimeError("secret detail that must not leak")
        if not request.name:
            raise InvalidArgument("name", "required")
        return notifications_pb2.Delivery(name=request.name)


@pytest.fixture
def server(tmp_path):
    settings = Settings.from_env(
        {"INTERVIEWS_DATA_DIR": str(tmp_path), "INTERVIEWS_TOKEN_SECRET": TEST_TOKEN_SECRET}
    )
    spec = ServiceSpec(
        name="notifications",
        service_names=[SERVICE_NAME],
        register=lambda s: notifications_pb2_grpc.add_NotificationsServiceServicer_to_server(_Probe(), s),
    )
    running = start_server(spec, settings, port=0, host="127.0.0.1")
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    yield running, channel
    channel.close()
    running.stop(0.2)


def _auth(role=Role.ADMIN, secret=TEST_TOKEN_SECRET):
    return (("authorization", f"Bearer {issue_token(secret, 'someone@example.com', role)}"),)


def test_health_is_serving_without_a_token(server):
    _, channel = server
    stub = health_pb2_grpc.HealthStub(channel)
    assert stub.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING
    response = stub.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_service(server):
    _, channel = server
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = {s.name for r in responses for s in r.list_services_response.service}
    assert SERVICE_NAME in names
    assert "grpc.health.v1.Health" in names


@pytest.mark.parametrize(
    "metadata, reason",
    [
        ((), "TOKEN_MISSING"),
        ((("authorization", "Basic abc"),), "TOKEN_MISSING"),
        ((("authorization", "Bearer not-a-jwt"),), "TOKEN_INVALID"),
        (_auth(secret="another-secret-of-sufficient-length-000000"), "TOKEN_INVALID"),
    ],
)
def test_calls_without_a_valid_token_are_unauthenticated(server, metadata, reason):
    _, channel = server
    stub = notifications_pb2_grpc.NotificationsServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetDelivery(notifications_pb2.GetDeliveryRequest(name="deliveries/x"), metadata=metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    info = _detail(caught.value, error_details_pb2.ErrorInfo)
    assert info.reason == reason


def test_invalid_argument_names_the_field(server):
    _, channel = server
    stub = notifications_pb2_grpc.NotificationsServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetDelivery(notifications_pb2.GetDeliveryRequest(name=""), metadata=_auth())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    bad = _detail(caught.value, error_details_pb2.BadRequest)
    assert [v.field for v in bad.field_violations] == ["name"]


def test_not_found_carries_resource_info(server):
    _, channel = server
    stub = notifications_pb2_grpc.NotificationsServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetDelivery(notifications_pb2.GetDeliveryRequest(name="deliveries/missing"), metadata=_auth())
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert _detail(caught.value, error_details_pb2.ResourceInfo).resource_name == "deliveries/missing"


def test_unexpected_errors_are_internal_without_detail(server):
    _, channel = server
    stub = notifications_pb2_grpc.NotificationsServiceStub(channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetDelivery(notifications_pb2.GetDeliveryRequest(name="boom"), metadata=_auth())
    assert caught.value.code() == grpc.StatusCode.INTERNAL
    assert "secret" not in caught.value.details()
    assert "request id" in caught.value.details()


def test_success_returns_the_request_id(server):
    _, channel = server
    stub = notifications_pb2_grpc.NotificationsServiceStub(channel)
    response, call = stub.GetDelivery.with_call(
        notifications_pb2.GetDeliveryRequest(name="deliveries/ok"),
        metadata=(*_auth(), ("x-request-id", "abc-123")),
    )
    assert response.name == "deliveries/ok"
    assert ("x-request-id", "abc-123") in tuple(call.trailing_metadata())


def test_graceful_stop_reports_not_serving_first(server):
    running, channel = server
    stub = health_pb2_grpc.HealthStub(channel)
    running.health.enter_graceful_shutdown()
    assert stub.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.NOT_SERVING


def _detail(error, message_type):
    status = rpc_status.from_call(error)
    assert status is not None, "no google.rpc.Status details"
    for detail in status.details:
        if detail.Is(message_type.DESCRIPTOR):
            value = message_type()
            detail.Unpack(value)
            return value
    raise AssertionError(f"no {message_type.__name__} in status details")
