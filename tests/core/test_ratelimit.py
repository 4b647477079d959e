import grpc
import pytest

from interviews.notifications.v1 import notifications_pb2, notifications_pb2_grpc
from services.core.auth import Principal, Role
from services.core.config import Settings
from services.core.errors import ResourceExhausted
from services.core.ratelimit import CallerLimits, RateLimiter
from services.core.server import ServiceSpec, start_server
from tests.conftest import TEST_TOKEN_SECRET


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_bucket_allows_burst_then_rate():
    clock = FakeClock()
    limiter = RateLimiter(rate=2, burst=3, clock=clock)
    assert [limiter.try_acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.try_acquire("a") == pytest.approx(0.5)
    assert limiter.try_acquire("b") == 0.0  # callers do not share a bucket
    clock.now += 0.5
    assert limiter.try_acquire("a") == 0.0
    clock.now += 100
    assert [limiter.try_acquire("a") for _ in range(4)][:3] == [0.0, 0.0, 0.0]  # refills only up to the burst


def test_services_have_their_own_limit():
    limits = CallerLimits(RateLimiter(1, 1, clock=FakeClock()), RateLimiter(100, 100, clock=FakeClock()))
    person = Principal("r@example.com", Role.RECRUITER)
    limits(person, "/m")
    with pytest.raises(ResourceExhausted) as caught:
        limits(person, "/m")
    assert caught.value.reason == "RATE_LIMITED" and int(caught.value.metadata["retry_after_ms"]) > 0
    for _ in range(50):
        limits(Principal("services/scheduling", Role.SERVICE), "/m")


class _Echo(notifications_pb2_grpc.NotificationsServiceServicer):
    def GetDelivery(self, request, context):
        return notifications_pb2.Delivery(name=request.name)


def test_server_refuses_a_flooding_caller_only(tmp_path, token):
    settings = Settings.from_env({
        "INTERVIEWS_DATA_DIR": str(tmp_path), "INTERVIEWS_TOKEN_SECRET": TEST_TOKEN_SECRET,
        "INTERVIEWS_RATE_LIMIT_PER_SECOND": "0.01", "INTERVIEWS_RATE_LIMIT_BURST": "3",
    })
    spec = ServiceSpec("notifications", ["interviews.notifications.v1.NotificationsService"],
                       lambda s: notifications_pb2_grpc.add_NotificationsServiceServicer_to_server(_Echo(), s))
    running = start_server(spec, settings, port=0, host="127.0.0.1")
    try:
        stub = notifications_pb2_grpc.NotificationsServiceStub(grpc.insecure_channel(f"127.0.0.1:{running.port}"))
        request = notifications_pb2.GetDeliveryRequest(name="deliveries/x")
        flooder = token("recruiter", "flood@example.com")
        for _ in range(3):
            stub.GetDelivery(request, metadata=flooder)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetDelivery(request, metadata=flooder)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert stub.GetDelivery(request, metadata=token("recruiter", "calm@example.com")).name == "deliveries/x"
    finally:
        running.stop(0.2)
